/* The VM-exit loop body: vmx_exit_entry (hv/arch/vmx/vmx_entry.S) calls vmexit_main with the
 * guest's registers; it routes the exit to its handler, carries out the handler's decision and
 * prepares the next entry. Also: hypervisor calls from vigil's own code running as the guest during
 * bring-up, and the heartbeat. */
#include "base/fmt.h"
#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"
#include "hv/arch/vmx/vmx_sipi.h"
#include "hv/core/apic_ipi.h"
#include "hv/core/ept_kick.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"
#include "hv/intro/hv_live.h"

void vmexit_main(struct guest_regs *g);
void vmx_resume_failed(void);
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
    report_u64(r, "vpid", v->vpid);
    report_bool(r, "ept", (v->proc2_ctls & PROC2_ENABLE_EPT) != 0);
    report_bool(r, "unrestricted_guest", v->unrestricted_guest);
    report_bool(r, "preemption_timer", (v->pin_ctls & PIN_PREEMPTION_TIMER) != 0);
    report_obj_begin(r, "controls");
    report_hex(r, "pin", v->pin_ctls);
    report_hex(r, "proc", v->proc_ctls);
    report_hex(r, "proc2", v->proc2_ctls);
    report_hex(r, "exit", v->exit_ctls);
    report_hex(r, "entry", v->entry_ctls);
    report_obj_end(r);
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

static bool try_hv_call(struct hv_cpu *c, struct guest_regs *g) {
    if (((uint32_t)g->rax & 0xFFFFFF00u) != HVCALL_LEAF || hv.os_running)
        return false;
    uint64_t rip = hw_vmread(VMCS_GUEST_RIP);
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
    vmx_guest_advance_rip();
    return true;
}

