/* Who runs the hypervisor's periodic work (heartbeat, re-scans, hook checks, stall watch).
 *
 * Every virtualized CPU takes a VMX-preemption-timer exit about once a second, but any one CPU can
 * be kept from taking exits by the guest (an INIT without a SIPI leaves it in wait-for-SIPI, where
 * the timer does not count, SDM 25.5.1). So the work is not tied to a CPU: whichever CPU's timer
 * exit comes when the work is due runs it. At most one CPU runs it at a time (the work keeps
 * state of its own: snapshots, the report of the last heartbeat); a CPU that finds it taken does
 * not wait, it goes back to its guest, and a later tick of some CPU runs the work.
 *
 * Concurrency: tick_owner_try may be called from every CPU at once; it never waits. Only the
 * caller it returned true to may call tick_owner_release, once. `last_ms` is written only by the
 * owner. Times are vigil's clock (hv_uptime_ms), which reads the calling CPU's TSC; CPUs' clocks
 * are assumed to agree to well under a period (synchronised TSCs). */
#ifndef VIGIL_TICK_OWNER_H
#define VIGIL_TICK_OWNER_H

#include <stdbool.h>
#include <stdint.h>

struct tick_owner {
    volatile uint32_t busy; /* 1 while a CPU runs the work */
    uint64_t last_ms;       /* when the work last ran */
    uint32_t last_cpu;      /* which CPU ran it */
    uint64_t runs;          /* how many times it ran */
};

/* True when the caller now owns the work: nobody else ran it within period_ms before now_ms, and
 * no other CPU runs it at this moment. The caller runs the work and then calls
 * tick_owner_release. False: not due, or another CPU has it (nothing to do, never waits). */
bool tick_owner_try(struct tick_owner *t, uint64_t now_ms, uint64_t period_ms, uint32_t cpu);
void tick_owner_release(struct tick_owner *t);

#endif
