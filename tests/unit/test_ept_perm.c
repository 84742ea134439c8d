/* Unit tests for hv/ept/ept_perm.c: page rights (splits, forbidden combinations, pool exhaustion),
 * the generation/kick invalidation scheme across CPUs, the handler registry, EPT-violation
 * decoding (qualification, GLA validity, NMI unblocking), allow-once and redirect-once through
 * the monitor trap flag (several pages per instruction, two CPUs on one page), and MTRR writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"
#include "tests/unit/test_ept_util.h"

#include "hv/arch/vmx/vmx_defs.h"
#include "hv/ept/ept_perm.h"

struct fixture {
    struct mtrr_state m;
    struct test_pool tp;
    struct ept e;
    struct ept_perm p;
    struct ept_vcpu cpu0, cpu1;
    int kicks;
};

static void kick(void *ctx) {
    ((struct fixture *)ctx)->kicks++;
}

static struct fixture *setup(size_t pool_pages) {
    struct fixture *f = calloc(1, sizeof(*f));
    struct ept_caps caps;
    test_build("bochs-ovmf-haswell-512m.txt", pool_pages, &f->tp, &f->e, &f->m, &caps);
    ept_perm_init(&f->p, &f->e, &f->m, kick, f);
    assert_int_equal(ept_perm_add_vcpu(&f->p, &f->cpu0, 0), EPT_OK);
    assert_int_equal(ept_perm_add_vcpu(&f->p, &f->cpu1, 1), EPT_OK);
    fake_reset();
    return f;
}

static void teardown(struct fixture *f) {
    test_pool_free(&f->tp);
    free(f);
}

static uint64_t leaf_of(struct fixture *f, uint64_t gpa, unsigned *level) {
    unsigned l = 0;
    uint64_t e = test_walk(&f->tp, ept_eptp(&f->e), gpa, &l);
    if (level)
        *level = l;
    return e;
}

static bool mtf_on(void) {
    uint64_t v = 0;
    fake_get_vmcs(VMCS_PROC_BASED_CTLS, &v);
    return (v & PROC_MONITOR_TRAP_FLAG) != 0;
}

static void fake_violation(uint64_t qual, uint64_t gpa, uint64_t gla, uint64_t rip) {
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, qual);
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
    fake_set_vmcs(VMCS_GUEST_LINEAR_ADDR, gla);
    fake_set_vmcs(VMCS_GUEST_RIP, rip);
}

static void test_set_get_and_invalidate(void **state) {
    (void)state;
    struct fixture *f = setup(16);
    fake_set_vmcs(VMCS_PROC_BASED_CTLS, 0x84006172);
    uint64_t gen0 = f->p.gen;
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40001234, EPT_PERM_R), EPT_OK);
    unsigned level, perms = 99;
    uint64_t e = leaf_of(f, 0x40001000, &level);
    assert_int_equal(level, 1);
    assert_int_equal(e & 7, EPT_PERM_R);
    assert_int_equal(e & EPTE_ADDR_MASK, 0x40001000);
    assert_int_equal((e >> 3) & 7, MTRR_TYPE_WB);
    assert_int_equal(leaf_of(f, 0x40002000, NULL) & 7, EPT_PERM_RWX); /* neighbours untouched */
    assert_int_equal(leaf_of(f, 0x40000000, NULL) & 7, EPT_PERM_RWX);
    assert_int_equal(ept_perm_get(&f->p, 0x40001FFF, &perms), EPT_OK);
    assert_int_equal(perms, EPT_PERM_R);
    /* New generation: the caller invalidated at once, the other CPU was kicked and is behind
     * until its next ept_perm_sync. */
    assert_int_equal(f->p.gen, gen0 + 1);
    assert_int_equal(f->kicks, 1);
    assert_int_equal(f->cpu0.seen_gen, f->p.gen);
    assert_int_equal(f->cpu0.invepts, 1);
    assert_true(f->cpu1.seen_gen < f->p.gen);
    assert_int_equal(ept_perm_wait_all(&f->p, &f->cpu0, 100), EPT_ERR_TIMEOUT);
    f->cpu1.running = false; /* parked CPUs are not waited for */
    assert_int_equal(ept_perm_wait_all(&f->p, &f->cpu0, 100), EPT_OK);
    f->cpu1.running = true;
    assert_int_equal(ept_perm_sync(&f->p, &f->cpu1), EPT_OK);
    assert_int_equal(f->cpu1.invepts, 1);
    assert_int_equal(ept_perm_sync(&f->p, &f->cpu1), EPT_OK); /* up to date: no INVEPT */
    assert_int_equal(f->cpu1.invepts, 1);
    assert_int_equal(ept_perm_wait_all(&f->p, &f->cpu0, 0), EPT_OK);
    /* A failing INVEPT is reported. */
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40001000, EPT_PERM_RWX), EPT_OK);
    fake_vmx_fail = true;
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40001000, EPT_PERM_R), EPT_ERR_INVEPT);
    fake_vmx_fail = false;
    /* Ranges: three pages across a 2 MiB boundary, one invalidation. */
    uint64_t g = f->p.gen;
    assert_int_equal(ept_perm_set_range(&f->p, NULL, 0x401FF000, 0x3000, EPT_PERM_R | EPT_PERM_X),
                     EPT_OK);
    assert_int_equal(f->p.gen, g + 1);
    for (uint64_t a = 0x401FF000; a < 0x40202000; a += 0x1000)
        assert_int_equal(leaf_of(f, a, NULL) & 7, EPT_PERM_R | EPT_PERM_X);
    assert_int_equal(leaf_of(f, 0x40202000, NULL) & 7, EPT_PERM_RWX);
    teardown(f);
}

