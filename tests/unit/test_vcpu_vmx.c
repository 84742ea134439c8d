/* The VT-x backend of the vCPU interface (hv/arch/vcpu.h) over the fake VMCS: exit kinds and their
 * names, the exit routing to the core's callbacks (struct vcpu_ops), guest state, intercepts,
 * re-injection and the drain timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/test_vmexit_util.h"

#include "hv/arch/vmx/vmx_guest.h"

static int nmi_calls, bp_calls, init_calls, sipi_calls, wrmsr_calls, hypercalls;
static bool nmi_mine, bp_handled;
static uint32_t last_msr;
static uint64_t last_msr_value;

static bool t_nmi(struct vcpu *v) {
    (void)v;
    nmi_calls++;
    return nmi_mine;
}
static bool t_bp(struct vcpu *v, struct guest_regs *g) {
    (void)v;
    (void)g;
    bp_calls++;
    return bp_handled;
}
static void t_init(struct vcpu *v) {
    (void)v;
    init_calls++;
}
static void t_sipi(struct vcpu *v) {
    (void)v;
    sipi_calls++;
}
static bool t_wrmsr(struct vcpu *v, uint32_t msr, uint64_t value) {
    (void)v;
    wrmsr_calls++;
    last_msr = msr;
    last_msr_value = value;
    return msr == MSR_X2APIC_ICR;
}
static bool t_hypercall(struct vcpu *v, struct guest_regs *g) {
    hypercalls++;
    if ((uint32_t)g->rax != 0x56494701u)
        return false;
    vcpu_advance_rip(v);
    return true;
}

static const struct vcpu_ops ops = {
    .hypercall = t_hypercall,
    .nmi = t_nmi,
    .breakpoint = t_bp,
    .init_taken = t_init,
    .sipi_taken = t_sipi,
    .msr_write = t_wrmsr,
};

static struct vcpu v;
static struct guest_regs g;

static int setup(void **state) {
    (void)state;
    t_vcpu_init(&v);
    t_guest_64(&v);
    v.ops = &ops;
    memset(&g, 0, sizeof(g));
    nmi_calls = bp_calls = init_calls = sipi_calls = wrmsr_calls = hypercalls = 0;
    nmi_mine = bp_handled = false;
    fake_nmi_unblocks = 0;
    return 0;
}

static uint64_t vmcs(uint64_t field) {
    uint64_t x = 0;
    assert_true(fake_get_vmcs(field, &x));
    return x;
}

/* Every basic reason vigil names keeps its name through the kind; others are unknown. */
static void exit_kinds_and_names(void **state) {
    (void)state;
    assert_int_equal(vmx_exit_kind(EXIT_REASON_EXCEPTION_NMI), VCPU_EXIT_EXCEPTION_NMI);
    assert_int_equal(vmx_exit_kind(EXIT_REASON_CPUID), VCPU_EXIT_CPUID);
    assert_int_equal(vmx_exit_kind(EXIT_REASON_EPT_VIOLATION), VCPU_EXIT_NPT_VIOLATION);
    assert_int_equal(vmx_exit_kind(EXIT_REASON_MTF), VCPU_EXIT_SINGLE_STEP);
    assert_int_equal(vmx_exit_kind(EXIT_REASON_PREEMPTION_TIMER), VCPU_EXIT_TIMER);
    assert_int_equal(vmx_exit_kind(EXIT_REASON_TPAUSE), VCPU_EXIT_TPAUSE);
    assert_int_equal(vmx_exit_kind(35), VCPU_EXIT_UNKNOWN); /* no basic reason 35 */
    assert_int_equal(vmx_exit_kind(EXIT_REASON_MAX), VCPU_EXIT_UNKNOWN);
    assert_int_equal(vmx_exit_kind(0xFFFF), VCPU_EXIT_UNKNOWN);
    assert_string_equal(vcpu_exit_name(VCPU_EXIT_TIMER), "VMX-preemption timer expired");
    assert_string_equal(vcpu_exit_name(VCPU_EXIT_NPT_VIOLATION), "EPT violation");
    assert_string_equal(vcpu_exit_name(VCPU_EXIT_CPUID), "CPUID");
    assert_string_equal(vcpu_exit_name(VCPU_EXIT_UNKNOWN), "?");
    assert_string_equal(vcpu_exit_name(VCPU_EXIT_COUNT + 7), "?");
    /* Every kind but UNKNOWN has a name, and one basic reason maps to it. */
    for (unsigned k = 0; k < VCPU_EXIT_UNKNOWN; k++) {
        assert_string_not_equal(vcpu_exit_name(k), "?");
        unsigned found = 0;
        for (uint32_t r = 0; r <= EXIT_REASON_MAX; r++)
            found += vmx_exit_kind(r) == (enum vcpu_exit)k;
        assert_int_equal(found, 1);
    }
    t_exit(EXIT_REASON_XSETBV, 0, 0x1000, 3);
    assert_int_equal(vcpu_exit_kind(&v), VCPU_EXIT_XSETBV);
}

