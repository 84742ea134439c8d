/* VT-x architectural constants: VMCS field encodings, control bits, exit reasons, exit
 * qualification layouts, interruption-information encodings, VMX and related MSR indices,
 * exception vectors and CR bits. Numbers only; no code.
 *
 * Source: Intel SDM Vol. 3C, chapter 24 "Virtual Machine Control Structures", chapter 27 "VM
 * Exits", appendix A "VMX Capability Reporting Facility", appendix B "Field Encoding in VMCS",
 * appendix C "VMX Basic Exit Reasons". Section numbers in vigil's VT-x code follow the numbering
 * the issue uses (SDM editions up to 2022: 23 = introduction/enabling VMX, 24 = VMCS, 25 = VMX
 * non-root operation, 26 = VM entries, 27 = VM exits, 28 = address translation, 30 = VMX
 * instruction reference, 31 = VMM programming considerations); editions from 2023 number these
 * chapters one higher. Section titles are quoted where it helps finding them in either. */
#ifndef VIGIL_VMX_DEFS_H
#define VIGIL_VMX_DEFS_H

#include "hv/arch/x86.h"

/* ---------------------------------------------------------------- VMX MSR indices */
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_VMCS_ENUM 0x0000048Au
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48B
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48C
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48D
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48F
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_VMX_VMFUNC 0x00000491u
#define MSR_IA32_VMX_PROCBASED_CTLS3 0x00000492u
#define MSR_IA32_VMX_EXIT_CTLS2 0x00000493u
#define MSR_IA32_VMX_FIRST MSR_IA32_VMX_BASIC
#define MSR_IA32_VMX_LAST MSR_IA32_VMX_EXIT_CTLS2

/* IA32_FEATURE_CONTROL bits (SDM Vol. 4 table 2-2; Vol. 3C 23.7 "Enabling and Entering VMX"). */
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_IN_SMX (1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)
#define FEATURE_CONTROL_SENTER_MASK (0xFFull << 8) /* SENTER local enables + global enable */

/* IA32_VMX_BASIC fields (SDM A.1). */
#define VMX_BASIC_REVISION_MASK 0x7FFFFFFFull
#define VMX_BASIC_VMCS_SIZE(b) (((b) >> 32) & 0x1FFFu)
#define VMX_BASIC_PHYS_32BIT (1ull << 48)
#define VMX_BASIC_DUAL_MONITOR (1ull << 49)
#define VMX_BASIC_MEMTYPE(b) (((b) >> 50) & 0xFu)
#define VMX_BASIC_INS_OUTS_INFO (1ull << 54)
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define VMX_BASIC_NO_ERRCODE_CHECK (1ull << 56)

/* IA32_VMX_MISC fields (SDM A.6). */
#define VMX_MISC_PREEMPT_RATE(m) ((m)&0x1Fu)
#define VMX_MISC_STORE_LMA (1ull << 5)
#define VMX_MISC_ACT_HLT (1ull << 6)
#define VMX_MISC_ACT_SHUTDOWN (1ull << 7)
#define VMX_MISC_ACT_WAIT_SIPI (1ull << 8)

/* IA32_VMX_EPT_VPID_CAP bits (SDM A.10). */
#define VMX_EPT_CAP_EXEC_ONLY (1ull << 0)
#define VMX_EPT_CAP_WALK4 (1ull << 6)
#define VMX_EPT_CAP_WALK5 (1ull << 7)
#define VMX_EPT_CAP_MEMTYPE_UC (1ull << 8)
#define VMX_EPT_CAP_MEMTYPE_WB (1ull << 14)
#define VMX_EPT_CAP_2M (1ull << 16)
#define VMX_EPT_CAP_1G (1ull << 17)
#define VMX_EPT_CAP_INVEPT (1ull << 20)
#define VMX_EPT_CAP_AD (1ull << 21)
#define VMX_EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define VMX_EPT_CAP_INVEPT_ALL (1ull << 26)
#define VMX_VPID_CAP_INVVPID (1ull << 32)
#define VMX_VPID_CAP_INDIV_ADDR (1ull << 40)
#define VMX_VPID_CAP_SINGLE (1ull << 41)
#define VMX_VPID_CAP_ALL (1ull << 42)
#define VMX_VPID_CAP_SINGLE_GLOBALS (1ull << 43)

