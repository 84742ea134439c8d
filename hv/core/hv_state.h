/* Global state of the running hypervisor (one instance, set up by hv_init on the BSP). */
#ifndef VIGIL_HV_STATE_H
#define VIGIL_HV_STATE_H

#include "hv/arch/vcpu.h"
#include "hv/core/alloc.h"
#include "hv/core/apic_ipi.h"
#include "hv/core/host_env.h"
#include "hv/core/hv_image.h"
#include "hv/core/percpu.h"
#include "hv/core/tick_owner.h"
#include "hv/ept/ept.h"
#include "hv/ept/ept_guard.h"
#include "hv/ept/ept_hide.h"
#include "hv/ept/ept_perm.h"
#include "hv/ept/mtrr.h"

enum hv_error {
    HV_OK = 0,
    HV_ERR_PARAMS = -1,
    HV_ERR_NOMEM = -2,
    /* The vCPU backend's (hv/arch/vcpu.h enum vcpu_error), same numbers. */
    HV_ERR_NO_VMX = VCPU_ERR_NO_VT,
    HV_ERR_FEATURE_CONTROL = VCPU_ERR_DISABLED,
    HV_ERR_VMXON = VCPU_ERR_ROOT,
    HV_ERR_VMCS = VCPU_ERR_CONTROL_AREA,
    HV_ERR_CONTROLS = VCPU_ERR_CONTROLS,
    HV_ERR_SEGMENT = VCPU_ERR_SEGMENT,
    HV_ERR_VMLAUNCH = VCPU_ERR_LAUNCH,
    HV_ERR_EPT = -10,
    HV_ERR_CPU_INDEX = -11,
    HV_ERR_TEST_EXCLUDED = -12, /* left out by the test-only key test_virtualize_cpus */
};

struct hv_state {
    struct hv_boot_params params;
    struct hv_heap heap;
    struct host_env env;
    struct vcpu_machine vcpu; /* the vCPU backend's machine-wide state (hv/arch/vcpu.h) */
    struct mtrr_state mtrr;
    struct ept_pool ept_pool;
    struct ept ept;
    struct ept_perm perm;
    struct ept_hide hide;
    struct ept_guard guard; /* the live hooks' bytes (hv/ept/ept_guard.h) */
    /* The OS kernel runs (first VM exit from the upper half of the address space): vigil's
     * bring-up calls are sealed and its memory is hidden from the guest (hv/core/hv_takeover.c). */
    volatile uint32_t os_running;
    uint64_t os_running_ms; /* vigil's clock at that exit */
    struct hv_cpu **cpus;   /* ncpus entries, from the heap */
    uint32_t ncpus;
    volatile uint32_t cpus_up, cpus_failed;
    /* The periodic work runs on whichever CPU's timer exit finds it due (hv/core/tick_owner.h). */
    struct tick_owner tick;
    uint64_t last_heartbeat_ms;                /* written by the tick owner only */
    uint32_t cpus_parked, cpus_bare;           /* at the hand-over (hv/core/cpu_park.h) */
    bool test_stall_done;                      /* test_stall_boot_cpu applied */
    uint64_t ept_kicks_sent, ept_kicks_failed; /* hv/core/ept_kick.h */
    uint64_t
        real_inits; /* guest INITs that reached a CPU vigil does not run (hv/core/apic_ipi.h) */
    uint64_t late_sipis;        /* guests started at a recorded SIPI whose real one was lost */
    const char *ept_kick_error; /* why the last failed kick failed */
    bool initialised;
};

extern struct hv_state hv;

const char *hv_strerror(int err);

/* Where CPU c stands for INIT/SIPI decisions (hv/core/apic_ipi.h). */
static inline enum apic_cpu_state hv_cpu_ipi_state(const struct hv_cpu *c) {
    if (c->parked || c->park_state)
        return APIC_CPU_PARKED;
    return c->up ? APIC_CPU_UP : APIC_CPU_BARE;
}
/* The periodic work (heartbeat, hook check, introspection ticks, stall watch), from the timer
 * exits of every CPU; runs only on the tick owner (hv/core/vmexit_dispatch.c). */
void hv_periodic(struct hv_cpu *c);
/* At the hand-over: parks every CPU that is not virtualized (hv/core/cpu_park.h); false when one is
 * left that can run the OS bare (hv/core/hv_takeover.c). */
bool hv_park_unvirtualized(struct hv_cpu *self);
/* Emulated INIT of another vCPU (hv/core/apic_ipi.c). */
/* hv/core/vmexit_dispatch.c: the heartbeat (from hv_periodic), and hv_up from an unvirtualized BSP.
 */
void hv_heartbeat(struct hv_cpu *c);
/* The core's callbacks and policy in a vCPU, before its launch (hv/core/vmexit_dispatch.c). */
void hv_vcpu_setup(struct hv_cpu *c);
void hv_report_up_direct(void);
/* Called on every VM exit of every CPU until the OS runs; see hv_state.os_running. */
void hv_takeover_check(struct hv_cpu *c, uint64_t guest_rip);

#endif
