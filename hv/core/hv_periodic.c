/* The hypervisor's periodic work, run on whichever CPU's VMX-preemption-timer exit finds it due
 * (hv/core/tick_owner.h): the hook check (hv/ept/ept_guard.h), the stall watch
 * (hv/core/cpu_watch.h), the introspection tick (hv/intro/hv_vmi.h) and the heartbeat. Any one CPU
 * held out of VM exits (for instance in wait-for-SIPI) cannot silence it while another CPU still
 * takes timer exits. */
#include "hv/arch/vcpu.h"
#include "hv/core/cpu_watch.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"
#include "hv/core/intro_hooks.h"

static const char *sipi_state_name(enum vcpu_sipi_state s) {
    return s == VCPU_WAIT_FOR_SIPI ? "wait_for_sipi" : "running";
}

static void report_watch(const struct hv_cpu *by, const struct hv_cpu *t, enum cpu_watch_change ch,
                         uint64_t silent_ms) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    bool stalled = ch == CPU_WATCH_STALLED;
    report_begin(r, stalled ? "cpu_stalled" : "cpu_resumed");
    report_u64(r, "cpu", t->index);
    report_u64(r, "apic_id", t->vcpu.apic_id);
    report_bool(r, "boot_cpu", t->index == hv.params.bsp_index);
    report_str(r, "state", sipi_state_name(t->vcpu.sipi_state));
    report_str(r, "last_exit", vcpu_exit_name(t->last_exit_reason));
    report_u64(r, "silent_ms", silent_ms);
    report_u64(r, "seen_by_cpu", by->index);
    report_end(r);
    hv_report_end(r);
}

/* Every virtualized CPU must take an exit at least every timer period; tell the ones that stop
 * (hv/core/cpu_watch.h). */
static void watch_cpus(const struct hv_cpu *by, uint64_t now) {
    uint64_t limit = cpu_watch_limit_ms(hv.params.heartbeat_s);
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        struct hv_cpu *t = hv.cpus[i];
        if (!t->up || t->parked)
            continue;
        uint64_t last = hv_clock_ms(__atomic_load_n(&t->last_exit_tsc, __ATOMIC_ACQUIRE));
        uint64_t since = t->watch.since_ms;
        enum cpu_watch_change ch = cpu_watch_look(&t->watch, now, last, limit);
        if (ch == CPU_WATCH_STALLED)
            report_watch(by, t, ch, now - last);
        else if (ch == CPU_WATCH_RESUMED)
            report_watch(by, t, ch, last > since ? last - since : 0);
    }
}

/* The periodic work's pace: about once a second, whichever CPU runs it. */
#define PERIODIC_MS 875

void hv_periodic(struct hv_cpu *c) {
    uint64_t now = hv_uptime_ms();
    if (!tick_owner_try(&hv.tick, now, PERIODIC_MS, c->index))
        return;
    /* The hooks' bytes, checked on every tick too: EPT does not see device writes, and another
     * CPU may write through a translation cached before its page lost the write right. */
    ept_guard_check(&hv.guard, &c->ept);
    watch_cpus(c, now);
    hv_vmi_tick(c);
    hv_heartbeat(c);
    tick_owner_release(&hv.tick);
}
