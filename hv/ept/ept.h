/* EPT: the identity map of guest-physical to host-physical memory that every CPU shares.
 *
 * ept_build maps [0, 2^MAXPHYADDR) one to one with 4-level EPT, using 1 GiB and 2 MiB leaves
 * where the MTRRs give one memory type over the block and the CPU offers the page size, 4 KiB
 * leaves where types mix. Table pages come from a caller-given pool (struct ept_pool): pool
 * exhaustion is EPT_ERR_NOMEM, never a crash. ept_get_pte splits large leaves on demand for the
 * permission API (hv/ept/ept_perm.h); ept_apply_mtrr re-derives memory types after a guest MTRR
 * write.
 *
 * Concurrency: the mutators here do no locking. Before launch one CPU calls them; afterwards
 * only through hv/ept/ept_perm.c, which serialises them and invalidates every CPU's EPT TLBs.
 * Entries are written with single 64-bit atomic stores, so a CPU walking the tables at the same
 * time sees either the old or the new entry (SDM vol. 3C 29.4.3, "Invalidation of TLBs and
 * Paging-Structure Caches"; splits keep the translation, so stale cached entries stay correct
 * until the INVEPT). */
#ifndef VIGIL_EPT_H
#define VIGIL_EPT_H

#include "base/hw.h"
#include "base/report.h"
#include "hv/ept/mtrr.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPT_PAGE_SIZE 4096ull
#define EPT_ENTRIES 512

/* Access rights of an EPT leaf, bits 2:0 (SDM vol. 3C 29.3.2, tables 29-3..29-6). */
#define EPT_PERM_R 1u
#define EPT_PERM_W 2u
#define EPT_PERM_X 4u
#define EPT_PERM_RWX 7u

#define EPTE_PERM_MASK 7ull
#define EPTE_MEMTYPE_SHIFT 3
#define EPTE_MEMTYPE_MASK (7ull << EPTE_MEMTYPE_SHIFT)
#define EPTE_IGNORE_PAT (1ull << 6)
#define EPTE_LARGE (1ull << 7)
#define EPTE_ADDR_MASK 0x000FFFFFFFFFF000ull

/* 4-level EPT translates 48 bits of guest-physical address (SDM vol. 3C 29.3.2). */
#define EPT_MAX_GPA_4LEVEL (1ull << 48)

enum ept_err {
    EPT_OK = 0,
    EPT_ERR_NOMEM = -1,      /* the page pool is exhausted */
    EPT_ERR_ARG = -2,        /* bad argument (alignment, size, null) */
    EPT_ERR_CAPS = -3,       /* the CPU lacks what EPT needs (4-level walk, WB/UC tables) */
    EPT_ERR_NOT_MAPPED = -4, /* guest-physical address outside the map */
    EPT_ERR_CORRUPT = -5,    /* a table entry points outside the pool: a vigil bug */
    EPT_ERR_FULL = -6,       /* a fixed-size registry is full */
    EPT_ERR_PERM = -7,       /* permissions EPT cannot express (W without R, X-only) */
    EPT_ERR_INVEPT = -8,     /* INVEPT failed */
    EPT_ERR_EXISTS = -9,     /* overlapping registration */
    EPT_ERR_NOT_FOUND = -10, /* nothing registered there */
    EPT_ERR_TIMEOUT = -11,   /* other CPUs did not confirm an invalidation in time */
    EPT_ERR_PROTECTED = -12, /* the page belongs to the hypervisor (hv/ept/ept_hide.h) */
};
const char *ept_strerror(int err);

/* The spinlock of the EPT code (hv/ept/ept_perm.c's table lock, hv/ept/ept_hide.c's report lock).
 */
