/* Unit tests for hv/ept/ept_hide.c: hidden ranges point at the zero page with no rights; guest
 * reads and fetches run on the zero page, writes land in a per-CPU scratch page that is cleared,
 * and the hypervisor's own page is never mapped; the hv_memory / hv_access / hv_access_count
 * events; the first-N-then-count limit; hidden pages refuse permission changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"
#include "tests/unit/test_ept_util.h"
#include "tests/unit/test_report_out.h"

#include "hv/arch/vmx/vmx_defs.h"
#include "hv/ept/ept_hide.h"

static unsigned count_lines(const char *needle) {
    unsigned n = 0;
    for (const char *p = test_out; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static size_t insn_text(void *ctx, struct ept_vcpu *v, uint64_t rip, char *o, size_t size) {
    (void)ctx;
    (void)v;
    return (size_t)snprintf(o, size, "mov [rdi], rax @%llx", (unsigned long long)rip);
}

#define HV_IMAGE 0x1000000ull
#define HV_IMAGE_LEN 0x123456ull
#define POOL_PAGES 32

struct fixture {
    struct mtrr_state m;
    struct test_pool tp;
    struct ept e;
    struct ept_perm p;
    struct ept_vcpu cpu0, cpu1;
    struct ept_hide h;
    struct report r;
    struct test_report_out out;
};

static struct fixture *setup(enum report_mode mode) {
    struct fixture *f = calloc(1, sizeof(*f));
    struct ept_caps caps;
    test_build("bochs-ovmf-haswell-512m.txt", POOL_PAGES, &f->tp, &f->e, &f->m, &caps);
    ept_perm_init(&f->p, &f->e, &f->m, NULL, NULL);
    assert_int_equal(ept_perm_add_vcpu(&f->p, &f->cpu0, 0), EPT_OK);
    assert_int_equal(ept_perm_add_vcpu(&f->p, &f->cpu1, 1), EPT_OK);
    fake_reset();
    test_out_reset();
    report_init(&f->r, mode, test_sink, NULL);
    test_report_out_init(&f->out, &f->r);
    assert_int_equal(ept_hide_init(&f->h, &f->p, 2, &f->out.out, insn_text, NULL), EPT_OK);
    /* The "hypervisor": an image range and the whole pool (tables, zero and scratch pages). */
    assert_int_equal(ept_hide_add(&f->h, &f->cpu0, HV_IMAGE, HV_IMAGE_LEN), EPT_OK);
    assert_int_equal(ept_hide_add(&f->h, &f->cpu0, TEST_FAKE_PHYS_BASE, POOL_PAGES * 4096ull),
                     EPT_OK);
    return f;
}

static void teardown(struct fixture *f) {
    test_pool_free(&f->tp);
    free(f);
}

static uint64_t leaf_of(struct fixture *f, uint64_t gpa) {
    return test_leaf(&f->tp, &f->e, gpa);
}

