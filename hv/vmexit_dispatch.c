/* The VM-exit loop body: vmx_exit_entry (hv/vmx_entry.S) calls vmexit_main with the guest's
 * registers; it routes the exit to its handler, carries out the handler's decision and prepares
 * the next entry. Also: hypervisor calls from vigil's own code running as the guest during
 * bring-up, and the heartbeat. */
#include "apic_ipi.h"
#include "ept_kick.h"
#include "fmt.h"
#include "hv_live.h"
#include "hv_report.h"
#include "hv_state.h"
#include "hw.h"
#include "lib.h"
#include "vmexit.h"
#include "vmx_defs.h"
#include "vmx_guest.h"
#include "vmx_sipi.h"

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
    hv_report_lock();
    if (report_is_json(&hv_rep)) {
        report_begin(&hv_rep, "cpu_up");
        report_u64(&hv_rep, "cpu", c->index);
        report_u64(&hv_rep, "apic_id", v->apic_id);
        report_u64(&hv_rep, "vpid", v->vpid);
        report_bool(&hv_rep, "ept", (v->proc2_ctls & PROC2_ENABLE_EPT) != 0);
        report_bool(&hv_rep, "unrestricted_guest", v->unrestricted_guest);
        report_bool(&hv_rep, "preemption_timer", (v->pin_ctls & PIN_PREEMPTION_TIMER) != 0);
        report_obj_begin(&hv_rep, "controls");
        report_hex(&hv_rep, "pin", v->pin_ctls);
        report_hex(&hv_rep, "proc", v->proc_ctls);
        report_hex(&hv_rep, "proc2", v->proc2_ctls);
        report_hex(&hv_rep, "exit", v->exit_ctls);
        report_hex(&hv_rep, "entry", v->entry_ctls);
        report_obj_end(&hv_rep);
        report_end(&hv_rep);
    } else {
        report_textf(
            &hv_rep, "cpu %u (APIC %u) virtualized: VPID %u, EPT %s, unrestricted guest %s",
            c->index, v->apic_id, v->vpid, (v->proc2_ctls & PROC2_ENABLE_EPT) ? "on" : "off",
            v->unrestricted_guest ? "on" : "off");
    }
    hv_report_unlock();
}

static void report_hv_up(bool sync_tested, bool sync_ok, uint64_t sync_us) {
    hv_report_lock();
    if (report_is_json(&hv_rep)) {
        report_begin(&hv_rep, "hv_up");
        report_u64(&hv_rep, "cpus", hv.cpus_up);
        report_u64(&hv_rep, "failed", hv.cpus_failed);
        report_u64(&hv_rep, "heartbeat_s", hv.params.heartbeat_s);
        report_bool(&hv_rep, "stealth", hv.params.stealth != 0);
        report_hex(&hv_rep, "image_base", hv.params.image_base);
        report_u64(&hv_rep, "image_bytes", hv.params.image_pages * 4096);
        report_u64(&hv_rep, "heap_used", hv.heap.used);
        report_obj_begin(&hv_rep, "ept_pages");
        report_u64(&hv_rep, "1g", hv.ept.stats.pages_1g);
        report_u64(&hv_rep, "2m", hv.ept.stats.pages_2m);
        report_u64(&hv_rep, "4k", hv.ept.stats.pages_4k);
        report_u64(&hv_rep, "tables", hv.ept.stats.tables);
        report_obj_end(&hv_rep);
        if (sync_tested) {
            /* Every CPU picked up a new EPT generation within that time (hv/ept_kick.h). */
            report_obj_begin(&hv_rep, "ept_sync");
            report_bool(&hv_rep, "ok", sync_ok);
            report_u64(&hv_rep, "us", sync_us);
            report_obj_end(&hv_rep);
        }
        report_end(&hv_rep);
    } else {
        report_textf(&hv_rep, "hypervisor up on %u cpu(s)%s; heartbeat every %u s", hv.cpus_up,
                     hv.cpus_failed ? " (some failed, see above)" : "", hv.params.heartbeat_s);
    }
    hv_report_unlock();
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
        if (n <= HVCALL_REPORT_MAX && p < hv.env.mapped && n <= hv.env.mapped - p) {
            hv_report_lock();
            report_write(&hv_rep, (const char *)(uintptr_t)p, n);
            report_flush(&hv_rep);
            hv_report_unlock();
        }
        break;
    }
    }
    g->rax = 0;
    vmx_guest_advance_rip();
    return true;
}

