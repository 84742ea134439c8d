/* The VM-exit loop body: the vCPU backend's exit stub calls vmexit_main with the guest's
 * registers; the backend routes the exit (vcpu_handle_exit) to its handlers and to the core's
 * callbacks below (struct vcpu_ops, hv/arch/vcpu.h); vmexit_main carries out the decision and
 * prepares the next entry. Also: hypervisor calls from vigil's own code running as the guest during
 * bring-up, and the heartbeat. */
#include "base/fmt.h"
#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vcpu.h"
#include "hv/arch/x86.h"
#include "hv/core/apic_ipi.h"
#include "hv/core/ept_kick.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"
#include "hv/core/intro_hooks.h"

int hv_call(uint32_t fn);
__attribute__((noreturn)) void hv_park_cpu(void);

/* CPUID leaf of a hypervisor call: honoured only when the CPUID instruction is vigil's own code
 * (guest RIP inside the hypervisor image), i.e. from hv_cpu_start/hv_bringup_done after launch.
 * For anything else it is an ordinary CPUID. */
#define HVCALL_LEAF 0x56494700u
#define HVCALL_CPU_UP 1
#define HVCALL_BRINGUP_DONE 2
#define HVCALL_REPORT 3
#define HVCALL_REPORT_MAX 4096

int hv_call_data(uint32_t fn, const void *data, uint64_t len);
int hv_call_data(uint32_t fn, const void *data, uint64_t len) {
    uint32_t a = HVCALL_LEAF | fn, b, c = 0, d = 0;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "+d"(d) : "S"(data), "D"(len) : "memory");
    return (int)a;
}

int hv_call(uint32_t fn) {
    uint32_t a = HVCALL_LEAF | fn, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
    return (int)a;
}

static void report_cpu_up(struct hv_cpu *c) {
    struct vcpu *v = &c->vcpu;
    struct report *r = hv_report_begin();
    if (!r)
        return;
    report_begin(r, "cpu_up");
    report_u64(r, "cpu", c->index);
    report_u64(r, "apic_id", v->apic_id);
    vcpu_report_setup(r, v);
    report_end(r);
    hv_report_end(r);
}

static void report_hv_up(bool sync_tested, bool sync_ok, uint64_t sync_us) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    report_begin(r, "hv_up");
    report_u64(r, "cpus", hv.cpus_up);
    report_u64(r, "failed", hv.cpus_failed);
    report_u64(r, "heartbeat_s", hv.params.heartbeat_s);
    report_bool(r, "stealth", hv.params.stealth != 0);
    report_hex(r, "image_base", hv.params.image_base);
    report_u64(r, "image_bytes", hv.params.image_pages * 4096);
    report_u64(r, "heap_used", hv.heap.used);
    report_obj_begin(r, "ept_pages");
    report_u64(r, "1g", hv.ept.stats.pages_1g);
    report_u64(r, "2m", hv.ept.stats.pages_2m);
    report_u64(r, "4k", hv.ept.stats.pages_4k);
    report_u64(r, "tables", hv.ept.stats.tables);
    report_obj_end(r);
    if (sync_tested) {
        /* Every CPU picked up a new EPT generation within that time (hv/core/ept_kick.h). */
        report_obj_begin(r, "ept_sync");
        report_bool(r, "ok", sync_ok);
        report_u64(r, "us", sync_us);
        report_obj_end(r);
    }
    report_end(r);
    hv_report_end(r);
}

/* hv_bringup_done on a BSP whose launch failed runs unvirtualized and reports directly. */
void hv_report_up_direct(void) {
    report_hv_up(false, false, 0);
}

static inline struct hv_cpu *cpu_of(struct vcpu *v) {
    return hv.cpus[v->index];
}

