/* INVD, #UD exits, triple fault, NMI re-injection, preemption-timer heartbeat, report-port I/O,
 * I/O bitmaps, unhandled exits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/report.h"
#include "tests/unit/test_report_out.h"
#include "tests/unit/test_vmexit_util.h"

static struct vcpu v;
static struct guest_regs g;
static char out[65536];
static size_t out_len;
static struct report rep;
static struct test_report_out rep_out;

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
    report_init(&rep, REPORT_JSONL, sink, NULL);
    test_report_out_init(&rep_out, &rep);
    v.report = &rep_out.out;
    return 0;
}

static void test_invd(void **state) {
    (void)state;
    t_exit(EXIT_REASON_INVD, 0, 0x100, 2);
    assert_int_equal(vmexit_handle_invd(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x102);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
    fake_set_vmcs(VMCS_GUEST_SS_AR, 0xC0F3); /* CPL 3 */
    t_exit(EXIT_REASON_INVD, 0, 0x100, 2);
    assert_int_equal(vmexit_handle_invd(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x100);
}

static void test_ud_for_vmx_and_getsec(void **state) {
    (void)state;
    const uint32_t reasons[] = {EXIT_REASON_GETSEC,   EXIT_REASON_VMCALL,   EXIT_REASON_VMCLEAR,
                                EXIT_REASON_VMLAUNCH, EXIT_REASON_VMPTRLD,  EXIT_REASON_VMPTRST,
                                EXIT_REASON_VMREAD,   EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE,
                                EXIT_REASON_VMXOFF,   EXIT_REASON_VMXON,    EXIT_REASON_INVEPT,
                                EXIT_REASON_INVVPID,  EXIT_REASON_VMFUNC};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        t_exit(reasons[i], 0, 0x200, 3);
        assert_int_equal(vmexit_handle_ud(&v, &g), VMEXIT_RESUME);
        assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_UD);
        assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x200);
    }
}

