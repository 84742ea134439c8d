/* Unit tests for hv/ept/ept_guard.c: a guarded patch's page loses its write right; writes next to
 * the patch run once on the page itself and the page is protected again; a write into the patch
 * is dropped (RIP past the instruction) and reported; a write that spreads into the patch, or a
 * change EPT did not see, is undone and reported; the first-N-then-count limit; the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"
#include "tests/unit/test_ept_util.h"
#include "tests/unit/test_report_out.h"

#include "hv/arch/vmx/vmx_defs.h"
#include "hv/ept/ept_guard.h"
#include "hv/ept/ept_hide.h"

#define POOL_PAGES 32
/* "Guest memory": 3 pages at this guest-physical address (inside a 2 MiB leaf of the map). */
#define TEXT_GPA 0x1400000ull
#define HOOK_OFF 0x7F0ull /* do_exit's NOP5 */

static const uint8_t patch[5] = {0xCC, 0x1F, 0x44, 0x00, 0x00};
static const uint8_t nop5[5] = {0x0F, 0x1F, 0x44, 0x00, 0x00};

struct fixture {
    struct mtrr_state m;
    struct test_pool tp;
    struct ept e;
    struct ept_perm p;
    struct ept_vcpu cpu0, cpu1;
    struct ept_guard g;
    struct report r;
    struct test_report_out out;
    uint8_t mem[3 * 4096];
    size_t insn_len; /* what the decoder answers (0: cannot decode) */
    uint8_t shadow[4096] __attribute__((aligned(4096)));
};

#define SHADOW_PHYS 0x7000000ull

static uint8_t *shadow_page(void *ctx, uint64_t *phys) {
    *phys = SHADOW_PHYS;
    return ((struct fixture *)ctx)->shadow;
}

static uint8_t *map(void *ctx, uint64_t pa) {
    struct fixture *f = ctx;
    assert_true(pa >= TEXT_GPA && pa < TEXT_GPA + sizeof(f->mem));
    return f->mem + (pa - TEXT_GPA);
}

static size_t insn_text(void *ctx, struct ept_vcpu *v, uint64_t rip, char *o, size_t size) {
    (void)ctx;
    (void)v;
    return (size_t)snprintf(o, size, "mov byte ptr [rdi], 0xf @%llx", (unsigned long long)rip);
}

static size_t insn_len(void *ctx, struct ept_vcpu *v, uint64_t rip) {
    (void)v;
    (void)rip;
    return ((struct fixture *)ctx)->insn_len;
}

static struct fixture *setup(enum report_mode mode, bool with_len) {
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
    memset(f->mem, 0x90, sizeof(f->mem));
    memcpy(f->mem + HOOK_OFF, nop5, 5);
    ept_guard_init(&f->g, &f->p, &f->out.out, map, f);
    f->g.insn = insn_text;
    f->g.insn_len = with_len ? insn_len : NULL;
    f->g.insn_ctx = f;
    f->insn_len = 3;
    return f;
}

static void teardown(struct fixture *f) {
    test_pool_free(&f->tp);
    free(f);
}

static uint64_t leaf_of(struct fixture *f, uint64_t gpa) {
    return test_leaf(&f->tp, &f->e, gpa);
}

static void write_violation(struct fixture *f, struct ept_vcpu *v, uint64_t gpa, uint64_t rip) {
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE | (5ull << EPT_QUAL_ALLOWED_SHIFT));
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
    fake_set_vmcs(VMCS_GUEST_RIP, rip);
    assert_int_equal(ept_handle_violation(&f->p, v, NULL), EPT_EXIT_RESUME);
}

static uint64_t vmcs(uint64_t field) {
    uint64_t v = 0;
    assert_true(fake_get_vmcs(field, &v));
    return v;
}