void hv_heartbeat(struct vcpu *v) {
    if (v->index != hv.params.bsp_index)
        return;
    /* The boot CPU's timer exit also drains every CPU's ring, so a CPU that rarely exits does not
     * keep its events. */
    for (uint32_t i = 0; i < hv.ncpus; i++)
        hv_events_drain(hv.cpus[i], 4096);
    /* The hooks' bytes, checked on every tick too: EPT does not see device writes, and another
     * CPU may write through a translation cached before its page lost the write right. */
    ept_guard_check(&hv.guard, &hv.cpus[v->index]->ept);
    if (hv.params.heartbeat_s == 0)
        return;
    uint64_t now = hv_uptime_ms();
    if (now - hv.last_heartbeat_ms < (uint64_t)hv.params.heartbeat_s * 1000)
        return;
    hv.last_heartbeat_ms = now;
    uint64_t totals[EXIT_REASON_MAX + 1];
    lib_memset(totals, 0, sizeof(totals));
    uint64_t all = 0, inits = 0, sipis = 0, kicks_taken = 0;
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        for (unsigned r = 0; r <= EXIT_REASON_MAX; r++)
            totals[r] += hv.cpus[i]->exit_counts[r];
        all += hv.cpus[i]->vcpu.exits;
        inits += hv.cpus[i]->vcpu.init_count;
        sipis += hv.cpus[i]->vcpu.sipi_count;
        kicks_taken += __atomic_load_n(&hv.cpus[i]->ept_kicks_taken, __ATOMIC_RELAXED);
    }
    hv_report_lock();
    if (report_is_json(&hv_rep)) {
        report_begin(&hv_rep, "heartbeat");
        report_u64(&hv_rep, "uptime_s", now / 1000);
        report_u64(&hv_rep, "cpus", hv.cpus_up);
        report_u64(&hv_rep, "total_exits", all);
        report_obj_begin(&hv_rep, "exits");
        for (unsigned r = 0; r <= EXIT_REASON_MAX; r++) {
            if (totals[r])
                report_u64(&hv_rep, vmx_exit_reason_name(r), totals[r]);
        }
        report_obj_end(&hv_rep);
        report_obj_begin(&hv_rep, "init_sipi");
        report_u64(&hv_rep, "inits", inits);
        report_u64(&hv_rep, "sipis", sipis);
        report_obj_end(&hv_rep);
        report_obj_begin(&hv_rep, "ept_kicks");
        report_u64(&hv_rep, "sent", __atomic_load_n(&hv.ept_kicks_sent, __ATOMIC_RELAXED));
        report_u64(&hv_rep, "taken", kicks_taken);
        report_u64(&hv_rep, "failed", __atomic_load_n(&hv.ept_kicks_failed, __ATOMIC_RELAXED));
        if (hv.ept_kick_error)
            report_str(&hv_rep, "error", hv.ept_kick_error);
        report_obj_end(&hv_rep);
        report_end(&hv_rep);
    } else {
        char line[400];
        size_t n = 0;
        for (unsigned r = 0; r <= EXIT_REASON_MAX && n < sizeof(line) - 40; r++) {
            if (totals[r])
                n += fmt_snprintf(line + n, sizeof(line) - n, "%s%s %llu", n ? ", " : "",
                                  vmx_exit_reason_name(r), (unsigned long long)totals[r]);
        }
        line[n < sizeof(line) ? n : sizeof(line) - 1] = 0;
        report_textf(&hv_rep,
                     "alive: uptime %llu s, %u cpu(s), %llu exits (%s); INIT %llu, SIPI %llu",
                     (unsigned long long)(now / 1000), hv.cpus_up, (unsigned long long)all, line,
                     (unsigned long long)inits, (unsigned long long)sipis);
    }
    hv_report_unlock();
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
    hv_report_lock();
    vmx_guest_dump(&hv_rep, why, &c->vcpu, g);
    hv_report_unlock();
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
    case EXIT_REASON_INIT:
        return vmexit_handle_init(v, g);
    case EXIT_REASON_SIPI:
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
        hv_report_lock();
        vmx_guest_dump(&hv_rep, "EPT violation outside the map", v, g);
        hv_report_unlock();
        return VMEXIT_PARK;
    case EXIT_REASON_MTF:
        if (ept_handle_mtf(&hv.perm, &c->ept) == EPT_EXIT_RESUME)
            return VMEXIT_RESUME;
        return vmexit_handle_unhandled(v, g);
    case EXIT_REASON_EPT_MISCONFIG:
        hv_report_lock();
        ept_handle_misconfig(&hv.ept, &hv_rep);
        vmx_guest_dump(&hv_rep, "EPT misconfiguration", v, g);
        hv_report_unlock();
        return VMEXIT_PARK;
    case EXIT_REASON_ENTRY_FAIL_GUEST:
        return entry_failure(c, g, "VM entry failed: invalid guest state");
    case EXIT_REASON_ENTRY_FAIL_MSR:
        return entry_failure(c, g, "VM entry failed: MSR loading");
    case EXIT_REASON_ENTRY_FAIL_MCE:
        return entry_failure(c, g, "VM entry failed: machine check");
    default:
        return vmexit_handle_unhandled(v, g); /* dumps under v->report_lock */
    }
}

