/* Bounded walk of a kernel struct list_head ring in hostile memory: every next pointer must be a
 * canonical, aligned kernel address; a count limit bounds the walk, and Brent's cycle detection
 * ends a walk that loops without ever coming back to the head (a corrupted or malicious ring)
 * after at most about twice its length, with no extra memory reads. */
#ifndef VIGIL_VMI_LISTWALK_H
#define VIGIL_VMI_LISTWALK_H

#include "vmi/vmi_symsrc.h"
#include <stdbool.h>
#include <stdint.h>

struct vmi_listwalk {
    vmi_read_kva_fn rd;
    void *rd_ctx;
    uint64_t head, cur;
    uint64_t count, limit;
    uint64_t tortoise, power, lam; /* Brent */
};

/* true for an address in the upper (kernel) half, canonical for 4- or 5-level paging, 8-aligned
 * (every pointer these walkers follow is). */
bool vmi_kernel_ptr_ok(uint64_t va);

void vmi_listwalk_init(struct vmi_listwalk *w, vmi_read_kva_fn rd, void *rd_ctx, uint64_t head,
                       uint64_t limit);

/* 1 and the next node (address of its list_head) in *node; 0 when back at the head; a negative
 * VMI_E* code on an unreadable or invalid pointer (VMI_EREAD / VMI_EFORMAT), a cycle or the count
 * limit (VMI_ELIMIT). */
int vmi_listwalk_next(struct vmi_listwalk *w, uint64_t *node);

#endif