static void violation(struct fixture *f, struct ept_vcpu *v, uint64_t qual, uint64_t gpa) {
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, qual);
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
    fake_set_vmcs(VMCS_GUEST_LINEAR_ADDR, 0xFFFF800000000000ull | gpa);
    fake_set_vmcs(VMCS_GUEST_RIP, 0xFFFFFFFF81000000ull + (gpa & 0xFFF));
    assert_int_equal(ept_handle_violation(&f->p, v, NULL), EPT_EXIT_RESUME);
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_ranges_mapped_to_zero_page(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL);
    for (uint64_t a = HV_IMAGE; a < HV_IMAGE + 0x124000; a += 0x1000) {
        uint64_t e = leaf_of(f, a);
        assert_int_equal(e & EPTE_ADDR_MASK, f->h.zero_phys);
        assert_int_equal(e & 7, 0);
        assert_int_equal((e >> 3) & 7, MTRR_TYPE_WB);
    }
    for (uint64_t a = TEST_FAKE_PHYS_BASE; a < TEST_FAKE_PHYS_BASE + POOL_PAGES * 4096; a += 4096)
        assert_int_equal(leaf_of(f, a) & EPTE_ADDR_MASK, f->h.zero_phys);
    /* Neighbours keep the identity map (a 2 MiB leaf below, 4 KiB ones in the split part). */
    unsigned level = 0;
    uint64_t below = test_walk(&f->tp, ept_eptp(&f->e), HV_IMAGE - 0x1000, &level);
    assert_int_equal(level, 2);
    assert_int_equal(test_target(below, level, HV_IMAGE - 0x1000), HV_IMAGE - 0x1000);
    assert_int_equal(leaf_of(f, HV_IMAGE + 0x124000) & EPTE_ADDR_MASK, HV_IMAGE + 0x124000);
    assert_int_equal(leaf_of(f, HV_IMAGE + 0x124000) & 7, EPT_PERM_RWX);
    /* The zero page and scratch pages are pool pages, so they are hidden too. */
    assert_true(f->h.zero_phys >= TEST_FAKE_PHYS_BASE &&
                f->h.zero_phys < TEST_FAKE_PHYS_BASE + POOL_PAGES * 4096);
    ept_hide_report_ranges(&f->h);
    assert_string_equal(test_out, "{\"ev\":\"hv_memory\",\"ranges\":[[\"0x1000000\",\"0x124000\"],"
                                  "[\"0x3a5000000\",\"0x20000\"]]}\n");
    /* Hidden pages refuse permission changes; overlapping hides are refused. */
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, HV_IMAGE + 0x5000, EPT_PERM_RWX),
                     EPT_ERR_PROTECTED);
    assert_int_equal(ept_hide_add(&f->h, &f->cpu0, HV_IMAGE + 0x123000, 0x10), EPT_ERR_EXISTS);
    assert_int_equal(ept_hide_add(&f->h, &f->cpu0, 0, 0), EPT_ERR_ARG);
    teardown(f);
}

static void test_reads_writes_execs(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL);
    uint64_t pml4_gpa = TEST_FAKE_PHYS_BASE; /* the guest goes for the EPT PML4 itself */

    /* Read: one instruction on this CPU's (cleared) scratch page: the guest reads zeros. */
    uint8_t *scratch0 = f->h.scratch[0];
    memset(scratch0, 0x77, 4096);
    violation(f, &f->cpu0, EPT_QUAL_READ | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_TRANSLATION,
              pml4_gpa + 8);
    uint64_t e = leaf_of(f, pml4_gpa);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.scratch_phys[0]);
    assert_int_equal(e & 7, EPT_PERM_R | EPT_PERM_W);
    assert_true(all_zero(scratch0, 4096));
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    e = leaf_of(f, pml4_gpa);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.zero_phys);
    assert_int_equal(e & 7, 0);
    assert_non_null(strstr(test_out,
                           "{\"ev\":\"hv_access\",\"gpa\":\"0x3a5000008\",\"access\":\"read\","
                           "\"rip\":\"0xffffffff81000008\","
                           "\"insn\":\"mov [rdi], rax @ffffffff81000008\","
                           "\"gla\":\"0xffff8003a5000008\",\"cpu\":0}\n"));

    /* Write: the scratch page of this CPU (stale junk cleared first), then cleared again. */
    uint8_t *scratch1 = f->h.scratch[1];
    memset(scratch1, 0x5A, 4096);
    violation(f, &f->cpu1, EPT_QUAL_WRITE | EPT_QUAL_READ, HV_IMAGE + 0x2010);
    e = leaf_of(f, HV_IMAGE + 0x2000);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.scratch_phys[1]);
    assert_int_equal(e & 7, EPT_PERM_R | EPT_PERM_W);
    assert_true(all_zero(scratch1, 4096)); /* the RMW's read sees zeros */
    memset(scratch1 + 0x10, 0xEE, 8);      /* the guest's write lands here */
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    assert_true(all_zero(scratch1, 4096));
    e = leaf_of(f, HV_IMAGE + 0x2000);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.zero_phys);
    assert_int_equal(e & 7, 0);
    assert_non_null(strstr(test_out, "\"access\":\"write\""));

    /* Execute: the scratch page with X as well: the guest runs zeros. */
    violation(f, &f->cpu0, EPT_QUAL_FETCH, HV_IMAGE);
    e = leaf_of(f, HV_IMAGE);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.scratch_phys[0]);
    assert_int_equal(e & 7, EPT_PERM_RWX);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_non_null(strstr(test_out, "\"access\":\"exec\""));

    /* One instruction faulting twice on a page (fetched from it, then writing to it): the
     * second fault keeps the first one's rights, and the write still lands in scratch. */
    violation(f, &f->cpu1, EPT_QUAL_FETCH, HV_IMAGE + 0x3000);
    violation(f, &f->cpu1, EPT_QUAL_WRITE, HV_IMAGE + 0x3008);
    e = leaf_of(f, HV_IMAGE + 0x3000);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.scratch_phys[1]);
    assert_int_equal(e & 7, EPT_PERM_RWX);
    assert_int_equal(f->cpu1.nwin, 1);
    memset(scratch1 + 8, 0xEE, 8);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    assert_true(all_zero(scratch1, 4096));
    assert_int_equal(leaf_of(f, HV_IMAGE + 0x3000) & EPTE_ADDR_MASK, f->h.zero_phys);

    /* Through all of it only the zero and scratch pages were mapped at hidden GPAs (checked
     * above), and the zero page stayed zero. */
    assert_true(all_zero(f->h.zero_page, 4096));
    assert_int_equal(f->h.attempts, 5);
    assert_int_equal(f->h.reads, 1);
    assert_int_equal(f->h.writes, 2);
    assert_int_equal(f->h.execs, 2);
    /* A CPU without a scratch page (index beyond ncpus) is not let through. */
    struct ept_vcpu stray = {.index = 7};
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE);
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, HV_IMAGE);
    assert_int_equal(ept_handle_violation(&f->p, &stray, NULL), EPT_EXIT_UNHANDLED);
    assert_int_equal(leaf_of(f, HV_IMAGE) & 7, 0);
    teardown(f);
}

