#include "hv/ept/ept_perm.h"

#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmx_defs.h"

#define PAGE_MASK (~(EPT_PAGE_SIZE - 1))

static void lock(struct ept_perm *p) {
    ept_spin_lock(&p->lock);
}

static void unlock(struct ept_perm *p) {
    ept_spin_unlock(&p->lock);
}

/* Statistics are bumped from every CPU, some outside the lock. */
#define STAT_INC(p, field) __atomic_add_fetch(&(p)->stats.field, 1, __ATOMIC_RELAXED)

void ept_perm_init(struct ept_perm *p, struct ept *e, const struct mtrr_state *m, ept_kick_fn kick,
                   void *kick_ctx) {
    lib_memset(p, 0, sizeof(*p));
    p->ept = e;
    p->mtrr = *m;
    p->kick = kick;
    p->kick_ctx = kick_ctx;
    p->mtf = true; /* the caller clears it on CPUs without the monitor trap flag */
}

int ept_perm_add_vcpu(struct ept_perm *p, struct ept_vcpu *v, uint32_t index) {
    if (p->nvcpus >= EPT_MAX_VCPUS)
        return EPT_ERR_FULL;
    lib_memset(v, 0, sizeof(*v));
    v->index = index;
    v->running = true;
    v->seen_gen = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
    p->vcpus[p->nvcpus++] = v;
    return EPT_OK;
}

/* --- invalidation ------------------------------------------------------------------------- */

int ept_perm_sync(struct ept_perm *p, struct ept_vcpu *self) {
    uint64_t g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
    if (!self || self->seen_gen == g)
        return EPT_OK;
    int err = ept_invept(p->ept);
    if (err)
        return err;
    self->invepts++;
    __atomic_store_n(&self->seen_gen, g, __ATOMIC_RELEASE);
    return EPT_OK;
}

/* After entries lost rights or changed target: a new generation, INVEPT here, kick the rest
 * (SDM vol. 3C "Guidelines for Use of the INVEPT Instruction": cached mappings may survive any
 * change of an entry except the addition of rights; removals must be followed by INVEPT on every
 * CPU that may have cached them). Called without the lock. */
static int publish(struct ept_perm *p, struct ept_vcpu *self) {
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_ACQ_REL);
    STAT_INC(p, invalidations);
    int err = ept_perm_sync(p, self);
    if (p->kick && p->nvcpus > 1)
        p->kick(p->kick_ctx);
    return err;
}

int ept_perm_invalidate_all(struct ept_perm *p, struct ept_vcpu *self) {
    return publish(p, self);
}

int ept_perm_wait_all(struct ept_perm *p, struct ept_vcpu *self, uint64_t max_spins) {
    uint64_t g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
    for (uint64_t spin = 0;; spin++) {
        int err = ept_perm_sync(p, self);
        if (err)
            return err;
        bool all = true;
        for (unsigned i = 0; i < p->nvcpus; i++) {
            struct ept_vcpu *v = p->vcpus[i];
            if (v != self && __atomic_load_n(&v->running, __ATOMIC_ACQUIRE) &&
                __atomic_load_n(&v->seen_gen, __ATOMIC_ACQUIRE) < g)
                all = false;
        }
        if (all)
            return EPT_OK;
        if (spin >= max_spins)
            return EPT_ERR_TIMEOUT;
        hw_pause();
    }
}

/* --- handlers ----------------------------------------------------------------------------- */

static struct ept_handler *find_handler(struct ept_perm *p, uint64_t gpa) {
    for (unsigned i = 0; i < p->nhandlers; i++)
        if (gpa >= p->handlers[i].start && gpa < p->handlers[i].end)
            return &p->handlers[i];
    return NULL;
}

const struct ept_handler *ept_perm_find_handler(const struct ept_perm *p, uint64_t gpa) {
    return find_handler((struct ept_perm *)p, gpa);
}

