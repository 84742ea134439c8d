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

/* What to do with one guest ICR write. */
struct apic_ipi_plan {
    bool forward;          /* write the value to the real ICR */
    uint64_t init_targets; /* bitmap of vigil CPU indices to INIT by emulation */
};

/* Pure decision (unit-tested): `self` is the writing CPU's index, apic_ids[i]/up[i] describe
 * vigil's CPUs. INIT (assert) to virtualized CPUs → emulated; INIT to a CPU vigil does not run
 * (or in logical destination mode, which vigil does not decode) → forwarded; INIT level
 * de-assert (legacy) → dropped; everything else → forwarded. */
void apic_ipi_plan(uint64_t icr, uint32_t self, const uint32_t *apic_ids, const bool *up,
                   uint32_t ncpus, struct apic_ipi_plan *plan);

/* Waits until each CPU i in `targets` has cleared *pending[i] (its INIT is applied), or until
 * now(ctx) reaches deadline; relax(ctx) runs between looks. Returns the CPUs still pending. Pure
 * (unit-tested): the caller passes the clock and the pause. */
uint64_t apic_ipi_wait_inits(volatile uint32_t *const *pending, uint64_t targets, uint32_t ncpus,
                             uint64_t deadline, uint64_t (*now)(void *ctx),
                             void (*relax)(void *ctx), void *ctx);

/* WRMSR exit for MSR 0x830 on the current CPU: carries out the plan. An emulated INIT is
 * delivered before this returns (apic_ipi_wait_inits, bounded), as a real one is once its ICR
 * write has gone out: a SIPI written right after finds the target waiting for it. */
void apic_ipi_icr_write(struct hv_cpu *c, uint64_t icr);
/* On the target: applies a pending emulated INIT (true when one was applied). */
struct guest_regs;
bool apic_ipi_take_init(struct hv_cpu *c, struct guest_regs *g);

#endif
