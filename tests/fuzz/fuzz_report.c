/* libFuzzer target for the report writer (base/report.c), the format of everything vigil tells:
 * random sequences of writer calls with random binary strings, in JSON and text mode, written at
 * once to a stream-mode writer (lines of any length) and to a line-mode writer over a line buffer
 * of random size (the hypervisor's writers, hv/core/hv_report.c: lines that do not fit are cut).
 *
 * Every line is parsed by a strict JSON reader written here (RFC 8259, plus what the writer
 * promises: no whitespace, integers only, \u escapes only of bytes, raw bytes >= 0x80 only as
 * well-formed UTF-8) into tokens; string tokens are decoded back to bytes (\u00XX is the byte XX,
 * README's schema section) and the token stream is compared with the one the calls describe:
 *  - stream mode: exactly the calls' tokens, one line per event;
 *  - line mode: the same line when it fits (and it must fit when the whole line is at least
 *    REPORT_LINE_RESERVE bytes shorter than the buffer); otherwise the calls' tokens up to an
 *    element boundary, the closers of the levels open there and "truncated":true, within the
 *    buffer; each line handed to the sink whole, in one call, '\n' last;
 *  - levels deeper than REPORT_MAX_DEPTH are left out with everything in them;
 *  - text mode: "vigil: " + the formatted text (compared with the C library's snprintf), control
 *    bytes replaced by '?', one line, cut to the buffer in line mode. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/report.h"

/* --- input ----------------------------------------------------------------------------------- */

struct input {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct input *in) {
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t take_n(struct input *in, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)take(in) << (8 * i);
    return v;
}

/* A run of input bytes; len 0..255 (sometimes longer, to cross the 512-byte stream buffer). */
static const uint8_t *take_bytes(struct input *in, size_t *len) {
    size_t want = take(in);
    if (want == 0xFF)
        want = take_n(in, 2) % 3000;
    if (want > in->n)
        want = in->n;
    const uint8_t *s = in->p;
    in->p += want;
    in->n -= want;
    *len = want;
    return s;
}

/* --- tokens ---------------------------------------------------------------------------------- */

enum tok_type { T_OPEN_OBJ, T_OPEN_ARR, T_CLOSE, T_KEY, T_STR, T_NUM, T_LIT };

struct tok {
    uint8_t type;
    bool elem_start; /* the calls' tokens: an element (key + value, or a level) starts here */
    size_t off, len; /* bytes in the token list's byte store */
};

struct toks {
    struct tok *t;
    size_t n, cap;
    uint8_t *bytes;
    size_t nbytes, bytes_cap;
};

static void toks_reset(struct toks *l) {
    l->n = 0;
    l->nbytes = 0;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    p = realloc(p, c * elem);
    if (!p)
        abort();
    *cap = c;
    return p;
}

static void tok_add(struct toks *l, enum tok_type type, bool elem_start, const void *b, size_t n) {
    l->t = grow(l->t, &l->cap, l->n + 1, sizeof(*l->t));
    l->bytes = grow(l->bytes, &l->bytes_cap, l->nbytes + n + 1, 1);
    if (n)
        memcpy(l->bytes + l->nbytes, b, n);
    l->t[l->n++] = (struct tok){(uint8_t)type, elem_start, l->nbytes, n};
    l->nbytes += n;
}

/* Appends one byte to the last token (the reader decodes strings byte by byte). */
static void tok_put(struct toks *l, uint8_t c) {
    l->bytes = grow(l->bytes, &l->bytes_cap, l->nbytes + 1, 1);
    l->bytes[l->nbytes++] = c;
    l->t[l->n - 1].len++;
}

static bool tok_equal(const struct toks *a, size_t i, const struct toks *b, size_t j) {
    const struct tok *x = &a->t[i], *y = &b->t[j];
    return x->type == y->type && x->len == y->len &&
           (!x->len || !memcmp(a->bytes + x->off, b->bytes + y->off, x->len));
}

static bool tok_is(const struct toks *l, size_t i, enum tok_type type, const char *s) {
    const struct tok *x = &l->t[i];
    return x->type == type && x->len == strlen(s) && !memcmp(l->bytes + x->off, s, x->len);
}

/* --- the strict reader ----------------------------------------------------------------------- */

struct reader {
    const uint8_t *s;
    size_t n, i;
    struct toks *out;
};

static int peek(const struct reader *r) {
    return r->i < r->n ? r->s[r->i] : -1;
}

