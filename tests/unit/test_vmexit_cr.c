/* CR-access exit handler: MOV to CR0/CR4, CLTS, LMSW, IA-32e activation, #GP cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hv/arch/vmx/vmx_guest.h"
#include "tests/unit/test_vmexit_util.h"

static struct vcpu v;
static struct guest_regs g;

static uint64_t q_mov_to(unsigned cr, unsigned gpr) {
    return cr | (CR_ACCESS_MOV_TO_CR << 4) | (gpr << 8);
}

static int setup(void **state) {
    (void)state;
    t_vcpu_init(&v);
    memset(&g, 0, sizeof(g));
    return 0;
}

/* The AP trampoline of Linux after SIPI: real mode, CR0 shadow 0x60000010 (NE 0 after INIT),
 * CR4.PAE and EFER.LME set; then one MOV to CR0 with PG|PE|NE... activates IA-32e mode. NE
 * differs from the shadow, so this write exits and vigil must complete the mode switch. */
static void test_ia32e_activation(void **state) {
    (void)state;
    vmx_cr_write_guest(&v, 0x60000011, CR4_PAE);
    fake_set_vmcs(VMCS_GUEST_EFER, EFER_LME);
    v.arch.entry_ctls = T_ENTRY_CTLS_64 & ~ENTRY_IA32E_MODE_GUEST;
    fake_set_vmcs(VMCS_ENTRY_CTLS, v.arch.entry_ctls);
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0xC09B);
    g.rbx = 0x80050033;
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(0, 3), 0x9A0F0, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_CR0_READ_SHADOW), 0x80050033);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR0), 0x80050033);
    assert_int_equal(t_vmcs(VMCS_GUEST_EFER), EFER_LME | EFER_LMA);
    assert_true(t_vmcs(VMCS_ENTRY_CTLS) & ENTRY_IA32E_MODE_GUEST);
    assert_true(v.arch.entry_ctls & ENTRY_IA32E_MODE_GUEST);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x9A0F3);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
}

/* Leaving IA-32e mode from compatibility mode clears LMA and the entry control. */
static void test_ia32e_deactivation(void **state) {
    (void)state;
    t_guest_64(&v);
    vmx_cr_write_guest(&v, 0x80000011, CR4_PAE);
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0xC09B); /* compatibility mode, L = 0 */
    fake_set_vmcs(VMCS_CR0_READ_SHADOW, 0x80000011 & ~CR0_NE);
    g.rax = 0x00000031; /* PG off, NE on (differs from shadow) */
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(0, 0), 0x1000, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_EFER) & EFER_LMA, 0);
    assert_int_equal(t_vmcs(VMCS_ENTRY_CTLS) & ENTRY_IA32E_MODE_GUEST, 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR0), 0x31);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x1003);
}

static void test_cr4_vmxe_gp(void **state) {
    (void)state;
    t_guest_64(&v);
    uint64_t shadow = t_vmcs(VMCS_CR4_READ_SHADOW);
    g.rcx = shadow | CR4_VMXE;
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(4, 1), 0xffffffff81000000ull, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
    assert_int_equal(t_vmcs(VMCS_ENTRY_EXCEPTION_ERRCODE), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0xffffffff81000000ull); /* not advanced */
    assert_int_equal(t_vmcs(VMCS_CR4_READ_SHADOW), shadow);          /* unchanged */
}

static void test_cr4_unsupported_bit_gp(void **state) {
    (void)state;
    t_guest_64(&v);
    g.rdx = t_vmcs(VMCS_CR4_READ_SHADOW) | CR4_PKE; /* Bochs haswell has no PKE */
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(4, 2), 0x2000, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
}

/* A legal CR4 write that exits (here: after INIT the real CR4 has VMXE, the guest writes PAE and
 * also a masked bit equal to the shadow): shadow and real value follow, RIP advances. */
static void test_cr4_legal_write(void **state) {
    (void)state;
    vmx_cr_write_guest(&v, 0x60000011, 0);
    fake_set_vmcs(VMCS_GUEST_EFER, 0);
    fake_set_vmcs(VMCS_ENTRY_CTLS, v.arch.entry_ctls & ~ENTRY_IA32E_MODE_GUEST);
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0x9B);
    g.r9 = CR4_PAE | CR4_PGE;
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(4, 9), 0x100, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_CR4_READ_SHADOW), CR4_PAE | CR4_PGE);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR4), CR4_PAE | CR4_PGE | CR4_VMXE);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x103); /* 32-bit wrap rule applied, no overflow */
}

static void test_cr0_gp_cases(void **state) {
    (void)state;
    const uint64_t bad[] = {0x80050033 | (1ull << 40), 0x80050032 /* PG w/o PE */,
                            0xA0050033 /* NW w/o CD */, 0x00050033 /* PG off in 64-bit */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t_vcpu_init(&v);
        t_guest_64(&v);
        fake_set_vmcs(VMCS_CR0_READ_SHADOW, 0x80050013); /* NE differs: the write exits */
        g.rax = bad[i];
        t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(0, 0), 0x5000, 3);
        assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
        assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
        assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x5000);
    }
}

