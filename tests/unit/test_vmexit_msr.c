/* MSR policy, MSR bitmap and the RDMSR/WRMSR exit handlers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_vmexit_util.h"

static struct vcpu v;
static struct guest_regs g;
static uint8_t bitmap[VMX_MSR_BITMAP_BYTES];

static uint32_t hook_msr;
static uint64_t hook_val;
static int hook_calls;
static void mtrr_hook(struct vcpu *vc, uint32_t msr, uint64_t val) {
    assert_ptr_equal(vc, &v);
    hook_msr = msr;
    hook_val = val;
    hook_calls++;
}

static int setup(void **state) {
    (void)state;
    t_vcpu_init(&v);
    t_guest_64(&v);
    memset(&g, 0, sizeof(g));
    v.mtrr_hook = mtrr_hook;
    hook_calls = 0;
    hook_msr = 0;
    hook_val = 0;
    return 0;
}

static void test_policy(void **state) {
    (void)state;
    /* VT-x hidden */
    assert_int_equal(vmexit_msr_policy(0x3A, false), MSR_FEATURE_CONTROL_VIEW);
    assert_int_equal(vmexit_msr_policy(0x3A, true), MSR_INJECT_GP);
    for (uint32_t m = 0x480; m <= 0x493; m++) {
        assert_int_equal(vmexit_msr_policy(m, false), MSR_INJECT_GP);
        assert_int_equal(vmexit_msr_policy(m, true), MSR_INJECT_GP);
    }
    assert_int_equal(vmexit_msr_policy(0x47F, false), MSR_PASS);
    assert_int_equal(vmexit_msr_policy(0x494, false), MSR_PASS);
    assert_int_equal(vmexit_msr_policy(MSR_IA32_SMM_MONITOR_CTL, false), MSR_INJECT_GP);
    /* MTRRs: reads pass, writes go to the hook */
    const uint32_t mtrrs[] = {0x200, 0x201, 0x212, 0x213, 0x250, 0x258,
                              0x259, 0x268, 0x26C, 0x26F, 0x2FF};
    for (size_t i = 0; i < sizeof(mtrrs) / sizeof(mtrrs[0]); i++) {
        assert_true(vmexit_msr_is_mtrr(mtrrs[i]));
        assert_int_equal(vmexit_msr_policy(mtrrs[i], false), MSR_PASS);
        assert_int_equal(vmexit_msr_policy(mtrrs[i], true), MSR_MTRR_WRITE);
    }
    assert_false(vmexit_msr_is_mtrr(0xFE));  /* MTRRCAP is read-only */
    assert_false(vmexit_msr_is_mtrr(0x214)); /* past PHYSMASK9 */
    assert_false(vmexit_msr_is_mtrr(0x277)); /* PAT is switched by the VMCS */
    /* pass-through: the state the VMCS switches or the host never uses */
    const uint32_t pass[] = {MSR_IA32_EFER,    MSR_IA32_PAT,         MSR_IA32_DEBUGCTL,
                             MSR_IA32_FS_BASE, MSR_IA32_GS_BASE,     MSR_IA32_KERNEL_GS_BASE,
                             MSR_IA32_LSTAR,   MSR_IA32_SYSENTER_CS, MSR_IA32_APIC_BASE,
                             MSR_X2APIC_ICR,   MSR_IA32_LSTAR,       MSR_IA32_SPEC_CTRL,
                             MSR_IA32_XSS,     MSR_IA32_TSC_AUX,     0x1FFF,
                             0xC0001FFF};
    for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
        assert_int_equal(vmexit_msr_policy(pass[i], false), MSR_PASS);
        assert_int_equal(vmexit_msr_policy(pass[i], true), MSR_PASS);
    }
    /* the time-stamp counter: reads pass, writes exit (vigil's clock subtracts their jump) */
    assert_int_equal(vmexit_msr_policy(MSR_IA32_TSC, false), MSR_PASS);
    assert_int_equal(vmexit_msr_policy(MSR_IA32_TSC_ADJUST, false), MSR_PASS);
    assert_int_equal(vmexit_msr_policy(MSR_IA32_TSC, true), MSR_TSC_WRITE);
    assert_int_equal(vmexit_msr_policy(MSR_IA32_TSC_ADJUST, true), MSR_TSC_WRITE);
    /* outside the bitmap ranges: always exits, forwarded */
    const uint32_t fwd[] = {0x2000, 0x40000000, 0x4B564D00, 0xBFFFFFFF, 0xC0002000, 0xFFFFFFFF};
    for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
        assert_int_equal(vmexit_msr_policy(fwd[i], false), MSR_FORWARD);
}

