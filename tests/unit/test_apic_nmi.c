/* Unit tests for hv/core/apic_nmi.c: an NMI to one CPU in x2APIC mode (one ICR MSR write) and in
 * xAPIC mode (ICR high then low through MMIO, the guest's ICR high put back), and the refusals:
 * APIC disabled, destination beyond 8 bits in xAPIC mode, an ICR that never becomes idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"

#include "hv/arch/vmx/vmx_defs.h"
#include "hv/core/apic_mode.h"
#include "hv/core/apic_nmi.h"

#define XAPIC_PAGE 0xFEE00000ull

static void test_x2apic_one_msr_write(void **state) {
    (void)state;
    fake_reset();
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE | APIC_BASE_EN | APIC_BASE_EXTD | (1u << 8));
    assert_int_equal(apic_send_nmi(0x105), APIC_NMI_SENT);
    uint64_t icr = 0;
    assert_true(fake_get_msr(MSR_X2APIC_ICR, &icr));
    assert_int_equal(icr, (0x105ull << 32) | (4u << 8)); /* destination, delivery mode NMI */
    assert_int_equal(fake_mmio_count, 0);
}

static void test_xapic_keeps_the_guests_icr_high(void **state) {
    (void)state;
    fake_reset();
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE | APIC_BASE_EN);
    /* The guest had written ICR high for its own IPI when its CPU exited. */
    fake_set_mmio(XAPIC_PAGE + XAPIC_ICR_HI, 0x03000000);
    assert_int_equal(apic_send_nmi(1), APIC_NMI_SENT);
    assert_int_equal(fake_mmio_count, 3);
    assert_int_equal(fake_mmio_log[0].phys, XAPIC_PAGE + XAPIC_ICR_HI);
    assert_int_equal(fake_mmio_log[0].v, 0x01000000);
    assert_int_equal(fake_mmio_log[1].phys, XAPIC_PAGE + XAPIC_ICR_LO);
    assert_int_equal(fake_mmio_log[1].v, 4u << 8);
    assert_int_equal(fake_mmio_log[2].phys, XAPIC_PAGE + XAPIC_ICR_HI);
    assert_int_equal(fake_mmio_log[2].v, 0x03000000);
    uint64_t v = 0;
    assert_false(fake_get_msr(MSR_X2APIC_ICR, &v));
}

static void test_xapic_relocated_base(void **state) {
    (void)state;
    fake_reset();
    fake_set_msr(MSR_APIC_BASE, 0xFED00000ull | APIC_BASE_EN | (1u << 8));
    assert_int_equal(apic_send_nmi(7), APIC_NMI_SENT);
    assert_int_equal(fake_mmio_log[1].phys, 0xFED00000ull + XAPIC_ICR_LO);
}

static void test_refusals(void **state) {
    (void)state;
    fake_reset();
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE); /* disabled */
    assert_int_equal(apic_send_nmi(1), APIC_NMI_DISABLED);
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE | APIC_BASE_EN);
    assert_int_equal(apic_send_nmi(0x100), APIC_NMI_BAD_DEST); /* beyond the 8-bit field */
    assert_int_equal(fake_mmio_count, 0);
    /* An IPI of the guest's that never leaves: nothing is written over it. */
    fake_set_mmio(XAPIC_PAGE + XAPIC_ICR_LO, APIC_ICR_PENDING | 0x4FD);
    assert_int_equal(apic_send_nmi(1), APIC_NMI_BUSY);
    assert_int_equal(fake_mmio_count, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x2apic_one_msr_write),
        cmocka_unit_test(test_xapic_keeps_the_guests_icr_high),
        cmocka_unit_test(test_xapic_relocated_base),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
