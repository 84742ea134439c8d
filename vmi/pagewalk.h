/* Guest virtual -> guest physical translation by walking the guest's own IA-32e page tables
 * (Intel SDM Vol. 3A, 4.5 "4-Level Paging and 5-Level Paging"). Shared by the hypervisor and by
 * vmi/: every entry is read through struct vmi_mem, so hostile page tables can at worst make a
 * translation fail; nothing here faults or loops (the walk has a fixed depth). */
#ifndef VIGIL_VMI_PAGEWALK_H
#define VIGIL_VMI_PAGEWALK_H

#include "vmi/vmi_mem.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGEWALK_CR4_LA57 (1ull << 12)
#define PAGEWALK_EFER_NXE (1ull << 11)
/* Linux's KPTI keeps the kernel PGD and the user PGD as an 8 KiB-aligned pair; CR3 points at the
 * user half (bit 12 set) while user code runs (arch/x86/include/asm/pgtable.h,
 * PTI_PGTABLE_SWITCH_BIT). */
#define PAGEWALK_KPTI_USER_BIT (1ull << 12)

struct pagewalk {
    const struct vmi_mem *mem;
    uint64_t root;        /* PML4 (or PML5) physical address, PCID/flag bits masked off */
    uint64_t kernel_root; /* root used for upper-half (kernel) addresses: KPTI's kernel half */
    bool la57;            /* CR4.LA57: 5-level paging, 57-bit linear addresses */
    bool nxe;             /* EFER.NXE: bit 63 of entries is XD, otherwise reserved */
    uint8_t maxphyaddr;   /* bits [51:maxphyaddr] of entries are reserved (default 52) */
};

/* Result of one translation. */
struct pagewalk_xlate {
    uint64_t pa;
    uint64_t page_size; /* 4 KiB, 2 MiB or 1 GiB */
    bool writable, user, nx;
};

/* Sets up a walker from CR3/CR4/EFER. CR3 bits 11:0 (PCID or PWT/PCD) and 63 (no-flush) are
 * masked. When kpti_pair is true and CR3 has bit 12 set, kernel addresses are resolved through
 * the even (kernel) half of the pair. */
void pagewalk_init(struct pagewalk *pw, const struct vmi_mem *mem, uint64_t cr3, uint64_t cr4,
                   uint64_t efer, bool kpti_pair);

/* true when va is canonical for the walker's paging mode (SDM 3A 4.5: bits 63:47, or 63:56 with
 * LA57, equal). */
bool pagewalk_canonical(const struct pagewalk *pw, uint64_t va);

/* 0, or VMI_ENOTFOUND (not present / non-canonical), VMI_EFORMAT (reserved bit set: the CPU
 * would raise #PF with RSVD), VMI_EREAD (a table lies outside guest RAM). */
int pagewalk_translate(const struct pagewalk *pw, uint64_t va, struct pagewalk_xlate *out);

/* Reads len bytes of guest-virtual memory, page by page. Fails (no partial success) when any
 * page is unmapped or unreadable. */
int pagewalk_read(const struct pagewalk *pw, uint64_t va, void *buf, size_t len);

/* Adapter with the vmi_read_kva_fn signature (ctx is a const struct pagewalk *). */
int pagewalk_read_kva(void *ctx, uint64_t va, void *buf, size_t len);

/* Reads a NUL-terminated string of at most max-1 bytes into buf (always terminated). Stops at the
 * first unreadable page. Returns the length read or a negative VMI_E* code when nothing could be
 * read. */
int pagewalk_read_str(const struct pagewalk *pw, uint64_t va, char *buf, size_t max);

#endif
