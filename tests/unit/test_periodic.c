/* Unit tests for the periodic work's owner (hv/core/tick_owner.c) and the stall watch
 * (hv/core/cpu_watch.c): the work runs on whichever CPU finds it due, on one CPU at a time, never
 * waiting; with one CPU silent the others carry on; a silent CPU is reported once, and once more
 * when it comes back. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv/core/cpu_watch.h"
#include "hv/core/tick_owner.h"

static void due_work_goes_to_whoever_asks(void **s) {
    (void)s;
    struct tick_owner t;
    memset(&t, 0, sizeof(t));
    assert_true(tick_owner_try(&t, 0, 875, 0)); /* the first tick runs it at once */
    tick_owner_release(&t);
    assert_false(tick_owner_try(&t, 500, 875, 1)); /* not due yet */
    assert_true(tick_owner_try(&t, 900, 875, 1));  /* due: CPU 1 runs it */
    assert_int_equal(t.last_cpu, 1);
    tick_owner_release(&t);
    /* CPU 0 stops taking exits: CPU 1 alone keeps the pace. */
    for (uint64_t now = 1800; now < 10000; now += 900) {
        assert_true(tick_owner_try(&t, now, 875, 1));
        tick_owner_release(&t);
    }
    assert_int_equal(t.runs, 12);
}

static void a_busy_owner_is_never_waited_for(void **s) {
    (void)s;
    struct tick_owner t;
    memset(&t, 0, sizeof(t));
    assert_true(tick_owner_try(&t, 1000, 875, 0));
    /* CPU 0 still runs the work when CPU 1's tick comes, long after: CPU 1 returns at once. */
    assert_false(tick_owner_try(&t, 5000, 875, 1));
    tick_owner_release(&t);
    assert_true(tick_owner_try(&t, 5000, 875, 1));
    tick_owner_release(&t);
}

static void a_clock_behind_is_not_due(void **s) {
    (void)s;
    struct tick_owner t;
    memset(&t, 0, sizeof(t));
    assert_true(tick_owner_try(&t, 5000, 875, 0));
    tick_owner_release(&t);
    /* Another CPU's clock reads a little behind the last run: not due (no wrap to "long ago"). */
    assert_false(tick_owner_try(&t, 4990, 875, 1));
}

#define THREADS 8
#define ROUNDS 2000
static struct tick_owner shared;
static volatile uint32_t inside;
static volatile uint64_t clock_ms;
static uint64_t wins[THREADS];

static void *hammer(void *arg) {
    uint32_t me = (uint32_t)(uintptr_t)arg;
    for (unsigned r = 0; r < ROUNDS; r++) {
        uint64_t now = __atomic_add_fetch(&clock_ms, 1, __ATOMIC_SEQ_CST);
        if (!tick_owner_try(&shared, now, 10, me))
            continue;
        /* The work: nobody else may be in it. */
        assert_int_equal(__atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST), 1);
        wins[me]++;
        __atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
        tick_owner_release(&shared);
    }
    return NULL;
}

static void one_owner_at_a_time(void **s) {
    (void)s;
    memset(&shared, 0, sizeof(shared));
    pthread_t th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    uint64_t total = 0;
    for (unsigned i = 0; i < THREADS; i++)
        total += wins[i];
    assert_int_equal(total, shared.runs);
    /* Due every 10 ms of a clock that moves THREADS * ROUNDS ms: about that many runs. */
    assert_true(total >= 100 && total <= THREADS * ROUNDS / 10 + 1);
}

static void stall_reported_once_and_resume_once(void **s) {
    (void)s;
    struct cpu_watch w;
    memset(&w, 0, sizeof(w));
    uint64_t limit = cpu_watch_limit_ms(5);
    assert_int_equal(limit, 15000);
    assert_int_equal(cpu_watch_look(&w, 10000, 9500, limit), CPU_WATCH_SAME);
    assert_int_equal(cpu_watch_look(&w, 24000, 9500, limit), CPU_WATCH_SAME);
    assert_int_equal(cpu_watch_look(&w, 25000, 9500, limit), CPU_WATCH_STALLED);
    assert_true(w.stalled);
    for (uint64_t now = 26000; now < 90000; now += 1000)
        assert_int_equal(cpu_watch_look(&w, now, 9500, limit), CPU_WATCH_SAME);
    assert_int_equal(cpu_watch_look(&w, 91000, 90800, limit), CPU_WATCH_RESUMED);
    assert_false(w.stalled);
    assert_int_equal(cpu_watch_look(&w, 92000, 91900, limit), CPU_WATCH_SAME);
    assert_int_equal(w.stalls, 1);
}

static void a_clock_ahead_is_no_silence(void **s) {
    (void)s;
    struct cpu_watch w;
    memset(&w, 0, sizeof(w));
    assert_int_equal(cpu_watch_look(&w, 1000, 1200, 3000), CPU_WATCH_SAME);
    assert_int_equal(cpu_watch_limit_ms(0), 3 * CPU_WATCH_DEFAULT_INTERVAL_MS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(due_work_goes_to_whoever_asks),
        cmocka_unit_test(a_busy_owner_is_never_waited_for),
        cmocka_unit_test(a_clock_behind_is_not_due),
        cmocka_unit_test(one_owner_at_a_time),
        cmocka_unit_test(stall_reported_once_and_resume_once),
        cmocka_unit_test(a_clock_ahead_is_no_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
