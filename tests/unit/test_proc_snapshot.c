/* Unit tests of process snapshots and their differences (vmi/proc_snapshot.c), the re-scan logic
 * of the hypervisor: a synthetic guest with 10,000 processes walked twice around exits, starts
 * and renames must give exactly the new, gone and renamed sets; the cap keeps the lowest pids and
 * stays exact up to its limit; the diff and the live view's set operations are linear merges
 * (operation counts are bounded by the comparisons of the sort, not by n^2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/vmi_synth.h"
#include "vmi/kernel.h"
#include "vmi/linux_tasks.h"
#include "vmi/proc_snapshot.h"

#define NPROC 10000
static struct synth S;
static uint64_t task_of[NPROC + 1];

static int setup(void **state) {
    (void)state;
    return synth_init(&S, 64u << 20, 0x2a00000);
}
static int teardown(void **state) {
    (void)state;
    synth_free(&S);
    return 0;
}

/* list_del of a task from the task list. */
static void unlink_task(uint64_t t) {
    uint64_t next = synth_r64(&S, t + T_TASKS), prev = synth_r64(&S, t + T_TASKS + 8);
    synth_w64(&S, prev, next);
    synth_w64(&S, next + 8, prev);
}

struct seen {
    int32_t only_a[4000], only_b[4000], renamed[4000];
    int na, nb, nr;
};
static void cb_a(void *ctx, const struct vmi_snap_entry *e) {
    struct seen *s = ctx;
    assert_true(s->na < 4000);
    s->only_a[s->na++] = e->pid;
}
static void cb_b(void *ctx, const struct vmi_snap_entry *e) {
    struct seen *s = ctx;
    assert_true(s->nb < 4000);
    s->only_b[s->nb++] = e->pid;
}
static void cb_both(void *ctx, const struct vmi_snap_entry *a, const struct vmi_snap_entry *b) {
    struct seen *s = ctx;
    assert_int_equal(a->pid, b->pid);
    if (vmi_snap_renamed(a, b)) {
        assert_true(s->nr < 4000);
        s->renamed[s->nr++] = a->pid;
    }
}

static struct vmi_snap_entry mem_a[NPROC * 2], mem_b[NPROC * 2], mem_c[NPROC * 2];

/* The world: pids 2, 4, ..., 20000 in a shuffled list order; then pid%10==4 exit, pids
 * 20001..20999 odd start, pid%10==8 rename (as exec does). */
static void build(void) {
    uint32_t order[NPROC];
    for (uint32_t i = 0; i < NPROC; i++)
        order[i] = i;
    uint32_t x = 12345;
    for (uint32_t i = NPROC; i-- > 1;) {
        x = x * 1103515245u + 12345u;
        uint32_t j = (x >> 8) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i < NPROC; i++) {
        int pid = 2 * (int)(order[i] + 1);
        char comm[16];
        snprintf(comm, sizeof(comm), "p%d", pid);
        task_of[order[i] + 1] = synth_process(&S, pid, 0, comm, 0, 0, 1, 0, 0x400000, false);
    }
}

static void change(void) {
    for (int k = 1; k <= NPROC; k++) {
        int pid = 2 * k;
        if (pid % 10 == 4)
            unlink_task(task_of[k]);
        else if (pid % 10 == 8)
            synth_wstr(&S, task_of[k] + T_COMM, "renamed");
    }
    for (int pid = 20001; pid < 21000; pid += 2)
        synth_process(&S, pid, 0, "new", 0, 0, 1, 0, 0x400000, false);
}

static void walk(struct vmi_linux_tasks *t, struct vmi_snap *s) {
    vmi_snap_reset(s);
    assert_true(vmi_linux_tasks_foreach(t, vmi_snap_record, s) >= 0);
    vmi_snap_finish(s);
}

