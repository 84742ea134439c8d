/* Guest-state helpers (see vmx_guest.h). */
#include "hv/arch/vmx/vmx_guest.h"

#include "base/fmt.h"
#include "base/hw.h"
#include "base/lib.h"
#include "base/report.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_seg.h"

#define PENDING_DBG_BS (1ull << 14)
#define DEBUGCTL_BTF (1ull << 1)

void vmx_guest_advance_rip(void) {
    uint64_t rip = hw_vmread(VMCS_GUEST_RIP);
    uint64_t len = hw_vmread(VMCS_EXIT_INSTR_LEN) & 0xFu; /* at most 15 bytes */
    rip += len;
    if (!vmx_guest_in_64bit_mode())
        rip &= 0xFFFFFFFFull;
    hw_vmwrite(VMCS_GUEST_RIP, rip);

    uint64_t intr = hw_vmread(VMCS_GUEST_INTERRUPTIBILITY);
    if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
        hw_vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
                   intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));

    /* An emulated instruction does not single-step by itself: when TF was set on it, the guest
     * must still get the trap after it (SDM 26.3.1.5 lets VM entry deliver it from BS). */
    if ((hw_vmread(VMCS_GUEST_RFLAGS) & RFLAGS_TF) &&
        !(hw_vmread(VMCS_GUEST_DEBUGCTL) & DEBUGCTL_BTF)) /* BTF: trap on branches only */
        hw_vmwrite(VMCS_GUEST_PENDING_DBG, hw_vmread(VMCS_GUEST_PENDING_DBG) | PENDING_DBG_BS);
}

void vmx_guest_inject_hw_exception(uint32_t vector, bool has_errcode, uint32_t errcode) {
    uint32_t info = (vector & 0xFFu) | (INTR_TYPE_HW_EXCEPTION << 8) | INTR_INFO_VALID;
    if (has_errcode) {
        info |= INTR_INFO_ERRCODE_VALID;
        hw_vmwrite(VMCS_ENTRY_EXCEPTION_ERRCODE, errcode);
    }
    hw_vmwrite(VMCS_ENTRY_INTR_INFO, info);
}

void vmx_guest_inject_gp(uint32_t errcode) {
    vmx_guest_inject_hw_exception(VEC_GP, true, errcode);
}

void vmx_guest_inject_ud(void) {
    vmx_guest_inject_hw_exception(VEC_UD, false, 0);
}

void vmx_guest_inject_nmi(void) {
    hw_vmwrite(VMCS_ENTRY_INTR_INFO, VEC_NMI | (INTR_TYPE_NMI << 8) | INTR_INFO_VALID);
}

uint64_t vmx_guest_gpr_read(const struct guest_regs *g, unsigned idx) {
    idx &= 0xFu;
    if (idx == 4)
        return hw_vmread(VMCS_GUEST_RSP);
    const uint64_t *r = &g->rax;
    return r[idx];
}

void vmx_guest_gpr_write(struct guest_regs *g, unsigned idx, uint64_t value) {
    idx &= 0xFu;
    if (idx == 4) {
        hw_vmwrite(VMCS_GUEST_RSP, value);
        return;
    }
    uint64_t *r = &g->rax;
    r[idx] = value;
}

unsigned vmx_guest_cpl(void) {
    return AR_DPL((uint32_t)hw_vmread(VMCS_GUEST_SS_AR));
}

bool vmx_guest_in_64bit_mode(void) {
    if (!(hw_vmread(VMCS_ENTRY_CTLS) & ENTRY_IA32E_MODE_GUEST))
        return false;
    return (hw_vmread(VMCS_GUEST_CS_AR) & AR_L) != 0;
}

void vmx_guest_probe_cpu(struct vcpu *v) {
    struct cpuid_regs r;
    hw_cpuid(0, 0, &r);
    uint32_t max_leaf = r.eax;
    hw_cpuid(1, 0, &r);
    v->cpu_signature = r.eax;
    v->has_xsave = (r.ecx & (1u << 26)) != 0;
    v->xcr0_supported = 0;
    if (v->has_xsave && max_leaf >= 0xD) {
        hw_cpuid(0xD, 0, &r);
        v->xcr0_supported = ((uint64_t)r.edx << 32) | r.eax;
    }
}

const char *vmx_exit_reason_name(uint32_t basic_reason) {
    return vcpu_exit_name(vmx_exit_kind(basic_reason));
}

