/* Shared set-up for the VM-exit handler tests: a vcpu with the Bochs haswell fixed bits and
 * unrestricted guest, and helpers to stage an exit in the fake VMCS. */
#ifndef VIGIL_TEST_VMEXIT_UTIL_H
#define VIGIL_TEST_VMEXIT_UTIL_H

#include "hv/arch/vcpu.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "tests/fakes/hw_fake.h"
#include "tests/fakes/hw_safe_fake.h"

#include <string.h>

/* Bochs 2.7 corei7_haswell_4770 (tests/data/vmx-caps) */
#define T_CR0_FIXED0 0x80000021ull
#define T_CR0_FIXED1 0xFFFFFFFFull
#define T_CR4_FIXED0 0x2000ull
#define T_CR4_FIXED1 0x1727FFull
/* controls computed for it (test_vmx_controls) */
#define T_PROC_CTLS 0x96006172u
#define T_EXIT_CTLS 0x7F6FFFu
#define T_ENTRY_CTLS_64 0xD3FFu

static inline void t_vcpu_init(struct vcpu *v) {
    memset(v, 0, sizeof(*v));
    fake_reset();
    fake_safe_reset();
    vmx_cr_setup(v, T_CR0_FIXED0, T_CR0_FIXED1, T_CR4_FIXED0, T_CR4_FIXED1, true);
    v->arch.vpid = 1;
    v->arch.proc_ctls = T_PROC_CTLS;
    v->arch.exit_ctls = T_EXIT_CTLS;
    v->arch.entry_ctls = T_ENTRY_CTLS_64;
    v->xcr0_supported = 0x7; /* x87, SSE, AVX (Bochs haswell) */
    v->report_port = 0x3F8;
    v->stealth = true;
    fake_set_vmcs(VMCS_PROC_BASED_CTLS, v->arch.proc_ctls);
    fake_set_vmcs(VMCS_EXIT_CTLS, v->arch.exit_ctls);
}

/* A 64-bit kernel-mode guest: IA-32e entry control, CS.L, CR0/CR4/EFER of a running Linux. */
static inline void t_guest_64(struct vcpu *v) {
    v->arch.entry_ctls = T_ENTRY_CTLS_64;
    fake_set_vmcs(VMCS_ENTRY_CTLS, T_ENTRY_CTLS_64);
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0xA09B);
    fake_set_vmcs(VMCS_GUEST_SS_AR, 0xC093);
    fake_set_vmcs(VMCS_GUEST_EFER, EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE);
    vmx_cr_write_guest(v, 0x80050033, 0x3606F0 & T_CR4_FIXED1);
    fake_set_vmcs(VMCS_GUEST_CR3, 0x1000);
    fake_set_vmcs(VMCS_GUEST_RFLAGS, 0x246);
}

static inline void t_exit(uint32_t reason, uint64_t qual, uint64_t rip, uint32_t len) {
    fake_set_vmcs(VMCS_EXIT_REASON, reason);
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, qual);
    fake_set_vmcs(VMCS_GUEST_RIP, rip);
    fake_set_vmcs(VMCS_EXIT_INSTR_LEN, len);
    fake_set_vmcs(VMCS_ENTRY_INTR_INFO, 0);
}

static inline uint64_t t_vmcs(uint64_t field) {
    uint64_t v = 0;
    fake_get_vmcs(field, &v);
    return v;
}

/* Injected #GP(0) / #UD as the VM-entry interruption information encodes them. */
#define T_INJ_GP                                                                                   \
    (VEC_GP | (INTR_TYPE_HW_EXCEPTION << 8) | INTR_INFO_ERRCODE_VALID | INTR_INFO_VALID)
#define T_INJ_UD (VEC_UD | (INTR_TYPE_HW_EXCEPTION << 8) | INTR_INFO_VALID)
#define T_INJ_NMI (VEC_NMI | (INTR_TYPE_NMI << 8) | INTR_INFO_VALID)

#endif
