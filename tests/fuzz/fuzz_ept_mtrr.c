/* libFuzzer target for the guest-controlled inputs of the EPT code: MTRR MSR writes (values the
 * guest chooses; rejected ones must leave the state alone) followed by retyping of a built EPT,
 * and EPT-violation exits with arbitrary qualifications and addresses. Checks, besides memory
 * safety: every uniform-block answer of mtrr_range_type agrees with mtrr_type_of page by page,
 * and after ept_apply_mtrr every sampled address still maps to itself with the MTRR type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/arch/vmx/vmx_defs.h"
#include "hv/ept/ept_perm.h"
#include "hv/ept/mtrr.h"
#include "tests/fakes/hw_fake.h"

#define POOL_PAGES 32
#define FAKE_PHYS 0x7000000000ull

static uint8_t pool_mem[POOL_PAGES * 4096] __attribute__((aligned(4096)));

static uint64_t v2p(void *ctx, const void *v) {
    (void)ctx;
    return FAKE_PHYS + (uint64_t)((const uint8_t *)v - pool_mem);
}

struct input {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct input *in, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)(in->n ? *in->p : 0) << (8 * i);
        if (in->n) {
            in->p++;
            in->n--;
        }
    }
    return v;
}

/* The Bochs/OVMF set of tests/data/mtrr/bochs-ovmf-haswell-512m.txt at MAXPHYADDR 36; the map
 * covers the first 4 GiB so that a run stays fast. */
static void baseline(struct mtrr_state *s) {
    memset(s, 0, sizeof(*s));
    s->supported = true;
    s->maxphyaddr = 36;
    s->cap = 0x508;
    s->def_type = 0xC06;
    s->fixed[0] = s->fixed[1] = 0x0606060606060606ull;
    s->var_count = 8;
    s->var[0].base = 0x80000000;
    s->var[0].mask = 0xF80000800ull;
}

static void check_blocks(const struct mtrr_state *s, struct input *in) {
    for (int q = 0; q < 4; q++) {
        unsigned order = 12 + (unsigned)take(in, 1) % 10;
        uint64_t base = (take(in, 5) << 12) & ((1ull << 36) - 1) & ~((1ull << order) - 1);
        uint8_t t;
        if (!mtrr_range_type(s, base, order, &t))
            continue;
        for (uint64_t pa = base; pa < base + (1ull << order); pa += 0x1000)
            if (mtrr_type_of(s, pa) != t)
                abort();
    }
}

static void check_map(const struct ept *e, const struct mtrr_state *s, struct input *in) {
    for (int q = 0; q < 16; q++) {
        uint64_t gpa = (take(in, 5) << 12) % e->limit;
        unsigned level;
        uint64_t *leaf = ept_find_leaf(e, gpa, &level);
        if (!leaf)
            abort();
        uint64_t size = 1ull << (12 + 9 * (level - 1));
        if ((*leaf & EPTE_ADDR_MASK & ~(size - 1)) != (gpa & ~(size - 1)))
            abort();
        if (((*leaf & EPTE_MEMTYPE_MASK) >> EPTE_MEMTYPE_SHIFT) != mtrr_type_of(s, gpa))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct input in = {data, size};
    struct mtrr_state s;
    baseline(&s);
    fake_reset();
    struct ept_caps caps;
    ept_caps_decode(0x0000000006334141ull, &caps);
    caps.pages_1g = take(&in, 1) & 1;
    struct ept_pool pool;
    struct ept e;
    if (ept_pool_init(&pool, pool_mem, POOL_PAGES, v2p, NULL) ||
        ept_build(&e, &pool, &caps, &s, 1ull << 32))
        abort(); /* the baseline always fits */

    /* Guest MTRR writes. */
    unsigned writes = (unsigned)take(&in, 1) % 12;
    for (unsigned i = 0; i < writes; i++) {
        static const uint32_t msrs[] = {0x2FF, 0x250, 0x258, 0x259, 0x268, 0x26F, 0x200,
                                        0x201, 0x202, 0x203, 0x20E, 0x20F, 0x210, 0xFE};
        uint32_t msr = msrs[take(&in, 1) % (sizeof(msrs) / sizeof(msrs[0]))];
        uint64_t value = take(&in, 8);
        struct mtrr_state before = s;
        if (mtrr_write_msr(&s, msr, value) != MTRR_OK && memcmp(&before, &s, sizeof(s)))
            abort(); /* a refused write changed the state */
    }
    check_blocks(&s, &in);
    int err = ept_apply_mtrr(&e, &s);
    if (err == EPT_OK)
        check_map(&e, &s, &in);
    else if (err != EPT_ERR_NOMEM)
        abort();

    /* Violations with arbitrary exit information on a page with restricted rights. */
    struct ept_perm p;
    struct ept_vcpu v;
    ept_perm_init(&p, &e, &s, NULL, NULL);
    ept_perm_add_vcpu(&p, &v, 0);
    ept_perm_set(&p, &v, 0x1000, EPT_PERM_R);
    unsigned exits = (unsigned)take(&in, 1) % 8;
    for (unsigned i = 0; i < exits; i++) {
        fake_set_vmcs(VMCS_EXIT_QUALIFICATION, take(&in, 8));
        uint64_t gpa = take(&in, 1) & 1 ? 0x1000 + take(&in, 2) % 0x1000 : take(&in, 8);
        fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
        fake_set_vmcs(VMCS_GUEST_LINEAR_ADDR, take(&in, 8));
        fake_set_vmcs(VMCS_GUEST_RIP, take(&in, 8));
        ept_handle_violation(&p, &v, NULL);
        if (take(&in, 1) & 1)
            ept_handle_mtf(&p, &v);
    }
    while (v.nwin)
        ept_handle_mtf(&p, &v);
    unsigned perms;
    if (ept_perm_get(&p, 0x1000, &perms) != EPT_OK || perms != EPT_PERM_R)
        abort();
    return 0;
}
