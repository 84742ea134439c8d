/* VT-x's implementation of the vCPU interface (hv/arch/vcpu.h), apart from the launch
 * (hv/arch/vmx/vmx_launch.c) and the exit routing (hv/arch/vmx/vmx_exit.c): the machine's
 * capabilities and tables, guest state, intercepts, event re-injection, the timer. Every access is
 * to the current VMCS of the calling processor. */
#include "hv/arch/vcpu.h"

#include "base/hw.h"
#include "base/lib.h"
#include "base/report.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"
#include "hv/arch/vmx/vmx_sipi.h"

/* Basic exit reasons (SDM appendix C) to vigil's exit kinds. */
static const uint8_t exit_kinds[] = {
    [EXIT_REASON_EXCEPTION_NMI] = VCPU_EXIT_EXCEPTION_NMI,
    [EXIT_REASON_EXTERNAL_INTERRUPT] = VCPU_EXIT_EXTERNAL_INTERRUPT,
    [EXIT_REASON_TRIPLE_FAULT] = VCPU_EXIT_TRIPLE_FAULT,
    [EXIT_REASON_INIT] = VCPU_EXIT_INIT,
    [EXIT_REASON_SIPI] = VCPU_EXIT_SIPI,
    [EXIT_REASON_IO_SMI] = VCPU_EXIT_IO_SMI,
    [EXIT_REASON_OTHER_SMI] = VCPU_EXIT_OTHER_SMI,
    [EXIT_REASON_INTERRUPT_WINDOW] = VCPU_EXIT_INTERRUPT_WINDOW,
    [EXIT_REASON_NMI_WINDOW] = VCPU_EXIT_NMI_WINDOW,
    [EXIT_REASON_TASK_SWITCH] = VCPU_EXIT_TASK_SWITCH,
    [EXIT_REASON_CPUID] = VCPU_EXIT_CPUID,
    [EXIT_REASON_GETSEC] = VCPU_EXIT_GETSEC,
    [EXIT_REASON_HLT] = VCPU_EXIT_HLT,
    [EXIT_REASON_INVD] = VCPU_EXIT_INVD,
    [EXIT_REASON_INVLPG] = VCPU_EXIT_INVLPG,
    [EXIT_REASON_RDPMC] = VCPU_EXIT_RDPMC,
    [EXIT_REASON_RDTSC] = VCPU_EXIT_RDTSC,
    [EXIT_REASON_RSM] = VCPU_EXIT_RSM,
    [EXIT_REASON_VMCALL] = VCPU_EXIT_VMCALL,
    [EXIT_REASON_VMCLEAR] = VCPU_EXIT_VMCLEAR,
    [EXIT_REASON_VMLAUNCH] = VCPU_EXIT_VMLAUNCH,
    [EXIT_REASON_VMPTRLD] = VCPU_EXIT_VMPTRLD,
    [EXIT_REASON_VMPTRST] = VCPU_EXIT_VMPTRST,
    [EXIT_REASON_VMREAD] = VCPU_EXIT_VMREAD,
    [EXIT_REASON_VMRESUME] = VCPU_EXIT_VMRESUME,
    [EXIT_REASON_VMWRITE] = VCPU_EXIT_VMWRITE,
    [EXIT_REASON_VMXOFF] = VCPU_EXIT_VMXOFF,
    [EXIT_REASON_VMXON] = VCPU_EXIT_VMXON,
    [EXIT_REASON_CR_ACCESS] = VCPU_EXIT_CR_ACCESS,
    [EXIT_REASON_DR_ACCESS] = VCPU_EXIT_DR_ACCESS,
    [EXIT_REASON_IO] = VCPU_EXIT_IO,
    [EXIT_REASON_RDMSR] = VCPU_EXIT_RDMSR,
    [EXIT_REASON_WRMSR] = VCPU_EXIT_WRMSR,
    [EXIT_REASON_ENTRY_FAIL_GUEST] = VCPU_EXIT_ENTRY_FAIL_GUEST,
    [EXIT_REASON_ENTRY_FAIL_MSR] = VCPU_EXIT_ENTRY_FAIL_MSR,
    [EXIT_REASON_MWAIT] = VCPU_EXIT_MWAIT,
    [EXIT_REASON_MTF] = VCPU_EXIT_SINGLE_STEP,
    [EXIT_REASON_MONITOR] = VCPU_EXIT_MONITOR,
    [EXIT_REASON_PAUSE] = VCPU_EXIT_PAUSE,
    [EXIT_REASON_ENTRY_FAIL_MCE] = VCPU_EXIT_ENTRY_FAIL_MCE,
    [EXIT_REASON_TPR_BELOW_THRESHOLD] = VCPU_EXIT_TPR_BELOW_THRESHOLD,
    [EXIT_REASON_APIC_ACCESS] = VCPU_EXIT_APIC_ACCESS,
    [EXIT_REASON_VIRTUALIZED_EOI] = VCPU_EXIT_VIRTUALIZED_EOI,
    [EXIT_REASON_GDTR_IDTR] = VCPU_EXIT_GDTR_IDTR,
    [EXIT_REASON_LDTR_TR] = VCPU_EXIT_LDTR_TR,
    [EXIT_REASON_EPT_VIOLATION] = VCPU_EXIT_NPT_VIOLATION,
    [EXIT_REASON_EPT_MISCONFIG] = VCPU_EXIT_NPT_MISCONFIG,
    [EXIT_REASON_INVEPT] = VCPU_EXIT_INVEPT,
    [EXIT_REASON_RDTSCP] = VCPU_EXIT_RDTSCP,
    [EXIT_REASON_PREEMPTION_TIMER] = VCPU_EXIT_TIMER,
    [EXIT_REASON_INVVPID] = VCPU_EXIT_INVVPID,
    [EXIT_REASON_WBINVD] = VCPU_EXIT_WBINVD,
    [EXIT_REASON_XSETBV] = VCPU_EXIT_XSETBV,
    [EXIT_REASON_APIC_WRITE] = VCPU_EXIT_APIC_WRITE,
    [EXIT_REASON_RDRAND] = VCPU_EXIT_RDRAND,
    [EXIT_REASON_INVPCID] = VCPU_EXIT_INVPCID,
    [EXIT_REASON_VMFUNC] = VCPU_EXIT_VMFUNC,
    [EXIT_REASON_ENCLS] = VCPU_EXIT_ENCLS,
    [EXIT_REASON_RDSEED] = VCPU_EXIT_RDSEED,
    [EXIT_REASON_PML_FULL] = VCPU_EXIT_PML_FULL,
    [EXIT_REASON_XSAVES] = VCPU_EXIT_XSAVES,
    [EXIT_REASON_XRSTORS] = VCPU_EXIT_XRSTORS,
    [EXIT_REASON_UMWAIT] = VCPU_EXIT_UMWAIT,
    [EXIT_REASON_TPAUSE] = VCPU_EXIT_TPAUSE,
};

