/* x86 architectural constants that every CPU backend and the core share: MSR indices, EFER,
 * CR0/CR4, RFLAGS, DR and XCR0 bits, exception vectors, CPUID bits. Numbers only; no code.
 *
 * Source: Intel SDM Vol. 3A chapters 2 (system registers), 6 (exceptions) and Vol. 4 (MSRs); AMD
 * APM vol. 2 defines the same numbers. VT-x's own constants (VMCS fields, VMX MSRs, controls,
 * exit reasons) are in hv/arch/vmx/vmx_defs.h. */
#ifndef VIGIL_X86_H
#define VIGIL_X86_H

/* ---------------------------------------------------------------- MSR indices */
#define MSR_IA32_TSC 0x00000010u
#define MSR_IA32_APIC_BASE 0x0000001Bu
#define MSR_IA32_FEATURE_CONTROL 0x3A
#define MSR_IA32_TSC_ADJUST 0x0000003Bu
#define MSR_IA32_SPEC_CTRL 0x00000048u
#define MSR_IA32_BIOS_SIGN_ID 0x0000008Bu
#define MSR_IA32_SMM_MONITOR_CTL 0x0000009Bu
#define MSR_IA32_MTRRCAP 0xFE
#define MSR_IA32_SYSENTER_CS 0x00000174u
#define MSR_IA32_SYSENTER_ESP 0x00000175u
#define MSR_IA32_SYSENTER_EIP 0x00000176u
#define MSR_IA32_MISC_ENABLE 0x000001A0u
#define MSR_IA32_DEBUGCTL 0x000001D9u
#define MSR_IA32_MTRR_PHYSBASE0 0x200
#define MSR_IA32_MTRR_PHYSMASK9 0x00000213u /* last of the 10 variable-range pairs */
#define MSR_IA32_MTRR_FIX64K_00000 0x250
#define MSR_IA32_MTRR_FIX16K_80000 0x258
#define MSR_IA32_MTRR_FIX16K_A0000 0x259
#define MSR_IA32_MTRR_FIX4K_C0000 0x268
#define MSR_IA32_MTRR_FIX4K_F8000 0x26F
#define MSR_IA32_PAT 0x00000277u
#define MSR_IA32_MTRR_DEF_TYPE 0x2FF
#define MSR_IA32_PERF_GLOBAL_CTRL 0x0000038Fu
#define MSR_IA32_XSS 0x00000DA0u
#define MSR_X2APIC_FIRST 0x00000800u
#define MSR_X2APIC_ICR 0x00000830u
#define MSR_X2APIC_LAST 0x000008FFu
#define MSR_IA32_EFER 0xC0000080u
#define MSR_IA32_STAR 0xC0000081u
#define MSR_IA32_LSTAR 0xC0000082u
#define MSR_IA32_CSTAR 0xC0000083u
#define MSR_IA32_FMASK 0xC0000084u
#define MSR_IA32_FS_BASE 0xC0000100u
#define MSR_IA32_GS_BASE 0xC0000101u
#define MSR_IA32_KERNEL_GS_BASE 0xC0000102u
#define MSR_IA32_TSC_AUX 0xC0000103u

/* IA32_EFER bits. */
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* ---------------------------------------------------------------- exception vectors */
#define VEC_DE 0u
#define VEC_DB 1u
#define VEC_NMI 2u
#define VEC_BP 3u
#define VEC_OF 4u
#define VEC_BR 5u
#define VEC_UD 6u
#define VEC_NM 7u
#define VEC_DF 8u
#define VEC_TS 10u
#define VEC_NP 11u
#define VEC_SS 12u
#define VEC_GP 13u
#define VEC_PF 14u
#define VEC_MF 16u
#define VEC_AC 17u
#define VEC_MC 18u
#define VEC_XM 19u
#define VEC_VE 20u
#define VEC_CP 21u

/* ---------------------------------------------------------------- CR and RFLAGS bits */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_LA57 (1ull << 12)
#define CR4_VMXE (1ull << 13)
#define CR4_SMXE (1ull << 14)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)
#define CR4_CET (1ull << 23)
#define CR4_PKS (1ull << 24)

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_FIXED (1ull << 1)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_VM (1ull << 17)

#define DR7_INIT 0x400ull
#define DR6_INIT 0xFFFF0FF0ull

/* XCR0 state components (SDM Vol. 1 13.3). */
#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)
#define XCR0_BNDREGS (1ull << 3)
#define XCR0_BNDCSR (1ull << 4)
#define XCR0_OPMASK (1ull << 5)
#define XCR0_ZMM_HI256 (1ull << 6)
#define XCR0_HI16_ZMM (1ull << 7)
#define XCR0_PKRU (1ull << 9)
#define XCR0_TILECFG (1ull << 17)
#define XCR0_TILEDATA (1ull << 18)

/* CPUID bits used by the exit handlers. */
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_SMX (1u << 6)
#define CPUID_1_ECX_OSXSAVE (1u << 27)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_7_ECX_OSPKE (1u << 4)
#endif
