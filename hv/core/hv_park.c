/* At the hand-over to the OS: every CPU vigil does not run is parked (hv/core/cpu_park.h), and each
 * outcome is reported. A CPU that cannot be held would run the OS with full access to vigil's
 * memory: on_no_vmx decides (halt: the OS does not go on; boot: it does, reported as bare). */
#include "base/lib.h"
#include "hv/core/cpu_park.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"

extern const uint8_t cpu_park_code[], cpu_park_code_end[]; /* hv/core/cpu_park_entry.S */

static void report_outcome(const struct hv_cpu *t, const struct cpu_park_outcome *o) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    bool held = o->result == CPU_PARK_HELD;
    report_begin(r, held ? "cpu_parked" : "cpu_bare");
    report_u64(r, "cpu", t->index);
    report_u64(r, "apic_id", t->vcpu.apic_id);
    report_str(r, "why",
               t->launch_error ? hv_strerror(t->launch_error) : "never ran vigil's bring-up");
    if (held) {
        report_bool(r, "vmx_root", true);
        report_bool(r, "init_blocked", true);
        report_u64(r, "us", o->us);
    } else {
        report_str(r, "error", cpu_park_result_name(o->result));
        if (o->send_error)
            report_str(r, "apic", o->send_error);
        report_str(r, "on_no_vmx", hv.params.on_no_vmx ? "halt" : "boot");
    }
    report_end(r);
    hv_report_end(r);
}

bool hv_park_unvirtualized(struct hv_cpu *self) {
    struct cpu_park_env env = {
        .pages = (uint8_t *)(uintptr_t)hv.params.park_pages,
        .host_cr3 = hv.env.cr3,
        .entry = (uint64_t)(uintptr_t)cpu_park_here,
        .code = cpu_park_code,
        .code_len = (uint64_t)(cpu_park_code_end - cpu_park_code),
        .tsc_hz = hv_tsc_hz(),
    };
    bool all = true;
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        struct hv_cpu *t = hv.cpus[i];
        if (t == self || cpu_park_held(t))
            continue;
        struct cpu_park_outcome o;
        cpu_park_one(&env, t, &o);
        if (o.result == CPU_PARK_HELD) {
            hv.cpus_parked++;
        } else {
            hv.cpus_bare++;
            all = false;
        }
        report_outcome(t, &o);
    }
    return all;
}
