/* Control computation from captured capability MSRs (Bochs 2.7 haswell, Core i7-9750H). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hv/arch/vmx/vmx_controls.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "tests/fakes/hw_fake.h"
#include "tests/unit/test_vmx_capsdata.h"

static const struct vmx_control_request REQ64 = {.guest_ia32e = true, .preemption_timer = true};

static void load(const char *name, struct vmx_cap_msrs *c) {
    int n = caps_load(name, c, NULL);
    assert_int_equal(n, 19);
}

static void test_bochs_haswell(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    struct vmx_controls out;
    struct vmx_ctl_error err;
    assert_true(vmx_controls_compute(&c, &REQ64, &out, &err));
    assert_int_equal(err.status, VMX_CTL_OK);
    /* default1 bits 1,2,4 + NMI exiting + virtual NMIs + preemption timer */
    assert_int_equal(out.pin, 0x7E);
    assert_true(out.preemption_timer);
    /* TRUE allowed-0 0x04006172 (CR3 exiting may be 0) + MSR/IO bitmaps + secondary */
    assert_int_equal(out.proc, 0x96006172);
    assert_int_equal(out.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING), 0);
    assert_int_equal(out.proc & PROC_NMI_WINDOW_EXITING, 0);
    /* EPT, VPID, UG + RDTSCP + INVPCID; Bochs haswell has no XSAVES */
    assert_int_equal(out.proc2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST |
                                    PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID);
    assert_int_equal(out.proc2, 0x10AA);
    assert_int_equal(out.exit, 0x7F6FFF);
    assert_int_equal(out.entry, 0xD3FF);
}

static void test_i7_9750h(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_I7_9750H, &c);
    struct vmx_controls out;
    struct vmx_ctl_error err;
    assert_true(vmx_controls_compute(&c, &REQ64, &out, &err));
    assert_int_equal(out.pin, 0x7E);
    assert_int_equal(out.proc, 0x96006172);
    /* + XSAVES/XRSTORS and conceal VMX from PT, which this CPU has */
    assert_int_equal(out.proc2, 0x1810AA);
    assert_true(out.proc2 & PROC2_ENABLE_XSAVES);
    assert_int_equal(out.exit, 0x17F6FFF);
    assert_true(out.exit & EXIT_CONCEAL_VMX_FROM_PT);
    assert_int_equal(out.entry, 0x2D3FF);
    assert_true(out.entry & ENTRY_CONCEAL_VMX_FROM_PT);
}

static void test_non_ia32e_guest_and_no_timer(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    struct vmx_control_request req = {.guest_ia32e = false, .preemption_timer = false};
    struct vmx_controls out;
    assert_true(vmx_controls_compute(&c, &req, &out, NULL));
    assert_int_equal(out.entry & ENTRY_IA32E_MODE_GUEST, 0);
    assert_int_equal(out.entry, 0xD1FF);
    assert_int_equal(out.pin, 0x3E);
    assert_false(out.preemption_timer);
    assert_int_equal(out.exit & EXIT_SAVE_PREEMPTION_TIMER, 0);
}

static void test_timer_unavailable_is_not_fatal(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.true_pin &= ~((uint64_t)PIN_PREEMPTION_TIMER << 32);
    c.pin &= ~((uint64_t)PIN_PREEMPTION_TIMER << 32);
    struct vmx_controls out;
    assert_true(vmx_controls_compute(&c, &REQ64, &out, NULL));
    assert_false(out.preemption_timer);
    assert_int_equal(out.pin, 0x3E);
    assert_int_equal(out.exit & EXIT_SAVE_PREEMPTION_TIMER, 0);
}

static void expect_error(struct vmx_cap_msrs *c, enum vmx_ctl_status st, enum vmx_ctl_field f,
                         uint32_t bit, const char *name) {
    struct vmx_controls out = {0};
    struct vmx_ctl_error err;
    assert_false(vmx_controls_compute(c, &REQ64, &out, &err));
    assert_int_equal(err.status, st);
    assert_int_equal(err.field, f);
    assert_int_equal(err.bit, bit);
    assert_string_equal(err.name, name);
    assert_int_equal(out.proc, 0); /* nothing written on failure */
}

static void test_missing_unrestricted_guest(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.proc2 &= ~((uint64_t)PROC2_UNRESTRICTED_GUEST << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_PROC2, PROC2_UNRESTRICTED_GUEST,
                 "unrestricted guest");
}