/* Outside 64-bit mode the source operand is 32 bits: upper garbage does not #GP. */
static void test_cr0_32bit_operand(void **state) {
    (void)state;
    vmx_cr_write_guest(&v, 0x60000010, 0);
    fake_set_vmcs(VMCS_ENTRY_CTLS, v.arch.entry_ctls & ~ENTRY_IA32E_MODE_GUEST);
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0xC09B);
    g.rax = 0xDEAD000000000031ull;
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(0, 0), 0xFFFFFFFE, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(t_vmcs(VMCS_CR0_READ_SHADOW), 0x31);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x1); /* EIP wraps at 4 GiB */
}

static void test_rsp_source(void **state) {
    (void)state;
    vmx_cr_write_guest(&v, 0x60000010, 0);
    fake_set_vmcs(VMCS_ENTRY_CTLS, v.arch.entry_ctls & ~ENTRY_IA32E_MODE_GUEST);
    fake_set_vmcs(VMCS_GUEST_RSP, 0x11); /* PE | ET */
    g.rsp_unused = 0x80000031;           /* must not be used */
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(0, 4), 0x10, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_CR0_READ_SHADOW), 0x11);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR0), 0x31);
}

static void test_clts_and_lmsw(void **state) {
    (void)state;
    t_guest_64(&v);
    fake_set_vmcs(VMCS_CR0_READ_SHADOW, 0x80050033);
    fake_set_vmcs(VMCS_GUEST_CR0, 0x8005003B); /* TS set */
    t_exit(EXIT_REASON_CR_ACCESS, CR_ACCESS_CLTS << 4, 0x40, 2);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR0) & CR0_TS, 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x42);

    /* LMSW 0 cannot clear PE; it sets MP/EM/TS from the source */
    vmx_cr_write_guest(&v, 0x60000011, 0);
    fake_set_vmcs(VMCS_ENTRY_CTLS, v.arch.entry_ctls & ~ENTRY_IA32E_MODE_GUEST);
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0xC09B);
    t_exit(EXIT_REASON_CR_ACCESS, (CR_ACCESS_LMSW << 4) | (0x000Eull << 16), 0x80, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_CR0_READ_SHADOW), 0x6000001F);
    t_exit(EXIT_REASON_CR_ACCESS, (CR_ACCESS_LMSW << 4) | (0x0000ull << 16), 0x80, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_CR0_READ_SHADOW), 0x60000011);
}

static void test_unexpected_cr_accesses_park(void **state) {
    (void)state;
    t_guest_64(&v);
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(3, 0), 0x10, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_PARK);
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(8, 0), 0x10, 4);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_PARK);
    t_exit(EXIT_REASON_CR_ACCESS, 3 | (CR_ACCESS_MOV_FROM_CR << 4), 0x10, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_PARK);
}

/* PAE paging outside IA-32e mode would need the PDPTEs: refused with a dump, not crashed. */
static void test_legacy_pae_paging_parks(void **state) {
    (void)state;
    vmx_cr_write_guest(&v, 0x11, CR4_PAE);
    fake_set_vmcs(VMCS_GUEST_EFER, 0);
    fake_set_vmcs(VMCS_ENTRY_CTLS, v.arch.entry_ctls & ~ENTRY_IA32E_MODE_GUEST);
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0xC09B);
    g.rax = 0x80000031;
    t_exit(EXIT_REASON_CR_ACCESS, q_mov_to(0, 0), 0x10, 3);
    assert_int_equal(vmexit_handle_cr_access(&v, &g), VMEXIT_PARK);
}

/* Every qualification value with random registers: always a defined action, never a crash. */
static void test_random_qualifications(void **state) {
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t_vcpu_init(&v);
        t_guest_64(&v);
        uint64_t *r = &g.rax;
        for (int k = 0; k < 16; k++)
            r[k] = x * (uint64_t)(k + 1);
        t_exit(EXIT_REASON_CR_ACCESS, x & 0xFFFFFFFFull, x, (uint32_t)(x >> 60));
        enum vmexit_action a = vmexit_handle_cr_access(&v, &g);
        assert_true(a == VMEXIT_RESUME || a == VMEXIT_PARK);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ia32e_activation, setup),
        cmocka_unit_test_setup(test_ia32e_deactivation, setup),
        cmocka_unit_test_setup(test_cr4_vmxe_gp, setup),
        cmocka_unit_test_setup(test_cr4_unsupported_bit_gp, setup),
        cmocka_unit_test_setup(test_cr4_legal_write, setup),
        cmocka_unit_test_setup(test_cr0_gp_cases, setup),
        cmocka_unit_test_setup(test_cr0_32bit_operand, setup),
        cmocka_unit_test_setup(test_rsp_source, setup),
        cmocka_unit_test_setup(test_clts_and_lmsw, setup),
        cmocka_unit_test_setup(test_unexpected_cr_accesses_park, setup),
        cmocka_unit_test_setup(test_legacy_pae_paging_parks, setup),
        cmocka_unit_test_setup(test_random_qualifications, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
