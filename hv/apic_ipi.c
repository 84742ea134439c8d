#include "apic_ipi.h"

void apic_ipi_plan(uint64_t icr, uint32_t self, const uint32_t *apic_ids, const bool *up,
                   uint32_t ncpus, struct apic_ipi_plan *plan) {
    plan->forward = true;
    plan->init_targets = 0;
    if (ICR_DELIVERY(icr) != ICR_DM_INIT)
        return;
    /* INIT level de-assert: a no-op on processors since the Pentium 4 (SDM 10.6.1); the x2APIC
     * does not even define it. */
    if ((icr & ICR_TRIGGER_LEVEL) && !(icr & ICR_LEVEL_ASSERT)) {
        plan->forward = false;
        return;
    }
    if (icr & ICR_DEST_LOGICAL)
        return;
    uint32_t sh = ICR_SHORTHAND(icr);
    if (sh == ICR_SH_SELF || sh == ICR_SH_ALL)
        return; /* INIT to self is not a thing firmware or OS does; leave it to the hardware */
    bool all_emulated = true;
    for (uint32_t i = 0; i < ncpus && i < 64; i++) {
        bool target = sh == ICR_SH_OTHERS ? i != self : apic_ids[i] == ICR_DEST(icr);
        if (!target)
            continue;
        if (up[i])
            plan->init_targets |= 1ull << i;
        else
            all_emulated = false;
    }
    if (sh == ICR_SH_NONE && plan->init_targets == 0)
        return; /* a CPU vigil does not know: forward */
    /* For a broadcast with CPUs vigil does not run, vigil forwards per CPU (below). */
    plan->forward = !all_emulated && sh == ICR_SH_NONE;
}

uint64_t apic_ipi_wait_inits(volatile uint32_t *const *pending, uint64_t targets, uint32_t ncpus,
                             uint64_t deadline, uint64_t (*now)(void *ctx),
                             void (*relax)(void *ctx), void *ctx) {
    uint64_t left = 0;
    for (uint32_t i = 0; i < ncpus && i < 64; i++) {
        if (!(targets & (1ull << i)))
            continue;
        while (__atomic_load_n(pending[i], __ATOMIC_SEQ_CST) && now(ctx) < deadline)
            relax(ctx);
        if (__atomic_load_n(pending[i], __ATOMIC_SEQ_CST))
            left |= 1ull << i;
    }
    return left;
}