static bool try_hv_call(struct vcpu *v, struct guest_regs *g) {
    struct hv_cpu *c = cpu_of(v);
    if (((uint32_t)g->rax & 0xFFFFFF00u) != HVCALL_LEAF || hv.os_running)
        return false;
    uint64_t rip = vcpu_rip(v);
    uint64_t lo = hv.params.image_base, hi = lo + hv.params.image_pages * 4096;
    if (rip < lo || rip >= hi)
        return false;
    switch ((uint32_t)g->rax & 0xFF) {
    case HVCALL_CPU_UP:
        __atomic_add_fetch(&hv.cpus_up, 1, __ATOMIC_SEQ_CST);
        report_cpu_up(c);
        break;
    case HVCALL_BRINGUP_DONE: {
        uint64_t us = 0;
        bool tested = hv.cpus_up > 1, ok = tested && hv_ept_kick_selftest(c, &us);
        report_hv_up(tested, ok, us);
        hv.last_heartbeat_ms = hv_uptime_ms();
        break;
    }
    case HVCALL_REPORT: {
        /* Only vigil's loader calls this, during bring-up, while guest linear addresses are the
         * firmware's identity map; still, the range is checked against what the host maps. */
        uint64_t p = g->rsi, n = g->rdi;
        if (n <= HVCALL_REPORT_MAX && p < hv.env.mapped && n <= hv.env.mapped - p)
            hv_report_raw((const char *)(uintptr_t)p, n);
        break;
    }
    }
    g->rax = 0;
    vcpu_advance_rip(v);
    return true;
}

/* Exit costs summed over the CPUs for the heartbeat. */
struct exit_costs {
    uint64_t total[VCPU_EXIT_COUNT], max[VCPU_EXIT_COUNT];
    uint64_t longest;        /* ticks of the longest single exit on any CPU */
    uint32_t longest_reason; /* its exit kind */
    uint32_t longest_cpu;
};

static uint64_t ticks_us(uint64_t ticks) {
    uint64_t per_us = hv_tsc_hz() / 1000000;
    return ticks / (per_us ? per_us : 1);
}

static void report_heartbeat(struct report *r, const struct hv_cpu *by, uint64_t now,
                             const uint64_t *totals, uint64_t all, uint64_t inits, uint64_t sipis,
                             uint64_t kicks_taken, uint32_t stalled, uint64_t stalled_ms,
                             const struct exit_costs *cost) {
    report_begin(r, "heartbeat");
    report_u64(r, "uptime_s", now / 1000);
    report_u64(r, "cpus", hv.cpus_up);
    /* The CPU whose timer exit wrote it (any CPU: hv/core/tick_owner.h). */
    report_u64(r, "by_cpu", by->index);
    if (stalled) {
        /* How long the longest-silent of them has taken no exit (hv/core/cpu_watch.h). */
        report_u64(r, "cpus_stalled", stalled);
        report_u64(r, "stalled_s", stalled_ms / 1000);
    }
    if (hv.cpus_parked)
        report_u64(r, "cpus_parked", hv.cpus_parked);
    report_u64(r, "total_exits", all);
    report_obj_begin(r, "exits");
    for (unsigned i = 0; i < VCPU_EXIT_COUNT; i++) {
        if (totals[i])
            report_u64(r, vcpu_exit_name(i), totals[i]);
    }
    report_obj_end(r);
    report_obj_begin(r, "exit_cost_us");
    for (unsigned i = 0; i < VCPU_EXIT_COUNT; i++) {
        if (!totals[i])
            continue;
        report_obj_begin(r, vcpu_exit_name(i));
        report_u64(r, "total", ticks_us(cost->total[i]));
        report_u64(r, "max", ticks_us(cost->max[i]));
        report_obj_end(r);
    }
    report_obj_end(r);
    report_obj_begin(r, "longest_exit");
    report_str(r, "reason", vcpu_exit_name(cost->longest_reason));
    report_u64(r, "us", ticks_us(cost->longest));
    report_u64(r, "cpu", cost->longest_cpu);
    report_obj_end(r);
    report_obj_begin(r, "init_sipi");
    report_u64(r, "inits", inits);
    report_u64(r, "sipis", sipis);
    report_u64(r, "real_inits", __atomic_load_n(&hv.real_inits, __ATOMIC_RELAXED));
    report_u64(r, "late_sipis", __atomic_load_n(&hv.late_sipis, __ATOMIC_RELAXED));
    report_obj_end(r);
    report_obj_begin(r, "ept_kicks");
    report_u64(r, "sent", __atomic_load_n(&hv.ept_kicks_sent, __ATOMIC_RELAXED));
    report_u64(r, "taken", kicks_taken);
    report_u64(r, "failed", __atomic_load_n(&hv.ept_kicks_failed, __ATOMIC_RELAXED));
    if (hv.ept_kick_error)
        report_str(r, "error", hv.ept_kick_error);
    report_obj_end(r);
    report_end(r);
}

