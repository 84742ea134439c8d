/* VT-x capability decoding against captured processors:
 *  - Bochs 2.7 (Debian), cpu model corei7_haswell_4770: values reported by vigil.efi itself in
 *    its {"ev":"vmx"} event under Bochs (qemu-scripts/run-bochs.sh), 2026-11-25.
 *  - A real Intel Core (family 6 model 158 stepping 10, Coffee Lake, 6 cores / 12 threads): the
 *    host VMX MSRs printed by VirtualBox's HM log ("HM: MSR_IA32_VMX_BASIC = 0xda040000000004"),
 *    from a public VirtualBox log in a GitHub repository.
 *  - QEMU 7.2 TCG -cpu max: AuthenticAMD, no VMX, SVM, hypervisor bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "efi/vmx_caps.h"
#include "tests/fakes/hw_fake.h"

static const struct vmx_raw bochs_haswell = {
    .vendor = "GenuineIntel",
    .cpuid1_ecx = 1u << 5,
    .have_feature_control = true,
    .feature_control = 0x0,
    .have_vmx_msrs = true,
    .basic = 0xd810000000002bull,
    .pinbased = 0x7f00000016ull,
    .procbased = 0xf7f9fffe0401e172ull,
    .exit = 0x7fffff00036dffull,
    .entry = 0xffff000011ffull,
    .misc = 0x200401e0ull,
    .cr0_fixed0 = 0x80000021ull,
    .cr0_fixed1 = 0xffffffffull,
    .cr4_fixed0 = 0x2000ull,
    .cr4_fixed1 = 0x1727ffull,
    .procbased2 = 0x47fff00000000ull,
    .ept_vpid_cap = 0xf0106334141ull,
    .true_pinbased = 0x7f00000016ull,
    .true_procbased = 0xf7f9fffe04006172ull,
    .true_exit = 0x7fffff00036dfbull,
    .true_entry = 0xffff000011fbull,
};

static const struct vmx_raw coffee_lake = {
    .vendor = "GenuineIntel",
    .cpuid1_ecx = 0x7ffafbbf,
    .have_feature_control = true,
    .feature_control = 0x20005,
    .have_vmx_msrs = true,
    .basic = 0xda040000000004ull,
    .pinbased = 0x7f00000016ull,
    .procbased = 0xfff9fffe0401e172ull,
    .exit = 0x1ffffff00036dffull,
    .entry = 0x3ffff000011ffull,
    .misc = 0x7004c1e7ull,
    .cr0_fixed0 = 0x80000021ull,
    .cr0_fixed1 = 0xffffffffull,
    .cr4_fixed0 = 0x2000ull,
    .cr4_fixed1 = 0x3727ffull,
    .procbased2 = 0x5fbcff00000000ull,
    .ept_vpid_cap = 0xf0106734141ull,
    .true_pinbased = 0x7f00000016ull,
    .true_procbased = 0xfff9fffe04006172ull,
    .true_exit = 0x1ffffff00036dfbull,
    .true_entry = 0x3ffff000011fbull,
};

static void bochs_haswell_usable(void **state) {
    (void)state;
    struct vmx_caps c;
    vmx_caps_decode(&bochs_haswell, &c);
    assert_true(c.usable);
    assert_true(c.ept && c.unrestricted_guest && c.vpid && c.wait_for_sipi);
    assert_true(c.preemption_timer && c.true_ctls);
    assert_true(c.ept_walk4 && c.ept_wb && c.ept_2m && c.ept_1g && c.invept && c.invvpid);
    assert_int_equal(c.revision_id, 0x2b);
    assert_int_equal(c.vmcs_size, 4096);
    assert_int_equal(c.vmcs_memtype, 6);
    assert_false(c.fc_locked);
    assert_string_equal(c.reason, "");
    assert_non_null(strstr(c.notes, "unlocked"));
}

static void coffee_lake_usable(void **state) {
    (void)state;
    struct vmx_caps c;
    vmx_caps_decode(&coffee_lake, &c);
    assert_true(c.usable);
    assert_int_equal(c.revision_id, 4);
    assert_int_equal(c.vmcs_size, 1024);
    assert_true(c.fc_locked && c.fc_vmx_outside_smx);
    assert_true(c.ept && c.unrestricted_guest && c.vpid && c.wait_for_sipi);
    assert_string_equal(c.notes, "");
}

static void qemu_tcg_amd_no_vmx(void **state) {
    (void)state;
    struct vmx_raw raw = {.vendor = "AuthenticAMD", .cpuid1_ecx = 0x80000000u, .ext1_ecx = 1u << 2};
    struct vmx_caps c;
    vmx_caps_decode(&raw, &c);
    assert_false(c.usable);
    assert_non_null(strstr(c.reason, "CPUID.1:ECX.VMX[bit 5] = 0"));
    assert_non_null(strstr(c.reason, "AMD SVM"));
    assert_non_null(strstr(c.reason, "under a hypervisor"));
}

static void locked_off_by_firmware(void **state) {
    (void)state;
    struct vmx_raw raw = coffee_lake;
    raw.feature_control = 0x1; /* locked, VMX outside SMX clear */
    struct vmx_caps c;
    vmx_caps_decode(&raw, &c);
    assert_false(c.usable);
    assert_non_null(strstr(c.reason, "firmware setup"));
}

