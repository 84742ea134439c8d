/* XSETBV exits (unconditional in VMX non-root, SDM 25.1.2). XCR0 is not switched by VM entry/exit
 * and vigil's host code never uses extended state, so the guest's value is written to the
 * hardware after the architectural checks; anything invalid gets the #GP/#UD the bare processor
 * would raise. The hardware write itself is fault-tolerant as a second line of defence. */
#include "base/hw.h"
#include "base/hw_safe.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"

#define XCR0_AVX512 (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)
#define XCR0_MPX (XCR0_BNDREGS | XCR0_BNDCSR)
#define XCR0_AMX (XCR0_TILECFG | XCR0_TILEDATA)

bool vmexit_xcr0_valid(uint64_t supported, uint64_t x) {
    if (x & ~supported)
        return false;
    if (!(x & XCR0_X87))
        return false;
    if ((x & XCR0_AVX) && !(x & XCR0_SSE))
        return false;
    if ((x & XCR0_AVX512) && ((x & XCR0_AVX512) != XCR0_AVX512 || !(x & XCR0_AVX)))
        return false;
    if ((x & XCR0_MPX) && (x & XCR0_MPX) != XCR0_MPX)
        return false;
    if ((x & XCR0_AMX) && (x & XCR0_AMX) != XCR0_AMX)
        return false;
    return true;
}

enum vmexit_action vmexit_handle_xsetbv(struct vcpu *v, struct guest_regs *g) {
    uint64_t cr4 = vmx_cr_guest_view(hw_vmread(VMCS_GUEST_CR4), hw_vmread(VMCS_CR4_READ_SHADOW),
                                     v->arch.cr4_mask);
    if (!(cr4 & CR4_OSXSAVE)) { /* #UD when CR4.OSXSAVE = 0 */
        vmx_guest_inject_ud();
        return VMEXIT_RESUME;
    }
    uint32_t xcr = (uint32_t)g->rcx;
    uint64_t val = ((uint64_t)(uint32_t)g->rdx << 32) | (uint32_t)g->rax;
    if (vmx_guest_cpl() != 0 || xcr != 0 || !vmexit_xcr0_valid(v->xcr0_supported, val) ||
        !hw_xsetbv_safe(xcr, val)) {
        vmx_guest_inject_gp(0);
        return VMEXIT_RESUME;
    }
    vmx_guest_advance_rip();
    return VMEXIT_RESUME;
}
