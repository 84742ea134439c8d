/* The rescan event (hv/intro/rescan_report.h): the walk against the previous walk and against the
 * live view, in both renderings, and the live view reconciled whatever the report mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv/intro/rescan_report.h"

static char out[4096];
static size_t out_len;

static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    if (out_len + n < sizeof(out)) {
        memcpy(out + out_len, d, n);
        out_len += n;
        out[out_len] = 0;
    }
}

#define CAP 16
static struct vmi_snap_entry e_prev[CAP], e_cur[CAP], e_live[CAP], e_copy[CAP];
static struct vmi_snap prev, cur, live_view, copy;
static unsigned reconciled;
static int32_t reconciled_upto;

static void record(struct vmi_snap *s, int32_t pid, const char *comm) {
    struct vmi_proc p;
    memset(&p, 0, sizeof(p));
    p.pid = pid;
    strncpy(p.comm, comm, sizeof(p.comm) - 1);
    p.state_letter = 'S';
    vmi_snap_record(s, &p);
}

/* The live view: what proc_start / proc_exit events announced. */
static void view(struct vmi_snap *o) {
    o->n = live_view.n;
    memcpy(o->e, live_view.e, live_view.n * sizeof(live_view.e[0]));
    o->limit = live_view.limit;
    o->total = live_view.total;
    o->capped = live_view.capped;
}

static void reconcile(const struct vmi_snap *c, const struct vmi_snap *v, int32_t upto) {
    assert_ptr_equal(c, &cur);
    assert_ptr_equal(v, &copy);
    reconciled++;
    reconciled_upto = upto;
}

static const struct rescan_live live = {view, reconcile, &copy};

/* Walks: before {1 init, 2 kthreadd}, now {1 init, 2 kthreadd, 5 sh}; the live view announced
 * {1, 2, 9} (9 ended without a proc_exit, 5 started without a proc_start). */
static int setup(void **state) {
    (void)state;
    out_len = 0;
    out[0] = 0;
    reconciled = 0;
    reconciled_upto = -1;
    vmi_snap_init(&prev, e_prev, CAP);
    vmi_snap_init(&cur, e_cur, CAP);
    vmi_snap_init(&live_view, e_live, CAP);
    vmi_snap_init(&copy, e_copy, CAP);
    record(&prev, 1, "init");
    record(&prev, 2, "kthreadd");
    record(&cur, 5, "sh");
    record(&cur, 1, "init");
    record(&cur, 2, "kthreadd");
    record(&live_view, 1, "init");
    record(&live_view, 2, "kthreadd");
    record(&live_view, 9, "ghost");
    vmi_snap_finish(&prev);
    vmi_snap_finish(&cur);
    vmi_snap_finish(&live_view);
    return 0;
}

static void json_event(void **state) {
    (void)state;
    struct report r;
    report_init(&r, REPORT_JSONL, sink, NULL);
    rescan_report(&r, 1000, &cur, &prev, &live);
    assert_string_equal(out, "{\"ev\":\"rescan\",\"t_ms\":1000,\"procs\":3,"
                             "\"new\":[{\"pid\":5,\"comm\":\"sh\"}],\"gone\":[],\"renamed\":[],"
                             "\"live_missed_start\":[5],\"live_missed_exit\":[9]}\n");
    assert_int_equal(reconciled, 1);
    assert_int_equal(reconciled_upto, INT32_MAX);
}

/* The cross-check is a state change (the live view is reconciled): it must not depend on the
 * report mode. */
static void text_event_cross_checks_too(void **state) {
    (void)state;
    struct report r;
    report_init(&r, REPORT_TEXT, sink, NULL);
    rescan_report(&r, 1000, &cur, &prev, &live);
    assert_string_equal(out, "vigil: rescan t_ms=1000 procs=3 new=[{pid=5 comm=sh}] gone=[] "
                             "renamed=[] live_missed_start=[5] live_missed_exit=[9]\n");
    assert_int_equal(reconciled, 1);
    assert_int_equal(reconciled_upto, INT32_MAX);
}

static void live_off_no_cross_check(void **state) {
    (void)state;
    struct report r;
    report_init(&r, REPORT_TEXT, sink, NULL);
    rescan_report(&r, 7, &cur, &prev, NULL);
    assert_string_equal(out, "vigil: rescan t_ms=7 procs=3 new=[{pid=5 comm=sh}] gone=[] "
                             "renamed=[]\n");
    assert_int_equal(reconciled, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_event, setup),
        cmocka_unit_test_setup(text_event_cross_checks_too, setup),
        cmocka_unit_test_setup(live_off_no_cross_check, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
