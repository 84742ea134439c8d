/* Per-CPU data of the hypervisor. In VMX root the host GS base points at the CPU's struct
 * hv_cpu (VMCS host GS base), whose first field points at itself, so this_cpu() is one load. */
#ifndef VIGIL_PERCPU_H
#define VIGIL_PERCPU_H

#include "hv/arch/vcpu.h"
#include "hv/core/apic_mode.h"
#include "hv/core/cpu_watch.h"
#include "hv/ept/ept_perm.h"

#include <stdbool.h>
#include <stdint.h>

#define HV_STACK_SIZE (32 * 1024)
#define CPU_APIC_ID_UNKNOWN 0xFFFFFFFFu /* vcpu.apic_id before anyone said */
#define HV_IST_SIZE (8 * 1024)

/* 64-bit TSS (SDM vol. 3A 8.7). */
struct hv_tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

enum { GDT_NULL, GDT_CODE64, GDT_DATA, GDT_TSS_LO, GDT_TSS_HI, GDT_ENTRIES };
#define HOST_CS_SEL (GDT_CODE64 * 8)
#define HOST_DS_SEL (GDT_DATA * 8)
#define HOST_TR_SEL (GDT_TSS_LO * 8)
/* IST slots (1-based in IDT gates). */
#define IST_NMI 1
#define IST_DF 2
#define IST_MC 3

struct hv_cpu {
    struct hv_cpu *self; /* must stay first: gs:0 */
    struct vcpu vcpu;
    uint32_t index;
    bool up; /* running as a guest under vigil */
    bool parked;
    int launch_error; /* why bring-up failed (enum hv_error; the detail is vcpu.launch_detail) */

    struct vcpu_host host; /* where this CPU's exits run (hv/arch/vcpu.h) */
    uint8_t *stack;        /* host stack for VM exits */
    uint64_t stack_top;
    uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
    struct hv_tss tss __attribute__((aligned(16)));

    uint64_t exit_counts[VCPU_EXIT_COUNT]; /* by vigil's exit kind (hv/arch/vcpu.h) */
    /* Time spent in VMX root per exit reason, in TSC ticks from vmexit_main's start to the point
     * where it hands back to the entry stub (vigil's clock: the guest's TSC writes do not count):
     * the sum and the longest single exit. What each kind of exit costs the guest. */
    uint64_t exit_tsc_total[VCPU_EXIT_COUNT];
    uint64_t exit_tsc_max[VCPU_EXIT_COUNT];

    /* EPT permission state of this CPU (allow-once windows, invalidation generation). */
    struct ept_vcpu ept;

    bool bp_intercepted; /* #BP in this CPU's exception bitmap (hv/intro/hv_live.h) */

    /* The TSC of the last full timer tick (the periodic work, hv/core/hv_main.c heartbeat_hook);
     * the timer is shortened while report bytes wait (vcpu_timer_drain). */
    uint64_t last_tick_tsc;

    /* APIC mode vigil changed on this CPU during bring-up (hv/core/apic_mode.h). */
    struct apic_saved apic;

    /* Emulated INIT delivered by another CPU's ICR write (hv/core/apic_ipi.c): the request, who
     * sent it (index + 1), how many were itemised in the report; INIT/SIPI dropped because this CPU
     * is parked. */
    volatile uint32_t init_request;
    volatile uint32_t init_from;
    /* A SIPI sent to this CPU since its last INIT request: 0x100 | vector, 0 when none
     * (apic_ipi_take_init starts the guest at it; a SIPI exit or the next INIT request clears
     * it). */
    volatile uint32_t sipi_owed;
    uint32_t init_reports;
    uint64_t ipis_dropped;

    /* vigil's clock (TSC less tsc_skew) at this CPU's last VM exit and that exit's kind:
     * the tick owner reads them to tell a CPU that stopped taking exits (hv/core/cpu_watch.h). */
    volatile uint64_t last_exit_tsc;
    volatile uint32_t last_exit_reason;
    struct cpu_watch watch; /* owned by the tick owner */

    /* A CPU vigil could not virtualize, held at the hand-over (hv/core/cpu_park.h): CPU_PARK_*. */
    volatile uint32_t park_state;

    /* An NMI from another CPU asking this one to pick up an EPT change (hv/core/ept_kick.h). */
    volatile uint32_t ept_kick;
    uint64_t ept_kicks_taken;
};

static inline struct hv_cpu *this_cpu(void) {
    struct hv_cpu *c;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(c));
    return c;
}

#endif