static void test_diff_10000(void **state) {
    (void)state;
    build();
    struct vmi_kernel k;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &S.cpu, 1), 0);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    struct vmi_snap a, b;
    vmi_snap_init(&a, mem_a, NPROC * 2);
    vmi_snap_init(&b, mem_b, NPROC * 2);
    walk(&t, &a);
    assert_int_equal(a.n, NPROC);
    assert_int_equal(a.limit, INT32_MAX);
    for (uint32_t i = 1; i < a.n; i++)
        assert_true(a.e[i - 1].pid < a.e[i].pid);
    change();
    walk(&t, &b);
    assert_int_equal(b.total, NPROC - 2000 + 500);
    struct seen sn = {0};
    vmi_snap_diff(&b, &a, INT32_MAX,
                  &(struct vmi_snap_diff_cbs){.only_a = cb_a, .only_b = cb_b, .both = cb_both},
                  &sn);
    /* new: exactly the 500 started, in pid order */
    assert_int_equal(sn.na, 500);
    for (int i = 0; i < 500; i++)
        assert_int_equal(sn.only_a[i], 20001 + 2 * i);
    /* gone: exactly pid % 10 == 4 */
    assert_int_equal(sn.nb, 2000);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(sn.only_b[i], 4 + 10 * i);
    /* renamed: exactly pid % 10 == 8 */
    assert_int_equal(sn.nr, 2000);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(sn.renamed[i], 8 + 10 * i);
}

/* More processes than the cap: the lowest pids are kept whatever the list order, and the diff
 * up to the common limit is exact. */
static void test_cap(void **state) {
    (void)state;
    build();
    struct vmi_kernel k;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &S.cpu, 1), 0);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    struct vmi_snap a, b;
    vmi_snap_init(&a, mem_a, 4096);
    vmi_snap_init(&b, mem_b, 4096);
    walk(&t, &a);
    assert_true(a.capped);
    assert_int_equal(a.total, NPROC);
    assert_int_equal(a.n, 4096);
    assert_int_equal(a.limit, 2 * 4096); /* pids 2..8192 */
    for (uint32_t i = 0; i < a.n; i++)
        assert_int_equal(a.e[i].pid, 2 * (int)(i + 1));
    change();
    walk(&t, &b);
    int32_t upto = a.limit < b.limit ? a.limit : b.limit;
    struct seen sn = {0};
    vmi_snap_diff(&b, &a, upto,
                  &(struct vmi_snap_diff_cbs){.only_a = cb_a, .only_b = cb_b, .both = cb_both},
                  &sn);
    assert_int_equal(sn.na, 0); /* the new pids are all above the limit */
    for (int i = 0; i < sn.nb; i++)
        assert_int_equal(sn.only_b[i] % 10, 4);
    for (int i = 0; i < sn.nr; i++)
        assert_int_equal(sn.renamed[i] % 10, 8);
    assert_int_equal(sn.nb, (upto + 6) / 10);
    assert_int_equal(sn.nr, (upto + 2) / 10);
}

/* Bad entries are counted and kept for the report; those with an identity are still diffed. */
static void test_bad_entries(void **state) {
    (void)state;
    build();
    synth_w64(&S, task_of[5] + T_REAL_CRED, 0x1000); /* pid 10 */
    synth_w64(&S, task_of[7] + T_REAL_PARENT, 0);    /* pid 14 */
    struct vmi_kernel k;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &S.cpu, 1), 0);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    struct vmi_snap a;
    vmi_snap_init(&a, mem_a, NPROC * 2);
    walk(&t, &a);
    assert_int_equal(a.bad, 2);
    assert_int_equal(a.n, NPROC);
    int pids = a.bad_e[0].pid + a.bad_e[1].pid;
    assert_int_equal(pids, 24);
    assert_true(a.bad_e[0].has_pid && a.bad_e[1].has_pid);
}

/* Duplicate pids (a hostile list) collapse to one entry, the same whatever the order. */
static void test_duplicates(void **state) {
    (void)state;
    struct vmi_snap a;
    vmi_snap_init(&a, mem_a, 8);
    struct vmi_proc p = {0};
    const char *names[] = {"b", "a", "c"};
    for (int i = 0; i < 3; i++) {
        p.pid = 7;
        p.has_identity = true;
        strcpy(p.comm, names[i]);
        vmi_snap_record(&a, &p);
    }
    p.pid = 3;
    vmi_snap_record(&a, &p);
    vmi_snap_finish(&a);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.e[0].pid, 3);
    assert_int_equal(a.e[1].pid, 7);
    assert_string_equal(a.e[1].comm, "a");
}

