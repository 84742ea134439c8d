#include "hv/core/tick_owner.h"

bool tick_owner_try(struct tick_owner *t, uint64_t now_ms, uint64_t period_ms, uint32_t cpu) {
    /* A cheap look first: most ticks come when the work is not due. */
    uint64_t last = __atomic_load_n(&t->last_ms, __ATOMIC_ACQUIRE);
    if (t->runs && now_ms - last < period_ms && now_ms >= last)
        return false;
    if (__atomic_exchange_n(&t->busy, 1, __ATOMIC_ACQUIRE))
        return false;
    /* Again under the lock: the CPU that had it may just have run the work. A clock reading
     * behind last_ms (another CPU's TSC a little behind) counts as not due. */
    last = t->last_ms;
    if (t->runs && (now_ms < last || now_ms - last < period_ms)) {
        __atomic_store_n(&t->busy, 0, __ATOMIC_RELEASE);
        return false;
    }
    t->last_ms = now_ms;
    t->last_cpu = cpu;
    t->runs++;
    return true;
}

void tick_owner_release(struct tick_owner *t) {
    __atomic_store_n(&t->busy, 0, __ATOMIC_RELEASE);
}