static void test_missing_ept_vpid(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_I7_9750H, &c);
    c.proc2 &= ~((uint64_t)PROC2_ENABLE_EPT << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_PROC2, PROC2_ENABLE_EPT, "enable EPT");
    load(CAPS_I7_9750H, &c);
    c.proc2 &= ~((uint64_t)PROC2_ENABLE_VPID << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_PROC2, PROC2_ENABLE_VPID, "enable VPID");
}

static void test_no_secondary_controls(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.true_proc &= ~((uint64_t)PROC_ACTIVATE_SECONDARY << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_PROC, PROC_ACTIVATE_SECONDARY,
                 "activate secondary controls");
}

static void test_missing_virtual_nmis_and_nmi_window(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.true_pin &= ~((uint64_t)PIN_VIRTUAL_NMIS << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_PIN, PIN_VIRTUAL_NMIS, "virtual NMIs");
    load(CAPS_BOCHS, &c);
    c.true_proc &= ~((uint64_t)PROC_NMI_WINDOW_EXITING << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_PROC, PROC_NMI_WINDOW_EXITING,
                 "NMI-window exiting");
}

static void test_missing_exit_and_entry_controls(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.true_exit &= ~((uint64_t)EXIT_LOAD_EFER << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_EXIT, EXIT_LOAD_EFER, "load IA32_EFER");
    load(CAPS_BOCHS, &c);
    c.true_entry &= ~((uint64_t)ENTRY_IA32E_MODE_GUEST << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_ENTRY, ENTRY_IA32E_MODE_GUEST,
                 "IA-32e mode guest");
    load(CAPS_BOCHS, &c);
    c.true_entry &= ~((uint64_t)ENTRY_LOAD_PAT << 32);
    expect_error(&c, VMX_CTL_REQUIRED_NOT_ALLOWED, VMX_CTL_ENTRY, ENTRY_LOAD_PAT, "load IA32_PAT");
}

/* Without BASIC[55] the legacy MSRs rule: CR3-load exiting is then forced to 1 (default1 class
 * with no TRUE MSR to lift it), which vigil refuses with a clear error. */
static void test_legacy_msrs_force_cr3_exiting(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.basic &= ~VMX_BASIC_TRUE_CTLS;
    expect_error(&c, VMX_CTL_FORBIDDEN_FORCED, VMX_CTL_PROC, PROC_CR3_LOAD_EXITING,
                 "CR3-load exiting");
    /* and the TRUE MSRs are ignored then, even if they hold values */
    assert_int_equal(vmx_controls_cap_for(&c, VMX_CTL_PROC), c.proc);
    c.basic |= VMX_BASIC_TRUE_CTLS;
    assert_int_equal(vmx_controls_cap_for(&c, VMX_CTL_PROC), c.true_proc);
}

/* Legacy MSRs where default1 bits 2 of exit/entry are 1 are fine: they are wanted anyway. */
static void test_legacy_pin_exit_entry_ok(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.basic &= ~VMX_BASIC_TRUE_CTLS;
    c.proc = c.true_proc; /* a CPU whose legacy proc MSR does not force CR3 exiting */
    struct vmx_controls out;
    assert_true(vmx_controls_compute(&c, &REQ64, &out, NULL));
    assert_int_equal(out.exit, 0x7F6FFF);
    assert_int_equal(out.entry, 0xD3FF);
}

static void test_forced_hlt_exiting_refused(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.true_proc |= PROC_HLT_EXITING; /* allowed-0 = 1: must be 1 */
    expect_error(&c, VMX_CTL_FORBIDDEN_FORCED, VMX_CTL_PROC, PROC_HLT_EXITING, "HLT exiting");
}

static void test_inconsistent_msr(void **state) {
    (void)state;
    struct vmx_cap_msrs c;
    load(CAPS_BOCHS, &c);
    c.true_pin |= 1u << 8; /* allowed-0 bit 8 with allowed-1 bit 8 clear */
    struct vmx_ctl_error err;
    struct vmx_controls out;
    assert_false(vmx_controls_compute(&c, &REQ64, &out, &err));
    assert_int_equal(err.status, VMX_CTL_INCONSISTENT_MSR);
    assert_int_equal(err.field, VMX_CTL_PIN);
    assert_int_equal(err.bit, 1u << 8);
}