static void test_bitmap(void **state) {
    (void)state;
    memset(bitmap, 0xAA, sizeof(bitmap));
    vmexit_msr_bitmap_build(bitmap);
    /* exactly the non-pass MSRs intercept: 0x3A r/w, 0x9B r/w, 0x480-0x493 r/w, 31 MTRR writes,
     * TSC and TSC_ADJUST writes */
    unsigned bits = 0;
    for (size_t i = 0; i < sizeof(bitmap); i++)
        bits += (unsigned)__builtin_popcount(bitmap[i]);
    assert_int_equal(bits, 2 + 2 + 2 * 20 + (20 + 1 + 2 + 8 + 1) + 2);
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, MSR_IA32_TSC, true));
    assert_false(vmexit_msr_bitmap_intercepts(bitmap, MSR_IA32_TSC, false));
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, MSR_IA32_TSC_ADJUST, true));
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, 0x3A, false));
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, 0x3A, true));
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, 0x480, false));
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, 0x2FF, true));
    assert_false(vmexit_msr_bitmap_intercepts(bitmap, 0x2FF, false));
    assert_false(vmexit_msr_bitmap_intercepts(bitmap, MSR_IA32_EFER, true));
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, 0x40000000, false)); /* out of range */
    /* layout (SDM 25.6.9): read-low at 0, read-high at 1024, write-low 2048, write-high 3072 */
    assert_int_equal(bitmap[0x3A / 8], 1u << (0x3A % 8));
    /* the write byte of 0x38-0x3F also holds TSC_ADJUST (0x3B) */
    assert_int_equal(bitmap[2048 + 0x3A / 8], (1u << (0x3A % 8)) | (1u << (0x3B % 8)));
    assert_true(vmexit_msr_bitmap_set(bitmap, MSR_IA32_LSTAR, true, true));
    assert_int_equal(bitmap[3072 + 0x82 / 8], 1u << (0x82 % 8));
    assert_true(vmexit_msr_bitmap_set(bitmap, MSR_IA32_LSTAR, true, false));
    assert_int_equal(bitmap[3072 + 0x82 / 8], 0);
    assert_true(vmexit_msr_bitmap_set(bitmap, MSR_X2APIC_ICR, true, true));
    assert_true(vmexit_msr_bitmap_intercepts(bitmap, MSR_X2APIC_ICR, true));
    assert_false(vmexit_msr_bitmap_intercepts(bitmap, MSR_X2APIC_ICR, false));
    assert_false(vmexit_msr_bitmap_set(bitmap, 0x2000, false, true));
}

static void rdmsr(uint32_t msr) {
    g.rcx = 0xFFFFFFFF00000000ull | msr;
    g.rax = g.rdx = 0xDEADBEEFDEADBEEFull;
    t_exit(EXIT_REASON_RDMSR, 0, 0x9000, 2);
    assert_int_equal(vmexit_handle_rdmsr(&v, &g), VMEXIT_RESUME);
}

static void wrmsr(uint32_t msr, uint64_t val) {
    g.rcx = msr;
    g.rax = 0xFFFFFFFF00000000ull | (uint32_t)val;
    g.rdx = 0xFFFFFFFF00000000ull | (val >> 32);
    t_exit(EXIT_REASON_WRMSR, 0, 0x9000, 2);
    assert_int_equal(vmexit_handle_wrmsr(&v, &g), VMEXIT_RESUME);
}

static void expect_gp(void) {
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x9000);
}

static void expect_done(void) {
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x9002);
}

static void test_feature_control_view(void **state) {
    (void)state;
    fake_set_msr(0x3A, 0x20005 | 0xFF00); /* i7-9750H value + SENTER enables */
    rdmsr(0x3A);
    expect_done();
    assert_int_equal(g.rax, 0x20001); /* locked, VMX and SENTER bits clear */
    assert_int_equal(g.rdx, 0);
    /* unlocked in hardware (before vigil locks it) still reads locked */
    fake_set_msr(0x3A, 0);
    rdmsr(0x3A);
    assert_int_equal(g.rax, 1);
    wrmsr(0x3A, 0x5);
    expect_gp();
    uint64_t hwval;
    assert_true(fake_get_msr(0x3A, &hwval));
    assert_int_equal(hwval, 0); /* never reached the hardware */
}

static void test_vmx_msrs_gp(void **state) {
    (void)state;
    fake_set_msr(0x480, 0x00d810000000002bull);
    rdmsr(0x480);
    expect_gp();
    assert_int_equal(g.rax, 0xDEADBEEFDEADBEEFull); /* registers untouched */
    rdmsr(0x48D);
    expect_gp();
    wrmsr(0x48B, 1);
    expect_gp();
    rdmsr(MSR_IA32_SMM_MONITOR_CTL);
    expect_gp();
}