/* Runs on the tick owner only (hv_periodic). */
void hv_heartbeat(struct hv_cpu *c) {
    if (hv.params.heartbeat_s == 0)
        return;
    uint64_t now = hv_uptime_ms();
    if (now - hv.last_heartbeat_ms < (uint64_t)hv.params.heartbeat_s * 1000)
        return;
    hv.last_heartbeat_ms = now;
    uint64_t totals[VCPU_EXIT_COUNT];
    lib_memset(totals, 0, sizeof(totals));
    uint64_t all = 0, inits = 0, sipis = 0, kicks_taken = 0;
    uint32_t stalled = 0;
    uint64_t stalled_ms = 0;
    static struct exit_costs cost; /* one tick owner at a time: too large for a stack */
    lib_memset(&cost, 0, sizeof(cost));
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        for (unsigned r = 0; r < VCPU_EXIT_COUNT; r++) {
            const struct hv_cpu *ci = hv.cpus[i];
            totals[r] += ci->exit_counts[r];
            cost.total[r] += ci->exit_tsc_total[r];
            if (ci->exit_tsc_max[r] > cost.max[r])
                cost.max[r] = ci->exit_tsc_max[r];
            if (ci->exit_tsc_max[r] > cost.longest) {
                cost.longest = ci->exit_tsc_max[r];
                cost.longest_reason = r;
                cost.longest_cpu = i;
            }
        }
        all += hv.cpus[i]->vcpu.exits;
        inits += hv.cpus[i]->vcpu.init_count;
        sipis += hv.cpus[i]->vcpu.sipi_count;
        kicks_taken += __atomic_load_n(&hv.cpus[i]->ept_kicks_taken, __ATOMIC_RELAXED);
        if (hv.cpus[i]->watch.stalled) {
            uint64_t last = hv_clock_ms(hv.cpus[i]->last_exit_tsc);
            stalled++;
            if (now > last && now - last > stalled_ms)
                stalled_ms = now - last;
        }
    }
    struct report *w = hv_report_begin();
    if (w) {
        report_heartbeat(w, c, now, totals, all, inits, sipis, kicks_taken, stalled, stalled_ms,
                         &cost);
        hv_report_end(w);
    }
    ept_hide_report_summary(&hv.hide);
    ept_guard_report_summary(&hv.guard);
}

static void reset_platform(void) {
    /* PCI reset control register (0xCF9): full reset; then the keyboard controller pulse. */
    hw_outb(0xCF9, 0x02);
    hw_outb(0xCF9, 0x06);
    hw_outb(0x64, 0xFE);
    hv_park_cpu();
}

/* The core's side of the exits (struct vcpu_ops, hv/arch/vcpu.h). */

/* vigil's own NMIs: the INIT is applied and the EPT synced before the next entry. */
static bool on_nmi(struct vcpu *v) {
    struct hv_cpu *c = cpu_of(v);
    return hv_ept_kick_take(c) | (c->init_request != 0);
}

static bool on_breakpoint(struct vcpu *v, struct guest_regs *g) {
    return hv_live_breakpoint(cpu_of(v), g);
}

