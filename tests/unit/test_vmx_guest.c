/* Guest helpers: RIP advance (wrap, STI/MOV SS blocking, TF), injection encodings, GPR access,
 * CPL/64-bit queries, CPU probe, guest-state dump (text and jsonl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/report.h"
#include "hv/arch/vmx/vmx_guest.h"
#include "tests/unit/test_vmexit_util.h"

static struct vcpu v;
static struct guest_regs g;
static char out[65536];
static size_t out_len;

static void sink(void *ctx, const char *data, size_t len) {
    (void)ctx;
    if (out_len + len < sizeof(out)) {
        memcpy(out + out_len, data, len);
        out_len += len;
        out[out_len] = 0;
    }
}

static int setup(void **state) {
    (void)state;
    t_vcpu_init(&v);
    t_guest_64(&v);
    memset(&g, 0, sizeof(g));
    out_len = 0;
    out[0] = 0;
    return 0;
}

static void test_advance_rip(void **state) {
    (void)state;
    t_exit(EXIT_REASON_CPUID, 0, 0xFFFFFFFFFFFFFFFEull, 2);
    vmx_guest_advance_rip();
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0); /* 64-bit wraps at 2^64 */
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0xC09B);     /* compatibility mode */
    t_exit(EXIT_REASON_CPUID, 0, 0xFFFFFFFF, 2);
    vmx_guest_advance_rip();
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 1);
    /* STI / MOV SS blocking ends with the emulated instruction; NMI blocking stays */
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY,
                  INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI);
    t_exit(EXIT_REASON_CPUID, 0, 0x10, 2);
    vmx_guest_advance_rip();
    assert_int_equal(t_vmcs(VMCS_GUEST_INTERRUPTIBILITY), INTERRUPTIBILITY_NMI);
    /* TF: single-step trap recorded as pending debug exception BS */
    fake_set_vmcs(VMCS_GUEST_RFLAGS, 0x346);
    fake_set_vmcs(VMCS_GUEST_PENDING_DBG, 0);
    vmx_guest_advance_rip();
    assert_int_equal(t_vmcs(VMCS_GUEST_PENDING_DBG), 1u << 14);
    /* with DEBUGCTL.BTF the trap is on branches only: nothing added */
    fake_set_vmcs(VMCS_GUEST_PENDING_DBG, 0);
    fake_set_vmcs(VMCS_GUEST_DEBUGCTL, 2);
    vmx_guest_advance_rip();
    assert_int_equal(t_vmcs(VMCS_GUEST_PENDING_DBG), 0);
    /* a bogus instruction length cannot move RIP by more than 15 */
    t_exit(EXIT_REASON_CPUID, 0, 0x100, 0xFFFF0003u);
    vmx_guest_advance_rip();
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x103);
}

static void test_injection_encodings(void **state) {
    (void)state;
    vmx_guest_inject_gp(0x18);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0x80000B0D);
    assert_int_equal(t_vmcs(VMCS_ENTRY_EXCEPTION_ERRCODE), 0x18);
    vmx_guest_inject_ud();
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0x80000306);
    vmx_guest_inject_nmi();
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0x80000202);
    vmx_guest_inject_hw_exception(VEC_PF, true, 2);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0x80000B0E);
}

static void test_gprs_and_mode(void **state) {
    (void)state;
    for (unsigned i = 0; i < 16; i++)
        vmx_guest_gpr_write(&g, i, 0x100 + i);
    assert_int_equal(g.rax, 0x100);
    assert_int_equal(g.rdi, 0x107);
    assert_int_equal(g.r15, 0x10F);
    assert_int_equal(g.rsp_unused, 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RSP), 0x104);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(vmx_guest_gpr_read(&g, i), 0x100 + i);
    assert_int_equal(vmx_guest_gpr_read(&g, 16 + 3), 0x103); /* masked to 4 bits */
    assert_int_equal(vmx_guest_cpl(), 0);
    fake_set_vmcs(VMCS_GUEST_SS_AR, 0xC0F3);
    assert_int_equal(vmx_guest_cpl(), 3);
    assert_true(vmx_guest_in_64bit_mode());
    fake_set_vmcs(VMCS_ENTRY_CTLS, T_ENTRY_CTLS_64 & ~ENTRY_IA32E_MODE_GUEST);
    assert_false(vmx_guest_in_64bit_mode());
}