static void test_triple_fault_dumps_and_resets(void **state) {
    (void)state;
    t_exit(EXIT_REASON_TRIPLE_FAULT, 0, 0xffffffff81001234ull, 0);
    g.rbx = 0x1234;
    assert_int_equal(vmexit_handle_triple_fault(&v, &g), VMEXIT_RESET);
    assert_non_null(strstr(out, "\"ev\":\"guest_state\""));
    assert_non_null(strstr(out, "\"why\":\"guest triple fault, resetting\""));
    assert_non_null(strstr(out, "\"exit_reason\":2"));
    assert_non_null(strstr(out, "\"rip\":\"0xffffffff81001234\""));
    assert_non_null(strstr(out, "\"rbx\":\"0x1234\""));
    assert_int_equal(out[out_len - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + out_len - 1); /* one line */
    /* One writer taken and given back. */
    assert_int_equal(rep_out.begins, 1);
    assert_int_equal(rep_out.ends, 1);
    assert_false(rep_out.taken);
}

static void test_unhandled_parks_with_reason(void **state) {
    (void)state;
    t_exit(EXIT_REASON_HLT, 0x55, 0x300, 1);
    assert_int_equal(vmexit_handle_unhandled(&v, &g), VMEXIT_PARK);
    assert_non_null(strstr(out, "\"exit_reason\":12"));
    assert_non_null(strstr(out, "\"exit_name\":\"HLT\""));
    assert_non_null(strstr(out, "\"qualification\":\"0x55\""));
    v.report = NULL; /* no report: still parks */
    assert_int_equal(vmexit_handle_unhandled(&v, &g), VMEXIT_PARK);
    /* No writer to be had: nothing written, still parks. */
    v.report = &rep_out.out;
    rep_out.refuse = true;
    size_t before = out_len;
    assert_int_equal(vmexit_handle_unhandled(&v, &g), VMEXIT_PARK);
    assert_int_equal(out_len, before);
    assert_int_equal(rep_out.refused, 1);
}

static void nmi_exit(void) {
    t_exit(EXIT_REASON_EXCEPTION_NMI, 0, 0x400, 0);
    fake_set_vmcs(VMCS_EXIT_INTR_INFO, VEC_NMI | (INTR_TYPE_NMI << 8) | INTR_INFO_VALID);
}

static void test_nmi_reinjection(void **state) {
    (void)state;
    nmi_exit();
    assert_int_equal(vmexit_handle_exception_nmi(&v, &g), VMEXIT_RESUME);
    assert_int_equal(v.nmi_pending, 1);
    assert_true(t_vmcs(VMCS_PROC_BASED_CTLS) & PROC_NMI_WINDOW_EXITING);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0); /* not injected directly */
    /* a second NMI while the first is pending; a third is collapsed */
    assert_int_equal(vmexit_handle_exception_nmi(&v, &g), VMEXIT_RESUME);
    assert_int_equal(vmexit_handle_exception_nmi(&v, &g), VMEXIT_RESUME);
    assert_int_equal(v.nmi_pending, 2);
    /* window opens: one NMI injected, window stays on for the other */
    t_exit(EXIT_REASON_NMI_WINDOW, 0, 0x400, 0);
    assert_int_equal(vmexit_handle_nmi_window(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_NMI);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x400);
    assert_int_equal(v.nmi_pending, 1);
    assert_true(t_vmcs(VMCS_PROC_BASED_CTLS) & PROC_NMI_WINDOW_EXITING);
    /* next window while another event is already queued for injection: wait */
    fake_set_vmcs(VMCS_ENTRY_INTR_INFO, VEC_GP | (3u << 8) | INTR_INFO_VALID);
    assert_int_equal(vmexit_handle_nmi_window(&v, &g), VMEXIT_RESUME);
    assert_int_equal(v.nmi_pending, 1);
    t_exit(EXIT_REASON_NMI_WINDOW, 0, 0x400, 0);
    assert_int_equal(vmexit_handle_nmi_window(&v, &g), VMEXIT_RESUME);
    assert_int_equal(v.nmi_pending, 0);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_NMI);
    assert_int_equal(t_vmcs(VMCS_PROC_BASED_CTLS) & PROC_NMI_WINDOW_EXITING, 0);
    assert_int_equal(t_vmcs(VMCS_PROC_BASED_CTLS), T_PROC_CTLS);
    /* a spurious window exit just closes the window */
    v.arch.proc_ctls |= PROC_NMI_WINDOW_EXITING;
    t_exit(EXIT_REASON_NMI_WINDOW, 0, 0x400, 0);
    assert_int_equal(vmexit_handle_nmi_window(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(t_vmcs(VMCS_PROC_BASED_CTLS), T_PROC_CTLS);
}

static void test_nmi_from_host_handler(void **state) {
    (void)state;
    vmexit_nmi_prepare_entry(&v); /* nothing pending: no VMCS change */
    assert_int_equal(t_vmcs(VMCS_PROC_BASED_CTLS), T_PROC_CTLS);
    v.nmi_pending = 1; /* what the host NMI handler does */
    vmexit_nmi_prepare_entry(&v);
    assert_true(t_vmcs(VMCS_PROC_BASED_CTLS) & PROC_NMI_WINDOW_EXITING);
}

static void test_exception_other_than_nmi_is_unhandled(void **state) {
    (void)state;
    t_exit(EXIT_REASON_EXCEPTION_NMI, 0, 0x400, 0);
    fake_set_vmcs(VMCS_EXIT_INTR_INFO, VEC_PF | (INTR_TYPE_HW_EXCEPTION << 8) | INTR_INFO_VALID);
    assert_int_equal(vmexit_handle_exception_nmi(&v, &g), VMEXIT_PARK);
    assert_int_equal(v.nmi_pending, 0);
}

static int beats;
static void heartbeat(struct vcpu *vc) {
    (void)vc;
    beats++;
}

static void test_preemption_timer(void **state) {
    (void)state;
    v.arch.preemption_timer_reload = 123456;
    v.heartbeat = heartbeat;
    beats = 0;
    fake_set_vmcs(VMCS_PREEMPTION_TIMER_VALUE, 0);
    t_exit(EXIT_REASON_PREEMPTION_TIMER, 0, 0x500, 0);
    assert_int_equal(vmexit_handle_preemption_timer(&v, &g), VMEXIT_RESUME);
    assert_int_equal(beats, 1);
    assert_int_equal(v.heartbeats, 1);
    assert_int_equal(t_vmcs(VMCS_PREEMPTION_TIMER_VALUE), 123456);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x500);
    /* without "save preemption timer value" the field is left alone (VM entry reloads it) */
    v.arch.exit_ctls &= ~EXIT_SAVE_PREEMPTION_TIMER;
    fake_set_vmcs(VMCS_PREEMPTION_TIMER_VALUE, 777);
    assert_int_equal(vmexit_handle_preemption_timer(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_PREEMPTION_TIMER_VALUE), 777);
    assert_int_equal(v.heartbeats, 2);
}

static uint64_t io_qual(uint16_t port, unsigned size, bool in, bool string, bool rep) {
    return (uint64_t)(size - 1) | (in ? IO_QUAL_IN : 0) | (string ? IO_QUAL_STRING : 0) |
           (rep ? IO_QUAL_REP : 0) | ((uint64_t)port << 16);
}