static void test_rights_refused(void **state) {
    (void)state;
    struct fixture *f = setup(8);
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x1000, EPT_PERM_W), EPT_ERR_PERM);
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x1000, EPT_PERM_W | EPT_PERM_X), EPT_ERR_PERM);
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x1000, 8), EPT_ERR_PERM);
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x1000, EPT_PERM_X), EPT_OK); /* Bochs: bit 0 */
    f->e.caps.exec_only = false;
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x1000, EPT_PERM_X), EPT_ERR_PERM);
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x1000, 0), EPT_OK);
    assert_int_equal(ept_perm_set(&f->p, NULL, 1ull << 40, EPT_PERM_R), EPT_ERR_NOT_MAPPED);
    assert_int_equal(ept_perm_set_range(&f->p, NULL, 0x1000, 0, EPT_PERM_R), EPT_ERR_ARG);
    assert_int_equal(ept_perm_set_range(&f->p, NULL, ~0xFFFull, 0x2000, EPT_PERM_R), EPT_ERR_ARG);
    /* The pool runs dry: 8 pages, 5 for the build, 2 for the splits down to the page at 4 GiB;
     * the page at 5 GiB needs two more and only one is left: a clean error. */
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x100000000, EPT_PERM_R), EPT_OK);
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x140000000, EPT_PERM_R), EPT_ERR_NOMEM);
    unsigned perms;
    assert_int_equal(ept_perm_get(&f->p, 0x140000000, &perms), EPT_OK);
    assert_int_equal(perms, EPT_PERM_RWX);
    teardown(f);
}

/* A recording handler with a programmable verdict. */
struct rec {
    int calls;
    struct ept_violation last;
    enum ept_verdict verdict;
    struct ept_reply reply;
    struct fixture *f;
    unsigned retry_perms;
    int done_calls;
    struct ept_vcpu *done_vcpu;
};
static enum ept_verdict rec_handler(void *ctx, const struct ept_violation *v,
                                    struct ept_reply *reply) {
    struct rec *r = ctx;
    r->calls++;
    r->last = *v;
    if (r->verdict == EPT_VERDICT_RETRY)
        assert_int_equal(ept_perm_set(&r->f->p, v->vcpu, v->gpa, r->retry_perms), EPT_OK);
    *reply = r->reply;
    return r->verdict;
}
static void rec_done(void *ctx, struct ept_vcpu *v) {
    struct rec *r = ctx;
    r->done_calls++;
    r->done_vcpu = v;
}

