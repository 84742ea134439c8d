/* The per-CPU event ring: whole lines or nothing, wrap-around, loss accounting and its report,
 * drain budgets, and one producer against one consumer on two threads. */
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

#include "event_ring.h"
#include "report.h"

/* Drain output, concatenated. */
static char out[1 << 16];
static size_t out_len;
static unsigned out_calls;

static void out_sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    out_calls++;
    assert_true(out_len + n < sizeof(out));
    memcpy(out + out_len, d, n);
    out_len += n;
    out[out_len] = 0;
}

static void out_reset(void) {
    out_len = 0;
    out[0] = 0;
    out_calls = 0;
}

static struct event_ring ring;
static char small[64];
static char big[4096];

static int setup(void **state) {
    (void)state;
    out_reset();
    memset(small, 0x5a, sizeof(small));
    memset(big, 0x5a, sizeof(big));
    return 0;
}

static void put(const char *s) {
    event_ring_sink(&ring, s, strlen(s));
}

/* A line of exactly n bytes (n >= 2) including its '\n', filled with c. */
static const char *line_of(size_t n, char c) {
    static char l[8192];
    assert_true(n >= 2 && n < sizeof(l));
    memset(l, c, n - 1);
    l[n - 1] = '\n';
    l[n] = 0;
    return l;
}

static size_t drain_all(void) {
    return event_ring_drain(&ring, out_sink, NULL, SIZE_MAX);
}

static void init_rejects_bad_sizes(void **state) {
    (void)state;
    assert_false(event_ring_init(&ring, big, 3000, 0, REPORT_JSONL));
    assert_false(event_ring_init(&ring, big, 32, 0, REPORT_JSONL));
    assert_false(event_ring_init(&ring, NULL, 4096, 0, REPORT_JSONL));
    /* A rejected ring swallows writes and drains nothing instead of touching a bad buffer. */
    put("x\n");
    assert_int_equal(drain_all(), 0);
    assert_int_equal(out_len, 0);
    assert_true(event_ring_init(&ring, big, 4096, 0, REPORT_JSONL));
    assert_true(event_ring_init(&ring, small, 64, 0, REPORT_JSONL));
}

static void lines_in_order(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, big, sizeof(big), 1, REPORT_JSONL));
    struct report rep;
    report_init(&rep, REPORT_JSONL, event_ring_sink, &ring);
    for (unsigned i = 1; i <= 3; i++) {
        report_begin(&rep, "proc_start");
        report_u64(&rep, "seq", i);
        report_u64(&rep, "t", 100 * i);
        report_end(&rep);
    }
    const char *want = "{\"ev\":\"proc_start\",\"seq\":1,\"t\":100}\n"
                       "{\"ev\":\"proc_start\",\"seq\":2,\"t\":200}\n"
                       "{\"ev\":\"proc_start\",\"seq\":3,\"t\":300}\n";
    assert_int_equal(event_ring_ready(&ring), strlen(want));
    assert_true(event_ring_has_work(&ring));
    assert_int_equal(drain_all(), strlen(want));
    assert_string_equal(out, want);
    assert_false(event_ring_has_work(&ring));
    assert_int_equal(drain_all(), 0);
    struct event_ring_stats st;
    event_ring_get_stats(&ring, &st);
    assert_int_equal(st.committed_lines, 3);
    assert_int_equal(st.committed_bytes, strlen(want));
    assert_int_equal(st.drained_lines, 3);
    assert_int_equal(st.drained_bytes, strlen(want));
    assert_int_equal(st.lost_lines, 0);
    assert_int_equal(st.lost_reports, 0);
}

