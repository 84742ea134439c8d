/* The hypervisor's report stream (see hv_report.h for the contract). */
#include "hv/core/hv_report.h"

#include "base/hw.h"
#include "base/lib.h"
#include "base/report_ring.h"
#include "base/serial.h"
#include "base/spinlock.h"
#include "hv/core/percpu.h"

/* PAUSEs before a CPU gives up on the output lock. It is held for one line's memcpy or one
 * ordered event's formatting; running out means its holder died (a fault in VMX root), and the
 * waiting line is counted lost rather than this CPU hung. */
#define LOCK_SPINS 1000000u
/* Writers: one per CPU at a time, plus spares for a fault report taken in the middle of a line
 * and for the loader's forwarded bytes. */
#define SPARE_WRITERS 2u

struct writer {
    struct report rep; /* first: hv_report_end maps the caller's pointer back */
    uint32_t busy;
    bool ordered; /* holds out_lock from begin to end */
};

static struct serial uart;
static struct report_ring ring;
static struct writer *writers;
static uint32_t nwriters;
static struct writer raw; /* the loader's bytes: its partial line lives on between calls */
static uint32_t raw_busy;
static struct spinlock out_lock;   /* producer side of the ring */
static struct spinlock drain_lock; /* consumer side of the ring and the UART */
static bool ready, async;
static uint64_t tsc_start, tsc_hz, drain_period;

static bool try_lock(struct spinlock *l) {
    return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static bool lock_bounded(struct spinlock *l) {
    for (unsigned i = 0; i < LOCK_SPINS; i++) {
        if (try_lock(l))
            return true;
        hw_pause();
    }
    return false;
}

/* Line sink of every writer: one whole line into the ring. */
static void commit_line(void *ctx, const char *line, size_t n) {
    struct writer *w = ctx;
    if (w->ordered) {
        report_ring_put(&ring, line, n);
    } else if (lock_bounded(&out_lock)) {
        report_ring_put(&ring, line, n);
        spin_unlock(&out_lock);
    } else {
        report_ring_lost(&ring, 1);
    }
}

static bool writer_init(struct writer *w, enum report_mode mode, struct hv_heap *heap, size_t cap) {
    char *line = hv_heap_alloc(heap, cap, 64);
    return line && report_init_lines(&w->rep, mode, line, cap, commit_line, w);
}

bool hv_report_init(const struct hv_boot_params *p, struct hv_heap *heap) {
    enum report_mode mode = (enum report_mode)p->report_mode;
    __atomic_store_n(&ready, false, __ATOMIC_RELEASE);
    async = false;
    nwriters = 0;
    raw_busy = 0;
    out_lock.locked = drain_lock.locked = 0;
    serial_init(&uart, p->serial_port, p->baud);
    tsc_hz = p->tsc_hz ? p->tsc_hz : 1000000000ull;
    tsc_start = hw_rdtsc();
    /* One FIFO of 10-bit characters (8N1) at the configured rate. */
    uint32_t baud = p->baud ? p->baud : 115200;
    drain_period = tsc_hz * 10u * uart.fifo / baud;
    uint32_t ncpus = p->ncpus > HV_MAX_CPUS ? HV_MAX_CPUS : p->ncpus;
    void *rb = hv_heap_alloc(heap, HV_REPORT_RING_SIZE, 4096);
    writers = hv_heap_alloc(heap, (ncpus + SPARE_WRITERS) * sizeof(*writers), 64);
    if (!rb || !writers || !report_ring_init(&ring, rb, HV_REPORT_RING_SIZE, mode) ||
        !writer_init(&raw, mode, heap, HV_REPORT_RAW_LINE_MAX))
        return false;
    for (uint32_t i = 0; i < ncpus + SPARE_WRITERS; i++) {
        if (!writer_init(&writers[i], mode, heap, HV_REPORT_LINE_MAX))
            return false;
    }
    nwriters = ncpus + SPARE_WRITERS;
    __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    return true;
}

static struct writer *claim(void) {
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return NULL;
    for (uint32_t i = 0; i < nwriters; i++) {
        if (!__atomic_exchange_n(&writers[i].busy, 1, __ATOMIC_ACQUIRE))
            return &writers[i];
    }
    report_ring_lost(&ring, 1);
    return NULL;
}

static void unclaim(struct writer *w) {
    __atomic_store_n(&w->busy, 0, __ATOMIC_RELEASE);
}

struct report *hv_report_begin(void) {
    struct writer *w = claim();
    if (!w)
        return NULL;
    w->ordered = false;
    return &w->rep;
}

struct report *hv_report_begin_ordered(void) {
    struct writer *w = claim();
    if (!w)
        return NULL;
    if (!lock_bounded(&out_lock)) {
        unclaim(w);
        report_ring_lost(&ring, 1);
        return NULL;
    }
    w->ordered = true;
    return &w->rep;
}

static void flush_sync(bool wait);

void hv_report_end(struct report *r) {
    if (!r || nwriters == 0)
        return;
    struct writer *w = (struct writer *)r;
    /* Only a pointer hv_report_begin handed out is given back. */
    if ((uintptr_t)w < (uintptr_t)writers || (uintptr_t)w >= (uintptr_t)(writers + nwriters) ||
        ((uintptr_t)w - (uintptr_t)writers) % sizeof(*w) != 0)
        return;
    if (r->len) /* never leave a partial line behind: it would start the next writer's line */
        report_write(r, "\n", 1);
    r->depth = 0;
    r->skip = 0;
    r->truncated = false;
    if (w->ordered) {
        w->ordered = false;
        spin_unlock(&out_lock);
    }
    unclaim(w);
    if (!__atomic_load_n(&async, __ATOMIC_ACQUIRE))
        flush_sync(false);
}

static struct report *out_begin(void *ctx) {
    (void)ctx;
    return hv_report_begin();
}

static void out_end(void *ctx, struct report *w) {
    (void)ctx;
    hv_report_end(w);
}

const struct report_out hv_report_out = {out_begin, out_end, NULL};

void hv_report_raw(const char *data, size_t len) {
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return;
    if (__atomic_exchange_n(&raw_busy, 1, __ATOMIC_ACQUIRE)) {
        report_ring_lost(&ring, 1);
        return;
    }
    report_write(&raw.rep, data, len);
    __atomic_store_n(&raw_busy, 0, __ATOMIC_RELEASE);
    if (!__atomic_load_n(&async, __ATOMIC_ACQUIRE))
        flush_sync(false);
}

void hv_report_go_async(void) {
    __atomic_store_n(&async, true, __ATOMIC_RELEASE);
}

/* A loss with no line after it yet is told now, if the output lock is free. */
static void tell_losses(void) {
    if (report_ring_lost_pending(&ring) && try_lock(&out_lock)) {
        report_ring_put_lost(&ring);
        spin_unlock(&out_lock);
    }
}

void hv_report_pump(void) {
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE) || !__atomic_load_n(&async, __ATOMIC_ACQUIRE))
        return;
    tell_losses();
    if (!report_ring_used(&ring) || !try_lock(&drain_lock))
        return;
    const char *p;
    size_t n = report_ring_peek(&ring, &p);
    if (n) {
        size_t k = serial_try_write(&uart, p, n);
        if (k)
            report_ring_consume(&ring, k);
    }
    spin_unlock(&drain_lock);
}

