/* Freestanding decoder of the Linux kernel's compressed symbol table (kallsyms), found in the
 * kernel image itself: in a running kernel's memory (runtime addresses) or in a vmlinux mapped at
 * its link address (vigil-mkprofile). No symbol list is ever held in memory: each lookup is one
 * decoding pass over kallsyms_names.
 *
 * Supported layouts (scripts/kallsyms.c output; see docs/vmi-symbols.md):
 *   KALLSYMS_BASE_RELATIVE (kallsyms_offsets + kallsyms_relative_base), with or without
 *   KALLSYMS_ABSOLUTE_PERCPU, with or without kallsyms_seqs_of_names (6.2, backported to 6.1.y),
 *   offsets placed before kallsyms_num_syms (<= 6.3) or after kallsyms_token_index (6.4+),
 *   one- and two-byte name lengths ("big" symbols, 6.1+).
 * Refused with VMI_EFORMAT and a reason: absolute kallsyms_addresses tables, anything whose
 * tables do not validate. */
#ifndef VIGIL_VMI_KALLSYMS_H
#define VIGIL_VMI_KALLSYMS_H

#include "vmi/kvwin.h"
#include "vmi/vmi_symsrc.h"

#define VMI_KSYM_NAME_MAX 512 /* KSYM_NAME_LEN of 6.1+, including the NUL */

struct vmi_kallsyms {
    uint64_t start, end; /* searched range */
    uint32_t num_syms;
    uint64_t names;            /* kallsyms_names */
    uint64_t names_end;        /* one past the last name entry */
    uint64_t markers;          /* kallsyms_markers (u32 each) */
    uint64_t seqs;             /* kallsyms_seqs_of_names, 0 if absent */
    bool seqs_sorted;          /* seqs sorts by name (sampled): lookups binary-search it */
    uint64_t token_table;      /* kallsyms_token_table */
    uint64_t token_index;      /* kallsyms_token_index */
    uint64_t offsets;          /* kallsyms_offsets (s32 each) */
    uint64_t relative_base_va; /* where kallsyms_relative_base is stored */
    uint64_t relative_base;    /* its value */
    bool absolute_percpu;      /* non-negative offsets are absolute values */
    bool offsets_after_tokens; /* 6.4+ placement */
    uint16_t tok_index[256];
    char *tok_table; /* copy of kallsyms_token_table, tok_table_len bytes */
    uint32_t tok_table_len;
    struct vmi_kvwin win_names, win_offsets;
    uint64_t budget; /* work left for the table search (hostile memory cannot make it hang) */
    char why[160];
};

/* Finds and validates the tables inside [start, end). On failure ks->why says why. */
int vmi_kallsyms_init(struct vmi_kallsyms *ks, vmi_read_kva_fn rd, void *rd_ctx, uint64_t start,
                      uint64_t end, struct vmi_arena *arena);

/* Address and type letter ('T', 'D', 'r', 'A', ...) of a symbol. When several symbols share the
 * name, a global one (upper-case type) wins over local ones, else the first. type may be NULL.
 * With kallsyms_seqs_of_names (6.2+, Debian 6.1.y) a binary search (~17 expansions), else one
 * decoding pass. */
int vmi_kallsyms_lookup(struct vmi_kallsyms *ks, const char *name, uint64_t *addr, char *type);

/* One pass for many names: addrs[i] and types[i] set where found[i] becomes true (same rule as
 * vmi_kallsyms_lookup for duplicate names; types is required). Meant for small batches: every
 * decoded name that passes a 4096-bit hash filter is compared with the whole batch. */
int vmi_kallsyms_lookup_many(struct vmi_kallsyms *ks, const char *const *names, size_t n,
                             uint64_t *addrs, char *types, bool *found);

/* Calls cb for every symbol in table order (sorted by address); stops early and returns cb's
 * value when cb returns non-zero. */
typedef int (*vmi_kallsyms_cb)(void *ctx, const char *name, char type, uint64_t addr);
int vmi_kallsyms_foreach(struct vmi_kallsyms *ks, vmi_kallsyms_cb cb, void *ctx);

/* Address of symbol number idx (table order). */
int vmi_kallsyms_addr(struct vmi_kallsyms *ks, uint32_t idx, uint64_t *addr);

#endif