enum vcpu_exit vmx_exit_kind(uint32_t basic) {
    if (basic < ARRAY_SIZE(exit_kinds) && (basic == EXIT_REASON_EXCEPTION_NMI || exit_kinds[basic]))
        return (enum vcpu_exit)exit_kinds[basic];
    return VCPU_EXIT_UNKNOWN;
}

enum vcpu_exit vcpu_exit_kind(const struct vcpu *v) {
    (void)v;
    return vmx_exit_kind(EXIT_REASON_BASIC((uint32_t)hw_vmread(VMCS_EXIT_REASON)));
}

/* ---------------------------------------------------------------- the machine */

int vcpu_machine_init(struct vcpu_machine *m, void *(*page)(void *ctx), void *ctx,
                      uint16_t report_port, uint64_t tsc_hz) {
    struct cpuid_regs r;
    hw_cpuid(1, 0, &r);
    if (!(r.ecx & CPUID_1_ECX_VMX))
        return VCPU_ERR_NO_VT;
    vmx_cap_msrs_read(&m->caps);
    /* The VMX-preemption timer counts down at the TSC rate divided by 2^IA32_VMX_MISC[4:0]
     * (SDM 25.5.1); the reload is about a second of it. */
    m->timer_shift = (uint32_t)(m->caps.misc & 0x1F);
    uint64_t reload = tsc_hz >> m->timer_shift;
    m->timer_reload = reload > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)reload;
    m->msr_bitmap = page(ctx);
    m->io_bitmap_a = page(ctx);
    m->io_bitmap_b = page(ctx);
    if (!m->msr_bitmap || !m->io_bitmap_a || !m->io_bitmap_b)
        return VCPU_ERR_CONTROL_AREA;
    vmexit_msr_bitmap_build(m->msr_bitmap);
    vmexit_io_bitmap_build(m->io_bitmap_a, m->io_bitmap_b, report_port);
    return 0;
}

