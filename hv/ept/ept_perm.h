/* The EPT permission API (used by vmi/ and by hv/ept/ept_hide.c): read/write/execute rights of any
 * guest-physical 4 KiB page, violation handlers per page range, "let one access through" with
 * the monitor trap flag, and invalidation of every CPU's EPT TLBs.
 *
 * Invalidation scheme: one generation counter. Every change that can take rights away bumps it,
 * runs INVEPT on the calling CPU and calls the kick hook (hv/core/ept_kick.c: an NMI that makes the
 * other CPUs exit). Each CPU calls ept_perm_sync right before every VM entry; when its generation
 * is behind it runs INVEPT. ept_perm_wait_all waits (bounded) until every running CPU confirmed,
 * for callers that need the change in force everywhere before they go on.
 *
 * Allow-once: on a violation the handler may ask for the access to go through once. The page is
 * opened (rights + the access, or mapped to another page for ept_hide's scratch/zero pages), the
 * monitor trap flag is set, the guest runs one instruction, and the MTF exit puts the protected
 * entry back. One instruction can fault on several protected pages (a MOVS across two pages, a
 * guest page-table write), so each CPU keeps up to EPT_MAX_WINDOWS open pages until its MTF.
 * Known limit: while a page is open, other CPUs sharing the EPT can access it without a fault
 * (docs/ept.md: per-CPU EPTPs would close that window).
 *
 * Locking: one spinlock serialises every change of the tables. Handlers are called without it
 * and may call ept_perm_set and friends. */
#ifndef VIGIL_EPT_PERM_H
#define VIGIL_EPT_PERM_H

#include "hv/ept/ept.h"
#include "hv/ept/mtrr.h"
#include <stdbool.h>
#include <stdint.h>

#define EPT_MAX_VCPUS 1024 /* = HV_MAX_CPUS (hv/core/hv_image.h) */
#define EPT_PERM_MAX_HANDLERS 64
#define EPT_MAX_WINDOWS 8

/* Exit qualification of an EPT violation (SDM vol. 3C 28.2.1, table 28-7). */
#define EPT_QUAL_READ (1ull << 0)
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_ALLOWED_SHIFT 3 /* bits 5:3: rights of the entries walked (ANDed) */
#define EPT_QUAL_GLA_VALID (1ull << 7)
#define EPT_QUAL_GLA_TRANSLATION (1ull << 8) /* with bit 7: the access was to the final GLA */
#define EPT_QUAL_NMI_UNBLOCKING (1ull << 12)

struct ept_vcpu;

struct ept_violation {
    uint64_t gpa;
    uint64_t gla;            /* guest linear address, when gla_valid */
    bool gla_valid;          /* qualification bit 7 */
    bool gla_is_translation; /* bit 8: the access to gla itself, not to a guest page table */
    uint8_t access;          /* EPT_PERM_R/W/X: what the access needed (bits 2:0) */
    uint8_t allowed;         /* EPT_PERM_R/W/X: what the walk allowed (bits 5:3) */
    uint64_t rip;
    uint64_t qual;
    struct ept_vcpu *vcpu;
};

enum ept_verdict {
    EPT_VERDICT_RETRY = 0,     /* re-execute: the handler changed the rights */
    EPT_VERDICT_ALLOW_ONCE,    /* let this access through once; the page stays protected */
    EPT_VERDICT_REDIRECT_ONCE, /* run one instruction with the page mapped per *reply */
    EPT_VERDICT_UNHANDLED,     /* not understood: the exit is reported to the caller */
    EPT_VERDICT_SKIP,          /* complete the instruction without its access: RIP += skip_len */
};

/* For EPT_VERDICT_REDIRECT_ONCE: the page to map at the faulting GPA, its rights, and what to
 * call after the instruction (MTF exit, page restored and invalidated). */
typedef void (*ept_done_fn)(void *ctx, struct ept_vcpu *v);
struct ept_reply {
    uint64_t skip_len; /* EPT_VERDICT_SKIP: length of the faulting instruction */
    uint64_t phys;
    uint8_t perms;
    ept_done_fn done;
    void *done_ctx;
};

typedef enum ept_verdict (*ept_violation_fn)(void *ctx, const struct ept_violation *v,
                                             struct ept_reply *reply);

struct ept_window {
    uint64_t gpa;     /* page */
    uint64_t restore; /* the protected entry to put back */
    ept_done_fn done;
    void *done_ctx;
};

/* Per-CPU state; the core keeps one per CPU (struct hv_cpu, hv/core/percpu.h) and registers it. */
struct ept_vcpu {
    uint32_t index;
    bool running;      /* false while parked / waiting for SIPI: wait_all skips it */
    uint64_t seen_gen; /* generation of the last INVEPT on this CPU */
    unsigned nwin;     /* open allow-once windows (MTF pending when > 0) */
    struct ept_window win[EPT_MAX_WINDOWS];
    uint64_t violations, steps, invepts;
};

struct ept_handler {
    uint64_t start, end; /* [start, end), page aligned */
    ept_violation_fn fn;
    void *ctx;
    bool hv_owned; /* hypervisor memory: ept_perm_set refuses these pages */
};

typedef void (*ept_kick_fn)(void *ctx); /* make every other CPU exit soon; may return at once */

