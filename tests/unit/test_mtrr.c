/* Unit tests for hv/ept/mtrr.c: the memory type of physical addresses from captured MTRR sets
 * (Bochs/OVMF, QEMU/OVMF, a real machine), the precedence rules of SDM vol. 3A 11.11.4.1
 * (fixed over variable, UC over all, WT over WB, default type), uniform-block answers checked
 * against a per-address reference, the hardware seam, guest MTRR writes and capture parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"
#include "tests/unit/test_ept_util.h"

static void load(const char *name, struct mtrr_state *s) {
    size_t len = 0;
    char *text = capture_read(name, &len);
    assert_non_null(text);
    unsigned bad;
    int err = mtrr_parse_capture(s, text, len, &bad);
    if (err)
        fprintf(stderr, "%s: %s (line %u)\n", name, mtrr_strerror(err), bad);
    assert_int_equal(err, MTRR_OK);
    free(text);
}

/* Reference: SDM 11.11.4.1 applied to one address, written as plainly as possible and
 * independently of mtrr.c's block logic. */
static uint8_t ref_type(const struct mtrr_state *s, uint64_t pa) {
    if (!s->supported || !(s->def_type & MTRR_DEF_E))
        return MTRR_TYPE_UC;
    if ((s->def_type & MTRR_DEF_FE) && (s->cap & MTRRCAP_FIX) && pa < 0x100000) {
        unsigned idx, shift;
        if (pa < 0x80000) {
            idx = 0;
            shift = (unsigned)(pa / 0x10000) * 8;
        } else if (pa < 0xC0000) {
            idx = 1 + (unsigned)((pa - 0x80000) / 0x20000);
            shift = (unsigned)(((pa - 0x80000) % 0x20000) / 0x4000) * 8;
        } else {
            idx = 3 + (unsigned)((pa - 0xC0000) / 0x8000);
            shift = (unsigned)(((pa - 0xC0000) % 0x8000) / 0x1000) * 8;
        }
        return (uint8_t)((s->fixed[idx] >> shift) & 0xFF);
    }
    uint64_t pm = ((1ull << s->maxphyaddr) - 1) & ~0xFFFull;
    bool seen[8] = {0};
    int n = 0;
    for (unsigned i = 0; i < s->var_count; i++) {
        if (!(s->var[i].mask & MTRR_PHYSMASK_VALID))
            continue;
        uint64_t m = s->var[i].mask & pm;
        if ((pa & m) == (s->var[i].base & m)) {
            uint8_t t = s->var[i].base & 0xFF;
            if (!seen[t])
                n++;
            seen[t] = true;
        }
    }
    if (n == 0)
        return s->def_type & 0xFF;
    if (seen[MTRR_TYPE_UC])
        return MTRR_TYPE_UC;
    if (n == 1)
        for (uint8_t t = 0; t < 8; t++)
            if (seen[t])
                return t;
    if (n == 2 && seen[MTRR_TYPE_WT] && seen[MTRR_TYPE_WB])
        return MTRR_TYPE_WT;
    return MTRR_TYPE_UC; /* undefined by the SDM: vigil uses UC */
}

static void expect_type(const struct mtrr_state *s, uint64_t pa, uint8_t want) {
    uint8_t got = mtrr_type_of(s, pa);
    if (got != want)
        fprintf(stderr, "pa 0x%llx: got %s want %s\n", (unsigned long long)pa, mtrr_type_name(got),
                mtrr_type_name(want));
    assert_int_equal(got, want);
    assert_int_equal(ref_type(s, pa), want);
}

static void expect_block(const struct mtrr_state *s, uint64_t base, unsigned order, bool uniform,
                         uint8_t want) {
    uint8_t t = 0xEE;
    bool u = mtrr_range_type(s, base, order, &t);
    if (u != uniform || (u && t != want))
        fprintf(stderr, "block 0x%llx/2^%u: uniform %d type %s\n", (unsigned long long)base, order,
                u, u ? mtrr_type_name(t) : "-");
    assert_int_equal(u, uniform);
    if (uniform)
        assert_int_equal(t, want);
}

