#include "report.h"

#include "fmt.h"
#include "lib.h"

void report_init(struct report *r, enum report_mode mode, report_sink_fn sink, void *ctx) {
    lib_memset(r, 0, sizeof(*r));
    r->mode = mode;
    r->sink = sink;
    r->sink_ctx = ctx;
}

void report_flush(struct report *r) {
    if (r->len && r->sink)
        r->sink(r->sink_ctx, r->buf, r->len);
    r->len = 0;
}

void report_write(struct report *r, const char *s, size_t n) {
    while (n) {
        if (r->len == sizeof(r->buf))
            report_flush(r);
        size_t room = sizeof(r->buf) - r->len;
        size_t k = n < room ? n : room;
        lib_memcpy(r->buf + r->len, s, k);
        r->len += k;
        s += k;
        n -= k;
    }
}

static void put_c(struct report *r, char c) {
    report_write(r, &c, 1);
}

static void put_s(struct report *r, const char *s) {
    report_write(r, s, lib_strlen(s));
}

void report_textf(struct report *r, const char *fmt, ...) {
    char line[REPORT_BUF];
    va_list ap;
    va_start(ap, fmt);
    size_t n = fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    put_s(r, "vigil: ");
    /* Text lines are one line each: a newline or control byte inside a value (a hostile guest
     * string, say) must not start a line that looks like another report. */
    for (size_t i = 0; i < n; i++) {
        char c = line[i];
        put_c(r, ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c);
    }
    put_c(r, '\n');
    report_flush(r);
}

/* JSON string escaping (RFC 8259 section 7). Bytes >= 0x80 that do not form valid UTF-8 are
 * written as \u00XX of the byte so that every line stays valid JSON whatever the input. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    uint32_t cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void put_json_string(struct report *r, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    put_c(r, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            put_c(r, '\\');
            put_c(r, (char)c);
            i++;
        } else if (c == '\n') {
            put_s(r, "\\n");
            i++;
        } else if (c == '\r') {
            put_s(r, "\\r");
            i++;
        } else if (c == '\t') {
            put_s(r, "\\t");
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            report_write(r, esc, 6);
            i++;
        } else if (c < 0x80) {
            put_c(r, (char)c);
            i++;
        } else {
            size_t len = utf8_seq_len(u + i, n - i);
            if (len) {
                report_write(r, s + i, len);
                i += len;
            } else {
                /* Not UTF-8: keep the byte visible as U+0080..U+00FF (Latin-1 reading). */
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                report_write(r, esc, 6);
                i++;
            }
        }
    }
    put_c(r, '"');
}

static bool put_key(struct report *r, const char *key) {
    if (r->skip)
        return false;
    int d = r->depth;
    if (d > 0 && d < REPORT_MAX_DEPTH) {
        if (r->need_comma[d])
            put_c(r, ',');
        r->need_comma[d] = true;
    }
    if (key) {
        put_json_string(r, key, lib_strlen(key));
        put_c(r, ':');
    }
    return true;
}

void report_begin(struct report *r, const char *ev) {
    r->depth = 1;
    r->skip = 0;
    r->need_comma[1] = false;
    r->closer[1] = '}';
    put_c(r, '{');
    report_str(r, "ev", ev);
}

void report_strn(struct report *r, const char *key, const char *s, size_t n) {
    if (put_key(r, key))
        put_json_string(r, s, n);
}

void report_str(struct report *r, const char *key, const char *s) {
    if (!s) {
        report_null(r, key);
        return;
    }
    report_strn(r, key, s, lib_strlen(s));
}

void report_u64(struct report *r, const char *key, uint64_t v) {
    char num[24];
    fmt_snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    if (put_key(r, key))
        put_s(r, num);
}

void report_i64(struct report *r, const char *key, int64_t v) {
    char num[24];
    fmt_snprintf(num, sizeof(num), "%lld", (long long)v);
    if (put_key(r, key))
        put_s(r, num);
}

void report_bool(struct report *r, const char *key, bool v) {
    if (put_key(r, key))
        put_s(r, v ? "true" : "false");
}

void report_hex(struct report *r, const char *key, uint64_t v) {
    char num[24];
    fmt_snprintf(num, sizeof(num), "\"0x%llx\"", (unsigned long long)v);
    if (put_key(r, key))
        put_s(r, num);
}

void report_null(struct report *r, const char *key) {
    if (put_key(r, key))
        put_s(r, "null");
}

/* Nesting deeper than REPORT_MAX_DEPTH is a programming error; the extra levels and their
 * contents are left out so the line stays valid JSON. */
static void open_level(struct report *r, const char *key, char open, char close) {
    if (r->skip || r->depth + 1 >= REPORT_MAX_DEPTH) {
        r->skip++;
        return;
    }
    put_key(r, key);
    put_c(r, open);
    r->depth++;
    r->need_comma[r->depth] = false;
    r->closer[r->depth] = close;
}

static void close_level(struct report *r) {
    if (r->skip) {
        r->skip--;
        return;
    }
    if (r->depth > 1) {
        put_c(r, r->closer[r->depth]);
        r->depth--;
    }
}

void report_obj_begin(struct report *r, const char *key) {
    open_level(r, key, '{', '}');
}
void report_obj_end(struct report *r) {
    close_level(r);
}
void report_arr_begin(struct report *r, const char *key) {
    open_level(r, key, '[', ']');
}
void report_arr_end(struct report *r) {
    close_level(r);
}

void report_end(struct report *r) {
    r->skip = 0;
    while (r->depth > 1)
        close_level(r);
    put_c(r, '}');
    put_c(r, '\n');
    r->depth = 0;
    report_flush(r);
}