static void test_registry(void **state) {
    (void)state;
    struct fixture *f = setup(8);
    ept_violation_fn fn = rec_handler; /* never called here */
    assert_int_equal(ept_perm_register(&f->p, 0x5000, 0x2000, fn, NULL), EPT_OK);
    assert_int_equal(ept_perm_register(&f->p, 0x6000, 0x1000, fn, NULL), EPT_ERR_EXISTS);
    assert_int_equal(ept_perm_register(&f->p, 0x4000, 0x2000, fn, NULL), EPT_ERR_EXISTS);
    assert_int_equal(ept_perm_register(&f->p, 0x7000, 0x1000, fn, NULL), EPT_OK);
    assert_int_equal(ept_perm_register(&f->p, 0x8001, 0x1000, fn, NULL), EPT_ERR_ARG);
    assert_int_equal(ept_perm_register(&f->p, 0x8000, 0, fn, NULL), EPT_ERR_ARG);
    assert_int_equal(ept_perm_register(&f->p, 0x8000, 0x1000, NULL, NULL), EPT_ERR_ARG);
    assert_int_equal(ept_perm_register(&f->p, ~0xFFFull, 0x2000, fn, NULL), EPT_ERR_ARG);
    assert_non_null(ept_perm_find_handler(&f->p, 0x6FFF));
    assert_null(ept_perm_find_handler(&f->p, 0x8000));
    assert_int_equal(ept_perm_unregister(&f->p, 0x5000), EPT_OK);
    assert_null(ept_perm_find_handler(&f->p, 0x6000));
    assert_int_equal(ept_perm_unregister(&f->p, 0x5000), EPT_ERR_NOT_FOUND);
    for (unsigned i = 1; i < EPT_PERM_MAX_HANDLERS; i++)
        assert_int_equal(ept_perm_register(&f->p, 0x100000 + i * 0x1000, 0x1000, fn, NULL), EPT_OK);
    assert_int_equal(ept_perm_register(&f->p, 0x900000, 0x1000, fn, NULL), EPT_ERR_FULL);
    /* Hypervisor-owned ranges refuse rights changes and unregistering. */
    assert_int_equal(ept_perm_unregister(&f->p, 0x7000), EPT_OK);
    assert_int_equal(ept_perm_register_hv(&f->p, 0x7000, 0x1000, fn, NULL), EPT_OK);
    assert_int_equal(ept_perm_set(&f->p, NULL, 0x7000, EPT_PERM_RWX), EPT_ERR_PROTECTED);
    assert_int_equal(ept_perm_set_range(&f->p, NULL, 0x6000, 0x3000, 0), EPT_ERR_PROTECTED);
    assert_int_equal(ept_perm_unregister(&f->p, 0x7000), EPT_ERR_NOT_FOUND);
    /* Remapping is only for hypervisor-owned pages. */
    assert_int_equal(ept_perm_map_hv(&f->p, NULL, 0x7000, 0x1000, 0x9000, 0), EPT_OK);
    assert_int_equal(ept_find_leaf(&f->e, 0x7000, NULL)[0] & (EPTE_ADDR_MASK | 7), 0x9000);
    assert_int_equal(ept_perm_map_hv(&f->p, NULL, 0x6000, 0x1000, 0x9000, 0), EPT_ERR_NOT_FOUND);
    assert_int_equal(ept_perm_map_hv(&f->p, NULL, 0x7000, 0x1000, 0x9001, 0), EPT_ERR_ARG);
    assert_int_equal(ept_perm_map_hv(&f->p, NULL, 0x7000, 0x1000, 0x9000, EPT_PERM_W),
                     EPT_ERR_PERM);
    teardown(f);
}

