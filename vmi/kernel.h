/* Finding the running Linux kernel in guest memory (Documentation: docs/vmi.md).
 *
 * 1. A kernel text address: MSR_LSTAR (entry_SYSCALL_64) when the vCPU state has it, else the
 *    IDT's exception gates (asm_exc_* handlers, all in kernel text). Without any vCPU state, a
 *    physical-memory scan finds the "Linux version " banner and a page-table root that maps it
 *    through the kernel-image mapping (the kernel's own init_top_pgt or any process PGD).
 * 2. The kernel PGD: CR3 with its PCID bits masked; under KPTI, CR3 may hold the user half of the
 *    8 KiB PGD pair, so the even half is used when it is the one that maps the kernel.
 * 3. The image: the kernel-image mapping (__START_KERNEL_map, 1 GiB from 0xffffffff80000000)
 *    maps only the image (arch/x86/mm/init_64.c cleanup_highmap), so _text is the lowest mapped
 *    2 MiB-aligned address of the mapped run that holds the text address.
 * 4. With a symbol source: the banner (linux_banner), the release, the KASLR offset (auto:
 *    vmcoreinfo's KERNELOFFSET, the kernel's own kaslr_offset(); profile: runtime _text minus the
 *    profile's link-time _text, then set_slide) and KPTI (X86_FEATURE_PTI in boot_cpu_data). */
#ifndef VIGIL_VMI_KERNEL_H
#define VIGIL_VMI_KERNEL_H

#include "vmi/pagewalk.h"
#include "vmi/vmi_mem.h"
#include "vmi/vmi_symsrc.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMI_KERNEL_MAP_START 0xffffffff80000000ull /* __START_KERNEL_map */
#define VMI_KERNEL_MAP_END 0xffffffffc0000000ull   /* + KERNEL_IMAGE_SIZE (1 GiB) */
/* Default link address of _text (__START_KERNEL_map + CONFIG_PHYSICAL_START 16 MiB), used only
 * when the kernel states no offset (no vmcoreinfo) and no profile gives _text. */
#define VMI_KERNEL_DEFAULT_LINK_TEXT 0xffffffff81000000ull

struct vmi_kernel {
    const struct vmi_mem *mem;
    struct pagewalk pw; /* resolves kernel addresses */
    uint64_t cr3;       /* the root used (physical, kernel half) */
    /* Where that root came from: "cr3" or "scan" (detection), then "init_top_pgt" once
     * vmi_kernel_use_own_root has switched to the kernel's own page table. */
    const char *root_from;
    char root_error[160]; /* why vmi_kernel_use_own_root kept the detection root */
    uint64_t hint;        /* the kernel text address we started from */
    const char *how;      /* "lstar", "idt" or "scan" */
    uint64_t text;        /* runtime _text */
    uint64_t image_end;   /* end of the mapped image run (exclusive) */
    int paging_levels;    /* 4 or 5 */
    bool kpti;            /* kernel page-table isolation enabled */
    bool kpti_known;
    int64_t kaslr; /* runtime _text - link-time _text */
    bool kaslr_known;
    uint64_t link_text;
    char banner[256];
    char release[65];
    char error[128];
};

/* Steps 1-3. cpus may be NULL / ncpus 0 (scan fallback). VMI_ENOTFOUND with error[] set when no
 * kernel is found. */
int vmi_kernel_find(struct vmi_kernel *k, const struct vmi_mem *mem, const struct vmi_vcpu *cpus,
                    size_t ncpus);

/* Step 4 with a symbol source. For a profile source (kind "profile") this computes and sets the
 * slide; VMI_EMISMATCH (error[] says why) when the profile does not describe the running kernel:
 * its linux_banner, slid, must hold profile_banner (the banner the profile records, e.g.
 * vmi_symsrc_banner(); NULL or "" when it records none: then the release must match the one
 * found by scanning the image). For an auto source, addresses are runtime already and
 * profile_banner is ignored. */
int vmi_kernel_identify(struct vmi_kernel *k, const struct vmi_symsrc *src,
                        const char *profile_banner);

/* After identification: translate from now on through the kernel's own top-level page table,
 * init_top_pgt (swapper_pg_dir is the same table), found through src, instead of the CR3 found at
 * detection, which may be a process's page table that the guest can free and refill to feed a
 * fake view. The symbol's physical address is taken through the detection tables while they are
 * live (cross-checked with phys_base when the source has it: __pa_symbol(x) = x -
 * __START_KERNEL_map + phys_base), and the new root must map the kernel image and the table
 * itself exactly as the detection root does. Under KPTI init_top_pgt is the kernel half of its
 * pair, which maps all of the kernel. 0, or a VMI_E* code with root_error saying why the
 * detection root stays in use. */
int vmi_kernel_use_own_root(struct vmi_kernel *k, const struct vmi_symsrc *src);

/* Scans the mapped kernel image for the "Linux version " banner (no symbols needed). */
int vmi_kernel_scan_banner(struct vmi_kernel *k, char *out, size_t cap);

/* Read adapter for the symbol sources and walkers (ctx: struct vmi_kernel *). */
int vmi_kernel_read(void *ctx, uint64_t va, void *buf, size_t len);

#endif
