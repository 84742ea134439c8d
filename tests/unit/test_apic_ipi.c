/* Which guest ICR writes vigil emulates (INIT to virtualized CPUs) and which reach the APIC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "apic_ipi.h"

static const uint32_t ids[4] = {0, 1, 2, 6};
static const bool all_up[4] = {true, true, true, true};
static const bool ap2_down[4] = {true, true, false, true};

static uint64_t icr(uint32_t dm, uint32_t sh, uint32_t dest, bool assert_, bool level) {
    return ((uint64_t)dest << 32) | (sh << 18) | (level ? 1u << 15 : 0) | (assert_ ? 1u << 14 : 0) |
           (dm << 8);
}

static void init_to_one_virtualized_cpu_is_emulated(void **s) {
    (void)s;
    struct apic_ipi_plan p;
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_NONE, 6, true, true), 0, ids, all_up, 4, &p);
    assert_false(p.forward);
    assert_int_equal(p.init_targets, 1u << 3);
}

static void init_broadcast_others(void **s) {
    (void)s;
    struct apic_ipi_plan p;
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_OTHERS, 0, true, false), 1, ids, all_up, 4, &p);
    assert_false(p.forward);
    assert_int_equal(p.init_targets, (1u << 0) | (1u << 2) | (1u << 3));
    /* A CPU vigil does not run is left out of the emulated set (it gets a real INIT). */
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_OTHERS, 0, true, false), 0, ids, ap2_down, 4, &p);
    assert_false(p.forward);
    assert_int_equal(p.init_targets, (1u << 1) | (1u << 3));
}

static void init_to_unknown_or_unvirtualized_cpu_forwarded(void **s) {
    (void)s;
    struct apic_ipi_plan p;
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_NONE, 9, true, true), 0, ids, all_up, 4, &p);
    assert_true(p.forward);
    assert_int_equal(p.init_targets, 0);
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_NONE, 2, true, true), 0, ids, ap2_down, 4, &p);
    assert_true(p.forward);
    assert_int_equal(p.init_targets, 0);
}

static void init_deassert_dropped(void **s) {
    (void)s;
    struct apic_ipi_plan p;
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_OTHERS, 0, false, true), 0, ids, all_up, 4, &p);
    assert_false(p.forward);
    assert_int_equal(p.init_targets, 0);
}

static void sipi_fixed_nmi_and_logical_forwarded(void **s) {
    (void)s;
    struct apic_ipi_plan p;
    apic_ipi_plan(icr(ICR_DM_SIPI, ICR_SH_OTHERS, 0, true, false) | 0x9A, 0, ids, all_up, 4, &p);
    assert_true(p.forward);
    assert_int_equal(p.init_targets, 0);
    apic_ipi_plan(icr(ICR_DM_FIXED, ICR_SH_NONE, 1, true, false) | 0xEC, 0, ids, all_up, 4, &p);
    assert_true(p.forward);
    apic_ipi_plan(icr(ICR_DM_NMI, ICR_SH_NONE, 1, true, false), 0, ids, all_up, 4, &p);
    assert_true(p.forward);
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_NONE, 1, true, true) | ICR_DEST_LOGICAL, 0, ids, all_up,
                  4, &p);
    assert_true(p.forward);
    assert_int_equal(p.init_targets, 0);
    apic_ipi_plan(icr(ICR_DM_INIT, ICR_SH_SELF, 0, true, true), 0, ids, all_up, 4, &p);
    assert_true(p.forward);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_to_one_virtualized_cpu_is_emulated),
        cmocka_unit_test(init_broadcast_others),
        cmocka_unit_test(init_to_unknown_or_unvirtualized_cpu_forwarded),
        cmocka_unit_test(init_deassert_dropped),
        cmocka_unit_test(sipi_fixed_nmi_and_logical_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
