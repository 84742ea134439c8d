/* Which guest ICR writes vigil emulates (INIT to virtualized CPUs), which it drops (INIT/SIPI to
 * CPUs it parked) and which reach the APIC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv/core/apic_ipi.h"

#define NCPUS 70 /* more than 64: no bitmap limit */

struct cpus {
    uint32_t ids[NCPUS];
    enum apic_cpu_state st[NCPUS];
};
static struct cpus cpus;
static enum apic_ipi_action got[NCPUS];
static unsigned n_acts;

static uint32_t id_of(const void *ctx, uint32_t i) {
    return ((const struct cpus *)ctx)->ids[i];
}
static enum apic_cpu_state state_of(const void *ctx, uint32_t i) {
    return ((const struct cpus *)ctx)->st[i];
}
static void act(void *ctx, uint32_t i, enum apic_ipi_action a) {
    (void)ctx;
    assert_true(i < NCPUS);
    assert_int_equal(got[i], 0); /* one action per CPU */
    got[i] = a;
    n_acts++;
}

/* ncpus CPUs, APIC IDs 0, 1, 2, 6, 7, 8, ...; all virtualized. */
static int setup(void **s) {
    (void)s;
    for (uint32_t i = 0; i < NCPUS; i++) {
        cpus.ids[i] = i < 3 ? i : i + 3;
        cpus.st[i] = APIC_CPU_UP;
    }
    memset(got, 0, sizeof(got));
    n_acts = 0;
    return 0;
}

static bool plan(uint64_t icr, uint32_t self, uint32_t n) {
    struct apic_ipi_cpus c = {n, self, &cpus, id_of, state_of};
    return apic_ipi_plan(icr, &c, act, NULL);
}

static uint64_t icr(uint32_t dm, uint32_t sh, uint32_t dest, bool assert_, bool level) {
    return ((uint64_t)dest << 32) | (sh << 18) | (level ? 1u << 15 : 0) | (assert_ ? 1u << 14 : 0) |
           (dm << 8);
}

static void init_to_one_virtualized_cpu_is_emulated(void **s) {
    (void)s;
    assert_false(plan(icr(ICR_DM_INIT, ICR_SH_NONE, 6, true, true), 0, 4));
    assert_int_equal(n_acts, 1);
    assert_int_equal(got[3], APIC_IPI_EMULATE_INIT);
}

static void init_to_a_cpu_past_64_is_emulated(void **s) {
    (void)s;
    assert_false(plan(icr(ICR_DM_INIT, ICR_SH_NONE, 69 + 3, true, true), 0, NCPUS));
    assert_int_equal(n_acts, 1);
    assert_int_equal(got[69], APIC_IPI_EMULATE_INIT);
}

static void init_broadcast_others(void **s) {
    (void)s;
    assert_false(plan(icr(ICR_DM_INIT, ICR_SH_OTHERS, 0, true, false), 1, 4));
    assert_int_equal(n_acts, 3);
    assert_int_equal(got[0], APIC_IPI_EMULATE_INIT);
    assert_int_equal(got[1], 0);
    assert_int_equal(got[2], APIC_IPI_EMULATE_INIT);
    assert_int_equal(got[3], APIC_IPI_EMULATE_INIT);
}

static void init_broadcast_splits_bare_and_parked(void **s) {
    (void)s;
    cpus.st[2] = APIC_CPU_BARE;
    cpus.st[66] = APIC_CPU_PARKED;
    assert_false(plan(icr(ICR_DM_INIT, ICR_SH_OTHERS, 0, true, false), 0, NCPUS));
    assert_int_equal(n_acts, NCPUS - 1);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], APIC_IPI_EMULATE_INIT);
    assert_int_equal(got[2], APIC_IPI_REAL_INIT); /* a CPU vigil does not run gets a real INIT */
    assert_int_equal(got[66], APIC_IPI_DROP);     /* a parked one gets nothing */
    assert_int_equal(got[67], APIC_IPI_EMULATE_INIT);
}

static void init_to_unknown_or_bare_cpu_forwarded(void **s) {
    (void)s;
    assert_true(plan(icr(ICR_DM_INIT, ICR_SH_NONE, 9, true, true), 0, 4));
    cpus.st[2] = APIC_CPU_BARE; /* still the firmware's: it wakes it so until the hand-over */
    assert_true(plan(icr(ICR_DM_INIT, ICR_SH_NONE, 2, true, true), 0, 4));
    assert_true(plan(icr(ICR_DM_SIPI, ICR_SH_NONE, 2, true, false) | 0x9A, 0, 4));
    assert_int_equal(n_acts, 0);
}

static void init_and_sipi_to_parked_cpu_dropped(void **s) {
    (void)s;
    cpus.st[3] = APIC_CPU_PARKED;
    assert_false(plan(icr(ICR_DM_INIT, ICR_SH_NONE, 6, true, true), 0, 4));
    assert_int_equal(got[3], APIC_IPI_DROP);
    got[3] = 0;
    assert_false(plan(icr(ICR_DM_SIPI, ICR_SH_NONE, 6, true, false) | 0x9A, 0, 4));
    assert_int_equal(got[3], APIC_IPI_DROP);
    assert_int_equal(n_acts, 2);
}

