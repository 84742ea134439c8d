/* The EPT permission API's kick (hv/ept/ept_perm.h): after a change that takes rights away, every
 * other CPU still behind the new EPT generation gets an NMI, exits (NMI exiting) and runs INVEPT
 * before it re-enters (ept_perm_sync). Without it such a CPU would keep using stale translations
 * until its next exit, at the latest its ~1 s VMX-preemption timer.
 *
 * One flag per CPU, one NMI per flag: the NMI exit (or an NMI taken in VMX root) that finds the
 * flag set is vigil's and is not given to the guest. An NMI cannot say who sent it, so a genuine
 * NMI arriving in the microseconds between the flag and vigil's NMI is taken for the kick, and
 * vigil's own then reaches the guest as an NMI of unknown reason; kicks are rare (a protection
 * change, the end of a one-instruction window on a protected page), so this is accepted. */
#ifndef VIGIL_EPT_KICK_H
#define VIGIL_EPT_KICK_H

#include "hv/core/percpu.h"
#include <stdbool.h>

/* ept_kick_fn for ept_perm_init; ctx unused. Safe before any CPU runs (it skips CPUs not up). */
void hv_ept_kick(void *ctx);

/* On an NMI (exit or root-mode): true when it was vigil's kick (the flag is cleared). */
bool hv_ept_kick_take(struct hv_cpu *c);

/* At the end of bring-up (boot CPU, VMX root, every CPU running a guest): a new EPT generation,
 * then a wait (at most 100 ms) until every running CPU has synced, which the others only do that
 * soon when the kick reached them. True when they all did; *us: how long it took. */
bool hv_ept_kick_selftest(struct hv_cpu *c, uint64_t *us);

#endif