static unsigned count(const char *needle) {
    unsigned n = 0;
    for (const char *p = test_out; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void add_hook(struct fixture *f) {
    assert_int_equal(ept_guard_add(&f->g, &f->cpu0, TEXT_GPA + HOOK_OFF, patch, 5, "do_exit"),
                     EPT_OK);
}

static void read_violation(struct fixture *f, struct ept_vcpu *v, uint64_t gpa, uint64_t rip) {
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, EPT_QUAL_READ | EPT_QUAL_GLA_VALID |
                                               EPT_QUAL_GLA_TRANSLATION |
                                               (4ull << EPT_QUAL_ALLOWED_SHIFT));
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
    fake_set_vmcs(VMCS_GUEST_LINEAR_ADDR, 0xFFFFFFFF81000000ull | (gpa & 0xFFFFF));
    fake_set_vmcs(VMCS_GUEST_RIP, rip);
    assert_int_equal(ept_handle_violation(&f->p, v, NULL), EPT_EXIT_RESUME);
}

static void fetch_violation(struct fixture *f, struct ept_vcpu *v, uint64_t gpa) {
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, EPT_QUAL_FETCH | (1ull << EPT_QUAL_ALLOWED_SHIFT));
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
    fake_set_vmcs(VMCS_GUEST_RIP, 0xFFFFFFFF81000000ull | (gpa & 0xFFFFF));
    assert_int_equal(ept_handle_violation(&f->p, v, NULL), EPT_EXIT_RESUME);
}

static struct fixture *setup_hidden(void) {
    struct fixture *f = setup(REPORT_JSONL, true);
    f->g.shadow_page = shadow_page;
    f->g.shadow_ctx = f;
    f->mem[0x123] = 0x5A; /* something that is not a patch, for the shadow to copy */
    add_hook(f);
    return f;
}

static void test_hidden_reads_see_the_original_bytes(void **state) {
    (void)state;
    struct fixture *f = setup_hidden();
    assert_true(ept_guard_hidden(&f->g, TEXT_GPA + HOOK_OFF + 2));
    assert_false(ept_guard_hidden(&f->g, TEXT_GPA + HOOK_OFF + 5));
    uint64_t e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & 7, EPT_PERM_X); /* execute-only: every read faults */
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);   /* the guest runs the INT3 */
    assert_memory_equal(f->shadow + HOOK_OFF, nop5, 5); /* and reads the NOP */
    assert_memory_equal(f->shadow, f->mem, HOOK_OFF);
    assert_int_equal(f->shadow[0x123], 0x5A);
    /* A read from code elsewhere (/proc/kcore, a rootkit's scan) gets the shadow, read-only. */
    read_violation(f, &f->cpu1, TEXT_GPA + HOOK_OFF, 0xFFFFFFFFC0000000ull);
    e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & EPTE_ADDR_MASK, SHADOW_PHYS);
    assert_int_equal(e & 7, EPT_PERM_R);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA);
    assert_int_equal(e & 7, EPT_PERM_X);
    assert_int_equal(f->g.shadow_reads, 1);
    assert_string_equal(test_out, "");
    teardown(f);
}

static void test_hidden_own_page_read_and_fetch(void **state) {
    (void)state;
    struct fixture *f = setup_hidden();
    f->p.mtf = false;
    /* Code on the page reading the page: the real page, readable and executable. */
    read_violation(f, &f->cpu0, TEXT_GPA + 0x800, 0xFFFFFFFF81000000ull | (TEXT_GPA & 0xFFFFF));
    uint64_t e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA);
    assert_int_equal(e & 7, EPT_PERM_R | EPT_PERM_X);
    ept_perm_close_windows(&f->p, &f->cpu0);
    /* Without MTF a read window stays open to the next exit: a fetch from the page meanwhile
     * goes back to the real page, execute-only. */
    read_violation(f, &f->cpu0, TEXT_GPA + 0x10, 0xFFFFFFFFC0000000ull);
    assert_int_equal(leaf_of(f, TEXT_GPA) & EPTE_ADDR_MASK, SHADOW_PHYS);
    fetch_violation(f, &f->cpu0, TEXT_GPA + HOOK_OFF);
    e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA);
    assert_int_equal(e & 7, EPT_PERM_X);
    ept_perm_close_windows(&f->p, &f->cpu0);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_X);
    teardown(f);
}

