/* The sealed config: canonical values, the record (serialise, parse as untrusted input, the
 * hash-only fallback), the comparison, the decision rule (the sealed policy decides) and the
 * config_sealed / config_changed events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "efi/config.h"
#include "efi/config_seal.h"
#include "efi/config_seal_report.h"

static void must_parse(struct vigil_config *c, const char *text) {
    config_defaults(c);
    assert_int_equal(config_parse(c, text, strlen(text), NULL, NULL), 0);
}

static unsigned key(const char *name) {
    for (unsigned i = 0; i < config_key_count(); i++)
        if (strcmp(config_key_name(i), name) == 0)
            return i;
    fail_msg("no key %s", name);
    return 0;
}

static void same_config(const struct vigil_config *a, const struct vigil_config *b) {
    char x[CONFIG_VALUE_MAX], y[CONFIG_VALUE_MAX];
    for (unsigned i = 0; i < config_key_count(); i++)
        assert_string_equal(config_format_value(a, i, x, sizeof(x)),
                            config_format_value(b, i, y, sizeof(y)));
    assert_memory_equal(a, b, sizeof(*a));
}

static struct seal_profile profile_read(const char *content) {
    struct seal_profile p;
    memset(&p, 0, sizeof(p));
    strcpy(p.status, "read");
    sha256(content, strlen(content), p.sha256);
    p.bytes = strlen(content);
    return p;
}

static struct seal_profile profile_none(void) {
    struct seal_profile p;
    memset(&p, 0, sizeof(p));
    strcpy(p.status, "none");
    return p;
}

/* Values awkward for a line format: quotes inside, leading/trailing spaces, '=', '#'. */
static const char *tricky =
    "serial=0x2e0\nbaud=9600\nreport=jsonl\nnext=EFI/debian/grubx64.efi\n"
    "next_args=\"  a \"b\" = c # d  \"\nheartbeat=0\nstealth=off\nprofile=\nrescan=86400\n"
    "live=off\non_no_vmx=halt\non_config_change=previous\n";

static void canonical_values(void **state) {
    (void)state;
    struct vigil_config c;
    char v[CONFIG_VALUE_MAX];
    must_parse(&c, tricky);
    assert_string_equal(config_format_value(&c, key("serial"), v, sizeof(v)), "0x2e0");
    assert_string_equal(config_format_value(&c, key("next"), v, sizeof(v)),
                        "\\EFI\\debian\\grubx64.efi");
    assert_string_equal(config_format_value(&c, key("next_args"), v, sizeof(v)),
                        "  a \"b\" = c # d  ");
    assert_string_equal(config_format_value(&c, key("on_config_change"), v, sizeof(v)), "previous");
    assert_int_equal(c.on_change, ON_CHANGE_PREVIOUS);
    /* `key = "<canonical value>"` gives the same config back, key by key. */
    struct vigil_config d;
    config_defaults(&d);
    for (unsigned i = 0; i < config_key_count(); i++) {
        char line[CONFIG_VALUE_MAX + 40];
        snprintf(line, sizeof(line), "%s = \"%s\"", config_key_name(i),
                 config_format_value(&c, i, v, sizeof(v)));
        assert_int_equal(config_parse(&d, line, strlen(line), NULL, NULL), 0);
    }
    same_config(&c, &d);
    assert_null(config_key_name(config_key_count()));
    assert_true(config_key_count() <= SEAL_MAX_KEYS);
}

static void on_config_change_key(void **state) {
    (void)state;
    struct vigil_config c;
    config_defaults(&c);
    assert_int_equal(c.on_change, ON_CHANGE_ACCEPT);
    const char *bad = "on_config_change = maybe\n";
    assert_int_equal(config_parse(&c, bad, strlen(bad), NULL, NULL), 1);
    assert_int_equal(c.on_change, ON_CHANGE_ACCEPT);
    must_parse(&c, "ON_CONFIG_CHANGE = previous");
    assert_int_equal(c.on_change, ON_CHANGE_PREVIOUS);
}

static char rec[SEAL_RECORD_MAX + 1];