static void init_deassert_dropped(void **s) {
    (void)s;
    assert_false(plan(icr(ICR_DM_INIT, ICR_SH_OTHERS, 0, false, true), 0, 4));
    assert_int_equal(n_acts, 0);
}

/* A SIPI goes to the APIC as it is, and each virtualized target also gets it recorded: one that
 * is still in VMX root applying its INIT would lose the real one. */
static void sipi_forwarded_and_recorded_for_virtualized_cpus(void **s) {
    (void)s;
    cpus.st[2] = APIC_CPU_BARE;
    cpus.st[3] = APIC_CPU_PARKED;
    assert_true(plan(icr(ICR_DM_SIPI, ICR_SH_NONE, 1, true, false) | 0x9A, 0, 4));
    assert_int_equal(n_acts, 1);
    assert_int_equal(got[1], APIC_IPI_RECORD_SIPI);
    memset(got, 0, sizeof(got));
    n_acts = 0;
    /* All but self: the virtualized ones; not the sender, the bare one or the parked one. */
    assert_true(plan(icr(ICR_DM_SIPI, ICR_SH_OTHERS, 0, true, false) | 0x9A, 1, 5));
    assert_int_equal(n_acts, 2);
    assert_int_equal(got[0], APIC_IPI_RECORD_SIPI);
    assert_int_equal(got[1], 0);
    assert_int_equal(got[2], 0);
    assert_int_equal(got[3], 0);
    assert_int_equal(got[4], APIC_IPI_RECORD_SIPI);
}

static void fixed_nmi_and_logical_forwarded(void **s) {
    (void)s;
    assert_true(plan(icr(ICR_DM_FIXED, ICR_SH_NONE, 1, true, false) | 0xEC, 0, 4));
    assert_true(plan(icr(ICR_DM_NMI, ICR_SH_NONE, 1, true, false), 0, 4));
    assert_true(plan(icr(ICR_DM_INIT, ICR_SH_NONE, 1, true, true) | ICR_DEST_LOGICAL, 0, 4));
    assert_true(plan(icr(ICR_DM_INIT, ICR_SH_SELF, 0, true, true), 0, 4));
    assert_int_equal(n_acts, 0);
}

/* A fake clock for apic_ipi_wait_inits: each relax is one tick; at tick `clear_at` the target
 * CPU `who` applies its INIT (clears its flag), as the target's exit handler would. */
struct wait_world {
    uint64_t ticks;
    uint64_t clear_at;
    uint32_t who;
    uint32_t flags[4];
    unsigned looks[4];
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

static bool world_pending(void *ctx, uint32_t i) {
    struct wait_world *w = ctx;
    w->looks[i]++;
    return w->flags[i] != 0;
}

static void wait_world_init(struct wait_world *w) {
    memset(w, 0, sizeof(*w));
}

static void init_sender_waits_until_target_took_it(void **s) {
    (void)s;
    struct wait_world w;
    wait_world_init(&w);
    w.flags[3] = 1;
    w.who = 3;
    w.clear_at = 500;
    assert_int_equal(apic_ipi_wait_inits(4, world_pending, 1000, world_now, world_relax, &w), 0);
    assert_int_equal(w.ticks, 500); /* returned once the target was done, not before */
}

static void init_wait_is_bounded(void **s) {
    (void)s;
    struct wait_world w;
    wait_world_init(&w);
    /* CPU 1 never takes its INIT (parked); CPU 2 does, at once: only CPU 1 is counted, and the
     * wait ends at the deadline. */
    w.flags[1] = 1;
    assert_int_equal(apic_ipi_wait_inits(4, world_pending, 1000, world_now, world_relax, &w), 1);
    assert_int_equal(w.ticks, 1000);
    /* Past the deadline already: no wait at all, but every CPU is still looked at. */
    w.flags[2] = 1;
    assert_int_equal(apic_ipi_wait_inits(4, world_pending, 1000, world_now, world_relax, &w), 2);
    assert_int_equal(w.ticks, 1000);
    for (unsigned i = 0; i < 4; i++)
        assert_true(w.looks[i] > 0);
    w.flags[1] = w.flags[2] = 0;
    assert_int_equal(apic_ipi_wait_inits(4, world_pending, 5000, world_now, world_relax, &w), 0);
    assert_int_equal(w.ticks, 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(init_to_one_virtualized_cpu_is_emulated, setup),
        cmocka_unit_test_setup(init_to_a_cpu_past_64_is_emulated, setup),
        cmocka_unit_test_setup(init_broadcast_others, setup),
        cmocka_unit_test_setup(init_broadcast_splits_bare_and_parked, setup),
        cmocka_unit_test_setup(init_to_unknown_or_bare_cpu_forwarded, setup),
        cmocka_unit_test_setup(init_and_sipi_to_parked_cpu_dropped, setup),
        cmocka_unit_test_setup(init_deassert_dropped, setup),
        cmocka_unit_test_setup(sipi_forwarded_and_recorded_for_virtualized_cpus, setup),
        cmocka_unit_test_setup(fixed_nmi_and_logical_forwarded, setup),
        cmocka_unit_test(init_sender_waits_until_target_took_it),
        cmocka_unit_test(init_wait_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