struct dump_field {
    const char *key;
    uint32_t field;
};

static const struct dump_field dump_fields[] = {
    {"rip", VMCS_GUEST_RIP},
    {"rsp", VMCS_GUEST_RSP},
    {"rflags", VMCS_GUEST_RFLAGS},
    {"cr0", VMCS_GUEST_CR0},
    {"cr0_shadow", VMCS_CR0_READ_SHADOW},
    {"cr3", VMCS_GUEST_CR3},
    {"cr4", VMCS_GUEST_CR4},
    {"cr4_shadow", VMCS_CR4_READ_SHADOW},
    {"efer", VMCS_GUEST_EFER},
    {"pat", VMCS_GUEST_PAT},
    {"dr7", VMCS_GUEST_DR7},
    {"debugctl", VMCS_GUEST_DEBUGCTL},
    {"gdtr_base", VMCS_GUEST_GDTR_BASE},
    {"gdtr_limit", VMCS_GUEST_GDTR_LIMIT},
    {"idtr_base", VMCS_GUEST_IDTR_BASE},
    {"idtr_limit", VMCS_GUEST_IDTR_LIMIT},
    {"interruptibility", VMCS_GUEST_INTERRUPTIBILITY},
    {"activity", VMCS_GUEST_ACTIVITY_STATE},
    {"pending_dbg", VMCS_GUEST_PENDING_DBG},
    {"exit_intr_info", VMCS_EXIT_INTR_INFO},
    {"idt_vectoring_info", VMCS_IDT_VECTORING_INFO},
    {"instr_len", VMCS_EXIT_INSTR_LEN},
    {"instr_info", VMCS_EXIT_INSTR_INFO},
    {"guest_phys", VMCS_GUEST_PHYS_ADDR},
    {"guest_linear", VMCS_GUEST_LINEAR_ADDR},
    {"vm_instr_error", VMCS_VM_INSTR_ERROR},
    {"pin_ctls", VMCS_PIN_BASED_CTLS},
    {"proc_ctls", VMCS_PROC_BASED_CTLS},
    {"proc2_ctls", VMCS_PROC_BASED_CTLS2},
    {"exit_ctls", VMCS_EXIT_CTLS},
    {"entry_ctls", VMCS_ENTRY_CTLS},
};

static const char *const gpr_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

void vmx_guest_dump(struct report *r, const char *why, const struct vcpu *v,
                    const struct guest_regs *g) {
    if (!r)
        return;
    uint32_t reason = (uint32_t)hw_vmread(VMCS_EXIT_REASON);
    uint64_t qual = hw_vmread(VMCS_EXIT_QUALIFICATION);
    uint32_t basic = EXIT_REASON_BASIC(reason);
    uint32_t cpu = v ? v->index : 0;

    report_begin(r, "guest_state");
    report_str(r, "why", why);
    report_u64(r, "cpu", cpu);
    report_u64(r, "exit_reason", basic);
    report_str(r, "exit_name", vmx_exit_reason_name(basic));
    report_bool(r, "entry_failure", (reason & EXIT_REASON_ENTRY_FAILURE) != 0);
    report_hex(r, "qualification", qual);
    for (size_t i = 0; i < sizeof(dump_fields) / sizeof(dump_fields[0]); i++)
        report_hex(r, dump_fields[i].key, hw_vmread(dump_fields[i].field));
    report_obj_begin(r, "seg");
    for (int s = SREG_ES; s <= SREG_TR; s++) {
        struct vmx_segment seg;
        vmx_seg_read_guest((enum vmx_sreg)s, &seg);
        report_obj_begin(r, vmx_sreg_name((enum vmx_sreg)s));
        report_hex(r, "sel", seg.sel);
        report_hex(r, "base", seg.base);
        report_hex(r, "limit", seg.limit);
        report_hex(r, "ar", seg.ar);
        report_obj_end(r);
    }
    report_obj_end(r);
    if (g) {
        report_obj_begin(r, "gpr");
        for (unsigned i = 0; i < 16; i++)
            report_hex(r, gpr_names[i], vmx_guest_gpr_read(g, i));
        report_obj_end(r);
    }
    report_end(r);
}

void vmx_guest_dump_fatal(const struct vcpu *v, const char *why, const struct guest_regs *g) {
    struct report *r = report_out_begin(v->report);
    if (!r)
        return;
    vmx_guest_dump(r, why, v, g);
    report_out_end(v->report, r);
}