/* INVEPT / INVVPID types (SDM 30.3, instruction reference). */
#define INVEPT_SINGLE_CONTEXT 1u
#define INVEPT_ALL_CONTEXT 2u
#define INVVPID_INDIV_ADDR 0u
#define INVVPID_SINGLE_CONTEXT 1u
#define INVVPID_ALL_CONTEXT 2u
#define INVVPID_SINGLE_CONTEXT_GLOBALS 3u

/* ---------------------------------------------------------------- control bits (SDM 24.6-24.8) */
/* Pin-based VM-execution controls (24.6.1). */
#define PIN_EXTERNAL_INTERRUPT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
#define PIN_POSTED_INTERRUPTS (1u << 7)

/* Primary processor-based VM-execution controls (24.6.2). */
#define PROC_INTERRUPT_WINDOW_EXITING (1u << 2)
#define PROC_USE_TSC_OFFSETTING (1u << 3)
#define PROC_HLT_EXITING (1u << 7)
#define PROC_INVLPG_EXITING (1u << 9)
#define PROC_MWAIT_EXITING (1u << 10)
#define PROC_RDPMC_EXITING (1u << 11)
#define PROC_RDTSC_EXITING (1u << 12)
#define PROC_CR3_LOAD_EXITING (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_ACTIVATE_TERTIARY (1u << 17)
#define PROC_CR8_LOAD_EXITING (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_USE_TPR_SHADOW (1u << 21)
#define PROC_NMI_WINDOW_EXITING (1u << 22)
#define PROC_MOV_DR_EXITING (1u << 23)
#define PROC_UNCOND_IO_EXITING (1u << 24)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_MONITOR_TRAP_FLAG (1u << 27)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR_EXITING (1u << 29)
#define PROC_PAUSE_EXITING (1u << 30)
#define PROC_ACTIVATE_SECONDARY (1u << 31)

/* Secondary processor-based VM-execution controls (24.6.2, table 24-7). */
#define PROC2_VIRTUALIZE_APIC_ACCESSES (1u << 0)
#define PROC2_ENABLE_EPT (1u << 1)
#define PROC2_DESCRIPTOR_TABLE_EXITING (1u << 2)
#define PROC2_ENABLE_RDTSCP (1u << 3)
#define PROC2_VIRTUALIZE_X2APIC (1u << 4)
#define PROC2_ENABLE_VPID (1u << 5)
#define PROC2_WBINVD_EXITING (1u << 6)
#define PROC2_UNRESTRICTED_GUEST (1u << 7)
#define PROC2_APIC_REGISTER_VIRT (1u << 8)
#define PROC2_VIRTUAL_INTR_DELIVERY (1u << 9)
#define PROC2_PAUSE_LOOP_EXITING (1u << 10)
#define PROC2_RDRAND_EXITING (1u << 11)
#define PROC2_ENABLE_INVPCID (1u << 12)
#define PROC2_ENABLE_VMFUNC (1u << 13)
#define PROC2_VMCS_SHADOWING (1u << 14)
#define PROC2_ENCLS_EXITING (1u << 15)
#define PROC2_RDSEED_EXITING (1u << 16)
#define PROC2_ENABLE_PML (1u << 17)
#define PROC2_EPT_VIOLATION_VE (1u << 18)
#define PROC2_CONCEAL_VMX_FROM_PT (1u << 19)
#define PROC2_ENABLE_XSAVES (1u << 20)
#define PROC2_MODE_BASED_EPT_EXEC (1u << 22)
#define PROC2_SUBPAGE_WRITE (1u << 23)
#define PROC2_PT_USES_GPA (1u << 24)
#define PROC2_TSC_SCALING (1u << 25)
#define PROC2_ENABLE_USER_WAIT_PAUSE (1u << 26)
#define PROC2_ENABLE_PCONFIG (1u << 27)
#define PROC2_ENABLE_ENCLV_EXITING (1u << 28)