void vcpu_machine_intercept_msr(struct vcpu_machine *m, uint32_t msr, bool read, bool write) {
    if (read)
        vmexit_msr_bitmap_set(m->msr_bitmap, msr, false, true);
    if (write)
        vmexit_msr_bitmap_set(m->msr_bitmap, msr, true, true);
}

uint64_t vcpu_machine_npt_caps(const struct vcpu_machine *m) {
    return m->caps.ept_vpid;
}

void vcpu_machine_set_npt_root(struct vcpu_machine *m, uint64_t root) {
    m->eptp = root;
}

bool vcpu_machine_has_single_step(const struct vcpu_machine *m) {
    /* Monitor trap flag: allowed-1 bit 27 of the (TRUE_)PROCBASED_CTLS (SDM A.3.2). */
    uint64_t procs = (m->caps.basic >> 55) & 1 ? m->caps.true_proc : m->caps.proc;
    return ((procs >> 32) & PROC_MONITOR_TRAP_FLAG) != 0;
}

uint32_t vcpu_machine_timer_reload(const struct vcpu_machine *m) {
    return m->timer_reload;
}

/* ---------------------------------------------------------------- exits */

void vcpu_sipi_entry_fixup(struct vcpu *v) {
    (void)v;
    vmx_sipi_clear_smi_blocking();
}

void vcpu_prepare_entry(struct vcpu *v) {
    vmexit_nmi_prepare_entry(v);
}

/* While report bytes wait, this CPU's VMX-preemption timer is shortened to the time given, so the
 * report pump runs often enough even when the guest makes no other exits; otherwise it keeps the
 * heartbeat's reload (SDM 25.5.1). With "save VMX-preemption timer value" the field counts down
 * across entries and is only shortened; without it each entry restarts from the field, which is
 * set to the value wanted. */
void vcpu_timer_drain(struct vcpu *v, bool fast, uint64_t tsc_ticks) {
    if (!(v->arch.pin_ctls & PIN_PREEMPTION_TIMER))
        return;
    uint64_t t = tsc_ticks >> v->arch.machine->timer_shift;
    uint32_t reload = v->arch.preemption_timer_reload;
    uint32_t tick = t == 0 ? 1 : t > reload ? reload : (uint32_t)t;
    if (v->arch.exit_ctls & EXIT_SAVE_PREEMPTION_TIMER) {
        if (fast && hw_vmread(VMCS_PREEMPTION_TIMER_VALUE) > tick)
            hw_vmwrite(VMCS_PREEMPTION_TIMER_VALUE, tick);
    } else if (fast != v->arch.timer_fast) {
        hw_vmwrite(VMCS_PREEMPTION_TIMER_VALUE, fast ? tick : reload);
    }
    v->arch.timer_fast = fast;
}

/* A zero VMX-preemption timer exits before any guest instruction (SDM 26.7.4). */
void vcpu_timer_expire_now(void) {
    hw_vmwrite(VMCS_PREEMPTION_TIMER_VALUE, 0);
}

