#include "hv/ept/ept_guard.h"

#include "base/lib.h"

#define GUARD_INSN_MAX 64

void ept_guard_init(struct ept_guard *g, struct ept_perm *perm, const struct report_out *report,
                    ept_guard_map_fn map, void *map_ctx) {
    lib_memset(g, 0, sizeof(*g));
    g->perm = perm;
    g->report = report;
    g->map = map;
    g->map_ctx = map_ctx;
}

/* The write blamed is at rip on CPU v (rip 0: unknown). The instruction is decoded only for an
 * itemised report, so legitimate writes and counted-only attempts never pay for the decoder. An
 * undone write is decoded when its window closes: with MTF right after it, without MTF at that
 * CPU's next exit, where kernel text is still mapped at the same address. */
static void report_tamper(struct ept_guard *g, const struct ept_guard_patch *p, uint64_t rip,
                          struct ept_vcpu *v, const char *action) {
    uint64_t nth = __atomic_add_fetch(&g->attempts, 1, __ATOMIC_RELAXED);
    if (!g->report || nth > EPT_GUARD_REPORT_FIRST)
        return;
    char insn[GUARD_INSN_MAX] = "";
    if (rip && g->insn) {
        size_t n = g->insn(g->insn_ctx, v, rip, insn, sizeof(insn));
        insn[n < sizeof(insn) ? n : sizeof(insn) - 1] = 0;
    }
    unsigned cpu = v ? v->index : 0;
    struct report *r = report_out_begin(g->report);
    if (!r)
        return; /* counted, not itemised: the summary tells it */
    __atomic_add_fetch(&g->reported, 1, __ATOMIC_RELAXED);
    report_begin(r, "hook_tamper");
    report_str(r, "function", p->name ? p->name : "?");
    report_hex(r, "gpa", p->pa);
    report_hex(r, "rip", rip);
    if (insn[0])
        report_str(r, "insn", insn);
    else
        report_null(r, "insn");
    report_str(r, "action", action);
    report_u64(r, "cpu", cpu);
    report_end(r);
    report_out_end(g->report, r);
}

static const struct ept_guard_patch *patch_at(struct ept_guard *g, uint64_t gpa) {
    for (unsigned i = 0; i < g->npatches; i++)
        if (gpa >= g->patches[i].pa && gpa < g->patches[i].pa + g->patches[i].len)
            return &g->patches[i];
    return NULL;
}

static bool overlaps(struct ept_guard *g, uint64_t pa, unsigned len) {
    for (unsigned i = 0; i < g->npatches; i++)
        if (pa < g->patches[i].pa + g->patches[i].len && g->patches[i].pa < pa + len)
            return true;
    return false;
}

static struct ept_guard_page *page_of(struct ept_guard *g, uint64_t page) {
    for (unsigned i = 0; i < g->npages; i++)
        if (g->pages[i].page == page)
            return &g->pages[i];
    return NULL;
}

/* The shadow: the page as it is, with each patch's original bytes. */
static void refresh_shadow(struct ept_guard *g, const struct ept_guard_page *gp) {
    if (!gp->shadow)
        return;
    lib_memcpy(gp->shadow, g->map(g->map_ctx, gp->page), EPT_PAGE_SIZE);
    for (unsigned i = 0; i < g->npatches; i++) {
        const struct ept_guard_patch *p = &g->patches[i];
        if ((p->pa & ~(uint64_t)(EPT_PAGE_SIZE - 1)) == gp->page)
            lib_memcpy(gp->shadow + (p->pa - gp->page), p->orig, p->len);
    }
}

static bool intact(struct ept_guard *g, const struct ept_guard_patch *p) {
    const volatile uint8_t *m = g->map(g->map_ctx, p->pa);
    for (unsigned i = 0; i < p->len; i++)
        if (m[i] != p->bytes[i])
            return false;
    return true;
}

static void write_patch(struct ept_guard *g, const struct ept_guard_patch *p) {
    volatile uint8_t *m = g->map(g->map_ctx, p->pa);
    /* The first byte last: a CPU running the code sees either the old first byte or the whole
     * patch's, and for an INT3 patch the first byte is the one that matters. */
    for (unsigned i = 1; i < p->len; i++)
        m[i] = p->bytes[i];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    m[0] = p->bytes[0];
}