/* An x2APIC ICR write is the core's: consumed, RIP past the WRMSR; any other MSR goes on to the
 * backend's handler. */
static void wrmsr_routes_to_the_core(void **state) {
    (void)state;
    t_exit(EXIT_REASON_WRMSR, 0, 0x2000, 2);
    g.rcx = MSR_X2APIC_ICR;
    g.rdx = 3;
    g.rax = 0x4500;
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(wrmsr_calls, 1);
    assert_int_equal(last_msr, MSR_X2APIC_ICR);
    assert_int_equal(last_msr_value, 0x300004500ull);
    assert_int_equal(vmcs(VMCS_GUEST_RIP), 0x2002);

    t_exit(EXIT_REASON_WRMSR, 0, 0x3000, 2);
    g.rcx = MSR_IA32_SYSENTER_CS;
    g.rdx = 0;
    g.rax = 0x10;
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(wrmsr_calls, 2);
    uint64_t msr = 0;
    assert_true(fake_get_msr(MSR_IA32_SYSENTER_CS, &msr)); /* the handler forwarded it */
    assert_int_equal(msr, 0x10);
}

/* NMI exits: the core says whether the NMI was vigil's; NMIs are unblocked either way. */
static void nmi_goes_to_the_core_first(void **state) {
    (void)state;
    t_exit(EXIT_REASON_EXCEPTION_NMI, 0, 0x4000, 0);
    fake_set_vmcs(VMCS_EXIT_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | VEC_NMI);
    nmi_mine = true;
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(nmi_calls, 1);
    assert_int_equal(fake_nmi_unblocks, 1);
    assert_int_equal(v.nmi_pending, 0); /* not queued for the guest */

    nmi_mine = false;
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(nmi_calls, 2);
    assert_int_equal(fake_nmi_unblocks, 2);
    assert_int_equal(v.nmi_pending, 1); /* the guest's: queued */
}

/* #BP from INT3 goes to the core; one it does not take is a fatal unhandled exception (nothing
 * else is intercepted). */
static void breakpoint_goes_to_the_core(void **state) {
    (void)state;
    t_exit(EXIT_REASON_EXCEPTION_NMI, 0, 0x5000, 1);
    fake_set_vmcs(VMCS_EXIT_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_SW_EXCEPTION << 8) | VEC_BP);
    bp_handled = true;
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(bp_calls, 1);
    assert_int_equal(nmi_calls, 0);
}

static void init_and_sipi_tell_the_core(void **state) {
    (void)state;
    t_exit(EXIT_REASON_INIT, 0, 0x6000, 0);
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(init_calls, 1);
    assert_int_equal(v.sipi_state, VCPU_WAIT_FOR_SIPI);
    t_exit(EXIT_REASON_SIPI, 0x9A, 0, 0);
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(sipi_calls, 1);
    assert_int_equal(v.sipi_state, VCPU_RUNNING);
    assert_int_equal(vmcs(VMCS_GUEST_CS_BASE), 0x9A000);
}