static void on_init_taken(struct vcpu *v) {
    apic_ipi_report_init(cpu_of(v), 0);
}

static void on_sipi_taken(struct vcpu *v) {
    apic_ipi_sipi_taken(cpu_of(v));
}

static bool on_msr_write(struct vcpu *v, uint32_t msr, uint64_t value) {
    if (msr != MSR_X2APIC_ICR)
        return false;
    apic_ipi_icr_write(cpu_of(v), value);
    return true;
}

static enum vmexit_action on_npt_violation(struct vcpu *v, struct guest_regs *g) {
    struct hv_cpu *c = cpu_of(v);
    if (ept_handle_violation(&hv.perm, &c->ept, NULL) == EPT_EXIT_RESUME)
        return VMEXIT_RESUME;
    struct report *r = hv_report_begin();
    if (r) {
        vcpu_dump(r, "EPT violation outside the map", v, g);
        hv_report_end(r);
    }
    return VMEXIT_PARK;
}

static enum vmexit_action on_npt_step(struct vcpu *v, struct guest_regs *g) {
    (void)g;
    return ept_handle_mtf(&hv.perm, &cpu_of(v)->ept) == EPT_EXIT_RESUME ? VMEXIT_RESUME
                                                                        : VMEXIT_PARK;
}

static void on_npt_misconfig(struct vcpu *v, struct report *r) {
    (void)v;
    ept_handle_misconfig(&hv.ept, r);
}

/* Right before VMLAUNCH: from here on the CPU can exit at any time. */
static void on_launching(struct vcpu *v) {
    struct hv_cpu *c = cpu_of(v);
    c->up = true;
    c->ept.running = true;
    c->last_exit_tsc = hw_rdtsc(); /* the watch counts its silence from the launch */
    ept_invept(&hv.ept);
}

static void on_launch_failed(struct vcpu *v) {
    struct hv_cpu *c = cpu_of(v);
    c->up = false;
    c->ept.running = false;
}

__attribute__((noreturn)) static void on_resume_failed(struct vcpu *v, uint64_t err) {
    struct hv_cpu *c = cpu_of(v);
    struct report *r = hv_report_begin();
    if (r) {
        report_begin(r, "hv_fault");
        report_u64(r, "cpu", c->index);
        report_str(r, "what", "VMRESUME failed");
        report_u64(r, "vm_instruction_error", err);
        report_str(r, "action", "cpu parked");
        report_end(r);
    }
    hv_report_end(r);
    c->parked = true;
    hv_park_cpu();
}

static const struct vcpu_ops core_ops = {
    .hypercall = try_hv_call,
    .nmi = on_nmi,
    .breakpoint = on_breakpoint,
    .init_taken = on_init_taken,
    .sipi_taken = on_sipi_taken,
    .msr_write = on_msr_write,
    .npt_violation = on_npt_violation,
    .npt_step = on_npt_step,
    .npt_misconfig = on_npt_misconfig,
    .launching = on_launching,
    .launch_failed = on_launch_failed,
    .resume_failed = on_resume_failed,
};

/* Guest MTRR writes re-type the EPT map (SDM 11.11: EPT memory types replace the MTRRs' role). */
static void mtrr_hook(struct vcpu *v, uint32_t msr, uint64_t value) {
    ept_perm_mtrr_write(&hv.perm, &cpu_of(v)->ept, msr, value);
}

/* Timer exits on every CPU; the periodic work runs on whichever CPU finds it due (hv_periodic,
 * hv/core/tick_owner.h). The timer also fires every few milliseconds while report bytes wait for
 * the UART (report_tick below): those ticks are only drain ticks (closer than 7/8 of the reload to
 * this CPU's last full tick). */
static void heartbeat_hook(struct vcpu *v) {
    struct hv_cpu *c = cpu_of(v);
    uint64_t now = hw_rdtsc();
    if (c->last_tick_tsc && now - c->last_tick_tsc < hv_tsc_hz() - hv_tsc_hz() / 8)
        return;
    c->last_tick_tsc = now;
    hv_periodic(c);
}