void vcpu_dump(struct report *r, const char *why, const struct vcpu *v,
               const struct guest_regs *g) {
    vmx_guest_dump(r, why, v, g);
}

void vcpu_report_setup(struct report *r, const struct vcpu *v) {
    report_u64(r, "vpid", v->arch.vpid);
    report_bool(r, "ept", (v->arch.proc2_ctls & PROC2_ENABLE_EPT) != 0);
    report_bool(r, "unrestricted_guest", v->arch.unrestricted_guest);
    report_bool(r, "preemption_timer", (v->arch.pin_ctls & PIN_PREEMPTION_TIMER) != 0);
    report_obj_begin(r, "controls");
    report_hex(r, "pin", v->arch.pin_ctls);
    report_hex(r, "proc", v->arch.proc_ctls);
    report_hex(r, "proc2", v->arch.proc2_ctls);
    report_hex(r, "exit", v->arch.exit_ctls);
    report_hex(r, "entry", v->arch.entry_ctls);
    report_obj_end(r);
}

/* ---------------------------------------------------------------- guest state */

uint64_t vcpu_rip(const struct vcpu *v) {
    (void)v;
    return hw_vmread(VMCS_GUEST_RIP);
}

void vcpu_set_rip(struct vcpu *v, uint64_t rip) {
    (void)v;
    hw_vmwrite(VMCS_GUEST_RIP, rip);
}

void vcpu_advance_rip(struct vcpu *v) {
    (void)v;
    vmx_guest_advance_rip();
}

void vcpu_read_sysregs(const struct vcpu *v, struct vcpu_sysregs *s) {
    (void)v;
    lib_memset(s, 0, sizeof(*s));
    s->rip = hw_vmread(VMCS_GUEST_RIP);
    s->rsp = hw_vmread(VMCS_GUEST_RSP);
    s->cr0 = hw_vmread(VMCS_GUEST_CR0);
    s->cr3 = hw_vmread(VMCS_GUEST_CR3);
    s->cr4 = hw_vmread(VMCS_GUEST_CR4);
    s->efer = hw_vmread(VMCS_GUEST_EFER);
    s->gs_base = hw_vmread(VMCS_GUEST_GS_BASE);
    s->idtr_base = hw_vmread(VMCS_GUEST_IDTR_BASE);
    s->idtr_limit = (uint16_t)hw_vmread(VMCS_GUEST_IDTR_LIMIT);
    s->cs_base = hw_vmread(VMCS_GUEST_CS_BASE);
    uint64_t ar = hw_vmread(VMCS_GUEST_CS_AR);
    s->cs_long = (ar & AR_L) != 0;
    s->cs_db = (ar & AR_DB) != 0;
}

/* The exception bitmap: bit n set makes exception n exit (SDM 25.2). */
void vcpu_intercept_exception(struct vcpu *v, unsigned vector, bool on) {
    (void)v;
    if (vector > 31)
        return;
    uint64_t bm = hw_vmread(VMCS_EXCEPTION_BITMAP);
    hw_vmwrite(VMCS_EXCEPTION_BITMAP, on ? bm | (1u << vector) : bm & ~(1ull << vector));
}

/* A software exception is re-injected with the exiting instruction's length, so that the guest's
 * handler sees the return address after it (SDM 26.6.1.1, 24.8.3). */
void vcpu_reinject_soft_exception(struct vcpu *v, unsigned vector) {
    (void)v;
    hw_vmwrite(VMCS_ENTRY_INTR_INFO,
               INTR_INFO_VALID | (INTR_TYPE_SW_EXCEPTION << 8) | (vector & 0xFFu));
    hw_vmwrite(VMCS_ENTRY_INSTR_LEN, hw_vmread(VMCS_EXIT_INSTR_LEN));
}

void vcpu_init_state(struct vcpu *v, struct guest_regs *g) {
    vmx_sipi_write_init_state(v, g);
}

void vcpu_start_at_sipi(struct vcpu *v, uint8_t vector) {
    vmx_sipi_write_start_state(v, vector);
}