static void test_hidden_fetch_and_read_from_another_page(void **state) {
    (void)state;
    /* An instruction that starts on the page before and runs into the guarded page, and reads
     * that page: it needs it executable (its tail) and readable at once. Showing the shadow to
     * the read would take the execute right away again, forever. */
    struct fixture *f = setup_hidden();
    uint64_t rip = 0xFFFFFFFF81000000ull | ((TEXT_GPA - 4) & 0xFFFFF);
    read_violation(f, &f->cpu0, TEXT_GPA + 0x10, rip);
    assert_int_equal(leaf_of(f, TEXT_GPA) & EPTE_ADDR_MASK, SHADOW_PHYS);
    fetch_violation(f, &f->cpu0, TEXT_GPA);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_X);
    read_violation(f, &f->cpu0, TEXT_GPA + 0x10, rip);
    uint64_t e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA); /* the real page, readable and executable */
    assert_int_equal(e & 7, EPT_PERM_R | EPT_PERM_X);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA);
    assert_int_equal(e & 7, EPT_PERM_X);
    teardown(f);
}

static void test_write_through_a_page_another_cpu_keeps_open_undone(void **state) {
    (void)state;
    /* CPU 0 reads the page from code on it (a window without the write right); CPU 1 writes
     * beside the hook. CPU 1's window closes first and leaves the page as it is, writable,
     * because CPU 0's is still open; a write landing then is only seen when the last window on
     * the page closes, whichever kind it is. */
    struct fixture *f = setup_hidden();
    read_violation(f, &f->cpu0, TEXT_GPA + 0x800, 0xFFFFFFFF81000000ull | (TEXT_GPA & 0xFFFFF));
    write_violation(f, &f->cpu1, TEXT_GPA + HOOK_OFF + 5, 0xFFFFFFFF81111111ull);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, TEXT_GPA) & EPT_PERM_W, EPT_PERM_W); /* still open */
    memcpy(f->mem + HOOK_OFF, nop5, 5); /* a write through it, no fault */
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_X);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    assert_int_equal(count("\"action\":\"undone\""), 1);
    teardown(f);
}

static void test_hidden_shadow_follows_writes(void **state) {
    (void)state;
    struct fixture *f = setup_hidden();
    write_violation(f, &f->cpu0, TEXT_GPA + HOOK_OFF + 5, 0xFFFFFFFF81111111ull);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_RWX);
    f->mem[HOOK_OFF + 5] = 0xCC; /* the kernel's kprobe */
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_X);
    assert_int_equal(f->shadow[HOOK_OFF + 5], 0xCC);    /* the guest reads its own change */
    assert_memory_equal(f->shadow + HOOK_OFF, nop5, 5); /* but still not vigil's */
    /* A change EPT did not see shows up in the shadow at the next check. */
    f->mem[0x200] = 0x77;
    assert_int_equal(ept_guard_check(&f->g, &f->cpu0), 0);
    assert_int_equal(f->shadow[0x200], 0x77);
    teardown(f);
}

static void test_not_hidden_without_execute_only(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, true);
    f->g.shadow_page = shadow_page;
    f->g.shadow_ctx = f;
    f->e.caps.exec_only = false;
    add_hook(f);
    assert_false(ept_guard_hidden(&f->g, TEXT_GPA + HOOK_OFF));
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_R | EPT_PERM_X);
    teardown(f);
}

static void test_add_writes_and_protects(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, true);
    add_hook(f);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    uint64_t e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & 7, EPT_PERM_R | EPT_PERM_X);
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA); /* still the page itself */
    /* The neighbour page keeps every right (the large page was split, nothing else changed). */
    assert_int_equal(leaf_of(f, TEXT_GPA + 0x1000) & 7, EPT_PERM_RWX);
    assert_non_null(ept_perm_find_handler(&f->p, TEXT_GPA));
    /* A second patch on the same page shares the handler; overlapping patches are refused. */
    assert_int_equal(ept_guard_add(&f->g, &f->cpu0, TEXT_GPA + 0x100, patch, 5, "__set_task_comm"),
                     EPT_OK);
    assert_int_equal(ept_guard_add(&f->g, &f->cpu0, TEXT_GPA + HOOK_OFF + 4, patch, 5, "x"),
                     EPT_ERR_EXISTS);
    /* Refusals: no length, too long, across a page end. */
    assert_int_equal(ept_guard_add(&f->g, &f->cpu0, TEXT_GPA + 0x1000, patch, 0, "x"), EPT_ERR_ARG);
    assert_int_equal(ept_guard_add(&f->g, &f->cpu0, TEXT_GPA + 0x1000, patch, 17, "x"),
                     EPT_ERR_ARG);
    assert_int_equal(ept_guard_add(&f->g, &f->cpu0, TEXT_GPA + 0x1FFE, patch, 5, "x"), EPT_ERR_ARG);
    assert_int_equal(f->mem[0x1FFE], 0x90); /* nothing written for a refused patch */
    assert_string_equal(test_out, "");
    teardown(f);
}

