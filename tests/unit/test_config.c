/* vigil.cfg parsing: defaults, every key, and every class of malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "efi/config.h"

struct err {
    unsigned line;
    char msg[200];
};
static struct err errs[64];
static unsigned n_errs;

static void on_err(void *ctx, unsigned line, const char *msg) {
    (void)ctx;
    if (n_errs < 64) {
        errs[n_errs].line = line;
        snprintf(errs[n_errs].msg, sizeof(errs[0].msg), "%s", msg);
    }
    n_errs++;
}

static unsigned parse(struct vigil_config *c, const char *text) {
    n_errs = 0;
    config_defaults(c);
    return config_parse(c, text, strlen(text), on_err, NULL);
}

static void defaults(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, ""), 0);
    assert_int_equal(c.serial_port, 0x3F8);
    assert_int_equal(c.baud, 115200);
    assert_int_equal(c.report, REPORT_TEXT);
    assert_string_equal(c.next, "");
    assert_string_equal(c.next_args, "");
    assert_int_equal(c.on_no_vmx, ON_NO_VMX_BOOT);
    assert_int_equal(c.heartbeat_s, 10);
    assert_true(c.stealth);
}

static void heartbeat_and_stealth(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, "heartbeat=0\nstealth=off"), 0);
    assert_int_equal(c.heartbeat_s, 0);
    assert_false(c.stealth);
    assert_int_equal(parse(&c, "heartbeat=86401\nheartbeat=-1\nheartbeat=5s\nstealth=yes"), 4);
    assert_int_equal(c.heartbeat_s, 10);
    assert_true(c.stealth);
    assert_non_null(strstr(errs[3].msg, "on or off"));
}

static void profile_and_rescan(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, ""), 0);
    assert_string_equal(c.profile, "");
    assert_int_equal(c.rescan_s, 30);
    assert_int_equal(parse(&c, "profile = guest-profiles/debian.isf.json\nrescan=0"), 0);
    assert_string_equal(c.profile, "\\guest-profiles\\debian.isf.json");
    assert_int_equal(c.rescan_s, 0);
    assert_int_equal(parse(&c, "rescan=86401\nrescan=soon\nprofile=caf\xc3\xa9.json"), 3);
    assert_int_equal(c.rescan_s, 30);
    assert_string_equal(c.profile, "");
    assert_int_equal(errs[2].line, 3);
    assert_true(c.live);
    assert_int_equal(parse(&c, "live=off\nlive=maybe"), 1);
    assert_false(c.live);
}

static const char *formatted(const struct vigil_config *c, const char *key) {
    static char buf[64];
    for (unsigned i = 0; config_key_name(i); i++) {
        if (strcmp(config_key_name(i), key) == 0)
            return config_format_value(c, i, buf, sizeof(buf));
    }
    return NULL;
}

static void apic_handover(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, ""), 0);
    assert_int_equal(c.apic_handover, APIC_HANDOVER_XAPIC);
    assert_string_equal(formatted(&c, "apic_handover"), "xapic");
    assert_int_equal(parse(&c, "apic_handover = x2apic"), 0);
    assert_int_equal(c.apic_handover, APIC_HANDOVER_X2APIC);
    assert_string_equal(formatted(&c, "apic_handover"), "x2apic");
    assert_int_equal(parse(&c, "apic_handover=x2apic\napic_handover=xapic"), 0);
    assert_int_equal(c.apic_handover, APIC_HANDOVER_XAPIC);
    /* Values are case-sensitive, like every other key's; a bad value keeps the earlier one. */
    assert_int_equal(parse(&c, "apic_handover=x2apic\napic_handover=X2APIC\napic_handover="), 2);
    assert_int_equal(c.apic_handover, APIC_HANDOVER_X2APIC);
    assert_non_null(strstr(errs[0].msg, "xapic or x2apic"));
    assert_non_null(strstr(errs[1].msg, "empty value"));
}

static void all_keys(void **state) {
    (void)state;
    struct vigil_config c;
    const char *t = "# a comment\n"
                    "serial = com2\n"
                    "baud=57600\n"
                    "  report   =   jsonl  \n"
                    "next = \\EFI\\debian\\vmlinuz\n"
                    "next_args = initrd=\\initrd.img console=ttyS0\n"
                    "on_no_vmx = halt\n";
    assert_int_equal(parse(&c, t), 0);
    assert_int_equal(c.serial_port, 0x2F8);
    assert_int_equal(c.baud, 57600);
    assert_int_equal(c.report, REPORT_JSONL);
    assert_string_equal(c.next, "\\EFI\\debian\\vmlinuz");
    assert_string_equal(c.next_args, "initrd=\\initrd.img console=ttyS0");
    assert_int_equal(c.on_no_vmx, ON_NO_VMX_HALT);
}

