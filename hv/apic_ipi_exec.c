/* Carrying out apic_ipi_plan on the running hypervisor (hv/apic_ipi.h). */
#include "apic_ipi.h"

#include "hv_report.h"
#include "hv_state.h"
#include "hw.h"
#include "hw_safe.h"
#include "lib.h"
#include "vmx_sipi.h"

static uint64_t tsc_now(void *ctx) {
    (void)ctx;
    return hw_rdtsc();
}

static void relax_cpu(void *ctx) {
    (void)ctx;
    hw_pause();
}

void apic_ipi_icr_write(struct hv_cpu *c, uint64_t icr) {
    uint32_t apic_ids[HV_MAX_CPUS] = {0};
    bool up[HV_MAX_CPUS] = {false};
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        apic_ids[i] = hv.cpus[i]->vcpu.apic_id;
        up[i] = hv.cpus[i]->up;
    }
    struct apic_ipi_plan plan;
    apic_ipi_plan(icr, c->index, apic_ids, up, hv.ncpus, &plan);
    if (plan.forward) {
        hw_wrmsr_safe(MSR_X2APIC_ICR, icr);
        return;
    }
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        struct hv_cpu *t = hv.cpus[i];
        if (ICR_SHORTHAND(icr) == ICR_SH_OTHERS && i != c->index && !t->up) {
            /* Broadcast INIT reaching a CPU vigil does not run: send it the real INIT. */
            hw_wrmsr_safe(MSR_X2APIC_ICR, (icr & ~(3ull << 18) & 0xFFFFFFFFull) |
                                              ((uint64_t)t->vcpu.apic_id << 32));
            continue;
        }
        if (!(plan.init_targets & (1ull << i)))
            continue;
        __atomic_store_n(&t->init_request, 1, __ATOMIC_SEQ_CST);
        /* NMI, physical destination: the target exits (NMI exiting) and applies the INIT. */
        hw_wrmsr_safe(MSR_X2APIC_ICR, ((uint64_t)t->vcpu.apic_id << 32) | (ICR_DM_NMI << 8));
    }
    /* A real INIT has reached its target once the ICR write is done (SDM 10.6.1, delivery
     * status): wait until every target has put its guest into wait-for-SIPI, so that a SIPI
     * written right after finds it waiting. Linux sends it with no delay on current processors;
     * a SIPI that arrives before is dropped and the CPU never starts. Bounded (10 ms): a target
     * that is parked, or sending an INIT to this CPU at the same time, is not waited for. */
    volatile uint32_t *pending[HV_MAX_CPUS];
    for (uint32_t i = 0; i < hv.ncpus; i++)
        pending[i] = &hv.cpus[i]->init_request;
    apic_ipi_wait_inits(pending, plan.init_targets, hv.ncpus, hw_rdtsc() + hv_tsc_hz() / 100,
                        tsc_now, relax_cpu, NULL);
}

bool apic_ipi_take_init(struct hv_cpu *c, struct guest_regs *g) {
    if (!__atomic_load_n(&c->init_request, __ATOMIC_SEQ_CST))
        return false;
    c->vcpu.init_count++;
    vmx_sipi_write_init_state(&c->vcpu, g);
    /* Cleared only now: the sender waits for it (above). An INIT requested while this one was
     * being applied is this one: a second INIT before any SIPI changes nothing. */
    __atomic_store_n(&c->init_request, 0, __ATOMIC_SEQ_CST);
    return true;
}
