/* CR0/CR4 fixed bits, masks, shadows and MOV-to-CR checks, with the captured fixed-bit MSRs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hv/arch/vmx/vmx_cr.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "tests/fakes/hw_fake.h"
#include "tests/unit/test_vmx_capsdata.h"

static struct vcpu v;

static void setup_from(const char *file, bool ug) {
    struct vmx_cap_msrs c;
    assert_int_equal(caps_load(file, &c, NULL), 19);
    v = (struct vcpu){0};
    vmx_cr_setup(&v, c.cr0_fixed0, c.cr0_fixed1, c.cr4_fixed0, c.cr4_fixed1, ug);
    fake_reset();
}

static void test_masks_bochs(void **state) {
    (void)state;
    setup_from(CAPS_BOCHS, true);
    /* NE is the only low CR0 bit owned by vigil with unrestricted guest; 63:32 are reserved */
    assert_int_equal(v.arch.cr0_mask, 0xFFFFFFFF00000020ull);
    assert_int_equal(vmx_cr0_forced1(&v), CR0_NE);
    /* VMXE plus every bit Bochs's haswell does not allow (SMXE, UMIP, LA57, SMAP, PKE, ...) */
    assert_int_equal(v.arch.cr4_mask, 0xFFFFFFFFFFE8F800ull);
    assert_true(v.arch.cr4_mask & CR4_VMXE);
    assert_true(v.arch.cr4_mask & CR4_SMAP);
    assert_false(v.arch.cr4_mask & (CR4_PAE | CR4_PGE | CR4_OSXSAVE | CR4_SMEP | CR4_FSGSBASE));

    setup_from(CAPS_BOCHS, false);
    assert_int_equal(v.arch.cr0_mask, 0xFFFFFFFF80000021ull);
    assert_int_equal(vmx_cr0_forced1(&v), CR0_PE | CR0_NE | CR0_PG);
}

static void test_masks_i7(void **state) {
    (void)state;
    setup_from(CAPS_I7_9750H, true);
    assert_int_equal(v.arch.cr0_mask, 0xFFFFFFFF00000020ull);
    /* this CPU allows SMAP (bit 21): the guest owns it */
    assert_int_equal(v.arch.cr4_mask, 0xFFFFFFFFFFC8F800ull);
    assert_false(v.arch.cr4_mask & CR4_SMAP);
}

static void test_real_values_and_write(void **state) {
    (void)state;
    setup_from(CAPS_BOCHS, true);
    /* The INIT value of CR0: NE forced in the real register, shadow keeps 0 */
    assert_int_equal(vmx_cr0_real(&v, 0x60000010), 0x60000030);
    assert_int_equal(vmx_cr4_real(&v, 0), CR4_VMXE);
    /* Bits FIXED1 forbids are dropped from the real value */
    assert_int_equal(vmx_cr4_real(&v, CR4_SMAP | CR4_PAE), CR4_PAE | CR4_VMXE);

    /* The live state Bochs+OVMF showed: CR0 0x80010033, CR4 0x668 */
    assert_true(vmx_cr_write_guest(&v, 0x80010033, 0x668));
    uint64_t x;
    assert_true(fake_get_vmcs(VMCS_GUEST_CR0, &x));
    assert_int_equal(x, 0x80010033);
    assert_true(fake_get_vmcs(VMCS_CR0_READ_SHADOW, &x));
    assert_int_equal(x, 0x80010033);
    assert_true(fake_get_vmcs(VMCS_GUEST_CR4, &x));
    assert_int_equal(x, 0x2668);
    assert_true(fake_get_vmcs(VMCS_CR4_READ_SHADOW, &x));
    assert_int_equal(x, 0x668);
    assert_true(fake_get_vmcs(VMCS_CR0_GUEST_HOST_MASK, &x));
    assert_int_equal(x, v.arch.cr0_mask);
    assert_true(fake_get_vmcs(VMCS_CR4_GUEST_HOST_MASK, &x));
    assert_int_equal(x, v.arch.cr4_mask);
    /* what the guest reads back */
    assert_int_equal(vmx_cr_guest_view(0x2668, 0x668, v.arch.cr4_mask), 0x668);
    assert_int_equal(vmx_cr_guest_view(0x60000030, 0x60000010, v.arch.cr0_mask), 0x60000010);
    fake_vmx_fail = true;
    assert_false(vmx_cr_write_guest(&v, 0, 0));
}

static void test_fix_for_vmxon(void **state) {
    (void)state;
    /* OVMF's CR4 on Bochs lacks VMXE; CR0 already has PE, NE, PG */
    assert_int_equal(vmx_cr_fix_for_vmxon(0x668, 0x2000, 0x1727FF), 0x2668);
    assert_int_equal(vmx_cr_fix_for_vmxon(0x80010033, 0x80000021, 0xFFFFFFFF), 0x80010033);
    assert_int_equal(vmx_cr_fix_for_vmxon(0x80010013, 0x80000021, 0xFFFFFFFF), 0x80010033);
}