static void round_trip(void **state) {
    (void)state;
    struct vigil_config c;
    must_parse(&c, tricky);
    struct seal_profile p = profile_read("profile bytes");
    struct config_seal s, back;
    seal_make(&s, &c, &p);
    bool hash_only = true;
    size_t n = seal_serialise(&s, rec, sizeof(rec), SEAL_RECORD_MAX, &hash_only);
    assert_true(n > 0);
    assert_false(hash_only);
    assert_int_equal(strlen(rec), n);
    assert_non_null(strstr(rec, "vigil-seal 1\nconfig_sha256="));
    assert_non_null(strstr(rec, "\non_config_change=\"previous\"\n"));
    assert_non_null(strstr(rec, "\nprofile_bytes=13\n"));
    char why[160] = "";
    assert_true(seal_parse(&back, rec, n, why, sizeof(why)));
    assert_true(back.full);
    same_config(&back.cfg, &c);
    assert_memory_equal(back.config_sha256, s.config_sha256, SHA256_BYTES);
    assert_true(seal_profile_equal(&back.profile, &p));
    /* No profile: no profile_sha256/bytes lines, and it parses back. */
    struct seal_profile none = profile_none();
    seal_make(&s, &c, &none);
    n = seal_serialise(&s, rec, sizeof(rec), SEAL_RECORD_MAX, &hash_only);
    assert_null(strstr(rec, "profile_sha256"));
    assert_true(seal_parse(&back, rec, n, why, sizeof(why)));
    assert_string_equal(back.profile.status, "none");
}

/* The longest config fits in SEAL_RECORD_MAX: a full record is always possible on firmware that
 * takes a variable of that size. */
static void longest_record_fits(void **state) {
    (void)state;
    struct vigil_config c;
    config_defaults(&c);
    memset(c.next, 'n', CONFIG_PATH_MAX - 1);
    c.next[0] = '\\';
    c.next[CONFIG_PATH_MAX - 1] = 0;
    memset(c.next_args, '"', CONFIG_ARGS_MAX - 1);
    c.next_args[CONFIG_ARGS_MAX - 1] = 0;
    memcpy(c.profile, c.next, sizeof(c.profile));
    c.serial_port = 0xfff8;
    c.baud = 115200;
    c.heartbeat_s = c.rescan_s = 86400;
    c.on_change = ON_CHANGE_PREVIOUS;
    struct seal_profile p = profile_read("x");
    strcpy(p.status, "read");
    struct config_seal s, back;
    seal_make(&s, &c, &p);
    bool hash_only = true;
    size_t n = seal_serialise(&s, rec, sizeof(rec), SEAL_RECORD_MAX, &hash_only);
    print_message("longest full record: %zu bytes (limit %d)\n", n, SEAL_RECORD_MAX);
    assert_true(n > 0 && n < SEAL_RECORD_MAX);
    assert_false(hash_only);
    char why[160];
    assert_true(seal_parse(&back, rec, n, why, sizeof(why)));
    same_config(&back.cfg, &c);
}

static void hash_only_fallback(void **state) {
    (void)state;
    struct vigil_config c;
    must_parse(&c, tricky);
    struct seal_profile p = profile_read("abc");
    struct config_seal s, back;
    seal_make(&s, &c, &p);
    bool hash_only;
    size_t full = seal_serialise(&s, rec, sizeof(rec), SEAL_RECORD_MAX, &hash_only);
    size_t n = seal_serialise(&s, rec, sizeof(rec), full - 1, &hash_only);
    assert_true(hash_only);
    assert_true(n > 0 && n < full);
    assert_null(strstr(rec, "next_args"));
    char why[160];
    assert_true(seal_parse(&back, rec, n, why, sizeof(why)));
    assert_false(back.full);
    assert_int_equal(back.cfg.on_change, ON_CHANGE_PREVIOUS); /* the policy is always sealed */
    assert_memory_equal(back.config_sha256, s.config_sha256, SHA256_BYTES);
    /* The hash still detects a change, but the keys are unknown. */
    struct seal_diff d;
    seal_compare_config(&back, &c, &d);
    assert_false(d.config_changed);
    c.heartbeat_s = 11;
    seal_compare_config(&back, &c, &d);
    assert_true(d.config_changed);
    assert_false(d.keys_known);
    assert_int_equal(d.n_changed, 0);
    /* Nothing fits at all. */
    assert_int_equal(seal_serialise(&s, rec, sizeof(rec), 40, &hash_only), 0);
}

