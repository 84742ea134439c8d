/* Unit tests for hv/ept/insn_decode.c on the host, linked with Debian's libcapstone.a (the same
 * capstone 4.0.2 the hypervisor build compiles from the source package): vigil's declarations of
 * capstone's ABI against capstone's header, decoding in 16/32/64-bit modes through vigil's arena
 * allocator and fmt_vsnprintf, invalid and truncated bytes, output bounds, no arena growth over
 * many decodes of random bytes, and the libc helpers (qsort, strncpy) it provides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>
#include <cmocka.h>

#include "hv/ept/insn_decode.h"

static void test_abi_matches_header(void **state) {
    (void)state;
    struct insn_decode_abi a;
    insn_decode_abi(&a);
    assert_int_equal(a.insn_size, sizeof(cs_insn));
    assert_int_equal(a.insn_off_size, offsetof(cs_insn, size));
    assert_int_equal(a.insn_off_mnemonic, offsetof(cs_insn, mnemonic));
    assert_int_equal(a.insn_off_op_str, offsetof(cs_insn, op_str));
    assert_int_equal(a.insn_off_detail, offsetof(cs_insn, detail));
    assert_int_equal(a.opt_mem_size, sizeof(cs_opt_mem));
    assert_int_equal(a.arch_x86, CS_ARCH_X86);
    assert_int_equal(a.mode_16, CS_MODE_16);
    assert_int_equal(a.mode_32, CS_MODE_32);
    assert_int_equal(a.mode_64, CS_MODE_64);
    assert_int_equal(a.opt_mem, CS_OPT_MEM);
    assert_int_equal(a.opt_mode, CS_OPT_MODE);
    int major = 0, minor = 0;
    cs_version(&major, &minor);
    assert_int_equal(major, 4);
}

static void expect(const char *bytes, size_t n, uint64_t rip, enum insn_mode mode, const char *text,
                   size_t len) {
    char out[160];
    size_t got = insn_decode((const uint8_t *)bytes, n, rip, mode, out, sizeof(out));
    if (got != len || strcmp(out, text))
        fprintf(stderr, "decode: got %zu \"%s\", want %zu \"%s\"\n", got, out, len, text);
    assert_int_equal(got, len);
    assert_string_equal(out, text);
}

static void test_decode(void **state) {
    (void)state;
    expect("\x48\x89\x07", 3, 0xffffffff81000000ull, INSN_MODE_64, "mov qword ptr [rdi], rax", 3);
    expect("\xc3", 1, 0, INSN_MODE_64, "ret", 1);
    expect("\x0f\x01\xc1", 3, 0, INSN_MODE_64, "vmcall", 3);
    /* A relative call: the target is formatted by fmt_vsnprintf through CS_OPT_MEM. */
    expect("\xe8\x00\x01\x00\x00", 5, 0xffffffff81000000ull, INSN_MODE_64,
           "call 0xffffffff81000105", 5);
    expect("\x48\xc7\xc0\xff\xff\xff\xff", 7, 0, INSN_MODE_64, "mov rax, -1", 7);
    expect("\x48\x8b\x80\x00\x10\x00\x00", 7, 0, INSN_MODE_64, "mov rax, qword ptr [rax + 0x1000]",
           7);
    expect("\x89\xc8", 2, 0, INSN_MODE_32, "mov eax, ecx", 2);
    expect("\xb8\x34\x12", 3, 0, INSN_MODE_16, "mov ax, 0x1234", 3);
    expect("\x66\x0f\x6f\x07", 4, 0, INSN_MODE_64, "movdqa xmm0, xmmword ptr [rdi]", 4);
    /* Bytes beyond the first instruction are ignored; more than 15 are cut. */
    expect("\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90", 17, 0,
           INSN_MODE_64, "nop", 1);
}

