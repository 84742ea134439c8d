/* VT-x capability detection: what this processor offers and whether vigil can run on it.
 * vmx_caps_read gathers the raw CPUID/MSR values through the hardware seam (touching VMX MSRs only
 * when CPUID says they exist: they #GP otherwise); vmx_caps_decode is pure, so captured values
 * from Bochs and real CPUs are unit-tested. */
#ifndef VIGIL_VMX_CAPS_H
#define VIGIL_VMX_CAPS_H

#include "base/report.h"
#include "hv/arch/vmx/vmx_defs.h"
#include <stdbool.h>
#include <stdint.h>

/* MSR indices: hv/arch/vmx/vmx_defs.h. */

/* Raw inputs: everything the decision depends on. */
struct vmx_raw {
    char vendor[13];
    uint32_t cpuid1_ecx;
    uint32_t ext_max;          /* CPUID.80000000:EAX */
    uint32_t ext1_ecx;         /* CPUID.80000001:ECX (SVM is bit 2 on AMD) */
    bool have_feature_control; /* read only when CPUID reports VMX or SMX */
    uint64_t feature_control;
    bool have_vmx_msrs; /* read only when CPUID.1:ECX.VMX = 1 */
    uint64_t basic, pinbased, procbased, exit, entry, misc;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t procbased2;   /* 0 when secondary controls are not allowed */
    uint64_t ept_vpid_cap; /* 0 when neither EPT nor VPID is allowed */
    uint64_t true_pinbased, true_procbased, true_exit, true_entry; /* 0 unless BASIC[55] */
};

struct vmx_caps {
    bool cpuid_vmx;
    bool hypervisor_present; /* CPUID.1:ECX[31]: we already run under some hypervisor */
    bool svm;                /* AMD-V offered instead */
    bool fc_locked, fc_vmx_outside_smx;
    uint32_t revision_id;
    uint32_t vmcs_size;
    uint8_t vmcs_memtype;
    bool true_ctls;
    bool addr_32bit;
    bool secondary, ept, unrestricted_guest, vpid, wait_for_sipi, preemption_timer;
    bool ept_wb, ept_walk4, ept_2m, ept_1g, invept, invvpid;
    bool usable;
    char reason[200]; /* why not usable, or "" */
    char notes[120];  /* remarks when usable (e.g. feature control will be locked) */
};

void vmx_caps_read(struct vmx_raw *raw);
void vmx_caps_decode(const struct vmx_raw *raw, struct vmx_caps *caps);
/* The {"ev":"vmx",...} event (README "Report schema") or its text form. */
void vmx_caps_report(struct report *r, const struct vmx_raw *raw, const struct vmx_caps *caps);

#endif