static int do_register(struct ept_perm *p, uint64_t gpa, uint64_t len, ept_violation_fn fn,
                       void *ctx, bool hv) {
    if (!fn || !len || (gpa & ~PAGE_MASK) || (len & ~PAGE_MASK) || gpa + len < gpa ||
        gpa + len > p->ept->limit)
        return EPT_ERR_ARG;
    int err = EPT_OK;
    lock(p);
    for (unsigned i = 0; i < p->nhandlers; i++)
        if (gpa < p->handlers[i].end && p->handlers[i].start < gpa + len)
            err = EPT_ERR_EXISTS;
    if (!err && p->nhandlers >= EPT_PERM_MAX_HANDLERS)
        err = EPT_ERR_FULL;
    if (!err)
        p->handlers[p->nhandlers++] = (struct ept_handler){gpa, gpa + len, fn, ctx, hv};
    unlock(p);
    return err;
}

int ept_perm_register(struct ept_perm *p, uint64_t gpa, uint64_t len, ept_violation_fn fn,
                      void *ctx) {
    return do_register(p, gpa, len, fn, ctx, false);
}

int ept_perm_register_hv(struct ept_perm *p, uint64_t gpa, uint64_t len, ept_violation_fn fn,
                         void *ctx) {
    return do_register(p, gpa, len, fn, ctx, true);
}

int ept_perm_unregister(struct ept_perm *p, uint64_t gpa) {
    int err = EPT_ERR_NOT_FOUND;
    lock(p);
    for (unsigned i = 0; i < p->nhandlers; i++) {
        if (p->handlers[i].start == gpa && !p->handlers[i].hv_owned) {
            p->handlers[i] = p->handlers[--p->nhandlers];
            err = EPT_OK;
            break;
        }
    }
    unlock(p);
    return err;
}

/* --- rights ------------------------------------------------------------------------------- */

static bool perms_ok(const struct ept_perm *p, unsigned perms) {
    if (perms & ~EPT_PERM_RWX)
        return false;
    /* SDM vol. 3C 29.3.3.1: write without read is a misconfiguration, and so is execute-only
     * unless IA32_VMX_EPT_VPID_CAP[0] allows it. */
    if ((perms & EPT_PERM_W) && !(perms & EPT_PERM_R))
        return false;
    if (perms == EPT_PERM_X && !p->ept->caps.exec_only)
        return false;
    return true;
}

/* Sets the rights of one page with the lock held. Windows open on the page (another CPU is
 * single-stepping through it) restore to the new rights. */
static int set_locked(struct ept_perm *p, uint64_t page, unsigned perms, bool hv) {
    struct ept_handler *h = find_handler(p, page);
    if (h && h->hv_owned && !hv)
        return EPT_ERR_PROTECTED;
    uint64_t *pte;
    int err = ept_get_pte(p->ept, page, &pte);
    if (err)
        return err;
    uint64_t v = ept_entry_read(pte);
    ept_entry_write(pte, (v & ~EPTE_PERM_MASK) | perms);
    for (unsigned i = 0; i < p->nvcpus; i++) {
        struct ept_vcpu *c = p->vcpus[i];
        for (unsigned w = 0; w < c->nwin; w++)
            if (c->win[w].gpa == page)
                c->win[w].restore = (c->win[w].restore & ~EPTE_PERM_MASK) | perms;
    }
    return EPT_OK;
}

int ept_perm_set_range(struct ept_perm *p, struct ept_vcpu *self, uint64_t gpa, uint64_t len,
                       unsigned perms) {
    if (!perms_ok(p, perms))
        return EPT_ERR_PERM;
    if (!len || (gpa & ~PAGE_MASK) || gpa + len < gpa)
        return EPT_ERR_ARG;
    int err = EPT_OK;
    lock(p);
    for (uint64_t a = gpa; a < gpa + len && !err; a += EPT_PAGE_SIZE)
        err = set_locked(p, a, perms, false);
    unlock(p);
    int ierr = publish(p, self);
    return err ? err : ierr;
}

