#include "hv/core/cpu_watch.h"

uint64_t cpu_watch_limit_ms(uint32_t heartbeat_s) {
    uint64_t interval = heartbeat_s ? (uint64_t)heartbeat_s * 1000 : CPU_WATCH_DEFAULT_INTERVAL_MS;
    return interval * CPU_WATCH_INTERVALS;
}

enum cpu_watch_change cpu_watch_look(struct cpu_watch *w, uint64_t now_ms, uint64_t last_exit_ms,
                                     uint64_t limit_ms) {
    if (w->stalled) {
        if (last_exit_ms == w->since_ms)
            return CPU_WATCH_SAME;
        w->stalled = false;
        return CPU_WATCH_RESUMED;
    }
    if (last_exit_ms >= now_ms || now_ms - last_exit_ms <= limit_ms)
        return CPU_WATCH_SAME;
    w->stalled = true;
    w->since_ms = last_exit_ms;
    w->stalls++;
    return CPU_WATCH_STALLED;
}