struct ept_perm_stats {
    uint64_t violations, unhandled, retries, allow_once, redirects, window_overflows;
    uint64_t invalidations;
};

struct ept_perm {
    struct ept *ept;
    struct mtrr_state mtrr; /* the guest-visible MTRRs the memory types follow */
    uint32_t lock;
    uint64_t gen;
    /* The monitor trap flag can be used (IA32_VMX_PROCBASED_CTLS allowed-1 bit 27). Without it
     * an allow-once window stays open until this CPU's next VM exit (ept_perm_close_windows). */
    bool mtf;
    ept_kick_fn kick;
    void *kick_ctx;
    struct ept_vcpu *vcpus[EPT_MAX_VCPUS];
    unsigned nvcpus;
    struct ept_handler handlers[EPT_PERM_MAX_HANDLERS];
    unsigned nhandlers;
    struct ept_perm_stats stats;
};

/* Before launch. kick may be NULL on a single CPU. */
void ept_perm_init(struct ept_perm *p, struct ept *e, const struct mtrr_state *m, ept_kick_fn kick,
                   void *kick_ctx);
int ept_perm_add_vcpu(struct ept_perm *p, struct ept_vcpu *v, uint32_t index);

/* Rights of the 4 KiB page holding gpa (EPT_PERM_* bits; 0 = no access). Splits large pages
 * from the pool (EPT_ERR_NOMEM when empty). EPT_ERR_PERM for write-without-read (an EPT
 * misconfiguration, SDM 29.3.3.1) and for execute-only when IA32_VMX_EPT_VPID_CAP[0] is clear.
 * EPT_ERR_PROTECTED for hypervisor pages. self is the calling CPU (NULL before launch). */
int ept_perm_set(struct ept_perm *p, struct ept_vcpu *self, uint64_t gpa, unsigned perms);
/* The same over [gpa, gpa + len), one invalidation at the end. Stops at the first error. */
int ept_perm_set_range(struct ept_perm *p, struct ept_vcpu *self, uint64_t gpa, uint64_t len,
                       unsigned perms);
/* The protected (not temporarily opened) rights of the page. */
int ept_perm_get(struct ept_perm *p, uint64_t gpa, unsigned *perms);

/* Violation handlers for [gpa, gpa + len) (page aligned, no overlap with another range). */
int ept_perm_register(struct ept_perm *p, uint64_t gpa, uint64_t len, ept_violation_fn fn,
                      void *ctx);
int ept_perm_register_hv(struct ept_perm *p, uint64_t gpa, uint64_t len, ept_violation_fn fn,
                         void *ctx); /* for ept_hide: marks the range hypervisor-owned */
int ept_perm_unregister(struct ept_perm *p, uint64_t gpa);
/* For ept_hide: maps every page of [gpa, gpa + len), which must lie in hypervisor-owned ranges,
 * to the one page target with rights perms (memory types kept), then invalidates. */
int ept_perm_map_hv(struct ept_perm *p, struct ept_vcpu *self, uint64_t gpa, uint64_t len,
                    uint64_t target, unsigned perms);
const struct ept_handler *ept_perm_find_handler(const struct ept_perm *p, uint64_t gpa);

/* A new generation without any change: INVEPT here, the kick for the others (a self-test of the
 * invalidation path, followed by ept_perm_wait_all). */
int ept_perm_invalidate_all(struct ept_perm *p, struct ept_vcpu *self);
/* Right before every VM entry: INVEPT when this CPU is behind. */
int ept_perm_sync(struct ept_perm *p, struct ept_vcpu *self);
/* Waits (spins at most max_spins times, syncing self meanwhile) until every running CPU has
 * synced to the current generation. EPT_ERR_TIMEOUT otherwise. */
int ept_perm_wait_all(struct ept_perm *p, struct ept_vcpu *self, uint64_t max_spins);

/* Called after a guest MTRR write reached the hardware (vcpu_mtrr_hook_fn): updates the MTRR
 * state, re-derives the memory types, invalidates. Writes that change nothing cost nothing. */
int ept_perm_mtrr_write(struct ept_perm *p, struct ept_vcpu *self, uint32_t msr, uint64_t value);

/* Exit handlers; the caller runs them on the CPU that took the exit, VMCS current. */
enum ept_exit {
    EPT_EXIT_RESUME = 0,    /* VM entry */
    EPT_EXIT_UNHANDLED = 1, /* dump and park (e.g. a GPA outside the map) */
    EPT_EXIT_NOT_MINE = 2,  /* MTF exit with no open window: someone else's single-step */
};
/* Exit reason 48. Decodes the qualification (SDM 28.2.1 table 28-7), the GPA and, when bit 7
 * says so, the guest linear address; restores NMI blocking when bit 12 asks for it; calls the
 * registered handler (pages without one are let through once and counted) and acts on it. *out
 * (may be NULL) receives the decoded violation. */
enum ept_exit ept_handle_violation(struct ept_perm *p, struct ept_vcpu *self,
                                   struct ept_violation *out);
/* Exit reason 37: closes this CPU's windows, clears the monitor trap flag. */
enum ept_exit ept_handle_mtf(struct ept_perm *p, struct ept_vcpu *self);
/* Without MTF: at the start of every VM exit, closes the windows the last violation opened. */
void ept_perm_close_windows(struct ept_perm *p, struct ept_vcpu *self);

#endif
