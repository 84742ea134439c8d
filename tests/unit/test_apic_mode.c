/* Unit tests for hv/apic_mode.c: the boot CPU's switch to x2APIC mode for bring-up, and the
 * hand-over to the OS: back to xAPIC with the firmware's registers (apic_handover = xapic), or
 * left in x2APIC mode (apic_handover = x2apic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"

#include "hv/core/apic_mode.h"

#define XAPIC_PAGE 0xFEE00000ull
#define BSP (1ull << 8)

/* A boot CPU with x2APIC support and its APIC enabled in xAPIC mode, switched by vigil. */
static void switched_bsp(struct apic_saved *s) {
    fake_reset();
    fake_set_cpuid(1, 0, 0, 0, 1u << 21, 0);
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE | APIC_BASE_EN | BSP);
    fake_set_mmio(XAPIC_PAGE + XAPIC_LDR, 0x01000000);
    fake_set_mmio(XAPIC_PAGE + XAPIC_DFR, 0xFFFFFFFF);
    assert_true(apic_mode_enter_x2apic(s));
    uint64_t base = 0;
    assert_true(fake_get_msr(MSR_APIC_BASE, &base));
    assert_int_equal(base, XAPIC_PAGE | APIC_BASE_EN | APIC_BASE_EXTD | BSP);
    /* What the firmware programs afterwards, through the x2APIC MSRs. */
    fake_set_msr(apic_x2_msr(XAPIC_SVR), 0x1FF);
    fake_set_msr(apic_x2_msr(XAPIC_LVT_LINT0), 0x700);
    fake_mmio_count = 0;
}

static void test_handover_back_to_xapic(void **state) {
    (void)state;
    struct apic_saved s;
    switched_bsp(&s);
    apic_mode_handover(&s, false);
    assert_false(s.switched);
    uint64_t base = 0;
    assert_true(fake_get_msr(MSR_APIC_BASE, &base));
    assert_int_equal(base, XAPIC_PAGE | APIC_BASE_EN | BSP);
    /* DFR and LDR saved before the switch, then the registers read from the x2APIC MSRs. */
    assert_true(fake_mmio_count >= 4);
    assert_int_equal(fake_mmio_log[0].phys, XAPIC_PAGE + XAPIC_DFR);
    assert_int_equal(fake_mmio_log[0].v, 0xFFFFFFFF);
    assert_int_equal(fake_mmio_log[1].phys, XAPIC_PAGE + XAPIC_LDR);
    assert_int_equal(fake_mmio_log[1].v, 0x01000000);
    bool svr = false, lint0 = false;
    for (size_t i = 0; i < fake_mmio_count; i++) {
        svr |= fake_mmio_log[i].phys == XAPIC_PAGE + XAPIC_SVR && fake_mmio_log[i].v == 0x1FF;
        lint0 |=
            fake_mmio_log[i].phys == XAPIC_PAGE + XAPIC_LVT_LINT0 && fake_mmio_log[i].v == 0x700;
    }
    assert_true(svr);
    assert_true(lint0);
}

static void test_handover_keeps_x2apic(void **state) {
    (void)state;
    struct apic_saved s;
    switched_bsp(&s);
    apic_mode_handover(&s, true);
    assert_false(s.switched); /* nothing left to restore at later exits */
    uint64_t base = 0;
    assert_true(fake_get_msr(MSR_APIC_BASE, &base));
    assert_int_equal(base, XAPIC_PAGE | APIC_BASE_EN | APIC_BASE_EXTD | BSP);
    assert_int_equal(fake_mmio_count, 0);
    /* A second hand-over call (another exit from the upper half) changes nothing either way. */
    apic_mode_handover(&s, false);
    assert_true(fake_get_msr(MSR_APIC_BASE, &base));
    assert_int_equal(base, XAPIC_PAGE | APIC_BASE_EN | APIC_BASE_EXTD | BSP);
    assert_int_equal(fake_mmio_count, 0);
}

static void test_no_switch_no_handover(void **state) {
    (void)state;
    struct apic_saved s;
    fake_reset();
    fake_set_cpuid(1, 0, 0, 0, 0, 0); /* no x2APIC */
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE | APIC_BASE_EN | BSP);
    assert_false(apic_mode_enter_x2apic(&s));
    apic_mode_handover(&s, false);
    uint64_t base = 0;
    assert_true(fake_get_msr(MSR_APIC_BASE, &base));
    assert_int_equal(base, XAPIC_PAGE | APIC_BASE_EN | BSP);
    assert_int_equal(fake_mmio_count, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handover_back_to_xapic),
        cmocka_unit_test(test_handover_keeps_x2apic),
        cmocka_unit_test(test_no_switch_no_handover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
