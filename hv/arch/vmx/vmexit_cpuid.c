/* CPUID exits (unconditional in VMX non-root, SDM 25.1.2). The hardware answers, then:
 *  - leaf 1: ECX.VMX cleared (VT-x is hidden, so the guest never tries VMXON), ECX.SMX cleared
 *    (GETSEC is refused with #UD), ECX.OSXSAVE recomputed from the guest's CR4 (the instruction
 *    ran in root mode, where it reports the host's CR4), ECX bit 31 "hypervisor present" =
 * !stealth;
 *  - leaf 7 subleaf 0: ECX.OSPKE recomputed from the guest's CR4.PKE likewise;
 *  - leaves 0x40000000-0x4FFFFFFF: stealth=on → what the bare processor answers (it treats them as
 *    out-of-range leaves); stealth=off → vigil's hypervisor leaves at 0x40000000 (signature
 *    "VigilVigilHV", max leaf 0x40000001) and zeros elsewhere in the range.
 * Results are 32-bit: RAX/RBX/RCX/RDX get them zero-extended (SDM Vol. 2 CPUID). */
#include "base/hw.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"

#define HV_LEAF_BASE 0x40000000u
#define HV_LEAF_MAX 0x40000001u
#define HV_LEAF_RANGE_END 0x4FFFFFFFu
/* "VigilVigilHV" as EBX, ECX, EDX (little-endian). */
#define HV_SIG_EBX 0x69676956u /* "Vigi" */
#define HV_SIG_ECX 0x6769566Cu /* "lVig" */
#define HV_SIG_EDX 0x56486C69u /* "ilHV" */
#define HV_VERSION 0x00010000u /* 1.0 */

static uint64_t guest_cr4_view(const struct vcpu *v) {
    return vmx_cr_guest_view(hw_vmread(VMCS_GUEST_CR4), hw_vmread(VMCS_CR4_READ_SHADOW),
                             v->arch.cr4_mask);
}

enum vmexit_action vmexit_handle_cpuid(struct vcpu *v, struct guest_regs *g) {
    uint32_t leaf = (uint32_t)g->rax;
    uint32_t sub = (uint32_t)g->rcx;
    struct cpuid_regs r;

    if (leaf >= HV_LEAF_BASE && leaf <= HV_LEAF_RANGE_END && !v->stealth) {
        r.eax = r.ebx = r.ecx = r.edx = 0;
        if (leaf == HV_LEAF_BASE) {
            r.eax = HV_LEAF_MAX;
            r.ebx = HV_SIG_EBX;
            r.ecx = HV_SIG_ECX;
            r.edx = HV_SIG_EDX;
        } else if (leaf == HV_LEAF_BASE + 1) {
            r.eax = HV_VERSION;
        }
    } else {
        hw_cpuid(leaf, sub, &r);
        if (leaf == 1) {
            r.ecx &=
                ~(CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_OSXSAVE | CPUID_1_ECX_HYPERVISOR);
            if (guest_cr4_view(v) & CR4_OSXSAVE)
                r.ecx |= CPUID_1_ECX_OSXSAVE;
            if (!v->stealth)
                r.ecx |= CPUID_1_ECX_HYPERVISOR;
        } else if (leaf == 7 && sub == 0) {
            r.ecx &= ~CPUID_7_ECX_OSPKE;
            if (guest_cr4_view(v) & CR4_PKE)
                r.ecx |= CPUID_7_ECX_OSPKE;
        }
    }
    g->rax = r.eax;
    g->rbx = r.ebx;
    g->rcx = r.ecx;
    g->rdx = r.edx;
    vmx_guest_advance_rip();
    return VMEXIT_RESUME;
}
