/* Unit tests for hv/ept/ept.c: the identity map built from captured MTRR sets (page-size mix,
 * memory types, identity targets, physical addresses in entries), EPTP, capability handling,
 * MAXPHYADDR above 48, splits (on demand and after MTRR writes), pool exhaustion, INVEPT and
 * the misconfiguration dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"
#include "tests/unit/test_ept_util.h"

#include "hv/arch/vmx/vmx_defs.h"
#include "hv/ept/ept.h"

/* Every sampled address maps to itself with all rights and the MTRR type; the walk uses only
 * physical addresses (test_walk follows the fake physical base). */
static void check_identity(struct test_pool *tp, const struct ept *e, const struct mtrr_state *m,
                           uint64_t gpa) {
    unsigned level = 0;
    uint64_t leaf = test_walk(tp, ept_eptp(e), gpa, &level);
    assert_int_not_equal(leaf, ~0ull);
    assert_int_not_equal(leaf, 0);
    assert_int_equal(test_target(leaf, level, gpa), gpa);
    assert_int_equal(leaf & EPTE_PERM_MASK, EPT_PERM_RWX);
    assert_int_equal((leaf & EPTE_MEMTYPE_MASK) >> EPTE_MEMTYPE_SHIFT, mtrr_type_of(m, gpa));
    assert_int_equal(leaf & EPTE_IGNORE_PAT, 0);
    assert_int_equal(!!(leaf & EPTE_LARGE), level > 1);
    unsigned l2;
    assert_ptr_equal(ept_find_leaf(e, gpa, &l2) != NULL, true);
    assert_int_equal(l2, level);
}

static void test_build_bochs(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    test_load_capture("bochs-ovmf-haswell-512m.txt", &m, &caps);
    assert_true(caps.pages_1g && caps.pages_2m && caps.wb_tables && caps.walk4);
    struct test_pool tp;
    test_pool_init(&tp, 64);
    struct ept e;
    assert_int_equal(ept_build(&e, &tp.pool, &caps, &m, 0), EPT_OK);
    assert_int_equal(e.limit, 1ull << 40);
    /* 0..1G: one PD whose first 2 MiB holds the fixed-range mix (512 x 4 KiB); 1G..1T: 1 GiB
     * leaves (1023: WB RAM, UC 2..4 GiB hole, UC 32..64 GiB window, WB above). */
    assert_int_equal(e.stats.pages_4k, 512);
    assert_int_equal(e.stats.pages_2m, 511);
    assert_int_equal(e.stats.pages_1g, 1023);
    assert_int_equal(e.stats.tables, 5); /* PML4, 2 PDPT, 1 PD, 1 PT */
    assert_int_equal(tp.pool.used, 5);
    /* EPTP: WB paging structures (6), walk length 4 (3 << 3), the PML4's physical address. */
    assert_int_equal(ept_eptp(&e), TEST_FAKE_PHYS_BASE | 0x1E);
    for (uint64_t pa = 0; pa < 0x200000; pa += 0x1000)
        check_identity(&tp, &e, &m, pa);
    static const uint64_t probes[] = {0x200000,    0x1FE00000,  0x40000000,   0x80000000,
                                      0xFEE00000,  0xFFFFF000,  0x100000000,  0x7FFFFF000,
                                      0x800000000, 0xFFFFFF000, 0x1000000000, 0xFFFFFFF000};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        check_identity(&tp, &e, &m, probes[i]);
    unsigned level = 0;
    assert_int_equal(test_walk(&tp, ept_eptp(&e), 0xA0000, &level) >> 3 & 7, MTRR_TYPE_UC);
    assert_int_equal(level, 1);
    assert_int_equal(test_walk(&tp, ept_eptp(&e), 0x80000000, &level) >> 3 & 7, MTRR_TYPE_UC);
    assert_int_equal(level, 3);
    /* Outside the map. */
    assert_null(ept_find_leaf(&e, 1ull << 40, &level));
    test_pool_free(&tp);
}

static void test_build_real_machine_without_1g(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    test_load_capture("real-surface-39bit.txt", &m, &caps);
    caps.pages_1g = false; /* a CPU without 1 GiB EPT pages: bit 17 clear */
    struct test_pool tp;
    test_pool_init(&tp, 600);
    struct ept e;
    assert_int_equal(ept_build(&e, &tp.pool, &caps, &m, 0), EPT_OK);
    assert_int_equal(e.stats.pages_1g, 0);
    /* 512 GiB = 262144 2 MiB blocks; the first one and the 0x91000000 region's neighbours are
     * all 2 MiB aligned except the fixed range: only [0, 2 MiB) needs 4 KiB pages. */
    assert_int_equal(e.stats.pages_4k, 512);
    assert_int_equal(e.stats.pages_2m, 262144 - 1);
    assert_int_equal(e.stats.tables, 1 + 1 + 512 + 1);
    static const uint64_t probes[] = {0xC0000,    0x90E00000,  0x91000000,   0x92000000,
                                      0x94000000, 0x98000000,  0xA0000000,   0xC0000000,
                                      0xFFE00000, 0x100000000, 0x3FFFE00000, 0x4000000000};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        check_identity(&tp, &e, &m, probes[i]);
    test_pool_free(&tp);
}

