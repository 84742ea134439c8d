/* VMX control computation from the capability MSRs (SDM A.3-A.5 and 31.5.1 "Algorithms for
 * Determining VMX Capabilities"), plus the IA32_FEATURE_CONTROL decision for VMXON.
 *
 * Pure functions over a struct of raw MSR values, so the same code is checked in unit tests
 * against captured MSR sets (tests/data/vmx-caps) and runs on the hardware. */
#ifndef VIGIL_VMX_CONTROLS_H
#define VIGIL_VMX_CONTROLS_H

#include <stdbool.h>
#include <stdint.h>

/* Raw VMX capability MSRs. MSRs that the CPU does not implement (TRUE_* without BASIC[55],
 * PROCBASED_CTLS2 without the secondary-controls allowed-1 bit, EPT_VPID_CAP without EPT or VPID
 * allowed-1, VMFUNC without the VM-functions allowed-1) read as 0 here. */
struct vmx_cap_msrs {
    uint64_t basic;                                      /* 0x480 */
    uint64_t pin, proc, exit, entry;                     /* 0x481-0x484 */
    uint64_t misc;                                       /* 0x485 */
    uint64_t cr0_fixed0, cr0_fixed1;                     /* 0x486, 0x487 */
    uint64_t cr4_fixed0, cr4_fixed1;                     /* 0x488, 0x489 */
    uint64_t vmcs_enum;                                  /* 0x48A */
    uint64_t proc2;                                      /* 0x48B */
    uint64_t ept_vpid;                                   /* 0x48C */
    uint64_t true_pin, true_proc, true_exit, true_entry; /* 0x48D-0x490 */
    uint64_t vmfunc;                                     /* 0x491 */
};

/* Reads the capability MSRs with hw_rdmsr, only those the CPU reports as implemented (reading an
 * absent MSR raises #GP). Call only when CPUID.1:ECX.VMX = 1. */
void vmx_cap_msrs_read(struct vmx_cap_msrs *c);

/* The five control words written to the VMCS. */
struct vmx_controls {
    uint32_t pin, proc, proc2, exit, entry;
    bool preemption_timer; /* PIN_PREEMPTION_TIMER could be enabled */
};

/* What the guest needs beyond the fixed choices. */
struct vmx_control_request {
    bool guest_ia32e;      /* live EFER.LMA of the CPU being virtualized → IA-32e mode guest */
    bool preemption_timer; /* heartbeat wanted (taken when available, never required) */
};

enum vmx_ctl_field { VMX_CTL_PIN, VMX_CTL_PROC, VMX_CTL_PROC2, VMX_CTL_EXIT, VMX_CTL_ENTRY };

enum vmx_ctl_status {
    VMX_CTL_OK = 0,
    VMX_CTL_NO_VMX,               /* IA32_VMX_BASIC reads 0: no VMX capability MSRs */
    VMX_CTL_REQUIRED_NOT_ALLOWED, /* a control vigil needs has allowed-1 = 0 */
    VMX_CTL_FORBIDDEN_FORCED,     /* a control vigil must keep 0 has allowed-0 = 1 */
    VMX_CTL_INCONSISTENT_MSR,     /* allowed-0 bit set where allowed-1 is clear */
};

struct vmx_ctl_error {
    enum vmx_ctl_status status;
    enum vmx_ctl_field field; /* which control word */
    uint32_t bit;             /* the control bit (mask) */
    const char *name;         /* e.g. "unrestricted guest"; never NULL when status != OK */
};

/* Computes the controls (SDM 31.5.1 algorithm 3 with the TRUE_* MSRs when BASIC[55] = 1, else
 * algorithm over the legacy MSRs where default1 bits stay 1):
 *   value = required | (optional & allowed1) | allowed0 | (default1 not in must_be_zero)
 * Required: pin NMI exiting + virtual NMIs; proc MSR bitmaps, I/O bitmaps, secondary controls and
 * the availability of NMI-window exiting; proc2 EPT, VPID, unrestricted guest; exit host address
 * space size, save/load EFER, save/load PAT, save debug controls; entry load EFER/PAT/debug
 * controls (+ IA-32e mode guest when req->guest_ia32e). Optional: preemption timer (+ save on
 * exit), RDTSCP, INVPCID, XSAVES/XRSTORS, user wait/pause, conceal VMX from PT.
 * Kept 0: CR3-load/store exiting (EPT makes them useless and every CR3 write would exit).
 * Returns false with *err naming the first offending control. */
bool vmx_controls_compute(const struct vmx_cap_msrs *caps, const struct vmx_control_request *req,
                          struct vmx_controls *out, struct vmx_ctl_error *err);

/* The capability MSR (allowed-0 low, allowed-1 high) that governs a control word, following
 * BASIC[55] for the four TRUE_* variants. */
uint64_t vmx_controls_cap_for(const struct vmx_cap_msrs *caps, enum vmx_ctl_field f);

/* Human names for messages. */
const char *vmx_ctl_field_name(enum vmx_ctl_field f);
const char *vmx_ctl_status_str(enum vmx_ctl_status s);

/* IA32_FEATURE_CONTROL before VMXON (SDM 23.7): VMXON outside SMX needs bit 2 and the lock bit.
 *  - locked with bit 2 set: nothing to do;
 *  - locked without bit 2: VMX disabled by the firmware → error;
 *  - unlocked: write current | bit 2 | lock (vigil locks it, as the issue asks). */
enum vmx_fc_decision { VMX_FC_READY, VMX_FC_WRITE, VMX_FC_DISABLED_BY_FIRMWARE };
enum vmx_fc_decision vmx_feature_control_decide(uint64_t current, uint64_t *to_write);

#endif