/* Records that are not vigil's, or damaged: each one rejected with a reason. */
static void parse_rejects(void **state) {
    (void)state;
    struct vigil_config c;
    must_parse(&c, "heartbeat=3\n");
    struct seal_profile p = profile_read("abc");
    struct config_seal s, back;
    seal_make(&s, &c, &p);
    bool hash_only;
    char good[SEAL_RECORD_MAX + 1];
    size_t n = seal_serialise(&s, good, sizeof(good), SEAL_RECORD_MAX, &hash_only);
    char why[160];
    assert_true(seal_parse(&back, good, n, why, sizeof(why)));

    static const struct {
        const char *find, *replace, *why;
        size_t rlen; /* for a replacement holding a NUL; else 0 (strlen) */
    } edits[] = {
        {"vigil-seal 1", "vigil-seal 2", "not a vigil seal", 0},
        {"heartbeat=\"3\"", "heartbeat=\"4\"", "does not match", 0}, /* value edited: hash */
        {"heartbeat=\"3\"", "heartbeat=3", "not quoted", 0},
        {"heartbeat=\"3\"", "heartbeat=\"x\"", "not valid", 0},
        {"heartbeat=\"3\"", "heartbeat=\"3\"\nheartbeat=\"3\"", "twice", 0},
        {"heartbeat=\"3\"", "heartbeet=\"3\"", "unknown name", 0},
        {"heartbeat=\"3\"\n", "", "neither full nor hash-only", 0},
        {"on_config_change=\"accept\"\n", "", "on_config_change missing", 0},
        {"profile_bytes=3\n", "", "do not match profile_status", 0},
        {"profile_status=read", "profile_status=none", "do not match profile_status", 0},
        {"profile_bytes=3", "profile_bytes=3x", "not a number", 0},
        {"config_sha256=", "config_sha256=A", "64 hex", 0},
        {"serial=", "serial\x01=", "printable", 0},
        {"serial=", "serial\0=", "printable", 8},
        {"baud=", "=", "not name=value", 0},
        {"profile_status=read\n", "profile_status=read\nprofile_status=read\n", "twice", 0},
    };
    for (unsigned i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char bad[SEAL_RECORD_MAX + 64];
        const char *at = strstr(good, edits[i].find);
        assert_non_null(at);
        size_t pre = (size_t)(at - good), flen = strlen(edits[i].find);
        size_t rlen = edits[i].rlen ? edits[i].rlen : strlen(edits[i].replace);
        memcpy(bad, good, pre);
        memcpy(bad + pre, edits[i].replace, rlen);
        memcpy(bad + pre + rlen, at + flen, n - pre - flen);
        size_t bn = n - flen + rlen;
        why[0] = 0;
        if (seal_parse(&back, bad, bn, why, sizeof(why)))
            fail_msg("edit %u (%s -> %s) accepted", i, edits[i].find, edits[i].replace);
        if (!strstr(why, edits[i].why))
            fail_msg("edit %u: reason '%s', want '%s'", i, why, edits[i].why);
    }
    /* Cut short anywhere: never accepted (the last line lacks its newline, or keys are missing). */
    for (size_t cut = 0; cut < n; cut++)
        assert_false(seal_parse(&back, good, cut, why, sizeof(why)));
    assert_false(seal_parse(&back, good, SEAL_RECORD_MAX + 1, why, sizeof(why)));
    assert_non_null(strstr(why, "too large"));
}

static void compare_lists_changed_keys(void **state) {
    (void)state;
    struct vigil_config a, b;
    must_parse(&a, "heartbeat=10\nnext=\\vmlinuz\n");
    must_parse(&b, "heartbeat=3\nnext=/vmlinuz\nlive=off\n"); /* next: same path, other spelling */
    struct seal_profile p = profile_none();
    struct config_seal old;
    seal_make(&old, &a, &p);
    struct seal_diff d;
    seal_compare_config(&old, &a, &d);
    assert_false(d.config_changed);
    assert_int_equal(d.n_changed, 0);
    seal_compare_config(&old, &b, &d);
    assert_true(d.config_changed);
    assert_true(d.keys_known);
    assert_int_equal(d.n_changed, 2);
    assert_int_equal(d.changed[0], key("heartbeat"));
    assert_int_equal(d.changed[1], key("live"));
}