static size_t insn_len3(void *ctx, struct ept_vcpu *v, uint64_t rip) {
    (void)ctx;
    (void)v;
    (void)rip;
    return 3;
}

/* CPUs without the monitor trap flag (Bochs's haswell model): reads and fetches see the zero page
 * read-only until the CPU's next exit; writes are dropped by skipping the instruction. */
static void test_without_mtf(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL);
    f->p.mtf = false;
    f->h.insn_len = insn_len3;
    uint64_t gpa = HV_IMAGE + 0x2008;

    /* Read: zero page, read-only, no MTF requested. */
    violation(f, &f->cpu0, EPT_QUAL_READ | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_TRANSLATION, gpa);
    uint64_t e = leaf_of(f, gpa);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.zero_phys);
    assert_int_equal(e & 7, EPT_PERM_R);
    uint64_t ctl = 0;
    fake_get_vmcs(VMCS_PROC_BASED_CTLS, &ctl);
    assert_int_equal(ctl & PROC_MONITOR_TRAP_FLAG, 0);
    assert_int_equal(f->cpu0.nwin, 1);
    /* The next exit of that CPU closes the window: no rights again. */
    ept_perm_close_windows(&f->p, &f->cpu0);
    assert_int_equal(f->cpu0.nwin, 0);
    assert_int_equal(leaf_of(f, gpa) & 7, 0);

    /* Write: the instruction is completed without its store: RIP advances, nothing is mapped. */
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, 1); /* blocking by STI from before it */
    violation(f, &f->cpu1, EPT_QUAL_WRITE | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_TRANSLATION, gpa);
    uint64_t rip = 0, intr = 9;
    fake_get_vmcs(VMCS_GUEST_RIP, &rip);
    assert_int_equal(rip, 0xFFFFFFFF81000000ull + (gpa & 0xFFF) + 3);
    fake_get_vmcs(VMCS_GUEST_INTERRUPTIBILITY, &intr);
    assert_int_equal(intr, 0);
    assert_int_equal(f->cpu1.nwin, 0);
    e = leaf_of(f, gpa);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.zero_phys);
    assert_int_equal(e & 7, 0);
    assert_int_equal(f->h.writes, 1);

    /* A write whose instruction cannot be decoded is not guessed at, and does not stop the CPU:
     * it lands on the CPU's scratch page (cleared), mapped until its next exit, then cleared. */
    f->h.insn_len = NULL;
    memset(f->h.scratch[1], 0xA5, EPT_PAGE_SIZE); /* stale bytes: cleared before use */
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE);
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu1, NULL), EPT_EXIT_RESUME);
    e = leaf_of(f, gpa);
    assert_int_equal(e & EPTE_ADDR_MASK, f->h.scratch_phys[1]);
    assert_int_equal(e & 7, EPT_PERM_R | EPT_PERM_W);
    assert_int_equal(((uint8_t *)f->h.scratch[1])[100], 0);
    ((uint8_t *)f->h.scratch[1])[100] = 0x77; /* the guest's store */
    ept_perm_close_windows(&f->p, &f->cpu1);
    assert_int_equal(leaf_of(f, gpa) & 7, 0);
    assert_int_equal(((uint8_t *)f->h.scratch[1])[100], 0);
    assert_int_equal(f->h.writes, 2);
    teardown(f);
}