static void test_bochs_ovmf(void **state) {
    (void)state;
    struct mtrr_state s;
    load("bochs-ovmf-haswell-512m.txt", &s);
    assert_int_equal(s.maxphyaddr, 40);
    assert_int_equal(s.var_count, 8);
    expect_type(&s, 0x0, MTRR_TYPE_WB);
    expect_type(&s, 0x9F000, MTRR_TYPE_WB);
    expect_type(&s, 0xA0000, MTRR_TYPE_UC); /* VGA window */
    expect_type(&s, 0xBF000, MTRR_TYPE_UC);
    expect_type(&s, 0xC0000, MTRR_TYPE_UC); /* OVMF leaves the option-ROM area UC */
    expect_type(&s, 0xFF000, MTRR_TYPE_UC);
    expect_type(&s, 0x100000, MTRR_TYPE_WB); /* RAM: default type WB */
    expect_type(&s, 0x1FFFF000, MTRR_TYPE_WB);
    expect_type(&s, 0x7FFFF000, MTRR_TYPE_WB);
    expect_type(&s, 0x80000000, MTRR_TYPE_UC); /* 32-bit MMIO hole, variable range 0 */
    expect_type(&s, 0xFEC00000, MTRR_TYPE_UC); /* IOAPIC */
    expect_type(&s, 0xFEE00000, MTRR_TYPE_UC); /* local APIC */
    expect_type(&s, 0xFFFFF000, MTRR_TYPE_UC); /* flash */
    expect_type(&s, 0x100000000, MTRR_TYPE_WB);
    expect_type(&s, 0x7FFFFF000, MTRR_TYPE_WB);
    expect_type(&s, 0x800000000, MTRR_TYPE_UC);  /* 64-bit PCI window at 32 GiB */
    expect_type(&s, 0xFFFFFF000, MTRR_TYPE_UC);  /* last page of that window */
    expect_type(&s, 0x1000000000, MTRR_TYPE_WB); /* above it: default WB */
    expect_type(&s, 0xFFFFFFF000, MTRR_TYPE_WB);
    /* Blocks: the first 2 MiB mixes fixed WB and UC; 1 MiB..2 MiB is plain RAM. */
    expect_block(&s, 0, 30, false, 0);
    expect_block(&s, 0, 21, false, 0);
    expect_block(&s, 0x100000, 20, true, MTRR_TYPE_WB);
    expect_block(&s, 0x200000, 21, true, MTRR_TYPE_WB);
    expect_block(&s, 0x40000000, 30, true, MTRR_TYPE_WB);
    expect_block(&s, 0x80000000, 31, true, MTRR_TYPE_UC);
    expect_block(&s, 0xC0000000, 30, true, MTRR_TYPE_UC);
    expect_block(&s, 0x0, 32, false, 0);
    expect_block(&s, 0x800000000, 35, true, MTRR_TYPE_UC);
    expect_block(&s, 0x0, 36, false, 0);                    /* 32..64 GiB UC inside */
    expect_block(&s, 0x1000000000, 36, true, MTRR_TYPE_WB); /* 64..128 GiB */
    expect_block(&s, 0x8000000000, 39, true, MTRR_TYPE_WB);
}

static void test_qemu_q35_and_pc(void **state) {
    (void)state;
    struct mtrr_state q, p;
    load("qemu-q35-ovmf-512m.txt", &q);
    load("qemu-pc-ovmf-3g.txt", &p);
    /* q35: MMIO from 2 GiB (variable range 0 covers 2..4 GiB). */
    expect_type(&q, 0x7FFFF000, MTRR_TYPE_WB);
    expect_type(&q, 0x80000000, MTRR_TYPE_UC);
    expect_type(&q, 0xB0000000, MTRR_TYPE_UC); /* q35 MMCONFIG */
    expect_type(&q, 0xA0000, MTRR_TYPE_UC);
    expect_type(&q, 0xE000000000, MTRR_TYPE_UC); /* 64-bit PCI window at 896 GiB */
    expect_type(&q, 0xDFFFFFF000, MTRR_TYPE_WB);
    /* pc with 3 GiB: RAM up to 3 GiB, MMIO hole 3..4 GiB, RAM again above 4 GiB. */
    expect_type(&p, 0xBFFFF000, MTRR_TYPE_WB);
    expect_type(&p, 0xC0000000, MTRR_TYPE_UC);
    expect_type(&p, 0x100000000, MTRR_TYPE_WB);
    expect_block(&p, 0x80000000, 30, true, MTRR_TYPE_WB);
    expect_block(&p, 0xC0000000, 30, true, MTRR_TYPE_UC);
    expect_block(&p, 0x0, 31, false, 0);
}

