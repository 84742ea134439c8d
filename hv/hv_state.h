/* Global state of the running hypervisor (one instance, set up by hv_init on the BSP). */
#ifndef VIGIL_HV_STATE_H
#define VIGIL_HV_STATE_H

#include "alloc.h"
#include "ept.h"
#include "ept_guard.h"
#include "ept_hide.h"
#include "ept_perm.h"
#include "host_env.h"
#include "hv_image.h"
#include "mtrr.h"
#include "percpu.h"
#include "vmx_controls.h"

enum hv_error {
    HV_OK = 0,
    HV_ERR_PARAMS = -1,
    HV_ERR_NOMEM = -2,
    HV_ERR_NO_VMX = -3,
    HV_ERR_FEATURE_CONTROL = -4,
    HV_ERR_VMXON = -5,
    HV_ERR_VMCS = -6,
    HV_ERR_CONTROLS = -7,
    HV_ERR_SEGMENT = -8,
    HV_ERR_VMLAUNCH = -9,
    HV_ERR_EPT = -10,
    HV_ERR_CPU_INDEX = -11,
};

struct hv_state {
    struct hv_boot_params params;
    struct hv_heap heap;
    struct host_env env;
    struct vmx_cap_msrs caps;
    struct mtrr_state mtrr;
    struct ept_pool ept_pool;
    struct ept ept;
    uint64_t eptp;
    struct ept_perm perm;
    struct ept_hide hide;
    struct ept_guard guard; /* the live hooks' bytes (hv/ept_guard.h) */
    /* The OS kernel runs (first VM exit from the upper half of the address space): vigil's
     * bring-up calls are sealed and its memory is hidden from the guest (hv/hv_takeover.c). */
    volatile uint32_t os_running;
    uint8_t *msr_bitmap, *io_bitmap_a, *io_bitmap_b;
    uint32_t timer_shift;  /* IA32_VMX_MISC[4:0]: timer ticks = TSC >> shift */
    uint32_t timer_reload; /* ~1 s of timer ticks */
    struct hv_cpu *cpus[HV_MAX_CPUS];
    uint32_t ncpus;
    volatile uint32_t cpus_up, cpus_failed;
    uint64_t last_heartbeat_ms;
    uint64_t ept_kicks_sent, ept_kicks_failed; /* hv/ept_kick.h */
    const char *ept_kick_error;                /* why the last failed kick failed */
    bool initialised;
};

extern struct hv_state hv;

const char *hv_strerror(int err);
/* Emulated INIT of another vCPU (hv/apic_ipi.c). */
/* hv/vmexit_dispatch.c: the heartbeat (timer exits), and hv_up from an unvirtualized BSP. */
void hv_heartbeat(struct vcpu *v);
void hv_report_up_direct(void);
/* Called on every VM exit of every CPU until the OS runs; see hv_state.os_running. */
void hv_takeover_check(struct hv_cpu *c, uint64_t guest_rip);
/* The instruction at the guest's RIP as text (hv_access reports). */
size_t hv_guest_insn(void *ctx, struct ept_vcpu *v, uint64_t rip, char *out, size_t size);
size_t hv_guest_insn_len(void *ctx, struct ept_vcpu *v, uint64_t rip);

#endif