/* Primary VM-exit controls (24.7.1). */
#define EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE (1u << 9)
#define EXIT_LOAD_PERF_GLOBAL_CTRL (1u << 12)
#define EXIT_ACK_INTERRUPT_ON_EXIT (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
#define EXIT_SAVE_PREEMPTION_TIMER (1u << 22)
#define EXIT_CLEAR_BNDCFGS (1u << 23)
#define EXIT_CONCEAL_VMX_FROM_PT (1u << 24)

/* VM-entry controls (24.8.1). */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_SMM (1u << 10)
#define ENTRY_DEACTIVATE_DUAL_MONITOR (1u << 11)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL (1u << 13)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)
#define ENTRY_LOAD_BNDCFGS (1u << 16)
#define ENTRY_CONCEAL_VMX_FROM_PT (1u << 17)

/* ---------------------------------------------------------------- VMCS field encodings (App. B) */
/* 16-bit control fields. */
#define VMCS_VPID 0x00000000u
#define VMCS_POSTED_INTR_NV 0x00000002u
#define VMCS_EPTP_INDEX 0x00000004u
/* 16-bit guest-state fields. */
#define VMCS_GUEST_ES_SEL 0x00000800u
#define VMCS_GUEST_CS_SEL 0x00000802u
#define VMCS_GUEST_SS_SEL 0x00000804u
#define VMCS_GUEST_DS_SEL 0x00000806u
#define VMCS_GUEST_FS_SEL 0x00000808u
#define VMCS_GUEST_GS_SEL 0x0000080Au
#define VMCS_GUEST_LDTR_SEL 0x0000080Cu
#define VMCS_GUEST_TR_SEL 0x0000080Eu
#define VMCS_GUEST_INTR_STATUS 0x00000810u
#define VMCS_GUEST_PML_INDEX 0x00000812u
/* 16-bit host-state fields. */
#define VMCS_HOST_ES_SEL 0x00000C00u
#define VMCS_HOST_CS_SEL 0x00000C02u
#define VMCS_HOST_SS_SEL 0x00000C04u
#define VMCS_HOST_DS_SEL 0x00000C06u
#define VMCS_HOST_FS_SEL 0x00000C08u
#define VMCS_HOST_GS_SEL 0x00000C0Au
#define VMCS_HOST_TR_SEL 0x00000C0Cu
/* 64-bit control fields. */
#define VMCS_IO_BITMAP_A 0x00002000u
#define VMCS_IO_BITMAP_B 0x00002002u
#define VMCS_MSR_BITMAP 0x00002004u
#define VMCS_EXIT_MSR_STORE_ADDR 0x00002006u
#define VMCS_EXIT_MSR_LOAD_ADDR 0x00002008u
#define VMCS_ENTRY_MSR_LOAD_ADDR 0x0000200Au
#define VMCS_EXECUTIVE_VMCS_PTR 0x0000200Cu
#define VMCS_PML_ADDRESS 0x0000200Eu
#define VMCS_TSC_OFFSET 0x00002010u
#define VMCS_VIRTUAL_APIC_ADDR 0x00002012u
#define VMCS_APIC_ACCESS_ADDR 0x00002014u
#define VMCS_POSTED_INTR_DESC 0x00002016u
#define VMCS_VMFUNC_CONTROLS 0x00002018u
#define VMCS_EPT_POINTER 0x0000201Au
#define VMCS_EOI_EXIT_BITMAP0 0x0000201Cu
#define VMCS_EPTP_LIST_ADDR 0x00002024u
#define VMCS_VMREAD_BITMAP 0x00002026u
#define VMCS_VMWRITE_BITMAP 0x00002028u
#define VMCS_VE_INFO_ADDR 0x0000202Au
#define VMCS_XSS_EXITING_BITMAP 0x0000202Cu
#define VMCS_TSC_MULTIPLIER 0x00002032u
#define VMCS_PROC_BASED_CTLS3 0x00002034u
/* 64-bit read-only data field. */
#define VMCS_GUEST_PHYS_ADDR 0x00002400u
/* 64-bit guest-state fields. */
#define VMCS_VMCS_LINK_PTR 0x00002800u
#define VMCS_GUEST_DEBUGCTL 0x00002802u
#define VMCS_GUEST_PAT 0x00002804u
#define VMCS_GUEST_EFER 0x00002806u
#define VMCS_GUEST_PERF_GLOBAL_CTRL 0x00002808u
#define VMCS_GUEST_PDPTE0 0x0000280Au
#define VMCS_GUEST_PDPTE1 0x0000280Cu
#define VMCS_GUEST_PDPTE2 0x0000280Eu
#define VMCS_GUEST_PDPTE3 0x00002810u
#define VMCS_GUEST_BNDCFGS 0x00002812u
/* 64-bit host-state fields. */
#define VMCS_HOST_PAT 0x00002C00u
#define VMCS_HOST_EFER 0x00002C02u
#define VMCS_HOST_PERF_GLOBAL_CTRL 0x00002C04u
/* 32-bit control fields. */
#define VMCS_PIN_BASED_CTLS 0x00004000u
#define VMCS_PROC_BASED_CTLS 0x00004002u
#define VMCS_EXCEPTION_BITMAP 0x00004004u
#define VMCS_PF_ERRCODE_MASK 0x00004006u
#define VMCS_PF_ERRCODE_MATCH 0x00004008u
#define VMCS_CR3_TARGET_COUNT 0x0000400Au
#define VMCS_EXIT_CTLS 0x0000400Cu
#define VMCS_EXIT_MSR_STORE_COUNT 0x0000400Eu
#define VMCS_EXIT_MSR_LOAD_COUNT 0x00004010u
#define VMCS_ENTRY_CTLS 0x00004012u
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x00004014u
#define VMCS_ENTRY_INTR_INFO 0x00004016u
#define VMCS_ENTRY_EXCEPTION_ERRCODE 0x00004018u
#define VMCS_ENTRY_INSTR_LEN 0x0000401Au
#define VMCS_TPR_THRESHOLD 0x0000401Cu
#define VMCS_PROC_BASED_CTLS2 0x0000401Eu
#define VMCS_PLE_GAP 0x00004020u
#define VMCS_PLE_WINDOW 0x00004022u
/* 32-bit read-only data fields. */
#define VMCS_VM_INSTR_ERROR 0x00004400u
#define VMCS_EXIT_REASON 0x00004402u
#define VMCS_EXIT_INTR_INFO 0x00004404u
#define VMCS_EXIT_INTR_ERRCODE 0x00004406u
#define VMCS_IDT_VECTORING_INFO 0x00004408u
#define VMCS_IDT_VECTORING_ERRCODE 0x0000440Au
#define VMCS_EXIT_INSTR_LEN 0x0000440Cu
#define VMCS_EXIT_INSTR_INFO 0x0000440Eu
/* 32-bit guest-state fields. */
#define VMCS_GUEST_ES_LIMIT 0x00004800u
#define VMCS_GUEST_CS_LIMIT 0x00004802u
#define VMCS_GUEST_SS_LIMIT 0x00004804u
#define VMCS_GUEST_DS_LIMIT 0x00004806u
#define VMCS_GUEST_FS_LIMIT 0x00004808u
#define VMCS_GUEST_GS_LIMIT 0x0000480Au
#define VMCS_GUEST_LDTR_LIMIT 0x0000480Cu
#define VMCS_GUEST_TR_LIMIT 0x0000480Eu
#define VMCS_GUEST_GDTR_LIMIT 0x00004810u
#define VMCS_GUEST_IDTR_LIMIT 0x00004812u
#define VMCS_GUEST_ES_AR 0x00004814u
#define VMCS_GUEST_CS_AR 0x00004816u
#define VMCS_GUEST_SS_AR 0x00004818u
#define VMCS_GUEST_DS_AR 0x0000481Au
#define VMCS_GUEST_FS_AR 0x0000481Cu
#define VMCS_GUEST_GS_AR 0x0000481Eu
#define VMCS_GUEST_LDTR_AR 0x00004820u
#define VMCS_GUEST_TR_AR 0x00004822u
#define VMCS_GUEST_INTERRUPTIBILITY 0x00004824u
#define VMCS_GUEST_ACTIVITY_STATE 0x00004826u
#define VMCS_GUEST_SMBASE 0x00004828u
#define VMCS_GUEST_SYSENTER_CS 0x0000482Au
#define VMCS_PREEMPTION_TIMER_VALUE 0x0000482Eu
/* 32-bit host-state field. */
#define VMCS_HOST_SYSENTER_CS 0x00004C00u
/* Natural-width control fields. */
#define VMCS_CR0_GUEST_HOST_MASK 0x00006000u
#define VMCS_CR4_GUEST_HOST_MASK 0x00006002u
#define VMCS_CR0_READ_SHADOW 0x00006004u
#define VMCS_CR4_READ_SHADOW 0x00006006u
#define VMCS_CR3_TARGET0 0x00006008u
/* Natural-width read-only data fields. */
#define VMCS_EXIT_QUALIFICATION 0x00006400u
#define VMCS_IO_RCX 0x00006402u
#define VMCS_IO_RSI 0x00006404u
#define VMCS_IO_RDI 0x00006406u
#define VMCS_IO_RIP 0x00006408u
#define VMCS_GUEST_LINEAR_ADDR 0x0000640Au
/* Natural-width guest-state fields. */
#define VMCS_GUEST_CR0 0x00006800u
#define VMCS_GUEST_CR3 0x00006802u
#define VMCS_GUEST_CR4 0x00006804u
#define VMCS_GUEST_ES_BASE 0x00006806u
#define VMCS_GUEST_CS_BASE 0x00006808u
#define VMCS_GUEST_SS_BASE 0x0000680Au
#define VMCS_GUEST_DS_BASE 0x0000680Cu
#define VMCS_GUEST_FS_BASE 0x0000680Eu
#define VMCS_GUEST_GS_BASE 0x00006810u
#define VMCS_GUEST_LDTR_BASE 0x00006812u
#define VMCS_GUEST_TR_BASE 0x00006814u
#define VMCS_GUEST_GDTR_BASE 0x00006816u
#define VMCS_GUEST_IDTR_BASE 0x00006818u
#define VMCS_GUEST_DR7 0x0000681Au
#define VMCS_GUEST_RSP 0x0000681Cu
#define VMCS_GUEST_RIP 0x0000681Eu
#define VMCS_GUEST_RFLAGS 0x00006820u
#define VMCS_GUEST_PENDING_DBG 0x00006822u
#define VMCS_GUEST_SYSENTER_ESP 0x00006824u
#define VMCS_GUEST_SYSENTER_EIP 0x00006826u
/* Natural-width host-state fields. */
#define VMCS_HOST_CR0 0x00006C00u
#define VMCS_HOST_CR3 0x00006C02u
#define VMCS_HOST_CR4 0x00006C04u
#define VMCS_HOST_FS_BASE 0x00006C06u
#define VMCS_HOST_GS_BASE 0x00006C08u
#define VMCS_HOST_TR_BASE 0x00006C0Au
#define VMCS_HOST_GDTR_BASE 0x00006C0Cu
#define VMCS_HOST_IDTR_BASE 0x00006C0Eu
#define VMCS_HOST_SYSENTER_ESP 0x00006C10u
#define VMCS_HOST_SYSENTER_EIP 0x00006C12u
#define VMCS_HOST_RSP 0x00006C14u
#define VMCS_HOST_RIP 0x00006C16u