static void partial_chunks(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, big, sizeof(big), 0, REPORT_JSONL));
    put("ab");
    put("cd");
    /* Not terminated yet: invisible to the consumer. */
    assert_int_equal(event_ring_ready(&ring), 0);
    assert_int_equal(drain_all(), 0);
    put("e\nx\ny");
    assert_int_equal(event_ring_ready(&ring), strlen("abcde\nx\n"));
    put("z\n");
    assert_int_equal(drain_all(), strlen("abcde\nx\nyz\n"));
    assert_string_equal(out, "abcde\nx\nyz\n");

    /* A line longer than the report writer's buffer reaches the sink in several chunks. */
    out_reset();
    char s[1500];
    memset(s, 'q', sizeof(s) - 1);
    s[sizeof(s) - 1] = 0;
    struct report rep;
    report_init(&rep, REPORT_JSONL, event_ring_sink, &ring);
    report_begin(&rep, "x");
    report_str(&rep, "s", s);
    report_end(&rep);
    char want[1600];
    snprintf(want, sizeof(want), "{\"ev\":\"x\",\"s\":\"%s\"}\n", s);
    assert_true(strlen(want) > 2 * REPORT_BUF);
    assert_int_equal(drain_all(), strlen(want));
    assert_string_equal(out, want);
    struct event_ring_stats st;
    event_ring_get_stats(&ring, &st);
    assert_int_equal(st.committed_lines, 4);
    assert_int_equal(st.lost_lines, 0);
}

static void exact_fit_and_wrap(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, small, sizeof(small), 0, REPORT_JSONL));
    put(line_of(40, 'a'));
    assert_int_equal(drain_all(), 40);
    out_reset();

    /* Empty ring with tail at 40: a 64-byte line fills it exactly, wrapping at the end. */
    put(line_of(64, 'b'));
    assert_int_equal(event_ring_ready(&ring), 64);
    assert_int_equal(small[40], 'b');
    assert_int_equal(small[39], '\n'); /* index 103 & 63: the line's last byte */
    assert_int_equal(drain_all(), 64);
    assert_string_equal(out, line_of(64, 'b'));
    assert_int_equal(out_calls, 2); /* two pieces: [40, 64) then [0, 40) */
    out_reset();

    /* 24 bytes unread + a 40-byte line = exactly full; then one byte more does not fit. */
    put(line_of(24, 'c'));
    put(line_of(40, 'd'));
    put("\n");
    struct event_ring_stats st;
    event_ring_get_stats(&ring, &st);
    assert_int_equal(st.committed_lines, 4);
    assert_int_equal(st.lost_lines, 1);
    assert_int_equal(st.lost_bytes, 1);
    assert_int_equal(event_ring_ready(&ring), 64);
    char want[256];
    snprintf(want, sizeof(want), "{\"ev\":\"events_lost\",\"cpu\":0,\"count\":1}\n%s",
             line_of(24, 'c'));
    strcat(want, line_of(40, 'd'));
    assert_int_equal(drain_all(), strlen(want));
    assert_string_equal(out, want);
}

static void full_ring_drops_whole_lines(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, small, sizeof(small), 7, REPORT_JSONL));
    char l1[32], l2[32];
    strcpy(l1, line_of(30, '1'));
    strcpy(l2, line_of(30, '2'));
    put(l1);
    put(l2);
    /* 4 bytes free: the first piece of the next line fits, the rest does not, so the whole line
     * goes, including the part already written. */
    put("3333");
    put("33333\n");
    put(line_of(30, '4'));
    /* A short line still fits in the remaining 4 bytes. */
    put("abc\n");
    assert_int_equal(event_ring_ready(&ring), 64);
    struct event_ring_stats st;
    event_ring_get_stats(&ring, &st);
    assert_int_equal(st.committed_lines, 3);
    assert_int_equal(st.lost_lines, 2);
    assert_int_equal(st.lost_bytes, 10 + 30);

    /* Nothing unread was overwritten and no fragment of a dropped line is visible. */
    char want[256];
    snprintf(want, sizeof(want), "{\"ev\":\"events_lost\",\"cpu\":7,\"count\":2}\n%s%sabc\n", l1,
             l2);
    assert_int_equal(drain_all(), strlen(want));
    assert_string_equal(out, want);

    /* Space is back after the drain. */
    out_reset();
    put(l1);
    assert_int_equal(drain_all(), 30);
    assert_string_equal(out, l1);
}

