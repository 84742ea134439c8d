/* Exceptions taken in VMX root (the hypervisor's own code). Three are expected: NMIs (queued for
 * the guest), and #GP/#UD on the few instructions registered in .hv_fixup (base/hw_safe.h). Any
 * other exception is a hypervisor bug: it is reported with the faulting state and the CPU is
 * parked; the handler never returns into the state that faulted. */
#include "base/hw.h"
#include "hv/arch/vcpu.h"
#include "hv/arch/x86.h"
#include "hv/core/ept_kick.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"
#include "hv/core/percpu.h"

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
    /* A parked CPU has nothing better to do than wait for the UART: its last lines (and any
     * others waiting) must not stay in the output ring if no CPU is left to drain it. */
    hv_report_flush();
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
            /* vigil's own kick (an INIT, hv/core/apic_ipi.c, or an EPT change, hv/core/ept_kick.h)
             * reached us in root mode: this exit's path may already have looked, so the next entry
             * exits at once (vcpu_timer_expire_now: before any guest instruction) and the INIT is
             * applied / the EPT synced then. */
            vcpu_timer_expire_now();
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
    /* A spare writer: this CPU may have faulted in the middle of a line of its own. */
    struct report *r = hv_report_begin();
    if (r) {
        report_begin(r, "hv_fault");
        report_u64(r, "cpu", c ? c->index : 0);
        report_u64(r, "vector", f->vector);
        report_hex(r, "error", f->error);
        report_hex(r, "rip", f->rip);
        report_hex(r, "rsp", f->rsp);
        report_hex(r, "cr2", cr2);
        report_hex(r, "rax", f->rax);
        report_hex(r, "rcx", f->rcx);
        report_hex(r, "image_base", hv.params.image_base);
        /* The top of the faulting stack (return addresses point back into the image). */
        report_arr_begin(r, "stack");
        const uint64_t *sp = (const uint64_t *)(uintptr_t)(f->rsp & ~7ull);
        for (unsigned i = 0; i < 16 && c && f->rsp >= c->stack_top - HV_STACK_SIZE &&
                             (uint64_t)(uintptr_t)(sp + i) < c->stack_top;
             i++)
            report_hex(r, NULL, sp[i]);
        report_arr_end(r);
        report_str(r, "action", "cpu parked");
        report_end(r);
    }
    hv_report_end(r);
    if (c)
        c->parked = true;
    hv_park_cpu();
}