/* A hypervisor call is the core's; an ordinary CPUID goes to the backend's handler. */
static void cpuid_hypercall(void **state) {
    (void)state;
    t_exit(EXIT_REASON_CPUID, 0, 0x7000, 2);
    g.rax = 0x56494701u;
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(hypercalls, 1);
    assert_int_equal(vmcs(VMCS_GUEST_RIP), 0x7002);
    fake_set_cpuid(0, 0, 0xD, 0x756e6547, 0x6c65746e, 0x49656e69);
    t_exit(EXIT_REASON_CPUID, 0, 0x7000, 2);
    g.rax = 0;
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_RESUME);
    assert_int_equal(hypercalls, 2);
    assert_int_equal(g.rbx, 0x756e6547);
}

/* A nested-paging violation without the core's callback is fatal, never resumed. */
static void npt_violation_without_core_parks(void **state) {
    (void)state;
    static const struct vcpu_ops none = {0};
    v.ops = &none;
    t_exit(EXIT_REASON_EPT_VIOLATION, 0, 0x8000, 0);
    assert_int_equal(vcpu_handle_exit(&v, &g), VMEXIT_PARK);
}

static void guest_state_and_intercepts(void **state) {
    (void)state;
    fake_set_vmcs(VMCS_GUEST_GS_BASE, 0xffff888000001000ull);
    fake_set_vmcs(VMCS_GUEST_IDTR_BASE, 0xfffffe0000000000ull);
    fake_set_vmcs(VMCS_GUEST_IDTR_LIMIT, 0xfff);
    fake_set_vmcs(VMCS_GUEST_RSP, 0x1234);
    fake_set_vmcs(VMCS_GUEST_CS_BASE, 0);
    vcpu_set_rip(&v, 0xffffffff81000000ull);
    struct vcpu_sysregs s;
    vcpu_read_sysregs(&v, &s);
    assert_int_equal(s.rip, 0xffffffff81000000ull);
    assert_int_equal(s.rsp, 0x1234);
    assert_int_equal(s.gs_base, 0xffff888000001000ull);
    assert_int_equal(s.idtr_base, 0xfffffe0000000000ull);
    assert_int_equal(s.idtr_limit, 0xfff);
    assert_int_equal(s.cr3, 0x1000);
    assert_true(s.efer & EFER_LMA);
    assert_true(s.cs_long);
    assert_false(s.cs_db);
    assert_int_equal(vcpu_rip(&v), 0xffffffff81000000ull);

    fake_set_vmcs(VMCS_EXCEPTION_BITMAP, 1u << VEC_MC);
    vcpu_intercept_exception(&v, VEC_BP, true);
    assert_int_equal(vmcs(VMCS_EXCEPTION_BITMAP), (1u << VEC_MC) | (1u << VEC_BP));
    vcpu_intercept_exception(&v, VEC_BP, false);
    assert_int_equal(vmcs(VMCS_EXCEPTION_BITMAP), 1u << VEC_MC);
    vcpu_intercept_exception(&v, 40, true); /* no such vector: nothing */
    assert_int_equal(vmcs(VMCS_EXCEPTION_BITMAP), 1u << VEC_MC);

    fake_set_vmcs(VMCS_EXIT_INSTR_LEN, 1);
    vcpu_reinject_soft_exception(&v, VEC_BP);
    assert_int_equal(vmcs(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | (INTR_TYPE_SW_EXCEPTION << 8) | VEC_BP);
    assert_int_equal(vmcs(VMCS_ENTRY_INSTR_LEN), 1);
}

/* The drain timer: with "save timer value" it only ever shortens the running count; without, it
 * writes the short value once and the reload when the backlog is gone. */
static void drain_timer(void **state) {
    (void)state;
    struct vcpu_machine m = {.timer_shift = 5, .timer_reload = 100000};
    v.arch.machine = &m;
    v.arch.pin_ctls = PIN_PREEMPTION_TIMER;
    v.arch.preemption_timer_reload = m.timer_reload;
    v.arch.exit_ctls = EXIT_SAVE_PREEMPTION_TIMER;
    fake_set_vmcs(VMCS_PREEMPTION_TIMER_VALUE, 50000);
    vcpu_timer_drain(&v, true, 32 * 100); /* 100 timer ticks */
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 100);
    fake_set_vmcs(VMCS_PREEMPTION_TIMER_VALUE, 20);
    vcpu_timer_drain(&v, true, 32 * 100);
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 20); /* never lengthened */
    vcpu_timer_drain(&v, false, 32 * 100);
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 20);

    v.arch.exit_ctls = 0;
    v.arch.timer_fast = false;
    vcpu_timer_drain(&v, true, 0); /* at least one tick */
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 1);
    fake_set_vmcs(VMCS_PREEMPTION_TIMER_VALUE, 77);
    vcpu_timer_drain(&v, true, 0); /* already fast: left alone */
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 77);
    vcpu_timer_drain(&v, false, 0);
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 100000);
    vcpu_timer_drain(&v, true, 32ull * 1000000); /* longer than the reload: the reload */
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 100000);

    v.arch.pin_ctls = 0; /* no timer: nothing written */
    fake_set_vmcs(VMCS_PREEMPTION_TIMER_VALUE, 5);
    vcpu_timer_drain(&v, false, 0);
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 5);
    vcpu_timer_expire_now();
    assert_int_equal(vmcs(VMCS_PREEMPTION_TIMER_VALUE), 0);
}

