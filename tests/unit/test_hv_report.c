/* The hypervisor's report stream (hv/core/hv_report.h) over a modelled 16550
 * (tests/fakes/uart_fake.h) whose line sends a few bytes at a time: before hv_report_go_async a
 * line goes out at once; afterwards writers never touch the UART, the pump gives it at most one
 * FIFO's worth and never overruns it, lines come out whole and in order, a full ring drops whole
 * lines and says how many, a writer that cannot be had is counted and told. Then several writer
 * threads and a drainer thread at once: every line intact, each writer's lines in order, ordered
 * writers' seq consecutive except where a report_lost line says lines were lost, and every line
 * accounted for. Built with AddressSanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>

#include "hv/core/hv_report.h"
#include "tests/fakes/hw_fake.h"
#include "tests/fakes/uart_fake.h"

#define PORT 0x3F8
#define NCPUS 4
#define OUT_CAP (16u << 20)

static char *out;
static void *heap_mem;
static struct hv_heap heap;

static int setup(void **state) {
    (void)state;
    fake_reset();
    uart_fake_attach(PORT, 16, out, OUT_CAP);
    memset(heap_mem, 0, 4u << 20);
    hv_heap_init(&heap, (uint64_t)(uintptr_t)heap_mem, 4u << 20);
    struct hv_boot_params p = {0};
    p.ncpus = NCPUS;
    p.serial_port = PORT;
    p.baud = 115200;
    p.report_mode = REPORT_JSONL;
    p.tsc_hz = 1000000000ull;
    assert_true(hv_report_init(&p, &heap));
    return 0;
}

/* Pumps until the ring and the FIFO are empty, the line sending `per_step` bytes per pump. */
static void drain(unsigned per_step) {
    for (unsigned i = 0; i < 100000000u && (hv_report_backlog() || uart_fake.queued); i++) {
        hv_report_pump();
        uart_fake_send(per_step);
    }
    assert_false(hv_report_backlog());
}

/* Output lines ("\r\n" stripped) into a NULL-terminated array (owned by the caller). */
static char **split(size_t *n) {
    out[uart_fake.out_len] = 0;
    size_t cap = 16, k = 0;
    char **v = malloc(cap * sizeof(*v));
    char *p = out;
    char *e;
    while ((e = strstr(p, "\r\n")) != NULL) {
        if (k + 1 >= cap)
            v = realloc(v, (cap *= 2) * sizeof(*v));
        *e = 0;
        v[k++] = p;
        p = e + 2;
    }
    assert_int_equal(*p, 0); /* nothing after the last complete line */
    v[k] = NULL;
    *n = k;
    return v;
}

static void event(struct report *r, uint64_t i, size_t pad) {
    static char filler[4096];
    memset(filler, 'a' + (int)(i % 26), sizeof(filler));
    report_begin(r, "t");
    report_u64(r, "i", i);
    report_strn(r, "pad", filler, pad);
    report_end(r);
}

/* Checks one "t" line: {"ev":"t","i":N,"pad":"<pad letters>"}; returns N. */
static uint64_t check_event(const char *l) {
    unsigned long long i;
    int off = 0;
    assert_int_equal(sscanf(l, "{\"ev\":\"t\",\"i\":%llu,\"pad\":\"%n", &i, &off), 1);
    assert_true(off > 0);
    const char *p = l + off;
    size_t n = 0;
    while (p[n] == 'a' + (int)(i % 26))
        n++;
    assert_string_equal(p + n, "\"}");
    return i;
}

static void sync_before_async(void **state) {
    (void)state;
    uart_fake.send_per_poll = 16; /* the line sends while the writer waits */
    struct report *r = hv_report_begin();
    assert_non_null(r);
    event(r, 1, 5);
    hv_report_end(r);
    uart_fake_send(16); /* the last bytes the writer put in the FIFO */
    out[uart_fake.out_len] = 0;
    assert_string_equal(out, "{\"ev\":\"t\",\"i\":1,\"pad\":\"bbbbb\"}\r\n");
}

