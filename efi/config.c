#include "efi/config.h"

#include "base/fmt.h"
#include "base/lib.h"

static const uint16_t com_ports[4] = {0x3F8, 0x2F8, 0x3E8, 0x2E8};

void config_defaults(struct vigil_config *cfg) {
    lib_memset(cfg, 0, sizeof(*cfg));
    cfg->serial_port = com_ports[0];
    cfg->baud = 115200;
    cfg->report = REPORT_TEXT;
    cfg->on_no_vmx = ON_NO_VMX_BOOT;
    cfg->heartbeat_s = 10;
    cfg->stealth = true;
    cfg->rescan_s = 30;
    cfg->live = true;
    cfg->on_change = ON_CHANGE_ACCEPT;
    cfg->apic_handover = APIC_HANDOVER_XAPIC;
}

const char *config_serial_name(uint16_t port, char *buf, size_t size) {
    for (unsigned i = 0; i < 4; i++) {
        if (com_ports[i] == port) {
            fmt_snprintf(buf, size, "com%u", i + 1);
            return buf;
        }
    }
    fmt_snprintf(buf, size, "0x%x", port);
    return buf;
}

struct parser {
    struct vigil_config *cfg;
    config_error_fn err;
    void *ctx;
    unsigned errors;
};

static void problem(struct parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct parser *p, unsigned line, const char *fmt, ...) {
    p->errors++;
    if (!p->err || p->errors > CONFIG_MAX_ERRORS + 1)
        return;
    if (p->errors == CONFIG_MAX_ERRORS + 1) {
        p->err(p->ctx, line, "too many errors; further problems are not listed");
        return;
    }
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->err(p->ctx, line, msg);
}

/* A value as the user wrote it, for messages: cut short and with control bytes made visible. */
static const char *quote(const char *v, size_t n, char *buf, size_t size) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < size; i++) {
        char c = v[i];
        buf[o++] = ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) ? '?' : c;
    }
    if (n > 0 && o + 4 >= size && o >= 3) {
        buf[o - 3] = buf[o - 2] = buf[o - 1] = '.';
    }
    buf[o] = 0;
    return buf;
}

static bool printable_ascii(const char *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
            return false;
    }
    return true;
}

typedef bool (*setter_fn)(struct parser *p, unsigned line, const char *key, const char *v,
                          size_t n);

static bool set_serial(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    char q[64];
    if (n == 4 && lib_tolower(v[0]) == 'c' && lib_tolower(v[1]) == 'o' &&
        lib_tolower(v[2]) == 'm' && v[3] >= '1' && v[3] <= '4') {
        p->cfg->serial_port = com_ports[v[3] - '1'];
        return true;
    }
    uint64_t port;
    if (!lib_parse_u64(v, n, 16, &port)) {
        problem(p, line, "%s: '%s' is neither com1..com4 nor an I/O port in hex (e.g. 0x2f8)", key,
                quote(v, n, q, sizeof(q)));
        return false;
    }
    /* A 16550 decodes 8 consecutive ports; the base must leave room for them in the 64 KiB
     * I/O space, and port 0 is never a UART. */
    if (port == 0 || port > 0xFFF8) {
        problem(p, line, "%s: I/O port 0x%llx out of range (0x1..0xfff8)", key,
                (unsigned long long)port);
        return false;
    }
    p->cfg->serial_port = (uint16_t)port;
    return true;
}

static bool set_baud(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    char q[64];
    uint64_t baud;
    if (!lib_parse_u64(v, n, 10, &baud)) {
        problem(p, line, "%s: '%s' is not a decimal number", key, quote(v, n, q, sizeof(q)));
        return false;
    }
    /* The 16550 divides a 1.8432 MHz clock by 16 * divisor: only 115200 / N is possible. */
    if (baud == 0 || baud > 115200 || 115200 % baud != 0) {
        problem(p, line, "%s: %llu is not 115200/N for a whole N (e.g. 115200, 57600, 9600)", key,
                (unsigned long long)baud);
        return false;
    }
    p->cfg->baud = (uint32_t)baud;
    return true;
}

