/* VT-x's exit routing (hv/arch/vcpu.h vcpu_handle_exit): the basic exit reason picks the handler
 * (hv/arch/vmx/vmexit.h); where the exit is the core's business the core's callbacks
 * (struct vcpu_ops) decide first. Also the path of a failed VMRESUME (hv/arch/vmx/vmx_entry.S). */
#include "hv/arch/vcpu.h"

#include "base/hw.h"
#include "base/report.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"

void vmx_resume_failed(void);

static enum vmexit_action entry_failure(struct vcpu *v, struct guest_regs *g, const char *why) {
    vmx_guest_dump_fatal(v, why, g);
    return VMEXIT_PARK;
}

static enum vmexit_action exception_nmi(struct vcpu *v, struct guest_regs *g) {
    const struct vcpu_ops *ops = v->ops;
    uint32_t info = (uint32_t)hw_vmread(VMCS_EXIT_INTR_INFO);
    if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI && INTR_INFO_VECTOR(info) == VEC_NMI) {
        /* vigil's own kicks (an INIT, an EPT change) are taken by the core. Any NMI exit leaves
         * NMIs blocked in root until an IRET: without one this CPU would never see another NMI
         * (the next kick, the next guest NMI). */
        bool mine = ops && ops->nmi && ops->nmi(v);
        hw_nmi_unblock();
        if (mine)
            return VMEXIT_RESUME;
    }
    if (INTR_INFO_TYPE(info) == INTR_TYPE_SW_EXCEPTION && INTR_INFO_VECTOR(info) == VEC_BP && ops &&
        ops->breakpoint && ops->breakpoint(v, g))
        return VMEXIT_RESUME;
    return vmexit_handle_exception_nmi(v, g);
}

enum vmexit_action vcpu_handle_exit(struct vcpu *v, struct guest_regs *g) {
    const struct vcpu_ops *ops = v->ops;
    uint32_t basic = EXIT_REASON_BASIC((uint32_t)hw_vmread(VMCS_EXIT_REASON));
    switch (basic) {
    case EXIT_REASON_EXCEPTION_NMI:
        return exception_nmi(v, g);
    case EXIT_REASON_TRIPLE_FAULT:
        return vmexit_handle_triple_fault(v, g);
    case EXIT_REASON_INIT: {
        enum vmexit_action a = vmexit_handle_init(v, g);
        if (ops && ops->init_taken)
            ops->init_taken(v);
        return a;
    }
    case EXIT_REASON_SIPI:
        if (ops && ops->sipi_taken)
            ops->sipi_taken(v);
        return vmexit_handle_sipi(v, g);
    case EXIT_REASON_NMI_WINDOW:
        return vmexit_handle_nmi_window(v, g);
    case EXIT_REASON_CPUID:
        if (ops && ops->hypercall && ops->hypercall(v, g))
            return VMEXIT_RESUME;
        return vmexit_handle_cpuid(v, g);
    case EXIT_REASON_GETSEC:
    case EXIT_REASON_VMCALL:
    case EXIT_REASON_VMCLEAR:
    case EXIT_REASON_VMLAUNCH:
    case EXIT_REASON_VMPTRLD:
    case EXIT_REASON_VMPTRST:
    case EXIT_REASON_VMREAD:
    case EXIT_REASON_VMRESUME:
    case EXIT_REASON_VMWRITE:
    case EXIT_REASON_VMXOFF:
    case EXIT_REASON_VMXON:
    case EXIT_REASON_INVEPT:
    case EXIT_REASON_INVVPID:
    case EXIT_REASON_VMFUNC:
        return vmexit_handle_ud(v, g);
    case EXIT_REASON_INVD:
        return vmexit_handle_invd(v, g);
    case EXIT_REASON_CR_ACCESS:
        return vmexit_handle_cr_access(v, g);
    case EXIT_REASON_IO:
        return vmexit_handle_io(v, g);
    case EXIT_REASON_RDMSR:
        return vmexit_handle_rdmsr(v, g);
    case EXIT_REASON_WRMSR:
        if (ops && ops->msr_write &&
            ops->msr_write(v, (uint32_t)g->rcx,
                           ((uint64_t)(uint32_t)g->rdx << 32) | (uint32_t)g->rax)) {
            vmx_guest_advance_rip();
            return VMEXIT_RESUME;
        }
        return vmexit_handle_wrmsr(v, g);
    case EXIT_REASON_XSETBV:
        return vmexit_handle_xsetbv(v, g);
    case EXIT_REASON_PREEMPTION_TIMER:
        return vmexit_handle_preemption_timer(v, g);
    case EXIT_REASON_EPT_VIOLATION:
        if (ops && ops->npt_violation)
            return ops->npt_violation(v, g);
        return entry_failure(v, g, "EPT violation outside the map");
    case EXIT_REASON_MTF:
        if (ops && ops->npt_step && ops->npt_step(v, g) == VMEXIT_RESUME)
            return VMEXIT_RESUME;
        return vmexit_handle_unhandled(v, g);
    case EXIT_REASON_EPT_MISCONFIG: {
        struct report *r = report_out_begin(v->report);
        if (r) {
            if (ops && ops->npt_misconfig)
                ops->npt_misconfig(v, r);
            vmx_guest_dump(r, "EPT misconfiguration", v, g);
            report_out_end(v->report, r);
        }
        return VMEXIT_PARK;
    }
    case EXIT_REASON_ENTRY_FAIL_GUEST:
        return entry_failure(v, g, "VM entry failed: invalid guest state");
    case EXIT_REASON_ENTRY_FAIL_MSR:
        return entry_failure(v, g, "VM entry failed: MSR loading");
    case EXIT_REASON_ENTRY_FAIL_MCE:
        return entry_failure(v, g, "VM entry failed: machine check");
    default:
        return vmexit_handle_unhandled(v, g); /* dumps through v->report */
    }
}

/* VMRESUME failed (hv/arch/vmx/vmx_entry.S). The host FS base holds this CPU's vCPU
 * (hv/arch/vmx/vmx_launch.c); the VM-instruction error field says why (SDM 31.4). */
void vmx_resume_failed(void) {
    struct vcpu *v = (struct vcpu *)(uintptr_t)hw_rdmsr(MSR_IA32_FS_BASE);
    uint64_t err = hw_vmread(VMCS_VM_INSTR_ERROR);
    if (v && v->ops && v->ops->resume_failed)
        v->ops->resume_failed(v, err);
    for (;;)
        __asm__ volatile("cli; hlt");
}