static void async_writers_never_touch_the_uart(void **state) {
    (void)state;
    hv_report_go_async();
    for (uint64_t i = 0; i < 300; i++) {
        struct report *r = hv_report_begin();
        assert_non_null(r);
        event(r, i, (size_t)(i * 37 % 700));
        hv_report_end(r);
    }
    assert_int_equal(uart_fake.thr_writes, 0);
    assert_int_equal(uart_fake.lsr_reads, 0);
    /* One pump: one FIFO's worth, then nothing until the FIFO is empty again. */
    hv_report_pump();
    assert_int_equal(uart_fake.thr_writes, 16);
    hv_report_pump();
    assert_int_equal(uart_fake.thr_writes, 16);
    uart_fake_send(15);
    hv_report_pump();
    assert_int_equal(uart_fake.thr_writes, 16);
    drain(3);
    assert_int_equal(uart_fake.overruns, 0);
    size_t n;
    char **v = split(&n);
    assert_int_equal(n, 300);
    for (uint64_t i = 0; i < 300; i++)
        assert_int_equal(check_event(v[i]), i);
    free(v);
}

static void full_ring_drops_whole_lines_and_tells(void **state) {
    (void)state;
    hv_report_go_async();
    const uint64_t total = 400; /* ~1 KB each: three times the ring */
    for (uint64_t i = 0; i < total; i++) {
        struct report *r = hv_report_begin();
        assert_non_null(r);
        event(r, i, 1000);
        hv_report_end(r);
    }
    drain(5);
    /* A line after the loss: the loss is told before it. */
    struct report *r = hv_report_begin();
    assert_non_null(r);
    event(r, total, 10);
    hv_report_end(r);
    drain(5);
    size_t n;
    char **v = split(&n);
    uint64_t got = 0, lost = 0, prev = 0;
    bool lost_seen = false;
    for (size_t k = 0; k < n; k++) {
        unsigned long long c;
        if (sscanf(v[k], "{\"ev\":\"report_lost\",\"lines\":%llu}", &c) == 1) {
            assert_string_equal(strchr(v[k], '}'), "}");
            lost += c;
            lost_seen = true;
            continue;
        }
        uint64_t i = check_event(v[k]);
        /* In order; a gap only where a loss was told just before. */
        assert_true(got == 0 || i == prev + 1 || (lost_seen && i > prev));
        lost_seen = false;
        prev = i;
        got++;
    }
    assert_int_equal(prev, total);
    assert_true(lost > 0);
    assert_int_equal(got + lost, total + 1);
    assert_int_equal(uart_fake.overruns, 0);
    free(v);
}

static void failed_begin_is_counted_and_told(void **state) {
    (void)state;
    hv_report_go_async();
    struct report *w[NCPUS + 2];
    for (unsigned i = 0; i < NCPUS + 2; i++) {
        w[i] = hv_report_begin();
        assert_non_null(w[i]);
        for (unsigned j = 0; j < i; j++)
            assert_ptr_not_equal(w[i], w[j]); /* never the same writer twice */
    }
    assert_null(hv_report_begin());
    assert_null(hv_report_begin_ordered());
    for (unsigned i = 0; i < NCPUS + 2; i++)
        hv_report_end(w[i]);
    /* A line left unfinished by its writer is completed, never joined to the next one. */
    struct report *r = hv_report_begin();
    report_write(r, "{\"ev\":\"partial\"}", 16);
    hv_report_end(r);
    r = hv_report_begin();
    event(r, 7, 3);
    hv_report_end(r);
    drain(16);
    size_t n;
    char **v = split(&n);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "{\"ev\":\"report_lost\",\"lines\":2}");
    assert_string_equal(v[1], "{\"ev\":\"partial\"}");
    assert_int_equal(check_event(v[2]), 7);
    free(v);
}

static void lost_is_told_without_a_later_line(void **state) {
    (void)state;
    hv_report_go_async();
    struct report *w[NCPUS + 2];
    for (unsigned i = 0; i < NCPUS + 2; i++)
        w[i] = hv_report_begin();
    assert_null(hv_report_begin());
    for (unsigned i = 0; i < NCPUS + 2; i++)
        hv_report_end(w[i]);
    drain(16); /* the pump itself writes the loss line */
    out[uart_fake.out_len] = 0;
    assert_string_equal(out, "{\"ev\":\"report_lost\",\"lines\":1}\r\n");
}

/* ---- several writers and a drainer at once ---- */

#define THREADS 4
#define PER_THREAD 4000

static uint64_t seq;
static volatile int writers_left;