static void test_mtrr_write_hook(void **state) {
    (void)state;
    wrmsr(0x2FF, 0xC06);
    expect_done();
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_msr, 0x2FF);
    assert_int_equal(hook_val, 0xC06);
    uint64_t hwval;
    assert_true(fake_get_msr(0x2FF, &hwval));
    assert_int_equal(hwval, 0xC06);
    /* 64-bit value assembled from EDX:EAX */
    wrmsr(0x201, 0x0000000FC0000800ull);
    assert_int_equal(hook_val, 0x0000000FC0000800ull);
    /* a value the hardware refuses: #GP, no hook */
    fake_safe_set_faulting(0x200, false, true);
    wrmsr(0x200, 0x7);
    expect_gp();
    assert_int_equal(hook_calls, 2);
    /* no hook registered: still written */
    v.mtrr_hook = NULL;
    wrmsr(0x250, 0x0606060606060606ull);
    expect_done();
    assert_true(fake_get_msr(0x250, &hwval));
    assert_int_equal(hwval, 0x0606060606060606ull);
}

/* The guest's TSC writes reach the hardware, and each jump is recorded so vigil's clock (the
 * counter less v.tsc_skew) stays where it was: up, down, and through TSC_ADJUST. */
static void test_tsc_writes_do_not_move_vigils_clock(void **state) {
    (void)state;
    uint64_t hwval;
    fake_tsc = 1000000;
    v.tsc_skew = 0;
    wrmsr(MSR_IA32_TSC, 1000000 + (1ull << 50)); /* far ahead */
    expect_done();
    assert_true(fake_get_msr(MSR_IA32_TSC, &hwval));
    assert_int_equal(hwval, 1000000 + (1ull << 50)); /* the guest got its TSC */
    fake_tsc = hwval;                                /* as the hardware counter now reads */
    assert_int_equal(fake_tsc - (uint64_t)v.tsc_skew, 1000000);
    fake_tsc += 500;         /* time passes */
    wrmsr(MSR_IA32_TSC, 42); /* far back */
    expect_done();
    fake_tsc = 42;
    assert_int_equal(fake_tsc - (uint64_t)v.tsc_skew, 1000500);
    /* TSC_ADJUST adds its change to the counter (SDM 17.17.3) */
    fake_set_msr(MSR_IA32_TSC_ADJUST, 100);
    wrmsr(MSR_IA32_TSC_ADJUST, 100 - 30);
    expect_done();
    assert_true(fake_get_msr(MSR_IA32_TSC_ADJUST, &hwval));
    assert_int_equal(hwval, 70);
    fake_tsc -= 30;
    assert_int_equal(fake_tsc - (uint64_t)v.tsc_skew, 1000500);
    assert_int_equal(v.tsc_writes, 3);
    /* a CPU without TSC_ADJUST: #GP, nothing moved */
    int64_t skew = v.tsc_skew;
    fake_safe_set_faulting(MSR_IA32_TSC_ADJUST, true, true);
    wrmsr(MSR_IA32_TSC_ADJUST, 5);
    expect_gp();
    assert_int_equal(v.tsc_skew, skew);
    assert_int_equal(v.tsc_writes, 3);
}

static void test_forwarded_msrs(void **state) {
    (void)state;
    fake_set_msr(0x40000000, 0x1122334455667788ull);
    rdmsr(0x40000000);
    expect_done();
    assert_int_equal(g.rax, 0x55667788);
    assert_int_equal(g.rdx, 0x11223344);
    /* a faulting index → #GP in the guest, host unharmed */
    fake_safe_set_faulting(0x4B564D00, true, true);
    rdmsr(0x4B564D00);
    expect_gp();
    wrmsr(0x4B564D00, 1);
    expect_gp();
    wrmsr(0xC0002000, 0x42);
    expect_done();
    uint64_t hwval;
    assert_true(fake_get_msr(0xC0002000, &hwval));
    assert_int_equal(hwval, 0x42);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_policy, setup),
        cmocka_unit_test_setup(test_bitmap, setup),
        cmocka_unit_test_setup(test_feature_control_view, setup),
        cmocka_unit_test_setup(test_vmx_msrs_gp, setup),
        cmocka_unit_test_setup(test_mtrr_write_hook, setup),
        cmocka_unit_test_setup(test_forwarded_msrs, setup),
        cmocka_unit_test_setup(test_tsc_writes_do_not_move_vigils_clock, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