static bool eat(struct reader *r, char c) {
    if (peek(r) != (unsigned char)c)
        return false;
    r->i++;
    return true;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF): its length, 0 otherwise. Written from the RFC's table, not from the writer. */
static size_t utf8_len(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c == 0xE0) {
        len = 3;
        lo = 0xA0;
    } else if (c == 0xED) {
        len = 3;
        hi = 0x9F;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        len = 3;
    } else if (c == 0xF0) {
        len = 4;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        len = 4;
    } else if (c == 0xF4) {
        len = 4;
        hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

static bool read_string(struct reader *r, enum tok_type type) {
    if (!eat(r, '"'))
        return false;
    tok_add(r->out, type, false, NULL, 0);
    for (;;) {
        int c = peek(r);
        if (c < 0 || c < 0x20)
            return false; /* unterminated, or a raw control byte */
        if (c == '"') {
            r->i++;
            return true;
        }
        if (c == '\\') {
            r->i++;
            int e = peek(r);
            r->i++;
            static const char esc_in[] = "\"\\/nrtbf", esc_out[] = "\"\\/\n\r\t\b\f";
            const char *k = e > 0 ? strchr(esc_in, e) : NULL;
            if (k) {
                tok_put(r->out, (uint8_t)esc_out[k - esc_in]);
                continue;
            }
            if (e != 'u' || r->i + 4 > r->n)
                return false;
            int v = 0;
            for (int j = 0; j < 4; j++) {
                int h = hexval(r->s[r->i + j]);
                if (h < 0)
                    return false;
                v = v * 16 + h;
            }
            r->i += 4;
            /* The writer escapes single bytes only (controls, DEL, bytes that are not UTF-8). */
            if (v > 0xFF)
                return false;
            tok_put(r->out, (uint8_t)v);
            continue;
        }
        size_t len = utf8_len(r->s + r->i, r->n - r->i);
        if (!len)
            return false;
        for (size_t j = 0; j < len; j++)
            tok_put(r->out, r->s[r->i + j]);
        r->i += len;
    }
}

static bool read_value(struct reader *r, int depth);

static bool read_number(struct reader *r) {
    size_t start = r->i;
    eat(r, '-');
    int c = peek(r);
    if (c == '0') {
        r->i++;
    } else if (c >= '1' && c <= '9') {
        while (peek(r) >= '0' && peek(r) <= '9')
            r->i++;
    } else {
        return false;
    }
    tok_add(r->out, T_NUM, false, r->s + start, r->i - start);
    return true;
}

static bool read_literal(struct reader *r) {
    static const char *lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t l = strlen(lits[k]);
        if (r->i + l <= r->n && !memcmp(r->s + r->i, lits[k], l)) {
            tok_add(r->out, T_LIT, false, lits[k], l);
            r->i += l;
            return true;
        }
    }
    return false;
}

static bool read_container(struct reader *r, int depth, bool obj) {
    if (depth > 64)
        return false;
    r->i++;
    tok_add(r->out, obj ? T_OPEN_OBJ : T_OPEN_ARR, false, NULL, 0);
    char close = obj ? '}' : ']';
    if (!eat(r, close)) {
        do {
            if (obj && !(read_string(r, T_KEY) && eat(r, ':')))
                return false;
            if (!read_value(r, depth + 1))
                return false;
        } while (eat(r, ','));
        if (!eat(r, close))
            return false;
    }
    tok_add(r->out, T_CLOSE, false, NULL, 0);
    return true;
}

static bool read_value(struct reader *r, int depth) {
    int c = peek(r);
    if (c == '{' || c == '[')
        return read_container(r, depth, c == '{');
    if (c == '"')
        return read_string(r, T_STR);
    if (c == '-' || (c >= '0' && c <= '9'))
        return read_number(r);
    return read_literal(r);
}

/* One line, '\n' included: exactly one JSON object and its newline. */
static bool read_line(const uint8_t *s, size_t n, struct toks *out) {
    struct reader r = {s, n, 0, out};
    toks_reset(out);
    return peek(&r) == '{' && read_value(&r, 0) && r.i + 1 == n && s[r.i] == '\n';
}

/* --- the calls' model ------------------------------------------------------------------------ */

/* What the calls describe, by the header's rules: levels beyond REPORT_MAX_DEPTH (and all they
 * hold) left out; a close with nothing open ignored; report_end closes everything. */
struct model {
    struct toks toks;
    int depth;     /* 1 inside the event object */
    int skip;      /* levels left out */
    bool obj[512]; /* per level (the left-out ones too): an object (keys) or an array */
    int levels;    /* every level opened, left out or not (at most one per call) */
};