int ept_perm_map_hv(struct ept_perm *p, struct ept_vcpu *self, uint64_t gpa, uint64_t len,
                    uint64_t target, unsigned perms) {
    if (!perms_ok(p, perms))
        return EPT_ERR_PERM;
    if (!len || (gpa & ~PAGE_MASK) || (len & ~PAGE_MASK) || gpa + len < gpa ||
        (target & ~PAGE_MASK))
        return EPT_ERR_ARG;
    int err = EPT_OK;
    lock(p);
    for (uint64_t a = gpa; a < gpa + len && !err; a += EPT_PAGE_SIZE) {
        struct ept_handler *h = find_handler(p, a);
        uint64_t *pte;
        if (!h || !h->hv_owned)
            err = EPT_ERR_NOT_FOUND;
        else if (!(err = ept_get_pte(p->ept, a, &pte)))
            ept_entry_write(pte, target | (ept_entry_read(pte) & EPTE_MEMTYPE_MASK) | perms);
    }
    unlock(p);
    int ierr = publish(p, self);
    return err ? err : ierr;
}

int ept_perm_set(struct ept_perm *p, struct ept_vcpu *self, uint64_t gpa, unsigned perms) {
    return ept_perm_set_range(p, self, gpa & PAGE_MASK, EPT_PAGE_SIZE, perms);
}

/* The entry a closed page has: the restore value of an open window on it, else the live one. */
static uint64_t protected_entry(struct ept_perm *p, uint64_t page, const uint64_t *pte) {
    for (unsigned i = 0; i < p->nvcpus; i++) {
        struct ept_vcpu *c = p->vcpus[i];
        for (unsigned w = 0; w < c->nwin; w++)
            if (c->win[w].gpa == page)
                return c->win[w].restore;
    }
    return ept_entry_read(pte);
}

int ept_perm_get(struct ept_perm *p, uint64_t gpa, unsigned *perms) {
    unsigned level;
    lock(p);
    uint64_t *ent = ept_find_leaf(p->ept, gpa, &level);
    int err = ent ? EPT_OK : EPT_ERR_NOT_MAPPED;
    if (ent)
        *perms = (unsigned)(protected_entry(p, gpa & PAGE_MASK, ent) & EPTE_PERM_MASK);
    unlock(p);
    return err;
}

int ept_perm_mtrr_write(struct ept_perm *p, struct ept_vcpu *self, uint32_t msr, uint64_t value) {
    lock(p);
    struct mtrr_state next = p->mtrr;
    int err = mtrr_write_msr(&next, msr, value);
    bool changed = !err && lib_memcmp(&next, &p->mtrr, sizeof(next)) != 0;
    if (changed) {
        p->mtrr = next;
        err = ept_apply_mtrr(p->ept, &p->mtrr);
        /* Open windows restore with the new type too. */
        for (unsigned i = 0; i < p->nvcpus; i++) {
            struct ept_vcpu *c = p->vcpus[i];
            for (unsigned w = 0; w < c->nwin; w++)
                c->win[w].restore =
                    (c->win[w].restore & ~EPTE_MEMTYPE_MASK) |
                    ((uint64_t)mtrr_type_of(&p->mtrr, c->win[w].gpa) << EPTE_MEMTYPE_SHIFT);
        }
    }
    unlock(p);
    if (!changed)
        return err == MTRR_OK ? EPT_OK : EPT_ERR_ARG;
    int ierr = publish(p, self);
    return err ? err : ierr;
}

/* --- exits ---------------------------------------------------------------------------------- */

static void set_mtf(bool on) {
    uint64_t ctl = hw_vmread(VMCS_PROC_BASED_CTLS);
    ctl = on ? (ctl | PROC_MONITOR_TRAP_FLAG) : (ctl & ~PROC_MONITOR_TRAP_FLAG);
    hw_vmwrite(VMCS_PROC_BASED_CTLS, ctl);
}

