/* Self-protection: the hypervisor's own memory (image, stacks, VMCS/VMXON regions, EPT tables,
 * this module's pages) is mapped in EPT so the guest can neither read nor change it.
 *
 * Every page of a hidden range points at one shared zero page with no rights, so each guest
 * access faults (EPT violation) and is counted and, for the first EPT_HIDE_REPORT_FIRST, reported
 * as {"ev":"hv_access","gpa":...,"access":"read|write|exec","rip":...,"insn":...}. The access then
 * completes without touching hypervisor memory and without decoding the instruction length: the
 * page is mapped to this CPU's scratch page (cleared first) R+W (+X for a fetch) for one
 * instruction (monitor trap flag), then the protected mapping is restored and the scratch page
 * cleared again. Reads and fetches see zeros, writes never land, later reads still see zeros.
 * The zero page and the scratch pages come from the EPT pool, which is itself hypervisor memory
 * and must be hidden too. {"ev":"hv_memory","ranges":[["0x<start>","0x<length>"],...]} lists the
 * hidden ranges. */
#ifndef VIGIL_EPT_HIDE_H
#define VIGIL_EPT_HIDE_H

#include "base/report.h"
#include "hv/ept/ept_perm.h"
#include <stddef.h>
#include <stdint.h>

#define EPT_HIDE_MAX_RANGES 32
#define EPT_HIDE_REPORT_FIRST 16 /* itemised attempts per kind (read, write, exec) */

/* Writes a description of the guest instruction at rip (the core's: guest page walk + decoder)
 * into out; returns its length, 0 when unknown. Called on the violation exit path. */
typedef size_t (*ept_insn_fn)(void *ctx, struct ept_vcpu *v, uint64_t rip, char *out, size_t size);
/* Length of the guest instruction at rip (0 when it cannot be decoded). Needed without MTF. */
typedef size_t (*ept_insn_len_fn)(void *ctx, struct ept_vcpu *v, uint64_t rip);

struct ept_hide_range {
    uint64_t start, len;
};

struct ept_hide {
    struct ept_perm *perm;
    const struct report_out *report; /* a writer is taken per report (base/report.h) */
    ept_insn_fn insn;
    void *insn_ctx;
    uint8_t *zero_page;
    uint64_t zero_phys;
    unsigned ncpus;
    uint8_t *scratch[EPT_MAX_VCPUS];
    uint64_t scratch_phys[EPT_MAX_VCPUS];
    struct ept_hide_range ranges[EPT_HIDE_MAX_RANGES]; /* sorted by start */
    unsigned nranges;
    ept_insn_len_fn insn_len; /* set (with perm->mtf false) to drop writes by skipping */
    uint64_t attempts, reads, writes, execs, reported;
    uint64_t summarised; /* attempts at the last summary */
};

/* Takes the zero page and one scratch page per CPU (vcpu index < ncpus) from the EPT pool.
 * report may be NULL (nothing reported); insn may be NULL ("insn":null). */
int ept_hide_init(struct ept_hide *h, struct ept_perm *perm, unsigned ncpus,
                  const struct report_out *report, ept_insn_fn insn, void *insn_ctx);

/* Hides [start, start + len), widened to whole pages. EPT_ERR_EXISTS when it overlaps a range
 * already hidden or a vmi handler range; EPT_ERR_NOMEM when splitting needs more pool pages. */
int ept_hide_add(struct ept_hide *h, struct ept_vcpu *self, uint64_t start, uint64_t len);

/* {"ev":"hv_memory",...} (or a text line per range). */
void ept_hide_report_ranges(struct ept_hide *h);

/* When attempts happened since the last call: {"ev":"hv_access_count","attempts":N,"read":..,
 * "write":..,"exec":..,"unreported":..}. For the heartbeat and shutdown. */
void ept_hide_report_summary(struct ept_hide *h);

#endif
