/* Carrying out apic_ipi_plan on the running hypervisor (hv/core/apic_ipi.h). */
#include "hv/core/apic_ipi.h"

#include "base/hw.h"
#include "base/hw_safe.h"
#include "base/lib.h"
#include "hv/arch/vcpu.h"
#include "hv/arch/x86.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"

static uint64_t tsc_now(void *ctx) {
    (void)ctx;
    return hw_rdtsc();
}

static void relax_cpu(void *ctx) {
    (void)ctx;
    hw_pause();
}

#define INIT_REPORTS_PER_CPU 16

static uint32_t cpu_apic_id(const void *ctx, uint32_t i) {
    (void)ctx;
    return hv.cpus[i]->vcpu.apic_id;
}

static enum apic_cpu_state cpu_state(const void *ctx, uint32_t i) {
    (void)ctx;
    return hv_cpu_ipi_state(hv.cpus[i]);
}

struct icr_write {
    struct hv_cpu *from;
    uint64_t icr;
};

static void report_dropped(const struct icr_write *w, const struct hv_cpu *t) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    const char *kind = ICR_DELIVERY(w->icr) == ICR_DM_INIT ? "init" : "sipi";
    report_begin(r, "ipi_dropped");
    report_str(r, "ipi", kind);
    report_u64(r, "from_cpu", w->from->index);
    report_u64(r, "to_cpu", t->index);
    report_u64(r, "apic_id", t->vcpu.apic_id);
    report_str(r, "why", "the target is parked by vigil");
    report_end(r);
    hv_report_end(r);
}

static void act(void *ctx, uint32_t i, enum apic_ipi_action a) {
    struct icr_write *w = ctx;
    struct hv_cpu *t = hv.cpus[i];
    switch (a) {
    case APIC_IPI_EMULATE_INIT:
        apic_ipi_request_init(t, w->from->index + 1);
        /* NMI, physical destination: the target exits (NMI exiting) and applies the INIT. */
        hw_wrmsr_safe(MSR_X2APIC_ICR, ((uint64_t)t->vcpu.apic_id << 32) | (ICR_DM_NMI << 8));
        break;
    case APIC_IPI_REAL_INIT:
        /* Broadcast INIT reaching a CPU vigil does not run: send it the real INIT. */
        __atomic_add_fetch(&hv.real_inits, 1, __ATOMIC_RELAXED);
        hw_wrmsr_safe(MSR_X2APIC_ICR,
                      (w->icr & ~(3ull << 18) & 0xFFFFFFFFull) | ((uint64_t)t->vcpu.apic_id << 32));
        break;
    case APIC_IPI_DROP:
        __atomic_add_fetch(&t->ipis_dropped, 1, __ATOMIC_RELAXED);
        report_dropped(w, t);
        break;
    case APIC_IPI_RECORD_SIPI:
        /* Before the real SIPI goes out (the caller writes the ICR after the plan): a target
         * that takes that SIPI as a SIPI exit finds the record and clears it. */
        __atomic_store_n(&t->sipi_owed, 0x100u | ICR_VECTOR(w->icr), __ATOMIC_SEQ_CST);
        break;
    }
}

/* CPU i still has to apply an INIT that `ctx` (the sending CPU) emulated for it. */
static bool init_pending_from(void *ctx, uint32_t i) {
    const struct hv_cpu *from = ctx;
    const struct hv_cpu *t = hv.cpus[i];
    return __atomic_load_n(&t->init_request, __ATOMIC_SEQ_CST) &&
           __atomic_load_n(&t->init_from, __ATOMIC_RELAXED) == from->index + 1;
}

