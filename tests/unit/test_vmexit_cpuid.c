/* CPUID exit handler: VMX/SMX hidden, OSXSAVE/OSPKE from the guest's CR4, hypervisor leaves per
 * stealth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_vmexit_util.h"

static struct vcpu v;
static struct guest_regs g;

static int setup(void **state) {
    (void)state;
    t_vcpu_init(&v);
    t_guest_64(&v);
    memset(&g, 0, sizeof(g));
    /* Bochs haswell leaf 1 as captured (ECX has VMX bit 5, OSXSAVE bit 27 clear under OVMF) */
    fake_set_cpuid(1, 0, 0x000306c3, 0x00010800, 0x77faf3bf, 0xbfebfbff);
    fake_set_cpuid(0, 0, 0xD, 0x756e6547, 0x6c65746e, 0x49656e69);
    fake_set_cpuid(7, 0, 0, 0x27ab, 0x10, 0);
    fake_set_cpuid(0x40000000, 0, 0xD, 0x1, 0x2, 0x3); /* what the bare CPU answers there */
    return 0;
}

static void run(uint64_t rax, uint64_t rcx) {
    g.rax = rax;
    g.rcx = rcx;
    g.rbx = g.rdx = 0xDEADBEEFDEADBEEFull;
    t_exit(EXIT_REASON_CPUID, 0, 0x1000, 2);
    assert_int_equal(vmexit_handle_cpuid(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x1002);
}

static void test_leaf1_hides_vmx_stealth(void **state) {
    (void)state;
    v.stealth = true;
    /* guest CR4 of t_guest_64 has OSXSAVE */
    run(1, 0);
    assert_int_equal(g.rax, 0x000306c3);
    assert_int_equal(g.rbx, 0x00010800);
    assert_int_equal(g.rcx & CPUID_1_ECX_VMX, 0);
    assert_int_equal(g.rcx & CPUID_1_ECX_SMX, 0);
    assert_int_equal(g.rcx & CPUID_1_ECX_HYPERVISOR, 0);
    assert_true(g.rcx & CPUID_1_ECX_OSXSAVE);
    assert_int_equal(g.rcx, (0x77faf3bf & ~0x20u) | CPUID_1_ECX_OSXSAVE);
    assert_int_equal(g.rdx, 0xbfebfbff); /* upper half cleared */
}

static void test_leaf1_hypervisor_bit_when_not_stealth(void **state) {
    (void)state;
    v.stealth = false;
    run(1, 0);
    assert_true(g.rcx & CPUID_1_ECX_HYPERVISOR);
    assert_int_equal(g.rcx & CPUID_1_ECX_VMX, 0);
}

static void test_osxsave_follows_guest_cr4(void **state) {
    (void)state;
    /* host CR4 had OSXSAVE (the fake reports it set), the guest has it clear */
    fake_set_cpuid(1, 0, 0x000306c3, 0x00010800, 0x77faf3bf | CPUID_1_ECX_OSXSAVE, 0xbfebfbff);
    vmx_cr_write_guest(&v, 0x80050033, CR4_PAE);
    run(1, 0);
    assert_int_equal(g.rcx & CPUID_1_ECX_OSXSAVE, 0);
    /* leaf 7 OSPKE follows guest CR4.PKE (clear) even if the host answer had it */
    run(7, 0);
    assert_int_equal(g.rcx & CPUID_7_ECX_OSPKE, 0);
    assert_int_equal(g.rbx, 0x27ab);
    /* and is set when the guest's CR4.PKE is (i7 fixed bits allow PKE) */
    v.arch.cr4_fixed1 = 0x3727FF | CR4_PKE;
    v.arch.cr4_mask = v.arch.cr4_fixed0 | ~v.arch.cr4_fixed1;
    vmx_cr_write_guest(&v, 0x80050033, CR4_PAE | CR4_PKE);
    run(7, 0);
    assert_true(g.rcx & CPUID_7_ECX_OSPKE);
}

static void test_hv_leaves(void **state) {
    (void)state;
    v.stealth = false;
    run(0x40000000, 0);
    assert_int_equal(g.rax, 0x40000001);
    char sig[13];
    memcpy(sig, &g.rbx, 4);
    memcpy(sig + 4, &g.rcx, 4);
    memcpy(sig + 8, &g.rdx, 4);
    sig[12] = 0;
    assert_string_equal(sig, "VigilVigilHV");
    run(0x40000001, 0);
    assert_int_equal(g.rax, 0x00010000);
    run(0x40000100, 0); /* other hypervisor bases: nothing there */
    assert_int_equal(g.rax, 0);
    assert_int_equal(g.rbx, 0);
    assert_int_equal(g.rcx, 0);
    assert_int_equal(g.rdx, 0);

    v.stealth = true; /* bare-metal answer */
    run(0x40000000, 0);
    assert_int_equal(g.rax, 0xD);
    assert_int_equal(g.rbx, 1);
}

static void test_upper_bits_ignored(void **state) {
    (void)state;
    run(0xFFFFFFFF00000001ull, 0xFFFFFFFF00000000ull);
    assert_int_equal(g.rax, 0x000306c3);
}

static void test_other_leaves_pass_through(void **state) {
    (void)state;
    run(0, 0);
    assert_int_equal(g.rax, 0xD);
    assert_int_equal(g.rbx, 0x756e6547);
    assert_int_equal(g.rdx, 0x49656e69);
    assert_int_equal(g.rcx, 0x6c65746e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_leaf1_hides_vmx_stealth, setup),
        cmocka_unit_test_setup(test_leaf1_hypervisor_bit_when_not_stealth, setup),
        cmocka_unit_test_setup(test_osxsave_follows_guest_cr4, setup),
        cmocka_unit_test_setup(test_hv_leaves, setup),
        cmocka_unit_test_setup(test_upper_bits_ignored, setup),
        cmocka_unit_test_setup(test_other_leaves_pass_through, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
