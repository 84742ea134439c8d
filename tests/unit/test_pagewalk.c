/* Unit tests for vmi/pagewalk.c over page tables built in a test buffer: 4 KiB / 2 MiB / 1 GiB
 * pages, 4- and 5-level paging, non-present entries, reserved bits, PCID bits in CR3, the KPTI
 * kernel/user PGD pair and reads across page boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmi/pagewalk.h"
#include "vmi/vmi_symsrc.h"

#define MEM_SIZE (4u << 20) /* 4 MiB of "guest RAM" */
static uint8_t ram[MEM_SIZE];
static uint64_t next_frame;

static int ram_read(void *ctx, uint64_t pa, void *buf, size_t len) {
    (void)ctx;
    if (pa >= MEM_SIZE || len > MEM_SIZE - pa)
        return VMI_EREAD;
    memcpy(buf, ram + pa, len);
    return 0;
}
static const struct vmi_mem mem = {.ctx = NULL, .read_phys = ram_read, .phys_end = MEM_SIZE};

#define P 1ull
#define RW 2ull
#define US 4ull
#define PS 0x80ull
#define XD (1ull << 63)

static uint64_t frame(void) {
    uint64_t f = next_frame;
    next_frame += 0x1000;
    assert_true(next_frame <= MEM_SIZE);
    memset(ram + f, 0, 0x1000);
    return f;
}
static void set_entry(uint64_t table, unsigned idx, uint64_t v) {
    memcpy(ram + table + idx * 8, &v, 8);
}
static uint64_t get_entry(uint64_t table, unsigned idx) {
    uint64_t v;
    memcpy(&v, ram + table + idx * 8, 8);
    return v;
}
/* Returns the table at the next level under table[idx], creating it. */
static uint64_t sub(uint64_t table, unsigned idx) {
    uint64_t e = get_entry(table, idx);
    if (e & P)
        return e & 0x000ffffffffff000ull;
    uint64_t f = frame();
    set_entry(table, idx, f | P | RW | US);
    return f;
}
static unsigned ix(uint64_t va, int level) {
    return (unsigned)((va >> (12 + 9 * (level - 1))) & 0x1ff);
}
/* Maps va -> pa with a leaf at the given level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB). */
static void map(uint64_t root, bool la57, uint64_t va, uint64_t pa, int leaf_level,
                uint64_t flags) {
    uint64_t t = root;
    for (int level = la57 ? 5 : 4; level > leaf_level; level--)
        t = sub(t, ix(va, level));
    set_entry(t, ix(va, leaf_level), pa | flags | (leaf_level > 1 ? PS : 0));
}

static int setup(void **state) {
    (void)state;
    memset(ram, 0, sizeof(ram));
    next_frame = 0x1000;
    return 0;
}

static void test_4k_2m_1g(void **state) {
    (void)state;
    uint64_t root = frame();
    map(root, false, 0x400000, 0x200000, 1, P | RW | US);
    map(root, false, 0xffffffff81000000ull, 0x200000, 2, P | RW);
    map(root, false, 0x7f0000000000ull, 0x0, 3, P | US);
    strcpy((char *)ram + 0x200123, "hello");
    struct pagewalk pw;
    pagewalk_init(&pw, &mem, root, 0, 0, false);
    struct pagewalk_xlate x;
    assert_int_equal(pagewalk_translate(&pw, 0x400123, &x), 0);
    assert_int_equal(x.pa, 0x200123);
    assert_int_equal(x.page_size, 0x1000);
    assert_true(x.user);
    assert_int_equal(pagewalk_translate(&pw, 0xffffffff81000123ull, &x), 0);
    assert_int_equal(x.pa, 0x200123);
    assert_int_equal(x.page_size, 0x200000);
    assert_false(x.user);
    assert_int_equal(pagewalk_translate(&pw, 0xffffffff811fffffull, &x), 0);
    assert_int_equal(x.pa, 0x3fffff);
    assert_int_equal(pagewalk_translate(&pw, 0x7f0000200123ull, &x), 0);
    assert_int_equal(x.pa, 0x200123);
    assert_int_equal(x.page_size, 1ull << 30);
    assert_false(x.writable);
    char s[16];
    assert_int_equal(pagewalk_read(&pw, 0xffffffff81000123ull, s, 6), 0);
    assert_string_equal(s, "hello");
    assert_int_equal(pagewalk_read_str(&pw, 0x400123, s, sizeof(s)), 5);
    assert_string_equal(s, "hello");
}

