/* VMX control computation (see vmx_controls.h; why each control is chosen: docs/vmx.md). */
#include "hv/arch/vmx/vmx_controls.h"

#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmx_defs.h"

void vmx_cap_msrs_read(struct vmx_cap_msrs *c) {
    lib_memset(c, 0, sizeof(*c));
    c->basic = hw_rdmsr(MSR_IA32_VMX_BASIC);
    c->pin = hw_rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
    c->proc = hw_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
    c->exit = hw_rdmsr(MSR_IA32_VMX_EXIT_CTLS);
    c->entry = hw_rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
    c->misc = hw_rdmsr(MSR_IA32_VMX_MISC);
    c->cr0_fixed0 = hw_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = hw_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = hw_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = hw_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    c->vmcs_enum = hw_rdmsr(MSR_IA32_VMX_VMCS_ENUM);
    /* SDM A.3.3: IA32_VMX_PROCBASED_CTLS2 exists only if bit 63 of PROCBASED_CTLS is 1. */
    if ((c->proc >> 32) & PROC_ACTIVATE_SECONDARY) {
        c->proc2 = hw_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
        /* A.10: EPT_VPID_CAP exists if EPT or VPID may be 1; A.11: VMFUNC if VM functions may. */
        uint32_t p2_1 = (uint32_t)(c->proc2 >> 32);
        if (p2_1 & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID))
            c->ept_vpid = hw_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
        if (p2_1 & PROC2_ENABLE_VMFUNC)
            c->vmfunc = hw_rdmsr(MSR_IA32_VMX_VMFUNC);
    }
    /* A.1: the TRUE_* MSRs exist only when BASIC[55] = 1. */
    if (c->basic & VMX_BASIC_TRUE_CTLS) {
        c->true_pin = hw_rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
        c->true_proc = hw_rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
        c->true_exit = hw_rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
        c->true_entry = hw_rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
    }
}

uint64_t vmx_controls_cap_for(const struct vmx_cap_msrs *caps, enum vmx_ctl_field f) {
    bool t = (caps->basic & VMX_BASIC_TRUE_CTLS) != 0;
    switch (f) {
    case VMX_CTL_PIN:
        return t ? caps->true_pin : caps->pin;
    case VMX_CTL_PROC:
        return t ? caps->true_proc : caps->proc;
    case VMX_CTL_PROC2:
        /* A.3.3: no TRUE variant; its allowed-0 half is always 0. Without the secondary
         * controls nothing may be 1. */
        return ((caps->proc >> 32) & PROC_ACTIVATE_SECONDARY) ? caps->proc2 : 0;
    case VMX_CTL_EXIT:
        return t ? caps->true_exit : caps->exit;
    case VMX_CTL_ENTRY:
        return t ? caps->true_entry : caps->entry;
    }
    return 0;
}

/* The legacy (non-TRUE) MSR: its allowed-0 half gives the default1 class (A.2), which 31.5.1
 * algorithm 3 keeps at 1 unless the control is known and wanted 0. */
static uint32_t default1_bits(const struct vmx_cap_msrs *caps, enum vmx_ctl_field f) {
    switch (f) {
    case VMX_CTL_PIN:
        return (uint32_t)caps->pin;
    case VMX_CTL_PROC:
        return (uint32_t)caps->proc;
    case VMX_CTL_EXIT:
        return (uint32_t)caps->exit;
    case VMX_CTL_ENTRY:
        return (uint32_t)caps->entry;
    case VMX_CTL_PROC2:
        return 0;
    }
    return 0;
}

const char *vmx_ctl_field_name(enum vmx_ctl_field f) {
    switch (f) {
    case VMX_CTL_PIN:
        return "pin-based VM-execution controls";
    case VMX_CTL_PROC:
        return "primary processor-based VM-execution controls";
    case VMX_CTL_PROC2:
        return "secondary processor-based VM-execution controls";
    case VMX_CTL_EXIT:
        return "VM-exit controls";
    case VMX_CTL_ENTRY:
        return "VM-entry controls";
    }
    return "?";
}

