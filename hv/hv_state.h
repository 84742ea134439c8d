/* Global state of the running hypervisor (one instance, set up by hv_init on the BSP). */
#ifndef VIGIL_HV_STATE_H
#define VIGIL_HV_STATE_H

#include "alloc.h"
#include "ept.h"
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
    uint8_t *msr_bitmap, *io_bitmap_a, *io_bitmap_b;
    uint32_t timer_shift;  /* IA32_VMX_MISC[4:0]: timer ticks = TSC >> shift */
    uint32_t timer_reload; /* ~1 s of timer ticks */
    struct hv_cpu *cpus[HV_MAX_CPUS];
    uint32_t ncpus;
    volatile uint32_t cpus_up, cpus_failed;
    uint64_t last_heartbeat_ms;
    bool initialised;
};

extern struct hv_state hv;

const char *hv_strerror(int err);
/* Emulated INIT of another vCPU (hv/apic_ipi.c). */
struct hv_cpu *hv_cpu_by_apic_id(uint32_t apic_id);

#endif