/* ---------------------------------------------------------------- exit reasons (App. C) */
#define EXIT_REASON_EXCEPTION_NMI 0u
#define EXIT_REASON_EXTERNAL_INTERRUPT 1u
#define EXIT_REASON_TRIPLE_FAULT 2u
#define EXIT_REASON_INIT 3u
#define EXIT_REASON_SIPI 4u
#define EXIT_REASON_IO_SMI 5u
#define EXIT_REASON_OTHER_SMI 6u
#define EXIT_REASON_INTERRUPT_WINDOW 7u
#define EXIT_REASON_NMI_WINDOW 8u
#define EXIT_REASON_TASK_SWITCH 9u
#define EXIT_REASON_CPUID 10u
#define EXIT_REASON_GETSEC 11u
#define EXIT_REASON_HLT 12u
#define EXIT_REASON_INVD 13u
#define EXIT_REASON_INVLPG 14u
#define EXIT_REASON_RDPMC 15u
#define EXIT_REASON_RDTSC 16u
#define EXIT_REASON_RSM 17u
#define EXIT_REASON_VMCALL 18u
#define EXIT_REASON_VMCLEAR 19u
#define EXIT_REASON_VMLAUNCH 20u
#define EXIT_REASON_VMPTRLD 21u
#define EXIT_REASON_VMPTRST 22u
#define EXIT_REASON_VMREAD 23u
#define EXIT_REASON_VMRESUME 24u
#define EXIT_REASON_VMWRITE 25u
#define EXIT_REASON_VMXOFF 26u
#define EXIT_REASON_VMXON 27u
#define EXIT_REASON_CR_ACCESS 28u
#define EXIT_REASON_DR_ACCESS 29u
#define EXIT_REASON_IO 30u
#define EXIT_REASON_RDMSR 31u
#define EXIT_REASON_WRMSR 32u
#define EXIT_REASON_ENTRY_FAIL_GUEST 33u
#define EXIT_REASON_ENTRY_FAIL_MSR 34u
#define EXIT_REASON_MWAIT 36u
#define EXIT_REASON_MTF 37u
#define EXIT_REASON_MONITOR 39u
#define EXIT_REASON_PAUSE 40u
#define EXIT_REASON_ENTRY_FAIL_MCE 41u
#define EXIT_REASON_TPR_BELOW_THRESHOLD 43u
#define EXIT_REASON_APIC_ACCESS 44u
#define EXIT_REASON_VIRTUALIZED_EOI 45u
#define EXIT_REASON_GDTR_IDTR 46u
#define EXIT_REASON_LDTR_TR 47u
#define EXIT_REASON_EPT_VIOLATION 48u
#define EXIT_REASON_EPT_MISCONFIG 49u
#define EXIT_REASON_INVEPT 50u
#define EXIT_REASON_RDTSCP 51u
#define EXIT_REASON_PREEMPTION_TIMER 52u
#define EXIT_REASON_INVVPID 53u
#define EXIT_REASON_WBINVD 54u
#define EXIT_REASON_XSETBV 55u
#define EXIT_REASON_APIC_WRITE 56u
#define EXIT_REASON_RDRAND 57u
#define EXIT_REASON_INVPCID 58u
#define EXIT_REASON_VMFUNC 59u
#define EXIT_REASON_ENCLS 60u
#define EXIT_REASON_RDSEED 61u
#define EXIT_REASON_PML_FULL 62u
#define EXIT_REASON_XSAVES 63u
#define EXIT_REASON_XRSTORS 64u
#define EXIT_REASON_UMWAIT 67u
#define EXIT_REASON_TPAUSE 68u
#define EXIT_REASON_MAX 77u

