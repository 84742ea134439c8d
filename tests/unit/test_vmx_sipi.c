/* INIT/SIPI state machine: INIT state, wait-for-SIPI, SIPI start, repeated INIT, SMI blocking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hv/arch/vmx/vmx_seg.h"
#include "hv/arch/vmx/vmx_sipi.h"
#include "tests/unit/test_vmexit_util.h"

static struct vcpu v;
static struct guest_regs g;

static int setup(void **state) {
    (void)state;
    t_vcpu_init(&v);
    t_guest_64(&v);
    v.cpu_signature = 0x000306c3;
    fake_nmi_unblocks = 0;
    memset(&g, 0x5A, sizeof(g));
    return 0;
}

static void check_init_state(uint64_t expect_cr0_shadow) {
    assert_int_equal(t_vmcs(VMCS_GUEST_ACTIVITY_STATE), ACTIVITY_WAIT_SIPI);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0xFFF0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RFLAGS), 0x2);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_SEL), 0xF000);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_BASE), 0xFFFF0000ull);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_LIMIT), 0xFFFF);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_AR), 0x9B);
    assert_int_equal(t_vmcs(VMCS_GUEST_DS_SEL), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_SS_AR), 0x93);
    assert_int_equal(t_vmcs(VMCS_GUEST_GS_LIMIT), 0xFFFF);
    assert_int_equal(t_vmcs(VMCS_GUEST_LDTR_AR), 0x82);
    assert_int_equal(t_vmcs(VMCS_GUEST_TR_AR), 0x8B);
    assert_int_equal(t_vmcs(VMCS_GUEST_GDTR_LIMIT), 0xFFFF);
    assert_int_equal(t_vmcs(VMCS_GUEST_IDTR_BASE), 0);
    assert_int_equal(t_vmcs(VMCS_CR0_READ_SHADOW), expect_cr0_shadow);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR0), expect_cr0_shadow | CR0_NE);
    assert_int_equal(t_vmcs(VMCS_CR4_READ_SHADOW), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR4), CR4_VMXE);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR3), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_EFER), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_DR7), 0x400);
    assert_int_equal(t_vmcs(VMCS_ENTRY_CTLS) & ENTRY_IA32E_MODE_GUEST, 0);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_INTERRUPTIBILITY), 0);
    assert_int_equal(v.sipi_state, VCPU_WAIT_FOR_SIPI);
}

static void test_init_then_sipi(void **state) {
    (void)state;
    /* pending NMI work and an event queued for injection are dropped by INIT */
    v.nmi_pending = 1;
    v.arch.proc_ctls |= PROC_NMI_WINDOW_EXITING;
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_SMI | INTERRUPTIBILITY_STI);
    t_exit(EXIT_REASON_INIT, 0, 0xffffffff81000000ull, 0);
    fake_set_vmcs(VMCS_ENTRY_INTR_INFO, T_INJ_GP);
    assert_int_equal(vmexit_handle_init(&v, &g), VMEXIT_RESUME);
    check_init_state(0x10); /* ET; CD/NW were 0 */
    assert_int_equal(g.rdx, 0x000306c3);
    assert_int_equal(g.rax, 0);
    assert_int_equal(g.r15, 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RSP), 0);
    assert_int_equal(v.nmi_pending, 0);
    assert_int_equal(t_vmcs(VMCS_PROC_BASED_CTLS) & PROC_NMI_WINDOW_EXITING, 0);
    assert_int_equal(v.init_count, 1);

    /* SIPI vector 0x9A: CS 9A00, base 9A000, IP 0, active */
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_SMI); /* Bochs 2.7 bug 2 */
    t_exit(EXIT_REASON_SIPI, 0x9A, 0xFFF0, 0);
    assert_int_equal(vmexit_handle_sipi(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_SEL), 0x9A00);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_BASE), 0x9A000);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_LIMIT), 0xFFFF);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_AR), 0x9B);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_ACTIVITY_STATE), ACTIVITY_ACTIVE);
    assert_int_equal(t_vmcs(VMCS_GUEST_INTERRUPTIBILITY), 0);
    assert_int_equal(v.sipi_state, VCPU_RUNNING);
    assert_int_equal(v.sipi_count, 1);
    assert_int_equal(v.last_sipi_vector, 0x9A);
    /* NMIs unblocked for Bochs 2.7, whose SIPI exit leaves them masked */
    assert_int_equal(fake_nmi_unblocks, 1);
    /* only the low 8 bits of the qualification are the vector */
    t_exit(EXIT_REASON_INIT, 0, 0, 0);
    assert_int_equal(vmexit_handle_init(&v, &g), VMEXIT_RESUME);
    t_exit(EXIT_REASON_SIPI, 0xFFFFFF10ull, 0, 0);
    assert_int_equal(vmexit_handle_sipi(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_SEL), 0x1000);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_BASE), 0x10000);
}

