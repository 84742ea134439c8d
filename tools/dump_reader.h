/* Host-side readers of guest memory dumps for tools/vigil-vmi and the tests (docs/vmi.md):
 *
 *  - QEMU `dump-guest-memory` ELF (ELF64 core): PT_LOAD segments are guest-physical memory
 *    (p_paddr, p_filesz); per CPU an NT_PRSTATUS note ("CORE", general registers) and a "QEMU"
 *    note (QEMUCPUState: segments incl. IDTR, CR0-CR4, and KERNEL_GS_BASE when its size says so).
 *    QEMU 7.2 writes no LSTAR and no EFER: the kernel finder uses the IDT then.
 *  - raw: a flat file of guest-physical memory from address 0, plus an optional register file of
 *    "key=value" lines (values decimal or 0x-hex; '#' comments), one block per CPU starting with
 *    "cpu=N": cr0 cr3 cr4 efer lstar idtr_base idtr_limit gs_base kernel_gs_base rip rsp.
 *
 * Both map the file read-only and serve struct vmi_mem reads with bounds checks; a truncated or
 * malformed dump gives an error message, never a crash. */
#ifndef VIGIL_TOOLS_DUMP_READER_H
#define VIGIL_TOOLS_DUMP_READER_H

#include "vmi/vmi_mem.h"
#include <stddef.h>
#include <stdint.h>

#define DUMP_MAX_CPUS 256
#define DUMP_MAX_SEGS 1024

struct dump_seg {
    uint64_t pa, len, off;
};

struct dump {
    const uint8_t *map;
    size_t size;
    struct dump_seg segs[DUMP_MAX_SEGS];
    size_t nsegs;
    struct vmi_vcpu cpus[DUMP_MAX_CPUS];
    size_t ncpus;
    const char *format; /* "qemu-elf" or "raw" */
    char error[200];
};

/* Opens an ELF dump or a raw memory file (with regs_path, or NULL for no registers). 0 or -1 with
 * d->error set. */
int dump_open(struct dump *d, const char *path, const char *regs_path);
/* Over a buffer already in memory (fuzzing, tests): ELF if it starts with the ELF magic. */
int dump_open_buffer(struct dump *d, const uint8_t *buf, size_t len);
void dump_close(struct dump *d);

/* struct vmi_mem over the dump (ctx = d). */
int dump_read_phys(void *ctx, uint64_t pa, void *buf, size_t len);
void dump_mem(struct dump *d, struct vmi_mem *m);

/* Parses a register file's text into d->cpus. 0 or -1 with d->error. */
int dump_parse_regs(struct dump *d, const char *text, size_t len);

#endif