static void test_real_machine(void **state) {
    (void)state;
    struct mtrr_state s;
    load("real-surface-39bit.txt", &s);
    assert_int_equal(s.maxphyaddr, 39);
    assert_int_equal(s.var_count, 10);
    expect_type(&s, 0x9F000, MTRR_TYPE_WB);
    expect_type(&s, 0xA0000, MTRR_TYPE_UC);
    expect_type(&s, 0xC0000, MTRR_TYPE_WP); /* legacy option ROM / BIOS area */
    expect_type(&s, 0xF0000, MTRR_TYPE_WP);
    expect_type(&s, 0x90FFF000, MTRR_TYPE_WB); /* RAM below the first UC range, default WB */
    expect_type(&s, 0x91000000, MTRR_TYPE_UC);
    expect_type(&s, 0x92000000, MTRR_TYPE_UC);
    expect_type(&s, 0x9FFFF000, MTRR_TYPE_UC);
    expect_type(&s, 0xC0000000, MTRR_TYPE_UC);
    expect_type(&s, 0xFFFFF000, MTRR_TYPE_UC);
    expect_type(&s, 0x100000000, MTRR_TYPE_WB);
    expect_type(&s, 0x3FFFFFF000, MTRR_TYPE_WB);
    expect_type(&s, 0x4000000000, MTRR_TYPE_UC); /* bit 38 set: upper half of the space */
    expect_block(&s, 0x80000000, 30, false, 0);  /* RAM up to 0x91000000, then holes */
    expect_block(&s, 0x90000000, 24, true, MTRR_TYPE_WB);
    expect_block(&s, 0x91000000, 24, true, MTRR_TYPE_UC);
    expect_block(&s, 0x90E00000, 21, true, MTRR_TYPE_WB);
    expect_block(&s, 0xC0000000, 30, true, MTRR_TYPE_UC);
    expect_block(&s, 0x4000000000, 38, true, MTRR_TYPE_UC);
    expect_block(&s, 0x0, 20, false, 0);
}

/* A small synthetic state: E and FE set, WB default unless changed, 8 variable ranges. */
static void synth(struct mtrr_state *s, uint8_t def) {
    memset(s, 0, sizeof(*s));
    s->supported = true;
    s->maxphyaddr = 36;
    s->cap = 8 | MTRRCAP_FIX | MTRRCAP_WC;
    s->var_count = 8;
    s->def_type = MTRR_DEF_E | MTRR_DEF_FE | def;
    for (int i = 0; i < MTRR_NUM_FIXED_MSRS; i++)
        s->fixed[i] = 0x0606060606060606ull;
}
static void setvar(struct mtrr_state *s, int i, uint64_t base, uint64_t size, uint8_t type) {
    uint64_t pm = ((1ull << s->maxphyaddr) - 1) & ~0xFFFull;
    s->var[i].base = base | type;
    s->var[i].mask = (~(size - 1) & pm) | MTRR_PHYSMASK_VALID;
}

