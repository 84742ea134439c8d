/* VM-exit handlers: one function per exit reason (or family), all with the same signature, so
 * that the dispatch loop (hv/core/vmexit_dispatch.c) can route EXIT_REASON_BASIC(VMCS_EXIT_REASON)
 * to them.
 *
 * Contract of every handler:
 *  - it reads the exit information (reason, qualification, instruction length/info, guest state)
 *    with hw_vmread and changes guest state with hw_vmwrite on the current VMCS;
 *  - guest GPRs other than RSP are in *g (RSP is VMCS_GUEST_RSP);
 *  - it either completes the instruction (RIP advanced), or injects an exception (RIP not
 *    advanced, VMCS_ENTRY_INTR_INFO set), or decides the exit is fatal;
 *  - it returns what the dispatch loop must do next (enum vmexit_action).
 * Nothing in a handler blocks, allocates, or loops over guest-controlled counts without a
 * bound. Values read from guest registers/VMCS are untrusted. */
#ifndef VIGIL_VMEXIT_H
#define VIGIL_VMEXIT_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/arch/vcpu.h"

typedef enum vmexit_action (*vmexit_handler_fn)(struct vcpu *v, struct guest_regs *g);

/* hv/arch/vmx/vmexit_cpuid.c — EXIT_REASON_CPUID (10). */
enum vmexit_action vmexit_handle_cpuid(struct vcpu *v, struct guest_regs *g);

/* hv/arch/vmx/vmexit_msr.c — EXIT_REASON_RDMSR (31), EXIT_REASON_WRMSR (32). */
enum vmexit_action vmexit_handle_rdmsr(struct vcpu *v, struct guest_regs *g);
enum vmexit_action vmexit_handle_wrmsr(struct vcpu *v, struct guest_regs *g);

/* MSR policy (hv/arch/vmx/vmexit_msr.c, rationale in docs/vmx.md). */
enum vmexit_msr_policy {
    MSR_PASS = 0,             /* no exit: the guest reads/writes the hardware MSR directly */
    MSR_FORWARD,              /* exits (outside the bitmap ranges): forwarded with hw_*msr_safe */
    MSR_FEATURE_CONTROL_VIEW, /* RDMSR 0x3A: hardware value, locked, VMX and SENTER enables 0 */
    MSR_INJECT_GP,            /* #GP: VMX capability MSRs, IA32_SMM_MONITOR_CTL, FEATURE_CONTROL
                                 writes (VT-x hidden: as on a CPU without VMX) */
    MSR_MTRR_WRITE,           /* write-through to the hardware, then v->mtrr_hook (EPT types) */
    MSR_TSC_WRITE, /* IA32_TIME_STAMP_COUNTER / IA32_TSC_ADJUST writes: to the hardware, and the
                      counter's jump added to v->tsc_skew (vigil's clock does not move) */
};
/* The decision for one access; pure (no hardware access). */
enum vmexit_msr_policy vmexit_msr_policy(uint32_t msr, bool write);
/* True for the MSRs whose writes go to the MTRR hook. */
bool vmexit_msr_is_mtrr(uint32_t msr);

#define VMX_MSR_BITMAP_BYTES 4096u
/* Builds the 4-KiB MSR bitmap (SDM 24.6.9) from vmexit_msr_policy: a bit is set for every access
 * whose policy is not MSR_PASS. */
void vmexit_msr_bitmap_build(uint8_t *bitmap);
/* Sets/clears the read or write intercept of one MSR; false when the MSR is outside the two
 * bitmap ranges (0-0x1FFF, 0xC0000000-0xC0001FFF), where every access exits anyway. */
bool vmexit_msr_bitmap_set(uint8_t *bitmap, uint32_t msr, bool write, bool intercept);
/* Whether an access to msr exits with this bitmap (true outside the ranges). */
bool vmexit_msr_bitmap_intercepts(const uint8_t *bitmap, uint32_t msr, bool write);

/* hv/arch/vmx/vmexit_cr.c — EXIT_REASON_CR_ACCESS (28). */
enum vmexit_action vmexit_handle_cr_access(struct vcpu *v, struct guest_regs *g);