static void test_page_of_another_handler_refused(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, true);
    struct ept_hide h;
    assert_int_equal(ept_hide_init(&h, &f->p, 2, NULL, NULL, NULL), EPT_OK);
    assert_int_equal(ept_hide_add(&h, &f->cpu0, TEXT_GPA + 0x2000, 0x1000), EPT_OK);
    f->mem[0x2000 + 5] = 0x90;
    assert_int_equal(ept_guard_add(&f->g, &f->cpu0, TEXT_GPA + 0x2005, patch, 5, "x"),
                     EPT_ERR_EXISTS);
    assert_int_equal(f->mem[0x2005], 0x90);
    assert_int_equal(f->g.npatches, 0);
    teardown(f);
}

static void test_write_beside_the_patch_goes_through(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, true);
    add_hook(f);
    /* The kernel puts a kprobe's INT3 right after the hook (do_exit+5). */
    write_violation(f, &f->cpu1, TEXT_GPA + HOOK_OFF + 5, 0xFFFFFFFF81111111ull);
    uint64_t e = leaf_of(f, TEXT_GPA);
    assert_int_equal(e & EPTE_ADDR_MASK, TEXT_GPA);
    assert_int_equal(e & 7, EPT_PERM_RWX); /* open for this one instruction */
    assert_int_equal(vmcs(VMCS_GUEST_RIP), 0xFFFFFFFF81111111ull); /* not skipped */
    f->mem[HOOK_OFF + 5] = 0xCC;                                   /* the write lands */
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_R | EPT_PERM_X);
    assert_int_equal(f->mem[HOOK_OFF + 5], 0xCC);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    assert_int_equal(f->g.writes, 1);
    assert_int_equal(f->g.attempts, 0);
    assert_string_equal(test_out, "");
    teardown(f);
}

static void test_write_into_the_patch_dropped(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, true);
    add_hook(f);
    write_violation(f, &f->cpu0, TEXT_GPA + HOOK_OFF, 0xFFFFFFFFC0DE0000ull);
    assert_int_equal(vmcs(VMCS_GUEST_RIP), 0xFFFFFFFFC0DE0003ull);       /* past the 3-byte write */
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_R | EPT_PERM_X); /* never opened */
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    assert_string_equal(test_out,
                        "{\"ev\":\"hook_tamper\",\"function\":\"do_exit\",\"gpa\":\"0x14007f0\","
                        "\"rip\":\"0xffffffffc0de0000\","
                        "\"insn\":\"mov byte ptr [rdi], 0xf @ffffffffc0de0000\","
                        "\"action\":\"dropped\",\"cpu\":0}\n");
    assert_int_equal(f->g.dropped, 1);
    teardown(f);
}

static void test_write_spreading_into_the_patch_undone(void **state) {
    (void)state;
    /* A memcpy that starts before the patch faults outside it, then writes over it. */
    struct fixture *f = setup(REPORT_JSONL, true);
    add_hook(f);
    write_violation(f, &f->cpu1, TEXT_GPA + HOOK_OFF - 8, 0xFFFFFFFF81222222ull);
    memset(f->mem + HOOK_OFF - 8, 0x00, 16); /* rep movsb: over the hook too */
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5); /* the hook is back */
    assert_int_equal(f->mem[HOOK_OFF - 1], 0x00);     /* the rest of the write stays */
    assert_int_equal(f->mem[HOOK_OFF + 5], 0x00);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_R | EPT_PERM_X);
    assert_non_null(strstr(test_out, "\"rip\":\"0xffffffff81222222\""));
    assert_non_null(strstr(test_out, "\"action\":\"undone\",\"cpu\":1}"));
    assert_int_equal(f->g.undone, 1);
    teardown(f);
}