static void missing_features_each_named(void **state) {
    (void)state;
    struct vmx_caps c;
    struct vmx_raw raw = bochs_haswell;
    raw.procbased2 &= ~(1ull << (32 + 7)); /* no unrestricted guest */
    vmx_caps_decode(&raw, &c);
    assert_false(c.usable);
    assert_string_equal(c.reason, "no unrestricted guest");

    raw = bochs_haswell;
    raw.procbased &= ~(1ull << 63); /* no secondary controls at all */
    vmx_caps_decode(&raw, &c);
    assert_false(c.usable);
    assert_non_null(strstr(c.reason, "no secondary"));
    assert_non_null(strstr(c.reason, "no EPT"));
    assert_non_null(strstr(c.reason, "no unrestricted guest"));
    assert_false(c.vpid);

    raw = bochs_haswell;
    raw.misc &= ~(1ull << 8);
    vmx_caps_decode(&raw, &c);
    assert_false(c.usable);
    assert_non_null(strstr(c.reason, "wait-for-SIPI"));

    raw = bochs_haswell;
    raw.basic &= ~(0xFull << 50); /* UC VMCS */
    vmx_caps_decode(&raw, &c);
    assert_false(c.usable);
    assert_non_null(strstr(c.reason, "write-back"));

    raw = bochs_haswell;
    raw.procbased2 &= ~(1ull << (32 + 5)); /* VPID is optional */
    vmx_caps_decode(&raw, &c);
    assert_true(c.usable);
    assert_non_null(strstr(c.notes, "no VPID"));
}

/* vmx_caps_read must not touch VMX MSRs (which #GP) when CPUID has no VMX, and must read the
 * secondary MSRs only when allowed. */
static void read_gates_msr_access(void **state) {
    (void)state;
    fake_reset();
    fake_set_cpuid(0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65); /* AuthenticAMD */
    fake_set_cpuid(1, 0, 0, 0, 0x80000000, 0);
    fake_set_msr(MSR_IA32_VMX_BASIC, 0xdeadbeef);
    struct vmx_raw raw;
    vmx_caps_read(&raw);
    assert_string_equal(raw.vendor, "AuthenticAMD");
    assert_false(raw.have_vmx_msrs);
    assert_false(raw.have_feature_control);
    assert_int_equal(raw.basic, 0);

    fake_reset();
    fake_set_cpuid(0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
    fake_set_cpuid(1, 0, 0, 0, 1u << 5, 0);
    fake_set_msr(MSR_IA32_FEATURE_CONTROL, coffee_lake.feature_control);
    fake_set_msr(MSR_IA32_VMX_BASIC, coffee_lake.basic);
    fake_set_msr(MSR_IA32_VMX_PROCBASED_CTLS, coffee_lake.procbased);
    fake_set_msr(MSR_IA32_VMX_PROCBASED_CTLS2, coffee_lake.procbased2);
    fake_set_msr(MSR_IA32_VMX_EPT_VPID_CAP, coffee_lake.ept_vpid_cap);
    fake_set_msr(MSR_IA32_VMX_MISC, coffee_lake.misc);
    fake_set_msr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, coffee_lake.true_procbased);
    vmx_caps_read(&raw);
    assert_string_equal(raw.vendor, "GenuineIntel");
    assert_true(raw.have_vmx_msrs);
    assert_true(raw.procbased2 == coffee_lake.procbased2);
    assert_true(raw.ept_vpid_cap == coffee_lake.ept_vpid_cap);
    assert_true(raw.true_procbased == coffee_lake.true_procbased);

    /* Secondary controls not allowed: PROCBASED_CTLS2 must not be read. */
    fake_set_msr(MSR_IA32_VMX_PROCBASED_CTLS, coffee_lake.procbased & ~(1ull << 63));
    vmx_caps_read(&raw);
    assert_int_equal(raw.procbased2, 0);
    assert_int_equal(raw.ept_vpid_cap, 0);
}

static char out[8192];
static size_t out_len;
static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    memcpy(out + out_len, d, n);
    out_len += n;
    out[out_len] = 0;
}

static void report_fields(void **state) {
    (void)state;
    struct vmx_caps c;
    struct report r;
    vmx_caps_decode(&bochs_haswell, &c);
    out_len = 0;
    report_init(&r, REPORT_JSONL, sink, NULL);
    vmx_caps_report(&r, &bochs_haswell, &c);
    assert_non_null(strstr(out, "{\"ev\":\"vmx\",\"usable\":true,\"reason\":"));
    assert_non_null(strstr(out, "\"ept\":true,\"unrestricted_guest\":true,\"vpid\":true,"
                                "\"wait_for_sipi\":true"));
    assert_non_null(strstr(out, "\"basic\":\"0xd810000000002b\""));

    struct vmx_raw amd = {.vendor = "AuthenticAMD"};
    vmx_caps_decode(&amd, &c);
    out_len = 0;
    report_init(&r, REPORT_TEXT, sink, NULL);
    vmx_caps_report(&r, &amd, &c);
    /* Text: the same event as one "vigil: <ev> key=value ..." line (base/report.h). */
    assert_non_null(strstr(out, "vigil: vmx usable=false reason=\"CPUID.1:ECX.VMX[bit 5] = 0: "));
    assert_non_null(strstr(out, " vendor=AuthenticAMD cpuid_vmx=false hypervisor_present=false\n"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bochs_haswell_usable),
        cmocka_unit_test(coffee_lake_usable),
        cmocka_unit_test(qemu_tcg_amd_no_vmx),
        cmocka_unit_test(locked_off_by_firmware),
        cmocka_unit_test(missing_features_each_named),
        cmocka_unit_test(read_gates_msr_access),
        cmocka_unit_test(report_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