static bool set_report(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    char q[64];
    if (n == 4 && lib_strncmp(v, "text", 4) == 0) {
        p->cfg->report = REPORT_TEXT;
        return true;
    }
    if (n == 5 && lib_strncmp(v, "jsonl", 5) == 0) {
        p->cfg->report = REPORT_JSONL;
        return true;
    }
    problem(p, line, "%s: '%s' is not text or jsonl", key, quote(v, n, q, sizeof(q)));
    return false;
}

static bool set_on_no_vmx(struct parser *p, unsigned line, const char *key, const char *v,
                          size_t n) {
    char q[64];
    if (n == 4 && lib_strncmp(v, "boot", 4) == 0) {
        p->cfg->on_no_vmx = ON_NO_VMX_BOOT;
        return true;
    }
    if (n == 4 && lib_strncmp(v, "halt", 4) == 0) {
        p->cfg->on_no_vmx = ON_NO_VMX_HALT;
        return true;
    }
    problem(p, line, "%s: '%s' is not boot or halt", key, quote(v, n, q, sizeof(q)));
    return false;
}

/* A whole number from 0 to max into *out; what says what it is in the problem message. */
static bool set_u32(struct parser *p, unsigned line, const char *key, const char *v, size_t n,
                    uint64_t max, const char *what, uint32_t *out) {
    char q[64];
    uint64_t x;
    if (!lib_parse_u64(v, n, 10, &x) || x > max) {
        problem(p, line, "%s: '%s' is not %s", key, quote(v, n, q, sizeof(q)), what);
        return false;
    }
    *out = (uint32_t)x;
    return true;
}

#define SECONDS_WHAT "a number of seconds from 0 (off) to 86400"

static bool set_heartbeat(struct parser *p, unsigned line, const char *key, const char *v,
                          size_t n) {
    return set_u32(p, line, key, v, n, 86400, SECONDS_WHAT, &p->cfg->heartbeat_s);
}

static bool set_rescan(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    return set_u32(p, line, key, v, n, 86400, SECONDS_WHAT, &p->cfg->rescan_s);
}

static bool set_test_virtualize_cpus(struct parser *p, unsigned line, const char *key,
                                     const char *v, size_t n) {
    return set_u32(p, line, key, v, n, 65536, "a number of processors (0 = all)",
                   &p->cfg->test_virtualize_cpus);
}

static bool set_test_stall_boot_cpu(struct parser *p, unsigned line, const char *key, const char *v,
                                    size_t n) {
    return set_u32(p, line, key, v, n, 86400, SECONDS_WHAT, &p->cfg->test_stall_boot_cpu_s);
}

static bool set_on_off(struct parser *p, unsigned line, const char *key, const char *v, size_t n,
                       bool *out) {
    char q[64];
    if (n == 2 && lib_strncmp(v, "on", 2) == 0) {
        *out = true;
        return true;
    }
    if (n == 3 && lib_strncmp(v, "off", 3) == 0) {
        *out = false;
        return true;
    }
    problem(p, line, "%s: '%s' is not on or off", key, quote(v, n, q, sizeof(q)));
    return false;
}

static bool set_stealth(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    return set_on_off(p, line, key, v, n, &p->cfg->stealth);
}

static bool set_live(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    return set_on_off(p, line, key, v, n, &p->cfg->live);
}

static bool set_on_config_change(struct parser *p, unsigned line, const char *key, const char *v,
                                 size_t n) {
    char q[64];
    if (n == 6 && lib_strncmp(v, "accept", 6) == 0) {
        p->cfg->on_change = ON_CHANGE_ACCEPT;
        return true;
    }
    if (n == 8 && lib_strncmp(v, "previous", 8) == 0) {
        p->cfg->on_change = ON_CHANGE_PREVIOUS;
        return true;
    }
    problem(p, line, "%s: '%s' is not accept or previous", key, quote(v, n, q, sizeof(q)));
    return false;
}

static bool set_apic_handover(struct parser *p, unsigned line, const char *key, const char *v,
                              size_t n) {
    char q[64];
    if (n == 5 && lib_strncmp(v, "xapic", 5) == 0) {
        p->cfg->apic_handover = APIC_HANDOVER_XAPIC;
        return true;
    }
    if (n == 6 && lib_strncmp(v, "x2apic", 6) == 0) {
        p->cfg->apic_handover = APIC_HANDOVER_X2APIC;
        return true;
    }
    problem(p, line, "%s: '%s' is not xapic or x2apic", key, quote(v, n, q, sizeof(q)));
    return false;
}