/* The live view: events change it one process at a time; a re-scan applies only its
 * differences (events after the copy survive); the cap keeps the lowest pids. */
static void test_live_set_and_reconcile(void **state) {
    (void)state;
    struct vmi_snap live, cur, view;
    vmi_snap_init(&live, mem_a, NPROC * 2);
    vmi_snap_init(&cur, mem_b, NPROC * 2);
    vmi_snap_init(&view, mem_c, NPROC * 2);
    /* A walk of pids 1..NPROC (pid 5 a zombie) seeds the view. */
    struct vmi_proc p = {0};
    p.has_identity = true;
    for (int pid = NPROC; pid >= 1; pid--) {
        p.pid = pid;
        snprintf(p.comm, sizeof(p.comm), "p%d", pid);
        p.state_letter = pid == 5 ? 'Z' : 'S';
        vmi_snap_record(&cur, &p);
    }
    vmi_snap_finish(&cur);
    vmi_snap_seed(&live, &cur);
    assert_int_equal(live.n, NPROC - 1);
    /* Events: 20000 starts, 10 exits, an exec. */
    vmi_snap_set(&live, 20000, "started", true);
    vmi_snap_set(&live, 10, "", false);
    vmi_snap_set(&live, 11, "exec'd", true);
    assert_int_equal(live.n, NPROC - 1);
    for (uint32_t i = 1; i < live.n; i++)
        assert_true(live.e[i - 1].pid < live.e[i].pid);
    vmi_snap_copy(&view, &live);
    /* After the copy: 30000 starts (an event the walk below predates). */
    vmi_snap_set(&live, 30000, "later", true);
    /* The walk: pid 12 exited unseen, 15000 started unseen, 20000 not yet on the list, 11's
     * name as the walk saw it. */
    vmi_snap_reset(&cur);
    for (int pid = 1; pid <= NPROC; pid++) {
        if (pid == 10 || pid == 12)
            continue;
        p.pid = pid;
        snprintf(p.comm, sizeof(p.comm), pid == 11 ? "walked" : "p%d", pid);
        p.state_letter = pid == 5 ? 'Z' : 'S';
        vmi_snap_record(&cur, &p);
    }
    p.pid = 15000;
    strcpy(p.comm, "unseen");
    p.state_letter = 'S';
    vmi_snap_record(&cur, &p);
    vmi_snap_finish(&cur);
    vmi_snap_reconcile(&live, &cur, &view, INT32_MAX);
    for (uint32_t i = 1; i < live.n; i++)
        assert_true(live.e[i - 1].pid < live.e[i].pid);
    /* 1..NPROC minus 5 (zombie), 10, 12; plus 15000, 20000 (removed: view had it, walk not),
     * 30000 kept (came after the copy). */
    int has[4] = {0};
    for (uint32_t i = 0; i < live.n; i++) {
        int32_t pid = live.e[i].pid;
        assert_true(pid != 5 && pid != 10 && pid != 12 && pid != 20000);
        if (pid == 11)
            assert_string_equal(live.e[i].comm, "walked");
        has[0] += pid == 15000;
        has[1] += pid == 30000;
    }
    assert_int_equal(has[0], 1);
    assert_int_equal(has[1], 1);
    assert_int_equal(live.n, NPROC - 3 + 2);
    /* Full: a low pid evicts the highest, a high one is left out; limit below both. */
    struct vmi_snap small;
    vmi_snap_init(&small, mem_c, 4);
    for (int pid = 10; pid <= 40; pid += 10)
        vmi_snap_set(&small, pid, "x", true);
    vmi_snap_set(&small, 50, "x", true);
    vmi_snap_set(&small, 5, "x", true);
    assert_int_equal(small.n, 4);
    assert_int_equal(small.e[0].pid, 5);
    assert_int_equal(small.e[3].pid, 30);
    assert_int_equal(small.limit, 39);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_diff_10000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_entries, setup, teardown),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_live_set_and_reconcile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
