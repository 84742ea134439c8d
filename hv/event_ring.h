/* Per-CPU event ring: the report stream of VM-exit handlers without touching the UART.
 *
 * An exit handler must not wait for a 115200-baud UART (about 87 us per byte): that time is
 * stolen from the guest. Instead each CPU formats its events with the ordinary report writer
 * (hv/report.h) into its own ring, and one CPU (the boot CPU) later drains every ring to the UART
 * in bounded slices, between its own guest runs.
 *
 * Concurrency: one ring has exactly one producer and one consumer.
 *  - Producer: the CPU that owns the ring, calling event_ring_sink (through report_*) in VMX
 *    root with interrupts off. An NMI handler may interrupt it but must not write to the ring:
 *    the sink is not reentrant.
 *  - Consumer: whoever calls event_ring_drain, possibly another CPU. Only one drainer at a time
 *    per ring (the caller serializes, e.g. only the boot CPU drains).
 * No lock: the producer publishes committed bytes with a release store of `head`, the consumer
 * frees space with a release store of `tail`; each side reads the other's index with acquire.
 *
 * Whole lines or nothing: the producer writes the line being built into the free space past
 * `head` (invisible to the consumer) and publishes it only when its terminating '\n' arrives. If
 * any part of a line does not fit in the free space, the whole line is dropped and counted in
 * `lost`; unread data is never overwritten and a partial line is never visible. A line longer
 * than the whole ring can never fit and is dropped the same way. The consumer reports losses as
 * an `events_lost` line in the stream, so loss is never silent.
 *
 * Event stamps: every event carries "seq" from event_seq_next() (one counter for all CPUs, so
 * consecutive across the machine: a reader merging the per-CPU streams sorts by seq, and a gap
 * is a lost event) and "t", the caller's clock: the hypervisor passes milliseconds since it
 * started (hv_uptime_ms()). The ring itself does not look inside lines. */
#ifndef VIGIL_EVENT_RING_H
#define VIGIL_EVENT_RING_H

#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A suggested ring size: about 300 typical live events (~200 bytes each) of headroom, or ~5.7 s
 * of UART time at 115200 baud. */
#define EVENT_RING_DEFAULT_SIZE (64 * 1024)
/* Smallest accepted buffer (a power of two): enough for one report chunk. */
#define EVENT_RING_MIN_SIZE 64

/* Counters since init. lines/bytes include the '\n'. committed + lost = offered by the sink;
 * drained counts ring lines handed to the drain output (events_lost lines are counted apart). */
struct event_ring_stats {
    uint64_t committed_lines, committed_bytes; /* published into the ring */
    uint64_t lost_lines, lost_bytes;           /* dropped: ring full or line longer than ring */
    uint64_t drained_lines, drained_bytes;     /* written out by event_ring_drain */
    uint64_t lost_reports;                     /* events_lost lines emitted */
};

/* Kept in separate cache lines: the producer's and the consumer's indexes would otherwise
 * bounce one line between two CPUs on every event. All fields are private to event_ring.c. */
struct event_ring {
    /* Fixed at init. */
    char *buf;
    uint64_t mask; /* size - 1 */
    uint32_t cpu;
    enum report_mode mode;

    /* Producer side (written only by the owning CPU). head and the counters are read by the
     * consumer / stats readers through atomics. */
    struct {
        uint64_t head;    /* bytes ever committed; the consumer may read [tail, head) */
        uint64_t pending; /* bytes of the line being built, at [head, head + pending) */
        bool dropping;    /* the current line did not fit: swallow it up to its '\n' */
        uint64_t committed_lines, committed_bytes;
        uint64_t lost_lines, lost_bytes;
    } prod __attribute__((aligned(64)));

    /* Consumer side (written only by the drainer). */
    struct {
        uint64_t tail; /* bytes ever consumed; the producer may reuse everything before it */
        uint64_t lost_reported;
        uint64_t drained_lines, drained_bytes;
        uint64_t lost_reports;
    } cons __attribute__((aligned(64)));
};

/* Sets up an empty ring over buf[0..size). size must be a power of two >= EVENT_RING_MIN_SIZE
 * (indexes wrap with a mask); buf must stay valid for the ring's life. cpu and mode are used
 * only for the events_lost line. Returns false (ring unusable) on a bad size or NULL buf. */
bool event_ring_init(struct event_ring *r, void *buf, size_t size, uint32_t cpu,
                     enum report_mode mode);

/* Producer: a report sink (report_init(&rep, mode, event_ring_sink, ring)). Accepts any split of
 * the byte stream; each '\n' ends one line, which is committed whole or dropped whole. */
void event_ring_sink(void *ctx, const char *data, size_t len);

/* Consumer: writes whole lines to out, oldest first, at most max_bytes in total, except that at
 * least one line is written when one is ready, however long (progress is guaranteed). If lines
 * were lost since the previous drain, one events_lost line comes first:
 *   jsonl: {"ev":"events_lost","cpu":N,"count":K}
 *   text:  vigil: cpu N: K events lost (report ring full)
 * with K = lines lost since the last such report; it counts towards max_bytes but never
 * displaces the guaranteed line. out may receive a line in two pieces where the ring wraps.
 * Returns the bytes written to out. */
size_t event_ring_drain(struct event_ring *r, report_sink_fn out, void *out_ctx, size_t max_bytes);

/* Consumer-side peek: committed bytes not yet drained (0 = nothing to do apart from a pending
 * events_lost report, see event_ring_has_work). */
size_t event_ring_ready(const struct event_ring *r);
/* True when a drain would write something (lines, or an events_lost report). */
bool event_ring_has_work(const struct event_ring *r);

/* A consistent-enough snapshot of the counters, from any CPU (each counter is read atomically;
 * the set is not one atomic snapshot). */
void event_ring_get_stats(const struct event_ring *r, struct event_ring_stats *out);

/* The next event sequence number: 1, 2, 3, ... across all CPUs (atomic increment). */
uint64_t event_seq_next(void);

#endif
