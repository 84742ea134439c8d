/* Virtualizing one CPU where it stands (hv/arch/vcpu.h vcpu_launch_here): VMXON, a VMCS built from
 * the live processor state, and VMLAUNCH into the very code that asked for it
 * (hv/arch/vmx/vmx_entry.S). Also VMXON alone, to hold a processor vigil does not run. */
#include "hv/arch/vcpu.h"

#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"
#include "hv/arch/vmx/vmx_seg.h"

int vmx_launch_cpu(struct vcpu *v, uint64_t rsp, uint64_t rip);
extern char vmx_exit_entry[]; /* hv/arch/vmx/vmx_entry.S */

#define CR4_VMXE_BIT (1ull << 13)

static bool vmw(uint64_t field, uint64_t value, bool *ok) {
    if (!hw_vmwrite(field, value))
        *ok = false;
    return *ok;
}

int vcpu_prepare(struct vcpu *v, const struct vcpu_machine *m, const struct vcpu_host *host,
                 void *(*page)(void *ctx), void *ctx) {
    v->arch.machine = m;
    v->arch.host = host;
    v->arch.vmxon = page(ctx);
    v->arch.vmcs = page(ctx);
    return v->arch.vmxon && v->arch.vmcs ? 0 : VCPU_ERR_CONTROL_AREA;
}

/* VMXON on this CPU (SDM 24.7/24.8): IA32_FEATURE_CONTROL enabled and locked, CR0/CR4 fixed
 * bits, CR4.VMXE, then VMCLEAR/VMPTRLD of this CPU's VMCS. */
int vcpu_enter_root(struct vcpu *v) {
    const struct vmx_cap_msrs *caps = &v->arch.machine->caps;
    uint64_t fc = hw_rdmsr(MSR_IA32_FEATURE_CONTROL), to_write = 0;
    switch (vmx_feature_control_decide(fc, &to_write)) {
    case VMX_FC_READY:
        break;
    case VMX_FC_WRITE:
        hw_wrmsr(MSR_IA32_FEATURE_CONTROL, to_write);
        break;
    default:
        return VCPU_ERR_DISABLED;
    }
    hw_write_cr0(vmx_cr_fix_for_vmxon(hw_read_cr0(), caps->cr0_fixed0, caps->cr0_fixed1));
    hw_write_cr4(
        vmx_cr_fix_for_vmxon(hw_read_cr4() | CR4_VMXE_BIT, caps->cr4_fixed0, caps->cr4_fixed1));
    uint32_t rev = (uint32_t)(caps->basic & 0x7FFFFFFF);
    lib_memset(v->arch.vmxon, 0, 4096);
    lib_memset(v->arch.vmcs, 0, 4096);
    lib_memcpy(v->arch.vmxon, &rev, 4);
    lib_memcpy(v->arch.vmcs, &rev, 4);
    if (!hw_vmxon((uint64_t)(uintptr_t)v->arch.vmxon))
        return VCPU_ERR_ROOT;
    if (!hw_vmclear((uint64_t)(uintptr_t)v->arch.vmcs) ||
        !hw_vmptrld((uint64_t)(uintptr_t)v->arch.vmcs)) {
        hw_vmxoff();
        return VCPU_ERR_CONTROL_AREA;
    }
    return 0;
}

static const struct {
    enum vmx_sreg which;
    enum hw_sreg hw;
    uint64_t sel, base, limit, ar;
} guest_segs[] = {
    {SREG_ES, HW_ES, VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR},
    {SREG_CS, HW_CS, VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR},
    {SREG_SS, HW_SS, VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR},
    {SREG_DS, HW_DS, VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR},
    {SREG_FS, HW_FS, VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR},
    {SREG_GS, HW_GS, VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR},
};

static void write_seg(uint64_t sel_f, uint64_t base_f, uint64_t limit_f, uint64_t ar_f,
                      const struct vmx_segment *s, bool *ok) {
    vmw(sel_f, s->sel, ok);
    vmw(base_f, s->base, ok);
    vmw(limit_f, s->limit, ok);
    vmw(ar_f, s->ar, ok);
}

