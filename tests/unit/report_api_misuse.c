/* Compiled, not run, by the test_report_api_misuse check (tests/tests.mk): the
 * hypervisor's report API must make writing without owning a writer a compile error. Exactly one
 * of the variants is compiled each time; only RIGHT may compile. */
#include "hv/core/hv_report.h"

void misuse(void);
void misuse(void) {
#if defined(RIGHT)
    struct report *r = hv_report_begin();
    if (r) {
        report_textf(r, "owned");
        hv_report_end(r);
    }
#elif defined(SHARED_GLOBAL)
    report_textf(&hv_rep, "no writer: the shared stream is not reachable");
#elif defined(IGNORED_BEGIN)
    hv_report_begin(); /* the writer (or the NULL saying there is none) must be looked at */
#elif defined(OLD_LOCK)
    hv_report_lock();
#endif
}