/* Exit reason field (24.9.1): basic reason in bits 15:0, entry failure in bit 31. */
#define EXIT_REASON_BASIC(r) ((r)&0xFFFFu)
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* ---------------------------------------------------------------- exit qualifications (27.2.1) */
/* Control-register accesses (table 27-3). */
#define CR_QUAL_CR(q) ((unsigned)((q)&0xFu))
#define CR_QUAL_TYPE(q) ((unsigned)(((q) >> 4) & 3u))
#define CR_QUAL_LMSW_MEM (1u << 6)
#define CR_QUAL_GPR(q) ((unsigned)(((q) >> 8) & 0xFu))
#define CR_QUAL_LMSW_DATA(q) ((unsigned)(((q) >> 16) & 0xFFFFu))
#define CR_ACCESS_MOV_TO_CR 0u
#define CR_ACCESS_MOV_FROM_CR 1u
#define CR_ACCESS_CLTS 2u
#define CR_ACCESS_LMSW 3u

/* I/O instructions (table 27-5). */
#define IO_QUAL_SIZE(q) ((unsigned)((q)&7u) + 1u) /* 1, 2 or 4 bytes */
#define IO_QUAL_IN (1u << 3)
#define IO_QUAL_STRING (1u << 4)
#define IO_QUAL_REP (1u << 5)
#define IO_QUAL_IMM (1u << 6)
#define IO_QUAL_PORT(q) ((unsigned)(((q) >> 16) & 0xFFFFu))