static inline void ept_spin_lock(uint32_t *l) {
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            hw_pause();
}
static inline void ept_spin_unlock(uint32_t *l) {
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Table pages: one contiguous, 4 KiB-aligned run of pages that is also physically contiguous
 * (checked page by page with v2p at init). In the hypervisor phys == virt; unit tests use a
 * malloc'd buffer with a fake physical base, so virt/phys mix-ups fail. */
typedef uint64_t (*ept_v2p_fn)(void *ctx, const void *virt);
struct ept_pool {
    uint8_t *base;
    uint64_t phys_base;
    size_t npages;
    size_t used;
};
int ept_pool_init(struct ept_pool *p, void *pages, size_t npages, ept_v2p_fn v2p, void *ctx);
/* A zeroed page, or NULL when the pool is exhausted. */
void *ept_pool_alloc(struct ept_pool *p, uint64_t *phys);
/* The virtual address of a pool page, or NULL when phys is not one. */
void *ept_pool_virt(const struct ept_pool *p, uint64_t phys);
size_t ept_pool_free_pages(const struct ept_pool *p);

/* IA32_VMX_EPT_VPID_CAP (MSR 0x48C), SDM vol. 3D appendix A.10. */
struct ept_caps {
    bool exec_only;     /* bit 0 */
    bool walk4;         /* bit 6 */
    bool walk5;         /* bit 7 */
    bool uc_tables;     /* bit 8 */
    bool wb_tables;     /* bit 14 */
    bool pages_2m;      /* bit 16 */
    bool pages_1g;      /* bit 17 */
    bool invept;        /* bit 20 */
    bool ad;            /* bit 21 */
    bool invept_single; /* bit 25 */
    bool invept_all;    /* bit 26 */
};
void ept_caps_decode(uint64_t ept_vpid_cap, struct ept_caps *c);

struct ept_stats {
    uint64_t pages_1g, pages_2m, pages_4k; /* leaves mapping memory */
    uint64_t tables;                       /* table pages in use (PML4 included) */
    uint64_t splits_1g, splits_2m;         /* large leaves split since the build */
};

struct ept {
    struct ept_pool *pool;
    struct ept_caps caps;
    uint64_t *pml4;
    uint64_t pml4_phys;
    uint64_t limit;       /* mapped: [0, limit) */
    bool limit_truncated; /* MAXPHYADDR > 48: the part above 2^48 is left unmapped */
    uint8_t table_memtype;
    struct ept_stats stats;
};

/* Builds the identity map of [0, limit) (limit 0: 2^MAXPHYADDR from the MTRR state, capped at
 * 2^48 because vigil uses 4-level EPT; a 5-level walk would be needed above, see docs/ept.md).
 * Requires caps->walk4 and WB or UC paging-structure memory. On error the pool pages used so far
 * stay used; reinitialise the pool to retry. */
int ept_build(struct ept *e, struct ept_pool *pool, const struct ept_caps *caps,
              const struct mtrr_state *m, uint64_t limit);

/* The boot path in one call: mtrr_read_hw(m), IA32_VMX_EPT_VPID_CAP through hw_rdmsr (call only
 * when the VMX capability MSRs say EPT is available: the MSR #GPs otherwise), ept_build of the
 * whole space. MTRR read errors are EPT_ERR_CAPS. */
int ept_setup_hw(struct ept *e, struct ept_pool *pool, struct mtrr_state *m);

/* The EPTP VMCS value: paging-structure memory type (WB when IA32_VMX_EPT_VPID_CAP[14], else UC),
 * walk length 4 - 1 in bits 5:3, accessed/dirty flags off, PML4 address (SDM vol. 3C 25.6.11). */
uint64_t ept_eptp(const struct ept *e);

/* The leaf entry mapping gpa and its level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB), or NULL. */
uint64_t *ept_find_leaf(const struct ept *e, uint64_t gpa, unsigned *level);

/* The 4 KiB leaf for gpa, splitting 1 GiB / 2 MiB leaves on the way (same translation, rights
 * and memory type in every new entry). EPT_ERR_NOMEM when the pool runs dry: what was split so
 * far stays split, which is still a correct map. */
int ept_get_pte(struct ept *e, uint64_t gpa, uint64_t **pte);

/* Reads / writes an entry with one atomic 64-bit access. */
uint64_t ept_entry_read(const uint64_t *entry);
void ept_entry_write(uint64_t *entry, uint64_t value);

/* Re-derives every leaf's memory type from a new MTRR state, splitting leaves whose block is no
 * longer uniform. Rights and targets are kept. The caller invalidates (ept_invept on each CPU). */
int ept_apply_mtrr(struct ept *e, const struct mtrr_state *m);

/* INVEPT for this EPTP on the calling CPU: single-context when offered, else all-context
 * (SDM vol. 3C 29.4.3.1). Both drop guest-physical and combined mappings for every VPID. */
int ept_invept(const struct ept *e);

/* EPT misconfiguration exit (reason 49): a vigil bug. Reports the guest-physical address from
 * the VMCS and the entries of its walk as {"ev":"ept_misconfig",...} and returns EPT_ERR_CORRUPT:
 * the caller parks the CPU. */
int ept_handle_misconfig(const struct ept *e, struct report *r);

#endif