static void events_lost_reported_once(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, small, sizeof(small), 3, REPORT_JSONL));
    put(line_of(60, 'a'));
    put(line_of(10, 'x')); /* lost */
    put(line_of(10, 'y')); /* lost */
    assert_true(event_ring_has_work(&ring));
    drain_all();
    char want[256];
    snprintf(want, sizeof(want), "{\"ev\":\"events_lost\",\"cpu\":3,\"count\":2}\n%s",
             line_of(60, 'a'));
    assert_string_equal(out, want);
    assert_false(event_ring_has_work(&ring));

    /* No new loss: no second report. */
    out_reset();
    put(line_of(10, 'b'));
    drain_all();
    assert_string_equal(out, line_of(10, 'b'));

    /* A loss with nothing else to drain is reported on its own, counting only the new one. */
    out_reset();
    put(line_of(70, 'z'));
    assert_int_equal(event_ring_ready(&ring), 0);
    assert_true(event_ring_has_work(&ring));
    size_t n = drain_all();
    assert_string_equal(out, "{\"ev\":\"events_lost\",\"cpu\":3,\"count\":1}\n");
    assert_int_equal(n, out_len);
    out_reset();
    assert_int_equal(drain_all(), 0);
    assert_int_equal(out_len, 0);

    struct event_ring_stats st;
    event_ring_get_stats(&ring, &st);
    assert_int_equal(st.lost_lines, 3);
    assert_int_equal(st.lost_reports, 2);
}

static void text_mode_events_lost(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, small, sizeof(small), 2, REPORT_TEXT));
    struct report rep;
    report_init(&rep, REPORT_TEXT, event_ring_sink, &ring);
    report_textf(&rep, "+ start pid %d", 42); /* "vigil: + start pid 42\n" = 22 bytes */
    report_textf(&rep, "+ start pid %d", 43);
    for (int i = 0; i < 5; i++)
        report_textf(&rep, "+ exit pid %d code 0", 100 + i); /* 26 bytes each: lost */
    drain_all();
    assert_string_equal(out, "vigil: cpu 2: 5 events lost (report ring full)\n"
                             "vigil: + start pid 42\n"
                             "vigil: + start pid 43\n");
}

static void drain_budget(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, big, sizeof(big), 0, REPORT_JSONL));
    for (char c = 'a'; c <= 'f'; c++)
        put(line_of(10, c));
    /* 25 bytes: two whole lines, never a third one cut at 25. */
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 25), 20);
    assert_int_equal(out_len, 20);
    /* Exactly two lines' worth. */
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 20), 20);
    /* A budget smaller than one line still moves one line. */
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 9), 10);
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 0), 10);
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 100), 0);
    char want[128] = "";
    for (char c = 'a'; c <= 'f'; c++)
        strcat(want, line_of(10, c));
    assert_string_equal(out, want);

    /* A line far larger than the budget still progresses, whole. */
    out_reset();
    put(line_of(3000, 'L'));
    put(line_of(10, 'm'));
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 16), 3000);
    assert_string_equal(out, line_of(3000, 'L'));
    out_reset();
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 16), 10);

    /* The events_lost line counts towards the budget but does not displace the first line. */
    assert_true(event_ring_init(&ring, small, sizeof(small), 0, REPORT_JSONL));
    out_reset();
    put(line_of(20, 'p'));
    put(line_of(20, 'q'));
    put(line_of(30, 'r')); /* lost */
    const char *lost = "{\"ev\":\"events_lost\",\"cpu\":0,\"count\":1}\n";
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, strlen(lost) + 25), strlen(lost) + 20);
    char want2[128];
    snprintf(want2, sizeof(want2), "%s%s", lost, line_of(20, 'p'));
    assert_string_equal(out, want2);
    out_reset();
    put(line_of(20, 's'));
    put(line_of(2, 't'));
    assert_int_equal(event_ring_drain(&ring, out_sink, NULL, 5), 20);
    assert_string_equal(out, line_of(20, 'q'));
}

static void oversize_line_dropped(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, small, sizeof(small), 5, REPORT_JSONL));
    put("head\n");
    /* 100 bytes in chunks, on an empty-enough ring: can never fit, dropped whole. */
    const char *l = line_of(100, 'o');
    for (size_t i = 0; i < 100; i += 25)
        event_ring_sink(&ring, l + i, 25);
    put("tail\n");
    struct event_ring_stats st;
    event_ring_get_stats(&ring, &st);
    assert_int_equal(st.lost_lines, 1);
    assert_int_equal(st.lost_bytes, 100);
    assert_int_equal(st.committed_lines, 2);
    drain_all();
    assert_string_equal(out, "{\"ev\":\"events_lost\",\"cpu\":5,\"count\":1}\nhead\ntail\n");
}

/* --- concurrency ------------------------------------------------------------------------- */

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