static void decode(struct ept_violation *v, struct ept_vcpu *self) {
    lib_memset(v, 0, sizeof(*v));
    v->qual = hw_vmread(VMCS_EXIT_QUALIFICATION);
    v->gpa = hw_vmread(VMCS_GUEST_PHYS_ADDR);
    v->rip = hw_vmread(VMCS_GUEST_RIP);
    v->access = (uint8_t)(v->qual & 7);
    v->allowed = (uint8_t)((v->qual >> EPT_QUAL_ALLOWED_SHIFT) & 7);
    v->gla_valid = (v->qual & EPT_QUAL_GLA_VALID) != 0;
    v->gla_is_translation = v->gla_valid && (v->qual & EPT_QUAL_GLA_TRANSLATION);
    /* SDM 28.2.1: the guest-linear-address field is only defined when bit 7 is set. */
    if (v->gla_valid)
        v->gla = hw_vmread(VMCS_GUEST_LINEAR_ADDR);
    v->vcpu = self;
}

/* SDM vol. 3C 28.2.3 ("Information About NMI Unblocking Due to IRET"): when the faulting access
 * belonged to an IRET that unblocked NMIs, and no event was being delivered, blocking by NMI
 * must be set again before the IRET is re-executed. */
static void restore_nmi_blocking(uint64_t qual) {
    if (!(qual & EPT_QUAL_NMI_UNBLOCKING))
        return;
    if (hw_vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID)
        return;
    uint64_t s = hw_vmread(VMCS_GUEST_INTERRUPTIBILITY);
    hw_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s | INTERRUPTIBILITY_NMI);
}

/* Opens one window with the lock held: maps gpa's page to target with perms until the MTF. */
static int open_window(struct ept_perm *p, struct ept_vcpu *self, uint64_t page, uint64_t target,
                       unsigned perms, const struct ept_reply *reply) {
    uint64_t *pte;
    int err = ept_get_pte(p->ept, page, &pte);
    if (err)
        return err;
    struct ept_window *w = NULL;
    for (unsigned i = 0; i < self->nwin; i++)
        if (self->win[i].gpa == page)
            w = &self->win[i]; /* faulted again on it within the same instruction */
    uint64_t v = ept_entry_read(pte);
    if (w) {
        /* Keep what the instruction already got (a fetch, then a write to the same page): taking
         * rights away again would make it fault forever. */
        if ((v & EPTE_ADDR_MASK) == (target & EPTE_ADDR_MASK))
            perms |= (unsigned)(v & EPTE_PERM_MASK);
    } else {
        if (self->nwin >= EPT_MAX_WINDOWS) {
            STAT_INC(p, window_overflows);
            return EPT_ERR_FULL;
        }
        w = &self->win[self->nwin];
        w->restore = protected_entry(p, page, pte);
        w->gpa = page;
        w->done = NULL;
        w->done_ctx = NULL;
        self->nwin++;
    }
    if (reply && reply->done) {
        w->done = reply->done;
        w->done_ctx = reply->done_ctx;
    }
    ept_entry_write(pte, (target & EPTE_ADDR_MASK) | (v & EPTE_MEMTYPE_MASK) | perms);
    return EPT_OK;
}

/* Rights that let `access` through on top of `have`, in a form EPT accepts. */
static unsigned widen(const struct ept_perm *p, unsigned have, unsigned access) {
    unsigned perms = have | access;
    if (perms & EPT_PERM_W)
        perms |= EPT_PERM_R;
    if (perms == EPT_PERM_X && !p->ept->caps.exec_only)
        perms |= EPT_PERM_R;
    return perms;
}

