/* Virtualizing one CPU where it stands: VMXON, a VMCS built from the live processor state, and
 * VMLAUNCH into the very code that asked for it (hv/arch/vmx/vmx_entry.S). */
#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"
#include "hv/arch/vmx/vmx_seg.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"

int vmx_launch_cpu(struct hv_cpu *c, uint64_t rsp, uint64_t rip);
int vmx_root_enter(struct hv_cpu *c);
extern char vmx_exit_entry[]; /* hv/arch/vmx/vmx_entry.S */

#define CR4_VMXE_BIT (1ull << 13)

static bool vmw(uint64_t field, uint64_t value, bool *ok) {
    if (!hw_vmwrite(field, value))
        *ok = false;
    return *ok;
}

/* VMXON on this CPU (SDM 24.7/24.8): IA32_FEATURE_CONTROL enabled and locked, CR0/CR4 fixed
 * bits, CR4.VMXE, then VMCLEAR/VMPTRLD of this CPU's VMCS. */
int vmx_root_enter(struct hv_cpu *c) {
    uint64_t fc = hw_rdmsr(MSR_IA32_FEATURE_CONTROL), to_write = 0;
    switch (vmx_feature_control_decide(fc, &to_write)) {
    case VMX_FC_READY:
        break;
    case VMX_FC_WRITE:
        hw_wrmsr(MSR_IA32_FEATURE_CONTROL, to_write);
        break;
    default:
        return HV_ERR_FEATURE_CONTROL;
    }
    hw_write_cr0(vmx_cr_fix_for_vmxon(hw_read_cr0(), hv.caps.cr0_fixed0, hv.caps.cr0_fixed1));
    hw_write_cr4(
        vmx_cr_fix_for_vmxon(hw_read_cr4() | CR4_VMXE_BIT, hv.caps.cr4_fixed0, hv.caps.cr4_fixed1));
    uint32_t rev = (uint32_t)(hv.caps.basic & 0x7FFFFFFF);
    lib_memset(c->vmxon, 0, 4096);
    lib_memset(c->vmcs, 0, 4096);
    lib_memcpy(c->vmxon, &rev, 4);
    lib_memcpy(c->vmcs, &rev, 4);
    if (!hw_vmxon((uint64_t)(uintptr_t)c->vmxon))
        return HV_ERR_VMXON;
    if (!hw_vmclear((uint64_t)(uintptr_t)c->vmcs) || !hw_vmptrld((uint64_t)(uintptr_t)c->vmcs)) {
        hw_vmxoff();
        return HV_ERR_VMCS;
    }
    return HV_OK;
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
static int setup_guest_state(struct hv_cpu *c, uint64_t rsp, uint64_t rip, uint64_t rflags,
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
            return HV_ERR_SEGMENT;
        ldt_tab.bytes = (const uint8_t *)(uintptr_t)ldtr.base;
        ldt_tab.limit = ldtr.limit;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(guest_segs); i++) {
        struct vmx_segment s;
        uint16_t sel = hw_read_sreg(guest_segs[i].hw);
        enum vmx_seg_status st =
            vmx_seg_decode(&gdt, ldt_sel ? &ldt_tab : NULL, guest_segs[i].which, sel, ia32e, &s);
        if (st != VMX_SEG_OK) {
            c->launch_detail = (uint64_t)guest_segs[i].which << 32 | sel;
            return HV_ERR_SEGMENT;
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
        c->launch_detail = (uint64_t)SREG_TR << 32 | tr_sel;
        return HV_ERR_SEGMENT;
    }
    write_seg(VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR, &tr,
              ok);
    vmw(VMCS_GUEST_GDTR_BASE, gdtr.base, ok);
    vmw(VMCS_GUEST_GDTR_LIMIT, gdtr.limit, ok);
    vmw(VMCS_GUEST_IDTR_BASE, idtr.base, ok);
    vmw(VMCS_GUEST_IDTR_LIMIT, idtr.limit, ok);

    if (!vmx_cr_write_guest(&c->vcpu, cr0, cr4))
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
    return HV_OK;
}

static void setup_host_state(struct hv_cpu *c, bool *ok) {
    vmw(VMCS_HOST_CR0, hw_read_cr0(), ok);
    vmw(VMCS_HOST_CR3, hv.env.cr3, ok);
    /* XSETBV exits are carried out by the host (hw_xsetbv_safe), which needs CR4.OSXSAVE in VMX
     * root even when the firmware never set it (SDM vol. 2 XSETBV: #UD if CR4.OSXSAVE = 0). */
    uint64_t host_cr4 = hw_read_cr4();
    if (c->vcpu.has_xsave)
        host_cr4 |= CR4_OSXSAVE;
    vmw(VMCS_HOST_CR4, host_cr4 & hv.caps.cr4_fixed1, ok);
    vmw(VMCS_HOST_CS_SEL, HOST_CS_SEL, ok);
    vmw(VMCS_HOST_SS_SEL, HOST_DS_SEL, ok);
    vmw(VMCS_HOST_DS_SEL, HOST_DS_SEL, ok);
    vmw(VMCS_HOST_ES_SEL, HOST_DS_SEL, ok);
    vmw(VMCS_HOST_FS_SEL, HOST_DS_SEL, ok);
    vmw(VMCS_HOST_GS_SEL, HOST_DS_SEL, ok);
    vmw(VMCS_HOST_TR_SEL, HOST_TR_SEL, ok);
    vmw(VMCS_HOST_FS_BASE, 0, ok);
    vmw(VMCS_HOST_GS_BASE, (uint64_t)(uintptr_t)c, ok);
    vmw(VMCS_HOST_TR_BASE, (uint64_t)(uintptr_t)&c->tss, ok);
    vmw(VMCS_HOST_GDTR_BASE, (uint64_t)(uintptr_t)c->gdt, ok);
    vmw(VMCS_HOST_IDTR_BASE, hv.env.idt_base, ok);
    vmw(VMCS_HOST_SYSENTER_CS, 0, ok);
    vmw(VMCS_HOST_SYSENTER_ESP, 0, ok);
    vmw(VMCS_HOST_SYSENTER_EIP, 0, ok);
    vmw(VMCS_HOST_EFER, hw_rdmsr(MSR_IA32_EFER), ok);
    vmw(VMCS_HOST_PAT, hv.env.pat, ok);
    vmw(VMCS_HOST_RSP, c->stack_top, ok);
    vmw(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry, ok);
}

static int setup_controls(struct hv_cpu *c, uint64_t efer, bool *ok) {
    struct vcpu *v = &c->vcpu;
    struct vmx_control_request req = {.guest_ia32e = (efer & EFER_LMA) != 0,
                                      .preemption_timer = true};
    struct vmx_controls ctl;
    struct vmx_ctl_error cerr;
    if (!vmx_controls_compute(&hv.caps, &req, &ctl, &cerr)) {
        c->launch_detail = cerr.bit;
        return HV_ERR_CONTROLS;
    }
    v->pin_ctls = ctl.pin;
    v->proc_ctls = ctl.proc;
    v->proc2_ctls = ctl.proc2;
    v->exit_ctls = ctl.exit;
    v->entry_ctls = ctl.entry;
    v->preemption_timer_reload = hv.timer_reload;
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
    vmw(VMCS_MSR_BITMAP, (uint64_t)(uintptr_t)hv.msr_bitmap, ok);
    vmw(VMCS_IO_BITMAP_A, (uint64_t)(uintptr_t)hv.io_bitmap_a, ok);
    vmw(VMCS_IO_BITMAP_B, (uint64_t)(uintptr_t)hv.io_bitmap_b, ok);
    vmw(VMCS_EPT_POINTER, hv.eptp, ok);
    v->vpid = (uint16_t)(c->index + 1);
    vmw(VMCS_VPID, v->vpid, ok);
    if (ctl.pin & PIN_PREEMPTION_TIMER)
        vmw(VMCS_PREEMPTION_TIMER_VALUE, hv.timer_reload, ok);
    vmx_cr_setup(v, hv.caps.cr0_fixed0, hv.caps.cr0_fixed1, hv.caps.cr4_fixed0, hv.caps.cr4_fixed1,
                 (ctl.proc2 & PROC2_UNRESTRICTED_GUEST) != 0);
    return HV_OK;
}

static void heartbeat_hook(struct vcpu *v);

/* Guest MTRR writes re-type the EPT map (SDM 11.11: EPT memory types replace the MTRRs' role). */
static void mtrr_hook(struct vcpu *v, uint32_t msr, uint64_t value) {
    struct hv_cpu *c = hv.cpus[v->index];
    ept_perm_mtrr_write(&hv.perm, &c->ept, msr, value);
}

int vmx_launch_cpu(struct hv_cpu *c, uint64_t rsp, uint64_t rip) {
    struct vcpu *v = &c->vcpu;
    uint64_t rflags = hw_read_rflags();
    uint64_t cr0 = hw_read_cr0(), cr4 = hw_read_cr4();
    uint64_t efer = hw_rdmsr(MSR_IA32_EFER);
    __asm__ volatile("cli" ::: "memory");

    v->index = c->index;
    v->stealth = hv.params.stealth != 0;
    v->report_port = hv.params.serial_port;
    v->report = &hv_report_out;
    v->heartbeat = heartbeat_hook;
    v->mtrr_hook = mtrr_hook;
    vmx_guest_probe_cpu(v);

    int err = vmx_root_enter(c);
    bool ok = true;
    if (!err)
        err = setup_controls(c, efer, &ok);
    if (!err)
        err = setup_guest_state(c, rsp, rip, rflags, cr0, cr4, efer, &ok);
    if (!err) {
        setup_host_state(c, &ok);
        if (!ok)
            err = HV_ERR_VMCS;
    }
    if (!err) {
        c->up = true;
        c->ept.running = true;
        c->last_exit_tsc = hw_rdtsc(); /* the watch counts its silence from the launch */
        ept_invept(&hv.ept);
        __asm__ volatile("vmlaunch" ::: "memory", "cc");
        /* Still here: VMLAUNCH failed (SDM 31.4 VM-instruction error numbers). */
        c->up = false;
        c->ept.running = false;
        c->launch_detail = hw_vmread(VMCS_VM_INSTR_ERROR);
        err = HV_ERR_VMLAUNCH;
    }
    if (err != HV_ERR_FEATURE_CONTROL && err != HV_ERR_VMXON)
        hw_vmxoff();
    hw_write_cr4(cr4);
    if (rflags & (1u << 9))
        __asm__ volatile("sti" ::: "memory");
    return err;
}

/* VMX-preemption-timer exits on every CPU; the periodic work runs on whichever CPU finds it due
 * (hv_periodic, hv/core/tick_owner.h). The timer also fires every few milliseconds while report
 * bytes wait for the UART (hv/core/vmexit_dispatch.c): those ticks are only drain ticks (closer
 * than 7/8 of the reload to this CPU's last full tick). */
static void heartbeat_hook(struct vcpu *v) {
    struct hv_cpu *c = hv.cpus[v->index];
    uint64_t now = hw_rdtsc();
    if (c->last_tick_tsc && now - c->last_tick_tsc < hv_tsc_hz() - hv_tsc_hz() / 8)
        return;
    c->last_tick_tsc = now;
    hv_periodic(c);
}