static void model_begin(struct model *m, const char *ev) {
    toks_reset(&m->toks);
    m->depth = 1;
    m->skip = 0;
    m->levels = 1;
    m->obj[1] = true;
    tok_add(&m->toks, T_OPEN_OBJ, false, NULL, 0);
    tok_add(&m->toks, T_KEY, true, "ev", 2);
    if (ev)
        tok_add(&m->toks, T_STR, false, ev, strlen(ev));
    else
        tok_add(&m->toks, T_LIT, false, "null", 4);
}

static void model_key(struct model *m, const char *key) {
    if (key)
        tok_add(&m->toks, T_KEY, true, key, strlen(key));
}

static void model_value(struct model *m, const char *key, enum tok_type type, const void *b,
                        size_t n) {
    if (m->skip)
        return;
    model_key(m, key);
    tok_add(&m->toks, type, !key, b, n);
}

static void model_open(struct model *m, const char *key, bool obj) {
    m->obj[++m->levels] = obj;
    if (m->skip || m->depth + 1 >= REPORT_MAX_DEPTH) {
        m->skip++;
        return;
    }
    model_key(m, key);
    tok_add(&m->toks, obj ? T_OPEN_OBJ : T_OPEN_ARR, !key, NULL, 0);
    m->depth++;
}

static void model_close(struct model *m) {
    if (m->levels > 1)
        m->levels--;
    if (m->skip) {
        m->skip--;
        return;
    }
    if (m->depth > 1) {
        tok_add(&m->toks, T_CLOSE, false, NULL, 0);
        m->depth--;
    }
}

static void model_end(struct model *m) {
    while (m->depth > 1)
        model_close(m);
    tok_add(&m->toks, T_CLOSE, false, NULL, 0);
}

/* --- the writers ----------------------------------------------------------------------------- */

struct capture {
    uint8_t *b;
    size_t n, cap;
    unsigned calls;
    bool line_mode;
};

static void sink(void *ctx, const char *d, size_t n) {
    struct capture *c = ctx;
    c->calls++;
    if (c->line_mode) {
        /* A whole line per call: one '\n', at the end. */
        if (!n || d[n - 1] != '\n' || memchr(d, '\n', n - 1))
            abort();
    }
    c->b = grow(c->b, &c->cap, c->n + n, 1);
    memcpy(c->b + c->n, d, n);
    c->n += n;
}

static struct toks got;
static struct model model;
static struct capture stream_out, line_out;

/* Checks the JSON line of one event: the stream writer's against the model, the line writer's
 * against the stream writer's and the model. */
static void check_event(const char *ev_fixed, size_t line_cap, bool lines_ok) {
    const struct toks *want = &model.toks;
    /* Stream mode: exactly the calls. */
    if (!read_line(stream_out.b, stream_out.n, &got) || got.n != want->n)
        abort();
    for (size_t i = 0; i < got.n; i++)
        if (!tok_equal(&got, i, want, i))
            abort();
    if (!lines_ok) {
        if (line_out.calls || line_out.n)
            abort(); /* a refused line buffer never writes */
        return;
    }
    if (line_out.n > line_cap)
        abort();
    if (line_out.n == stream_out.n && !memcmp(line_out.b, stream_out.b, stream_out.n))
        return; /* whole */
    /* Cut: it had to be. */
    if (stream_out.n + REPORT_LINE_RESERVE <= line_cap)
        abort();
    if (!read_line(line_out.b, line_out.n, &got))
        abort();
    size_t l = 0;
    while (l < got.n && l < want->n && tok_equal(&got, l, want, l))
        l++;
    /* Cut at an element boundary: never inside a key/value pair. */
    if (l >= want->n || !(want->t[l].elem_start || want->t[l].type == T_CLOSE))
        abort();
    int open = 0;
    for (size_t i = 0; i < l; i++)
        open += want->t[i].type == T_OPEN_OBJ || want->t[i].type == T_OPEN_ARR ? 1
                : want->t[i].type == T_CLOSE                                   ? -1
                                                                               : 0;
    /* Then the closers of the levels open there, "truncated":true in the event object, '}'. */
    if (open < 1 || got.n != l + (size_t)(open - 1) + 3)
        abort();
    for (int k = 0; k < open - 1; k++)
        if (got.t[l + (size_t)k].type != T_CLOSE)
            abort();
    size_t at = l + (size_t)(open - 1);
    if (!tok_is(&got, at, T_KEY, "truncated") || !tok_is(&got, at + 1, T_LIT, "true") ||
        got.t[at + 2].type != T_CLOSE)
        abort();
    /* The event's name is short and always kept (buffers are at least REPORT_LINE_MIN). */
    if (ev_fixed && !(tok_is(&got, 1, T_KEY, "ev") && tok_is(&got, 2, T_STR, ev_fixed)))
        abort();
}