void hv_vcpu_setup(struct hv_cpu *c) {
    struct vcpu *v = &c->vcpu;
    v->ops = &core_ops;
    v->stealth = hv.params.stealth != 0;
    v->report_port = hv.params.serial_port;
    v->report = &hv_report_out;
    v->heartbeat = heartbeat_hook;
    v->mtrr_hook = mtrr_hook;
}

static void report_reset(struct hv_cpu *c) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    report_begin(r, "reset");
    report_u64(r, "cpu", c->index);
    report_str(r, "reason", "guest triple fault");
    report_end(r);
    hv_report_end(r);
}

static void report_parked(struct hv_cpu *c, enum vcpu_exit kind) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    report_begin(r, "cpu_parked");
    report_u64(r, "cpu", c->index);
    report_str(r, "exit", vcpu_exit_name(kind));
    report_end(r);
    hv_report_end(r);
}

/* While report bytes wait, this CPU's timer is shortened to one UART FIFO's worth of time, so the
 * pump runs often enough to keep the UART busy even when the guest makes no other exits. */
static void report_tick(struct hv_cpu *c) {
    vcpu_timer_drain(&c->vcpu, hv_report_backlog(), hv_report_drain_period_tsc());
}

static void account_exit(struct hv_cpu *c, enum vcpu_exit kind, uint64_t t0) {
    uint64_t dt = hv_clock_tsc() - t0;
    c->exit_tsc_total[kind] += dt;
    if (dt > c->exit_tsc_max[kind])
        c->exit_tsc_max[kind] = dt;
}

/* Test-only fault injection (config key test_stall_boot_cpu): that many seconds after the OS
 * started, the boot CPU takes an INIT as if another CPU had sent it, and waits for a SIPI that
 * nobody sends. The tick owner must then carry on from another CPU and report the stall. */
static void test_stall_boot_cpu(struct hv_cpu *c, uint64_t t0) {
    uint32_t s = hv.params.test_stall_boot_cpu_s;
    if (!s || hv.test_stall_done || !hv.os_running || c->index != hv.params.bsp_index ||
        hv_clock_ms(t0) < hv.os_running_ms + (uint64_t)s * 1000)
        return;
    hv.test_stall_done = true;
    apic_ipi_request_init(c, APIC_INIT_FROM_TEST);
}

void vmexit_main(struct guest_regs *g) {
    struct hv_cpu *c = this_cpu();
    struct vcpu *v = &c->vcpu;
    uint64_t t0 = hv_clock_tsc();
    enum vcpu_exit kind = vcpu_exit_kind(v);
    __atomic_store_n(&c->last_exit_tsc, t0, __ATOMIC_RELEASE);
    c->last_exit_reason = kind;
    v->exits++;
    c->exit_counts[kind]++;

    ept_perm_close_windows(&hv.perm, &c->ept);
    if (!hv.os_running || c->apic.switched)
        hv_takeover_check(c, vcpu_rip(v));
    enum vmexit_action a = vcpu_handle_exit(v, g);
    if (a == VMEXIT_RESET) {
        report_reset(c);
        hv_report_flush(); /* the machine is about to go: out with every waiting line */
        reset_platform();
    }
    if (a != VMEXIT_RESUME) {
        c->parked = true;
        c->ept.running = false;
        report_parked(c, kind);
        hv_park_cpu();
    }
    test_stall_boot_cpu(c, t0);
    apic_ipi_take_init(c, g);
    if (v->init_count || v->sipi_count)
        vcpu_sipi_entry_fixup(v);
    ept_perm_sync(&hv.perm, &c->ept);
    hv_live_sync(c);
    /* What the UART's transmit FIFO takes now (never waiting), and a timer tick while more waits.
     */
    hv_report_pump();
    report_tick(c);
    vcpu_prepare_entry(v);
    account_exit(c, kind, t0);
    apic_ipi_start_owed(c);
}
