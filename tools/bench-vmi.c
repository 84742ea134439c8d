/* Benchmark of process-list reconstruction (make bench):
 *   bench-vmi --synthetic N   a synthetic guest (tests/unit/vmi_synth.c) with N processes
 *   bench-vmi --dump FILE     a real QEMU dump (auto symbols from guest memory)
 * Prints the time to walk every process and thread and write its proc event (JSON lines into a
 * counting sink), total and per task: the best of several runs, and the median. */
#include "tests/unit/vmi_synth.h"
#include "tools/dump_reader.h"
#include "vmi/vmi.h"
#include "vmi/vmi_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t bytes;
static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    (void)d;
    bytes += n;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct emit {
    struct report *r;
    const struct vmi_linux_tasks *t;
};
static int emit(void *ctx, const struct vmi_proc *p) {
    struct emit *e = ctx;
    if (p->error)
        vmi_report_task_error(e->r, p);
    else
        vmi_report_proc(e->r, e->t, p, -1);
    return 0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times `runs` full walks; prints and returns 0 on success. */
static int time_walks(const char *what, const struct vmi_linux_tasks *t, int runs) {
    double v[64];
    long n = 0, threads = 0;
    if (runs > 64)
        runs = 64;
    for (int i = 0; i < runs; i++) {
        struct report r;
        report_init(&r, REPORT_JSONL, sink, NULL);
        struct emit e = {.r = &r, .t = t};
        bytes = 0;
        double t0 = now_us();
        n = vmi_linux_tasks_foreach(t, emit, &e);
        report_flush(&r);
        v[i] = now_us() - t0;
        if (n < 0) {
            fprintf(stderr, "bench-vmi: task walk failed (%ld)\n", n);
            return 1;
        }
    }
    (void)threads;
    qsort(v, (size_t)runs, sizeof(v[0]), cmp_d);
    printf("bench-vmi: %s: %ld processes, best %.0f us total (%.2f us per process), median %.0f "
           "us (%.2f us per process), %zu bytes of JSON\n",
           what, n, v[0], v[0] / (n ? n : 1), v[runs / 2], v[runs / 2] / (n ? n : 1), bytes);
    return 0;
}

static int synthetic(long count) {
    static struct synth s;
    size_t ram = (size_t)(64u << 20) + (size_t)count * 0x2800;
    ram = (ram + (1u << 30) - 1) & ~(size_t)((1u << 30) - 1); /* whole 1 GiB direct-map pages */
    if (synth_init(&s, ram, 0x2a00000))
        return 1;
    uint64_t init = synth_process(&s, 1, 0, "init", 0, 0, 1, 0, 0x400100, true);
    for (long i = 0; i < count - 1; i++) {
        char comm[32]; /* synth_process keeps 15 bytes, like the kernel */
        snprintf(comm, sizeof(comm), "proc-%ld", i);
        synth_process(&s, (int)(100 + i), init, comm, (uint32_t)(i % 1000), 0, 1, 0, 0x400000,
                      true);
    }
    struct vmi_kernel k;
    if (vmi_kernel_find(&k, &s.mem, &s.cpu, 1) || vmi_kernel_identify(&k, &s.src, NULL)) {
        fprintf(stderr, "bench-vmi: synthetic kernel not found: %s\n", k.error);
        return 1;
    }
    struct vmi_linux_tasks t;
    if (vmi_linux_tasks_init(&t, &s.src, vmi_kernel_read, &k, &k.pw))
        return 1;
    char what[64];
    snprintf(what, sizeof(what), "synthetic guest, %ld tasks", count);
    int rc = time_walks(what, &t, 7);
    synth_free(&s);
    return rc;
}

static int real_dump(const char *path) {
    static struct dump d;
    if (dump_open(&d, path, NULL)) {
        fprintf(stderr, "bench-vmi: %s\n", d.error);
        return 1;
    }
    struct vmi_mem mem;
    dump_mem(&d, &mem);
    struct vmi_arena arena = {.size = 64u << 20};
    arena.base = malloc(arena.size);
    static struct vmi_session s;
    struct vmi_run_opts o = {.processes = true, .modules = true};
    double t0 = now_us();
    int rc = vmi_open(&s, &mem, d.cpus, d.ncpus, &o, &arena, NULL);
    double t1 = now_us();
    if (rc) {
        fprintf(stderr, "bench-vmi: vmi_open failed (%d): %s\n", rc, s.kernel.error);
        return 1;
    }
    printf("bench-vmi: real dump: kernel found (%s) and auto symbols ready in %.0f us, %zu KiB of "
           "arena\n",
           s.kernel.how, t1 - t0, arena.used / 1024);
    if (vmi_linux_tasks_init(&s.tasks, &s.src, vmi_kernel_read, &s.kernel, &s.kernel.pw)) {
        fprintf(stderr, "bench-vmi: %s\n", s.tasks.error);
        return 1;
    }
    rc = time_walks("real dump (Debian 6.1 guest)", &s.tasks, 15);
    free(arena.base);
    dump_close(&d);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--synthetic"))
        return synthetic(atol(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "--dump"))
        return real_dump(argv[2]);
    fprintf(stderr, "usage: bench-vmi --synthetic N | --dump FILE\n");
    return 2;
}