#define SEQ_PER_THREAD 1000000
static uint64_t *seq_got[2];

static pthread_barrier_t seq_start;

static void *seq_thread(void *arg) {
    uint64_t *dst = arg;
    /* Both threads take numbers at the same time, or a non-atomic counter could pass. */
    pthread_barrier_wait(&seq_start);
    for (int i = 0; i < SEQ_PER_THREAD; i++)
        dst[i] = event_seq_next();
    return NULL;
}

static void seq_consecutive_across_threads(void **state) {
    (void)state;
    uint64_t base = event_seq_next();
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_non_null(seq_got[i] = malloc(SEQ_PER_THREAD * sizeof(uint64_t)));
    assert_int_equal(pthread_barrier_init(&seq_start, NULL, 2), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, seq_thread, seq_got[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&seq_start);
    /* Every number in (base, base + 200000] handed out exactly once, increasing per thread. */
    unsigned char *seen = calloc(2 * SEQ_PER_THREAD, 1);
    assert_non_null(seen);
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < SEQ_PER_THREAD; j++) {
            uint64_t v = seq_got[i][j];
            assert_true(v > base && v <= base + 2 * SEQ_PER_THREAD);
            assert_int_equal(seen[v - base - 1], 0);
            seen[v - base - 1] = 1;
            if (j)
                assert_true(v > seq_got[i][j - 1]);
        }
    }
    assert_int_equal(event_seq_next(), base + 2 * SEQ_PER_THREAD + 1);
    free(seen);
    for (int i = 0; i < 2; i++)
        free(seq_got[i]);
}

#define STRESS_LINES 200000
static char stress_buf[4096];
static int producer_done;

/* Line n: "L <n> <payload>\n", payload length and bytes derived from n, so the consumer can check
 * that every line it gets is exactly the one produced. */
static size_t stress_line(uint32_t n, char *dst) {
    int k = sprintf(dst, "L %u ", n);
    size_t plen = (n * 7919u) % 300;
    for (size_t i = 0; i < plen; i++)
        dst[k + i] = (char)('a' + (n + i) % 26);
    dst[k + plen] = '\n';
    return k + plen + 1;
}

/* 9 lines in 10. */
static bool stress_paced(uint32_t n) {
    return n % 10 != 0;
}

