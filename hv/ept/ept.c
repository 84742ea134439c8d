#include "hv/ept/ept.h"

#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmx_defs.h"

const char *ept_strerror(int err) {
    switch (err) {
    case EPT_OK:
        return "ok";
    case EPT_ERR_NOMEM:
        return "EPT page pool exhausted";
    case EPT_ERR_ARG:
        return "bad argument";
    case EPT_ERR_CAPS:
        return "CPU lacks 4-level EPT or WB/UC paging-structure memory";
    case EPT_ERR_NOT_MAPPED:
        return "guest-physical address outside the EPT map";
    case EPT_ERR_CORRUPT:
        return "EPT entry points outside the table pool";
    case EPT_ERR_FULL:
        return "registry full";
    case EPT_ERR_PERM:
        return "permissions EPT cannot express";
    case EPT_ERR_INVEPT:
        return "INVEPT failed";
    case EPT_ERR_EXISTS:
        return "overlaps an existing registration";
    case EPT_ERR_NOT_FOUND:
        return "not registered";
    case EPT_ERR_TIMEOUT:
        return "other CPUs did not confirm the EPT invalidation";
    case EPT_ERR_PROTECTED:
        return "page belongs to the hypervisor";
    default:
        return "unknown EPT error";
    }
}

/* --- pool ----------------------------------------------------------------------------------- */

int ept_pool_init(struct ept_pool *p, void *pages, size_t npages, ept_v2p_fn v2p, void *ctx) {
    lib_memset(p, 0, sizeof(*p));
    if (!pages || !v2p || ((uintptr_t)pages & (EPT_PAGE_SIZE - 1)))
        return EPT_ERR_ARG;
    uint64_t phys = v2p(ctx, pages);
    if (phys & (EPT_PAGE_SIZE - 1))
        return EPT_ERR_ARG;
    /* ept_pool_virt inverts the mapping by offset: it must be linear. */
    for (size_t i = 1; i < npages; i++)
        if (v2p(ctx, (uint8_t *)pages + i * EPT_PAGE_SIZE) != phys + i * EPT_PAGE_SIZE)
            return EPT_ERR_ARG;
    p->base = pages;
    p->phys_base = phys;
    p->npages = npages;
    return EPT_OK;
}

void *ept_pool_alloc(struct ept_pool *p, uint64_t *phys) {
    if (p->used >= p->npages)
        return NULL;
    uint8_t *v = p->base + p->used * EPT_PAGE_SIZE;
    *phys = p->phys_base + p->used * EPT_PAGE_SIZE;
    p->used++;
    lib_memset(v, 0, EPT_PAGE_SIZE);
    return v;
}

void *ept_pool_virt(const struct ept_pool *p, uint64_t phys) {
    if (phys < p->phys_base || (phys & (EPT_PAGE_SIZE - 1)))
        return NULL;
    uint64_t idx = (phys - p->phys_base) / EPT_PAGE_SIZE;
    if (idx >= p->used)
        return NULL;
    return p->base + idx * EPT_PAGE_SIZE;
}

size_t ept_pool_free_pages(const struct ept_pool *p) {
    return p->npages - p->used;
}

/* --- capabilities ------------------------------------------------------------------------- */

void ept_caps_decode(uint64_t v, struct ept_caps *c) {
    c->exec_only = v & (1ull << 0);
    c->walk4 = v & (1ull << 6);
    c->walk5 = v & (1ull << 7);
    c->uc_tables = v & (1ull << 8);
    c->wb_tables = v & (1ull << 14);
    c->pages_2m = v & (1ull << 16);
    c->pages_1g = v & (1ull << 17);
    c->invept = v & (1ull << 20);
    c->ad = v & (1ull << 21);
    c->invept_single = v & (1ull << 25);
    c->invept_all = v & (1ull << 26);
}

/* --- build -------------------------------------------------------------------------------- */

static unsigned level_shift(unsigned level) {
    return 12 + 9 * (level - 1); /* 1: 4 KiB, 2: 2 MiB, 3: 1 GiB, 4: 512 GiB */
}

void ept_entry_write(uint64_t *entry, uint64_t value) {
    __atomic_store_n(entry, value, __ATOMIC_RELEASE);
}

uint64_t ept_entry_read(const uint64_t *entry) {
    return __atomic_load_n(entry, __ATOMIC_ACQUIRE);
}

/* A leaf: identity target, all rights, the MTRR type, IPAT clear so the guest's PAT still
 * combines with it as it would with the MTRRs (SDM vol. 3C 29.3.7.2). */
static uint64_t leaf(uint64_t gpa, uint8_t type, unsigned level) {
    return gpa | EPT_PERM_RWX | ((uint64_t)type << EPTE_MEMTYPE_SHIFT) |
           (level > 1 ? EPTE_LARGE : 0);
}

static void count_leaf(struct ept *e, unsigned level, int64_t delta) {
    uint64_t *c = level == 3   ? &e->stats.pages_1g
                  : level == 2 ? &e->stats.pages_2m
                               : &e->stats.pages_4k;
    *c += (uint64_t)delta;
}

