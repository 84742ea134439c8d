/* The output ring (see report_ring.h for the contract). Indexes are free-running 64-bit byte
 * counts (position = index & mask), so "used = head - tail" needs no full/empty special case. */
#include "base/report_ring.h"

#include "base/fmt.h"
#include "base/lib.h"

#define LOAD_RELAXED(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE_RELAXED(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

bool report_ring_init(struct report_ring *r, void *buf, size_t size, enum report_mode mode) {
    lib_memset(r, 0, sizeof(*r));
    r->mode = mode;
    if (!buf || size < REPORT_RING_MIN || (size & (size - 1)) != 0)
        return false;
    r->buf = buf;
    r->mask = (uint64_t)size - 1;
    return true;
}

static uint64_t free_bytes(const struct report_ring *r) {
    /* Acquire pairs with the consumer's release of tail: its reads of the bytes before tail are
     * finished before they are overwritten. */
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    return r->mask + 1 - (r->head - tail);
}

/* Copies n bytes in at head, in two pieces where the buffer wraps, then publishes them. */
static void put_bytes(struct report_ring *r, const char *src, size_t n) {
    uint64_t size = r->mask + 1;
    uint64_t pos = r->head & r->mask;
    size_t first = (size_t)MIN((uint64_t)n, size - pos);
    lib_memcpy(r->buf + pos, src, first);
    if (n > first)
        lib_memcpy(r->buf, src + first, n - first);
    STORE_RELAXED(r->stats.put_lines, r->stats.put_lines + 1);
    STORE_RELAXED(r->stats.put_bytes, r->stats.put_bytes + n);
    /* Release: the line's bytes are visible to whoever sees the new head. */
    __atomic_store_n(&r->head, r->head + n, __ATOMIC_RELEASE);
}

/* Formats the loss line directly (it has no guest data, so plain formatting is exact). */
static size_t format_lost(enum report_mode mode, uint64_t count, char *out, size_t cap) {
    if (mode == REPORT_JSONL)
        return fmt_snprintf(out, cap, "{\"ev\":\"report_lost\",\"lines\":%llu}\n",
                            (unsigned long long)count);
    return fmt_snprintf(out, cap, "vigil: report: %llu lines lost (output full)\n",
                        (unsigned long long)count);
}

bool report_ring_put(struct report_ring *r, const char *line, size_t n) {
    if (!r->buf || n == 0) {
        if (n)
            report_ring_lost(r, 1);
        return false;
    }
    char note[80];
    size_t nn = 0;
    uint64_t lost = __atomic_load_n(&r->lost, __ATOMIC_ACQUIRE);
    if (lost != r->lost_reported)
        nn = format_lost(r->mode, lost - r->lost_reported, note, sizeof(note));
    if ((uint64_t)nn + n > free_bytes(r)) {
        report_ring_lost(r, 1);
        return false;
    }
    if (nn) {
        put_bytes(r, note, nn);
        STORE_RELAXED(r->lost_reported, lost);
        STORE_RELAXED(r->stats.lost_reports, r->stats.lost_reports + 1);
    }
    put_bytes(r, line, n);
    return true;
}

void report_ring_put_lost(struct report_ring *r) {
    if (!r->buf)
        return;
    uint64_t lost = __atomic_load_n(&r->lost, __ATOMIC_ACQUIRE);
    if (lost == r->lost_reported)
        return;
    char note[80];
    size_t nn = format_lost(r->mode, lost - r->lost_reported, note, sizeof(note));
    if (nn > free_bytes(r))
        return;
    put_bytes(r, note, nn);
    STORE_RELAXED(r->lost_reported, lost);
    STORE_RELAXED(r->stats.lost_reports, r->stats.lost_reports + 1);
}

void report_ring_lost(struct report_ring *r, uint64_t lines) {
    __atomic_add_fetch(&r->lost, lines, __ATOMIC_RELEASE);
}

bool report_ring_lost_pending(const struct report_ring *r) {
    return __atomic_load_n(&r->lost, __ATOMIC_ACQUIRE) != LOAD_RELAXED(r->lost_reported);
}

size_t report_ring_peek(const struct report_ring *r, const char **p) {
    if (!r->buf)
        return 0;
    /* Acquire pairs with the producer's release of head: the bytes before head are complete. */
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint64_t tail = r->tail;
    uint64_t pos = tail & r->mask;
    *p = r->buf + pos;
    return (size_t)MIN(head - tail, r->mask + 1 - pos);
}

void report_ring_consume(struct report_ring *r, size_t n) {
    STORE_RELAXED(r->stats.taken_bytes, r->stats.taken_bytes + n);
    /* Release: the bytes were read out before the producer may reuse them. */
    __atomic_store_n(&r->tail, r->tail + n, __ATOMIC_RELEASE);
}

size_t report_ring_used(const struct report_ring *r) {
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    return (size_t)(head - tail);
}

void report_ring_get_stats(const struct report_ring *r, struct report_ring_stats *out) {
    out->put_lines = LOAD_RELAXED(r->stats.put_lines);
    out->put_bytes = LOAD_RELAXED(r->stats.put_bytes);
    out->lost_lines = __atomic_load_n(&r->lost, __ATOMIC_RELAXED);
    out->lost_reports = LOAD_RELAXED(r->stats.lost_reports);
    out->taken_bytes = LOAD_RELAXED(r->stats.taken_bytes);
}
