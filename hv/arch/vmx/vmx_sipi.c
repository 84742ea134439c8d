/* INIT/SIPI state machine (see vmx_sipi.h). */
#include "hv/arch/vmx/vmx_sipi.h"

#include "base/hw.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"

/* Access rights of the INIT state (SDM 10.1.1 table 10-1: "present, R/W, accessed"). */
#define AR_LDT_INIT (SYS_TYPE_LDT | AR_P)
#define AR_TR_INIT (SYS_TYPE_TSS_BUSY | AR_P) /* VM entry wants a busy TSS (26.3.1.2) */

void vmx_sipi_write_init_state(struct vcpu *v, struct guest_regs *g) {
    uint64_t cr0_view = vmx_cr_guest_view(hw_vmread(VMCS_GUEST_CR0),
                                          hw_vmread(VMCS_CR0_READ_SHADOW), v->arch.cr0_mask);
    uint64_t cr0 = (cr0_view & (CR0_CD | CR0_NW)) | CR0_ET;

    hw_vmwrite(VMCS_GUEST_RIP, 0xFFF0);
    hw_vmwrite(VMCS_GUEST_RSP, 0);
    hw_vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
    vmx_cr_write_guest(v, cr0, 0);
    hw_vmwrite(VMCS_GUEST_CR3, 0);
    hw_vmwrite(VMCS_GUEST_EFER, 0);
    hw_vmwrite(VMCS_GUEST_DR7, DR7_INIT);
    hw_vmwrite(VMCS_GUEST_DEBUGCTL, 0);

    struct vmx_segment cs = {0xF000, 0xFFFF0000ull, 0xFFFF, 0xBu | AR_S | AR_P};
    vmx_seg_write_guest(SREG_CS, &cs);
    struct vmx_segment data = vmx_seg_real_mode(0, false);
    vmx_seg_write_guest(SREG_ES, &data);
    vmx_seg_write_guest(SREG_SS, &data);
    vmx_seg_write_guest(SREG_DS, &data);
    vmx_seg_write_guest(SREG_FS, &data);
    vmx_seg_write_guest(SREG_GS, &data);
    struct vmx_segment ldt = {0, 0, 0xFFFF, AR_LDT_INIT};
    vmx_seg_write_guest(SREG_LDTR, &ldt);
    struct vmx_segment tr = {0, 0, 0xFFFF, AR_TR_INIT};
    vmx_seg_write_guest(SREG_TR, &tr);
    hw_vmwrite(VMCS_GUEST_GDTR_BASE, 0);
    hw_vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xFFFF);
    hw_vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    hw_vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xFFFF);

    /* Real mode: not an IA-32e guest. */
    v->arch.entry_ctls &= ~ENTRY_IA32E_MODE_GUEST;
    hw_vmwrite(VMCS_ENTRY_CTLS, v->arch.entry_ctls);

    /* No event may be injected into a wait-for-SIPI guest (26.3.1.5); INIT drops what was due. */
    hw_vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    hw_vmwrite(VMCS_GUEST_PENDING_DBG, 0);
    hw_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    v->nmi_pending = 0;
    if (v->arch.proc_ctls & PROC_NMI_WINDOW_EXITING) {
        v->arch.proc_ctls &= ~PROC_NMI_WINDOW_EXITING;
        hw_vmwrite(VMCS_PROC_BASED_CTLS, v->arch.proc_ctls);
    }
    hw_vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);

    if (g) {
        struct guest_regs zero = {0};
        *g = zero;
        g->rdx = v->cpu_signature;
    }
    /* INIT flushes the TLBs (10.1.1); the guest's translations are tagged with its VPID. */
    uint64_t desc[2] = {v->arch.vpid, 0};
    if (!hw_invvpid(INVVPID_SINGLE_CONTEXT, desc))
        hw_invvpid(INVVPID_ALL_CONTEXT, desc);
    v->sipi_state = VCPU_WAIT_FOR_SIPI;
}

struct vmx_segment vmx_sipi_start_cs(uint8_t vector) {
    /* SDM 11.4.4.1 / 25.2: the SIPI vector V gives a start at physical V * 4096 in real mode,
     * i.e. CS.selector = V << 8, CS.base = V << 12, IP = 0. */
    return vmx_seg_real_mode((uint16_t)(vector << 8), true);
}

void vmx_sipi_write_start_state(struct vcpu *v, uint8_t vector) {
    struct vmx_segment cs = vmx_sipi_start_cs(vector);
    vmx_seg_write_guest(SREG_CS, &cs);
    hw_vmwrite(VMCS_GUEST_RIP, 0);
    hw_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0); /* includes blocking by SMI */
    hw_vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    v->sipi_state = VCPU_RUNNING;
    v->sipi_count++;
    v->last_sipi_vector = vector;
}

bool vmx_sipi_clear_smi_blocking(void) {
    uint64_t intr = hw_vmread(VMCS_GUEST_INTERRUPTIBILITY);
    if (!(intr & INTERRUPTIBILITY_SMI))
        return false;
    hw_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)INTERRUPTIBILITY_SMI);
    return true;
}

enum vmexit_action vmexit_handle_init(struct vcpu *v, struct guest_regs *g) {
    v->init_count++;
    if (v->sipi_state == VCPU_WAIT_FOR_SIPI) {
        /* Already in the INIT state: a second INIT changes nothing on a real processor. Counted,
         * since a stream of them is the symptom of Bochs 2.7's INIT re-delivery bug. */
        v->repeated_init_count++;
        hw_vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
        vmx_sipi_clear_smi_blocking();
        return VMEXIT_RESUME;
    }
    vmx_sipi_write_init_state(v, g);
    return VMEXIT_RESUME;
}

enum vmexit_action vmexit_handle_sipi(struct vcpu *v, struct guest_regs *g) {
    (void)g;
    /* SIPI exits happen only in the wait-for-SIPI activity state (25.2); the VMCS is the truth
     * when the state was set up without vmx_sipi_write_init_state (a fresh VMCS). */
    if (v->sipi_state != VCPU_WAIT_FOR_SIPI &&
        hw_vmread(VMCS_GUEST_ACTIVITY_STATE) != ACTIVITY_WAIT_SIPI) {
        vmx_sipi_clear_smi_blocking();
        return VMEXIT_RESUME; /* not waiting: a SIPI is ignored */
    }
    vmx_sipi_write_start_state(v, (uint8_t)SIPI_QUAL_VECTOR(hw_vmread(VMCS_EXIT_QUALIFICATION)));
    /* Bochs 2.7 masks NMIs when a CPU enters wait-for-SIPI and unmasks them in the code after
     * its SIPI VM exit, which never runs (the exit jumps away): this CPU would never see an NMI
     * again, so vigil's kicks (an INIT, an EPT change) could not reach it. An IRET in root
     * unmasks them there; elsewhere it is harmless, as NMIs are not blocked now (SDM 6.7.1). */
    hw_nmi_unblock();
    return VMEXIT_RESUME;
}