static bool large_ok(const struct ept *e, unsigned level) {
    return (level == 2 && e->caps.pages_2m) || (level == 3 && e->caps.pages_1g);
}

static int fill(struct ept *e, uint64_t *table, unsigned level, uint64_t base,
                const struct mtrr_state *m) {
    unsigned shift = level_shift(level);
    uint64_t size = 1ull << shift;
    for (unsigned i = 0; i < EPT_ENTRIES; i++) {
        uint64_t gpa = base + (uint64_t)i * size;
        if (gpa >= e->limit)
            break;
        uint8_t t;
        if (level == 1) {
            table[i] = leaf(gpa, mtrr_type_of(m, gpa), 1);
            count_leaf(e, 1, 1);
            continue;
        }
        if (large_ok(e, level) && gpa + size <= e->limit && mtrr_range_type(m, gpa, shift, &t)) {
            table[i] = leaf(gpa, t, level);
            count_leaf(e, level, 1);
            continue;
        }
        uint64_t phys;
        uint64_t *sub = ept_pool_alloc(e->pool, &phys);
        if (!sub)
            return EPT_ERR_NOMEM;
        e->stats.tables++;
        /* Non-leaf entries: all rights, so the leaf alone decides (SDM 29.3.3: the access
         * rights of every level are ANDed). */
        table[i] = phys | EPT_PERM_RWX;
        int err = fill(e, sub, level - 1, gpa, m);
        if (err)
            return err;
    }
    return EPT_OK;
}

int ept_build(struct ept *e, struct ept_pool *pool, const struct ept_caps *caps,
              const struct mtrr_state *m, uint64_t limit) {
    lib_memset(e, 0, sizeof(*e));
    if (!pool || !caps || !m)
        return EPT_ERR_ARG;
    e->pool = pool;
    e->caps = *caps;
    if (!caps->walk4)
        return EPT_ERR_CAPS;
    if (caps->wb_tables)
        e->table_memtype = MTRR_TYPE_WB;
    else if (caps->uc_tables)
        e->table_memtype = MTRR_TYPE_UC;
    else
        return EPT_ERR_CAPS;
    if (m->maxphyaddr < 32 || m->maxphyaddr > 52)
        return EPT_ERR_ARG;
    uint64_t top = 1ull << m->maxphyaddr;
    if (top > EPT_MAX_GPA_4LEVEL) {
        top = EPT_MAX_GPA_4LEVEL;
        e->limit_truncated = true;
    }
    if (limit == 0)
        limit = top;
    if ((limit & (EPT_PAGE_SIZE - 1)) || limit > top)
        return EPT_ERR_ARG;
    e->limit = limit;
    e->pml4 = ept_pool_alloc(pool, &e->pml4_phys);
    if (!e->pml4)
        return EPT_ERR_NOMEM;
    e->stats.tables = 1;
    return fill(e, e->pml4, 4, 0, m);
}

int ept_setup_hw(struct ept *e, struct ept_pool *pool, struct mtrr_state *m) {
    lib_memset(e, 0, sizeof(*e));
    if (mtrr_read_hw(m) != MTRR_OK)
        return EPT_ERR_CAPS;
    struct ept_caps caps;
    ept_caps_decode(hw_rdmsr(0x48C /* IA32_VMX_EPT_VPID_CAP */), &caps);
    return ept_build(e, pool, &caps, m, 0);
}

uint64_t ept_eptp(const struct ept *e) {
    return e->pml4_phys | (3ull << 3) | e->table_memtype;
}

/* --- walks and splits ---------------------------------------------------------------------- */

static uint64_t *entry_at(const struct ept *e, uint64_t *table, unsigned level, uint64_t gpa) {
    (void)e;
    return &table[(gpa >> level_shift(level)) & (EPT_ENTRIES - 1)];
}

/* Walks to the leaf; *level receives its level. Returns NULL for unmapped addresses and for
 * entries that point outside the pool (with *corrupt set). */
static uint64_t *walk(const struct ept *e, uint64_t gpa, unsigned *level, bool *corrupt) {
    *corrupt = false;
    if (!e->pml4 || gpa >= e->limit)
        return NULL;
    uint64_t *table = e->pml4;
    for (unsigned l = 4; l >= 1; l--) {
        uint64_t *ent = entry_at(e, table, l, gpa);
        uint64_t v = ept_entry_read(ent);
        if (l == 1 || (l <= 3 && (v & EPTE_LARGE))) {
            *level = l;
            return ent;
        }
        if (!(v & EPTE_PERM_MASK))
            return NULL; /* non-leaf entries are never hidden: not present means unmapped */
        table = ept_pool_virt(e->pool, v & EPTE_ADDR_MASK);
        if (!table) {
            *corrupt = true;
            return NULL;
        }
    }
    return NULL;
}

uint64_t *ept_find_leaf(const struct ept *e, uint64_t gpa, unsigned *level) {
    bool corrupt;
    unsigned l = 0;
    uint64_t *ent = walk(e, gpa, &l, &corrupt);
    if (level)
        *level = l;
    return ent;
}

/* Replaces the large leaf *ent at level by a table of level - 1 leaves with the same target,
 * rights and memory type. The table is complete before the entry changes, and the translation
 * is the same, so CPUs using the tables meanwhile see a correct map either way. */