/* Guest state = the live state of this CPU (SDM 26.3.1 lists what VM entry checks). */
static int setup_guest_state(struct vcpu *v, uint64_t rsp, uint64_t rip, uint64_t rflags,
                             uint64_t cr0, uint64_t cr4, uint64_t efer, bool *ok) {
    bool ia32e = (efer & EFER_LMA) != 0;
    struct hw_dtr gdtr, idtr;
    hw_sgdt(&gdtr);
    hw_sidt(&idtr);
    struct vmx_desc_table gdt = {(const uint8_t *)(uintptr_t)gdtr.base, gdtr.limit};
    struct vmx_desc_table ldt_tab = {0, 0};
    struct vmx_segment ldtr = {0, 0, 0, AR_UNUSABLE};
    uint16_t ldt_sel = hw_sldt();
    if (ldt_sel) {
        if (vmx_seg_decode(&gdt, NULL, SREG_LDTR, ldt_sel, ia32e, &ldtr) != VMX_SEG_OK)
            return VCPU_ERR_SEGMENT;
        ldt_tab.bytes = (const uint8_t *)(uintptr_t)ldtr.base;
        ldt_tab.limit = ldtr.limit;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(guest_segs); i++) {
        struct vmx_segment s;
        uint16_t sel = hw_read_sreg(guest_segs[i].hw);
        enum vmx_seg_status st =
            vmx_seg_decode(&gdt, ldt_sel ? &ldt_tab : NULL, guest_segs[i].which, sel, ia32e, &s);
        if (st != VMX_SEG_OK) {
            v->launch_detail = (uint64_t)guest_segs[i].which << 32 | sel;
            return VCPU_ERR_SEGMENT;
        }
        /* In 64-bit mode the FS/GS bases live in MSRs, not in the descriptors. */
        if (ia32e && guest_segs[i].which == SREG_FS)
            s.base = hw_rdmsr(MSR_IA32_FS_BASE);
        if (ia32e && guest_segs[i].which == SREG_GS)
            s.base = hw_rdmsr(MSR_IA32_GS_BASE);
        write_seg(guest_segs[i].sel, guest_segs[i].base, guest_segs[i].limit, guest_segs[i].ar, &s,
                  ok);
    }
    write_seg(VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR,
              &ldtr, ok);
    struct vmx_segment tr;
    uint16_t tr_sel = hw_str();
    if (tr_sel == 0) {
        /* UEFI firmware runs without a task register, but VM entry requires a usable busy TSS
         * (SDM 26.3.1.2). The guest never uses it (no privilege change, no task switch) until
         * its OS loads its own TR. */
        tr = (struct vmx_segment){0, 0, 0x67, 0x8B};
    } else if (vmx_seg_decode(&gdt, NULL, SREG_TR, tr_sel, ia32e, &tr) != VMX_SEG_OK) {
        v->launch_detail = (uint64_t)SREG_TR << 32 | tr_sel;
        return VCPU_ERR_SEGMENT;
    }
    write_seg(VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR, &tr,
              ok);
    vmw(VMCS_GUEST_GDTR_BASE, gdtr.base, ok);
    vmw(VMCS_GUEST_GDTR_LIMIT, gdtr.limit, ok);
    vmw(VMCS_GUEST_IDTR_BASE, idtr.base, ok);
    vmw(VMCS_GUEST_IDTR_LIMIT, idtr.limit, ok);

    if (!vmx_cr_write_guest(v, cr0, cr4))
        *ok = false;
    vmw(VMCS_GUEST_CR3, hw_read_cr3(), ok);
    vmw(VMCS_GUEST_DR7, hw_read_dr7(), ok);
    vmw(VMCS_GUEST_RSP, rsp, ok);
    vmw(VMCS_GUEST_RIP, rip, ok);
    vmw(VMCS_GUEST_RFLAGS, rflags, ok);
    vmw(VMCS_GUEST_DEBUGCTL, hw_rdmsr(MSR_IA32_DEBUGCTL), ok);
    vmw(VMCS_GUEST_PAT, hw_rdmsr(MSR_IA32_PAT), ok);
    vmw(VMCS_GUEST_EFER, efer, ok);
    vmw(VMCS_GUEST_SYSENTER_CS, hw_rdmsr(MSR_IA32_SYSENTER_CS), ok);
    vmw(VMCS_GUEST_SYSENTER_ESP, hw_rdmsr(MSR_IA32_SYSENTER_ESP), ok);
    vmw(VMCS_GUEST_SYSENTER_EIP, hw_rdmsr(MSR_IA32_SYSENTER_EIP), ok);
    vmw(VMCS_GUEST_INTERRUPTIBILITY, 0, ok);
    vmw(VMCS_GUEST_ACTIVITY_STATE, 0, ok);
    vmw(VMCS_GUEST_PENDING_DBG, 0, ok);
    vmw(VMCS_VMCS_LINK_PTR, ~0ull, ok);
    return 0;
}

