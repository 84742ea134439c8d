/* Guarded patches: bytes vigil wrote into guest memory (the INT3s of the live hooks) that the
 * guest must not change. Without this, a guest kernel that writes the original NOP back (a
 * rootkit, or anything with kernel write access) would switch vigil's live events off silently.
 *
 * Each patch's 4 KiB page loses its EPT write right; a violation handler on the page decides:
 *  - a write that starts inside a patch: a tamper attempt. It is reported and dropped when the
 *    instruction's length is known (RIP moves past it, EPT_VERDICT_SKIP); otherwise it runs once
 *    like any other write and is undone after it (below);
 *  - any other write (the kernel patching its own code next to a hook: jump labels, kprobes,
 *    alternatives): it runs once on the page itself (EPT_VERDICT_REDIRECT_ONCE to the same
 *    page, with the write right), and when that window closes every patch of the page is checked
 *    again. A write that spread into a patch (a memcpy starting before it, a second instruction
 *    before the window closed without MTF) is undone and reported.
 * ept_guard_check re-checks every patch (the heartbeat calls it): it catches what EPT cannot see
 * (DMA) and what another CPU wrote through a stale translation.
 *
 * Hiding: with a shadow page allocator and EPT execute-only pages (IA32_VMX_EPT_VPID_CAP bit 0),
 * the page is execute-only and a read gets, for one instruction, a shadow copy of the page with
 * the original bytes where the patches are: the guest executes the patch but reads what was
 * there before. The shadow is refreshed after every write window and on every check. A read by
 * an instruction on the page itself (it needs the page readable and executable at once) reads
 * the real page.
 *
 * Events: {"ev":"hook_tamper","function":..,"gpa":"0x..","rip":"0x..","insn":..|null,
 * "action":"dropped|undone","cpu":n} for the first EPT_GUARD_REPORT_FIRST attempts, then
 * {"ev":"hook_tamper_count","attempts":n,"unreported":n} from ept_guard_report_summary. The
 * guest still reads the patched bytes (a guest that reads its own text sees the INT3). */
#ifndef VIGIL_EPT_GUARD_H
#define VIGIL_EPT_GUARD_H

#include "base/report.h"
#include "base/spinlock.h"
#include "hv/ept/ept_hide.h"
#include "hv/ept/ept_perm.h"
#include <stdbool.h>
#include <stdint.h>

#define EPT_GUARD_MAX 16
#define EPT_GUARD_MAX_LEN 16
#define EPT_GUARD_REPORT_FIRST 16

/* Host pointer to the guest-physical address pa (the hypervisor: its identity map). */
typedef uint8_t *(*ept_guard_map_fn)(void *ctx, uint64_t pa);
/* A 4 KiB page of hypervisor memory (hidden from the guest) for a shadow; *phys its address. */
typedef uint8_t *(*ept_guard_page_fn)(void *ctx, uint64_t *phys);

struct ept_guard_patch {
    uint64_t pa;
    uint8_t bytes[EPT_GUARD_MAX_LEN];
    uint8_t orig[EPT_GUARD_MAX_LEN]; /* what was there before: what reads see when hidden */
    uint8_t len;
    const char *name;
};

struct ept_guard_page {
    uint64_t page;
    uint8_t *shadow; /* NULL: not hidden (reads see the patch) */
    uint64_t shadow_phys;
};

struct ept_guard {
    struct ept_perm *perm;
    const struct report_out *report; /* a writer is taken per report (base/report.h) */
    ept_insn_fn insn;                /* optional: instruction text for the report */
    ept_insn_len_fn insn_len;        /* optional: lets a tamper write be dropped */
    void *insn_ctx;
    ept_guard_map_fn map;
    void *map_ctx;
    ept_guard_page_fn shadow_page; /* optional: hides the patches from guest reads */
    void *shadow_ctx;
    struct spinlock lock;
    struct ept_guard_patch patches[EPT_GUARD_MAX];
    unsigned npatches;
    struct ept_guard_page pages[EPT_GUARD_MAX];
    unsigned npages;
    uint64_t last_rip[EPT_MAX_VCPUS]; /* RIP of the write each CPU's open window belongs to */
    uint64_t writes;                  /* writes let through on guarded pages */
    uint64_t reads, shadow_reads;     /* reads of guarded pages; those shown the shadow */
    uint64_t attempts, dropped, undone, reported, summarised;
};

void ept_guard_init(struct ept_guard *g, struct ept_perm *perm, const struct report_out *report,
                    ept_guard_map_fn map, void *map_ctx);

/* Writes bytes[0..len) at pa (within one page) and guards them. The page keeps its read and
 * execute rights and loses write. EPT_ERR_ARG for a bad length or a patch crossing a page,
 * EPT_ERR_EXISTS when the page belongs to another handler (e.g. hidden hypervisor memory),
 * EPT_ERR_NOMEM when there is no slot left or the page cannot be split. Nothing is written then. */
int ept_guard_add(struct ept_guard *g, struct ept_vcpu *self, uint64_t pa, const uint8_t *bytes,
                  unsigned len, const char *name);
/* Whether guest reads of the patch at pa see the original bytes (a shadow exists). */
bool ept_guard_hidden(struct ept_guard *g, uint64_t pa);

/* Checks every patch; undoes and reports changes (action "undone", rip 0, cpu = self's).
 * Returns how many patches had changed. */
unsigned ept_guard_check(struct ept_guard *g, struct ept_vcpu *self);

/* {"ev":"hook_tamper_count",...} when attempts happened since the last call. */
void ept_guard_report_summary(struct ept_guard *g);

#endif
