/* INIT/SIPI that the guest sends through the x2APIC ICR (MSR 0x830, exits by the MSR bitmap).
 *
 * An INIT aimed at a virtualized CPU is never sent to it: vigil marks the target
 * (init_request), kicks it with an NMI (NMI exiting), and the target puts its own guest into the
 * INIT state, waiting for SIPI in VMX non-root (SDM 25.1, 26.6.2). SIPIs are forwarded as they
 * are; a target that waits for SIPI takes them as SIPI VM exits. So no INIT ever reaches a CPU in
 * VMX non-root, which is both the architectural result and the one design Bochs 2.7 runs
 * correctly (its INIT stays pending after an INIT exit, see PLATFORM.md / docs/vmx.md). */
#ifndef VIGIL_APIC_IPI_H
#define VIGIL_APIC_IPI_H

#include <stdbool.h>
#include <stdint.h>

struct hv_cpu;

/* x2APIC ICR fields (SDM vol. 3A 10.12.9). */
#define ICR_VECTOR(v) ((uint32_t)(v)&0xFF)
#define ICR_DELIVERY(v) (((uint32_t)(v) >> 8) & 7)
#define ICR_DEST_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND(v) (((uint32_t)(v) >> 18) & 3)
#define ICR_DEST(v) ((uint32_t)((v) >> 32))
enum { ICR_DM_FIXED = 0, ICR_DM_NMI = 4, ICR_DM_INIT = 5, ICR_DM_SIPI = 6 };
enum { ICR_SH_NONE = 0, ICR_SH_SELF = 1, ICR_SH_ALL = 2, ICR_SH_OTHERS = 3 };

/* Where each of vigil's CPUs stands, for the decision below. */
enum apic_cpu_state {
    APIC_CPU_BARE = 0, /* not virtualized (yet): the firmware still needs its INIT/SIPI */
    APIC_CPU_UP,       /* a guest under vigil */
    APIC_CPU_PARKED,   /* held by vigil (hv/core/cpu_park.h, or stopped after a fatal exit) */
};
/* What one CPU gets instead of the guest's write reaching it through the real ICR. */
enum apic_ipi_action {
    APIC_IPI_EMULATE_INIT = 1, /* vigil puts its guest into wait-for-SIPI */
    APIC_IPI_REAL_INIT,        /* a real INIT to it alone (a broadcast split up) */
    APIC_IPI_DROP,             /* nothing: it is parked; reported */
    APIC_IPI_RECORD_SIPI,      /* the SIPI is forwarded and also recorded for it (below) */
};
/* vigil's CPUs as the decision sees them (any number of them: no table is copied). */
struct apic_ipi_cpus {
    uint32_t ncpus;
    uint32_t self; /* the writing CPU's index */
    const void *ctx;
    uint32_t (*apic_id)(const void *ctx, uint32_t i);
    enum apic_cpu_state (*state)(const void *ctx, uint32_t i);
};
typedef void (*apic_ipi_act_fn)(void *ctx, uint32_t i, enum apic_ipi_action a);

/* Pure decision (unit-tested) for one guest ICR write. Returns true when the write goes to the
 * real ICR as it is; act(actx, i, action) is called for each CPU that gets something else.
 *  - INIT (assert), physical destination: a virtualized CPU → emulated; a parked one → dropped
 *    (vigil holds it: the OS must not start it); a bare CPU or an APIC ID vigil does not know →
 *    forwarded (the firmware wakes its processors so before the hand-over).
 *  - INIT to all but self: per CPU as above, bare ones getting a real INIT each.
 *  - SIPI to a parked CPU → dropped; other SIPIs forwarded (a CPU waiting for SIPI in VMX
 *    non-root takes it as a SIPI exit). A SIPI to a virtualized CPU, or to all but self, is
 *    also recorded for each virtualized target (APIC_IPI_RECORD_SIPI): a target that has not
 *    applied its emulated INIT yet (it was busy in VMX root, where the real SIPI is lost, SDM
 *    11.4.4) starts at the recorded vector as it applies the INIT.
 *  - INIT level de-assert → dropped (no action); logical destinations, self and all-including-
 *    self shorthands, and every other delivery mode → forwarded. */
bool apic_ipi_plan(uint64_t icr, const struct apic_ipi_cpus *cpus, apic_ipi_act_fn act, void *actx);

/* Waits until pending(ctx, i) is false for every CPU i below ncpus (each target has applied
 * its INIT), or until now(ctx) reaches deadline; relax(ctx) runs between looks. Returns how many
 * CPUs are still pending. Pure (unit-tested): the caller passes the clock and the pause; no
 * table of CPUs is built, so any number of CPUs works. */
uint32_t apic_ipi_wait_inits(uint32_t ncpus, bool (*pending)(void *ctx, uint32_t i),
                             uint64_t deadline, uint64_t (*now)(void *ctx),
                             void (*relax)(void *ctx), void *ctx);

/* WRMSR exit for MSR 0x830 on the current CPU: carries out the plan. An emulated INIT is
 * delivered before this returns (apic_ipi_wait_inits, bounded), as a real one is once its ICR
 * write has gone out: a SIPI written right after finds the target waiting for it. */
void apic_ipi_icr_write(struct hv_cpu *c, uint64_t icr);
/* Asks CPU t to take an emulated INIT at its next VM exit (the caller kicks it); from = the
 * sender's index + 1, or APIC_INIT_FROM_TEST. Forgets a SIPI recorded before. */
void apic_ipi_request_init(struct hv_cpu *t, uint32_t from);
/* On the target: applies a pending emulated INIT (true when one was applied). */
struct guest_regs;
bool apic_ipi_take_init(struct hv_cpu *c, struct guest_regs *g);
/* On the target, the last thing before VM entry: a guest about to wait for SIPI starts at a SIPI
 * recorded since its INIT request, if any (the real SIPI was lost while this CPU was in VMX
 * root). Last, so that the window in which a real SIPI can still be lost is a few instructions
 * (and Linux sends a second SIPI). */
void apic_ipi_start_owed(struct hv_cpu *c);
/* On the target, at a SIPI exit: the recorded SIPI is the one taken. */
void apic_ipi_sipi_taken(struct hv_cpu *c);
/* Once the OS runs, an INIT that reaches a virtualized CPU (emulated from an intercepted ICR
 * write: from = the sender's index + 1; or an INIT VM exit: from = 0) is reported as
 * init_received with the state it leaves the CPU in; the first 16 per CPU are itemised, the
 * heartbeat counts them all. */
void apic_ipi_report_init(struct hv_cpu *c, uint32_t from);
#define APIC_INIT_FROM_TEST 0xFFFFFFFFu /* from: vigil's own test_stall_boot_cpu */

#endif
