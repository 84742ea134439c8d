/* A struct report_out (base/report.h) over one test-owned struct report: begin hands the report out
 * (or NULL when refuse is set), end takes it back; both are counted, and a begin while the report
 * is out fails the test (a writer is never shared). */
#ifndef VIGIL_TEST_REPORT_OUT_H
#define VIGIL_TEST_REPORT_OUT_H

#include "base/report.h"

#include <stdbool.h>

struct test_report_out {
    struct report_out out;
    struct report *r;
    bool refuse, taken;
    int begins, ends, refused;
};

static inline struct report *test_report_out_begin(void *ctx) {
    struct test_report_out *t = ctx;
    if (t->refuse) {
        t->refused++;
        return NULL;
    }
    assert_false(t->taken);
    t->taken = true;
    t->begins++;
    return t->r;
}

static inline void test_report_out_end(void *ctx, struct report *w) {
    struct test_report_out *t = ctx;
    assert_ptr_equal(w, t->r);
    assert_true(t->taken);
    t->taken = false;
    t->ends++;
}

static inline void test_report_out_init(struct test_report_out *t, struct report *r) {
    *t = (struct test_report_out){
        {test_report_out_begin, test_report_out_end, t}, r, false, false, 0, 0, 0};
}

#endif