/* A key from the input: a short C string, never "truncated" (the writer's own key). */
static const char *take_key(struct input *in, char *buf) {
    static const char *keys[] = {"gpa", "rip", "insn", "cpu", "comm", "ranges", ""};
    unsigned sel = take(in);
    if (sel < 0xC0)
        return keys[sel % 7];
    size_t n = sel % 13, i = 0;
    for (; i < n; i++) {
        buf[i] = (char)take(in);
        if (!buf[i])
            break;
    }
    buf[i] = 0;
    if (!strcmp(buf, "truncated"))
        buf[0] = 'T';
    return buf;
}

static void write_event(struct input *in, struct report *w[2], size_t line_cap, bool lines_ok) {
    static const char *evs[] = {"start", "hv_access", "proc_start", "rescan", "x"};
    char evbuf[16];
    unsigned sel = take(in);
    const char *ev = evs[sel % 5], *ev_fixed = ev;
    if (sel >= 0xF0) {
        ev_fixed = NULL;
        ev = sel == 0xFF ? NULL : take_key(in, evbuf);
    }
    stream_out.n = line_out.n = 0;
    stream_out.calls = line_out.calls = 0;
    for (int k = 0; k < 2; k++)
        report_begin(w[k], ev);
    model_begin(&model, ev);
    for (unsigned ops = 0; in->n && ops < 400; ops++) {
        unsigned op = take(in);
        if (op % 16 == 15)
            break;
        char keybuf[16];
        const char *key = model.obj[model.levels] ? take_key(in, keybuf) : NULL;
        char num[32];
        switch (op % 16) {
        case 0:
        case 1: { /* a C string (up to its NUL), or NULL: null */
            size_t n;
            const uint8_t *b = take_bytes(in, &n);
            char *s = malloc(n + 1);
            memcpy(s, b, n);
            s[n] = 0;
            bool null = op >= 0xF0;
            for (int k = 0; k < 2; k++)
                report_str(w[k], key, null ? NULL : s);
            if (null)
                model_value(&model, key, T_LIT, "null", 4);
            else
                model_value(&model, key, T_STR, s, strlen(s));
            free(s);
            break;
        }
        case 2:
        case 3: { /* binary, NULs included; the bytes are an exact heap block */
            size_t n;
            const uint8_t *b = take_bytes(in, &n);
            char *s = malloc(n ? n : 1);
            memcpy(s, b, n);
            for (int k = 0; k < 2; k++)
                report_strn(w[k], key, s, n);
            model_value(&model, key, T_STR, s, n);
            free(s);
            break;
        }
        case 4: {
            uint64_t v = take_n(in, 8);
            for (int k = 0; k < 2; k++)
                report_u64(w[k], key, v);
            snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
            model_value(&model, key, T_NUM, num, strlen(num));
            break;
        }
        case 5: {
            int64_t v = (int64_t)take_n(in, 8);
            for (int k = 0; k < 2; k++)
                report_i64(w[k], key, v);
            snprintf(num, sizeof(num), "%lld", (long long)v);
            model_value(&model, key, T_NUM, num, strlen(num));
            break;
        }
        case 6: {
            bool v = take(in) & 1;
            for (int k = 0; k < 2; k++)
                report_bool(w[k], key, v);
            model_value(&model, key, T_LIT, v ? "true" : "false", v ? 4 : 5);
            break;
        }
        case 7: {
            uint64_t v = take_n(in, 8);
            for (int k = 0; k < 2; k++)
                report_hex(w[k], key, v);
            snprintf(num, sizeof(num), "0x%llx", (unsigned long long)v);
            model_value(&model, key, T_STR, num, strlen(num));
            break;
        }
        case 8:
            for (int k = 0; k < 2; k++)
                report_null(w[k], key);
            model_value(&model, key, T_LIT, "null", 4);
            break;
        case 9:
        case 10:
            for (int k = 0; k < 2; k++)
                report_obj_begin(w[k], key);
            model_open(&model, key, true);
            break;
        case 11:
        case 12:
            for (int k = 0; k < 2; k++)
                report_arr_begin(w[k], key);
            model_open(&model, key, false);
            break;
        default: /* the closer of the level (either call closes it with its own bracket) */
            for (int k = 0; k < 2; k++) {
                if (op & 0x10)
                    report_arr_end(w[k]);
                else
                    report_obj_end(w[k]);
            }
            model_close(&model);
            break;
        }
    }
    for (int k = 0; k < 2; k++)
        report_end(w[k]);
    model_end(&model);
    check_event(ev_fixed, line_cap, lines_ok);
}