static void test_violation_allow_once(void **state) {
    (void)state;
    struct fixture *f = setup(16);
    struct rec r = {.verdict = EPT_VERDICT_ALLOW_ONCE, .f = f};
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40005000, EPT_PERM_R), EPT_OK);
    assert_int_equal(ept_perm_register(&f->p, 0x40005000, 0x1000, rec_handler, &r), EPT_OK);
    fake_set_vmcs(VMCS_PROC_BASED_CTLS, 0x84006172);
    /* A data write through a translated linear address; the walk allowed R only. */
    uint64_t qual = EPT_QUAL_WRITE | (1ull << EPT_QUAL_ALLOWED_SHIFT) | EPT_QUAL_GLA_VALID |
                    EPT_QUAL_GLA_TRANSLATION;
    fake_violation(qual, 0x40005678, 0xFFFF888040005678ull, 0xFFFFFFFF81234567ull);
    struct ept_violation out;
    uint64_t gen = f->p.gen;
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, &out), EPT_EXIT_RESUME);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.last.gpa, 0x40005678);
    assert_int_equal(r.last.gla, 0xFFFF888040005678ull);
    assert_true(r.last.gla_valid);
    assert_true(r.last.gla_is_translation);
    assert_int_equal(r.last.access, EPT_PERM_W);
    assert_int_equal(r.last.allowed, EPT_PERM_R);
    assert_int_equal(r.last.rip, 0xFFFFFFFF81234567ull);
    assert_ptr_equal(r.last.vcpu, &f->cpu0);
    assert_memory_equal(&out, &r.last, sizeof(out));
    /* Opened for one instruction: R+W, MTF set, no new generation needed for widening. */
    assert_int_equal(leaf_of(f, 0x40005000, NULL) & 7, EPT_PERM_R | EPT_PERM_W);
    assert_true(mtf_on());
    assert_int_equal(f->p.gen, gen);
    unsigned perms;
    assert_int_equal(ept_perm_get(&f->p, 0x40005000, &perms), EPT_OK);
    assert_int_equal(perms, EPT_PERM_R); /* the protected rights, not the open ones */
    /* MTF exit: protected again, MTF off, everyone invalidated. */
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40005000, NULL) & 7, EPT_PERM_R);
    assert_false(mtf_on());
    assert_int_equal(f->p.gen, gen + 1);
    assert_int_equal(f->cpu0.seen_gen, f->p.gen);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_NOT_MINE);
    /* GLA not valid: the VMCS field is not looked at. */
    fake_violation(EPT_QUAL_READ, 0x40005000, 0x1234, 0x1000);
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40005000, 0), EPT_OK);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, &out), EPT_EXIT_RESUME);
    assert_false(out.gla_valid);
    assert_int_equal(out.gla, 0);
    assert_int_equal(leaf_of(f, 0x40005000, NULL) & 7, EPT_PERM_R);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40005000, NULL) & 7, 0);
    /* An instruction fetch from a no-access page opens X only (execute-only is offered). */
    fake_violation(EPT_QUAL_FETCH, 0x40005000, 0, 0x40005000);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, &out), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40005000, NULL) & 7, EPT_PERM_X);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    teardown(f);
}