static bool set_path(struct parser *p, unsigned line, const char *key, const char *v, size_t n,
                     char *d) {
    char q[64];
    if (!printable_ascii(v, n)) {
        problem(p, line, "%s: '%s' has characters other than printable ASCII", key,
                quote(v, n, q, sizeof(q)));
        return false;
    }
    /* UEFI paths are absolute on the volume and use backslashes; accept '/' too. */
    size_t need = n + (n && (v[0] == '\\' || v[0] == '/') ? 0 : 1);
    if (n && need >= CONFIG_PATH_MAX) {
        problem(p, line, "%s: path too long (%zu bytes, limit %d)", key, n, CONFIG_PATH_MAX - 1);
        return false;
    }
    size_t o = 0;
    if (n && v[0] != '\\' && v[0] != '/')
        d[o++] = '\\';
    for (size_t i = 0; i < n; i++)
        d[o++] = v[i] == '/' ? '\\' : v[i];
    d[o] = 0;
    return true;
}

static bool set_next(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    return set_path(p, line, key, v, n, p->cfg->next);
}

static bool set_profile(struct parser *p, unsigned line, const char *key, const char *v, size_t n) {
    return set_path(p, line, key, v, n, p->cfg->profile);
}

static bool set_next_args(struct parser *p, unsigned line, const char *key, const char *v,
                          size_t n) {
    char q[64];
    if (!printable_ascii(v, n)) {
        problem(p, line, "%s: '%s' has characters other than printable ASCII", key,
                quote(v, n, q, sizeof(q)));
        return false;
    }
    if (n >= CONFIG_ARGS_MAX) {
        problem(p, line, "%s: too long (%zu bytes, limit %d)", key, n, CONFIG_ARGS_MAX - 1);
        return false;
    }
    lib_memcpy(p->cfg->next_args, v, n);
    p->cfg->next_args[n] = 0;
    return true;
}

/* Canonical value writers, one per key (config_format_value). */
static void fmt_serial(const struct vigil_config *c, char *b, size_t n) {
    config_serial_name(c->serial_port, b, n);
}
static void fmt_baud(const struct vigil_config *c, char *b, size_t n) {
    fmt_snprintf(b, n, "%u", c->baud);
}
static void fmt_report(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->report == REPORT_JSONL ? "jsonl" : "text", n);
}
static void fmt_next(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->next, n);
}
static void fmt_next_args(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->next_args, n);
}
static void fmt_on_no_vmx(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->on_no_vmx == ON_NO_VMX_HALT ? "halt" : "boot", n);
}
static void fmt_heartbeat(const struct vigil_config *c, char *b, size_t n) {
    fmt_snprintf(b, n, "%u", c->heartbeat_s);
}
static void fmt_stealth(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->stealth ? "on" : "off", n);
}
static void fmt_profile(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->profile, n);
}
static void fmt_rescan(const struct vigil_config *c, char *b, size_t n) {
    fmt_snprintf(b, n, "%u", c->rescan_s);
}
static void fmt_live(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->live ? "on" : "off", n);
}
static void fmt_on_change(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->on_change == ON_CHANGE_PREVIOUS ? "previous" : "accept", n);
}
static void fmt_apic_handover(const struct vigil_config *c, char *b, size_t n) {
    lib_strlcpy(b, c->apic_handover == APIC_HANDOVER_X2APIC ? "x2apic" : "xapic", n);
}

static void fmt_test_virtualize_cpus(const struct vigil_config *c, char *b, size_t n) {
    fmt_snprintf(b, n, "%u", c->test_virtualize_cpus);
}
static void fmt_test_stall_boot_cpu(const struct vigil_config *c, char *b, size_t n) {
    fmt_snprintf(b, n, "%u", c->test_stall_boot_cpu_s);
}

typedef void (*format_fn)(const struct vigil_config *c, char *buf, size_t size);