static void test_io_bitmap(void **state) {
    (void)state;
    static uint8_t a[VMX_IO_BITMAP_BYTES], b[VMX_IO_BITMAP_BYTES];
    memset(a, 0xFF, sizeof(a));
    memset(b, 0xFF, sizeof(b));
    vmexit_io_bitmap_build(a, b, 0x3F8);
    for (unsigned p = 0; p < 0x10000; p++)
        assert_int_equal(vmexit_io_bitmap_intercepts(a, b, (uint16_t)p), p >= 0x3F8 && p < 0x400);
    assert_int_equal(a[0x3F8 / 8], 0xFF);
    vmexit_io_bitmap_build(a, b, 0);
    for (unsigned p = 0; p < 0x10000; p++)
        assert_false(vmexit_io_bitmap_intercepts(a, b, (uint16_t)p));
    vmexit_io_bitmap_set(a, b, 0xFFFE, 4, true); /* wraps to 0 and 1 */
    assert_true(vmexit_io_bitmap_intercepts(a, b, 0xFFFF));
    assert_true(vmexit_io_bitmap_intercepts(a, b, 0x0001));
    assert_false(vmexit_io_bitmap_intercepts(a, b, 0x0002));
    assert_true(b[0xFFF] & 0x80);
}

static uint8_t fake_in_value(uint16_t port) {
    return (uint8_t)(port & 0xFF);
}

static void test_io_in_out(void **state) {
    (void)state;
    g.rax = 0x1122334455667788ull;
    t_exit(EXIT_REASON_IO, io_qual(0x3FD, 1, true, false, false), 0x600, 1);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rax, 0x11223344556677FFull); /* AL = 0xFF, rest kept */
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x601);
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 2, true, false, false), 0x600, 1);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rax, 0x112233445566FFFFull);
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 4, true, false, false), 0x600, 1);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rax, 0xFFFFFFFFull); /* 32-bit destination zero-extends */
    /* writes are dropped */
    fake_out_count = 0;
    g.rax = 'A';
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, false, false, false), 0x600, 1);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(fake_out_count, 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x601);
    /* an access straddling the UART's last port: the other byte goes to the hardware */
    fake_inb_handler = fake_in_value;
    t_exit(EXIT_REASON_IO, io_qual(0x3FF, 2, true, false, false), 0x600, 1);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rax & 0xFFFF, 0x00FF); /* port 0x400 reads 0x00 from the fake */
    g.rax = 0xBBAA;
    t_exit(EXIT_REASON_IO, io_qual(0x3FF, 2, false, false, false), 0x600, 1);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(fake_out_count, 1);
    assert_int_equal(fake_out_log[0].port, 0x400);
    assert_int_equal(fake_out_log[0].v, 0xBB);
}

static void test_io_other_port_unhandled(void **state) {
    (void)state;
    t_exit(EXIT_REASON_IO, io_qual(0x80, 1, false, false, false), 0x600, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_PARK);
    v.report_port = 0;
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, false, false, false), 0x600, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_PARK);
    /* size 3 is not an encoding */
    v.report_port = 0x3F8;
    t_exit(EXIT_REASON_IO, 2 | (0x3F8ull << 16), 0x600, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_PARK);
}

static uint8_t mem[0x10000];
static bool write_fails_above;
static uint64_t fail_at;
static bool guest_write(struct vcpu *vc, uint64_t gla, const void *src, size_t len) {
    (void)vc;
    if (write_fails_above && gla >= fail_at)
        return false;
    if (gla + len > sizeof(mem))
        return false;
    memcpy(mem + gla, src, len);
    return true;
}

