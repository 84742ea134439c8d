/* The memory-access interface of vmi/: everything the library knows about the guest comes through
 * a struct vmi_mem (guest-physical reads) and a struct vmi_vcpu (one vCPU's control registers).
 * The hypervisor implements read_phys over its identity map of guest RAM (after an EPT check);
 * host tools implement it over a memory dump (tools/dump_*.c); tests over a buffer.
 *
 * Guest memory is hostile: read_phys must fail cleanly (VMI_EREAD) on any address it cannot
 * serve, and callers treat every byte it returns as untrusted. */
#ifndef VIGIL_VMI_MEM_H
#define VIGIL_VMI_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmi_mem {
    void *ctx;
    /* Reads len bytes of guest-physical memory at pa. 0 on success, VMI_EREAD when any byte is
     * outside guest RAM. Must never fault, whatever pa and len are (including wrap-around). */
    int (*read_phys)(void *ctx, uint64_t pa, void *buf, size_t len);
    /* Exclusive upper bound of guest-physical addresses worth scanning (0: unknown). */
    uint64_t phys_end;
};

/* One vCPU's state as the kernel finder needs it. Fields the source does not know are 0 and the
 * matching has_* flag is false (QEMU's ELF dump, for instance, carries no LSTAR and no EFER). */
struct vmi_vcpu {
    uint64_t cr0, cr3, cr4, efer;
    uint64_t lstar;
    uint64_t idtr_base;
    uint16_t idtr_limit;
    uint64_t gs_base, kernel_gs_base;
    uint64_t rip, rsp;
    bool has_lstar;
    bool has_efer;
    bool has_idtr;
    bool has_cr;
};

/* Bounds-checked convenience wrapper: rejects a NULL callback and wrap-around. */
static inline int vmi_read_phys(const struct vmi_mem *m, uint64_t pa, void *buf, size_t len) {
    if (!m || !m->read_phys || pa + len < pa)
        return -2; /* VMI_EREAD */
    return m->read_phys(m->ctx, pa, buf, len);
}

#endif
