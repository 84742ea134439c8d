/* Watching that every virtualized CPU still takes VM exits.
 *
 * A virtualized CPU exits at least once per VMX-preemption-timer period (about a second) while it
 * runs or halts. One that does not is stopped where vigil cannot see it: in wait-for-SIPI after an
 * INIT (the timer does not count there, SDM 25.5.1), or stuck in VMX root. The tick owner
 * (hv/core/tick_owner.h) looks at every CPU's last exit on each run of the periodic work and
 * reports a CPU silent for longer than the limit once (cpu_stalled), and once more when it exits
 * again (cpu_resumed). Pure logic: the caller passes the times. */
#ifndef VIGIL_CPU_WATCH_H
#define VIGIL_CPU_WATCH_H

#include <stdbool.h>
#include <stdint.h>

/* A CPU is stalled after this many heartbeat intervals without an exit (heartbeat off: of the
 * default 10 s interval). */
#define CPU_WATCH_INTERVALS 3u
#define CPU_WATCH_DEFAULT_INTERVAL_MS 10000u

enum cpu_watch_change { CPU_WATCH_SAME = 0, CPU_WATCH_STALLED, CPU_WATCH_RESUMED };

struct cpu_watch {
    bool stalled;      /* reported stalled, not yet resumed */
    uint64_t since_ms; /* last exit seen when it was reported stalled */
    uint64_t stalls;   /* how many times it stalled */
};

/* The silence after which a CPU counts as stalled, for a heartbeat interval in seconds. */
uint64_t cpu_watch_limit_ms(uint32_t heartbeat_s);

/* One look at one CPU: its last exit at last_exit_ms, now at now_ms (a last exit after now, from
 * a CPU whose clock runs a little ahead, is no silence). Returns what changed since the last look:
 * STALLED once when the silence passes limit_ms, RESUMED once when an exit came after that. */
enum cpu_watch_change cpu_watch_look(struct cpu_watch *w, uint64_t now_ms, uint64_t last_exit_ms,
                                     uint64_t limit_ms);

#endif