static void *stress_producer(void *arg) {
    (void)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    char line[512];
    for (uint32_t n = 1; n <= STRESS_LINES; n++) {
        size_t len = stress_line(n, line);
        /* Paced lines wait for room first, so they must all arrive (the ring only gains room
         * while we wait); the rest are pushed blindly, like the hypervisor does, and may be lost
         * when the consumer lags. Without pacing the consumer would see almost nothing. */
        if (stress_paced(n))
            while (event_ring_ready(&ring) > sizeof(stress_buf) - len)
                sched_yield();
        /* Random chunk splits, as the report writer's flushes would produce. */
        for (size_t off = 0; off < len;) {
            size_t k = 1 + xorshift(&rng) % 96;
            if (k > len - off)
                k = len - off;
            event_ring_sink(&ring, line + off, k);
            off += k;
        }
    }
    __atomic_store_n(&producer_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

struct stress_rx {
    char cur[1024];
    size_t cur_len;
    uint32_t last;          /* last line number received */
    uint64_t paced;         /* paced lines received (all must arrive) */
    uint64_t received;      /* data lines received */
    uint64_t gaps;          /* numbers skipped between received lines */
    uint64_t lost_reported; /* sum of events_lost counts */
    uint64_t bad;           /* malformed or out-of-order lines */
};

static void stress_line_done(struct stress_rx *rx) {
    char *l = rx->cur;
    l[rx->cur_len] = 0;
    unsigned long long cnt;
    if (sscanf(l, "{\"ev\":\"events_lost\",\"cpu\":9,\"count\":%llu}", &cnt) == 1) {
        char exact[128];
        snprintf(exact, sizeof(exact), "{\"ev\":\"events_lost\",\"cpu\":9,\"count\":%llu}\n", cnt);
        if (strcmp(exact, l) != 0 || cnt == 0)
            rx->bad++;
        rx->lost_reported += cnt;
        return;
    }
    unsigned n;
    char want[512];
    if (sscanf(l, "L %u ", &n) != 1 || n <= rx->last || n > STRESS_LINES) {
        rx->bad++;
        return;
    }
    size_t wl = stress_line(n, want);
    if (wl != rx->cur_len || memcmp(want, l, wl) != 0) {
        rx->bad++;
        return;
    }
    for (uint32_t m = rx->last + 1; m < n; m++)
        if (stress_paced(m))
            rx->bad++; /* a paced line had room and still went missing */
    rx->paced += stress_paced(n);
    rx->gaps += n - rx->last - 1;
    rx->last = n;
    rx->received++;
}

/* Drain output may split a line where the ring wraps: reassemble, then check each line. */
static void stress_sink(void *ctx, const char *d, size_t n) {
    struct stress_rx *rx = ctx;
    for (size_t i = 0; i < n; i++) {
        if (rx->cur_len >= sizeof(rx->cur) - 1) {
            rx->bad++;
            rx->cur_len = 0;
        }
        rx->cur[rx->cur_len++] = d[i];
        if (d[i] == '\n') {
            stress_line_done(rx);
            rx->cur_len = 0;
        }
    }
}

static void *stress_consumer(void *arg) {
    struct stress_rx *rx = arg;
    uint64_t rng = 0x2545f4914f6cdd1dull;
    /* Bounded after the producer is done, so a has_work that never clears fails the test
     * (through the counts checked afterwards) instead of hanging it. */
    for (unsigned after = 0; after < 1000000;) {
        int done = __atomic_load_n(&producer_done, __ATOMIC_ACQUIRE);
        after += done;
        /* Random slices, sometimes smaller than a line; now and then let the producer run ahead
         * so that the ring fills and losses happen too. */
        event_ring_drain(&ring, stress_sink, rx, xorshift(&rng) % 2048);
        if (xorshift(&rng) % 64 == 0)
            sched_yield();
        if (done && !event_ring_has_work(&ring))
            break;
    }
    return NULL;
}

static void two_threads_spsc(void **state) {
    (void)state;
    assert_true(event_ring_init(&ring, stress_buf, sizeof(stress_buf), 9, REPORT_JSONL));
    producer_done = 0;
    static struct stress_rx rx;
    memset(&rx, 0, sizeof(rx));
    pthread_t p, c;
    assert_int_equal(pthread_create(&c, NULL, stress_consumer, &rx), 0);
    assert_int_equal(pthread_create(&p, NULL, stress_producer, NULL), 0);
    pthread_join(p, NULL);
    pthread_join(c, NULL);

    struct event_ring_stats st;
    event_ring_get_stats(&ring, &st);
    print_message("  spsc: %llu received, %llu lost (%llu events_lost lines), %llu bytes drained\n",
                  (unsigned long long)rx.received, (unsigned long long)st.lost_lines,
                  (unsigned long long)st.lost_reports, (unsigned long long)st.drained_bytes);
    assert_int_equal(rx.bad, 0);
    assert_int_equal(rx.cur_len, 0); /* no trailing partial line */
    assert_int_equal(rx.paced, STRESS_LINES - STRESS_LINES / 10);
    assert_int_equal(rx.received + st.lost_lines, STRESS_LINES);
    assert_int_equal(st.committed_lines + st.lost_lines, STRESS_LINES);
    assert_int_equal(st.drained_lines, rx.received);
    /* Loss was reported, exactly: every missing number is accounted for in events_lost. */
    uint64_t missing = rx.gaps + (STRESS_LINES - rx.last);
    assert_int_equal(missing, st.lost_lines);
    assert_int_equal(rx.lost_reported, st.lost_lines);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(init_rejects_bad_sizes, setup),
        cmocka_unit_test_setup(lines_in_order, setup),
        cmocka_unit_test_setup(partial_chunks, setup),
        cmocka_unit_test_setup(exact_fit_and_wrap, setup),
        cmocka_unit_test_setup(full_ring_drops_whole_lines, setup),
        cmocka_unit_test_setup(events_lost_reported_once, setup),
        cmocka_unit_test_setup(text_mode_events_lost, setup),
        cmocka_unit_test_setup(drain_budget, setup),
        cmocka_unit_test_setup(oversize_line_dropped, setup),
        cmocka_unit_test_setup(seq_consecutive_across_threads, setup),
        cmocka_unit_test_setup(two_threads_spsc, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