/* Text mode: one "vigil: " line per call, whatever the values hold. */
static void write_text(struct input *in, struct report *w[2], size_t line_cap, bool lines_ok) {
    size_t n;
    const uint8_t *b = take_bytes(in, &n);
    char *s = malloc(n + 1);
    memcpy(s, b, n);
    s[n] = 0;
    uint64_t v = take_n(in, 8);
    int prec = (int)take(in);
    unsigned form = take(in) % 4;
    char *want = malloc(n + 128);
    size_t wn = 0;
    stream_out.n = line_out.n = 0;
    stream_out.calls = line_out.calls = 0;
    for (int k = 0; k < 2; k++) {
        switch (form) {
        case 0:
            report_textf(w[k], "%s", s);
            wn = (size_t)snprintf(want, n + 128, "%s", s);
            break;
        case 1:
            report_textf(w[k], "[%.*s] %llx", prec, s, (unsigned long long)v);
            wn = (size_t)snprintf(want, n + 128, "[%.*s] %llx", prec, s, (unsigned long long)v);
            break;
        case 2:
            report_textf(w[k], "%llu:%s:%lld", (unsigned long long)v, s, (long long)v);
            wn = (size_t)snprintf(want, n + 128, "%llu:%s:%lld", (unsigned long long)v, s,
                                  (long long)v);
            break;
        default:
            report_textf(w[k], "%d%%%u %s", (int)v, (unsigned)(v >> 32), s);
            wn = (size_t)snprintf(want, n + 128, "%d%%%u %s", (int)v, (unsigned)(v >> 32), s);
            break;
        }
    }
    /* What the line must be: the text cut to the writer's formatting buffer, controls as '?'. */
    if (wn > REPORT_BUF - 1)
        wn = REPORT_BUF - 1;
    char *line = malloc(wn + 9);
    memcpy(line, "vigil: ", 7);
    for (size_t i = 0; i < wn; i++) {
        unsigned char c = (unsigned char)want[i];
        line[7 + i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    line[7 + wn] = '\n';
    size_t ln = wn + 8;
    if (stream_out.n != ln || memcmp(stream_out.b, line, ln))
        abort();
    if (!lines_ok) {
        if (line_out.n || line_out.calls)
            abort();
    } else {
        /* Line mode: cut to the buffer (its last byte is the '\n'), never more. */
        size_t keep = ln <= line_cap ? ln - 1 : line_cap - 1;
        if (line_out.n != keep + 1 || memcmp(line_out.b, line, keep) || line_out.b[keep] != '\n')
            abort();
    }
    free(line);
    free(want);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct input in = {data, size};
    unsigned cfg = take(&in);
    enum report_mode mode = (cfg & 1) ? REPORT_TEXT : REPORT_JSONL;
    /* The line buffer: mostly small (cuts are frequent), sometimes the hypervisor's 32 KiB,
     * sometimes below the minimum (refused: nothing is ever written). */
    size_t line_cap;
    switch ((cfg >> 1) & 3) {
    case 0:
        line_cap = REPORT_LINE_MIN + take(&in);
        break;
    case 1:
        line_cap = REPORT_LINE_MIN + take_n(&in, 2) % 4096;
        break;
    case 2:
        line_cap = 32 * 1024;
        break;
    default:
        line_cap = take(&in) % (REPORT_LINE_MIN + 1);
        break;
    }
    char *line_buf = malloc(line_cap ? line_cap : 1); /* exact: a write past it is caught */
    struct report stream, lines;
    stream_out.line_mode = false;
    line_out.line_mode = true;
    report_init(&stream, mode, sink, &stream_out);
    bool lines_ok =
        report_init_lines(&lines, mode, line_cap ? line_buf : NULL, line_cap, sink, &line_out);
    if (lines_ok != (line_cap >= REPORT_LINE_MIN))
        abort();
    struct report *w[2] = {&stream, &lines};
    for (unsigned events = 0; in.n && events < 64; events++) {
        if (mode == REPORT_JSONL)
            write_event(&in, w, line_cap, lines_ok);
        else
            write_text(&in, w, line_cap, lines_ok);
    }
    free(line_buf);
    return 0;
}
