/* Per-CPU single-producer/single-consumer event ring (see event_ring.h for the contract).
 *
 * Indexes are free-running 64-bit byte counts (never wrapped; position = index & mask), so
 * "used = head - tail" needs no full/empty special case and cannot overflow in practice. */
#include "event_ring.h"

#include "lib.h"

/* Counters are single-writer; other CPUs read them. Relaxed atomics keep each 64-bit access whole
 * (and keep the compiler from caching or splitting it) without ordering costs. */
#define LOAD_RELAXED(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE_RELAXED(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static uint64_t event_seq;

uint64_t event_seq_next(void) {
    return __atomic_add_fetch(&event_seq, 1, __ATOMIC_RELAXED);
}

bool event_ring_init(struct event_ring *r, void *buf, size_t size, uint32_t cpu,
                     enum report_mode mode) {
    lib_memset(r, 0, sizeof(*r));
    if (!buf || size < EVENT_RING_MIN_SIZE || (size & (size - 1)) != 0)
        return false;
    r->buf = buf;
    r->mask = (uint64_t)size - 1;
    r->cpu = cpu;
    r->mode = mode;
    return true;
}

/* Copies n bytes to ring index idx, in two pieces where the buffer wraps. */
static void ring_put(struct event_ring *r, uint64_t idx, const char *src, size_t n) {
    uint64_t size = r->mask + 1;
    uint64_t pos = idx & r->mask;
    size_t first = (size_t)MIN((uint64_t)n, size - pos);
    lib_memcpy(r->buf + pos, src, first);
    if (n > first)
        lib_memcpy(r->buf, src + first, n - first);
}

/* Appends n bytes (no '\n' among them except possibly the last) to the line being built. */
static void line_append(struct event_ring *r, const char *src, size_t n) {
    if (!r->prod.dropping) {
        /* Acquire pairs with the consumer's release of tail: its reads of the bytes before tail
         * are finished before we overwrite them. */
        uint64_t tail = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
        uint64_t used = r->prod.head + r->prod.pending - tail;
        if ((uint64_t)n <= r->mask + 1 - used)
            ring_put(r, r->prod.head + r->prod.pending, src, n);
        else
            r->prod.dropping = true; /* all or nothing: the bytes already staged are abandoned */
    }
    /* Counted even while dropping, so lost_bytes is the whole line's length. */
    r->prod.pending += n;
}

/* The '\n' of the current line has been appended: publish it or count it lost. */
static void line_end(struct event_ring *r) {
    uint64_t n = r->prod.pending;
    if (r->prod.dropping) {
        STORE_RELAXED(r->prod.lost_bytes, r->prod.lost_bytes + n);
        STORE_RELAXED(r->prod.lost_lines, r->prod.lost_lines + 1);
    } else {
        STORE_RELAXED(r->prod.committed_bytes, r->prod.committed_bytes + n);
        STORE_RELAXED(r->prod.committed_lines, r->prod.committed_lines + 1);
        /* Release: the line's bytes are visible to whoever sees the new head. */
        __atomic_store_n(&r->prod.head, r->prod.head + n, __ATOMIC_RELEASE);
    }
    r->prod.pending = 0;
    r->prod.dropping = false;
}

void event_ring_sink(void *ctx, const char *data, size_t len) {
    struct event_ring *r = ctx;
    if (!r || !r->buf)
        return;
    while (len) {
        size_t k = 0;
        while (k < len && data[k] != '\n')
            k++;
        bool nl = k < len;
        if (nl)
            k++; /* the '\n' belongs to the line */
        line_append(r, data, k);
        if (nl)
            line_end(r);
        data += k;
        len -= k;
    }
}

/* Wraps the drain's output so the events_lost line, written with the report writer (same
 * escaping and framing as every other event), is counted in the bytes returned. */
struct counting_sink {
    report_sink_fn out;
    void *ctx;
    size_t bytes;
};

