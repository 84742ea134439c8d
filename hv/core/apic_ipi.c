#include "hv/core/apic_ipi.h"

/* The CPU with APIC ID id, or ncpus. */
static uint32_t find(const struct apic_ipi_cpus *cpus, uint32_t id) {
    for (uint32_t i = 0; i < cpus->ncpus; i++) {
        if (cpus->apic_id(cpus->ctx, i) == id)
            return i;
    }
    return cpus->ncpus;
}

bool apic_ipi_plan(uint64_t icr, const struct apic_ipi_cpus *cpus, apic_ipi_act_fn act,
                   void *actx) {
    uint32_t dm = ICR_DELIVERY(icr);
    if (dm != ICR_DM_INIT && dm != ICR_DM_SIPI)
        return true;
    /* INIT level de-assert: a no-op on processors since the Pentium 4 (SDM 10.6.1); the x2APIC
     * does not even define it. */
    if (dm == ICR_DM_INIT && (icr & ICR_TRIGGER_LEVEL) && !(icr & ICR_LEVEL_ASSERT))
        return false;
    if (icr & ICR_DEST_LOGICAL)
        return true;
    uint32_t sh = ICR_SHORTHAND(icr);
    if (sh == ICR_SH_SELF || sh == ICR_SH_ALL)
        return true; /* INIT to self is not a thing firmware or OS does; leave it to the hardware */
    if (sh == ICR_SH_NONE) {
        uint32_t i = find(cpus, ICR_DEST(icr));
        if (i == cpus->ncpus)
            return true; /* a CPU vigil does not know */
        enum apic_cpu_state st = cpus->state(cpus->ctx, i);
        if (st == APIC_CPU_PARKED) {
            act(actx, i, APIC_IPI_DROP);
            return false;
        }
        if (st == APIC_CPU_UP && dm == ICR_DM_INIT) {
            act(actx, i, APIC_IPI_EMULATE_INIT);
            return false;
        }
        if (st == APIC_CPU_UP && dm == ICR_DM_SIPI)
            act(actx, i, APIC_IPI_RECORD_SIPI);
        return true;
    }
    /* All but self. A SIPI reaches only CPUs waiting for one; a parked CPU is not (SDM 23.8:
     * INIT is blocked in VMX root, so it never waits for SIPI). */
    if (dm == ICR_DM_SIPI) {
        for (uint32_t i = 0; i < cpus->ncpus; i++) {
            if (i != cpus->self && cpus->state(cpus->ctx, i) == APIC_CPU_UP)
                act(actx, i, APIC_IPI_RECORD_SIPI);
        }
        return true;
    }
    for (uint32_t i = 0; i < cpus->ncpus; i++) {
        if (i == cpus->self)
            continue;
        enum apic_cpu_state st = cpus->state(cpus->ctx, i);
        act(actx, i,
            st == APIC_CPU_UP       ? APIC_IPI_EMULATE_INIT
            : st == APIC_CPU_PARKED ? APIC_IPI_DROP
                                    : APIC_IPI_REAL_INIT);
    }
    return false;
}

uint32_t apic_ipi_wait_inits(uint32_t ncpus, bool (*pending)(void *ctx, uint32_t i),
                             uint64_t deadline, uint64_t (*now)(void *ctx),
                             void (*relax)(void *ctx), void *ctx) {
    uint32_t left = 0;
    for (uint32_t i = 0; i < ncpus; i++) {
        while (pending(ctx, i) && now(ctx) < deadline)
            relax(ctx);
        if (pending(ctx, i))
            left++;
    }
    return left;
}
