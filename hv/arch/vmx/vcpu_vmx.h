/* VT-x's part of a vCPU and of the machine (the backend state behind hv/arch/vcpu.h). Only code in
 * hv/arch/ touches these: the core and introspection go through the functions of hv/arch/vcpu.h.
 * Included by hv/arch/vcpu.h; include that one. */
#ifndef VIGIL_VCPU_VMX_H
#define VIGIL_VCPU_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/arch/vmx/vmx_controls.h"

/* Per vCPU. */
struct vcpu_arch {
    uint16_t vpid; /* non-zero VPID of this CPU's guest (INVVPID after emulated CR/INIT) */

    /* Fixed bits for guest CR0/CR4 (IA32_VMX_CR0/CR4_FIXED0/1) and the guest/host masks in use;
     * filled by vmx_cr_setup() (hv/arch/vmx/vmx_cr.h). */
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t cr0_mask, cr4_mask;
    bool unrestricted_guest;

    /* Controls as computed by vmx_controls_compute() and written to the VMCS; the NMI-window
     * handler flips PROC_NMI_WINDOW_EXITING in proc_ctls. */
    uint32_t pin_ctls, proc_ctls, proc2_ctls, exit_ctls, entry_ctls;
    uint32_t preemption_timer_reload; /* value written back on each timer exit */
    bool timer_fast;                  /* the timer is shortened while report bytes wait */

    /* VMXON region and VMCS (4 KiB each, physical == virtual in the hypervisor's map). */
    uint8_t *vmxon, *vmcs;
    const struct vcpu_machine *machine;
    const struct vcpu_host *host; /* the host side (hv/arch/vcpu.h), owned by the core */
};

struct vcpu_host;

/* Per machine: capabilities and the tables every VMCS points at. */
struct vcpu_machine {
    struct vmx_cap_msrs caps;
    uint8_t *msr_bitmap, *io_bitmap_a, *io_bitmap_b;
    uint64_t eptp;
    uint32_t timer_shift;  /* IA32_VMX_MISC[4:0]: timer ticks = TSC >> shift */
    uint32_t timer_reload; /* ~1 s of timer ticks */
};

#endif