static void test_caps_and_limits(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    test_load_capture("qemu-q35-ovmf-512m.txt", &m, &caps);
    struct test_pool tp;
    test_pool_init(&tp, 600);
    struct ept e;
    /* No 4-level walk, or neither WB nor UC for the tables: refused. */
    struct ept_caps c = caps;
    c.walk4 = false;
    assert_int_equal(ept_build(&e, &tp.pool, &c, &m, 0), EPT_ERR_CAPS);
    c = caps;
    c.wb_tables = c.uc_tables = false;
    assert_int_equal(ept_build(&e, &tp.pool, &c, &m, 0), EPT_ERR_CAPS);
    /* UC tables only: EPTP memory type 0. */
    c = caps;
    c.wb_tables = false;
    test_pool_free(&tp);
    test_pool_init(&tp, 600);
    assert_int_equal(ept_build(&e, &tp.pool, &c, &m, 1ull << 32), EPT_OK);
    assert_int_equal(ept_eptp(&e) & 0x7F, 0x18);
    /* A limit that is not page aligned or beyond MAXPHYADDR is refused. */
    assert_int_equal(ept_build(&e, &tp.pool, &caps, &m, 0x1234), EPT_ERR_ARG);
    assert_int_equal(ept_build(&e, &tp.pool, &caps, &m, 1ull << 41), EPT_ERR_ARG);
    /* No large pages at all, 1 GiB limit: 262144 4 KiB leaves. */
    test_pool_free(&tp);
    test_pool_init(&tp, 600);
    c = caps;
    c.pages_1g = c.pages_2m = false;
    assert_int_equal(ept_build(&e, &tp.pool, &c, &m, 1ull << 30), EPT_OK);
    assert_int_equal(e.stats.pages_4k, 262144);
    assert_int_equal(e.stats.pages_2m + e.stats.pages_1g, 0);
    check_identity(&tp, &e, &m, 0x3FFFF000);
    assert_null(ept_find_leaf(&e, 0x40000000, NULL));
    /* MAXPHYADDR 52: 4-level EPT reaches 2^48; the rest stays unmapped and is flagged. */
    test_pool_free(&tp);
    test_pool_init(&tp, 600);
    m.maxphyaddr = 52;
    assert_int_equal(ept_build(&e, &tp.pool, &caps, &m, 0), EPT_OK);
    assert_true(e.limit_truncated);
    assert_int_equal(e.limit, 1ull << 48);
    assert_int_equal(e.stats.tables, 1 + 512 + 2);
    check_identity(&tp, &e, &m, (1ull << 48) - 0x1000);
    test_pool_free(&tp);
}

static void test_pool_exhaustion(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    test_load_capture("bochs-ovmf-haswell-512m.txt", &m, &caps);
    struct ept e;
    for (size_t n = 0; n < 5; n++) {
        struct test_pool tp;
        test_pool_init(&tp, n ? n : 1);
        if (n == 0)
            tp.pool.npages = 0;
        assert_int_equal(ept_build(&e, &tp.pool, &caps, &m, 0), EPT_ERR_NOMEM);
        test_pool_free(&tp);
    }
    /* Bad pools are refused at init. */
    struct ept_pool p;
    uint8_t *buf = aligned_alloc(4096, 8192);
    assert_int_equal(ept_pool_init(&p, buf + 8, 1, test_v2p, NULL), EPT_ERR_ARG);
    assert_int_equal(ept_pool_init(&p, NULL, 1, test_v2p, NULL), EPT_ERR_ARG);
    free(buf);
}