static void test_precedence(void **state) {
    (void)state;
    struct mtrr_state s;
    synth(&s, MTRR_TYPE_UC);
    setvar(&s, 0, 0x0, 0x80000000, MTRR_TYPE_WB);       /* 0..2G WB */
    setvar(&s, 1, 0x10000000, 0x1000000, MTRR_TYPE_UC); /* UC inside WB: UC wins */
    setvar(&s, 2, 0x20000000, 0x1000000, MTRR_TYPE_WT); /* WT inside WB: WT wins */
    setvar(&s, 3, 0x30000000, 0x1000000, MTRR_TYPE_WB); /* WB twice: WB */
    setvar(&s, 4, 0x40000000, 0x1000000, MTRR_TYPE_WC); /* WC with WB: undefined -> UC */
    setvar(&s, 5, 0x90000000, 0x1000000, MTRR_TYPE_WP); /* alone above RAM: WP */
    setvar(&s, 6, 0x90000000, 0x800000, MTRR_TYPE_WT);  /* WP with WT: undefined -> UC */
    expect_type(&s, 0x0FFFF000, MTRR_TYPE_WB);
    expect_type(&s, 0x10000000, MTRR_TYPE_UC);
    expect_type(&s, 0x10FFF000, MTRR_TYPE_UC);
    expect_type(&s, 0x11000000, MTRR_TYPE_WB);
    expect_type(&s, 0x20000000, MTRR_TYPE_WT);
    expect_type(&s, 0x30000000, MTRR_TYPE_WB);
    expect_type(&s, 0x40000000, MTRR_TYPE_UC);
    expect_type(&s, 0x90000000, MTRR_TYPE_UC);
    expect_type(&s, 0x90800000, MTRR_TYPE_WP);
    expect_type(&s, 0x80000000, MTRR_TYPE_UC); /* default */
    /* Fixed ranges beat variable ones in the first MiB: make 0xA0000 UC by the fixed MSR while
     * variable range 0 says WB. */
    s.fixed[2] = 0;
    expect_type(&s, 0xA0000, MTRR_TYPE_UC);
    expect_type(&s, 0x9F000, MTRR_TYPE_WB);
    /* FE clear: the variable ranges cover the first MiB. */
    s.def_type &= ~MTRR_DEF_FE;
    expect_type(&s, 0xA0000, MTRR_TYPE_WB);
    expect_block(&s, 0, 21, true, MTRR_TYPE_WB);
    /* Fixed ranges not supported: FE is meaningless. */
    s.def_type |= MTRR_DEF_FE;
    s.cap &= ~MTRRCAP_FIX;
    expect_type(&s, 0xA0000, MTRR_TYPE_WB);
    /* E clear: UC everywhere. */
    s.def_type &= ~MTRR_DEF_E;
    expect_type(&s, 0x0, MTRR_TYPE_UC);
    expect_type(&s, 0x30000000, MTRR_TYPE_UC);
    expect_block(&s, 0, 35, true, MTRR_TYPE_UC);
    /* Invalid ranges (valid bit clear) are ignored. */
    synth(&s, MTRR_TYPE_WB);
    setvar(&s, 0, 0x0, 0x80000000, MTRR_TYPE_UC);
    s.var[0].mask &= ~MTRR_PHYSMASK_VALID;
    expect_type(&s, 0x1000000, MTRR_TYPE_WB);
    /* Blocks where a partial range does not change the result are still uniform. */
    synth(&s, MTRR_TYPE_WB);
    setvar(&s, 0, 0x0, 0x40000000, MTRR_TYPE_UC);
    setvar(&s, 1, 0x200000, 0x200000, MTRR_TYPE_WB); /* inside UC: no change */
    expect_block(&s, 0x0, 30, false, 0);             /* fixed WB below 1 MiB */
    expect_block(&s, 0x200000, 21, true, MTRR_TYPE_UC);
    setvar(&s, 0, 0x40000000, 0x40000000, MTRR_TYPE_WT);
    setvar(&s, 1, 0x40000000, 0x200000, MTRR_TYPE_WB); /* WB under WT: still WT */
    expect_block(&s, 0x40000000, 30, true, MTRR_TYPE_WT);
    setvar(&s, 1, 0x40000000, 0x200000, MTRR_TYPE_WC); /* WC under WT: mixed */
    expect_block(&s, 0x40000000, 30, false, 0);
    expect_block(&s, 0x40000000, 21, true, MTRR_TYPE_UC);
    expect_block(&s, 0x40200000, 21, true, MTRR_TYPE_WT);
}

