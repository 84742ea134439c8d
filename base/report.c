#include "base/report.h"

#include "base/fmt.h"
#include "base/lib.h"

void report_init(struct report *r, enum report_mode mode, report_sink_fn sink, void *ctx) {
    lib_memset(r, 0, sizeof(*r));
    r->mode = mode;
    r->sink = sink;
    r->sink_ctx = ctx;
    r->buf = r->own;
    r->cap = sizeof(r->own);
}

bool report_init_lines(struct report *r, enum report_mode mode, char *buf, size_t cap,
                       report_sink_fn sink, void *ctx) {
    report_init(r, mode, sink, ctx);
    r->lines = true;
    if (!buf || cap < REPORT_LINE_MIN) {
        r->buf = NULL;
        r->cap = 0; /* no room at all: every line is cut to nothing and never delivered */
        return false;
    }
    r->buf = buf;
    r->cap = cap;
    return true;
}

void report_flush(struct report *r) {
    if (r->lines)
        return;
    if (r->len > r->cap) /* cannot happen with one writer per buffer; never read past it */
        r->len = r->cap;
    if (r->len && r->sink)
        r->sink(r->sink_ctx, r->buf, r->len);
    r->len = 0;
}

static void stream_write(struct report *r, const char *s, size_t n) {
    while (n) {
        if (r->len >= r->cap)
            report_flush(r);
        size_t room = r->cap - r->len;
        size_t k = n < room ? n : room;
        lib_memcpy(r->buf + r->len, s, k);
        r->len += k;
        s += k;
        n -= k;
    }
}

/* Line mode: bytes the current line may still take. The reserve at the end of the buffer is only
 * for closing a line: one byte for its '\n', and in JSON mode room for report_end's closers. */
static size_t line_room(const struct report *r) {
    size_t reserve = (r->closing || r->mode != REPORT_JSONL) ? 1 : REPORT_LINE_RESERVE;
    return r->len + reserve >= r->cap ? 0 : r->cap - reserve - r->len;
}

/* Line mode: the line is complete ('\n' stored or, without a buffer, dropped): hand it over. */
static void line_done(struct report *r) {
    if (r->len && r->sink)
        r->sink(r->sink_ctx, r->buf, r->len);
    r->len = 0;
    r->cut = false;
}

static void line_write(struct report *r, const char *s, size_t n) {
    while (n) {
        size_t k = 0;
        while (k < n && s[k] != '\n')
            k++;
        size_t room = line_room(r);
        size_t take = k < room ? k : room;
        if (take < k)
            r->cut = true;
        if (take) {
            lib_memcpy(r->buf + r->len, s, take);
            r->len += take;
        }
        if (k == n)
            return;
        if (r->len < r->cap) /* the reserve keeps a byte for the '\n' */
            r->buf[r->len++] = '\n';
        line_done(r);
        s += k + 1;
        n -= k + 1;
    }
}

void report_write(struct report *r, const char *s, size_t n) {
    if (r->lines)
        line_write(r, s, n);
    else
        stream_write(r, s, n);
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

/* Text rendering of a string (a key or a value): as it is when it is one word that cannot be
 * mistaken for the text syntax, else in double quotes with '"' and '\\' escaped. Control bytes
 * become '?', so a hostile guest string cannot start a line that looks like another report. */
static bool text_bare(const char *s, size_t n) {
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '=' || c == '{' || c == '}' ||
            c == '[' || c == ']')
            return false;
    }
    return true;
}

static void put_text_string(struct report *r, const char *s, size_t n) {
    if (text_bare(s, n)) {
        report_write(r, s, n);
        return;
    }
    put_c(r, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put_c(r, '\\');
            put_c(r, (char)c);
        } else {
            put_c(r, (c < 0x20 || c == 0x7f) ? '?' : (char)c);
        }
    }
    put_c(r, '"');
}

static void put_string(struct report *r, const char *s, size_t n) {
    if (r->mode == REPORT_JSONL)
        put_json_string(r, s, n);
    else
        put_text_string(r, s, n);
}

/* One JSON element (a key and its value, or a level opened) is kept whole or left out: in line
 * mode, an element that does not fit is taken back and every later one of the event is
 * swallowed; report_end then closes the line as valid JSON with "truncated":true. */
struct mark {
    size_t len;
    int depth, skip;
    bool need_comma;
};

static bool elem_begin(struct report *r, struct mark *m) {
    if (r->truncated)
        return false;
    m->len = r->len;
    m->depth = r->depth;
    m->skip = r->skip;
    m->need_comma = r->depth > 0 && r->depth < REPORT_MAX_DEPTH && r->need_comma[r->depth];
    return true;
}