void vmexit_main(struct guest_regs *g) {
    struct hv_cpu *c = this_cpu();
    struct vcpu *v = &c->vcpu;
    uint32_t reason = (uint32_t)hw_vmread(VMCS_EXIT_REASON);
    uint32_t basic = reason & 0xFFFF;
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
        hv_report_lock();
        if (report_is_json(&hv_rep)) {
            report_begin(&hv_rep, "reset");
            report_u64(&hv_rep, "cpu", c->index);
            report_str(&hv_rep, "reason", "guest triple fault");
            report_end(&hv_rep);
        } else {
            report_textf(&hv_rep, "cpu %u: guest triple fault; resetting the machine", c->index);
        }
        hv_report_unlock();
        reset_platform();
    }
    if (a != VMEXIT_RESUME) {
        c->parked = true;
        c->ept.running = false;
        hv_report_lock();
        if (report_is_json(&hv_rep)) {
            report_begin(&hv_rep, "cpu_parked");
            report_u64(&hv_rep, "cpu", c->index);
            report_str(&hv_rep, "exit", vmx_exit_reason_name(basic));
            report_end(&hv_rep);
        } else {
            report_textf(&hv_rep, "cpu %u parked after exit '%s' (state dumped above)", c->index,
                         vmx_exit_reason_name(basic));
        }
        hv_report_unlock();
        hv_park_cpu();
    }
    apic_ipi_take_init(c, g);
    if (v->init_count || v->sipi_count)
        vmx_sipi_clear_smi_blocking();
    ept_perm_sync(&hv.perm, &c->ept);
    hv_live_sync(c);
    /* A bounded slice of this CPU's queued events (~22 ms of UART at 115200 baud at most). */
    hv_events_drain(c, 256);
    vmexit_nmi_prepare_entry(v);
}

void vmx_resume_failed(void) {
    struct hv_cpu *c = this_cpu();
    uint64_t err = hw_vmread(VMCS_VM_INSTR_ERROR);
    hv_report_lock();
    if (report_is_json(&hv_rep)) {
        report_begin(&hv_rep, "hv_fault");
        report_u64(&hv_rep, "cpu", c->index);
        report_str(&hv_rep, "what", "VMRESUME failed");
        report_u64(&hv_rep, "vm_instruction_error", err);
        report_str(&hv_rep, "action", "cpu parked");
        report_end(&hv_rep);
    } else {
        report_textf(&hv_rep, "cpu %u: VMRESUME failed (VM-instruction error %llu); cpu parked",
                     c->index, (unsigned long long)err);
    }
    hv_report_unlock();
    c->parked = true;
    hv_park_cpu();
}
