#include "hv/intro/rescan_report.h"

static void diff_entry(void *ctx, const struct vmi_snap_entry *e) {
    struct report *r = ctx;
    report_obj_begin(r, NULL);
    report_u64(r, "pid", (uint64_t)e->pid);
    report_str(r, "comm", e->comm);
    report_obj_end(r);
}

/* Processes in both walks whose name changed (an exec or a rename the events did not carry). */
static void diff_renamed(void *ctx, const struct vmi_snap_entry *cur,
                         const struct vmi_snap_entry *prev) {
    if (vmi_snap_renamed(cur, prev))
        diff_entry(ctx, cur);
}

static void missed_start(void *ctx, const struct vmi_snap_entry *e) {
    struct report *r = ctx;
    if (!e->exiting)
        report_u64(r, NULL, (uint64_t)e->pid);
}
static void missed_exit(void *ctx, const struct vmi_snap_entry *e) {
    struct report *r = ctx;
    report_u64(r, NULL, (uint64_t)e->pid);
}

/* The live view against the walk: processes no proc_start announced, and processes announced
 * that are gone without a proc_exit. Exiting processes (zombies) are left out: their proc_exit
 * came at do_exit, before the parent reaps them. Each difference is then applied to the live
 * view (not a wholesale copy, which would race with events that came after the walk), so it is
 * reported once. */
static void cross_check(struct report *r, const struct vmi_snap *cur, int32_t upto,
                        const struct rescan_live *live) {
    struct vmi_snap *view = live->copy;
    live->view(view);
    if (view->limit < upto)
        upto = view->limit;
    report_arr_begin(r, "live_missed_start");
    vmi_snap_diff(cur, view, upto, &(struct vmi_snap_diff_cbs){.only_a = missed_start}, r);
    report_arr_end(r);
    report_arr_begin(r, "live_missed_exit");
    vmi_snap_diff(cur, view, upto, &(struct vmi_snap_diff_cbs){.only_b = missed_exit}, r);
    report_arr_end(r);
    live->reconcile(cur, view, upto);
}

/* Task-list entries the walk could not read whole and skipped over (struct vmi_proc.error). */
static void report_bad(struct report *r, const struct vmi_snap *s) {
    if (!s->bad)
        return;
    report_u64(r, "bad", s->bad);
    report_arr_begin(r, "bad_tasks");
    for (uint64_t i = 0; i < s->bad && i < VMI_SNAP_BAD_MAX; i++) {
        report_obj_begin(r, NULL);
        report_hex(r, "task", s->bad_e[i].task);
        if (s->bad_e[i].has_pid)
            report_i64(r, "pid", s->bad_e[i].pid);
        else
            report_null(r, "pid");
        report_i64(r, "code", s->bad_e[i].code);
        report_str(r, "msg", s->bad_e[i].what ? s->bad_e[i].what : "");
        report_obj_end(r);
    }
    report_arr_end(r);
}

void rescan_report(struct report *r, uint64_t t_ms, const struct vmi_snap *cur,
                   const struct vmi_snap *prev, const struct rescan_live *live) {
    /* Both snapshots are exact up to their limits (the cap keeps the lowest pids). */
    int32_t upto = cur->limit < prev->limit ? cur->limit : prev->limit;
    bool capped = cur->capped || prev->capped;
    report_begin(r, "rescan");
    report_u64(r, "t_ms", t_ms);
    report_u64(r, "procs", cur->total);
    report_arr_begin(r, "new");
    vmi_snap_diff(cur, prev, upto, &(struct vmi_snap_diff_cbs){.only_a = diff_entry}, r);
    report_arr_end(r);
    report_arr_begin(r, "gone");
    vmi_snap_diff(cur, prev, upto, &(struct vmi_snap_diff_cbs){.only_b = diff_entry}, r);
    report_arr_end(r);
    report_arr_begin(r, "renamed");
    vmi_snap_diff(cur, prev, upto, &(struct vmi_snap_diff_cbs){.both = diff_renamed}, r);
    report_arr_end(r);
    if (live)
        cross_check(r, cur, upto, live);
    report_bad(r, cur);
    if (capped) {
        report_u64(r, "cap", cur->cap);
        report_i64(r, "compared_to_pid", upto);
    }
    report_end(r);
}