static void test_without_mtf_window_closes_at_next_exit(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_TEXT, true);
    f->p.mtf = false;
    add_hook(f);
    write_violation(f, &f->cpu0, TEXT_GPA + 0x10, 0xFFFFFFFF81000010ull);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_RWX);
    /* Before the next exit the guest also puts the NOP back (a second instruction). */
    memcpy(f->mem + HOOK_OFF, nop5, 5);
    ept_perm_close_windows(&f->p, &f->cpu0);
    assert_int_equal(leaf_of(f, TEXT_GPA) & 7, EPT_PERM_R | EPT_PERM_X);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    /* Text: the same event as one "vigil: <ev> key=value ..." line (base/report.h). */
    assert_non_null(strstr(test_out, "vigil: hook_tamper function=do_exit gpa=0x14007f0 "
                                     "rip=0xffffffff81000010 "
                                     "insn=\"mov byte ptr [rdi], 0xf @ffffffff81000010\" "
                                     "action=undone cpu=0\n"));
    teardown(f);
}

static void test_undecodable_tamper_undone(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, true);
    f->insn_len = 0; /* the decoder cannot tell the length: run it, then undo it */
    add_hook(f);
    write_violation(f, &f->cpu0, TEXT_GPA + HOOK_OFF, 0xFFFFFFFFC0DE0000ull);
    assert_int_equal(vmcs(VMCS_GUEST_RIP), 0xFFFFFFFFC0DE0000ull);
    memcpy(f->mem + HOOK_OFF, nop5, 5);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    assert_int_equal(count("\"action\":\"undone\""), 1);
    assert_int_equal(f->g.dropped, 0);
    teardown(f);
}

static void test_check_catches_unseen_changes(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, false);
    add_hook(f);
    assert_int_equal(ept_guard_check(&f->g, &f->cpu1), 0);
    f->mem[HOOK_OFF] = 0x0F; /* a device (or a stale translation) wrote it */
    assert_int_equal(ept_guard_check(&f->g, &f->cpu1), 1);
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    assert_non_null(strstr(test_out, "\"rip\":\"0x0\",\"insn\":null,\"action\":\"undone\""));
    assert_int_equal(ept_guard_check(&f->g, &f->cpu1), 0);
    teardown(f);
}

static void test_report_limit_then_count(void **state) {
    (void)state;
    struct fixture *f = setup(REPORT_JSONL, true);
    add_hook(f);
    for (unsigned i = 0; i < EPT_GUARD_REPORT_FIRST + 5; i++)
        write_violation(f, &f->cpu0, TEXT_GPA + HOOK_OFF + (i % 5), 0xFFFFFFFFC0DE0000ull);
    assert_int_equal(count("\"ev\":\"hook_tamper\""), EPT_GUARD_REPORT_FIRST);
    test_out_reset();
    ept_guard_report_summary(&f->g);
    assert_string_equal(test_out, "{\"ev\":\"hook_tamper_count\",\"attempts\":21,\"dropped\":21,"
                                  "\"undone\":0,\"unreported\":5}\n");
    test_out_reset();
    ept_guard_report_summary(&f->g); /* nothing new: silent */
    assert_string_equal(test_out, "");
    assert_memory_equal(f->mem + HOOK_OFF, patch, 5);
    teardown(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_writes_and_protects),
        cmocka_unit_test(test_page_of_another_handler_refused),
        cmocka_unit_test(test_write_beside_the_patch_goes_through),
        cmocka_unit_test(test_write_into_the_patch_dropped),
        cmocka_unit_test(test_write_spreading_into_the_patch_undone),
        cmocka_unit_test(test_without_mtf_window_closes_at_next_exit),
        cmocka_unit_test(test_undecodable_tamper_undone),
        cmocka_unit_test(test_check_catches_unseen_changes),
        cmocka_unit_test(test_report_limit_then_count),
        cmocka_unit_test(test_hidden_reads_see_the_original_bytes),
        cmocka_unit_test(test_hidden_own_page_read_and_fetch),
        cmocka_unit_test(test_hidden_fetch_and_read_from_another_page),
        cmocka_unit_test(test_write_through_a_page_another_cpu_keeps_open_undone),
        cmocka_unit_test(test_hidden_shadow_follows_writes),
        cmocka_unit_test(test_not_hidden_without_execute_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