static void test_not_present_and_noncanonical(void **state) {
    (void)state;
    uint64_t root = frame();
    map(root, false, 0x400000, 0x200000, 1, P);
    struct pagewalk pw;
    pagewalk_init(&pw, &mem, root, 0, 0, false);
    struct pagewalk_xlate x;
    assert_int_equal(pagewalk_translate(&pw, 0x401000, &x), VMI_ENOTFOUND);   /* PTE 0 */
    assert_int_equal(pagewalk_translate(&pw, 0x40000000, &x), VMI_ENOTFOUND); /* PDE 0 */
    assert_int_equal(pagewalk_translate(&pw, 0x0000800000000000ull, &x), VMI_ENOTFOUND);
    assert_int_equal(pagewalk_translate(&pw, 0xfff0000000000000ull, &x), VMI_ENOTFOUND);
    /* A present entry with the P bit cleared at the leaf. */
    map(root, false, 0x402000, 0x300000, 1, RW);
    assert_int_equal(pagewalk_translate(&pw, 0x402000, &x), VMI_ENOTFOUND);
    char b[2];
    assert_int_equal(pagewalk_read(&pw, 0x400ffe, b, 2), 0);
    assert_int_not_equal(pagewalk_read(&pw, 0x400fff, b, 2), 0); /* crosses into a hole */
    /* Table pointing outside guest RAM. */
    set_entry(root, 5, 0x7ff0000000ull | P);
    assert_int_equal(pagewalk_translate(&pw, 5ull << 39, &x), VMI_EREAD);
}

static void test_reserved_bits(void **state) {
    (void)state;
    uint64_t root = frame();
    struct pagewalk pw;
    struct pagewalk_xlate x;
    /* XD without EFER.NXE is reserved; with NXE it is the no-execute bit. */
    map(root, false, 0x400000, 0x200000, 1, P | XD);
    pagewalk_init(&pw, &mem, root, 0, 0, false);
    assert_int_equal(pagewalk_translate(&pw, 0x400000, &x), VMI_EFORMAT);
    pagewalk_init(&pw, &mem, root, 0, PAGEWALK_EFER_NXE, false);
    assert_int_equal(pagewalk_translate(&pw, 0x400000, &x), 0);
    assert_true(x.nx);
    /* Physical-address bits above MAXPHYADDR. */
    map(root, false, 0x600000, 0x200000 | (1ull << 46), 1, P);
    pw.maxphyaddr = 46;
    assert_int_equal(pagewalk_translate(&pw, 0x600000, &x), VMI_EFORMAT);
    pw.maxphyaddr = 52;
    assert_int_equal(pagewalk_translate(&pw, 0x600000, &x), 0);
    /* 2 MiB page with bits 20:13 set; 1 GiB page with bits 29:13 set. */
    map(root, false, 0x40000000, 0x200000 | 0x2000, 2, P);
    assert_int_equal(pagewalk_translate(&pw, 0x40000000, &x), VMI_EFORMAT);
    map(root, false, 0x8000000000ull, 0x100000, 3, P);
    assert_int_equal(pagewalk_translate(&pw, 0x8000000000ull, &x), VMI_EFORMAT);
    /* The PAT bit (12) of a large page is not part of the address. */
    map(root, false, 0x80000000, 0x200000 | 0x1000, 2, P);
    assert_int_equal(pagewalk_translate(&pw, 0x80000010, &x), 0);
    assert_int_equal(x.pa, 0x200010);
    /* PS in a PML4E is reserved. */
    set_entry(root, 7, 0x200000 | P | PS);
    assert_int_equal(pagewalk_translate(&pw, 7ull << 39, &x), VMI_EFORMAT);
}

