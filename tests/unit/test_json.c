/* Unit tests of the freestanding JSON reader (vmi/json.c): strict syntax, bounded nesting,
 * escapes, integer ranges, iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmi/json.h"
#include "vmi/vmi_symsrc.h"

static int parse(struct vmi_json *j, const char *s) {
    return vmi_json_init(j, s, strlen(s));
}

static void test_valid_documents(void **st) {
    (void)st;
    const char *ok[] = {
        "{}",
        "[]",
        " {\"a\" : [1, -2, 3.5e+2, true, false, null, \"x\"]} ",
        "0",
        "\"\"",
        "{\"k\":{\"n\":{\"m\":[[],[{}]]}}}",
        "[-0, 0.5, 1E9, 12]",
        "\"\\u00e9\\n\\\"\"",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct vmi_json j;
        if (parse(&j, ok[i]) != VMI_OK)
            fail_msg("rejected valid %s: %s", ok[i], j.why);
    }
}

static void test_invalid_documents(void **st) {
    (void)st;
    const char *bad[] = {
        "",
        "{",
        "}",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "01",
        "1.",
        "-",
        "1e",
        "\"abc",
        "\"\\x\"",
        "\"\\u12g4\"",
        "\"a\tb\"",
        "tru",
        "nul",
        "{} {}",
        "{a:1}",
        "[\"a\":1]",
        "{\"a\":1 \"b\":2}",
        "+1",
        ".5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vmi_json j;
        if (parse(&j, bad[i]) == VMI_OK)
            fail_msg("accepted invalid %s", bad[i]);
        assert_true(j.why[0] != 0);
    }
}

static void test_depth_limit(void **st) {
    (void)st;
    char buf[512];
    for (int depth = VMI_JSON_DEPTH_MAX; depth <= VMI_JSON_DEPTH_MAX + 2; depth++) {
        int n = 0;
        for (int i = 0; i <= depth; i++)
            buf[n++] = '[';
        for (int i = 0; i <= depth; i++)
            buf[n++] = ']';
        buf[n] = 0;
        struct vmi_json j;
        int rc = parse(&j, buf);
        if (depth == VMI_JSON_DEPTH_MAX)
            assert_int_equal(rc, VMI_OK);
        else
            assert_int_equal(rc, VMI_EFORMAT);
    }
}

static void test_numbers(void **st) {
    (void)st;
    struct vmi_json j;
    const char *doc = "[18446744073709551615, 18446744073709551616, -9223372036854775808, "
                      "-9223372036854775809, 1.5, -1, 0]";
    assert_int_equal(parse(&j, doc), VMI_OK);
    struct vmi_json_iter it;
    size_t v[7], n = 0;
    assert_int_equal(vmi_json_arr_begin(&j, j.root, &it), VMI_OK);
    while (n < 7 && vmi_json_arr_next(&j, &it, &v[n]))
        n++;
    assert_int_equal(n, 7);
    uint64_t u;
    int64_t i;
    assert_int_equal(vmi_json_get_u64(&j, v[0], &u), VMI_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(vmi_json_get_u64(&j, v[1], &u), VMI_EFORMAT);
    assert_int_equal(vmi_json_get_i64(&j, v[2], &i), VMI_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(vmi_json_get_i64(&j, v[3], &i), VMI_EFORMAT);
    assert_int_equal(vmi_json_get_u64(&j, v[4], &u), VMI_EFORMAT);
    assert_int_equal(vmi_json_get_u64(&j, v[5], &u), VMI_EFORMAT);
    assert_int_equal(vmi_json_get_i64(&j, v[5], &i), VMI_OK);
    assert_int_equal(i, -1);
    assert_int_equal(vmi_json_get_u64(&j, v[6], &u), VMI_OK);
    assert_int_equal(u, 0);
}

static void test_objects_and_strings(void **st) {
    (void)st;
    struct vmi_json j;
    const char *doc = "{\"plain\": 1, \"esc\\u0061ped\": {\"x\": \"a\\\"b\\\\c\\u00e9\"}, "
                      "\"plain\": 2, \"t\": true}";
    assert_int_equal(parse(&j, doc), VMI_OK);
    size_t v;
    uint64_t u;
    assert_int_equal(vmi_json_obj_get(&j, j.root, "plain", &v), VMI_OK);
    assert_int_equal(vmi_json_get_u64(&j, v, &u), VMI_OK);
    assert_int_equal(u, 1); /* the first of duplicate keys */
    assert_int_equal(vmi_json_obj_get(&j, j.root, "escaped", &v), VMI_OK);
    size_t x;
    assert_int_equal(vmi_json_obj_get(&j, v, "x", &x), VMI_OK);
    char buf[16];
    size_t len;
    assert_int_equal(vmi_json_get_str(&j, x, buf, sizeof(buf), &len), VMI_OK);
    assert_string_equal(buf, "a\"b\\c\xc3\xa9");
    assert_int_equal(len, 7);
    assert_int_equal(vmi_json_get_str(&j, x, buf, 4, &len), VMI_ELIMIT);
    assert_int_equal(vmi_json_obj_get(&j, j.root, "missing", &v), VMI_ENOTFOUND);
    assert_int_equal(vmi_json_obj_get(&j, j.root, "t", &v), VMI_OK);
    bool b;
    assert_int_equal(vmi_json_get_bool(&j, v, &b), VMI_OK);
    assert_true(b);
    assert_int_equal(vmi_json_get_u64(&j, v, &u), VMI_EFORMAT);
    /* A string that decodes to NUL is refused as a C string. */
    assert_int_equal(parse(&j, "\"a\\u0000b\""), VMI_OK);
    assert_int_equal(vmi_json_get_str(&j, j.root, buf, sizeof(buf), &len), VMI_EFORMAT);
    /* Iteration counts members. */
    assert_int_equal(parse(&j, doc), VMI_OK);
    struct vmi_json_iter it;
    struct vmi_json_str k;
    int count = 0;
    vmi_json_obj_begin(&j, j.root, &it);
    while (vmi_json_obj_next(&j, &it, &k, &v))
        count++;
    assert_int_equal(count, 4);
    /* Accessors on the wrong kind fail cleanly. */
    assert_int_equal(vmi_json_obj_begin(&j, x, &it), VMI_EFORMAT);
    assert_int_equal(vmi_json_arr_begin(&j, j.root, &it), VMI_EFORMAT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),     cmocka_unit_test(test_invalid_documents),
        cmocka_unit_test(test_depth_limit),         cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_objects_and_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
