/* Test helper for the EPT unit tests: a page pool in a malloc'd, 4 KiB-aligned buffer whose
 * "physical" addresses start at a fake base far from its virtual address, so any place where
 * the code under test stores a virtual address in an entry (or follows a physical one without
 * translating) shows up as a wrong walk. */
#ifndef VIGIL_TEST_EPT_POOL_H
#define VIGIL_TEST_EPT_POOL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ept.h"

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
    memset(tp->buf, 0xCC, npages * 4096); /* ept_pool_alloc must zero */
    int err = ept_pool_init(&tp->pool, tp->buf, npages, test_v2p, tp);
    if (err)
        abort();
}

static inline void test_pool_free(struct test_pool *tp) {
    free(tp->buf);
    tp->buf = NULL;
}

/* An independent EPT walk over the fake physical addresses: returns the leaf entry for gpa and
 * its level (1..3), 0 when unmapped, and fails (returns ~0) on an entry that is not a pool page. */
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

/* The host-physical address the walk maps gpa to. */
static inline uint64_t test_target(uint64_t leaf, unsigned level, uint64_t gpa) {
    uint64_t size = 1ull << (12 + 9 * (level - 1));
    return (leaf & 0x000FFFFFFFFFF000ull & ~(size - 1)) | (gpa & (size - 1));
}

#endif
