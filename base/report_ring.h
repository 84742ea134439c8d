/* The hypervisor's output ring: report lines waiting for the UART (hv/core/hv_report.h puts them
 * in, the UART drain takes them out).
 *
 * Whole lines or nothing: a line goes in complete (report_ring_put) or, when the free space is
 * too small, not at all and is counted lost; the ring never holds part of a line and unread
 * bytes are never overwritten. Lost lines are told in the stream: the next line that goes in is
 * preceded by one loss line, {"ev":"report_lost","lines":K} or "vigil: report: K lines lost
 * (output full)", K = lines lost since the last such line (report_ring_lost adds losses that
 * happened outside the ring, e.g. a writer that could not be had).
 *
 * Concurrency: one producer and one consumer at a time; the caller serializes each side with its
 * own lock (any CPU may be either). The producer publishes bytes with a release store of `head`,
 * the consumer frees space with a release store of `tail`; each reads the other's index with
 * acquire. The consumer may take a line in pieces (report_ring_peek / report_ring_consume): the
 * UART takes a few bytes at a time. */
#ifndef VIGIL_REPORT_RING_H
#define VIGIL_REPORT_RING_H

#include "base/report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Smallest accepted ring (a power of two): room for the loss line and a short line. */
#define REPORT_RING_MIN 256

struct report_ring_stats {
    uint64_t put_lines, put_bytes; /* lines in, loss lines included */
    uint64_t lost_lines;           /* lines lost (ring full, or added by report_ring_lost) */
    uint64_t lost_reports;         /* loss lines written */
    uint64_t taken_bytes;          /* bytes consumed */
};

struct report_ring {
    char *buf;
    uint64_t mask; /* size - 1 */
    enum report_mode mode;
    uint64_t head;          /* bytes ever put; producer-written */
    uint64_t tail;          /* bytes ever consumed; consumer-written */
    uint64_t lost;          /* lines ever lost; any CPU adds (atomic) */
    uint64_t lost_reported; /* lost as of the last loss line; producer-written */
    struct report_ring_stats stats;
};

/* Empty ring over buf[0..size); size a power of two >= REPORT_RING_MIN. False: unusable (every
 * put then fails and counts a loss). */
bool report_ring_init(struct report_ring *r, void *buf, size_t size, enum report_mode mode);

/* Producer. line[0..n) is one line ending in '\n'. True when it went in. A pending loss line
 * goes in first when both fit; otherwise neither does and this line is lost too. */
bool report_ring_put(struct report_ring *r, const char *line, size_t n);
/* Producer: writes the pending loss line alone, if any and if it fits (so a loss is told even
 * when no other line comes). */
void report_ring_put_lost(struct report_ring *r);
/* Any CPU, no lock: count lines lost before they reached the ring. */
void report_ring_lost(struct report_ring *r, uint64_t lines);
/* Any CPU: losses not yet told in the stream. */
bool report_ring_lost_pending(const struct report_ring *r);

/* Consumer: the oldest unread bytes that are contiguous in the buffer (*p, return value; 0 when
 * the ring is empty). */
size_t report_ring_peek(const struct report_ring *r, const char **p);
/* Consumer: n (<= what peek returned) bytes are out. */
void report_ring_consume(struct report_ring *r, size_t n);
/* Any CPU: unread bytes. */
size_t report_ring_used(const struct report_ring *r);

void report_ring_get_stats(const struct report_ring *r, struct report_ring_stats *out);

#endif