static void test_probe_cpu(void **state) {
    (void)state;
    fake_set_cpuid(0, 0, 0xD, 0, 0, 0);
    fake_set_cpuid(1, 0, 0x000306c3, 0x00010800, 0x77faf3bf, 0xbfebfbff);
    fake_set_cpuid(0xD, 0, 0x7, 0x340, 0x340, 0);
    vmx_guest_probe_cpu(&v);
    assert_int_equal(v.cpu_signature, 0x000306c3);
    assert_true(v.has_xsave);
    assert_int_equal(v.xcr0_supported, 0x7);
    fake_set_cpuid(1, 0, 0x000306c3, 0, 0x0, 0); /* no XSAVE */
    vmx_guest_probe_cpu(&v);
    assert_false(v.has_xsave);
    assert_int_equal(v.xcr0_supported, 0);
}

static void test_dump_text(void **state) {
    (void)state;
    struct report r;
    report_init(&r, REPORT_TEXT, sink, NULL);
    v.index = 1;
    t_exit(EXIT_REASON_EPT_VIOLATION, 0x181, 0xffffffff81234567ull, 3);
    g.r12 = 0xabc;
    vmx_guest_dump(&r, "unhandled VM exit, CPU parked", &v, &g);
    /* The same event as one "vigil: <ev> key=value ..." line (base/report.h). */
    assert_non_null(strstr(out, "vigil: guest_state why=\"unhandled VM exit, CPU parked\" cpu=1 "
                                "exit_reason=48 exit_name=\"EPT violation\" entry_failure=false "
                                "qualification=0x181 rip=0xffffffff81234567 "));
    assert_non_null(strstr(out, " cs={sel=0x0 base=0x0 limit=0x0 ar=0xa09b} "));
    assert_non_null(strstr(out, " r12=0xabc "));
    assert_non_null(strstr(out, " cr4_shadow=0x"));
    /* every line is a vigil: line */
    for (char *p = out; *p; p = strchr(p, '\n') + 1)
        assert_int_equal(strncmp(p, "vigil: ", 7), 0);
    out_len = 0;
    vmx_guest_dump(NULL, "x", &v, &g); /* no report: nothing, no crash */
    assert_int_equal(out_len, 0);
}

static void test_dump_json(void **state) {
    (void)state;
    struct report r;
    report_init(&r, REPORT_JSONL, sink, NULL);
    t_exit(EXIT_REASON_ENTRY_FAIL_GUEST | EXIT_REASON_ENTRY_FAILURE, 0, 0xFFF0, 0);
    vmx_guest_dump(&r, "VM entry failed", &v, NULL);
    assert_non_null(strstr(out, "{\"ev\":\"guest_state\",\"why\":\"VM entry failed\""));
    assert_non_null(strstr(out, "\"exit_reason\":33"));
    assert_non_null(strstr(out, "\"entry_failure\":true"));
    assert_non_null(strstr(out, "\"seg\":{\"es\":{"));
    assert_null(strstr(out, "\"gpr\""));
    assert_ptr_equal(strchr(out, '\n'), out + out_len - 1);
    assert_string_equal(vmx_exit_reason_name(EXIT_REASON_XSETBV), "XSETBV");
    assert_string_equal(vmx_exit_reason_name(1000), "?");
    assert_string_equal(vmx_exit_reason_name(35), "?");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_advance_rip, setup),
        cmocka_unit_test_setup(test_injection_encodings, setup),
        cmocka_unit_test_setup(test_gprs_and_mode, setup),
        cmocka_unit_test_setup(test_probe_cpu, setup),
        cmocka_unit_test_setup(test_dump_text, setup),
        cmocka_unit_test_setup(test_dump_json, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
