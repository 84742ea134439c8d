/* Guest CR0/CR4 under VMX: fixed bits (IA32_VMX_CR0/CR4_FIXED0/1, SDM A.7/A.8), guest/host masks
 * and read shadows (SDM 24.6.6), and the architectural checks of MOV to CR0/CR4 that vigil must
 * perform itself when such a write exits (SDM Vol. 2 "MOV—Move to/from Control Registers",
 * Vol. 3A 2.5 and 4.10.4.1).
 *
 * Policy (docs/vmx.md):
 *  - CR0 mask = FIXED0 bits (minus PE/PG with unrestricted guest, SDM 26.3.1.1) | bits FIXED1 does
 *    not allow (in practice NE and CR0[63:32]); the shadow holds what the guest wrote, so an INIT
 *    or real-mode guest still reads NE = 0 while the processor runs with NE = 1.
 *  - CR4 mask = FIXED0 bits (VMXE) | bits FIXED1 does not allow: CR4.VMXE reads as the guest wrote
 *    it (0), and setting it, or any bit the processor does not allow in VMX operation, exits and
 *    raises #GP as on a CPU without VT-x. CR4.SMXE likewise (SMX is hidden with VMX). */
#ifndef VIGIL_VMX_CR_H
#define VIGIL_VMX_CR_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/arch/vcpu.h"
#include "hv/arch/vmx/vmx_defs.h"

/* Fills v->cr0/4_fixed0/1, v->cr0_mask, v->cr4_mask, v->unrestricted_guest. */
void vmx_cr_setup(struct vcpu *v, uint64_t cr0_fixed0, uint64_t cr0_fixed1, uint64_t cr4_fixed0,
                  uint64_t cr4_fixed1, bool unrestricted_guest);

/* CR0 bits the processor forces to 1 in the guest (FIXED0, minus PE/PG with unrestricted guest). */
uint64_t vmx_cr0_forced1(const struct vcpu *v);

/* Value to put in GUEST_CR0 / GUEST_CR4 for a guest-visible value (forced bits set, bits outside
 * FIXED1 cleared). */
uint64_t vmx_cr0_real(const struct vcpu *v, uint64_t guest_value);
uint64_t vmx_cr4_real(const struct vcpu *v, uint64_t guest_value);

/* What the guest reads: real bits outside the mask, shadow bits inside it (SDM 25.3). */
static inline uint64_t vmx_cr_guest_view(uint64_t real, uint64_t shadow, uint64_t mask) {
    return (real & ~mask) | (shadow & mask);
}

/* Writes masks, shadows and real values of CR0 and CR4 for guest-visible values cr0/cr4 (at
 * launch: the live values of the CPU being virtualized, with CR4.VMXE hidden). */
bool vmx_cr_write_guest(const struct vcpu *v, uint64_t cr0, uint64_t cr4);

/* Host CR0/CR4 adjusted so VMXON is allowed (SDM 23.8): (cr | FIXED0) & FIXED1. */
static inline uint64_t vmx_cr_fix_for_vmxon(uint64_t cr, uint64_t fixed0, uint64_t fixed1) {
    return (cr | fixed0) & fixed1;
}

/* Architectural checks of a MOV to CR0 / CR4 (and LMSW/CLTS after they are turned into a CR0
 * value). Inputs are the guest's view. Return true when the write is legal; false = #GP(0). */
struct vmx_cr_ctx {
    uint64_t cr0, cr3, cr4; /* current guest view */
    uint64_t efer;          /* guest IA32_EFER */
    bool cs_l;              /* 64-bit code segment */
};
bool vmx_cr0_write_ok(const struct vcpu *v, const struct vmx_cr_ctx *c, uint64_t new_cr0);
bool vmx_cr4_write_ok(const struct vcpu *v, const struct vmx_cr_ctx *c, uint64_t new_cr4);

/* CR4 bits whose change requires a TLB flush of the guest's VPID (SDM 4.10.4.1). */
#define VMX_CR4_FLUSH_BITS                                                                         \
    (CR4_PGE | CR4_PAE | CR4_PSE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57)

#endif
