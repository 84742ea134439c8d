/* The rescan event (README "Report schema", rescan): a periodic walk of the task list compared
 * with the previous walk (new, gone and renamed processes), with live events on also compared
 * with the live view (processes no proc_start announced, processes gone without a proc_exit),
 * whose differences are then applied to the live view so that each is reported once.
 *
 * The event is written once, with base/report.h's typed fields; the stream's mode (jsonl or
 * text) only chooses how it is rendered. What the event does to the live view is the same in
 * both modes. Portable: the live view is reached through the callbacks, so the hypervisor passes
 * hv/intro/hv_live.h's functions and the unit test its own. */
#ifndef VIGIL_HV_INTRO_RESCAN_REPORT_H
#define VIGIL_HV_INTRO_RESCAN_REPORT_H

#include "base/report.h"
#include "vmi/proc_snapshot.h"
#include <stdint.h>

struct rescan_live {
    /* Copies the live view into out (hv_live_view). */
    void (*view)(struct vmi_snap *out);
    /* Applies the differences between cur and view, for pids <= upto, to the live view
     * (hv_live_reconcile). */
    void (*reconcile)(const struct vmi_snap *cur, const struct vmi_snap *view, int32_t upto);
    /* Where view() writes: a snapshot with the same capacity as the walks'. */
    struct vmi_snap *copy;
};

/* One rescan event for cur (this walk, finished) against prev (the previous one, finished), at
 * t_ms; live is NULL when live events are off. */
void rescan_report(struct report *r, uint64_t t_ms, const struct vmi_snap *cur,
                   const struct vmi_snap *prev, const struct rescan_live *live);

#endif