/* The host state every exit loads (SDM 26.2.2-26.2.4 checks it at entry): the hypervisor's page
 * tables, GDT/TSS/IDT, its per-CPU GS base and stack, and the exit stub. The host FS base is this
 * vCPU: the VMRESUME failure path finds it there (hv/arch/vmx/vmx_exit.c). */
static void setup_host_state(struct vcpu *v, bool *ok) {
    const struct vcpu_host *h = v->arch.host;
    vmw(VMCS_HOST_CR0, hw_read_cr0(), ok);
    vmw(VMCS_HOST_CR3, h->cr3, ok);
    /* XSETBV exits are carried out by the host (hw_xsetbv_safe), which needs CR4.OSXSAVE in VMX
     * root even when the firmware never set it (SDM vol. 2 XSETBV: #UD if CR4.OSXSAVE = 0). */
    uint64_t host_cr4 = hw_read_cr4();
    if (v->has_xsave)
        host_cr4 |= CR4_OSXSAVE;
    vmw(VMCS_HOST_CR4, host_cr4 & v->arch.machine->caps.cr4_fixed1, ok);
    vmw(VMCS_HOST_CS_SEL, h->cs_sel, ok);
    vmw(VMCS_HOST_SS_SEL, h->ds_sel, ok);
    vmw(VMCS_HOST_DS_SEL, h->ds_sel, ok);
    vmw(VMCS_HOST_ES_SEL, h->ds_sel, ok);
    vmw(VMCS_HOST_FS_SEL, h->ds_sel, ok);
    vmw(VMCS_HOST_GS_SEL, h->ds_sel, ok);
    vmw(VMCS_HOST_TR_SEL, h->tr_sel, ok);
    vmw(VMCS_HOST_FS_BASE, (uint64_t)(uintptr_t)v, ok);
    vmw(VMCS_HOST_GS_BASE, h->gs_base, ok);
    vmw(VMCS_HOST_TR_BASE, h->tr_base, ok);
    vmw(VMCS_HOST_GDTR_BASE, h->gdt_base, ok);
    vmw(VMCS_HOST_IDTR_BASE, h->idt_base, ok);
    vmw(VMCS_HOST_SYSENTER_CS, 0, ok);
    vmw(VMCS_HOST_SYSENTER_ESP, 0, ok);
    vmw(VMCS_HOST_SYSENTER_EIP, 0, ok);
    vmw(VMCS_HOST_EFER, hw_rdmsr(MSR_IA32_EFER), ok);
    vmw(VMCS_HOST_PAT, h->pat, ok);
    vmw(VMCS_HOST_RSP, h->stack_top, ok);
    vmw(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry, ok);
}