/* Non-contiguous masks are legal (SDM 11.11.4 discourages them): compare every answer with the
 * reference over random states and blocks. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_random_against_reference(void **state) {
    (void)state;
    static const uint8_t types[] = {MTRR_TYPE_UC, MTRR_TYPE_WC, MTRR_TYPE_WT, MTRR_TYPE_WP,
                                    MTRR_TYPE_WB};
    unsigned uniform_seen = 0, mixed_seen = 0;
    for (int round = 0; round < 300; round++) {
        struct mtrr_state s;
        synth(&s, types[rnd() % 5]);
        s.maxphyaddr = 36;
        if (rnd() % 4 == 0)
            s.def_type &= ~MTRR_DEF_FE;
        for (int b = 0; b < 8 * MTRR_NUM_FIXED_MSRS; b++)
            ((uint8_t *)s.fixed)[b] = rnd() % 3 ? MTRR_TYPE_WB : types[rnd() % 5];
        unsigned nvar = 1 + rnd() % 8;
        for (unsigned i = 0; i < nvar; i++) {
            unsigned order = 12 + rnd() % 24;
            uint64_t base = (rnd() << 12) & ((1ull << 36) - 1) & ~((1ull << order) - 1);
            setvar(&s, (int)i, base, 1ull << order, types[rnd() % 5]);
            if (rnd() % 5 == 0) /* punch a hole into the mask: non-contiguous */
                s.var[i].mask &= ~(1ull << (12 + rnd() % 24));
        }
        for (int q = 0; q < 40; q++) {
            unsigned order = 12 + rnd() % 10; /* up to 2 MiB: checked page by page */
            uint64_t base = (rnd() % 4 == 0 ? rnd() % 0x100000 : rnd()) & ((1ull << 36) - 1) &
                            ~((1ull << order) - 1);
            uint8_t t;
            bool u = mtrr_range_type(&s, base, order, &t);
            uint8_t first = ref_type(&s, base);
            bool ref_uniform = true;
            for (uint64_t pa = base; pa < base + (1ull << order); pa += 0x1000) {
                uint8_t r = ref_type(&s, pa);
                if (r != first)
                    ref_uniform = false;
                if (order == 12)
                    assert_int_equal(mtrr_type_of(&s, pa), r);
            }
            if (u) {
                /* A uniform answer must be right; a mixed answer is allowed to be cautious. */
                assert_true(ref_uniform);
                assert_int_equal(t, first);
                uniform_seen++;
            } else {
                mixed_seen++;
            }
        }
    }
    assert_true(uniform_seen > 1000);
    assert_true(mixed_seen > 100);
}

static void test_read_through_seam(void **state) {
    (void)state;
    size_t len = 0;
    char *text = capture_read("real-surface-39bit.txt", &len);
    assert_non_null(text);
    struct mtrr_state parsed, hw;
    assert_int_equal(mtrr_parse_capture(&parsed, text, len, NULL), MTRR_OK);
    fake_reset();
    uint64_t v = 0;
    assert_true(capture_value(text, "cpuid.0x80000008.eax", &v));
    fake_set_cpuid(0x80000008, 0, (uint32_t)v, 0, 0, 0);
    fake_set_cpuid(0x80000000, 0, 0x80000008, 0, 0, 0);
    fake_set_cpuid(1, 0, 0, 0, 0, 1u << 12);
    for (uint32_t msr = 0; msr < 0x300; msr++) {
        char key[32];
        snprintf(key, sizeof(key), "msr.0x%x", msr);
        if (capture_value(text, key, &v))
            fake_set_msr(msr, v);
    }
    assert_int_equal(mtrr_read_hw(&hw), MTRR_OK);
    assert_int_equal(hw.maxphyaddr, 39);
    assert_int_equal(hw.var_count, parsed.var_count);
    assert_memory_equal(hw.fixed, parsed.fixed, sizeof(hw.fixed));
    assert_memory_equal(hw.var, parsed.var, sizeof(hw.var));
    assert_int_equal(hw.def_type, parsed.def_type);
    for (uint64_t pa = 0; pa < (1ull << 39); pa += 0x13579B000ull)
        assert_int_equal(mtrr_type_of(&hw, pa), mtrr_type_of(&parsed, pa));
    /* No CPUID.80000008: MAXPHYADDR 36. No MTRR support: UC everywhere, no MSR read needed. */
    fake_reset();
    fake_set_cpuid(1, 0, 0, 0, 0, 0);
    assert_int_equal(mtrr_read_hw(&hw), MTRR_OK);
    assert_int_equal(hw.maxphyaddr, 36);
    assert_int_equal(mtrr_type_of(&hw, 0x100000), MTRR_TYPE_UC);
    /* A VCNT beyond what vigil holds is an error, not an overflow. */
    fake_reset();
    fake_set_cpuid(1, 0, 0, 0, 0, 1u << 12);
    fake_set_msr(MSR_IA32_MTRRCAP, 0xFF);
    assert_int_equal(mtrr_read_hw(&hw), MTRR_ERR_TOO_MANY_VAR);
    assert_int_equal(hw.var_count, MTRR_MAX_VAR);
    free(text);
}

