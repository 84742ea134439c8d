/* The report writer: JSON escaping of odd strings, nesting, streaming of long lines, text mode;
 * line mode (whole lines to the sink, lines longer than the buffer cut and still valid JSON);
 * bounds. Built with AddressSanitizer (tests/tests.mk): a write past a buffer fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/report.h"

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

/* The text renderer of an event: the same calls as the JSON one, one "vigil: <ev> k=v ..." line. */
static void text_renders_the_event(void **state) {
    (void)state;
    report_init(&r, REPORT_TEXT, sink, NULL);
    report_begin(&r, "proc");
    report_i64(&r, "pid", -7);
    report_u64(&r, "uid", 1000);
    report_str(&r, "comm", "sh");
    report_str(&r, "why", "two words");
    report_str(&r, "evil", "a\nvigil: \"x\"\\");
    report_str(&r, "empty", "");
    report_str(&r, "eq", "a=b");
    report_bool(&r, "kthread", false);
    report_hex(&r, "cr3", 0x1000);
    report_null(&r, "none");
    report_arr_begin(&r, "threads");
    report_i64(&r, NULL, 1);
    report_i64(&r, NULL, 2);
    report_arr_end(&r);
    report_arr_begin(&r, "new");
    report_obj_begin(&r, NULL);
    report_u64(&r, "pid", 5);
    report_str(&r, "comm", "init");
    report_obj_end(&r);
    report_obj_begin(&r, NULL);
    report_u64(&r, "pid", 6);
    report_obj_end(&r);
    report_arr_end(&r);
    report_obj_begin(&r, "o");
    report_hex(&r, "a", 0xff);
    report_end(&r); /* closes the open object */
    assert_string_equal(out, "vigil: proc pid=-7 uid=1000 comm=sh why=\"two words\" "
                             "evil=\"a?vigil: \\\"x\\\"\\\\\" empty=\"\" eq=\"a=b\" kthread=false "
                             "cr3=0x1000 none=null threads=[1 2] new=[{pid=5 comm=init} {pid=6}] "
                             "o={a=0xff}\n");
}

/* Line mode: what the sink received, one entry per call. */
static char *lines_got[64];
static size_t lines_n;

static void line_sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    assert_true(lines_n < 64);
    char *c = malloc(n + 1);
    memcpy(c, d, n);
    c[n] = 0;
    lines_got[lines_n++] = c;
}

static void lines_free(void) {
    for (size_t i = 0; i < lines_n; i++)
        free(lines_got[i]);
    lines_n = 0;
}

static void line_mode_hands_over_whole_lines(void **state) {
    (void)state;
    char *buf = malloc(256);
    struct report *lr = malloc(sizeof(*lr));
    assert_true(report_init_lines(lr, REPORT_JSONL, buf, 256, line_sink, NULL));
    report_begin(lr, "x");
    report_u64(lr, "n", 7);
    assert_int_equal(lines_n, 0); /* nothing before the line is complete */
    report_end(lr);
    report_write(lr, "ab\ncd", 5);
    report_flush(lr); /* no effect in line mode: "cd" is not a line yet */
    report_write(lr, "ef\n", 3);
    assert_int_equal(lines_n, 3);
    assert_string_equal(lines_got[0], "{\"ev\":\"x\",\"n\":7}\n");
    assert_string_equal(lines_got[1], "ab\n");
    assert_string_equal(lines_got[2], "cdef\n");
    lines_free();
    assert_false(report_init_lines(lr, REPORT_JSONL, buf, REPORT_LINE_MIN - 1, line_sink, NULL));
    report_textf(lr, "too small a buffer: nothing, and no write anywhere");
    assert_int_equal(lines_n, 0);
    free(lr);
    free(buf);
}

