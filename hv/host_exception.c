/* Exceptions taken in VMX root (the hypervisor's own code). Three are expected: NMIs (queued for
 * the guest), and #GP/#UD on the few instructions registered in .hv_fixup (hv/hw_safe.h). Any
 * other exception is a hypervisor bug: it is reported with the faulting state and the CPU is
 * parked; the handler never returns into the state that faulted. */
#include "ept_kick.h"
#include "hv_report.h"
#include "hv_state.h"
#include "hw.h"
#include "percpu.h"
#include "vmx_defs.h"

#include <stdint.h>

struct hv_exc_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct hv_fixup {
    uint64_t fault_rip, resume_rip;
};
extern const struct hv_fixup __hv_fixup_start[], __hv_fixup_end[];

void host_exception(struct hv_exc_frame *f);
__attribute__((noreturn)) void hv_park_cpu(void);

void hv_park_cpu(void) {
    for (;;)
        __asm__ volatile("cli; hlt");
}

void host_exception(struct hv_exc_frame *f) {
    if (f->vector == 2) {
        /* NMI exiting makes every guest NMI a VM exit; an NMI that arrives while this CPU is in
         * root mode is the guest's too: queue it (vmexit_nmi_prepare_entry injects it). */
        struct hv_cpu *c = this_cpu();
        if (!c)
            return;
        bool ept_kick = hv_ept_kick_take(c);
        if (c->init_request || ept_kick) {
            /* vigil's own kick (an INIT, hv/apic_ipi.c, or an EPT change, hv/ept_kick.h) reached
             * us in root mode: this exit's path may already have looked, so the next entry exits
             * at once (VMX-preemption timer 0 exits before any guest instruction, SDM 26.7.4)
             * and the INIT is applied / the EPT synced then. */
            hw_vmwrite(VMCS_PREEMPTION_TIMER_VALUE, 0);
            return;
        }
        __atomic_add_fetch(&c->vcpu.nmi_pending, 1, __ATOMIC_RELAXED);
        return;
    }
    if (f->vector == 13 || f->vector == 6) {
        for (const struct hv_fixup *x = __hv_fixup_start; x < __hv_fixup_end; x++) {
            if (x->fault_rip == f->rip) {
                f->rip = x->resume_rip;
                return;
            }
        }
    }
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    struct hv_cpu *c = this_cpu();
    bool locked = hv_report_lock();
    if (report_is_json(&hv_rep)) {
        report_begin(&hv_rep, "hv_fault");
        report_u64(&hv_rep, "cpu", c ? c->index : 0);
        report_u64(&hv_rep, "vector", f->vector);
        report_hex(&hv_rep, "error", f->error);
        report_hex(&hv_rep, "rip", f->rip);
        report_hex(&hv_rep, "rsp", f->rsp);
        report_hex(&hv_rep, "cr2", cr2);
        report_hex(&hv_rep, "rax", f->rax);
        report_hex(&hv_rep, "rcx", f->rcx);
        report_hex(&hv_rep, "image_base", hv.params.image_base);
        /* The top of the faulting stack (return addresses point back into the image). */
        report_arr_begin(&hv_rep, "stack");
        const uint64_t *sp = (const uint64_t *)(uintptr_t)(f->rsp & ~7ull);
        for (unsigned i = 0; i < 16 && c && f->rsp >= c->stack_top - HV_STACK_SIZE &&
                             (uint64_t)(uintptr_t)(sp + i) < c->stack_top;
             i++)
            report_hex(&hv_rep, NULL, sp[i]);
        report_arr_end(&hv_rep);
        report_str(&hv_rep, "action", "cpu parked");
        report_end(&hv_rep);
    } else {
        report_textf(&hv_rep,
                     "HYPERVISOR FAULT on cpu %u: vector %llu error 0x%llx at rip 0x%llx "
                     "(rsp 0x%llx, cr2 0x%llx); this cpu is parked",
                     c ? c->index : 0, (unsigned long long)f->vector, (unsigned long long)f->error,
                     (unsigned long long)f->rip, (unsigned long long)f->rsp,
                     (unsigned long long)cr2);
    }
    if (locked)
        hv_report_unlock();
    if (c)
        c->parked = true;
    hv_park_cpu();
}