/* VM-exit instruction information for INS/OUTS (table 27-8): address size and segment. */
#define INSTR_INFO_ADDR_SIZE(i) ((unsigned)(((i) >> 7) & 7u)) /* 0:16 1:32 2:64 */
#define INSTR_INFO_SEG(i) ((unsigned)(((i) >> 15) & 7u))

/* SIPI: the vector is bits 7:0 of the qualification (27.2.1). */
#define SIPI_QUAL_VECTOR(q) ((unsigned)((q)&0xFFu))

/* ---------------------------------------------------------------- interruption information */
/* VM-entry / VM-exit interruption-information format (24.8.3, 24.9.2). */
#define INTR_INFO_VECTOR(i) ((unsigned)((i)&0xFFu))
#define INTR_INFO_TYPE(i) ((unsigned)(((i) >> 8) & 7u))
#define INTR_INFO_ERRCODE_VALID (1u << 11)
#define INTR_INFO_NMI_UNBLOCKING (1u << 12)
#define INTR_INFO_VALID (1u << 31)
#define INTR_TYPE_EXTERNAL 0u
#define INTR_TYPE_NMI 2u
#define INTR_TYPE_HW_EXCEPTION 3u
#define INTR_TYPE_SW_INTERRUPT 4u
#define INTR_TYPE_PRIV_SW_EXCEPTION 5u
#define INTR_TYPE_SW_EXCEPTION 6u
#define INTR_TYPE_OTHER 7u

