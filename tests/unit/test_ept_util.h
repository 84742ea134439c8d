/* Helpers shared by the MTRR/EPT unit tests (include after <cmocka.h>):
 *  - captured MTRR sets from tests/data/mtrr/ (path relative to the repository root, where
 *    `make test-unit` runs; VIGIL_ROOT overrides);
 *  - a page pool in a malloc'd, 4 KiB-aligned buffer whose "physical" addresses start at a fake
 *    base far from its virtual address, so any place where the code under test stores a virtual
 *    address in an entry (or follows a physical one without translating) shows up as a wrong
 *    walk, plus an independent EPT walker over those fake physical addresses;
 *  - a report sink into a buffer. */
#ifndef VIGIL_TEST_EPT_UTIL_H
#define VIGIL_TEST_EPT_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/report.h"
#include "hv/ept/ept.h"
#include "hv/ept/mtrr.h"

/* --- captures ------------------------------------------------------------------------------ */

/* Reads the file into a malloc'd buffer; NULL (and a message) when it is missing. */
static inline char *capture_read(const char *name, size_t *len) {
    const char *root = getenv("VIGIL_ROOT");
    char path[512];
    snprintf(path, sizeof(path), "%s%stests/data/mtrr/%s", root ? root : "", root ? "/" : "", name);
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (run from the repository root or set VIGIL_ROOT)\n", path);
        return NULL;
    }
    char *buf = malloc(1 << 16);
    *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = 0;
    return buf;
}

/* The value of "key=value" in a capture, or false. */
static inline bool capture_value(const char *text, const char *key, uint64_t *v) {
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            *v = strtoull(p + kl + 1, NULL, 0);
            return true;
        }
    }
    return false;
}

/* IA32_VMX_EPT_VPID_CAP of Bochs's haswell model (tests/data/mtrr/bochs-ovmf-haswell-512m.txt),
 * used for captures taken without VMX. */
#define TEST_BOCHS_EPT_VPID_CAP 0x00000f0106334141ull

/* Parses a capture into *m and its EPT capability into *caps; fails the test on errors. */
static inline void test_load_capture(const char *name, struct mtrr_state *m,
                                     struct ept_caps *caps) {
    size_t len = 0;
    char *text = capture_read(name, &len);
    assert_non_null(text);
    assert_int_equal(mtrr_parse_capture(m, text, len, NULL), MTRR_OK);
    uint64_t cap = 0;
    if (!capture_value(text, "msr.0x48c", &cap))
        cap = TEST_BOCHS_EPT_VPID_CAP;
    ept_caps_decode(cap, caps);
    free(text);
}

/* --- pool ---------------------------------------------------------------------------------- */

#define TEST_FAKE_PHYS_BASE 0x3A5000000ull

struct test_pool {
    uint8_t *buf;
    size_t npages;
    struct ept_pool pool;
};

static inline uint64_t test_v2p(void *ctx, const void *v) {
    struct test_pool *tp = ctx;
    return TEST_FAKE_PHYS_BASE + (uint64_t)((const uint8_t *)v - tp->buf);
}

static inline void *test_p2v(struct test_pool *tp, uint64_t phys) {
    if (phys < TEST_FAKE_PHYS_BASE || phys >= TEST_FAKE_PHYS_BASE + tp->npages * 4096)
        return NULL;
    return tp->buf + (phys - TEST_FAKE_PHYS_BASE);
}

static inline void test_pool_init(struct test_pool *tp, size_t npages) {
    tp->npages = npages;
    tp->buf = aligned_alloc(4096, npages * 4096);
    assert_non_null(tp->buf);
    memset(tp->buf, 0xCC, npages * 4096); /* ept_pool_alloc must zero */
    assert_int_equal(ept_pool_init(&tp->pool, tp->buf, npages, test_v2p, tp), EPT_OK);
}

static inline void test_pool_free(struct test_pool *tp) {
    free(tp->buf);
    tp->buf = NULL;
}

/* Loads a capture, makes a pool of npages and builds the full map; fails the test on errors. */
static inline void test_build(const char *name, size_t npages, struct test_pool *tp, struct ept *e,
                              struct mtrr_state *m, struct ept_caps *caps) {
    test_load_capture(name, m, caps);
    test_pool_init(tp, npages);
    assert_int_equal(ept_build(e, &tp->pool, caps, m, 0), EPT_OK);
}

/* An independent EPT walk over the fake physical addresses: returns the leaf entry for gpa and
 * its level (1..3), 0 when unmapped, and ~0 on an entry that is not a pool page. */
static inline uint64_t test_walk(struct test_pool *tp, uint64_t eptp, uint64_t gpa,
                                 unsigned *level) {
    uint64_t *table = test_p2v(tp, eptp & 0x000FFFFFFFFFF000ull);
    if (!table)
        return ~0ull;
    for (unsigned l = 4; l >= 1; l--) {
        uint64_t e = table[(gpa >> (12 + 9 * (l - 1))) & 511];
        if (l == 1 || (l <= 3 && (e & (1ull << 7)))) {
            *level = l;
            return e;
        }
        if (!(e & 7))
            return 0;
        table = test_p2v(tp, e & 0x000FFFFFFFFFF000ull);
        if (!table)
            return ~0ull;
    }
    return 0;
}

/* The leaf entry mapping gpa in e's tables (fails the test when the walk finds none). */
static inline uint64_t test_leaf(struct test_pool *tp, const struct ept *e, uint64_t gpa) {
    unsigned l = 0;
    uint64_t leaf = test_walk(tp, ept_eptp(e), gpa, &l);
    assert_true(l >= 1 && l <= 3);
    return leaf;
}

/* The host-physical address the walk maps gpa to. */
static inline uint64_t test_target(uint64_t leaf, unsigned level, uint64_t gpa) {
    uint64_t size = 1ull << (12 + 9 * (level - 1));
    return (leaf & 0x000FFFFFFFFFF000ull & ~(size - 1)) | (gpa & (size - 1));
}

/* --- report output ------------------------------------------------------------------------- */

static char test_out[1 << 16] __attribute__((unused));
static size_t test_out_len __attribute__((unused));

static inline void test_out_reset(void) {
    test_out_len = 0;
    test_out[0] = 0;
}

static inline void test_sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    if (test_out_len + n < sizeof(test_out)) {
        memcpy(test_out + test_out_len, d, n);
        test_out_len += n;
        test_out[test_out_len] = 0;
    }
}

#endif