static struct vmx_cr_ctx ctx64(void) {
    struct vmx_cr_ctx c = {.cr0 = 0x80050033,
                           .cr3 = 0x1000,
                           .cr4 = 0x6F0,
                           .efer = EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE,
                           .cs_l = true};
    return c;
}

static void test_cr0_checks(void **state) {
    (void)state;
    setup_from(CAPS_BOCHS, true);
    struct vmx_cr_ctx c = ctx64();
    assert_true(vmx_cr0_write_ok(&v, &c, 0x80050033));
    assert_true(vmx_cr0_write_ok(&v, &c, 0xC0050033));       /* CD */
    assert_false(vmx_cr0_write_ok(&v, &c, 0x1080050033ull)); /* bit 36 */
    assert_false(vmx_cr0_write_ok(&v, &c, 0xA0050033));      /* NW without CD */
    assert_true(vmx_cr0_write_ok(&v, &c, 0xE0050033));       /* NW with CD */
    assert_false(vmx_cr0_write_ok(&v, &c, 0x80050032));      /* PG without PE */
    assert_false(vmx_cr0_write_ok(&v, &c, 0x00050033));      /* PG off in 64-bit code */
    c.cs_l = false;                                          /* compatibility mode */
    assert_true(vmx_cr0_write_ok(&v, &c, 0x00050033));
    c.cr4 |= CR4_PCIDE; /* but never with PCIDs on */
    assert_false(vmx_cr0_write_ok(&v, &c, 0x00050033));
    /* enabling paging with LME needs PAE */
    struct vmx_cr_ctx r = {.cr0 = 0x11, .cr4 = 0, .efer = EFER_LME, .cs_l = false};
    assert_false(vmx_cr0_write_ok(&v, &r, 0x80000011));
    r.cr4 = CR4_PAE;
    assert_true(vmx_cr0_write_ok(&v, &r, 0x80000011));
    /* NE may be 0 in what the guest writes: the real register keeps it */
    r.cr0 = 0x60000010;
    assert_true(vmx_cr0_write_ok(&v, &r, 0x60000011));
}

static void test_cr4_checks(void **state) {
    (void)state;
    setup_from(CAPS_BOCHS, true);
    struct vmx_cr_ctx c = ctx64();
    assert_true(vmx_cr4_write_ok(&v, &c, 0x6F0));
    assert_true(vmx_cr4_write_ok(&v, &c, 0x6F0 | CR4_OSXSAVE | CR4_SMEP | CR4_FSGSBASE));
    assert_false(vmx_cr4_write_ok(&v, &c, 0x6F0 | CR4_VMXE)); /* VT-x hidden */
    assert_false(vmx_cr4_write_ok(&v, &c, 0x6F0 | CR4_SMAP)); /* unsupported by this CPU */
    assert_false(vmx_cr4_write_ok(&v, &c, 0x6F0 | CR4_LA57)); /* LA57 change in IA-32e */
    assert_false(vmx_cr4_write_ok(&v, &c, 0x6F0 | (1ull << 40)));
    assert_false(vmx_cr4_write_ok(&v, &c, 0x6F0 & ~CR4_PAE)); /* PAE off in IA-32e */
    /* PCIDE 0 -> 1 needs IA-32e and CR3[11:0] = 0 */
    assert_true(vmx_cr4_write_ok(&v, &c, 0x6F0 | CR4_PCIDE));
    c.cr3 = 0x1001;
    assert_false(vmx_cr4_write_ok(&v, &c, 0x6F0 | CR4_PCIDE));
    struct vmx_cr_ctx legacy = {.cr0 = 0x80000011, .cr4 = CR4_PAE, .efer = 0};
    assert_false(vmx_cr4_write_ok(&v, &legacy, CR4_PAE | CR4_PCIDE));
    assert_true(vmx_cr4_write_ok(&v, &legacy, 0)); /* PAE off outside IA-32e is fine */
    /* a CPU with SMX allows SMXE in VMX operation; vigil hides SMX, so the guest gets #GP */
    struct vcpu smx = {0};
    vmx_cr_setup(&smx, 0x80000021, 0xFFFFFFFF, 0x2000, 0x3767FF, true);
    assert_true(smx.arch.cr4_mask & CR4_SMXE);
    assert_false(vmx_cr4_write_ok(&smx, &c, 0x6F0 | CR4_SMXE));
    /* on the i7-9750H SMAP is allowed */
    setup_from(CAPS_I7_9750H, true);
    c = ctx64();
    assert_true(vmx_cr4_write_ok(&v, &c, 0x6F0 | CR4_SMAP));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_bochs),
        cmocka_unit_test(test_masks_i7),
        cmocka_unit_test(test_real_values_and_write),
        cmocka_unit_test(test_fix_for_vmxon),
        cmocka_unit_test(test_cr0_checks),
        cmocka_unit_test(test_cr4_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