static void test_la57(void **state) {
    (void)state;
    uint64_t root = frame();
    uint64_t va = 0xff11000000001000ull; /* canonical only with 57-bit addresses */
    map(root, true, va, 0x300000, 1, P | RW);
    struct pagewalk pw;
    pagewalk_init(&pw, &mem, root, PAGEWALK_CR4_LA57, 0, false);
    struct pagewalk_xlate x;
    assert_true(pagewalk_canonical(&pw, va));
    assert_int_equal(pagewalk_translate(&pw, va + 0x10, &x), 0);
    assert_int_equal(x.pa, 0x300010);
    pagewalk_init(&pw, &mem, root, 0, 0, false);
    assert_false(pagewalk_canonical(&pw, va));
    assert_int_equal(pagewalk_translate(&pw, va, &x), VMI_ENOTFOUND);
    /* 1 GiB page under 5-level paging. */
    pagewalk_init(&pw, &mem, root, PAGEWALK_CR4_LA57, 0, false);
    map(root, true, 0x0100000000000000ull - (1ull << 30), 0, 3, P);
    assert_int_equal(pagewalk_translate(&pw, 0x0100000000000000ull - (1ull << 30) + 0x1234, &x), 0);
    assert_int_equal(x.pa, 0x1234);
}

static void test_pcid_and_kpti_pair(void **state) {
    (void)state;
    /* An 8 KiB-aligned pair: kernel PGD at K, user PGD at K + 4 KiB. */
    next_frame = 0x2000;
    uint64_t kpgd = frame(), upgd = frame();
    assert_int_equal(upgd, kpgd + 0x1000);
    uint64_t kva = 0xffffffff81000000ull;
    map(kpgd, false, kva, 0x200000, 2, P | RW);
    map(kpgd, false, 0x400000, 0x300000, 1, P | US);
    map(upgd, false, 0x400000, 0x300000, 1, P | US);
    struct pagewalk pw;
    struct pagewalk_xlate x;
    /* CR3 = user half with PCID 0x801 (bit 11: user PCID) and the no-flush bit. */
    uint64_t cr3 = upgd | 0x801 | (1ull << 63);
    pagewalk_init(&pw, &mem, cr3, 0, 0, false);
    assert_int_equal(pw.root, upgd);
    assert_int_equal(pagewalk_translate(&pw, kva, &x), VMI_ENOTFOUND); /* user half: no kernel */
    pagewalk_init(&pw, &mem, cr3, 0, 0, true);
    assert_int_equal(pagewalk_translate(&pw, kva + 5, &x), 0);
    assert_int_equal(x.pa, 0x200005);
    assert_int_equal(pagewalk_translate(&pw, 0x400000, &x), 0); /* user addresses: user half */
    assert_int_equal(x.pa, 0x300000);
    /* CR3 already at the kernel half: the pair flag changes nothing. */
    pagewalk_init(&pw, &mem, kpgd | 0x5, 0, 0, true);
    assert_int_equal(pagewalk_translate(&pw, kva, &x), 0);
}

static void test_hostile_self_reference(void **state) {
    (void)state;
    /* Every entry of the root points at the root itself: a recursive map. The walk has a fixed
     * depth, so it ends (with the root page's own bytes as data). */
    uint64_t root = frame();
    for (unsigned i = 0; i < 512; i++)
        set_entry(root, i, root | P | RW);
    struct pagewalk pw;
    pagewalk_init(&pw, &mem, root, 0, 0, false);
    struct pagewalk_xlate x;
    assert_int_equal(pagewalk_translate(&pw, 0x1234, &x), 0);
    assert_int_equal(x.pa, root + 0x234);
    char big[3 * 4096];
    assert_int_equal(pagewalk_read(&pw, 0x10, big, sizeof(big)), 0);
    /* Reading across the top of the address space fails cleanly. */
    assert_int_not_equal(pagewalk_read(&pw, 0xfffffffffffffff0ull, big, 64), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_4k_2m_1g, setup),
        cmocka_unit_test_setup(test_not_present_and_noncanonical, setup),
        cmocka_unit_test_setup(test_reserved_bits, setup),
        cmocka_unit_test_setup(test_la57, setup),
        cmocka_unit_test_setup(test_pcid_and_kpti_pair, setup),
        cmocka_unit_test_setup(test_hostile_self_reference, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
