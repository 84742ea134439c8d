/* Live process events: an INT3 at the entry of each kernel function vmi/linux_live.h names
 * (which functions, where their arguments are, what their entry must hold before it is patched,
 * how a hook's registers become an event). This file arms the INT3s at the addresses vmi/ gives,
 * guards them in EPT, and at the #BP exit hands the guest's registers to vmi/ and reports the
 * decoded event; the guest resumes after the patched entry, so no single-step (and no monitor
 * trap flag, which Bochs lacks) is needed. INT3s that are not vigil's are given back to the
 * guest. docs/hv-bringup.md has the reasons. */
#ifndef VIGIL_HV_LIVE_H
#define VIGIL_HV_LIVE_H

#include "hv/core/alloc.h"
#include "hv/core/intro_hooks.h"
#include "hv/core/percpu.h"
#include "vmi/proc_snapshot.h"
#include "vmi/vmi.h"

#include <stdbool.h>

/* Boot CPU, after the OS was identified: arms what can be armed (call again until done). */
void hv_live_arm(struct vmi_session *s);
/* The live view: the processes the events say exist, sorted by pid in cap entries from the
 * hypervisor heap (hv_live_init, at bring-up). Seeded from the first snapshot; re-scans compare
 * the walked process list with it (hv/intro/hv_vmi.c). When full it keeps the lowest pids and
 * remembers the lowest pid it had to drop, so a comparison knows up to where it is exact. */
int hv_live_init(struct hv_heap *heap, uint32_t cap);
/* Replaces the view with the processes of a finished snapshot that are not exiting. */
void hv_live_seed(const struct vmi_snap *s);
/* Adds (present) or removes one process of the live view: O(log n) to find, a move to insert. */
void hv_live_set(int32_t pid, const char *comm, bool present);
/* Copies the live view into out (finished: sorted, out->limit = up to where it is exact). */
void hv_live_view(struct vmi_snap *out);
/* After a re-scan compared cur with view (a copy taken by hv_live_view), for pids <= upto:
 * every process of cur that is not exiting is added to the view (or has its name brought up to
 * date), and every process of view that cur lacks is removed. Only these differences are applied,
 * in one merge pass, so events that came after the walk are kept. */
void hv_live_reconcile(const struct vmi_snap *cur, const struct vmi_snap *view, int32_t upto);

/* hv_live_sync and hv_live_breakpoint: hv/core/intro_hooks.h. */

#endif