/* Undoes every changed patch; reports each with the write that is blamed for it. */
static unsigned check(struct ept_guard *g, uint64_t rip, struct ept_vcpu *v) {
    const struct ept_guard_patch *changed[EPT_GUARD_MAX];
    unsigned n = 0;
    spin_lock(&g->lock);
    for (unsigned i = 0; i < g->npatches; i++) {
        if (!intact(g, &g->patches[i])) {
            write_patch(g, &g->patches[i]);
            changed[n++] = &g->patches[i];
        }
    }
    for (unsigned i = 0; i < g->npages; i++)
        refresh_shadow(g, &g->pages[i]);
    spin_unlock(&g->lock);
    for (unsigned i = 0; i < n; i++) {
        __atomic_add_fetch(&g->undone, 1, __ATOMIC_RELAXED);
        report_tamper(g, changed[i], rip, v, "undone");
    }
    return n;
}

/* Every window on a guarded page ends here, whatever opened it: while one CPU's window keeps the
 * page open, the others' closes leave the entry as it is (hv/ept/ept_perm.h), so a write window's
 * entry can stay writable until the last window on the page closes, and only that close sees
 * what was written meanwhile. The write is blamed on this CPU's last write window, if any. */
static void window_closed(void *ctx, struct ept_vcpu *v) {
    struct ept_guard *g = ctx;
    bool known = v && v->index < EPT_MAX_VCPUS;
    check(g, known ? g->last_rip[v->index] : 0, v);
    if (known)
        g->last_rip[v->index] = 0;
}

/* This CPU has a window open on the page: an earlier access of the same instruction. */
static bool window_open(const struct ept_vcpu *v, uint64_t page) {
    for (unsigned i = 0; i < v->nwin && i < EPT_MAX_WINDOWS; i++)
        if (v->win[i].gpa == page)
            return true;
    return false;
}

/* A read or fetch runs once on the page itself with the access added to its rights. */
static enum ept_verdict open_once(struct ept_guard *g, const struct ept_violation *v, uint64_t page,
                                  struct ept_reply *reply) {
    unsigned have = 0;
    if (ept_perm_get(g->perm, page, &have) != EPT_OK)
        return EPT_VERDICT_UNHANDLED;
    *reply = (struct ept_reply){.phys = page,
                                .perms = (uint8_t)(have | (v->access & EPT_PERM_RWX)),
                                .done = window_closed,
                                .done_ctx = g};
    return EPT_VERDICT_REDIRECT_ONCE;
}

static enum ept_verdict guard_violation(void *ctx, const struct ept_violation *v,
                                        struct ept_reply *reply) {
    struct ept_guard *g = ctx;
    uint64_t page = v->gpa & ~(uint64_t)(EPT_PAGE_SIZE - 1);
    if (!v->vcpu || v->vcpu->index >= EPT_MAX_VCPUS)
        return EPT_VERDICT_ALLOW_ONCE;
    if (!(v->access & EPT_PERM_W)) {
        if (!(v->access & EPT_PERM_R))
            return open_once(g, v, page, reply); /* a fetch while this CPU's read saw the shadow */
        __atomic_add_fetch(&g->reads, 1, __ATOMIC_RELAXED);
        spin_lock(&g->lock);
        const struct ept_guard_page *gp = page_of(g, page);
        uint64_t shadow = gp && gp->shadow ? gp->shadow_phys : 0;
        spin_unlock(&g->lock);
        /* An instruction reading its own page needs it readable and executable at once: it
         * reads the real page (switching between the two would fault forever). That includes
         * an instruction that starts on another page and runs into this one (its fetch opened
         * a window here, which a shadow for the read would take away again). */
        bool own_page =
            !v->gla_valid || (v->gla >> 12) == (v->rip >> 12) || window_open(v->vcpu, page);
        if (!shadow || own_page)
            return open_once(g, v, page, reply);
        __atomic_add_fetch(&g->shadow_reads, 1, __ATOMIC_RELAXED);
        *reply = (struct ept_reply){
            .phys = shadow, .perms = EPT_PERM_R, .done = window_closed, .done_ctx = g};
        return EPT_VERDICT_REDIRECT_ONCE;
    }
    spin_lock(&g->lock);
    const struct ept_guard_patch *hit = patch_at(g, v->gpa);
    spin_unlock(&g->lock);
    if (hit && g->insn_len) {
        size_t len = g->insn_len(g->insn_ctx, v->vcpu, v->rip);
        if (len) {
            __atomic_add_fetch(&g->dropped, 1, __ATOMIC_RELAXED);
            report_tamper(g, hit, v->rip, v->vcpu, "dropped");
            reply->skip_len = len;
            return EPT_VERDICT_SKIP;
        }
    }
    /* Any other write runs once on the page itself; what it did to a patch is undone after. */
    unsigned have = 0;
    if (ept_perm_get(g->perm, page, &have) != EPT_OK)
        return EPT_VERDICT_UNHANDLED;
    __atomic_add_fetch(&g->writes, 1, __ATOMIC_RELAXED);
    g->last_rip[v->vcpu->index] = v->rip;
    *reply = (struct ept_reply){.phys = page,
                                .perms = (uint8_t)(have | EPT_PERM_R | EPT_PERM_W),
                                .done = window_closed,
                                .done_ctx = g};
    return EPT_VERDICT_REDIRECT_ONCE;
}

