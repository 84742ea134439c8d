/* Process snapshots and their differences, for re-scans (hv/intro/hv_vmi.c) and the live view's
 * cross-check: what is new, gone or renamed between two walks of the task list.
 *
 * A snapshot holds at most cap processes in caller-provided memory (the hypervisor takes it from
 * its heap); past the cap it keeps the cap lowest pids (a max-heap by pid while recording), so a
 * capped snapshot is still exact for every pid up to its limit, and differences are compared up
 * to the lower limit of the two snapshots. vmi_snap_finish sorts by pid (heap sort: O(n log n)
 * for any input) and drops duplicate pids (a hostile list may repeat one; the copy with the
 * smallest name stays, so the result does not depend on list order); vmi_snap_diff is then one
 * merge pass, O(n + m). Task entries that could not be read whole (struct vmi_proc.error) are
 * counted, the first VMI_SNAP_BAD_MAX kept for the report, and recorded like the others when
 * their identity (pid, comm) was read. */
#ifndef VIGIL_VMI_PROC_SNAPSHOT_H
#define VIGIL_VMI_PROC_SNAPSHOT_H

#include "vmi/linux_tasks.h"
#include <stdbool.h>
#include <stdint.h>

#define VMI_SNAP_BAD_MAX 8

struct vmi_snap_entry {
    int32_t pid;
    char comm[16];
    bool exiting; /* zombie or dead: do_exit has run, the parent has not reaped it yet */
};

struct vmi_snap_bad {
    uint64_t task;
    int32_t pid; /* valid when has_pid */
    bool has_pid;
    int code;
    const char *what;
};

struct vmi_snap {
    struct vmi_snap_entry *e;
    uint32_t n, cap;
    uint64_t total; /* processes the walk delivered with an identity (also past the cap) */
    bool capped;    /* more than cap: e holds the cap lowest pids */
    int32_t limit;  /* after vmi_snap_finish: e is exact for pids <= limit (INT32_MAX: all) */
    uint64_t bad;   /* entries that could not be read whole */
    struct vmi_snap_bad bad_e[VMI_SNAP_BAD_MAX];
};

/* Over mem[0..cap). */
void vmi_snap_init(struct vmi_snap *s, struct vmi_snap_entry *mem, uint32_t cap);
/* Empties it for the next walk. */
void vmi_snap_reset(struct vmi_snap *s);
/* A vmi_proc_cb for vmi_linux_tasks_foreach (ctx: struct vmi_snap *). Always 0. */
int vmi_snap_record(void *ctx, const struct vmi_proc *p);
/* After the walk: sort by pid, drop duplicate pids, set limit. */
void vmi_snap_finish(struct vmi_snap *s);

/* One merge pass over two finished snapshots, pids <= upto only: only_a for entries of a whose
 * pid b lacks, only_b the other way, both for pids in both (a's entry first). NULL callbacks are
 * skipped. */
struct vmi_snap_diff_cbs {
    void (*only_a)(void *ctx, const struct vmi_snap_entry *a);
    void (*only_b)(void *ctx, const struct vmi_snap_entry *b);
    void (*both)(void *ctx, const struct vmi_snap_entry *a, const struct vmi_snap_entry *b);
};
void vmi_snap_diff(const struct vmi_snap *a, const struct vmi_snap *b, int32_t upto,
                   const struct vmi_snap_diff_cbs *cbs, void *ctx);

/* A kept set of processes (the hypervisor's live view), sorted by pid, changed one event at a
 * time. When full it keeps the lowest pids; limit is then one below the lowest pid it had to
 * leave out, so comparisons know up to where it is exact. */
/* Replaces s with the processes of the finished snapshot from that are not exiting. */
void vmi_snap_seed(struct vmi_snap *s, const struct vmi_snap *from);
/* Copies s into out (as much as out->cap holds; limit lowered to match). */
void vmi_snap_copy(struct vmi_snap *out, const struct vmi_snap *s);
/* Adds (present; or renames when there) or removes one process: O(log n) to find, one move. */
void vmi_snap_set(struct vmi_snap *s, int32_t pid, const char *comm, bool present);
/* After cur (a walk) was compared with view (an earlier copy of s), for pids <= upto: every
 * process of cur that is not exiting is added to s or has its name brought up to date, and every
 * process view had and cur lacks is removed. Only these differences are applied (changes s got
 * after the copy stay), in place, O(n + m). */
void vmi_snap_reconcile(struct vmi_snap *s, const struct vmi_snap *cur, const struct vmi_snap *view,
                        int32_t upto);

/* true when entry names differ (the comparison the renamed list uses). */
bool vmi_snap_renamed(const struct vmi_snap_entry *a, const struct vmi_snap_entry *b);

#endif