/* Brackets balance outside strings and nothing follows the top-level object but "\n". */
static void assert_one_json_object(const char *s) {
    int depth = 0;
    bool in_str = false;
    size_t n = strlen(s);
    assert_true(n >= 3 && s[0] == '{' && s[n - 1] == '\n');
    for (size_t i = 0; i + 1 < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        assert_true(depth > 0 || i == n - 2);
    }
    assert_false(in_str);
    assert_int_equal(depth, 0);
}

static void line_mode_cuts_json_at_an_element(void **state) {
    (void)state;
    for (size_t cap = REPORT_LINE_MIN; cap < 700; cap += 7) {
        char *buf = malloc(cap); /* exactly cap bytes: ASan reports any write past them */
        struct report lr;
        assert_true(report_init_lines(&lr, REPORT_JSONL, buf, cap, line_sink, NULL));
        report_begin(&lr, "rescan");
        report_arr_begin(&lr, "new");
        for (int i = 0; i < 40; i++) {
            report_obj_begin(&lr, NULL);
            report_u64(&lr, "pid", 1000 + (uint64_t)i);
            report_str(&lr, "comm", "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12");
            report_obj_end(&lr);
        }
        report_arr_end(&lr);
        report_u64(&lr, "procs", 40);
        report_end(&lr);
        assert_int_equal(lines_n, 1);
        const char *l = lines_got[0];
        assert_true(strlen(l) <= cap);
        assert_one_json_object(l);
        assert_non_null(strstr(l, "\"truncated\":true}\n"));
        /* Every element is whole: each "pid" has its "comm". */
        size_t pids = 0, comms = 0;
        for (const char *p = l; (p = strstr(p, "\"pid\":")); p++)
            pids++;
        for (const char *p = l; (p = strstr(p, "\"comm\":\"")); p++)
            comms++;
        assert_true(pids == comms || pids == comms + 1); /* the last object may end at its pid */
        lines_free();
        /* The writer is clean for the next line. */
        report_begin(&lr, "x");
        report_end(&lr);
        assert_int_equal(lines_n, 1);
        assert_string_equal(lines_got[0], "{\"ev\":\"x\"}\n");
        lines_free();
        free(buf);
    }
}

static void line_mode_cuts_text(void **state) {
    (void)state;
    char *buf = malloc(REPORT_LINE_MIN);
    struct report lr;
    assert_true(report_init_lines(&lr, REPORT_TEXT, buf, REPORT_LINE_MIN, line_sink, NULL));
    char long_text[300];
    memset(long_text, 'q', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = 0;
    report_textf(&lr, "%s", long_text);
    report_textf(&lr, "short");
    assert_int_equal(lines_n, 2);
    assert_int_equal(strlen(lines_got[0]), REPORT_LINE_MIN);
    assert_memory_equal(lines_got[0], "vigil: qqq", 10);
    assert_int_equal(lines_got[0][REPORT_LINE_MIN - 1], '\n');
    assert_string_equal(lines_got[1], "vigil: short\n");
    lines_free();
    free(buf);
}

/* The stream buffer's bound is checked with >=: a length already past the buffer (two writers
 * sharing one, say) flushes what the buffer holds instead of copying further past its end. */
static void stream_bound_holds_past_the_end(void **state) {
    (void)state;
    struct report *sr = malloc(sizeof(*sr)); /* own[] ends the struct: ASan sees past it */
    report_init(sr, REPORT_JSONL, sink, NULL);
    memset(sr->own, 'a', sizeof(sr->own));
    sr->len = sr->cap + 100;
    report_write(sr, "xyz", 3);
    report_flush(sr);
    assert_int_equal(out_len, REPORT_BUF + 3);
    assert_memory_equal(out + REPORT_BUF, "xyz", 3);
    free(sr);
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
        cmocka_unit_test_setup(text_renders_the_event, setup),
        cmocka_unit_test_setup(line_mode_hands_over_whole_lines, setup),
        cmocka_unit_test_setup(line_mode_cuts_json_at_an_element, setup),
        cmocka_unit_test_setup(line_mode_cuts_text, setup),
        cmocka_unit_test_setup(stream_bound_holds_past_the_end, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