static int setup_controls(struct vcpu *v, uint64_t efer, bool *ok) {
    const struct vcpu_machine *m = v->arch.machine;
    struct vmx_control_request req = {.guest_ia32e = (efer & EFER_LMA) != 0,
                                      .preemption_timer = true};
    struct vmx_controls ctl;
    struct vmx_ctl_error cerr;
    if (!vmx_controls_compute(&m->caps, &req, &ctl, &cerr)) {
        v->launch_detail = cerr.bit;
        return VCPU_ERR_CONTROLS;
    }
    v->arch.pin_ctls = ctl.pin;
    v->arch.proc_ctls = ctl.proc;
    v->arch.proc2_ctls = ctl.proc2;
    v->arch.exit_ctls = ctl.exit;
    v->arch.entry_ctls = ctl.entry;
    v->arch.preemption_timer_reload = m->timer_reload;
    vmw(VMCS_PIN_BASED_CTLS, ctl.pin, ok);
    vmw(VMCS_PROC_BASED_CTLS, ctl.proc, ok);
    vmw(VMCS_PROC_BASED_CTLS2, ctl.proc2, ok);
    vmw(VMCS_EXIT_CTLS, ctl.exit, ok);
    vmw(VMCS_ENTRY_CTLS, ctl.entry, ok);
    vmw(VMCS_EXCEPTION_BITMAP, 0, ok);
    vmw(VMCS_PF_ERRCODE_MASK, 0, ok);
    vmw(VMCS_PF_ERRCODE_MATCH, 0, ok);
    vmw(VMCS_CR3_TARGET_COUNT, 0, ok);
    vmw(VMCS_EXIT_MSR_STORE_COUNT, 0, ok);
    vmw(VMCS_EXIT_MSR_LOAD_COUNT, 0, ok);
    vmw(VMCS_ENTRY_MSR_LOAD_COUNT, 0, ok);
    vmw(VMCS_ENTRY_INTR_INFO, 0, ok);
    vmw(VMCS_MSR_BITMAP, (uint64_t)(uintptr_t)m->msr_bitmap, ok);
    vmw(VMCS_IO_BITMAP_A, (uint64_t)(uintptr_t)m->io_bitmap_a, ok);
    vmw(VMCS_IO_BITMAP_B, (uint64_t)(uintptr_t)m->io_bitmap_b, ok);
    vmw(VMCS_EPT_POINTER, m->eptp, ok);
    v->arch.vpid = (uint16_t)(v->index + 1);
    vmw(VMCS_VPID, v->arch.vpid, ok);
    if (ctl.pin & PIN_PREEMPTION_TIMER)
        vmw(VMCS_PREEMPTION_TIMER_VALUE, m->timer_reload, ok);
    vmx_cr_setup(v, m->caps.cr0_fixed0, m->caps.cr0_fixed1, m->caps.cr4_fixed0, m->caps.cr4_fixed1,
                 (ctl.proc2 & PROC2_UNRESTRICTED_GUEST) != 0);
    return 0;
}

/* Called by vcpu_launch_here (hv/arch/vmx/vmx_entry.S) with the stack pointer and the address the
 * guest resumes at. Returns only when the launch did not happen. */
int vmx_launch_cpu(struct vcpu *v, uint64_t rsp, uint64_t rip) {
    uint64_t rflags = hw_read_rflags();
    uint64_t cr0 = hw_read_cr0(), cr4 = hw_read_cr4();
    uint64_t efer = hw_rdmsr(MSR_IA32_EFER);
    __asm__ volatile("cli" ::: "memory");

    vmx_guest_probe_cpu(v);

    int err = vcpu_enter_root(v);
    bool ok = true;
    if (!err)
        err = setup_controls(v, efer, &ok);
    if (!err)
        err = setup_guest_state(v, rsp, rip, rflags, cr0, cr4, efer, &ok);
    if (!err) {
        setup_host_state(v, &ok);
        if (!ok)
            err = VCPU_ERR_CONTROL_AREA;
    }
    if (!err) {
        if (v->ops && v->ops->launching)
            v->ops->launching(v);
        __asm__ volatile("vmlaunch" ::: "memory", "cc");
        /* Still here: VMLAUNCH failed (SDM 31.4 VM-instruction error numbers). */
        if (v->ops && v->ops->launch_failed)
            v->ops->launch_failed(v);
        v->launch_detail = hw_vmread(VMCS_VM_INSTR_ERROR);
        err = VCPU_ERR_LAUNCH;
    }
    if (err != VCPU_ERR_DISABLED && err != VCPU_ERR_ROOT)
        hw_vmxoff();
    hw_write_cr4(cr4);
    if (rflags & (1u << 9))
        __asm__ volatile("sti" ::: "memory");
    return err;
}