int ept_guard_add(struct ept_guard *g, struct ept_vcpu *self, uint64_t pa, const uint8_t *bytes,
                  unsigned len, const char *name) {
    if (!bytes || len == 0 || len > EPT_GUARD_MAX_LEN ||
        (pa & (EPT_PAGE_SIZE - 1)) + len > EPT_PAGE_SIZE)
        return EPT_ERR_ARG;
    uint64_t page = pa & ~(uint64_t)(EPT_PAGE_SIZE - 1);
    int err = EPT_OK;
    spin_lock(&g->lock);
    if (g->npatches == EPT_GUARD_MAX) {
        err = EPT_ERR_NOMEM;
    } else if (overlaps(g, pa, len)) {
        err = EPT_ERR_EXISTS;
    } else if (!page_of(g, page)) {
        unsigned have;
        struct ept_guard_page *gp = &g->pages[g->npages];
        *gp = (struct ept_guard_page){.page = page};
        if (ept_perm_find_handler(g->perm, page))
            err = EPT_ERR_EXISTS;
        else if ((err = ept_perm_get(g->perm, page, &have)) == EPT_OK &&
                 (err = ept_perm_register(g->perm, page, EPT_PAGE_SIZE, guard_violation, g)) ==
                     EPT_OK) {
            /* Execute-only with a shadow for reads when EPT can (cap bit 0), else read+execute. */
            if ((have & EPT_PERM_X) && g->shadow_page && g->perm->ept->caps.exec_only &&
                (gp->shadow = g->shadow_page(g->shadow_ctx, &gp->shadow_phys)) != NULL &&
                ept_perm_set(g->perm, self, page, EPT_PERM_X) != EPT_OK)
                gp->shadow = NULL;
            if (!gp->shadow &&
                (err = ept_perm_set(g->perm, self, page, have & ~EPT_PERM_W)) != EPT_OK)
                ept_perm_unregister(g->perm, page);
        }
        if (err == EPT_OK)
            g->npages++;
    }
    if (err == EPT_OK) {
        struct ept_guard_patch *p = &g->patches[g->npatches];
        const volatile uint8_t *m = g->map(g->map_ctx, pa);
        p->pa = pa;
        p->len = (uint8_t)len;
        p->name = name;
        lib_memcpy(p->bytes, bytes, len);
        for (unsigned i = 0; i < len; i++)
            p->orig[i] = m[i];
        g->npatches++;
        refresh_shadow(g, page_of(g, page)); /* before the patch goes in */
        write_patch(g, p);
    }
    spin_unlock(&g->lock);
    return err;
}

unsigned ept_guard_check(struct ept_guard *g, struct ept_vcpu *self) {
    return check(g, 0, self);
}

void ept_guard_report_summary(struct ept_guard *g) {
    uint64_t a = __atomic_load_n(&g->attempts, __ATOMIC_RELAXED);
    if (!g->report || a == g->summarised)
        return;
    struct report *r = report_out_begin(g->report);
    if (!r)
        return; /* told again with the next summary */
    g->summarised = a;
    uint64_t unreported = a - __atomic_load_n(&g->reported, __ATOMIC_RELAXED);
    report_begin(r, "hook_tamper_count");
    report_u64(r, "attempts", a);
    report_u64(r, "dropped", __atomic_load_n(&g->dropped, __ATOMIC_RELAXED));
    report_u64(r, "undone", __atomic_load_n(&g->undone, __ATOMIC_RELAXED));
    report_u64(r, "unreported", unreported);
    report_end(r);
    report_out_end(g->report, r);
}

bool ept_guard_hidden(struct ept_guard *g, uint64_t pa) {
    spin_lock(&g->lock);
    const struct ept_guard_page *gp = page_of(g, pa & ~(uint64_t)(EPT_PAGE_SIZE - 1));
    bool hidden = gp && gp->shadow && patch_at(g, pa);
    spin_unlock(&g->lock);
    return hidden;
}
