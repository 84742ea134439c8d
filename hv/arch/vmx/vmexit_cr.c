/* Control-register access exits (EXIT_REASON_CR_ACCESS; SDM 25.1.3, qualification 27.2.1 table
 * 27-3): MOV to CR0/CR4 that changes a bit owned by the host (vmx_cr.h masks), CLTS and LMSW when
 * they touch masked CR0 bits. CR3 and CR8 accesses never exit (CR3-load/store exiting and the CR8
 * controls are 0): such an exit is unexpected and goes to the unhandled path. */
#include "base/hw.h"
#include "base/report.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"

static void flush_guest_tlb(const struct vcpu *v) {
    /* The guest's translations are tagged with its VPID; a paging-mode change the processor did
     * not perform itself must be followed by an explicit invalidation (SDM 28.3.3.3 "Guidelines for
     * Use of the INVVPID Instruction"). */
    uint64_t desc[2] = {v->arch.vpid, 0};
    if (!hw_invvpid(INVVPID_SINGLE_CONTEXT, desc))
        hw_invvpid(INVVPID_ALL_CONTEXT, desc);
}

static void read_ctx(const struct vcpu *v, struct vmx_cr_ctx *c) {
    c->cr0 = vmx_cr_guest_view(hw_vmread(VMCS_GUEST_CR0), hw_vmread(VMCS_CR0_READ_SHADOW),
                               v->arch.cr0_mask);
    c->cr4 = vmx_cr_guest_view(hw_vmread(VMCS_GUEST_CR4), hw_vmread(VMCS_CR4_READ_SHADOW),
                               v->arch.cr4_mask);
    c->cr3 = hw_vmread(VMCS_GUEST_CR3);
    c->efer = hw_vmread(VMCS_GUEST_EFER);
    c->cs_l = (hw_vmread(VMCS_GUEST_CS_AR) & AR_L) != 0;
}

/* Emulates the CR0 write; returns false when it needs a #GP. *park set when vigil cannot
 * complete it (PAE paging outside IA-32e mode would need the PDPTEs from guest memory). */
static bool write_cr0(struct vcpu *v, const struct vmx_cr_ctx *c, uint64_t n, bool *park) {
    *park = false;
    if (!vmx_cr0_write_ok(v, c, n))
        return false;
    uint64_t changed = n ^ c->cr0;
    if (changed & CR0_PG) {
        uint64_t efer = c->efer;
        uint64_t entry = hw_vmread(VMCS_ENTRY_CTLS);
        if (n & CR0_PG) {
            if (efer & EFER_LME) {
                /* IA-32e mode activation (SDM 9.8.5): LMA follows, and so must the VM-entry
                 * control that tells the processor the guest is in IA-32e mode (26.3.1.1). */
                efer |= EFER_LMA;
                entry |= ENTRY_IA32E_MODE_GUEST;
            } else if (c->cr4 & CR4_PAE) {
                *park = true;
                return true;
            }
        } else if (efer & EFER_LMA) {
            efer &= ~EFER_LMA;
            entry &= ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
        }
        hw_vmwrite(VMCS_GUEST_EFER, efer);
        hw_vmwrite(VMCS_ENTRY_CTLS, entry);
        v->arch.entry_ctls = (uint32_t)entry;
    }
    hw_vmwrite(VMCS_CR0_READ_SHADOW, n);
    hw_vmwrite(VMCS_GUEST_CR0, vmx_cr0_real(v, n));
    if (changed & (CR0_PG | CR0_PE | CR0_WP))
        flush_guest_tlb(v);
    return true;
}

static bool write_cr4(struct vcpu *v, const struct vmx_cr_ctx *c, uint64_t n) {
    if (!vmx_cr4_write_ok(v, c, n))
        return false;
    hw_vmwrite(VMCS_CR4_READ_SHADOW, n);
    hw_vmwrite(VMCS_GUEST_CR4, vmx_cr4_real(v, n));
    if ((n ^ c->cr4) & VMX_CR4_FLUSH_BITS)
        flush_guest_tlb(v);
    return true;
}

enum vmexit_action vmexit_handle_cr_access(struct vcpu *v, struct guest_regs *g) {
    uint64_t q = hw_vmread(VMCS_EXIT_QUALIFICATION);
    unsigned cr = CR_QUAL_CR(q);
    unsigned type = CR_QUAL_TYPE(q);
    struct vmx_cr_ctx c;
    read_ctx(v, &c);
    bool ok, park = false;

    switch (type) {
    case CR_ACCESS_MOV_TO_CR: {
        uint64_t val = vmx_guest_gpr_read(g, CR_QUAL_GPR(q));
        /* Outside 64-bit mode the operand is 32 bits wide (SDM Vol. 2 MOV CR). */
        if (!vmx_guest_in_64bit_mode())
            val &= 0xFFFFFFFFull;
        if (cr == 0)
            ok = write_cr0(v, &c, val, &park);
        else if (cr == 4)
            ok = write_cr4(v, &c, val);
        else
            return vmexit_handle_unhandled(v, g);
        break;
    }
    case CR_ACCESS_CLTS:
        ok = write_cr0(v, &c, c.cr0 & ~CR0_TS, &park);
        break;
    case CR_ACCESS_LMSW: {
        /* LMSW loads CR0[3:0] but can set PE only, never clear it (SDM Vol. 2 LMSW). */
        uint64_t src = CR_QUAL_LMSW_DATA(q) & 0xFu;
        uint64_t n = (c.cr0 & ~0xEull) | (src & 0xEu) | ((c.cr0 | src) & CR0_PE);
        ok = write_cr0(v, &c, n, &park);
        break;
    }
    default: /* MOV from CR: only CR3/CR8 store exiting cause it, and both are off */
        return vmexit_handle_unhandled(v, g);
    }
    if (park) {
        vmx_guest_dump_fatal(v, "CR0.PG set with PAE paging outside IA-32e mode: not supported", g);
        return VMEXIT_PARK;
    }
    if (!ok) {
        vmx_guest_inject_gp(0);
        return VMEXIT_RESUME;
    }
    vmx_guest_advance_rip();
    return VMEXIT_RESUME;
}
