/* The report stream: vigil's product interface (README "Report schema").
 *
 * One event model, two renderers. An event is written once, as its name and typed fields:
 * report_begin(name), then report_<type>(key, value) for each field (strings, numbers, booleans,
 * hex addresses, null, nested objects and arrays), then report_end. The stream's mode renders it:
 *  - jsonl: one JSON object on one line, {"ev":"<name>","<key>":<value>,...}; u64/i64 as decimal
 *    numbers, hex as a "0x..." string, nested levels as JSON objects and arrays;
 *  - text: one line "vigil: <name> <key>=<value> ...", values as in JSON except that hex is bare
 *    0x..., a string is bare when it is one word without = " \ { } [ ] and else quoted (" and \
 *    escaped), control bytes become '?', objects are {k=v ...} and arrays [v ...].
 * Emitters never look at the mode: the same calls make both renderings, and nothing but the
 * renderers below depends on it. Output goes to a sink (serial port, stdout in host tools, a
 * buffer in tests) in one of two ways:
 *  - stream (report_init): bounded chunks, so lines of any length stream through the writer's
 *    own 512-byte buffer;
 *  - lines (report_init_lines): the caller's buffer holds the line being built and the sink gets
 *    each line whole, '\n' included, and nothing else. A line that does not fit is cut, never
 *    overflows: a JSON line loses its last elements (each element is kept whole or left out, the
 *    open levels are closed and "truncated":true is added, so it stays one valid JSON object); a
 *    text or raw line loses its end. */
#ifndef VIGIL_REPORT_H
#define VIGIL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum report_mode { REPORT_TEXT = 0, REPORT_JSONL = 1 };

typedef void (*report_sink_fn)(void *ctx, const char *data, size_t len);

#define REPORT_BUF 512
#define REPORT_MAX_DEPTH 8
/* Line mode: bytes at the end of the line buffer kept for closing a cut JSON line (up to
 * REPORT_MAX_DEPTH - 1 closers, ',"truncated":true', '}' and '\n'). */
#define REPORT_LINE_RESERVE 32
/* Smallest line buffer report_init_lines accepts. */
#define REPORT_LINE_MIN (2 * REPORT_LINE_RESERVE)

struct report {
    enum report_mode mode;
    report_sink_fn sink;
    void *sink_ctx;
    char *buf;      /* own (stream mode) or the caller's line buffer (line mode) */
    size_t cap;     /* bytes at buf */
    size_t len;     /* bytes in buf */
    bool lines;     /* line mode */
    bool cut;       /* line mode: bytes of the current line were left out for lack of room */
    bool truncated; /* line mode, JSON: elements of the current event were left out */
    bool closing;   /* report_end is closing the line: the reserve may be used */
    int depth;      /* JSON nesting: 1 inside the event object */
    int skip;       /* levels opened beyond REPORT_MAX_DEPTH (or after a cut): swallowed */
    bool need_comma[REPORT_MAX_DEPTH]; /* per nesting level */
    char closer[REPORT_MAX_DEPTH];     /* '}' or ']' per nesting level */
    char own[REPORT_BUF];
};

/* Stream mode. A struct report must not be copied (buf may point into it). */
void report_init(struct report *r, enum report_mode mode, report_sink_fn sink, void *ctx);
/* Line mode over buf[0..cap); returns false (and writes nothing, ever) when cap is below
 * REPORT_LINE_MIN or buf is NULL. */
bool report_init_lines(struct report *r, enum report_mode mode, char *buf, size_t cap,
                       report_sink_fn sink, void *ctx);

/* A free-form "vigil: <formatted>\n" line in either mode, outside the event model (no emitter
 * uses it: events are written with report_begin / report_<type> / report_end). */
void report_textf(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Events. key is NULL for array elements. */
void report_begin(struct report *r, const char *ev);
void report_str(struct report *r, const char *key, const char *s);
void report_strn(struct report *r, const char *key, const char *s, size_t n);
void report_u64(struct report *r, const char *key, uint64_t v);
void report_i64(struct report *r, const char *key, int64_t v);
void report_bool(struct report *r, const char *key, bool v);
void report_hex(struct report *r, const char *key, uint64_t v); /* "0x..." string */
void report_null(struct report *r, const char *key);
void report_obj_begin(struct report *r, const char *key);
void report_obj_end(struct report *r);
void report_arr_begin(struct report *r, const char *key);
void report_arr_end(struct report *r);
void report_end(struct report *r); /* closes every open level, writes the newline, flushes */

/* A report stream shared by several writers, which must own a writer to write at all: begin
 * returns one (or NULL: the caller writes nothing, and the owner of the stream counts the loss),
 * end gives it back. Modules that report (hv/ept/ept_hide.h, hv/ept/ept_guard.h,
 * hv/arch/vmx/vcpu.h) take one of these instead of a struct report, so they cannot write without
 * owning the writer. */
struct report_out {
    struct report *(*begin)(void *ctx);
    void (*end)(void *ctx, struct report *w);
    void *ctx;
};
__attribute__((warn_unused_result)) static inline struct report *
report_out_begin(const struct report_out *o) {
    return o && o->begin ? o->begin(o->ctx) : NULL;
}
static inline void report_out_end(const struct report_out *o, struct report *w) {
    if (o && w && o->end)
        o->end(o->ctx, w);
}

/* Low level: raw bytes into the stream / flush the buffer to the sink (stream mode; in line
 * mode every '\n' hands its line to the sink and report_flush does nothing). */
void report_write(struct report *r, const char *s, size_t n);
void report_flush(struct report *r);

#endif