static int split(struct ept *e, uint64_t *ent, unsigned level) {
    uint64_t v = ept_entry_read(ent);
    uint64_t phys;
    uint64_t *sub = ept_pool_alloc(e->pool, &phys);
    if (!sub)
        return EPT_ERR_NOMEM;
    e->stats.tables++;
    uint64_t child_size = 1ull << level_shift(level - 1);
    uint64_t attrs = v & ~EPTE_ADDR_MASK & ~EPTE_LARGE;
    uint64_t target = v & EPTE_ADDR_MASK;
    for (unsigned i = 0; i < EPT_ENTRIES; i++)
        sub[i] = (target + i * child_size) | attrs | (level - 1 > 1 ? EPTE_LARGE : 0);
    ept_entry_write(ent, phys | EPT_PERM_RWX);
    count_leaf(e, level, -1);
    count_leaf(e, level - 1, EPT_ENTRIES);
    if (level == 3)
        e->stats.splits_1g++;
    else
        e->stats.splits_2m++;
    return EPT_OK;
}

int ept_get_pte(struct ept *e, uint64_t gpa, uint64_t **pte) {
    for (;;) {
        unsigned level;
        bool corrupt;
        uint64_t *ent = walk(e, gpa, &level, &corrupt);
        if (!ent)
            return corrupt ? EPT_ERR_CORRUPT : EPT_ERR_NOT_MAPPED;
        if (level == 1) {
            *pte = ent;
            return EPT_OK;
        }
        int err = split(e, ent, level);
        if (err)
            return err;
    }
}

/* --- memory types after MTRR writes --------------------------------------------------------- */

static uint64_t with_type(uint64_t v, uint8_t t) {
    return (v & ~EPTE_MEMTYPE_MASK) | ((uint64_t)t << EPTE_MEMTYPE_SHIFT);
}

static int retype(struct ept *e, uint64_t *table, unsigned level, uint64_t base,
                  const struct mtrr_state *m) {
    unsigned shift = level_shift(level);
    for (unsigned i = 0; i < EPT_ENTRIES; i++) {
        uint64_t gpa = base + ((uint64_t)i << shift);
        if (gpa >= e->limit)
            break;
        uint64_t *ent = &table[i];
        uint64_t v = ept_entry_read(ent);
        uint8_t t;
        if (level == 1) {
            ept_entry_write(ent, with_type(v, mtrr_type_of(m, gpa)));
            continue;
        }
        if (level <= 3 && (v & EPTE_LARGE)) {
            if (mtrr_range_type(m, gpa, shift, &t)) {
                ept_entry_write(ent, with_type(v, t));
                continue;
            }
            int err = split(e, ent, level);
            if (err)
                return err;
            v = ept_entry_read(ent);
        }
        if (!(v & EPTE_PERM_MASK))
            continue;
        uint64_t *sub = ept_pool_virt(e->pool, v & EPTE_ADDR_MASK);
        if (!sub)
            return EPT_ERR_CORRUPT;
        int err = retype(e, sub, level - 1, gpa, m);
        if (err)
            return err;
    }
    return EPT_OK;
}

int ept_apply_mtrr(struct ept *e, const struct mtrr_state *m) {
    if (!e->pml4)
        return EPT_ERR_ARG;
    return retype(e, e->pml4, 4, 0, m);
}

int ept_invept(const struct ept *e) {
    /* SDM vol. 3C 29.4.3.1 / INVEPT: type 1 (single-context) invalidates mappings derived from
     * this EPTP, type 2 (all-context) every EPTP's. The descriptor is {EPTP, 0}. */
    uint64_t desc[2] = {ept_eptp(e), 0};
    uint64_t type;
    if (e->caps.invept_single)
        type = 1;
    else if (e->caps.invept_all)
        type = 2;
    else
        return EPT_ERR_INVEPT;
    return hw_invept(type, desc) ? EPT_OK : EPT_ERR_INVEPT;
}

int ept_handle_misconfig(const struct ept *e, struct report *r) {
    uint64_t gpa = hw_vmread(VMCS_GUEST_PHYS_ADDR);
    uint64_t entries[4];
    unsigned n = 0;
    if (e->pml4 && gpa < e->limit) {
        uint64_t *table = e->pml4;
        for (unsigned l = 4; l >= 1 && table; l--) {
            uint64_t v = ept_entry_read(entry_at(e, table, l, gpa));
            entries[n++] = v;
            if (l == 1 || (l <= 3 && (v & EPTE_LARGE)) || !(v & EPTE_PERM_MASK))
                break;
            table = ept_pool_virt(e->pool, v & EPTE_ADDR_MASK);
        }
    }
    if (r) {
        report_begin(r, "ept_misconfig");
        report_hex(r, "gpa", gpa);
        report_hex(r, "eptp", ept_eptp(e));
        report_arr_begin(r, "entries");
        for (unsigned i = 0; i < n; i++)
            report_hex(r, NULL, entries[i]);
        report_arr_end(r);
        report_end(r);
    }
    return EPT_ERR_CORRUPT;
}