static void serial_forms(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, "serial=COM4"), 0);
    assert_int_equal(c.serial_port, 0x2E8);
    assert_int_equal(parse(&c, "serial=com3"), 0);
    assert_int_equal(c.serial_port, 0x3E8);
    assert_int_equal(parse(&c, "serial=0x2f8"), 0);
    assert_int_equal(c.serial_port, 0x2F8);
    assert_int_equal(parse(&c, "serial=e000"), 0);
    assert_int_equal(c.serial_port, 0xE000);
    /* bad: com5, port 0, beyond 16 bits, junk — the earlier value stays. */
    assert_int_equal(parse(&c, "serial=com2\nserial=com5"), 1);
    assert_int_equal(c.serial_port, 0x2F8);
    assert_int_equal(errs[0].line, 2);
    assert_non_null(strstr(errs[0].msg, "com5"));
    assert_int_equal(parse(&c, "serial=0x0"), 1);
    assert_int_equal(parse(&c, "serial=0x10000"), 1);
    assert_non_null(strstr(errs[0].msg, "out of range"));
    assert_int_equal(parse(&c, "serial=0xfffc"), 1);
    assert_int_equal(parse(&c, "serial=0x3f8zz"), 1);
    assert_int_equal(parse(&c, "serial=0x99999999999999999999"), 1);
    assert_int_equal(c.serial_port, 0x3F8);
}

static void baud_rules(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, "baud=9600"), 0);
    assert_int_equal(c.baud, 9600);
    assert_int_equal(parse(&c, "baud=100000"), 1);
    assert_int_equal(c.baud, 115200);
    assert_non_null(strstr(errs[0].msg, "115200/N"));
    assert_int_equal(parse(&c, "baud=0"), 1);
    assert_int_equal(parse(&c, "baud=230400"), 1);
    assert_int_equal(parse(&c, "baud=fast"), 1);
    assert_non_null(strstr(errs[0].msg, "not a decimal"));
    assert_int_equal(parse(&c, "baud=0x1c200"), 1); /* decimal only */
    assert_int_equal(parse(&c, "baud=-9600"), 1);
}

static void later_line_wins(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, "report=jsonl\nreport=text\nnext=\\a.efi\nnext=\\b.efi"), 0);
    assert_int_equal(c.report, REPORT_TEXT);
    assert_string_equal(c.next, "\\b.efi");
}

static void malformed_lines_reported_rest_loads(void **state) {
    (void)state;
    struct vigil_config c;
    const char *t = "serial = com2\n"         /* 1 ok */
                    "this is not a setting\n" /* 2 no '=' */
                    "= value\n"               /* 3 no key */
                    "colour = blue\n"         /* 4 unknown key */
                    "report = xml\n"          /* 5 bad value */
                    "baud =\n"                /* 6 empty value */
                    "on_no_vmx = maybe\n"     /* 7 bad value */
                    "report = jsonl\n";       /* 8 ok */
    assert_int_equal(parse(&c, t), 6);
    assert_int_equal(n_errs, 6);
    unsigned want[] = {2, 3, 4, 5, 6, 7};
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(errs[i].line, want[i]);
    assert_non_null(strstr(errs[0].msg, "key = value"));
    assert_non_null(strstr(errs[1].msg, "missing key"));
    assert_non_null(strstr(errs[2].msg, "unknown key 'colour'"));
    assert_non_null(strstr(errs[3].msg, "'xml'"));
    assert_non_null(strstr(errs[4].msg, "empty value"));
    assert_int_equal(c.serial_port, 0x2F8);
    assert_int_equal(c.report, REPORT_JSONL);
    assert_int_equal(c.baud, 115200);
}

static void line_endings_bom_and_quotes(void **state) {
    (void)state;
    struct vigil_config c;
    const char t[] = "\xEF\xBB\xBFserial=com2\r\nnext_args = \"initrd=\\x.img quiet\"\r\n"
                     "\r\n\t# indented comment\r\nbad\r\n";
    assert_int_equal(parse(&c, t), 1);
    assert_int_equal(c.serial_port, 0x2F8);
    assert_string_equal(c.next_args, "initrd=\\x.img quiet");
    assert_int_equal(errs[0].line, 5);
    /* No trailing newline on the last line. */
    assert_int_equal(parse(&c, "report=jsonl"), 0);
    assert_int_equal(c.report, REPORT_JSONL);
}

static void keys_case_insensitive_values_not(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, "REPORT=jsonl\nReport=TEXT"), 1);
    assert_int_equal(c.report, REPORT_JSONL);
    assert_int_equal(errs[0].line, 2);
}

