/* The report writer: JSON escaping of odd strings, nesting, streaming of long lines, text mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static char out[65536];
static size_t out_len;
static unsigned sink_calls;

static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    sink_calls++;
    if (out_len + n < sizeof(out)) {
        memcpy(out + out_len, d, n);
        out_len += n;
        out[out_len] = 0;
    }
}

static struct report r;

static int setup(void **state) {
    (void)state;
    out_len = 0;
    out[0] = 0;
    sink_calls = 0;
    report_init(&r, REPORT_JSONL, sink, NULL);
    return 0;
}

static void simple_event(void **state) {
    (void)state;
    report_begin(&r, "start");
    report_str(&r, "version", "1.0");
    report_u64(&r, "n", 18446744073709551615ull);
    report_i64(&r, "neg", -42);
    report_bool(&r, "ok", true);
    report_hex(&r, "addr", 0xffffffff81000000ull);
    report_null(&r, "nothing");
    report_end(&r);
    assert_string_equal(out, "{\"ev\":\"start\",\"version\":\"1.0\",\"n\":18446744073709551615,"
                             "\"neg\":-42,\"ok\":true,\"addr\":\"0xffffffff81000000\","
                             "\"nothing\":null}\n");
}

static void escaping(void **state) {
    (void)state;
    report_begin(&r, "x");
    report_str(&r, "s", "q\"b\\n\nr\rt\tc\x01\x1f\x7f");
    report_end(&r);
    assert_string_equal(out,
                        "{\"ev\":\"x\",\"s\":\"q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001f\\u007f\"}\n");
}

static void utf8_kept_invalid_bytes_escaped(void **state) {
    (void)state;
    report_begin(&r, "x");
    /* valid: é (2 bytes), € (3), 😀 (4); invalid: lone 0xff, truncated 0xe2 0x82, overlong 0xc0
     * 0xaf, surrogate 0xed 0xa0 0x80 */
    report_str(&r, "s", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xff|\xe2\x82|\xc0\xaf|\xed\xa0\x80");
    report_end(&r);
    assert_string_equal(out, "{\"ev\":\"x\",\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\u00ff|"
                             "\\u00e2\\u0082|\\u00c0\\u00af|\\u00ed\\u00a0\\u0080\"}\n");
}

static void strn_with_embedded_nul(void **state) {
    (void)state;
    report_begin(&r, "x");
    report_strn(&r, "comm", "ab\0cd", 5);
    report_end(&r);
    assert_string_equal(out, "{\"ev\":\"x\",\"comm\":\"ab\\u0000cd\"}\n");
}

static void nesting(void **state) {
    (void)state;
    report_begin(&r, "proc");
    report_arr_begin(&r, "threads");
    report_u64(&r, NULL, 1);
    report_u64(&r, NULL, 2);
    report_arr_end(&r);
    report_obj_begin(&r, "o");
    report_arr_begin(&r, "ranges");
    report_arr_begin(&r, NULL);
    report_hex(&r, NULL, 0x1000);
    report_hex(&r, NULL, 0x2000);
    report_arr_end(&r);
    report_arr_end(&r);
    report_obj_end(&r);
    report_arr_begin(&r, "empty");
    report_arr_end(&r);
    report_end(&r);
    assert_string_equal(out, "{\"ev\":\"proc\",\"threads\":[1,2],\"o\":{\"ranges\":[[\"0x1000\","
                             "\"0x2000\"]]},\"empty\":[]}\n");
}

static void unclosed_levels_closed_by_end(void **state) {
    (void)state;
    report_begin(&r, "x");
    report_obj_begin(&r, "a");
    report_arr_begin(&r, "b");
    report_u64(&r, NULL, 7);
    report_end(&r);
    assert_string_equal(out, "{\"ev\":\"x\",\"a\":{\"b\":[7]}}\n");
}

static void too_deep_stays_valid(void **state) {
    (void)state;
    report_begin(&r, "x");
    for (int i = 0; i < 20; i++)
        report_arr_begin(&r, i == 0 ? "d" : NULL);
    report_u64(&r, NULL, 1);
    for (int i = 0; i < 20; i++)
        report_arr_end(&r);
    report_bool(&r, "after", true);
    report_end(&r);
    /* Levels beyond REPORT_MAX_DEPTH are dropped with their contents; brackets still balance. */
    int depth = 0, maxd = 0;
    for (char *p = out; *p; p++) {
        if (*p == '[' || *p == '{')
            depth++;
        if (*p == ']' || *p == '}')
            depth--;
        assert_true(depth >= 0);
        if (depth > maxd)
            maxd = depth;
    }
    assert_int_equal(depth, 0);
    assert_true(maxd < REPORT_MAX_DEPTH);
    assert_non_null(strstr(out, ",\"after\":true}\n"));
}

static void long_line_streams_through_small_buffer(void **state) {
    (void)state;
    static char big[5000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    report_begin(&r, "x");
    report_str(&r, "big", big);
    report_end(&r);
    assert_int_equal(out_len, strlen("{\"ev\":\"x\",\"big\":\"\"}\n") + 4999);
    assert_true(sink_calls > 1);
    assert_int_equal(out[out_len - 1], '\n');
}

static void text_mode(void **state) {
    (void)state;
    report_init(&r, REPORT_TEXT, sink, NULL);
    report_textf(&r, "cpu %d up, %s", 3, "evil\nvigil: forged");
    assert_string_equal(out, "vigil: cpu 3 up, evil?vigil: forged\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(simple_event, setup),
        cmocka_unit_test_setup(escaping, setup),
        cmocka_unit_test_setup(utf8_kept_invalid_bytes_escaped, setup),
        cmocka_unit_test_setup(strn_with_embedded_nul, setup),
        cmocka_unit_test_setup(nesting, setup),
        cmocka_unit_test_setup(unclosed_levels_closed_by_end, setup),
        cmocka_unit_test_setup(too_deep_stays_valid, setup),
        cmocka_unit_test_setup(long_line_streams_through_small_buffer, setup),
        cmocka_unit_test_setup(text_mode, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