void apic_ipi_icr_write(struct hv_cpu *c, uint64_t icr) {
    struct apic_ipi_cpus cpus = {hv.ncpus, c->index, NULL, cpu_apic_id, cpu_state};
    struct icr_write w = {c, icr};
    if (!apic_ipi_plan(icr, &cpus, act, &w)) {
        /* A real INIT has reached its target once the ICR write is done (SDM 10.6.1, delivery
         * status): wait until every target of an emulated one has put its guest into
         * wait-for-SIPI, so that a SIPI written right after finds it waiting. Linux sends it with
         * no delay on current processors; a SIPI that arrives before is dropped and the CPU never
         * starts. Bounded (10 ms): a target that is parked, or sending an INIT to this CPU at
         * the same time, is not waited for longer. */
        if (ICR_DELIVERY(icr) == ICR_DM_INIT)
            apic_ipi_wait_inits(hv.ncpus, init_pending_from, hw_rdtsc() + hv_tsc_hz() / 100,
                                tsc_now, relax_cpu, c);
        return;
    }
    if (ICR_DELIVERY(icr) == ICR_DM_INIT)
        __atomic_add_fetch(&hv.real_inits, 1, __ATOMIC_RELAXED);
    hw_wrmsr_safe(MSR_X2APIC_ICR, icr);
}

void apic_ipi_report_init(struct hv_cpu *c, uint32_t from) {
    if (!hv.os_running || c->init_reports >= INIT_REPORTS_PER_CPU)
        return;
    c->init_reports++;
    struct report *r = hv_report_begin();
    if (!r)
        return;
    const char *state = c->vcpu.sipi_state == VCPU_WAIT_FOR_SIPI ? "wait_for_sipi" : "running";
    report_begin(r, "init_received");
    report_u64(r, "cpu", c->index);
    report_u64(r, "apic_id", c->vcpu.apic_id);
    if (from == APIC_INIT_FROM_TEST)
        report_str(r, "from", "test_stall_boot_cpu (test-only fault injection)");
    else if (from)
        report_u64(r, "from_cpu", from - 1);
    else
        report_str(r, "from", "init exit");
    report_bool(r, "boot_cpu", c->index == hv.params.bsp_index);
    report_str(r, "state", state);
    report_u64(r, "inits", c->vcpu.init_count);
    report_end(r);
    hv_report_end(r);
}

void apic_ipi_request_init(struct hv_cpu *t, uint32_t from) {
    /* A SIPI recorded before this INIT is not for it (a SIPI to a running CPU is ignored). */
    __atomic_store_n(&t->sipi_owed, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&t->init_from, from, __ATOMIC_RELAXED);
    __atomic_store_n(&t->init_request, 1, __ATOMIC_SEQ_CST);
}

bool apic_ipi_take_init(struct hv_cpu *c, struct guest_regs *g) {
    if (!__atomic_load_n(&c->init_request, __ATOMIC_SEQ_CST))
        return false;
    c->vcpu.init_count++;
    vcpu_init_state(&c->vcpu, g);
    apic_ipi_report_init(c, __atomic_exchange_n(&c->init_from, 0, __ATOMIC_RELAXED));
    /* Cleared only now: the sender waits for it (above). An INIT requested while this one was
     * being applied is this one: a second INIT before any SIPI changes nothing. */
    __atomic_store_n(&c->init_request, 0, __ATOMIC_SEQ_CST);
    return true;
}

void apic_ipi_start_owed(struct hv_cpu *c) {
    if (c->vcpu.sipi_state != VCPU_WAIT_FOR_SIPI)
        return;
    /* A SIPI sent while this CPU was in VMX root: the real one found no CPU waiting for it and
     * is gone (SDM 11.4.4), so the guest starts now as that SIPI would have started it. One
     * sent from here on reaches the guest waiting in VMX non-root, as a SIPI exit. */
    uint32_t owed = __atomic_exchange_n(&c->sipi_owed, 0, __ATOMIC_SEQ_CST);
    if (!owed)
        return;
    vcpu_start_at_sipi(&c->vcpu, (uint8_t)owed);
    __atomic_add_fetch(&hv.late_sipis, 1, __ATOMIC_RELAXED);
    hw_nmi_unblock(); /* as after a SIPI exit (vmexit_handle_sipi) */
}

void apic_ipi_sipi_taken(struct hv_cpu *c) {
    __atomic_store_n(&c->sipi_owed, 0, __ATOMIC_SEQ_CST);
}