static const struct {
    const char *key;
    setter_fn set;
    format_fn format;
    bool empty_ok;
} keys[] = {
    {"serial", set_serial, fmt_serial, false},
    {"baud", set_baud, fmt_baud, false},
    {"report", set_report, fmt_report, false},
    {"next", set_next, fmt_next, true},
    {"next_args", set_next_args, fmt_next_args, true},
    {"on_no_vmx", set_on_no_vmx, fmt_on_no_vmx, false},
    {"heartbeat", set_heartbeat, fmt_heartbeat, false},
    {"stealth", set_stealth, fmt_stealth, false},
    {"profile", set_profile, fmt_profile, true},
    {"rescan", set_rescan, fmt_rescan, false},
    {"live", set_live, fmt_live, false},
    {"on_config_change", set_on_config_change, fmt_on_change, false},
    {"apic_handover", set_apic_handover, fmt_apic_handover, false},
    {"test_virtualize_cpus", set_test_virtualize_cpus, fmt_test_virtualize_cpus, false},
    {"test_stall_boot_cpu", set_test_stall_boot_cpu, fmt_test_stall_boot_cpu, false},
};

unsigned config_key_count(void) {
    return ARRAY_SIZE(keys);
}

const char *config_key_name(unsigned i) {
    return i < ARRAY_SIZE(keys) ? keys[i].key : NULL;
}

const char *config_format_value(const struct vigil_config *cfg, unsigned i, char *buf,
                                size_t size) {
    if (size == 0)
        return buf;
    buf[0] = 0;
    if (i < ARRAY_SIZE(keys))
        keys[i].format(cfg, buf, size);
    return buf;
}

static void parse_line(struct parser *p, unsigned line, const char *s, size_t n) {
    char q[64];
    while (n && lib_isspace(s[0])) {
        s++;
        n--;
    }
    while (n && lib_isspace(s[n - 1]))
        n--;
    if (n == 0 || s[0] == '#')
        return;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0) {
            problem(p, line, "line contains a NUL byte; ignored");
            return;
        }
    }
    if (n > CONFIG_LINE_MAX) {
        problem(p, line, "line too long (%zu bytes, limit %d); ignored", n, CONFIG_LINE_MAX);
        return;
    }
    size_t eq = 0;
    while (eq < n && s[eq] != '=')
        eq++;
    if (eq == n) {
        problem(p, line, "'%s' is not of the form key = value", quote(s, n, q, sizeof(q)));
        return;
    }
    size_t klen = eq;
    while (klen && lib_isspace(s[klen - 1]))
        klen--;
    const char *v = s + eq + 1;
    size_t vlen = n - eq - 1;
    while (vlen && lib_isspace(v[0])) {
        v++;
        vlen--;
    }
    if (klen == 0) {
        problem(p, line, "missing key before '='");
        return;
    }
    /* Optional double quotes around a value: `next_args = "a b"`. */
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
        v++;
        vlen -= 2;
    }
    char key[24];
    if (klen >= sizeof(key)) {
        problem(p, line, "unknown key '%s'", quote(s, klen, q, sizeof(q)));
        return;
    }
    for (size_t i = 0; i < klen; i++)
        key[i] = lib_tolower(s[i]);
    key[klen] = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
        if (!lib_streq(keys[i].key, key))
            continue;
        if (vlen == 0 && !keys[i].empty_ok) {
            problem(p, line, "%s: empty value", key);
            return;
        }
        keys[i].set(p, line, key, v, vlen);
        return;
    }
    problem(p, line,
            "unknown key '%s' (known: serial, baud, report, next, next_args, on_no_vmx, "
            "heartbeat, stealth, profile, rescan, live, on_config_change, "
            "apic_handover, test_virtualize_cpus, test_stall_boot_cpu)",
            quote(s, klen, q, sizeof(q)));
}

unsigned config_parse(struct vigil_config *cfg, const char *text, size_t len, config_error_fn err,
                      void *ctx) {
    struct parser p = {cfg, err, ctx, 0};
    if (len >= 2 && (((unsigned char)text[0] == 0xFF && (unsigned char)text[1] == 0xFE) ||
                     ((unsigned char)text[0] == 0xFE && (unsigned char)text[1] == 0xFF))) {
        problem(&p, 0, "config file is UTF-16; save it as ASCII or UTF-8. Defaults used");
        return p.errors;
    }
    if (len > CONFIG_FILE_MAX) {
        problem(&p, 0, "config file too large (%zu bytes, limit %d); defaults used", len,
                CONFIG_FILE_MAX);
        return p.errors;
    }
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    unsigned line = 1;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i > start || i < len)
                parse_line(&p, line, text + start, i - start);
            line++;
            start = i + 1;
        }
    }
    return p.errors;
}