static void test_guest_writes(void **state) {
    (void)state;
    struct mtrr_state s;
    load("bochs-ovmf-haswell-512m.txt", &s);
    struct mtrr_state before = s;
    /* Rejected writes (the processor would #GP) leave the state alone. */
    assert_int_equal(mtrr_write_msr(&s, MSR_IA32_MTRR_DEF_TYPE, 0xC02), MTRR_ERR_BAD_TYPE);
    assert_int_equal(mtrr_write_msr(&s, MSR_IA32_MTRR_DEF_TYPE, 0x1C06), MTRR_ERR_RESERVED);
    assert_int_equal(mtrr_write_msr(&s, MSR_IA32_MTRR_FIX64K_00000, 0x0606060606060703ull),
                     MTRR_ERR_BAD_TYPE);
    assert_int_equal(mtrr_write_msr(&s, 0x200, 0x10000000000ull | 6), MTRR_ERR_RESERVED);
    assert_int_equal(mtrr_write_msr(&s, 0x201, 0x100ull), MTRR_ERR_RESERVED);
    assert_int_equal(mtrr_write_msr(&s, MSR_IA32_MTRRCAP, 0), MTRR_ERR_NOT_MTRR);
    assert_int_equal(mtrr_write_msr(&s, 0x210, 0), MTRR_ERR_NOT_MTRR); /* VCNT is 8 */
    assert_int_equal(mtrr_write_msr(&s, 0x277, 0), MTRR_ERR_NOT_MTRR); /* PAT is not an MTRR */
    assert_memory_equal(&s, &before, sizeof(s));
    /* Accepted writes change the answers. */
    assert_true(mtrr_is_mtrr_msr(&s, 0x20F));
    assert_int_equal(mtrr_write_msr(&s, 0x204, 0x10000000 | MTRR_TYPE_WT), MTRR_OK);
    assert_int_equal(mtrr_write_msr(&s, 0x205, 0xFFFF000000ull | 0x800), MTRR_OK);
    expect_type(&s, 0x10000000, MTRR_TYPE_WT);
    assert_int_equal(mtrr_write_msr(&s, MSR_IA32_MTRR_DEF_TYPE, 0x406), MTRR_OK); /* E = 0 */
    expect_type(&s, 0x100000, MTRR_TYPE_UC);
    /* WC only when MTRRCAP.WC. */
    s.cap &= ~MTRRCAP_WC;
    assert_int_equal(mtrr_write_msr(&s, 0x204, 0x10000000 | MTRR_TYPE_WC), MTRR_ERR_BAD_TYPE);
}

static void test_parse_errors(void **state) {
    (void)state;
    struct mtrr_state s;
    unsigned bad = 0;
    const char *t1 = "# c\nmsr.0xfe=0x508\nmsr.0x2ff=zz\n";
    assert_int_equal(mtrr_parse_capture(&s, t1, strlen(t1), &bad), MTRR_ERR_PARSE);
    assert_int_equal(bad, 3);
    const char *t2 = "msr.0xfe 0x508\n";
    assert_int_equal(mtrr_parse_capture(&s, t2, strlen(t2), &bad), MTRR_ERR_PARSE);
    assert_int_equal(bad, 1);
    const char *t3 = "cpuid.0x80000000.eax=0x80000008\ncpuid.0x80000008.eax=0x3080\n";
    assert_int_equal(mtrr_parse_capture(&s, t3, strlen(t3), &bad), MTRR_ERR_MAXPHYADDR);
    const char *t4 = "msr.0xfe=0x50a\nmsr.0x2ff=0xc06\nmsr.0x201=0x800\nmsr.0x200=0x3\n";
    assert_int_equal(mtrr_parse_capture(&s, t4, strlen(t4), &bad), MTRR_ERR_BAD_TYPE);
    assert_string_equal(mtrr_strerror(MTRR_ERR_BAD_TYPE), "reserved memory type");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bochs_ovmf),
        cmocka_unit_test(test_qemu_q35_and_pc),
        cmocka_unit_test(test_real_machine),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_read_through_seam),
        cmocka_unit_test(test_guest_writes),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