enum ept_exit ept_handle_violation(struct ept_perm *p, struct ept_vcpu *self,
                                   struct ept_violation *out) {
    struct ept_violation v;
    decode(&v, self);
    if (out)
        *out = v;
    __atomic_add_fetch(&self->violations, 1, __ATOMIC_RELAXED);
    STAT_INC(p, violations);
    restore_nmi_blocking(v.qual);
    ept_perm_sync(p, self);
    uint64_t page = v.gpa & PAGE_MASK;
    if (v.gpa >= p->ept->limit) {
        STAT_INC(p, unhandled);
        return EPT_EXIT_UNHANDLED;
    }
    lock(p);
    struct ept_handler *h = find_handler(p, page);
    ept_violation_fn fn = h ? h->fn : NULL;
    void *ctx = h ? h->ctx : NULL;
    unlock(p);

    struct ept_reply reply = {0};
    enum ept_verdict verdict = fn ? fn(ctx, &v, &reply) : EPT_VERDICT_ALLOW_ONCE;
    if (verdict == EPT_VERDICT_RETRY) {
        STAT_INC(p, retries);
        return EPT_EXIT_RESUME;
    }
    if (verdict == EPT_VERDICT_SKIP) {
        /* The access is dropped: the instruction retires without it (SDM 27.3.3's view of a
         * completed instruction: new RIP, no STI/MOV-SS blocking left from before it). */
        if (reply.skip_len == 0 || reply.skip_len > 15) {
            STAT_INC(p, unhandled);
            return EPT_EXIT_UNHANDLED;
        }
        hw_vmwrite(VMCS_GUEST_RIP, v.rip + reply.skip_len);
        uint64_t intr = hw_vmread(VMCS_GUEST_INTERRUPTIBILITY);
        if (intr & 3)
            hw_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~3ull);
        STAT_INC(p, retries);
        return EPT_EXIT_RESUME;
    }
    if (verdict != EPT_VERDICT_ALLOW_ONCE && verdict != EPT_VERDICT_REDIRECT_ONCE) {
        STAT_INC(p, unhandled);
        return EPT_EXIT_UNHANDLED;
    }
    lock(p);
    int err;
    if (verdict == EPT_VERDICT_ALLOW_ONCE) {
        uint64_t *pte;
        err = ept_get_pte(p->ept, page, &pte);
        if (!err) {
            unsigned have = (unsigned)(protected_entry(p, page, pte) & EPTE_PERM_MASK);
            err = open_window(p, self, page, page, widen(p, have, v.access), NULL);
        }
        STAT_INC(p, allow_once);
    } else {
        err = perms_ok(p, reply.perms) ? open_window(p, self, page, reply.phys, reply.perms, &reply)
                                       : EPT_ERR_PERM;
        STAT_INC(p, redirects);
    }
    unlock(p);
    if (err) {
        STAT_INC(p, unhandled);
        return EPT_EXIT_UNHANDLED;
    }
    /* The violation itself dropped this CPU's cached translations for the GPA (SDM vol. 3C
     * "Operations that Invalidate Cached Mappings":
     * EPT violations invalidate the entries used by the faulting access), so the opened entry
     * is seen without INVEPT. */
    self->steps++;
    if (p->mtf)
        set_mtf(true);
    return EPT_EXIT_RESUME;
}

static void close_windows(struct ept_perm *p, struct ept_vcpu *self);

void ept_perm_close_windows(struct ept_perm *p, struct ept_vcpu *self) {
    if (!p->mtf && self->nwin)
        close_windows(p, self);
}

enum ept_exit ept_handle_mtf(struct ept_perm *p, struct ept_vcpu *self) {
    if (!self->nwin)
        return EPT_EXIT_NOT_MINE;
    close_windows(p, self);
    set_mtf(false);
    return EPT_EXIT_RESUME;
}

static void close_windows(struct ept_perm *p, struct ept_vcpu *self) {
    struct ept_window closed[EPT_MAX_WINDOWS];
    unsigned n;
    lock(p);
    n = self->nwin;
    for (unsigned i = 0; i < n; i++)
        closed[i] = self->win[i];
    self->nwin = 0;
    for (unsigned i = 0; i < n; i++) {
        /* Another CPU still inside its own step on this page restores it when it finishes. */
        bool busy = false;
        for (unsigned c = 0; c < p->nvcpus; c++)
            for (unsigned w = 0; w < p->vcpus[c]->nwin; w++)
                if (p->vcpus[c] != self && p->vcpus[c]->win[w].gpa == closed[i].gpa)
                    busy = true;
        if (busy)
            continue;
        uint64_t *pte;
        if (ept_get_pte(p->ept, closed[i].gpa, &pte) == EPT_OK)
            ept_entry_write(pte, closed[i].restore);
    }
    unlock(p);
    publish(p, self);
    for (unsigned i = 0; i < n; i++)
        if (closed[i].done)
            closed[i].done(closed[i].done_ctx, self);
}