static void plan_first_boot(void **state) {
    (void)state;
    struct vigil_config c;
    must_parse(&c, "on_config_change=previous\n");
    struct seal_plan p;
    seal_plan_config(&p, NULL, &c);
    struct seal_profile now = profile_read("x");
    seal_plan_profile(&p, NULL, &now);
    assert_int_equal(p.outcome, SEAL_NEW);
    assert_true(p.write);
    assert_false(p.use_sealed_config);
    assert_true(p.use_profile);
}

/* old: sealed config text + policy; file: this boot's config. */
static void plan(struct seal_plan *p, struct config_seal *old, const char *old_text,
                 const char *new_text, const char *old_profile, const char *new_profile) {
    struct vigil_config a, b;
    must_parse(&a, old_text);
    must_parse(&b, new_text);
    struct seal_profile op = profile_read(old_profile), np = profile_read(new_profile);
    seal_make(old, &a, &op);
    seal_plan_config(p, old, &b);
    seal_plan_profile(p, old, &np);
}

static void plan_accept(void **state) {
    (void)state;
    struct seal_plan p;
    struct config_seal old;
    plan(&p, &old, "heartbeat=10\n", "heartbeat=10\n", "A", "A");
    assert_int_equal(p.outcome, SEAL_SAME);
    assert_false(p.write);
    /* Changed config under accept: the file's config, sealed anew, even when it asks for
     * previous from now on. */
    plan(&p, &old, "heartbeat=10\n", "heartbeat=3\non_config_change=previous\n", "A", "A");
    assert_int_equal(p.outcome, SEAL_CHANGED);
    assert_int_equal(p.policy, ON_CHANGE_ACCEPT);
    assert_int_equal(p.action, SEAL_ACCEPTED);
    assert_false(p.use_sealed_config);
    assert_true(p.write);
    assert_true(p.use_profile);
    /* Changed profile only, under accept: used and sealed. */
    plan(&p, &old, "heartbeat=10\n", "heartbeat=10\n", "A", "B");
    assert_int_equal(p.outcome, SEAL_CHANGED);
    assert_false(p.diff.config_changed);
    assert_true(p.diff.profile_changed);
    assert_true(p.write);
    assert_true(p.use_profile);
}

static void plan_previous(void **state) {
    (void)state;
    struct seal_plan p;
    struct config_seal old;
    const char *locked = "heartbeat=10\non_config_change=previous\n";
    /* The file tries to unlock itself: the sealed policy decides. */
    plan(&p, &old, locked, "heartbeat=3\non_config_change=accept\n", "A", "A");
    assert_int_equal(p.outcome, SEAL_CHANGED);
    assert_int_equal(p.policy, ON_CHANGE_PREVIOUS);
    assert_int_equal(p.action, SEAL_PREVIOUS);
    assert_true(p.use_sealed_config);
    assert_false(p.write);
    assert_true(p.use_profile);
    assert_int_equal(old.cfg.heartbeat_s, 10);
    /* Unchanged config, replaced profile: the profile is refused, nothing sealed. */
    plan(&p, &old, locked, locked, "A", "B");
    assert_int_equal(p.outcome, SEAL_CHANGED);
    assert_false(p.diff.config_changed);
    assert_false(p.use_profile);
    assert_false(p.write);
    /* Unchanged: nothing to do. */
    plan(&p, &old, locked, locked, "A", "A");
    assert_int_equal(p.outcome, SEAL_SAME);
    assert_true(p.use_profile);
    assert_false(p.write);
}