static void test_split_on_demand(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    struct test_pool tp;
    struct ept e;
    test_build("bochs-ovmf-haswell-512m.txt", 7, &tp, &e, &m, &caps);
    struct ept_stats before = e.stats;
    uint64_t *pte;
    /* 0x80000000 is inside a UC 1 GiB leaf: two splits. */
    assert_int_equal(ept_get_pte(&e, 0x80123000, &pte), EPT_OK);
    assert_int_equal(e.stats.splits_1g, 1);
    assert_int_equal(e.stats.splits_2m, 1);
    assert_int_equal(e.stats.pages_1g, before.pages_1g - 1);
    assert_int_equal(e.stats.pages_2m, before.pages_2m + 511);
    assert_int_equal(e.stats.pages_4k, before.pages_4k + 512);
    assert_int_equal(*pte & EPTE_ADDR_MASK, 0x80123000);
    assert_int_equal((*pte >> 3) & 7, MTRR_TYPE_UC);
    assert_int_equal(*pte & EPTE_LARGE, 0);
    /* The whole former 1 GiB still maps identically with the same type. */
    for (uint64_t pa = 0x80000000; pa < 0xC0000000; pa += 0x1F3000)
        check_identity(&tp, &e, &m, pa);
    for (uint64_t pa = 0x80000000; pa < 0x80200000; pa += 0x1000)
        check_identity(&tp, &e, &m, pa);
    /* A page that already has a 4 KiB leaf needs no pool page. */
    size_t used = tp.pool.used;
    assert_int_equal(ept_get_pte(&e, 0x80124000, &pte), EPT_OK);
    assert_int_equal(tp.pool.used, used);
    /* The pool has no page left: a split fails cleanly and the map is unchanged. */
    assert_int_equal(ept_pool_free_pages(&tp.pool), 0);
    assert_int_equal(ept_get_pte(&e, 0x100000000, &pte), EPT_ERR_NOMEM);
    check_identity(&tp, &e, &m, 0x100000000);
    assert_int_equal(ept_get_pte(&e, 1ull << 40, &pte), EPT_ERR_NOT_MAPPED);
    /* An entry pointing outside the pool is detected, not followed. */
    unsigned level = 0;
    uint64_t *pde = ept_find_leaf(&e, 0x80123000, &level);
    assert_non_null(pde);
    uint64_t *pml4e = &e.pml4[0];
    uint64_t saved = *pml4e;
    *pml4e = 0x1000 | 7; /* a page that is not in the pool */
    assert_int_equal(ept_get_pte(&e, 0x80123000, &pte), EPT_ERR_CORRUPT);
    *pml4e = saved;
    test_pool_free(&tp);
}

static void test_apply_mtrr(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    struct test_pool tp;
    struct ept e;
    test_build("bochs-ovmf-haswell-512m.txt", 16, &tp, &e, &m, &caps);
    /* A restricted 4 KiB page keeps its rights across a retype. */
    uint64_t *pte;
    assert_int_equal(ept_get_pte(&e, 0x40001000, &pte), EPT_OK);
    ept_entry_write(pte, (*pte & ~EPTE_PERM_MASK) | EPT_PERM_R);
    /* The guest (Linux's MTRR code, a driver) makes 0x50000000..+2 MiB write-combining, inside
     * the WB 1 GiB leaf at 1 GiB, and 0x40000000..+4 KiB WT. */
    assert_int_equal(mtrr_write_msr(&m, 0x204, 0x50000000 | MTRR_TYPE_WC), MTRR_OK);
    assert_int_equal(mtrr_write_msr(&m, 0x205, 0xFFFFE00000ull | 0x800), MTRR_OK);
    assert_int_equal(mtrr_write_msr(&m, 0x206, 0x40001000 | MTRR_TYPE_WT), MTRR_OK);
    assert_int_equal(mtrr_write_msr(&m, 0x207, 0xFFFFFFF000ull | 0x800), MTRR_OK);
    assert_int_equal(ept_apply_mtrr(&e, &m), EPT_OK);
    check_identity(&tp, &e, &m, 0x50000000);
    check_identity(&tp, &e, &m, 0x501FF000);
    check_identity(&tp, &e, &m, 0x50200000);
    check_identity(&tp, &e, &m, 0x4FE00000);
    unsigned level = 0;
    uint64_t leaf = test_walk(&tp, ept_eptp(&e), 0x50000000, &level);
    assert_int_equal(level, 2);
    assert_int_equal((leaf >> 3) & 7, MTRR_TYPE_WC);
    leaf = test_walk(&tp, ept_eptp(&e), 0x40001000, &level);
    assert_int_equal(level, 1);
    assert_int_equal((leaf >> 3) & 7, MTRR_TYPE_WT);
    assert_int_equal(leaf & EPTE_PERM_MASK, EPT_PERM_R);
    for (uint64_t pa = 0x40000000; pa < 0x80000000; pa += 0x3F000) {
        leaf = test_walk(&tp, ept_eptp(&e), pa, &level);
        assert_int_equal((leaf >> 3) & 7, mtrr_type_of(&m, pa));
    }
    /* E cleared (as during Linux's MTRR update sequence): everything UC, no further splits. */
    size_t used = tp.pool.used;
    assert_int_equal(mtrr_write_msr(&m, MSR_IA32_MTRR_DEF_TYPE, 0x406), MTRR_OK);
    assert_int_equal(ept_apply_mtrr(&e, &m), EPT_OK);
    assert_int_equal(tp.pool.used, used);
    for (uint64_t pa = 0; pa < (1ull << 40); pa += 0x123456000ull) {
        leaf = test_walk(&tp, ept_eptp(&e), pa, &level);
        assert_int_equal((leaf >> 3) & 7, MTRR_TYPE_UC);
        assert_int_equal(test_target(leaf, level, pa), pa);
    }
    test_pool_free(&tp);
}