const char *vmx_ctl_status_str(enum vmx_ctl_status s) {
    switch (s) {
    case VMX_CTL_OK:
        return "ok";
    case VMX_CTL_NO_VMX:
        return "no VMX capability MSRs (IA32_VMX_BASIC reads 0)";
    case VMX_CTL_REQUIRED_NOT_ALLOWED:
        return "required control not supported (allowed-1 setting is 0)";
    case VMX_CTL_FORBIDDEN_FORCED:
        return "control vigil must keep 0 is forced to 1 (allowed-0 setting is 1)";
    case VMX_CTL_INCONSISTENT_MSR:
        return "capability MSR inconsistent (allowed-0 bit without allowed-1 bit)";
    }
    return "?";
}

struct ctl_bit {
    uint32_t bit;
    const char *name;
};

struct ctl_spec {
    enum vmx_ctl_field field;
    const struct ctl_bit *required; /* must be 1 */
    size_t n_required;
    const struct ctl_bit *avail; /* must be allowed to be 1, but start at 0 (runtime toggles) */
    size_t n_avail;
    const struct ctl_bit *zero; /* must be 0 */
    size_t n_zero;
    uint32_t optional; /* taken when allowed */
};

static bool set_err(struct vmx_ctl_error *err, enum vmx_ctl_status s, enum vmx_ctl_field f,
                    uint32_t bit, const char *name) {
    if (err) {
        err->status = s;
        err->field = f;
        err->bit = bit;
        err->name = name;
    }
    return false;
}

