/* The hypervisor's own host environment: page tables identity-mapping all of
 * the physical address space, and per-CPU GDT/TSS with IST stacks plus a shared IDT whose
 * handlers report and never return into corrupt state. Nothing here belongs to the firmware, so
 * it survives ExitBootServices. */
#ifndef VIGIL_HOST_ENV_H
#define VIGIL_HOST_ENV_H

#include "hv/core/alloc.h"
#include "hv/core/percpu.h"

#include <stdint.h>

struct host_env {
    uint64_t cr3;    /* PML4 of the identity map */
    uint64_t mapped; /* bytes identity-mapped from 0 */
    bool pages_1g;
    uint64_t idt_base; /* 256 gates */
    uint64_t pat;      /* host IA32_PAT */
};

/* Builds the identity map (1 GiB pages when CPUID offers them, else 2 MiB pages up to 64 GiB)
 * and the IDT. Returns 0 or a negative error. */
int host_env_init(struct host_env *env, struct hv_heap *heap, unsigned maxphyaddr);
/* Fills c's GDT and TSS (IST stacks from the heap). */
int host_env_cpu_init(struct hv_cpu *c, struct hv_heap *heap);

#endif