static void test_init_keeps_cd_nw(void **state) {
    (void)state;
    vmx_cr_write_guest(&v, 0xE0050033, 0x6F0 & T_CR4_FIXED1); /* CD | NW set */
    t_exit(EXIT_REASON_INIT, 0, 0, 0);
    assert_int_equal(vmexit_handle_init(&v, &g), VMEXIT_RESUME);
    check_init_state(0x60000010);
}

/* A second INIT while waiting for SIPI changes nothing but is counted (Bochs 2.7 bug 1 shows up
 * as a stream of them); SMI blocking is cleared on that path too. */
static void test_repeated_init(void **state) {
    (void)state;
    t_exit(EXIT_REASON_INIT, 0, 0, 0);
    assert_int_equal(vmexit_handle_init(&v, &g), VMEXIT_RESUME);
    fake_set_vmcs(VMCS_GUEST_RIP, 0x1234); /* would be overwritten by a fresh INIT state */
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_SMI);
    g.rbx = 77;
    assert_int_equal(vmexit_handle_init(&v, &g), VMEXIT_RESUME);
    assert_int_equal(v.init_count, 2);
    assert_int_equal(v.repeated_init_count, 1);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x1234);
    assert_int_equal(g.rbx, 77);
    assert_int_equal(t_vmcs(VMCS_GUEST_ACTIVITY_STATE), ACTIVITY_WAIT_SIPI);
    assert_int_equal(t_vmcs(VMCS_GUEST_INTERRUPTIBILITY), 0);
    assert_int_equal(v.sipi_state, VCPU_WAIT_FOR_SIPI);
}

/* A SIPI that reaches a running CPU is ignored (only wait-for-SIPI takes SIPIs). */
static void test_sipi_when_running_ignored(void **state) {
    (void)state;
    fake_set_vmcs(VMCS_GUEST_RIP, 0x5555);
    fake_set_vmcs(VMCS_GUEST_CS_SEL, 0x10);
    t_exit(EXIT_REASON_SIPI, 0x9A, 0x5555, 0);
    assert_int_equal(vmexit_handle_sipi(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x5555);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_SEL), 0x10);
    assert_int_equal(v.sipi_count, 0);
    assert_int_equal(fake_nmi_unblocks, 0); /* not a start: nothing to undo */
    /* a VMCS set to wait-for-SIPI by other code: the SIPI starts the CPU */
    fake_set_vmcs(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
    assert_int_equal(vmexit_handle_sipi(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_SEL), 0x9A00);
    assert_int_equal(t_vmcs(VMCS_GUEST_ACTIVITY_STATE), ACTIVITY_ACTIVE);
    assert_int_equal(v.sipi_count, 1);
}

/* Design (b): a fresh VMCS for an AP re-virtualized at its SIPI. */
static void test_fresh_vmcs_path(void **state) {
    (void)state;
    fake_reset();
    vmx_sipi_write_init_state(&v, NULL);
    vmx_sipi_write_start_state(&v, 0x08);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_SEL), 0x0800);
    assert_int_equal(t_vmcs(VMCS_GUEST_CS_BASE), 0x8000);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_ACTIVITY_STATE), ACTIVITY_ACTIVE);
    assert_int_equal(t_vmcs(VMCS_GUEST_SS_AR), 0x93);
    assert_int_equal(t_vmcs(VMCS_GUEST_CR0), 0x30);
    struct vmx_segment cs = vmx_sipi_start_cs(0xFF);
    assert_int_equal(cs.sel, 0xFF00);
    assert_int_equal(cs.base, 0xFF000);
}

static void test_clear_smi_blocking(void **state) {
    (void)state;
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_SMI | INTERRUPTIBILITY_NMI);
    assert_true(vmx_sipi_clear_smi_blocking());
    assert_int_equal(t_vmcs(VMCS_GUEST_INTERRUPTIBILITY), INTERRUPTIBILITY_NMI);
    assert_false(vmx_sipi_clear_smi_blocking());
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_then_sipi, setup),
        cmocka_unit_test_setup(test_init_keeps_cd_nw, setup),
        cmocka_unit_test_setup(test_repeated_init, setup),
        cmocka_unit_test_setup(test_sipi_when_running_ignored, setup),
        cmocka_unit_test_setup(test_fresh_vmcs_path, setup),
        cmocka_unit_test_setup(test_clear_smi_blocking, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