/* hv/arch/vmx/vmexit_xsetbv.c — EXIT_REASON_XSETBV (55). */
enum vmexit_action vmexit_handle_xsetbv(struct vcpu *v, struct guest_regs *g);
/* XCR0 value rules of XSETBV (SDM Vol. 1 13.3, Vol. 2 XSETBV): only supported components; x87 (bit
 * 0) always set; AVX needs SSE; the AVX-512 triple (5-7) all or none and only with AVX; MPX
 * BNDREGS/BNDCSR (3,4) together; AMX TILECFG/TILEDATA (17,18) together. */
bool vmexit_xcr0_valid(uint64_t supported, uint64_t value);

/* hv/arch/vmx/vmexit_misc.c */
/* EXIT_REASON_INVD (13): completes without executing INVD (see docs/vmx.md). */
enum vmexit_action vmexit_handle_invd(struct vcpu *v, struct guest_regs *g);
/* EXIT_REASON_GETSEC (11) and every VMX instruction exit (VMCALL 18 ... VMXON 27, INVEPT 50,
 * INVVPID 53, VMFUNC 59): #UD, as on a CPU without VMX/SMX. */
enum vmexit_action vmexit_handle_ud(struct vcpu *v, struct guest_regs *g);
/* EXIT_REASON_TRIPLE_FAULT (2): dumps the guest state, returns VMEXIT_RESET. */
enum vmexit_action vmexit_handle_triple_fault(struct vcpu *v, struct guest_regs *g);
/* EXIT_REASON_EXCEPTION_NMI (0): an NMI arrived in non-root (NMI exiting) → queue it for the
 * guest; any other exception (none is intercepted) → unhandled. */
enum vmexit_action vmexit_handle_exception_nmi(struct vcpu *v, struct guest_regs *g);
/* EXIT_REASON_NMI_WINDOW (8): the guest can take an NMI → inject one queued NMI. */
enum vmexit_action vmexit_handle_nmi_window(struct vcpu *v, struct guest_regs *g);
/* EXIT_REASON_PREEMPTION_TIMER (52): heartbeat; reloads the timer, calls v->heartbeat. */
enum vmexit_action vmexit_handle_preemption_timer(struct vcpu *v, struct guest_regs *g);
/* EXIT_REASON_IO (30): accesses to the report UART (v->report_port .. +7): reads give 0xFF, writes
 * are dropped (string and REP forms included); other bytes of a straddling access go to the
 * hardware. */
enum vmexit_action vmexit_handle_io(struct vcpu *v, struct guest_regs *g);
#define VMX_IO_BITMAP_BYTES 4096u
/* Builds I/O bitmaps A (ports 0-0x7FFF) and B (0x8000-0xFFFF), SDM 24.6.4: only the report UART's
 * 8 ports (report_port .. +7) exit; report_port 0 means none. */
void vmexit_io_bitmap_build(uint8_t *bitmap_a, uint8_t *bitmap_b, uint16_t report_port);
/* Sets/clears the intercept of count ports from port (wrapping at 0xFFFF like the hardware). */
void vmexit_io_bitmap_set(uint8_t *bitmap_a, uint8_t *bitmap_b, uint16_t port, uint32_t count,
                          bool intercept);
bool vmexit_io_bitmap_intercepts(const uint8_t *bitmap_a, const uint8_t *bitmap_b, uint16_t port);
/* Whether a port belongs to the report UART (v->report_port .. +7). */
bool vmexit_io_is_report_port(const struct vcpu *v, uint16_t port);

/* Any exit nobody handles: dumps guest state with reason and qualification, returns PARK. */
enum vmexit_action vmexit_handle_unhandled(struct vcpu *v, struct guest_regs *g);

/* To call right before every VM entry (cheap: one memory read when nothing is pending): turns NMIs
 * queued by the host NMI handler (v->nmi_pending) into NMI-window exiting. */
void vmexit_nmi_prepare_entry(struct vcpu *v);
/* Queues one NMI for the guest (from an exit handler or the host NMI handler's deferred part). */
void vmexit_nmi_queue(struct vcpu *v);

/* hv/arch/vmx/vmx_sipi.c — EXIT_REASON_INIT (3), EXIT_REASON_SIPI (4). */
enum vmexit_action vmexit_handle_init(struct vcpu *v, struct guest_regs *g);
enum vmexit_action vmexit_handle_sipi(struct vcpu *v, struct guest_regs *g);

#endif