static void test_violation_verdicts(void **state) {
    (void)state;
    struct fixture *f = setup(16);
    struct rec r = {.verdict = EPT_VERDICT_RETRY, .f = f, .retry_perms = EPT_PERM_RWX};
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40005000, EPT_PERM_R), EPT_OK);
    assert_int_equal(ept_perm_register(&f->p, 0x40005000, 0x1000, rec_handler, &r), EPT_OK);
    /* RETRY: the handler lifted the protection itself; no single-step. */
    fake_violation(EPT_QUAL_WRITE, 0x40005008, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    assert_false(mtf_on());
    assert_int_equal(leaf_of(f, 0x40005000, NULL) & 7, EPT_PERM_RWX);
    assert_int_equal(f->cpu0.nwin, 0);
    /* UNHANDLED goes back to the caller. */
    r.verdict = EPT_VERDICT_UNHANDLED;
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_UNHANDLED);
    /* A GPA outside the map (hostile or a bug): unhandled, nothing touched. */
    fake_violation(~0ull, ~0ull, ~0ull, ~0ull);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_UNHANDLED);
    assert_int_equal(f->p.stats.unhandled, 2);
    /* No handler: let through once and counted. */
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40009000, EPT_PERM_R), EPT_OK);
    fake_violation(EPT_QUAL_WRITE | EPT_QUAL_READ, 0x40009000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    assert_true(mtf_on());
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40009000, NULL) & 7, EPT_PERM_R);
    /* Redirect: run one instruction on another page, then restore and call done. */
    r.verdict = EPT_VERDICT_REDIRECT_ONCE;
    r.reply = (struct ept_reply){
        .phys = 0x7777000, .perms = EPT_PERM_R | EPT_PERM_W, .done = rec_done, .done_ctx = &r};
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40005000, 0), EPT_OK);
    fake_violation(EPT_QUAL_WRITE, 0x40005010, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    uint64_t e = leaf_of(f, 0x40005000, NULL);
    assert_int_equal(e & EPTE_ADDR_MASK, 0x7777000);
    assert_int_equal(e & 7, EPT_PERM_R | EPT_PERM_W);
    assert_int_equal((e >> 3) & 7, MTRR_TYPE_WB);
    assert_int_equal(r.done_calls, 0);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_NOT_MINE);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    e = leaf_of(f, 0x40005000, NULL);
    assert_int_equal(e & EPTE_ADDR_MASK, 0x40005000);
    assert_int_equal(e & 7, 0);
    assert_int_equal(r.done_calls, 1);
    assert_ptr_equal(r.done_vcpu, &f->cpu0);
    /* A redirect with rights EPT cannot express is refused, not installed. */
    r.reply.perms = EPT_PERM_W;
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_UNHANDLED);
    assert_int_equal(leaf_of(f, 0x40005000, NULL) & 7, 0);
    assert_false(mtf_on());
    teardown(f);
}

static void test_nmi_unblocking(void **state) {
    (void)state;
    struct fixture *f = setup(16);
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40005000, EPT_PERM_R), EPT_OK);
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, 0);
    fake_set_vmcs(VMCS_IDT_VECTORING_INFO, 0);
    fake_violation(EPT_QUAL_WRITE | EPT_QUAL_NMI_UNBLOCKING, 0x40005000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    uint64_t s = 0;
    assert_true(fake_get_vmcs(VMCS_GUEST_INTERRUPTIBILITY, &s));
    assert_int_equal(s, INTERRUPTIBILITY_NMI);
    ept_handle_mtf(&f->p, &f->cpu0);
    /* While an event was being delivered the bit is left alone. */
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, 0);
    fake_set_vmcs(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | 0x30E);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    assert_true(fake_get_vmcs(VMCS_GUEST_INTERRUPTIBILITY, &s));
    assert_int_equal(s, 0);
    ept_handle_mtf(&f->p, &f->cpu0);
    teardown(f);
}

