#include "hv/ept/ept_hide.h"

#include "base/lib.h"

#define PAGE_MASK (~(EPT_PAGE_SIZE - 1))

int ept_hide_init(struct ept_hide *h, struct ept_perm *perm, unsigned ncpus,
                  const struct report_out *report, ept_insn_fn insn, void *insn_ctx) {
    lib_memset(h, 0, sizeof(*h));
    if (!perm || !ncpus || ncpus > EPT_MAX_VCPUS)
        return EPT_ERR_ARG;
    h->perm = perm;
    h->report = report;
    h->insn = insn;
    h->insn_ctx = insn_ctx;
    h->ncpus = ncpus;
    struct ept_pool *pool = perm->ept->pool;
    if (ept_pool_free_pages(pool) < 1 + (size_t)ncpus)
        return EPT_ERR_NOMEM;
    h->zero_page = ept_pool_alloc(pool, &h->zero_phys);
    for (unsigned i = 0; i < ncpus; i++)
        h->scratch[i] = ept_pool_alloc(pool, &h->scratch_phys[i]);
    return EPT_OK;
}

static const char *kind_name(unsigned access) {
    if (access & EPT_PERM_W)
        return "write";
    if (access & EPT_PERM_X)
        return "exec";
    return "read";
}

static bool report_attempt(struct ept_hide *h, const struct ept_violation *v) {
    char insn[96];
    size_t n = h->insn ? h->insn(h->insn_ctx, v->vcpu, v->rip, insn, sizeof(insn)) : 0;
    if (n >= sizeof(insn))
        n = sizeof(insn) - 1;
    struct report *r = report_out_begin(h->report);
    if (!r)
        return false;
    report_begin(r, "hv_access");
    report_hex(r, "gpa", v->gpa);
    report_str(r, "access", kind_name(v->access));
    report_hex(r, "rip", v->rip);
    if (n)
        report_strn(r, "insn", insn, n);
    else
        report_null(r, "insn");
    if (v->gla_valid)
        report_hex(r, "gla", v->gla);
    report_u64(r, "cpu", v->vcpu ? v->vcpu->index : 0);
    report_end(r);
    report_out_end(h->report, r);
    return true;
}

static void clear_scratch(void *ctx, struct ept_vcpu *v) {
    struct ept_hide *h = ctx;
    if (v && v->index < h->ncpus)
        lib_memset(h->scratch[v->index], 0, EPT_PAGE_SIZE);
}

/* The violation handler of every hidden page. */
static enum ept_verdict hide_violation(void *ctx, const struct ept_violation *v,
                                       struct ept_reply *reply) {
    struct ept_hide *h = ctx;
    __atomic_add_fetch(&h->attempts, 1, __ATOMIC_RELAXED);
    /* The first ones of each kind are itemised: a flood of reads must not hide the writes. */
    uint64_t nth;
    if (v->access & EPT_PERM_W)
        nth = __atomic_add_fetch(&h->writes, 1, __ATOMIC_RELAXED);
    else if (v->access & EPT_PERM_X)
        nth = __atomic_add_fetch(&h->execs, 1, __ATOMIC_RELAXED);
    else
        nth = __atomic_add_fetch(&h->reads, 1, __ATOMIC_RELAXED);
    if (nth <= EPT_HIDE_REPORT_FIRST && h->report && report_attempt(h, v))
        __atomic_add_fetch(&h->reported, 1, __ATOMIC_RELAXED);
    if (!v->vcpu || v->vcpu->index >= h->ncpus)
        return EPT_VERDICT_UNHANDLED;
    if (!h->perm->mtf) {
        /* No single-step: reads and fetches get the zero page until this CPU's next exit (it is
         * never writable, so that is always safe); a write is dropped by completing its
         * instruction without it. A write whose instruction cannot be decoded (no length) goes
         * to this CPU's scratch page below, mapped until its next exit: parking the CPU instead
         * would let any guest stop vigil with one odd store. */
        if (v->access & EPT_PERM_W) {
            size_t len = h->insn_len ? h->insn_len(h->insn_ctx, v->vcpu, v->rip) : 0;
            if (len) {
                reply->skip_len = len;
                return EPT_VERDICT_SKIP;
            }
        } else {
            *reply = (struct ept_reply){.phys = h->zero_phys,
                                        .perms = EPT_PERM_R |
                                                 ((v->access & EPT_PERM_X) ? EPT_PERM_X : 0)};
            return EPT_VERDICT_REDIRECT_ONCE;
        }
    }
    /* Every access runs on this CPU's scratch page, cleared first: reads and fetches see zeros,
     * writes land there and are cleared afterwards. One target per CPU also means that several
     * faults of one instruction on the page (a read, then the write of an RMW) only add rights.
     * Cleared before use too: a stale translation on another CPU may have let a write land in it
     * after the last clear. It never holds hypervisor data either way. */
    clear_scratch(h, v->vcpu);
    *reply = (struct ept_reply){.phys = h->scratch_phys[v->vcpu->index],
                                .perms = EPT_PERM_R | EPT_PERM_W |
                                         ((v->access & EPT_PERM_X) ? EPT_PERM_X : 0),
                                .done = clear_scratch,
                                .done_ctx = h};
    return EPT_VERDICT_REDIRECT_ONCE;
}