/* Returns false when the element was taken back. */
static bool elem_end(struct report *r, const struct mark *m) {
    if (r->mode != REPORT_JSONL || !r->cut)
        return true; /* a text line that does not fit loses its end instead */
    r->len = m->len;
    r->depth = m->depth;
    r->skip = m->skip;
    if (m->depth > 0 && m->depth < REPORT_MAX_DEPTH)
        r->need_comma[m->depth] = m->need_comma;
    r->cut = false;
    r->truncated = true;
    return false;
}

static bool put_key(struct report *r, const char *key) {
    if (r->skip)
        return false;
    int d = r->depth;
    if (d > 0 && d < REPORT_MAX_DEPTH) {
        if (r->need_comma[d])
            put_c(r, r->mode == REPORT_JSONL ? ',' : ' ');
        r->need_comma[d] = true;
    }
    if (key) {
        put_string(r, key, lib_strlen(key));
        put_c(r, r->mode == REPORT_JSONL ? ':' : '=');
    }
    return true;
}

void report_begin(struct report *r, const char *ev) {
    r->depth = 1;
    r->skip = 0;
    r->truncated = false;
    r->need_comma[1] = false;
    r->closer[1] = '}';
    if (r->mode == REPORT_JSONL) {
        put_c(r, '{');
        report_str(r, "ev", ev);
        return;
    }
    put_s(r, "vigil: ");
    put_text_string(r, ev ? ev : "", ev ? lib_strlen(ev) : 0);
    r->need_comma[1] = true; /* the fields follow the name, each after a space */
}

void report_strn(struct report *r, const char *key, const char *s, size_t n) {
    struct mark m;
    if (!elem_begin(r, &m))
        return;
    if (put_key(r, key))
        put_string(r, s, n);
    elem_end(r, &m);
}

void report_str(struct report *r, const char *key, const char *s) {
    if (!s) {
        report_null(r, key);
        return;
    }
    report_strn(r, key, s, lib_strlen(s));
}

/* A key and an unescaped value (a number, a literal). */
static void put_plain(struct report *r, const char *key, const char *v) {
    struct mark m;
    if (!elem_begin(r, &m))
        return;
    if (put_key(r, key))
        put_s(r, v);
    elem_end(r, &m);
}

void report_u64(struct report *r, const char *key, uint64_t v) {
    char num[24];
    fmt_snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    put_plain(r, key, num);
}

void report_i64(struct report *r, const char *key, int64_t v) {
    char num[24];
    fmt_snprintf(num, sizeof(num), "%lld", (long long)v);
    put_plain(r, key, num);
}

void report_bool(struct report *r, const char *key, bool v) {
    put_plain(r, key, v ? "true" : "false");
}

void report_hex(struct report *r, const char *key, uint64_t v) {
    char num[24];
    fmt_snprintf(num, sizeof(num), r->mode == REPORT_JSONL ? "\"0x%llx\"" : "0x%llx",
                 (unsigned long long)v);
    put_plain(r, key, num);
}

void report_null(struct report *r, const char *key) {
    put_plain(r, key, "null");
}

/* Nesting deeper than REPORT_MAX_DEPTH is a programming error; the extra levels and their
 * contents are left out so the line stays valid JSON. A level opened after a cut, or whose
 * opening was taken back, is swallowed the same way, so its close matches. */
static void open_level(struct report *r, const char *key, char open, char close) {
    struct mark m;
    if (!elem_begin(r, &m) || r->skip || r->depth + 1 >= REPORT_MAX_DEPTH) {
        r->skip++;
        return;
    }
    put_key(r, key);
    put_c(r, open);
    r->depth++;
    r->need_comma[r->depth] = false;
    r->closer[r->depth] = close;
    if (!elem_end(r, &m))
        r->skip++;
}

static void close_level(struct report *r) {
    if (r->skip) {
        r->skip--;
        return;
    }
    if (r->depth > 1) {
        /* A closer always fits: the line buffer's reserve holds one per open level. */
        bool was = r->closing;
        r->closing = true;
        put_c(r, r->closer[r->depth]);
        r->closing = was;
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
    r->closing = true; /* the closers below may use the line buffer's reserve */
    while (r->depth > 1)
        close_level(r);
    if (r->truncated) {
        r->depth = 1;
        put_key(r, "truncated");
        put_s(r, "true");
    }
    if (r->mode == REPORT_JSONL)
        put_c(r, '}');
    put_c(r, '\n');
    r->closing = false;
    r->truncated = false;
    r->depth = 0;
    report_flush(r);
}