static void test_first_then_count(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL);
    for (int i = 0; i < EPT_HIDE_REPORT_FIRST + 5; i++) {
        violation(f, &f->cpu0, EPT_QUAL_READ, HV_IMAGE + (uint64_t)i * 0x1000);
        assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    }
    assert_int_equal(count_lines("\"ev\":\"hv_access\""), EPT_HIDE_REPORT_FIRST);
    ept_hide_report_summary(&f->h);
    assert_non_null(strstr(test_out, "{\"ev\":\"hv_access_count\",\"attempts\":21,\"read\":21,"
                                     "\"write\":0,\"exec\":0,\"unreported\":5}\n"));
    size_t before = test_out_len;
    ept_hide_report_summary(&f->h); /* nothing new: nothing written */
    assert_int_equal(test_out_len, before);
    /* After the read flood a write is still itemised: the first ones are counted per kind. */
    violation(f, &f->cpu0, EPT_QUAL_WRITE, HV_IMAGE + 0x3000);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(count_lines("\"ev\":\"hv_access\""), EPT_HIDE_REPORT_FIRST + 1);
    assert_non_null(strstr(test_out, "\"access\":\"write\""));
    teardown(f);
}

static void test_text_mode(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_TEXT);
    ept_hide_report_ranges(&f->h);
    /* The same events as one "vigil: <ev> key=value ..." line each (base/report.h). */
    assert_non_null(strstr(test_out, "vigil: hv_memory ranges=[[0x1000000 0x124000] "));
    violation(f, &f->cpu0, EPT_QUAL_WRITE, HV_IMAGE + 0x40);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_non_null(strstr(test_out, "vigil: hv_access gpa=0x1000040 access=write "
                                     "rip=0xffffffff81000040 "
                                     "insn=\"mov [rdi], rax @ffffffff81000040\""));
    ept_hide_report_summary(&f->h);
    assert_non_null(strstr(test_out, "vigil: hv_access_count attempts=1 read=0 write=1 exec=0 "
                                     "unreported=0\n"));
    teardown(f);
}

static void test_init_errors(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL);
    struct ept_hide h2;
    assert_int_equal(ept_hide_init(&h2, &f->p, 0, NULL, NULL, NULL), EPT_ERR_ARG);
    assert_int_equal(ept_hide_init(&h2, &f->p, EPT_MAX_VCPUS + 1, NULL, NULL, NULL), EPT_ERR_ARG);
    assert_int_equal(ept_hide_init(&h2, &f->p, POOL_PAGES, NULL, NULL, NULL), EPT_ERR_NOMEM);
    teardown(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_mapped_to_zero_page),
        cmocka_unit_test(test_reads_writes_execs),
        cmocka_unit_test(test_without_mtf),
        cmocka_unit_test(test_first_then_count),
        cmocka_unit_test(test_text_mode),
        cmocka_unit_test(test_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
