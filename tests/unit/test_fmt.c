/* fmt_snprintf and lib helpers against the C library's behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/fmt.h"
#include "base/lib.h"

#define SAME(...)                                                                                  \
    do {                                                                                           \
        char a[128], b[128];                                                                       \
        size_t na = fmt_snprintf(a, sizeof(a), __VA_ARGS__);                                       \
        int nb = snprintf(b, sizeof(b), __VA_ARGS__);                                              \
        assert_string_equal(a, b);                                                                 \
        assert_int_equal(na, nb);                                                                  \
    } while (0)

static void conversions(void **state) {
    (void)state;
    SAME("%d %i %u", -5, 7, 4000000000u);
    SAME("%x %X %08x %lx", 0xbeefu, 0xbeefu, 0x12u, 0xffffffff81000000ul);
    SAME("%llu %lld", 18446744073709551615ull, -9223372036854775807ll - 1);
    SAME("%s|%10s|%-6s|%.3s|%.*s", "abc", "right", "left", "truncate", 2, "xyz");
    SAME("%c%c %% %5d %-5d| %05d", 'o', 'k', 42, 42, -42);
    SAME("%zu", (size_t)12345);
}

static void truncation_and_return_value(void **state) {
    (void)state;
    char buf[8];
    size_t n = fmt_snprintf(buf, sizeof(buf), "%s", "0123456789");
    assert_int_equal(n, 10);
    assert_string_equal(buf, "0123456");
    assert_int_equal(fmt_snprintf(NULL, 0, "%d", 12345), 5);
    const char *volatile nothing = NULL;
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", nothing), 6);
    assert_string_equal(buf, "(null)");
}

static void unknown_conversion_visible(void **state) {
    (void)state;
    char buf[32];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    fmt_snprintf(buf, sizeof(buf), "a%qb");
#pragma GCC diagnostic pop
    assert_string_equal(buf, "a%qb");
}

static void parse_u64(void **state) {
    (void)state;
    uint64_t v;
    assert_true(lib_parse_u64("0x1F", 4, 0, &v));
    assert_int_equal(v, 31);
    assert_true(lib_parse_u64("1f", 2, 16, &v));
    assert_int_equal(v, 31);
    assert_true(lib_parse_u64("18446744073709551615", 20, 10, &v));
    assert_true(v == UINT64_MAX);
    assert_false(lib_parse_u64("18446744073709551616", 20, 10, &v));
    assert_false(lib_parse_u64("0x", 2, 0, &v));
    assert_false(lib_parse_u64("", 0, 10, &v));
    assert_false(lib_parse_u64("12a", 3, 10, &v));
    assert_false(lib_parse_u64("0x10", 4, 10, &v));
}

static void strings(void **state) {
    (void)state;
    char buf[5];
    assert_int_equal(lib_strlcpy(buf, "abcdefg", sizeof(buf)), 7);
    assert_string_equal(buf, "abcd");
    assert_true(lib_streq_nocase("CoM1", "com1"));
    assert_false(lib_streq_nocase("com1", "com"));
    char m[10] = "abcdefghi";
    lib_memmove(m + 2, m, 5);
    assert_string_equal(m, "ababcdehi");
    lib_memmove(m, m + 3, 4);
    assert_string_equal(m, "bcdecdehi");
    assert_true(lib_memcmp("ab", "ac", 2) < 0);
    assert_int_equal(lib_strnlen("abc", 2), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conversions),
        cmocka_unit_test(truncation_and_return_value),
        cmocka_unit_test(unknown_conversion_visible),
        cmocka_unit_test(parse_u64),
        cmocka_unit_test(strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