static void test_bad_input(void **state) {
    (void)state;
    expect("\x48\x89", 2, 0, INSN_MODE_64, "(bad)", 0); /* truncated */
    expect("\x0f\x04", 2, 0, INSN_MODE_64, "(bad)", 0); /* undefined opcode */
    expect("\xd6", 1, 0, INSN_MODE_64, "(bad)", 0);     /* SALC: not in 64-bit mode */
    expect("\x06", 1, 0, INSN_MODE_64, "(bad)", 0);     /* push es: invalid in 64-bit mode */
    expect("\x06", 1, 0, INSN_MODE_32, "push es", 1);
    expect("", 0, 0, INSN_MODE_64, "(bad)", 0);
    char out[8];
    assert_int_equal(insn_decode((const uint8_t *)"\xc3", 1, 0, (enum insn_mode)48, out, 8), 0);
    assert_string_equal(out, "(bad)");
    assert_int_equal(insn_decode(NULL, 5, 0, INSN_MODE_64, out, 8), 0);
    /* Output bounds: always terminated, never beyond size. */
    memset(out, 'X', sizeof(out));
    assert_int_equal(insn_decode((const uint8_t *)"\x48\x89\x07", 3, 0, INSN_MODE_64, out, 8), 3);
    assert_string_equal(out, "mov qwo");
    assert_int_equal(insn_decode((const uint8_t *)"\x48\x89\x07", 3, 0, INSN_MODE_64, out, 0), 3);
}

static void test_random_bytes_no_growth(void **state) {
    (void)state;
    uint8_t code[15];
    char out[160];
    /* Prime the handle and capstone's lazy caches, then measure. */
    insn_decode((const uint8_t *)"\x90", 1, 0, INSN_MODE_64, out, sizeof(out));
    size_t base = insn_decode_arena_used();
    assert_true(base > 0);
    uint64_t x = 88172645463325252ull;
    unsigned decoded = 0;
    static const enum insn_mode modes[] = {INSN_MODE_16, INSN_MODE_32, INSN_MODE_64};
    for (int i = 0; i < 20000; i++) {
        for (size_t j = 0; j < sizeof(code); j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            code[j] = (uint8_t)x;
        }
        size_t n = insn_decode(code, 1 + x % 15, x, modes[x % 3], out, sizeof(out));
        assert_true(n <= 15);
        assert_true(strlen(out) < sizeof(out));
        decoded += n > 0;
        assert_int_equal(insn_decode_arena_used(), base);
    }
    assert_true(decoded > 10000);
    expect("\xc3", 1, 0, INSN_MODE_64, "ret", 1);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void test_libc_helpers(void **state) {
    (void)state;
    for (int n = 0; n < 200; n++) {
        int a[200], b[200];
        for (int i = 0; i < n; i++)
            a[i] = b[i] = rand() % 50 - 25;
        insn_qsort(a, (size_t)n, sizeof(int), cmp_int);
        qsort(b, (size_t)n, sizeof(int), cmp_int);
        assert_memory_equal(a, b, (size_t)n * sizeof(int));
    }
    char buf[8];
    memset(buf, 'X', sizeof(buf));
    insn_strncpy(buf, "ab", 6);
    assert_memory_equal(buf, "ab\0\0\0\0XX", 8);
    insn_strncpy(buf, "abcdefghij", 4);
    assert_memory_equal(buf, "abcd\0\0XX", 8);
    char hex[64];
    assert_int_equal(insn_format_bytes((const uint8_t *)"\x48\x89\x07", 3, hex, sizeof(hex)), 8);
    assert_string_equal(hex, "48 89 07");
    assert_int_equal(insn_format_bytes((const uint8_t *)"\x48\x89\x07", 3, hex, 6), 5);
    assert_string_equal(hex, "48 89");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_matches_header), cmocka_unit_test(test_decode),
        cmocka_unit_test(test_bad_input),          cmocka_unit_test(test_random_bytes_no_growth),
        cmocka_unit_test(test_libc_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