static void *writer_thread(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    char filler[300];
    for (unsigned i = 0; i < PER_THREAD; i++) {
        bool ordered = (i % 3) == 0;
        struct report *r = ordered ? hv_report_begin_ordered() : hv_report_begin();
        if (!r)
            continue; /* counted by hv_report as lost */
        size_t pad = (i * 7 + id * 13) % sizeof(filler);
        memset(filler, 'a' + (int)((id + i) % 26), pad);
        report_begin(r, ordered ? "o" : "p");
        if (ordered)
            report_u64(r, "seq", __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
        report_u64(r, "w", id);
        report_u64(r, "i", i);
        report_strn(r, "pad", filler, pad);
        report_end(r);
        hv_report_end(r);
        if (i % 8 == 0)
            sched_yield(); /* let the drainer keep up with part of the stream */
    }
    __atomic_sub_fetch(&writers_left, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *drainer_thread(void *arg) {
    (void)arg;
    while (__atomic_load_n(&writers_left, __ATOMIC_ACQUIRE) || hv_report_backlog() ||
           uart_fake.queued) {
        hv_report_pump();
        uart_fake_send(16);
    }
    return NULL;
}

static void threads_lines_intact_and_ordered(void **state) {
    (void)state;
    hv_report_go_async();
    seq = 0;
    writers_left = THREADS;
    pthread_t w[THREADS], d;
    assert_int_equal(pthread_create(&d, NULL, drainer_thread, NULL), 0);
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&w[i], NULL, writer_thread, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(w[i], NULL);
    pthread_join(d, NULL);
    drain(16);
    assert_int_equal(uart_fake.overruns, 0);

    size_t n;
    char **v = split(&n);
    int64_t last_i[THREADS];
    for (unsigned t = 0; t < THREADS; t++)
        last_i[t] = -1;
    uint64_t lines = 0, lost = 0, last_seq = 0;
    bool lost_since = false; /* a loss was told since the last ordered line */
    for (size_t k = 0; k < n; k++) {
        unsigned long long c, s = 0;
        unsigned wid, i;
        int off = 0;
        char ev = 0;
        if (sscanf(v[k], "{\"ev\":\"report_lost\",\"lines\":%llu}", &c) == 1) {
            lost += c;
            lost_since = true;
            continue;
        }
        if (sscanf(v[k], "{\"ev\":\"o\",\"seq\":%llu,\"w\":%u,\"i\":%u,\"pad\":\"%n", &s, &wid, &i,
                   &off) == 3)
            ev = 'o';
        else if (sscanf(v[k], "{\"ev\":\"p\",\"w\":%u,\"i\":%u,\"pad\":\"%n", &wid, &i, &off) == 2)
            ev = 'p';
        else
            fail_msg("line %zu is not whole: %.80s", k, v[k]);
        assert_true(off > 0 && wid < THREADS && i < PER_THREAD);
        assert_int_equal(ev == 'o', (i % 3) == 0);
        size_t pad = (i * 7 + wid * 13) % 300, m = 0;
        const char *p = v[k] + off;
        while (p[m] == 'a' + (int)((wid + i) % 26))
            m++;
        assert_int_equal(m, pad);
        assert_string_equal(p + m, "\"}");
        assert_true((int64_t)i > last_i[wid]); /* each writer's lines in order */
        last_i[wid] = i;
        if (ev == 'o') {
            /* The stream carries seq in order; a gap only after a told loss. */
            assert_true(s == last_seq + 1 || (lost_since && s > last_seq));
            last_seq = s;
            lost_since = false;
        }
        lines++;
    }
    /* Every line that was begun is either out or counted lost. */
    assert_int_equal(lines + lost, (uint64_t)THREADS * PER_THREAD);
    print_message("threads: %llu lines out, %llu lost, %zu bytes\n", (unsigned long long)lines,
                  (unsigned long long)lost, uart_fake.out_len);
    free(v);
}

int main(void) {
    out = malloc(OUT_CAP + 1);
    heap_mem = aligned_alloc(4096, 4u << 20);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(sync_before_async, setup),
        cmocka_unit_test_setup(async_writers_never_touch_the_uart, setup),
        cmocka_unit_test_setup(full_ring_drops_whole_lines_and_tells, setup),
        cmocka_unit_test_setup(failed_begin_is_counted_and_told, setup),
        cmocka_unit_test_setup(lost_is_told_without_a_later_line, setup),
        cmocka_unit_test_setup(threads_lines_intact_and_ordered, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(heap_mem);
    free(out);
    return rc;
}