static void test_io_string(void **state) {
    (void)state;
    v.guest_write = guest_write;
    write_fails_above = false;
    memset(mem, 0, sizeof(mem));
    /* rep outsb of 10 bytes (64-bit address size): RSI advances, RCX 0, nothing written out */
    fake_out_count = 0;
    g.rsi = 0x1000;
    g.rcx = 10;
    fake_set_vmcs(VMCS_EXIT_INSTR_INFO, 2u << 7);
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, false, true, true), 0x700, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rsi, 0x100A);
    assert_int_equal(g.rcx, 0);
    assert_int_equal(fake_out_count, 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x702);
    /* rep insw with DF = 1: writes 0xFFFF words downwards */
    fake_set_vmcs(VMCS_GUEST_RFLAGS, 0x246 | RFLAGS_DF);
    g.rdi = 0x2000;
    g.rcx = 3;
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 2, true, true, true), 0x700, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rdi, 0x2000 - 6);
    assert_int_equal(g.rcx, 0);
    assert_int_equal(mem[0x2000], 0xFF);
    assert_int_equal(mem[0x2001], 0xFF);
    assert_int_equal(mem[0x1FFC], 0xFF);
    assert_int_equal(mem[0x1FFB], 0x00);
    assert_int_equal(mem[0x2002], 0x00);
    fake_set_vmcs(VMCS_GUEST_RFLAGS, 0x246);
    /* rep count 0: just completes */
    g.rcx = 0;
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, true, true, true), 0x700, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x702);
    /* 16-bit address size: CX/DI wrap in 16 bits, upper bits kept */
    g.rcx = 0xABCD0000ull | 2;
    g.rdi = 0x55550000ull | 0xFFFF;
    fake_set_vmcs(VMCS_EXIT_INSTR_INFO, 0u << 7);
    fake_set_vmcs(VMCS_GUEST_ES_BASE, 0);
    fake_set_vmcs(VMCS_ENTRY_CTLS, T_ENTRY_CTLS_64 & ~ENTRY_IA32E_MODE_GUEST); /* real mode */
    fake_set_vmcs(VMCS_GUEST_CS_AR, 0x9B);
    mem[0xFFFF] = 0;
    mem[0] = 0;
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, true, true, true), 0x700, 2);
    write_fails_above = false;
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rcx, 0xABCD0000ull);
    assert_int_equal(g.rdi, 0x55550001ull);
    assert_int_equal(mem[0xFFFF], 0xFF); /* ES:FFFF then ES:0000 */
    assert_int_equal(mem[0], 0xFF);
}

static void test_io_string_batches_and_faults(void **state) {
    (void)state;
    v.guest_write = guest_write;
    write_fails_above = false;
    /* a huge REP count is handled in bounded batches: RIP stays until done */
    g.rsi = 0;
    g.rcx = 5000;
    fake_set_vmcs(VMCS_EXIT_INSTR_INFO, 2u << 7);
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, false, true, true), 0x800, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(g.rcx, 5000 - 1024);
    assert_int_equal(g.rsi, 1024);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x800);
    /* a write that cannot be done: #GP with the registers at the faulting element */
    write_fails_above = true;
    fail_at = 0x3004;
    g.rdi = 0x3000;
    g.rcx = 8;
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, true, true, true), 0x800, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
    assert_int_equal(g.rdi, 0x3004);
    assert_int_equal(g.rcx, 4);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x800);
    /* no writer at all: #GP */
    v.guest_write = NULL;
    g.rcx = 1;
    t_exit(EXIT_REASON_IO, io_qual(0x3F8, 1, true, true, true), 0x800, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), T_INJ_GP);
    /* string access straddling the UART's last port: never parks the CPU. INS: all ones from
     * the report port's bytes, the hardware's (the fake reads the port's low byte) for the others.
     */
    v.guest_write = guest_write;
    write_fails_above = false;
    fake_inb_handler = fake_in_value;
    memset(mem + 0x100, 0x11, 8);
    g.rdi = 0x100;
    g.rcx = 2;
    t_exit(EXIT_REASON_IO, io_qual(0x3FE, 4, true, true, true), 0x800, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(t_vmcs(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x802);
    assert_int_equal(g.rcx, 0);
    assert_int_equal(g.rdi, 0x108);
    const uint8_t want[8] = {0xFF, 0xFF, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x01};
    assert_memory_equal(mem + 0x100, want, 8);
    /* OUTS: the element is dropped whole, the instruction completes */
    fake_out_count = 0;
    g.rsi = 0x200;
    t_exit(EXIT_REASON_IO, io_qual(0x3FE, 4, false, true, false), 0x900, 2);
    assert_int_equal(vmexit_handle_io(&v, &g), VMEXIT_RESUME);
    assert_int_equal(fake_out_count, 0);
    assert_int_equal(g.rsi, 0x204);
    assert_int_equal(t_vmcs(VMCS_GUEST_RIP), 0x902);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_invd, setup),
        cmocka_unit_test_setup(test_ud_for_vmx_and_getsec, setup),
        cmocka_unit_test_setup(test_triple_fault_dumps_and_resets, setup),
        cmocka_unit_test_setup(test_unhandled_parks_with_reason, setup),
        cmocka_unit_test_setup(test_nmi_reinjection, setup),
        cmocka_unit_test_setup(test_nmi_from_host_handler, setup),
        cmocka_unit_test_setup(test_exception_other_than_nmi_is_unhandled, setup),
        cmocka_unit_test_setup(test_preemption_timer, setup),
        cmocka_unit_test_setup(test_io_bitmap, setup),
        cmocka_unit_test_setup(test_io_in_out, setup),
        cmocka_unit_test_setup(test_io_other_port_unhandled, setup),
        cmocka_unit_test_setup(test_io_string, setup),
        cmocka_unit_test_setup(test_io_string_batches_and_faults, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