static void test_no_vmx(void **state) {
    (void)state;
    struct vmx_cap_msrs c = {0};
    struct vmx_ctl_error err;
    struct vmx_controls out;
    assert_false(vmx_controls_compute(&c, &REQ64, &out, &err));
    assert_int_equal(err.status, VMX_CTL_NO_VMX);
    assert_non_null(vmx_ctl_status_str(err.status));
}

static void test_names(void **state) {
    (void)state;
    assert_string_equal(vmx_ctl_field_name(VMX_CTL_PROC2),
                        "secondary processor-based VM-execution controls");
    assert_string_equal(vmx_ctl_status_str(VMX_CTL_REQUIRED_NOT_ALLOWED),
                        "required control not supported (allowed-1 setting is 0)");
}

/* vmx_cap_msrs_read reads the optional MSRs only when they exist. */
static void test_cap_read(void **state) {
    (void)state;
    struct vmx_cap_msrs want, got;
    load(CAPS_BOCHS, &want);
    fake_reset();
    const uint32_t idx[] = {0x480, 0x481, 0x482, 0x483, 0x484, 0x485, 0x486, 0x487, 0x488,
                            0x489, 0x48A, 0x48B, 0x48C, 0x48D, 0x48E, 0x48F, 0x490, 0x491};
    const uint64_t *vals = &want.basic;
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        fake_set_msr(idx[i], vals[i]);
    vmx_cap_msrs_read(&got);
    assert_memory_equal(&got, &want, sizeof(got));

    /* No TRUE controls → the TRUE MSRs are not read. */
    fake_set_msr(0x480, want.basic & ~VMX_BASIC_TRUE_CTLS);
    vmx_cap_msrs_read(&got);
    assert_int_equal(got.true_pin, 0);
    assert_int_equal(got.true_proc, 0);
    assert_int_equal(got.true_exit, 0);
    assert_int_equal(got.true_entry, 0);
    /* No secondary controls → no PROCBASED_CTLS2 / EPT_VPID_CAP / VMFUNC. */
    fake_set_msr(0x482, want.proc & ~((uint64_t)PROC_ACTIVATE_SECONDARY << 32));
    vmx_cap_msrs_read(&got);
    assert_int_equal(got.proc2, 0);
    assert_int_equal(got.ept_vpid, 0);
    assert_int_equal(got.vmfunc, 0);
}

static void test_feature_control(void **state) {
    (void)state;
    uint64_t w = 0;
    /* Bochs/OVMF leaves it 0 (unlocked): vigil enables VMX outside SMX and locks. */
    assert_int_equal(vmx_feature_control_decide(0, &w), VMX_FC_WRITE);
    assert_int_equal(w, 0x5);
    /* The i7-9750H firmware locked it with VMX on (and SGX launch control): ready. */
    uint64_t fc = 0;
    struct vmx_cap_msrs c;
    assert_int_equal(caps_load(CAPS_I7_9750H, &c, &fc), 19);
    assert_int_equal(vmx_feature_control_decide(fc, &w), VMX_FC_READY);
    assert_int_equal(w, 0x20005);
    /* Locked with VMX off: the firmware disabled VT-x. */
    assert_int_equal(vmx_feature_control_decide(0x1, &w), VMX_FC_DISABLED_BY_FIRMWARE);
    assert_int_equal(vmx_feature_control_decide(0x3, &w), VMX_FC_DISABLED_BY_FIRMWARE);
    /* Unlocked with other bits: kept. */
    assert_int_equal(vmx_feature_control_decide(0x100000, &w), VMX_FC_WRITE);
    assert_int_equal(w, 0x100005);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bochs_haswell),
        cmocka_unit_test(test_i7_9750h),
        cmocka_unit_test(test_non_ia32e_guest_and_no_timer),
        cmocka_unit_test(test_timer_unavailable_is_not_fatal),
        cmocka_unit_test(test_missing_unrestricted_guest),
        cmocka_unit_test(test_missing_ept_vpid),
        cmocka_unit_test(test_no_secondary_controls),
        cmocka_unit_test(test_missing_virtual_nmis_and_nmi_window),
        cmocka_unit_test(test_missing_exit_and_entry_controls),
        cmocka_unit_test(test_legacy_msrs_force_cr3_exiting),
        cmocka_unit_test(test_legacy_pin_exit_entry_ok),
        cmocka_unit_test(test_forced_hlt_exiting_refused),
        cmocka_unit_test(test_inconsistent_msr),
        cmocka_unit_test(test_no_vmx),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cap_read),
        cmocka_unit_test(test_feature_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
