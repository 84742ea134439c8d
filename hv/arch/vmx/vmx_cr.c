/* Guest CR0/CR4 policy and checks (see vmx_cr.h). */
#include "hv/arch/vmx/vmx_cr.h"

#include "base/hw.h"
#include "hv/arch/vmx/vmx_defs.h"

void vmx_cr_setup(struct vcpu *v, uint64_t cr0_fixed0, uint64_t cr0_fixed1, uint64_t cr4_fixed0,
                  uint64_t cr4_fixed1, bool unrestricted_guest) {
    v->arch.cr0_fixed0 = cr0_fixed0;
    v->arch.cr0_fixed1 = cr0_fixed1;
    v->arch.cr4_fixed0 = cr4_fixed0;
    v->arch.cr4_fixed1 = cr4_fixed1;
    v->arch.unrestricted_guest = unrestricted_guest;
    /* Bits the guest may not change on its own: those with a fixed value in VMX operation. The
     * high halves count as "not allowed to be 1" (FIXED1 is a 64-bit MSR whose upper half reads
     * 0): MOV to CR with bits 63:32 set exits and gets #GP. */
    v->arch.cr0_mask = vmx_cr0_forced1(v) | ~cr0_fixed1;
    /* CR4.SMXE too: SMX is hidden with VMX (CPUID.1:ECX.SMX = 0), so it is reserved for the guest.
     */
    v->arch.cr4_mask = cr4_fixed0 | ~cr4_fixed1 | CR4_SMXE;
}

uint64_t vmx_cr0_forced1(const struct vcpu *v) {
    uint64_t f = v->arch.cr0_fixed0;
    /* SDM 26.3.1.1 / A.7: with "unrestricted guest" = 1, PE and PG may be 0 in the guest. */
    if (v->arch.unrestricted_guest)
        f &= ~(CR0_PE | CR0_PG);
    return f;
}

uint64_t vmx_cr0_real(const struct vcpu *v, uint64_t guest_value) {
    return (guest_value | vmx_cr0_forced1(v)) & v->arch.cr0_fixed1;
}

uint64_t vmx_cr4_real(const struct vcpu *v, uint64_t guest_value) {
    return (guest_value | v->arch.cr4_fixed0) & v->arch.cr4_fixed1;
}

bool vmx_cr_write_guest(const struct vcpu *v, uint64_t cr0, uint64_t cr4) {
    bool ok = hw_vmwrite(VMCS_CR0_GUEST_HOST_MASK, v->arch.cr0_mask);
    ok &= hw_vmwrite(VMCS_CR4_GUEST_HOST_MASK, v->arch.cr4_mask);
    ok &= hw_vmwrite(VMCS_CR0_READ_SHADOW, cr0);
    ok &= hw_vmwrite(VMCS_CR4_READ_SHADOW, cr4);
    ok &= hw_vmwrite(VMCS_GUEST_CR0, vmx_cr0_real(v, cr0));
    ok &= hw_vmwrite(VMCS_GUEST_CR4, vmx_cr4_real(v, cr4));
    return ok;
}

bool vmx_cr0_write_ok(const struct vcpu *v, const struct vmx_cr_ctx *c, uint64_t n) {
    (void)v;
    /* MOV to CR0 #GP(0) conditions (SDM Vol. 2 MOV—Move to/from Control Registers; 2.5). */
    if (n >> 32) /* reserved bits 63:32 */
        return false;
    if ((n & CR0_PG) && !(n & CR0_PE)) /* paging without protection */
        return false;
    if ((n & CR0_NW) && !(n & CR0_CD)) /* not-write-through without cache disable */
        return false;
    bool lma = (c->efer & EFER_LMA) != 0;
    if (!(n & CR0_PG) && (c->cr0 & CR0_PG)) {
        /* Leaving paging: not from 64-bit code, and not with PCIDs on (4.10.1). */
        if ((lma && c->cs_l) || (c->cr4 & CR4_PCIDE))
            return false;
    }
    if ((n & CR0_PG) && !(c->cr0 & CR0_PG) && (c->efer & EFER_LME)) {
        /* Activating IA-32e mode needs PAE (9.8.5) and must not run in a 64-bit segment. */
        if (!(c->cr4 & CR4_PAE) || c->cs_l)
            return false;
    }
    return true;
}

bool vmx_cr4_write_ok(const struct vcpu *v, const struct vmx_cr_ctx *c, uint64_t n) {
    /* VT-x is hidden: CR4.VMXE behaves as on a processor without VMX (reserved → #GP). */
    if (n & (CR4_VMXE | CR4_SMXE))
        return false;
    /* Bits the processor does not allow in VMX operation are bits it does not support. */
    if (n & ~v->arch.cr4_fixed1)
        return false;
    bool lma = (c->efer & EFER_LMA) != 0;
    if (lma && !(n & CR4_PAE)) /* cannot leave PAE in IA-32e mode */
        return false;
    if (lma && ((n ^ c->cr4) & CR4_LA57)) /* LA57 cannot change in IA-32e mode */
        return false;
    if ((n & CR4_PCIDE) && !(c->cr4 & CR4_PCIDE)) {
        /* PCIDE 0→1 only in IA-32e mode with CR3[11:0] = 0 (4.10.1). */
        if (!lma || (c->cr3 & 0xFFFu))
            return false;
    }
    return true;
}