bool hv_report_backlog(void) {
    return __atomic_load_n(&ready, __ATOMIC_ACQUIRE) &&
           (report_ring_used(&ring) != 0 || report_ring_lost_pending(&ring));
}

uint64_t hv_report_drain_period_tsc(void) {
    return drain_period;
}

/* Writes the ring out, waiting for the UART. One drainer at a time: a CPU that finds the drain
 * lock taken leaves its lines to the holder, which looks again after letting go (the holder
 * cannot miss them: they were in the ring before the lock was found taken). */
static void flush_sync(bool wait) {
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return;
    /* Bounded: at most a few ring's worth, however fast other CPUs add lines. */
    for (unsigned round = 0; round < 4; round++) {
        tell_losses();
        if (!report_ring_used(&ring))
            return;
        if (!(wait && round == 0 ? lock_bounded(&drain_lock) : try_lock(&drain_lock)))
            return;
        size_t budget = HV_REPORT_RING_SIZE;
        const char *p;
        size_t n;
        while (budget && (n = report_ring_peek(&ring, &p)) != 0) {
            if (n > budget)
                n = budget;
            serial_write(&uart, p, n);
            report_ring_consume(&ring, n);
            budget -= n;
        }
        spin_unlock(&drain_lock);
    }
}

void hv_report_flush(void) {
    flush_sync(true);
}

uint64_t hv_clock_tsc(void) {
    /* This CPU's counter less every jump the guest made in it (struct vcpu's tsc_skew). */
    return hw_rdtsc() - (uint64_t)this_cpu()->vcpu.tsc_skew;
}

uint64_t hv_uptime_ms(void) {
    return hv_clock_ms(hv_clock_tsc());
}

uint64_t hv_clock_ms(uint64_t tsc) {
    return tsc > tsc_start ? (tsc - tsc_start) / (tsc_hz / 1000) : 0;
}

uint64_t hv_tsc_hz(void) {
    return tsc_hz;
}
