/* RDMSR/WRMSR exits and the MSR bitmap (SDM 24.6.9, 25.1.3). Why each MSR exits or not:
 * docs/vmx.md "MSRs". In short: everything passes through, except what must lie about VT-x
 * (IA32_FEATURE_CONTROL, the VMX capability MSRs, IA32_SMM_MONITOR_CTL), MTRR writes (EPT
 * memory types follow them) and writes that move the time-stamp counter (vigil's clock must not
 * follow them). MSRs outside the bitmap ranges always exit; they are forwarded to the
 * hardware with fault-tolerant accessors so that a faulting index becomes a #GP in the guest. */
#include "base/hw.h"
#include "base/hw_safe.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"

bool vmexit_msr_is_mtrr(uint32_t msr) {
    return (msr >= MSR_IA32_MTRR_PHYSBASE0 && msr <= MSR_IA32_MTRR_PHYSMASK9) ||
           msr == MSR_IA32_MTRR_FIX64K_00000 || msr == MSR_IA32_MTRR_FIX16K_80000 ||
           msr == MSR_IA32_MTRR_FIX16K_A0000 ||
           (msr >= MSR_IA32_MTRR_FIX4K_C0000 && msr <= MSR_IA32_MTRR_FIX4K_F8000) ||
           msr == MSR_IA32_MTRR_DEF_TYPE;
}

static bool in_bitmap_range(uint32_t msr) {
    return msr <= 0x1FFFu || (msr >= 0xC0000000u && msr <= 0xC0001FFFu);
}

enum vmexit_msr_policy vmexit_msr_policy(uint32_t msr, bool write) {
    if (msr == MSR_IA32_FEATURE_CONTROL)
        return write ? MSR_INJECT_GP : MSR_FEATURE_CONTROL_VIEW;
    if ((msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST) || msr == MSR_IA32_SMM_MONITOR_CTL)
        return MSR_INJECT_GP;
    if (write && vmexit_msr_is_mtrr(msr))
        return MSR_MTRR_WRITE;
    if (write && (msr == MSR_IA32_TSC || msr == MSR_IA32_TSC_ADJUST))
        return MSR_TSC_WRITE;
    return in_bitmap_range(msr) ? MSR_PASS : MSR_FORWARD;
}

/* Byte offset and bit of an MSR's intercept; false outside the ranges. */
static bool bitmap_pos(uint32_t msr, bool write, uint32_t *byte, uint8_t *bit) {
    uint32_t base;
    uint32_t idx;
    if (msr <= 0x1FFFu) {
        base = 0;
        idx = msr;
    } else if (msr >= 0xC0000000u && msr <= 0xC0001FFFu) {
        base = 1024;
        idx = msr - 0xC0000000u;
    } else {
        return false;
    }
    if (write)
        base += 2048;
    *byte = base + idx / 8;
    *bit = (uint8_t)(1u << (idx % 8));
    return true;
}

bool vmexit_msr_bitmap_set(uint8_t *bm, uint32_t msr, bool write, bool intercept) {
    uint32_t byte;
    uint8_t bit;
    if (!bitmap_pos(msr, write, &byte, &bit))
        return false;
    if (intercept)
        bm[byte] |= bit;
    else
        bm[byte] &= (uint8_t)~bit;
    return true;
}

bool vmexit_msr_bitmap_intercepts(const uint8_t *bm, uint32_t msr, bool write) {
    uint32_t byte;
    uint8_t bit;
    if (!bitmap_pos(msr, write, &byte, &bit))
        return true;
    return (bm[byte] & bit) != 0;
}

void vmexit_msr_bitmap_build(uint8_t *bm) {
    lib_memset(bm, 0, VMX_MSR_BITMAP_BYTES);
    /* Only the low range holds MSRs with a policy other than pass-through. */
    for (uint32_t msr = 0; msr <= 0x1FFFu; msr++) {
        if (vmexit_msr_policy(msr, false) != MSR_PASS)
            vmexit_msr_bitmap_set(bm, msr, false, true);
        if (vmexit_msr_policy(msr, true) != MSR_PASS)
            vmexit_msr_bitmap_set(bm, msr, true, true);
    }
}

static void set_edx_eax(struct guest_regs *g, uint64_t v) {
    /* RDMSR writes EDX:EAX; in 64-bit mode the upper halves of RAX/RDX are cleared. */
    g->rax = (uint32_t)v;
    g->rdx = v >> 32;
}

enum vmexit_action vmexit_handle_rdmsr(struct vcpu *v, struct guest_regs *g) {
    (void)v;
    uint32_t msr = (uint32_t)g->rcx;
    uint64_t val;
    switch (vmexit_msr_policy(msr, false)) {
    case MSR_FEATURE_CONTROL_VIEW:
        if (!hw_rdmsr_safe(msr, &val))
            goto gp;
        val |= FEATURE_CONTROL_LOCK;
        val &= ~(FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE_SMX |
                 FEATURE_CONTROL_SENTER_MASK);
        break;
    case MSR_INJECT_GP:
        goto gp;
    default: /* MSR_PASS (bitmap says no exit, but it did) and MSR_FORWARD */
        if (!hw_rdmsr_safe(msr, &val))
            goto gp;
        break;
    }
    set_edx_eax(g, val);
    vmx_guest_advance_rip();
    return VMEXIT_RESUME;
gp:
    vmx_guest_inject_gp(0);
    return VMEXIT_RESUME;
}

/* A write that moves this CPU's TSC (SDM 17.17 "Time-Stamp Counter"): IA32_TIME_STAMP_COUNTER
 * sets the counter (the jump is the new value less the counter just before), IA32_TSC_ADJUST
 * adds the change of its value to the counter (17.17.3). The write goes to the hardware, so the
 * guest sees the TSC it asked for; vigil's clock subtracts the jump. A write the hardware refuses
 * (#GP: no TSC_ADJUST on this CPU) moves nothing. */
static bool tsc_write(struct vcpu *v, uint32_t msr, uint64_t val) {
    uint64_t before;
    if (msr == MSR_IA32_TSC) {
        before = hw_rdtsc();
    } else if (!hw_rdmsr_safe(msr, &before)) {
        return false;
    }
    if (!hw_wrmsr_safe(msr, val))
        return false;
    v->tsc_skew += (int64_t)(val - before);
    v->tsc_writes++;
    return true;
}

enum vmexit_action vmexit_handle_wrmsr(struct vcpu *v, struct guest_regs *g) {
    uint32_t msr = (uint32_t)g->rcx;
    uint64_t val = ((uint64_t)(uint32_t)g->rdx << 32) | (uint32_t)g->rax;
    switch (vmexit_msr_policy(msr, true)) {
    case MSR_INJECT_GP:
    case MSR_FEATURE_CONTROL_VIEW:
        goto gp;
    case MSR_MTRR_WRITE:
        /* The hardware validates the value (reserved bits, memory types → #GP) and keeps the
         * host's view of memory types consistent with the guest's; EPT follows via the hook. */
        if (!hw_wrmsr_safe(msr, val))
            goto gp;
        if (v->mtrr_hook)
            v->mtrr_hook(v, msr, val);
        break;
    case MSR_TSC_WRITE:
        if (!tsc_write(v, msr, val))
            goto gp;
        break;
    default:
        if (!hw_wrmsr_safe(msr, val))
            goto gp;
        break;
    }
    vmx_guest_advance_rip();
    return VMEXIT_RESUME;
gp:
    vmx_guest_inject_gp(0);
    return VMEXIT_RESUME;
}
