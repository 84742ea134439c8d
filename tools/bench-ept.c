/* bench-ept: EPT build time and the page-size mix for a captured MTRR set (tests/data/mtrr/).
 *
 *   build/bench-ept CAPTURE [--maxphyaddr N] [--no-1g] [--no-2m] [--reps N]
 *   build/bench-ept          the standard set `make bench` runs (from the repository root)
 *
 * Builds the identity map with hv/ept/ept.c as the hypervisor would (the EPT capability comes from
 * the capture's msr.0x48c, or Bochs haswell's value when the capture has none), prints the leaf
 * counts by size, table pages and memory, and the median build time over the repetitions.
 * The VMX instructions ept.c can reach go through the hardware seam, here tests/fakes/hw_fake.c
 * (none is executed by a build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/ept/ept.h"
#include "hv/ept/mtrr.h"

#define BOCHS_EPT_VPID_CAP 0x00000f0106334141ull

static uint64_t v2p(void *ctx, const void *v) {
    return (uint64_t)(uintptr_t)v - (uint64_t)(uintptr_t)ctx + 0x100000000ull;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = 0;
    return buf;
}

static bool find_value(const char *text, const char *key, uint64_t *v) {
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            *v = strtoull(p + kl + 1, NULL, 0);
            return true;
        }
    return false;
}

static int bench_one(int argc, char **argv);

/* The standard set: a real machine's MTRRs as captured (39 bits), without 1 GiB pages, and with
 * MAXPHYADDR 46; Bochs/OVMF and QEMU q35/OVMF at 39 and 46 bits. A capture's masks only cover
 * its own MAXPHYADDR, so at 46 bits its variable ranges repeat above (as hardware would do with
 * those MSR values): a stress case for the splitting, not a real layout. */
static int bench_suite(const char *argv0) {
    static const char *const runs[][4] = {
        {"tests/data/mtrr/real-surface-39bit.txt", NULL},
        {"tests/data/mtrr/real-surface-39bit.txt", "--no-1g", NULL},
        {"tests/data/mtrr/real-surface-39bit.txt", "--maxphyaddr", "46", NULL},
        {"tests/data/mtrr/bochs-ovmf-haswell-512m.txt", "--maxphyaddr", "39", NULL},
        {"tests/data/mtrr/bochs-ovmf-haswell-512m.txt", "--maxphyaddr", "46", NULL},
        {"tests/data/mtrr/qemu-q35-ovmf-512m.txt", "--maxphyaddr", "46", NULL},
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        char *argv[6] = {(char *)argv0};
        int argc = 1;
        for (int j = 0; j < 4 && runs[i][j]; j++)
            argv[argc++] = (char *)runs[i][j];
        int rc = bench_one(argc, argv);
        if (rc)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv) {
    return argc == 1 ? bench_suite(argv[0]) : bench_one(argc, argv);
}

static int bench_one(int argc, char **argv) {
    const char *path = NULL;
    int maxphy = 0, reps = 5;
    bool no1g = false, no2m = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--maxphyaddr") && i + 1 < argc)
            maxphy = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-1g"))
            no1g = true;
        else if (!strcmp(argv[i], "--no-2m"))
            no2m = true;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: %s CAPTURE [--maxphyaddr N] [--no-1g] [--no-2m] [--reps N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!path || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: %s CAPTURE [--maxphyaddr N] [--no-1g] [--no-2m] [--reps N]\n",
                argv[0]);
        return 2;
    }
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
        fprintf(stderr, "bench-ept: cannot read %s\n", path);
        return 1;
    }
    struct mtrr_state m;
    unsigned bad;
    int err = mtrr_parse_capture(&m, text, len, &bad);
    if (err) {
        fprintf(stderr, "bench-ept: %s: %s (line %u)\n", path, mtrr_strerror(err), bad);
        return 1;
    }
    uint64_t capv;
    bool cap_captured = find_value(text, "msr.0x48c", &capv);
    if (!cap_captured)
        capv = BOCHS_EPT_VPID_CAP;
    free(text);
    if (maxphy)
        m.maxphyaddr = (uint8_t)maxphy;
    struct ept_caps caps;
    ept_caps_decode(capv, &caps);
    caps.pages_1g = caps.pages_1g && !no1g;
    caps.pages_2m = caps.pages_2m && !no2m;

    /* Grow the pool until the build fits. */
    size_t npages = 256;
    void *buf = NULL;
    struct ept_pool pool;
    struct ept e;
    double *times = calloc((size_t)reps, sizeof(double));
    for (;;) {
        free(buf);
        buf = aligned_alloc(4096, npages * 4096);
        if (!buf || ept_pool_init(&pool, buf, npages, v2p, buf)) {
            fprintf(stderr, "bench-ept: cannot allocate %zu pages\n", npages);
            return 1;
        }
        err = ept_build(&e, &pool, &caps, &m, 0);
        if (err != EPT_ERR_NOMEM)
            break;
        if (npages >= (1u << 20)) {
            fprintf(stderr, "bench-ept: more than %zu table pages needed\n", npages);
            return 1;
        }
        npages *= 4;
    }
    if (err) {
        fprintf(stderr, "bench-ept: build: %s\n", ept_strerror(err));
        return 1;
    }
    for (int r = 0; r < reps; r++) {
        ept_pool_init(&pool, buf, npages, v2p, buf);
        double t0 = now_ms();
        err = ept_build(&e, &pool, &caps, &m, 0);
        times[r] = now_ms() - t0;
        if (err) {
            fprintf(stderr, "bench-ept: build: %s\n", ept_strerror(err));
            return 1;
        }
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    printf("bench-ept %s maxphyaddr=%u 1g=%s 2m=%s (caps %s): leaves 1G=%llu 2M=%llu 4K=%llu, "
           "tables=%llu (%llu KiB)%s, build %.3f ms (median of %d, min %.3f)\n",
           name, m.maxphyaddr, caps.pages_1g ? "yes" : "no", caps.pages_2m ? "yes" : "no",
           cap_captured ? "captured" : "Bochs haswell", (unsigned long long)e.stats.pages_1g,
           (unsigned long long)e.stats.pages_2m, (unsigned long long)e.stats.pages_4k,
           (unsigned long long)e.stats.tables, (unsigned long long)e.stats.tables * 4,
           e.limit_truncated ? " [limited to 2^48: 4-level EPT]" : "", times[reps / 2], reps,
           times[0]);
    free(times);
    free(buf);
    return 0;
}