static bool compute_one(const struct vmx_cap_msrs *caps, const struct ctl_spec *s, uint32_t *out,
                        struct vmx_ctl_error *err) {
    uint64_t cap = vmx_controls_cap_for(caps, s->field);
    uint32_t allowed0 = (uint32_t)cap;         /* bits that must be 1 */
    uint32_t allowed1 = (uint32_t)(cap >> 32); /* bits that may be 1 */
    if (allowed0 & ~allowed1) {
        uint32_t bad = allowed0 & ~allowed1;
        return set_err(err, VMX_CTL_INCONSISTENT_MSR, s->field, bad & -bad, "capability MSR");
    }
    uint32_t required = 0, zero = 0;
    for (size_t i = 0; i < s->n_required; i++) {
        if (!(allowed1 & s->required[i].bit))
            return set_err(err, VMX_CTL_REQUIRED_NOT_ALLOWED, s->field, s->required[i].bit,
                           s->required[i].name);
        required |= s->required[i].bit;
    }
    for (size_t i = 0; i < s->n_avail; i++) {
        if (!(allowed1 & s->avail[i].bit))
            return set_err(err, VMX_CTL_REQUIRED_NOT_ALLOWED, s->field, s->avail[i].bit,
                           s->avail[i].name);
        zero |= s->avail[i].bit;
    }
    for (size_t i = 0; i < s->n_zero; i++) {
        if (allowed0 & s->zero[i].bit)
            return set_err(err, VMX_CTL_FORBIDDEN_FORCED, s->field, s->zero[i].bit,
                           s->zero[i].name);
        zero |= s->zero[i].bit;
    }
    uint32_t default1 = default1_bits(caps, s->field) & ~zero & allowed1;
    *out = required | (s->optional & allowed1) | allowed0 | default1;
    return true;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct ctl_bit pin_required[] = {
    {PIN_NMI_EXITING, "NMI exiting"},
    {PIN_VIRTUAL_NMIS, "virtual NMIs"},
};
static const struct ctl_bit pin_zero[] = {
    {PIN_EXTERNAL_INTERRUPT_EXITING, "external-interrupt exiting"},
    {PIN_POSTED_INTERRUPTS, "process posted interrupts"},
};

static const struct ctl_bit proc_required[] = {
    {PROC_USE_MSR_BITMAPS, "use MSR bitmaps"},
    {PROC_USE_IO_BITMAPS, "use I/O bitmaps"},
    {PROC_ACTIVATE_SECONDARY, "activate secondary controls"},
};
static const struct ctl_bit proc_avail[] = {
    {PROC_NMI_WINDOW_EXITING, "NMI-window exiting"},
};
static const struct ctl_bit proc_zero[] = {
    {PROC_INTERRUPT_WINDOW_EXITING, "interrupt-window exiting"},
    {PROC_USE_TSC_OFFSETTING, "use TSC offsetting"},
    {PROC_HLT_EXITING, "HLT exiting"},
    {PROC_INVLPG_EXITING, "INVLPG exiting"},
    {PROC_MWAIT_EXITING, "MWAIT exiting"},
    {PROC_RDPMC_EXITING, "RDPMC exiting"},
    {PROC_RDTSC_EXITING, "RDTSC exiting"},
    {PROC_CR3_LOAD_EXITING, "CR3-load exiting"},
    {PROC_CR3_STORE_EXITING, "CR3-store exiting"},
    {PROC_ACTIVATE_TERTIARY, "activate tertiary controls"},
    {PROC_CR8_LOAD_EXITING, "CR8-load exiting"},
    {PROC_CR8_STORE_EXITING, "CR8-store exiting"},
    {PROC_USE_TPR_SHADOW, "use TPR shadow"},
    {PROC_MOV_DR_EXITING, "MOV-DR exiting"},
    {PROC_UNCOND_IO_EXITING, "unconditional I/O exiting"},
    {PROC_MONITOR_TRAP_FLAG, "monitor trap flag"},
    {PROC_MONITOR_EXITING, "MONITOR exiting"},
    {PROC_PAUSE_EXITING, "PAUSE exiting"},
};

static const struct ctl_bit proc2_required[] = {
    {PROC2_ENABLE_EPT, "enable EPT"},
    {PROC2_ENABLE_VPID, "enable VPID"},
    {PROC2_UNRESTRICTED_GUEST, "unrestricted guest"},
};
static const struct ctl_bit proc2_zero[] = {
    {PROC2_VIRTUALIZE_APIC_ACCESSES, "virtualize APIC accesses"},
    {PROC2_DESCRIPTOR_TABLE_EXITING, "descriptor-table exiting"},
    {PROC2_VIRTUALIZE_X2APIC, "virtualize x2APIC mode"},
    {PROC2_WBINVD_EXITING, "WBINVD exiting"},
    {PROC2_APIC_REGISTER_VIRT, "APIC-register virtualization"},
    {PROC2_VIRTUAL_INTR_DELIVERY, "virtual-interrupt delivery"},
    {PROC2_PAUSE_LOOP_EXITING, "PAUSE-loop exiting"},
    {PROC2_RDRAND_EXITING, "RDRAND exiting"},
    {PROC2_ENABLE_VMFUNC, "enable VM functions"},
    {PROC2_VMCS_SHADOWING, "VMCS shadowing"},
    {PROC2_ENCLS_EXITING, "ENCLS exiting"},
    {PROC2_RDSEED_EXITING, "RDSEED exiting"},
    {PROC2_ENABLE_PML, "enable PML"},
    {PROC2_EPT_VIOLATION_VE, "EPT-violation #VE"},
    {PROC2_MODE_BASED_EPT_EXEC, "mode-based execute control for EPT"},
    {PROC2_SUBPAGE_WRITE, "sub-page write permissions for EPT"},
    {PROC2_PT_USES_GPA, "Intel PT uses guest physical addresses"},
    {PROC2_TSC_SCALING, "use TSC scaling"},
    {PROC2_ENABLE_PCONFIG, "enable PCONFIG"},
    {PROC2_ENABLE_ENCLV_EXITING, "enable ENCLV exiting"},
};
/* Instructions that raise #UD in the guest unless their enable control is 1 while the CPU
 * (and so the guest's CPUID) has them (SDM 25.3 "Changes to instruction behavior"). */
#define PROC2_OPTIONAL                                                                             \
    (PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES |                            \
     PROC2_ENABLE_USER_WAIT_PAUSE | PROC2_CONCEAL_VMX_FROM_PT)

static const struct ctl_bit exit_required[] = {
    {EXIT_SAVE_DEBUG_CONTROLS, "save debug controls"},
    {EXIT_HOST_ADDR_SPACE_SIZE, "host address-space size"},
    {EXIT_SAVE_PAT, "save IA32_PAT"},
    {EXIT_LOAD_PAT, "load IA32_PAT"},
    {EXIT_SAVE_EFER, "save IA32_EFER"},
    {EXIT_LOAD_EFER, "load IA32_EFER"},
};
static const struct ctl_bit exit_zero[] = {
    {EXIT_LOAD_PERF_GLOBAL_CTRL, "load IA32_PERF_GLOBAL_CTRL"},
    {EXIT_ACK_INTERRUPT_ON_EXIT, "acknowledge interrupt on exit"},
    {EXIT_CLEAR_BNDCFGS, "clear IA32_BNDCFGS"},
};

static const struct ctl_bit entry_required_base[] = {
    {ENTRY_LOAD_DEBUG_CONTROLS, "load debug controls"},
    {ENTRY_LOAD_PAT, "load IA32_PAT"},
    {ENTRY_LOAD_EFER, "load IA32_EFER"},
};
static const struct ctl_bit entry_required_ia32e[] = {
    {ENTRY_LOAD_DEBUG_CONTROLS, "load debug controls"},
    {ENTRY_LOAD_PAT, "load IA32_PAT"},
    {ENTRY_LOAD_EFER, "load IA32_EFER"},
    {ENTRY_IA32E_MODE_GUEST, "IA-32e mode guest"},
};
static const struct ctl_bit entry_zero_base[] = {
    {ENTRY_SMM, "entry to SMM"},
    {ENTRY_DEACTIVATE_DUAL_MONITOR, "deactivate dual-monitor treatment"},
    {ENTRY_LOAD_PERF_GLOBAL_CTRL, "load IA32_PERF_GLOBAL_CTRL"},
    {ENTRY_LOAD_BNDCFGS, "load IA32_BNDCFGS"},
    {ENTRY_IA32E_MODE_GUEST, "IA-32e mode guest"}, /* last: dropped for IA-32e guests */
};

bool vmx_controls_compute(const struct vmx_cap_msrs *caps, const struct vmx_control_request *req,
                          struct vmx_controls *out, struct vmx_ctl_error *err) {
    struct vmx_controls c = {0};
    if (err) {
        err->status = VMX_CTL_OK;
        err->field = VMX_CTL_PIN;
        err->bit = 0;
        err->name = "";
    }
    if (caps->basic == 0)
        return set_err(err, VMX_CTL_NO_VMX, VMX_CTL_PIN, 0, "IA32_VMX_BASIC");

    struct ctl_spec pin = {VMX_CTL_PIN,
                           pin_required,
                           N(pin_required),
                           NULL,
                           0,
                           pin_zero,
                           N(pin_zero),
                           req->preemption_timer ? PIN_PREEMPTION_TIMER : 0};
    if (!compute_one(caps, &pin, &c.pin, err))
        return false;
    c.preemption_timer = (c.pin & PIN_PREEMPTION_TIMER) != 0;

    struct ctl_spec proc = {VMX_CTL_PROC,  proc_required, N(proc_required), proc_avail,
                            N(proc_avail), proc_zero,     N(proc_zero),     0};
    if (!compute_one(caps, &proc, &c.proc, err))
        return false;

    struct ctl_spec proc2 = {VMX_CTL_PROC2, proc2_required, N(proc2_required), NULL, 0,
                             proc2_zero,    N(proc2_zero),  PROC2_OPTIONAL};
    if (!compute_one(caps, &proc2, &c.proc2, err))
        return false;

    uint32_t exit_opt = 0;
    if (c.preemption_timer)
        exit_opt |= EXIT_SAVE_PREEMPTION_TIMER;
    if (c.proc2 & PROC2_CONCEAL_VMX_FROM_PT)
        exit_opt |= EXIT_CONCEAL_VMX_FROM_PT;
    struct ctl_spec exit = {VMX_CTL_EXIT, exit_required, N(exit_required), NULL, 0,
                            exit_zero,    N(exit_zero),  exit_opt};
    if (!compute_one(caps, &exit, &c.exit, err))
        return false;

    struct ctl_spec entry = {VMX_CTL_ENTRY,
                             req->guest_ia32e ? entry_required_ia32e : entry_required_base,
                             req->guest_ia32e ? N(entry_required_ia32e) : N(entry_required_base),
                             NULL,
                             0,
                             entry_zero_base,
                             req->guest_ia32e ? N(entry_zero_base) - 1 : N(entry_zero_base),
                             (c.proc2 & PROC2_CONCEAL_VMX_FROM_PT) ? ENTRY_CONCEAL_VMX_FROM_PT : 0};
    if (!compute_one(caps, &entry, &c.entry, err))
        return false;

    *out = c;
    return true;
}

enum vmx_fc_decision vmx_feature_control_decide(uint64_t current, uint64_t *to_write) {
    if (current & FEATURE_CONTROL_LOCK) {
        *to_write = current;
        return (current & FEATURE_CONTROL_VMX_OUTSIDE_SMX) ? VMX_FC_READY
                                                           : VMX_FC_DISABLED_BY_FIRMWARE;
    }
    *to_write = current | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
    return VMX_FC_WRITE;
}