/* Exit costs summed over the CPUs for the heartbeat. */
struct exit_costs {
    uint64_t total[EXIT_REASON_MAX + 1], max[EXIT_REASON_MAX + 1];
    uint64_t longest;        /* ticks of the longest single exit on any CPU */
    uint32_t longest_reason; /* its basic exit reason */
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
    for (unsigned i = 0; i <= EXIT_REASON_MAX; i++) {
        if (totals[i])
            report_u64(r, vmx_exit_reason_name(i), totals[i]);
    }
    report_obj_end(r);
    report_obj_begin(r, "exit_cost_us");
    for (unsigned i = 0; i <= EXIT_REASON_MAX; i++) {
        if (!totals[i])
            continue;
        report_obj_begin(r, vmx_exit_reason_name(i));
        report_u64(r, "total", ticks_us(cost->total[i]));
        report_u64(r, "max", ticks_us(cost->max[i]));
        report_obj_end(r);
    }
    report_obj_end(r);
    report_obj_begin(r, "longest_exit");
    report_str(r, "reason", vmx_exit_reason_name(cost->longest_reason));
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
    uint64_t totals[EXIT_REASON_MAX + 1];
    lib_memset(totals, 0, sizeof(totals));
    uint64_t all = 0, inits = 0, sipis = 0, kicks_taken = 0;
    uint32_t stalled = 0;
    uint64_t stalled_ms = 0;
    static struct exit_costs cost; /* one tick owner at a time: too large for a stack */
    lib_memset(&cost, 0, sizeof(cost));
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        for (unsigned r = 0; r <= EXIT_REASON_MAX; r++) {
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

static enum vmexit_action entry_failure(struct hv_cpu *c, struct guest_regs *g, const char *why) {
    struct report *r = hv_report_begin();
    if (r) {
        vmx_guest_dump(r, why, &c->vcpu, g);
        hv_report_end(r);
    }
    return VMEXIT_PARK;
}

static enum vmexit_action dispatch(struct hv_cpu *c, struct guest_regs *g, uint32_t reason) {
    struct vcpu *v = &c->vcpu;
    switch (reason) {
    case EXIT_REASON_EXCEPTION_NMI: {
        uint32_t info = (uint32_t)hw_vmread(VMCS_EXIT_INTR_INFO);
        bool is_nmi = ((info >> 8) & 7) == 2 && (info & 0xFF) == 2;
        if (is_nmi) {
            /* vigil's own kicks: the INIT is applied below, the EPT sync runs before the entry.
             * Any NMI exit leaves NMIs blocked in root until an IRET: without one this CPU would
             * never see another NMI (the next kick, the next guest NMI). */
            bool mine = hv_ept_kick_take(c) | (c->init_request != 0);
            hw_nmi_unblock();
            if (mine)
                return VMEXIT_RESUME;
        }
        if (((info >> 8) & 7) == INTR_TYPE_SW_EXCEPTION && (info & 0xFF) == 3 &&
            hv_live_breakpoint(c, g))
            return VMEXIT_RESUME;
        return vmexit_handle_exception_nmi(v, g);
    }
    case EXIT_REASON_TRIPLE_FAULT:
        return vmexit_handle_triple_fault(v, g);
    case EXIT_REASON_INIT: {
        enum vmexit_action a = vmexit_handle_init(v, g);
        apic_ipi_report_init(c, 0);
        return a;
    }
    case EXIT_REASON_SIPI:
        apic_ipi_sipi_taken(c);
        return vmexit_handle_sipi(v, g);
    case EXIT_REASON_NMI_WINDOW:
        return vmexit_handle_nmi_window(v, g);
    case EXIT_REASON_CPUID:
        if (try_hv_call(c, g))
            return VMEXIT_RESUME;
        return vmexit_handle_cpuid(v, g);
    case EXIT_REASON_GETSEC:
    case EXIT_REASON_VMCALL:
    case EXIT_REASON_VMCLEAR:
    case EXIT_REASON_VMLAUNCH:
    case EXIT_REASON_VMPTRLD:
    case EXIT_REASON_VMPTRST:
    case EXIT_REASON_VMREAD:
    case EXIT_REASON_VMRESUME:
    case EXIT_REASON_VMWRITE:
    case EXIT_REASON_VMXOFF:
    case EXIT_REASON_VMXON:
    case EXIT_REASON_INVEPT:
    case EXIT_REASON_INVVPID:
    case EXIT_REASON_VMFUNC:
        return vmexit_handle_ud(v, g);
    case EXIT_REASON_INVD:
        return vmexit_handle_invd(v, g);
    case EXIT_REASON_CR_ACCESS:
        return vmexit_handle_cr_access(v, g);
    case EXIT_REASON_IO:
        return vmexit_handle_io(v, g);
    case EXIT_REASON_RDMSR:
        return vmexit_handle_rdmsr(v, g);
    case EXIT_REASON_WRMSR:
        if ((uint32_t)g->rcx == MSR_X2APIC_ICR) {
            apic_ipi_icr_write(c, ((uint64_t)(uint32_t)g->rdx << 32) | (uint32_t)g->rax);
            vmx_guest_advance_rip();
            return VMEXIT_RESUME;
        }
        return vmexit_handle_wrmsr(v, g);
    case EXIT_REASON_XSETBV:
        return vmexit_handle_xsetbv(v, g);
    case EXIT_REASON_PREEMPTION_TIMER:
        return vmexit_handle_preemption_timer(v, g);
    case EXIT_REASON_EPT_VIOLATION:
        if (ept_handle_violation(&hv.perm, &c->ept, NULL) == EPT_EXIT_RESUME)
            return VMEXIT_RESUME;
        return entry_failure(c, g, "EPT violation outside the map");
    case EXIT_REASON_MTF:
        if (ept_handle_mtf(&hv.perm, &c->ept) == EPT_EXIT_RESUME)
            return VMEXIT_RESUME;
        return vmexit_handle_unhandled(v, g);
    case EXIT_REASON_EPT_MISCONFIG: {
        struct report *r = hv_report_begin();
        if (r) {
            ept_handle_misconfig(&hv.ept, r);
            vmx_guest_dump(r, "EPT misconfiguration", v, g);
            hv_report_end(r);
        }
        return VMEXIT_PARK;
    }
    case EXIT_REASON_ENTRY_FAIL_GUEST:
        return entry_failure(c, g, "VM entry failed: invalid guest state");
    case EXIT_REASON_ENTRY_FAIL_MSR:
        return entry_failure(c, g, "VM entry failed: MSR loading");
    case EXIT_REASON_ENTRY_FAIL_MCE:
        return entry_failure(c, g, "VM entry failed: machine check");
    default:
        return vmexit_handle_unhandled(v, g); /* dumps through v->report */
    }
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

static void report_parked(struct hv_cpu *c, uint32_t basic) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    report_begin(r, "cpu_parked");
    report_u64(r, "cpu", c->index);
    report_str(r, "exit", vmx_exit_reason_name(basic));
    report_end(r);
    hv_report_end(r);
}

/* While report bytes wait, this CPU's VMX-preemption timer is shortened to one UART FIFO's worth
 * of time, so the pump above runs often enough to keep the UART busy even when the guest makes
 * no other exits; otherwise it keeps the heartbeat's reload (SDM 25.5.1). With "save
 * VMX-preemption timer value" the field counts down across entries and is only shortened; without
 * it each entry restarts from the field, which is set to the value wanted. */
static void report_tick(struct hv_cpu *c) {
    struct vcpu *v = &c->vcpu;
    if (!(v->pin_ctls & PIN_PREEMPTION_TIMER))
        return;
    bool fast = hv_report_backlog();
    uint64_t t = hv_report_drain_period_tsc() >> hv.timer_shift;
    uint32_t tick = t == 0                           ? 1
                    : t > v->preemption_timer_reload ? v->preemption_timer_reload
                                                     : (uint32_t)t;
    if (v->exit_ctls & EXIT_SAVE_PREEMPTION_TIMER) {
        if (fast && hw_vmread(VMCS_PREEMPTION_TIMER_VALUE) > tick)
            hw_vmwrite(VMCS_PREEMPTION_TIMER_VALUE, tick);
    } else if (fast != c->report_tick) {
        hw_vmwrite(VMCS_PREEMPTION_TIMER_VALUE, fast ? tick : v->preemption_timer_reload);
    }
    c->report_tick = fast;
}

static void account_exit(struct hv_cpu *c, uint32_t basic, uint64_t t0) {
    if (basic > EXIT_REASON_MAX)
        return;
    uint64_t dt = hv_clock_tsc() - t0;
    c->exit_tsc_total[basic] += dt;
    if (dt > c->exit_tsc_max[basic])
        c->exit_tsc_max[basic] = dt;
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
    uint32_t reason = (uint32_t)hw_vmread(VMCS_EXIT_REASON);
    uint32_t basic = reason & 0xFFFF;
    __atomic_store_n(&c->last_exit_tsc, t0, __ATOMIC_RELEASE);
    c->last_exit_reason = basic;
    v->exits++;
    if (basic <= EXIT_REASON_MAX)
        c->exit_counts[basic]++;
    else
        c->exits_other++;

    ept_perm_close_windows(&hv.perm, &c->ept);
    if (!hv.os_running || c->apic.switched)
        hv_takeover_check(c, hw_vmread(VMCS_GUEST_RIP));
    enum vmexit_action a = dispatch(c, g, basic);
    if (a == VMEXIT_RESET) {
        report_reset(c);
        hv_report_flush(); /* the machine is about to go: out with every waiting line */
        reset_platform();
    }
    if (a != VMEXIT_RESUME) {
        c->parked = true;
        c->ept.running = false;
        report_parked(c, basic);
        hv_park_cpu();
    }
    test_stall_boot_cpu(c, t0);
    apic_ipi_take_init(c, g);
    if (v->init_count || v->sipi_count)
        vmx_sipi_clear_smi_blocking();
    ept_perm_sync(&hv.perm, &c->ept);
    hv_live_sync(c);
    /* What the UART's transmit FIFO takes now (never waiting), and a timer tick while more waits.
     */
    hv_report_pump();
    report_tick(c);
    vmexit_nmi_prepare_entry(v);
    account_exit(c, basic, t0);
    apic_ipi_start_owed(c);
}

void vmx_resume_failed(void) {
    struct hv_cpu *c = this_cpu();
    uint64_t err = hw_vmread(VMCS_VM_INSTR_ERROR);
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
