/* XSETBV exit handler and the XCR0 validity rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_vmexit_util.h"

static struct vcpu v;
static struct guest_regs g;

static int setup(void **state) {
    (void)state;
    t_vcpu_init(&v);
    t_guest_64(&v); /* CR4.OSXSAVE = 1, CPL 0 */
    memset(&g, 0, sizeof(g));
    return 0;
}

static void test_xcr0_rules(void **state) {
    (void)state;
    const uint64_t all = 0x602E7; /* x87 SSE AVX OPMASK ZMM_HI256 HI16_ZMM PKRU TILECFG TILEDATA */
    assert_true(vmexit_xcr0_valid(all, 0x1));
    assert_true(vmexit_xcr0_valid(all, 0x3));
    assert_true(vmexit_xcr0_valid(all, 0x7));
    assert_true(vmexit_xcr0_valid(all, 0xE7));
    assert_true(vmexit_xcr0_valid(all, 0x2E7));
    assert_true(vmexit_xcr0_valid(all, 0x602E7));
    assert_false(vmexit_xcr0_valid(all, 0x0));     /* x87 must stay */
    assert_false(vmexit_xcr0_valid(all, 0x2));     /* no x87 */
    assert_false(vmexit_xcr0_valid(all, 0x5));     /* AVX without SSE */
    assert_false(vmexit_xcr0_valid(all, 0x67));    /* AVX-512 partial */
    assert_false(vmexit_xcr0_valid(all, 0xE3));    /* AVX-512 without AVX */
    assert_false(vmexit_xcr0_valid(all, 0x20007)); /* TILECFG without TILEDATA */
    assert_false(vmexit_xcr0_valid(all, 0x8));     /* not supported here (MPX) */
    assert_false(vmexit_xcr0_valid(0x1F, 0xF));    /* BNDREGS without BNDCSR */
    assert_true(vmexit_xcr0_valid(0x1F, 0x1F));
    assert_false(vmexit_xcr0_valid(all, 1ull << 63));
}

static void xsetbv(uint64_t rcx, uint64_t rdx, uint64_t rax) {
    g.rcx = rcx;
    g.rdx = rdx;
    g.rax = rax;
    t_exit(EXIT_REASON_XSETBV, 0, 0x7000, 3);
    assert_int_equal(vmexit_handle_xsetbv(&v, &g), VMEXIT_RESUME);
}

static void test_valid_write(void **state) {
    (void)state;
    xsetbv(0, 0, 7);
    assert_int_equal(fake_xcr0, 7);
    assert_int_equal(fake_xsetbv_calls, 1);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x7003);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
    /* upper halves of RAX/RDX/RCX ignored */
    xsetbv(0xFFFFFFFF00000000ull, 0xFFFFFFFF00000000ull, 0xFFFFFFFF00000003ull);
    assert_int_equal(fake_xcr0, 3);
}

static void expect_gp(void) {
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x7000);
    assert_int_equal(fake_xsetbv_calls, 0);
}

static void test_invalid_value_gp(void **state) {
    (void)state;
    xsetbv(0, 0, 0x5);
    expect_gp();
    xsetbv(0, 0, 0xE7); /* AVX-512 not supported by Bochs haswell (xcr0_supported 7) */
    expect_gp();
    xsetbv(0, 1, 0x7); /* bit 32 */
    expect_gp();
}

static void test_xcr1_gp(void **state) {
    (void)state;
    xsetbv(1, 0, 0x7);
    expect_gp();
}

static void test_cpl3_gp(void **state) {
    (void)state;
    fake_set_vmcs(VMCS_GUEST_SS_AR, 0xC0F3);
    xsetbv(0, 0, 0x7);
    expect_gp();
}

static void test_osxsave_off_ud(void **state) {
    (void)state;
    vmx_cr_write_guest(&v, 0x80050033, CR4_PAE);
    xsetbv(0, 0, 0x7);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_UD);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x7000);
}

static void test_hardware_fault_becomes_gp(void **state) {
    (void)state;
    fake_xsetbv_faults = true;
    xsetbv(0, 0, 0x7);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x7000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_xcr0_rules, setup),
        cmocka_unit_test_setup(test_valid_write, setup),
        cmocka_unit_test_setup(test_invalid_value_gp, setup),
        cmocka_unit_test_setup(test_xcr1_gp, setup),
        cmocka_unit_test_setup(test_cpl3_gp, setup),
        cmocka_unit_test_setup(test_osxsave_off_ud, setup),
        cmocka_unit_test_setup(test_hardware_fault_becomes_gp, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