static void test_windows_several_pages_and_cpus(void **state) {
    (void)state;
    struct fixture *f = setup(16);
    /* One MOVS reading page A and writing page B: two violations before the MTF. */
    assert_int_equal(ept_perm_set_range(&f->p, &f->cpu0, 0x40010000, 0x2000, 0), EPT_OK);
    fake_violation(EPT_QUAL_READ, 0x40010FF8, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    fake_violation(EPT_QUAL_WRITE, 0x40011000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    assert_int_equal(f->cpu0.nwin, 2);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, EPT_PERM_R);
    assert_int_equal(leaf_of(f, 0x40011000, NULL) & 7, EPT_PERM_R | EPT_PERM_W);
    /* The same page faulting again in the same instruction widens the same window. */
    fake_violation(EPT_QUAL_FETCH, 0x40010000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    assert_int_equal(f->cpu0.nwin, 2);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, EPT_PERM_R | EPT_PERM_X); /* kept R */
    /* ... and writes to it: rights only grow within the instruction, or it would fault forever. */
    fake_violation(EPT_QUAL_WRITE, 0x40010010, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, EPT_PERM_RWX);
    assert_int_equal(f->cpu0.nwin, 2);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, 0);
    assert_int_equal(leaf_of(f, 0x40011000, NULL) & 7, 0);
    /* Two CPUs step through one page: the first to finish leaves it open for the other; the
     * last restores the protected rights, including a change made meanwhile. */
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40010000, EPT_PERM_R), EPT_OK);
    fake_violation(EPT_QUAL_WRITE, 0x40010000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    fake_violation(EPT_QUAL_FETCH, 0x40010000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu1, NULL), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, EPT_PERM_R | EPT_PERM_X);
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40010000, 0), EPT_OK);
    unsigned perms;
    assert_int_equal(ept_perm_get(&f->p, 0x40010000, &perms), EPT_OK);
    assert_int_equal(perms, 0);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, 0); /* set live at once */
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, 0);
    /* The same without a change meanwhile: the second CPU must restore the protected rights,
     * not the rights the first CPU opened. */
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x40010000, EPT_PERM_R), EPT_OK);
    fake_violation(EPT_QUAL_WRITE, 0x40010000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    fake_violation(EPT_QUAL_WRITE, 0x40010000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu1, NULL), EPT_EXIT_RESUME);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu1), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, EPT_PERM_R | EPT_PERM_W);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    assert_int_equal(leaf_of(f, 0x40010000, NULL) & 7, EPT_PERM_R);
    /* More faulting pages in one instruction than windows: refused, not overflowed. */
    assert_int_equal(ept_perm_set_range(&f->p, &f->cpu0, 0x40020000, 0x10000, 0), EPT_OK);
    for (unsigned i = 0; i < EPT_MAX_WINDOWS; i++) {
        fake_violation(EPT_QUAL_READ, 0x40020000 + i * 0x1000, 0, 0);
        assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_RESUME);
    }
    fake_violation(EPT_QUAL_READ, 0x4002F000, 0, 0);
    assert_int_equal(ept_handle_violation(&f->p, &f->cpu0, NULL), EPT_EXIT_UNHANDLED);
    assert_int_equal(f->p.stats.window_overflows, 1);
    assert_int_equal(ept_handle_mtf(&f->p, &f->cpu0), EPT_EXIT_RESUME);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(leaf_of(f, 0x40020000 + i * 0x1000, NULL) & 7, 0);
    teardown(f);
}

static void test_mtrr_write(void **state) {
    (void)state;
    struct fixture *f = setup(16);
    assert_int_equal(ept_perm_set(&f->p, &f->cpu0, 0x50000000, EPT_PERM_R), EPT_OK);
    uint64_t gen = f->p.gen;
    assert_int_equal(ept_perm_mtrr_write(&f->p, &f->cpu0, 0x204, 0x50000000 | MTRR_TYPE_WC),
                     EPT_OK);
    assert_int_equal(ept_perm_mtrr_write(&f->p, &f->cpu0, 0x205, 0xFFFFE00000ull | 0x800), EPT_OK);
    assert_int_equal(f->p.gen, gen + 2);
    uint64_t e = leaf_of(f, 0x50000000, NULL);
    assert_int_equal((e >> 3) & 7, MTRR_TYPE_WC);
    assert_int_equal(e & 7, EPT_PERM_R);
    assert_int_equal((leaf_of(f, 0x50200000, NULL) >> 3) & 7, MTRR_TYPE_WB);
    /* The same value again (every CPU writes its MTRRs): nothing to do. */
    assert_int_equal(ept_perm_mtrr_write(&f->p, &f->cpu1, 0x205, 0xFFFFE00000ull | 0x800), EPT_OK);
    assert_int_equal(f->p.gen, gen + 2);
    /* A value hardware would refuse changes nothing. */
    assert_int_equal(ept_perm_mtrr_write(&f->p, &f->cpu0, 0x204, 0x50000000 | 3), EPT_ERR_ARG);
    assert_int_equal((leaf_of(f, 0x50000000, NULL) >> 3) & 7, MTRR_TYPE_WC);
    teardown(f);
}