static void test_invept(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    struct test_pool tp;
    struct ept e;
    test_build("bochs-ovmf-haswell-512m.txt", 8, &tp, &e, &m, &caps);
    fake_reset();
    assert_int_equal(ept_invept(&e), EPT_OK);
    fake_vmx_fail = true;
    assert_int_equal(ept_invept(&e), EPT_ERR_INVEPT);
    fake_vmx_fail = false;
    e.caps.invept_single = e.caps.invept_all = false;
    assert_int_equal(ept_invept(&e), EPT_ERR_INVEPT);
    test_pool_free(&tp);
}

static void test_misconfig_dump(void **state) {
    (void)state;
    struct mtrr_state m;
    struct ept_caps caps;
    struct test_pool tp;
    struct ept e;
    test_build("bochs-ovmf-haswell-512m.txt", 8, &tp, &e, &m, &caps);
    uint64_t *pte;
    assert_int_equal(ept_get_pte(&e, 0x1000, &pte), EPT_OK);
    ept_entry_write(pte, (*pte & ~EPTE_PERM_MASK) | EPT_PERM_W); /* W without R: misconfig */
    fake_reset();
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, 0x1008);
    struct report r;
    report_init(&r, REPORT_JSONL, test_sink, NULL);
    test_out_reset();
    assert_int_equal(ept_handle_misconfig(&e, &r), EPT_ERR_CORRUPT);
    assert_non_null(strstr(test_out, "{\"ev\":\"ept_misconfig\",\"gpa\":\"0x1008\""));
    char want[64];
    snprintf(want, sizeof(want), "\"0x%llx\"]}", (unsigned long long)*pte);
    assert_non_null(strstr(test_out, want));
    test_pool_free(&tp);
}

static void test_setup_through_seam(void **state) {
    (void)state;
    size_t len = 0;
    char *text = capture_read("bochs-ovmf-haswell-512m.txt", &len);
    assert_non_null(text);
    fake_reset();
    uint64_t v = 0;
    assert_true(capture_value(text, "cpuid.0x1.edx", &v));
    fake_set_cpuid(1, 0, 0, 0, 0, (uint32_t)v);
    assert_true(capture_value(text, "cpuid.0x80000000.eax", &v));
    fake_set_cpuid(0x80000000, 0, (uint32_t)v, 0, 0, 0);
    assert_true(capture_value(text, "cpuid.0x80000008.eax", &v));
    fake_set_cpuid(0x80000008, 0, (uint32_t)v, 0, 0, 0);
    for (uint32_t msr = 0; msr < 0x500; msr++) {
        char key[32];
        snprintf(key, sizeof(key), "msr.0x%x", msr);
        if (capture_value(text, key, &v))
            fake_set_msr(msr, v);
    }
    free(text);
    struct mtrr_state m, m2;
    struct ept_caps caps;
    struct test_pool tp, tp2;
    struct ept e, e2;
    test_pool_init(&tp, 8);
    assert_int_equal(ept_setup_hw(&e, &tp.pool, &m), EPT_OK);
    test_build("bochs-ovmf-haswell-512m.txt", 8, &tp2, &e2, &m2, &caps);
    assert_memory_equal(&e.stats, &e2.stats, sizeof(e.stats));
    assert_memory_equal(&e.caps, &e2.caps, sizeof(e.caps));
    assert_memory_equal(tp.buf, tp2.buf, 8 * 4096); /* same tables, byte for byte */
    /* No MTRR information that makes sense (MAXPHYADDR 128): refused. */
    fake_set_cpuid(0x80000008, 0, 0x80, 0, 0, 0);
    assert_int_equal(ept_setup_hw(&e, &tp.pool, &m), EPT_ERR_CAPS);
    test_pool_free(&tp);
    test_pool_free(&tp2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_bochs),
        cmocka_unit_test(test_build_real_machine_without_1g),
        cmocka_unit_test(test_caps_and_limits),
        cmocka_unit_test(test_pool_exhaustion),
        cmocka_unit_test(test_split_on_demand),
        cmocka_unit_test(test_apply_mtrr),
        cmocka_unit_test(test_invept),
        cmocka_unit_test(test_misconfig_dump),
        cmocka_unit_test(test_setup_through_seam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