static void nul_and_binary_bytes(void **state) {
    (void)state;
    struct vigil_config c;
    const char t[] = "serial=com2\nnext=\\a\0b.efi\nnext_args=caf\xc3\xa9\nreport=jsonl\n";
    n_errs = 0;
    config_defaults(&c);
    assert_int_equal(config_parse(&c, t, sizeof(t) - 1, on_err, NULL), 2);
    assert_int_equal(errs[0].line, 2);
    assert_non_null(strstr(errs[0].msg, "NUL"));
    assert_int_equal(errs[1].line, 3);
    assert_non_null(strstr(errs[1].msg, "printable ASCII"));
    assert_int_equal(c.report, REPORT_JSONL);
    assert_string_equal(c.next, "");
}

static void utf16_and_oversize_files(void **state) {
    (void)state;
    struct vigil_config c;
    const char t[] = "\xFF\xFEs\0e\0r\0";
    n_errs = 0;
    config_defaults(&c);
    assert_int_equal(config_parse(&c, t, sizeof(t) - 1, on_err, NULL), 1);
    assert_int_equal(errs[0].line, 0);
    assert_non_null(strstr(errs[0].msg, "UTF-16"));
    static char big[CONFIG_FILE_MAX + 10];
    memset(big, '#', sizeof(big));
    n_errs = 0;
    assert_int_equal(config_parse(&c, big, sizeof(big), on_err, NULL), 1);
    assert_non_null(strstr(errs[0].msg, "too large"));
}

static void long_lines_and_values(void **state) {
    (void)state;
    struct vigil_config c;
    static char t[4096];
    /* next path over CONFIG_PATH_MAX */
    strcpy(t, "next=\\");
    memset(t + 6, 'a', 300);
    t[306] = 0;
    assert_int_equal(parse(&c, t), 1);
    assert_non_null(strstr(errs[0].msg, "too long"));
    assert_string_equal(c.next, "");
    /* next_args over CONFIG_ARGS_MAX */
    strcpy(t, "next_args=");
    memset(t + 10, 'x', 1100);
    t[1110] = 0;
    assert_int_equal(parse(&c, t), 1);
    assert_non_null(strstr(errs[0].msg, "too long"));
    /* a line over CONFIG_LINE_MAX */
    memset(t, 'y', 2000);
    t[2000] = 0;
    assert_int_equal(parse(&c, t), 1);
    assert_non_null(strstr(errs[0].msg, "line too long"));
    /* error messages stay bounded and printable */
    assert_true(strlen(errs[0].msg) < 200);
}

static void next_path_normalised(void **state) {
    (void)state;
    struct vigil_config c;
    assert_int_equal(parse(&c, "next=EFI/debian/grubx64.efi"), 0);
    assert_string_equal(c.next, "\\EFI\\debian\\grubx64.efi");
    assert_int_equal(parse(&c, "next=\\vmlinuz\nnext="), 0);
    assert_string_equal(c.next, ""); /* empty = no next stage */
}

static void error_flood_is_capped(void **state) {
    (void)state;
    struct vigil_config c;
    static char t[8192];
    t[0] = 0;
    for (int i = 0; i < 100; i++)
        strcat(t, "junk\n");
    strcat(t, "report=jsonl\n");
    assert_int_equal(parse(&c, t), 100);
    assert_int_equal(n_errs, CONFIG_MAX_ERRORS + 1); /* 32 listed, then one "too many" */
    assert_non_null(strstr(errs[CONFIG_MAX_ERRORS].msg, "too many"));
    assert_int_equal(c.report, REPORT_JSONL);
}

static void serial_names(void **state) {
    (void)state;
    char b[16];
    assert_string_equal(config_serial_name(0x3F8, b, sizeof(b)), "com1");
    assert_string_equal(config_serial_name(0x2E8, b, sizeof(b)), "com4");
    assert_string_equal(config_serial_name(0xE000, b, sizeof(b)), "0xe000");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(all_keys),
        cmocka_unit_test(heartbeat_and_stealth),
        cmocka_unit_test(profile_and_rescan),
        cmocka_unit_test(apic_handover),
        cmocka_unit_test(serial_forms),
        cmocka_unit_test(baud_rules),
        cmocka_unit_test(later_line_wins),
        cmocka_unit_test(malformed_lines_reported_rest_loads),
        cmocka_unit_test(line_endings_bom_and_quotes),
        cmocka_unit_test(keys_case_insensitive_values_not),
        cmocka_unit_test(nul_and_binary_bytes),
        cmocka_unit_test(utf16_and_oversize_files),
        cmocka_unit_test(long_lines_and_values),
        cmocka_unit_test(next_path_normalised),
        cmocka_unit_test(error_flood_is_capped),
        cmocka_unit_test(serial_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
