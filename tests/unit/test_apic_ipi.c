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

/* A fake clock for apic_ipi_wait_inits: each relax is one tick; at tick `clear_at` the target
 * CPU `who` applies its INIT (clears its flag), as the target's exit handler would. */
struct wait_world {
    uint64_t ticks;
    uint64_t clear_at;
    uint32_t who;
    volatile uint32_t flags[4];
};

static uint64_t world_now(void *ctx) {
    return ((struct wait_world *)ctx)->ticks;
}

static void world_relax(void *ctx) {
    struct wait_world *w = ctx;
    w->ticks++;
    if (w->ticks == w->clear_at)
        w->flags[w->who] = 0;
}

static void wait_world_init(struct wait_world *w, volatile uint32_t *pending[4]) {
    for (unsigned i = 0; i < 4; i++) {
        w->flags[i] = 0;
        pending[i] = &w->flags[i];
    }
    w->ticks = 0;
}

static void init_sender_waits_until_target_took_it(void **s) {
    (void)s;
    struct wait_world w;
    volatile uint32_t *pending[4];
    wait_world_init(&w, pending);
    w.flags[3] = 1;
    w.who = 3;
    w.clear_at = 500;
    assert_int_equal(apic_ipi_wait_inits(pending, 1u << 3, 4, 1000, world_now, world_relax, &w), 0);
    assert_int_equal(w.ticks, 500); /* returned once the target was done, not before */
}

static void init_wait_is_bounded(void **s) {
    (void)s;
    struct wait_world w;
    volatile uint32_t *pending[4];
    wait_world_init(&w, pending);
    /* CPU 1 never takes its INIT (parked); CPU 2 does, at once: only CPU 1 is reported, and the
     * wait ends at the deadline. */
    w.flags[1] = 1;
    w.who = 0;
    w.clear_at = 0;
    assert_int_equal(
        apic_ipi_wait_inits(pending, (1u << 1) | (1u << 2), 4, 1000, world_now, world_relax, &w),
        1u << 1);
    assert_int_equal(w.ticks, 1000);
    /* Past the deadline already: no wait at all; CPUs outside the set are not looked at. */
    assert_int_equal(apic_ipi_wait_inits(pending, 1u << 1, 4, 1000, world_now, world_relax, &w),
                     1u << 1);
    assert_int_equal(w.ticks, 1000);
    assert_int_equal(apic_ipi_wait_inits(pending, 1u << 0, 4, 5000, world_now, world_relax, &w), 0);
    assert_int_equal(w.ticks, 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_to_one_virtualized_cpu_is_emulated),
        cmocka_unit_test(init_sender_waits_until_target_took_it),
        cmocka_unit_test(init_wait_is_bounded),
        cmocka_unit_test(init_broadcast_others),
        cmocka_unit_test(init_to_unknown_or_unvirtualized_cpu_forwarded),
        cmocka_unit_test(init_deassert_dropped),
        cmocka_unit_test(sipi_fixed_nmi_and_logical_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
