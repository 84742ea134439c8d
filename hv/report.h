/* The report stream: vigil's product interface (README "Report schema").
 *
 * In jsonl mode every event is one JSON object on one line with an "ev" key, built with
 * report_begin / report_<type> / report_end. In text mode events are human lines starting
 * "vigil: ", written with report_textf. Event emitters check report_is_json() and do one or the
 * other. Output goes to a sink (serial port, stdout in host tools, a buffer in tests) in bounded
 * chunks, so lines of any length stream through a fixed buffer. */
#ifndef VIGIL_REPORT_H
#define VIGIL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum report_mode { REPORT_TEXT = 0, REPORT_JSONL = 1 };

typedef void (*report_sink_fn)(void *ctx, const char *data, size_t len);

#define REPORT_BUF 512
#define REPORT_MAX_DEPTH 8

struct report {
    enum report_mode mode;
    report_sink_fn sink;
    void *sink_ctx;
    char buf[REPORT_BUF];
    size_t len;
    int depth;                         /* JSON nesting: 1 inside the event object */
    int skip;                          /* levels opened beyond REPORT_MAX_DEPTH: swallowed */
    bool need_comma[REPORT_MAX_DEPTH]; /* per nesting level */
    char closer[REPORT_MAX_DEPTH];     /* '}' or ']' per nesting level */
};

void report_init(struct report *r, enum report_mode mode, report_sink_fn sink, void *ctx);
static inline bool report_is_json(const struct report *r) {
    return r->mode == REPORT_JSONL;
}

/* Text mode: writes "vigil: <formatted>\n". */
void report_textf(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON events. key is NULL for array elements. */
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

/* Low level: raw bytes into the stream / flush the buffer to the sink. */
void report_write(struct report *r, const char *s, size_t n);
void report_flush(struct report *r);

#endif