/* The machine: the MSR intercepts the core asks for, the single-step capability. */
static void machine_intercepts(void **state) {
    (void)state;
    static uint8_t pages[3][4096];
    static unsigned next;
    next = 0;
    struct vcpu_machine m;
    memset(&m, 0, sizeof(m));
    fake_set_cpuid(1, 0, 0, 0, 0, 0); /* no VMX */
    assert_int_equal(vcpu_machine_init(&m, NULL, NULL, 0x3F8, 1000000000ull), VCPU_ERR_NO_VT);
    (void)pages;
    (void)next;
    m.msr_bitmap = pages[0];
    memset(pages[0], 0, sizeof(pages[0]));
    vcpu_machine_intercept_msr(&m, MSR_X2APIC_ICR, false, true);
    assert_true(vmexit_msr_bitmap_intercepts(m.msr_bitmap, MSR_X2APIC_ICR, true));
    assert_false(vmexit_msr_bitmap_intercepts(m.msr_bitmap, MSR_X2APIC_ICR, false));
    vcpu_machine_intercept_msr(&m, 0x1B, true, false);
    assert_true(vmexit_msr_bitmap_intercepts(m.msr_bitmap, 0x1B, false));
    assert_false(vmexit_msr_bitmap_intercepts(m.msr_bitmap, 0x1B, true));
    m.caps.basic = 1ull << 55;
    m.caps.true_proc = (uint64_t)PROC_MONITOR_TRAP_FLAG << 32;
    assert_true(vcpu_machine_has_single_step(&m));
    m.caps.true_proc = 0;
    m.caps.proc = (uint64_t)PROC_MONITOR_TRAP_FLAG << 32; /* not the one that counts */
    assert_false(vcpu_machine_has_single_step(&m));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(exit_kinds_and_names, setup),
        cmocka_unit_test_setup(wrmsr_routes_to_the_core, setup),
        cmocka_unit_test_setup(nmi_goes_to_the_core_first, setup),
        cmocka_unit_test_setup(breakpoint_goes_to_the_core, setup),
        cmocka_unit_test_setup(init_and_sipi_tell_the_core, setup),
        cmocka_unit_test_setup(cpuid_hypercall, setup),
        cmocka_unit_test_setup(npt_violation_without_core_parks, setup),
        cmocka_unit_test_setup(guest_state_and_intercepts, setup),
        cmocka_unit_test_setup(drain_timer, setup),
        cmocka_unit_test_setup(machine_intercepts, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