static void counting_sink_fn(void *ctx, const char *data, size_t len) {
    struct counting_sink *c = ctx;
    c->out(c->ctx, data, len);
    c->bytes += len;
}

static size_t report_lost(struct event_ring *r, uint64_t count, report_sink_fn out, void *ctx) {
    struct counting_sink cs = {out, ctx, 0};
    struct report rep;
    report_init(&rep, r->mode, counting_sink_fn, &cs);
    if (report_is_json(&rep)) {
        report_begin(&rep, "events_lost");
        report_u64(&rep, "cpu", r->cpu);
        report_u64(&rep, "count", count);
        report_end(&rep);
    } else {
        report_textf(&rep, "cpu %u: %llu events lost (report ring full)", (unsigned)r->cpu,
                     (unsigned long long)count);
    }
    return cs.bytes;
}

size_t event_ring_drain(struct event_ring *r, report_sink_fn out, void *out_ctx, size_t max_bytes) {
    if (!r || !r->buf || !out)
        return 0;
    size_t written = 0;

    /* Losses first: the reader learns of the gap before the lines that follow it. */
    uint64_t lost = LOAD_RELAXED(r->prod.lost_lines);
    if (lost != r->cons.lost_reported) {
        written += report_lost(r, lost - r->cons.lost_reported, out, out_ctx);
        STORE_RELAXED(r->cons.lost_reported, lost);
        STORE_RELAXED(r->cons.lost_reports, r->cons.lost_reports + 1);
    }

    uint64_t tail = r->cons.tail;
    /* Acquire pairs with the producer's release of head: the bytes before head are complete. */
    uint64_t head = __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE);
    uint64_t budget = max_bytes > written ? max_bytes - written : 0;

    /* Every committed line ends with '\n', so [tail, head) is whole lines: take as many as the
     * budget holds, and the first one whatever its length. */
    uint64_t end = tail, lines = 0;
    for (uint64_t p = tail; p < head; p++) {
        if (lines && p + 1 - tail > budget)
            break; /* the next line cannot end within the budget */
        if (r->buf[p & r->mask] == '\n') {
            end = p + 1;
            lines++;
        }
    }
    if (!lines)
        return written;

    uint64_t n = end - tail;
    uint64_t pos = tail & r->mask;
    uint64_t first = MIN(n, r->mask + 1 - pos);
    out(out_ctx, r->buf + pos, (size_t)first);
    if (n > first)
        out(out_ctx, r->buf, (size_t)(n - first));
    written += (size_t)n;

    STORE_RELAXED(r->cons.drained_bytes, r->cons.drained_bytes + n);
    STORE_RELAXED(r->cons.drained_lines, r->cons.drained_lines + lines);
    /* Release: out() has finished reading these bytes before the producer may reuse them. */
    __atomic_store_n(&r->cons.tail, end, __ATOMIC_RELEASE);
    return written;
}

size_t event_ring_ready(const struct event_ring *r) {
    uint64_t head = __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE);
    uint64_t tail = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
    return (size_t)(head - tail);
}

bool event_ring_has_work(const struct event_ring *r) {
    return event_ring_ready(r) != 0 ||
           LOAD_RELAXED(r->prod.lost_lines) != LOAD_RELAXED(r->cons.lost_reported);
}

void event_ring_get_stats(const struct event_ring *r, struct event_ring_stats *out) {
    out->committed_lines = LOAD_RELAXED(r->prod.committed_lines);
    out->committed_bytes = LOAD_RELAXED(r->prod.committed_bytes);
    out->lost_lines = LOAD_RELAXED(r->prod.lost_lines);
    out->lost_bytes = LOAD_RELAXED(r->prod.lost_bytes);
    out->drained_lines = LOAD_RELAXED(r->cons.drained_lines);
    out->drained_bytes = LOAD_RELAXED(r->cons.drained_bytes);
    out->lost_reports = LOAD_RELAXED(r->cons.lost_reports);
}
