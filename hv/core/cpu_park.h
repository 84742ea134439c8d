/* Holding the CPUs vigil could not virtualize, so that none runs the OS bare.
 *
 * A CPU whose launch failed (or that test_virtualize_cpus leaves out, or that the firmware never
 * let vigil run on) goes on under the firmware: the firmware's MP code needs every processor to
 * answer until ExitBootServices (OVMF's MpInitLib wakes them all there and waits for each), so it
 * cannot be held earlier. At the hand-over to the OS (hv/core/hv_takeover.c), when the firmware is
 * done with it, the CPU taking the hand-over sends it INIT and SIPI with the vector of vigil's
 * own real-mode entry (hv/core/cpu_park_entry.S, copied into HV_PARK_PAGES pages below 1 MiB): it
 * goes to long mode with vigil's page tables, GDT, IDT and stack, executes VMXON and halts with
 * interrupts off. In VMX root operation INIT is blocked (SDM vol. 3C 23.8 "Restrictions on VMX
 * operation") and a SIPI only acts on a CPU waiting for SIPI, which such a CPU never is, so
 * neither the OS nor the firmware's leftovers can start it again; an NMI is taken by vigil's own
 * handler. The sender checks that: a second INIT-SIPI must not bring the CPU back to the entry.
 *
 * A CPU that cannot be held so (no answer, VMXON failing there, INIT not blocked, no page below
 * 1 MiB, no APIC to send from) would run the OS with full access to vigil's memory: the caller
 * reports it and on_no_vmx decides (halt: the OS does not run; boot: it runs, reported as bare).
 *
 * The sequence is carried out through the hardware seam (base/hw.h) and unit-tested with the
 * fakes; the entry itself is hv/core/cpu_park_entry.S and cpu_park_here (hv/core/cpu_park_x86.c).
 */
#ifndef VIGIL_CPU_PARK_H
#define VIGIL_CPU_PARK_H

#include "hv/core/percpu.h"

#include <stdbool.h>
#include <stdint.h>

/* hv_cpu.park_state: written by the parked CPU (VMX_ROOT / NO_VMX) or by the sender. */
enum cpu_park_state {
    CPU_PARK_NONE = 0,
    CPU_PARK_VMX_ROOT = 1, /* halted in VMX root: INIT blocked */
    CPU_PARK_NO_VMX = 2,   /* halted in vigil's code, but VMXON failed there: INIT would start it */
};

/* Why a CPU is not held (enum cpu_park_result in struct cpu_park_outcome). */
enum cpu_park_result {
    CPU_PARK_HELD = 0,         /* parked in VMX root, INIT checked blocked */
    CPU_PARK_NO_PAGE,          /* no page below 1 MiB for the real-mode entry */
    CPU_PARK_NO_APIC_ID,       /* its APIC ID is unknown */
    CPU_PARK_SEND_FAILED,      /* the sender's APIC could not send the INIT/SIPI */
    CPU_PARK_NO_ANSWER,        /* it did not reach vigil's entry in time */
    CPU_PARK_VMXON_FAILED,     /* it reached it, but VMXON failed: INIT is not blocked */
    CPU_PARK_INIT_NOT_BLOCKED, /* a second INIT-SIPI brought it back to the entry */
};
const char *cpu_park_result_name(enum cpu_park_result r);

/* The data block of the real-mode entry page (layout shared with hv/core/cpu_park_entry.S). */
#define CPU_PARK_DATA_OFF 0xF00u
struct cpu_park_data {
    volatile uint32_t entries; /* +0x00: every CPU entering the code adds one */
    uint32_t cr3_low;          /* +0x04: the interim page tables (below 1 MiB) */
    uint64_t cr3;              /* +0x08: vigil's host page tables */
    uint64_t stack;            /* +0x10: top of the parked CPU's stack */
    uint64_t entry;            /* +0x18: cpu_park_here */
    uint64_t arg;              /* +0x20: its struct hv_cpu */
    uint64_t gdt[4];           /* +0x28: null, 64-bit code, 32-bit code, data */
    uint8_t scratch[16];       /* +0x48: GDTR and far pointer, written by the entry code */
};

/* What the sequence needs from the hypervisor. */
struct cpu_park_env {
    uint8_t *pages;      /* HV_PARK_PAGES pages below 1 MiB (identity-mapped), or NULL */
    uint64_t host_cr3;   /* vigil's page tables */
    uint64_t entry;      /* address of cpu_park_here */
    const uint8_t *code; /* the real-mode entry code and its length */
    uint64_t code_len;
    uint64_t tsc_hz;
};

struct cpu_park_outcome {
    enum cpu_park_result result;
    uint64_t us;            /* from the INIT to its answer */
    const char *send_error; /* CPU_PARK_SEND_FAILED: what the APIC said (apic_nmi_result_name) */
};

/* Parks one CPU t (not virtualized) from the calling CPU; out says how it went. */
void cpu_park_one(const struct cpu_park_env *env, struct hv_cpu *t, struct cpu_park_outcome *out);

/* Whether CPU c is already kept from the OS (virtualized, or parked). */
bool cpu_park_held(const struct hv_cpu *c);

/* On the parked CPU, from the real-mode entry: never returns (hv/core/cpu_park_x86.c). */
__attribute__((noreturn)) void cpu_park_here(struct hv_cpu *c);

#endif