static void plan_previous_hash_only(void **state) {
    (void)state;
    struct seal_plan p;
    struct config_seal old;
    plan(&p, &old, "heartbeat=10\non_config_change=previous\n", "heartbeat=3\n", "A", "A");
    old.full = false; /* as parsed back from a hash-only record */
    struct vigil_config b;
    must_parse(&b, "heartbeat=3\n");
    seal_plan_config(&p, &old, &b);
    assert_int_equal(p.action, SEAL_PREVIOUS_UNKNOWN);
    assert_false(p.use_sealed_config);
    assert_false(p.write);
    assert_false(p.diff.keys_known);
}

/* Report output captured into a buffer. */
static char out[16384];
static size_t out_len;
static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    if (out_len + n < sizeof(out)) {
        memcpy(out + out_len, d, n);
        out_len += n;
        out[out_len] = 0;
    }
}

static void events(void **state) {
    (void)state;
    struct seal_plan p;
    struct config_seal old;
    plan(&p, &old, "heartbeat=10\non_config_change=previous\n",
         "heartbeat=3\non_config_change=accept\n", "A", "BB");
    struct vigil_config file;
    must_parse(&file, "heartbeat=3\non_config_change=accept\n");
    struct seal_profile np = profile_read("BB");
    struct seal_write w = {0};
    struct report r;
    report_init(&r, REPORT_JSONL, sink, NULL);
    out_len = 0;
    seal_report_changed(&r, &p, &old, &file, &np, &w);
    const char *want =
        "{\"ev\":\"config_changed\",\"policy\":\"previous\",\"action\":\"previous\","
        "\"config_changed\":true,\"config_in_effect\":\"sealed\",\"keys_known\":true,"
        "\"changed\":[{\"key\":\"heartbeat\",\"old\":\"10\",\"new\":\"3\"},"
        "{\"key\":\"on_config_change\",\"old\":\"previous\",\"new\":\"accept\"}],"
        "\"profile_changed\":true,\"profile_old_status\":\"read\",\"profile_old_sha256\":"
        "\"559aead08264d5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd\","
        "\"profile_old_bytes\":1,\"profile_new_status\":\"read\",\"profile_new_sha256\":\"";
    assert_memory_equal(out, want, strlen(want));
    /* SHA-256("BB"), from Python's hashlib. */
    assert_non_null(strstr(out,
                           "\"profile_new_sha256\":"
                           "\"fc686c314491e1f68bf1899fc54b2327353c44dd1ab4ed56538ef623edd1e866\""));
    assert_non_null(
        strstr(out, ",\"profile_new_bytes\":2,\"profile_used\":false,\"seal\":\"kept\"}\n"));

    report_init(&r, REPORT_TEXT, sink, NULL);
    out_len = 0;
    seal_report_changed(&r, &p, &old, &file, &np, &w);
    /* Text: the same event as one "vigil: <ev> key=value ..." line (base/report.h). */
    assert_non_null(strstr(out, "vigil: config_changed policy=previous action=previous "
                                "config_changed=true config_in_effect=sealed keys_known=true "
                                "changed=[{key=heartbeat old=10 new=3} "));
    assert_non_null(strstr(out, " profile_used=false seal=kept\n"));

    struct config_seal now;
    seal_make(&now, &file, &np);
    struct seal_write sealed = {true, "sealed", false, 400, 8000};
    report_init(&r, REPORT_JSONL, sink, NULL);
    out_len = 0;
    seal_report_sealed(&r, "invalid", "line 2: not name=value", &now, &sealed);
    assert_non_null(strstr(out, "{\"ev\":\"config_sealed\",\"previous\":\"invalid\","));
    assert_non_null(strstr(out, "\"why\":\"line 2: not name=value\""));
    assert_non_null(strstr(out, "\"seal\":\"sealed\",\"record\":\"full\",\"record_bytes\":400,"
                                "\"record_limit\":8000}\n"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_values),
        cmocka_unit_test(on_config_change_key),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(longest_record_fits),
        cmocka_unit_test(hash_only_fallback),
        cmocka_unit_test(parse_rejects),
        cmocka_unit_test(compare_lists_changed_keys),
        cmocka_unit_test(plan_first_boot),
        cmocka_unit_test(plan_accept),
        cmocka_unit_test(plan_previous),
        cmocka_unit_test(plan_previous_hash_only),
        cmocka_unit_test(events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