int ept_hide_add(struct ept_hide *h, struct ept_vcpu *self, uint64_t start, uint64_t len) {
    if (!len || start + len < start)
        return EPT_ERR_ARG;
    uint64_t s = start & PAGE_MASK;
    uint64_t e = (start + len + EPT_PAGE_SIZE - 1) & PAGE_MASK;
    if (e < s || e == 0)
        return EPT_ERR_ARG;
    if (h->nranges >= EPT_HIDE_MAX_RANGES)
        return EPT_ERR_FULL;
    int err = ept_perm_register_hv(h->perm, s, e - s, hide_violation, h);
    if (err)
        return err;
    err = ept_perm_map_hv(h->perm, self, s, e - s, h->zero_phys, 0);
    if (err)
        return err; /* pages mapped so far stay hidden; the range is registered */
    unsigned i = h->nranges++;
    while (i > 0 && h->ranges[i - 1].start > s) {
        h->ranges[i] = h->ranges[i - 1];
        i--;
    }
    h->ranges[i] = (struct ept_hide_range){s, e - s};
    return EPT_OK;
}

void ept_hide_report_ranges(struct ept_hide *h) {
    struct report *r = report_out_begin(h->report);
    if (!r)
        return;
    report_begin(r, "hv_memory");
    report_arr_begin(r, "ranges");
    for (unsigned i = 0; i < h->nranges; i++) {
        report_arr_begin(r, NULL);
        report_hex(r, NULL, h->ranges[i].start);
        report_hex(r, NULL, h->ranges[i].len);
        report_arr_end(r);
    }
    report_arr_end(r);
    report_end(r);
    report_out_end(h->report, r);
}

void ept_hide_report_summary(struct ept_hide *h) {
    uint64_t attempts = __atomic_load_n(&h->attempts, __ATOMIC_RELAXED);
    if (!h->report || attempts == h->summarised)
        return;
    struct report *r = report_out_begin(h->report);
    if (!r)
        return; /* told again with the next summary */
    h->summarised = attempts;
    uint64_t reported = __atomic_load_n(&h->reported, __ATOMIC_RELAXED);
    report_begin(r, "hv_access_count");
    report_u64(r, "attempts", attempts);
    report_u64(r, "read", __atomic_load_n(&h->reads, __ATOMIC_RELAXED));
    report_u64(r, "write", __atomic_load_n(&h->writes, __ATOMIC_RELAXED));
    report_u64(r, "exec", __atomic_load_n(&h->execs, __ATOMIC_RELAXED));
    report_u64(r, "unreported", attempts - reported);
    report_end(r);
    report_out_end(h->report, r);
}