/* Guest interruptibility state (24.4.2, table 24-3). */
#define INTERRUPTIBILITY_STI (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)
#define INTERRUPTIBILITY_SMI (1u << 2)
#define INTERRUPTIBILITY_NMI (1u << 3)
#define INTERRUPTIBILITY_ENCLAVE (1u << 4)

/* Guest activity states (24.4.2). */
#define ACTIVITY_ACTIVE 0u
#define ACTIVITY_HLT 1u
#define ACTIVITY_SHUTDOWN 2u
#define ACTIVITY_WAIT_SIPI 3u

/* Segment access rights as stored in the VMCS (24.4.1, table 24-2). */
#define AR_TYPE_MASK 0xFu
#define AR_TYPE_ACCESSED 0x1u
#define AR_S (1u << 4)
#define AR_DPL(ar) (((ar) >> 5) & 3u)
#define AR_P (1u << 7)
#define AR_AVL (1u << 12)
#define AR_L (1u << 13)
#define AR_DB (1u << 14)
#define AR_G (1u << 15)
#define AR_UNUSABLE (1u << 16)
#define AR_RESERVED_MASK 0xFFFE0F00u

/* System-descriptor types (SDM Vol. 3A 3.5, table 3-2). */
#define SYS_TYPE_LDT 0x2u
#define SYS_TYPE_TSS16_AVAIL 0x1u
#define SYS_TYPE_TSS16_BUSY 0x3u
#define SYS_TYPE_TSS_AVAIL 0x9u
#define SYS_TYPE_TSS_BUSY 0xBu

#endif