/* Model check: random rights changes, violations (only for accesses the live entry forbids, as
 * hardware raises them) and MTF exits on two CPUs over a few pages. After every step the
 * protected rights equal the model, the live entry allows at least them and still maps the page
 * itself, and once no window is open the live entry equals the protected one. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static unsigned rnd(unsigned n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void test_random_model(void **state) {
    (void)state;
    struct fixture *f = setup(16);
    static const unsigned valid[] = {
        0, EPT_PERM_R, EPT_PERM_R | EPT_PERM_W, EPT_PERM_R | EPT_PERM_X, EPT_PERM_RWX, EPT_PERM_X};
    static const uint64_t pages[] = {0x40000000, 0x40001000, 0x401FF000,
                                     0x40200000, 0x80000000, 0x80001000};
    struct rec r = {.verdict = EPT_VERDICT_ALLOW_ONCE, .f = f};
    assert_int_equal(ept_perm_register(&f->p, 0x40001000, 0x1000, rec_handler, &r), EPT_OK);
    unsigned model[6];
    for (int i = 0; i < 6; i++) {
        model[i] = EPT_PERM_RWX;
        assert_int_equal(ept_perm_set(&f->p, NULL, pages[i], EPT_PERM_RWX), EPT_OK);
    }
    struct ept_vcpu *cpus[2] = {&f->cpu0, &f->cpu1};
    unsigned opened = 0, closed = 0, sets = 0;
    for (int step = 0; step < 20000; step++) {
        int pi = (int)rnd(6);
        struct ept_vcpu *c = cpus[rnd(2)];
        unsigned op = rnd(10);
        if (op < 3) {
            unsigned perms = valid[rnd(6)];
            assert_int_equal(ept_perm_set(&f->p, c, pages[pi], perms), EPT_OK);
            model[pi] = perms;
            sets++;
        } else if (op < 7) {
            unsigned access = 1u << rnd(3);
            unsigned live = (unsigned)(leaf_of(f, pages[pi], NULL) & 7);
            if (live & access)
                continue; /* hardware would not fault */
            unsigned before = c->nwin;
            fake_violation(access, pages[pi] + rnd(4096), 0, 0);
            enum ept_exit x = ept_handle_violation(&f->p, c, NULL);
            if (x == EPT_EXIT_UNHANDLED) {
                assert_int_equal(before, EPT_MAX_WINDOWS);
                continue;
            }
            assert_int_equal(x, EPT_EXIT_RESUME);
            assert_true(leaf_of(f, pages[pi], NULL) & access);
            opened++;
        } else if (c->nwin) {
            assert_int_equal(ept_handle_mtf(&f->p, c), EPT_EXIT_RESUME);
            closed++;
        }
        bool any_open = f->cpu0.nwin || f->cpu1.nwin;
        for (int i = 0; i < 6; i++) {
            unsigned perms;
            assert_int_equal(ept_perm_get(&f->p, pages[i], &perms), EPT_OK);
            assert_int_equal(perms, model[i]);
            uint64_t e = leaf_of(f, pages[i], NULL);
            assert_int_equal(e & EPTE_ADDR_MASK, pages[i]);
            assert_int_equal((e & 7) & model[i], model[i]);
            if (!any_open)
                assert_int_equal(e & 7, model[i]);
        }
    }
    for (int i = 0; i < 2; i++)
        if (cpus[i]->nwin)
            assert_int_equal(ept_handle_mtf(&f->p, cpus[i]), EPT_EXIT_RESUME);
    for (int i = 0; i < 6; i++)
        assert_int_equal(leaf_of(f, pages[i], NULL) & 7, model[i]);
    assert_true(opened > 1000 && closed > 500 && sets > 3000);
    assert_int_equal(r.calls > 0, true);
    teardown(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_and_invalidate),
        cmocka_unit_test(test_rights_refused),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_violation_allow_once),
        cmocka_unit_test(test_violation_verdicts),
        cmocka_unit_test(test_nmi_unblocking),
        cmocka_unit_test(test_windows_several_pages_and_cpus),
        cmocka_unit_test(test_mtrr_write),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
