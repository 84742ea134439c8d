/* Bump allocator over caller-provided memory (vmi/vmi_symsrc.h): the hypervisor hands vmi/ a
 * fixed arena, host tools a malloc'd one. Nothing is ever freed individually. */
#include "base/lib.h"
#include "vmi/vmi_symsrc.h"

void *vmi_arena_alloc(struct vmi_arena *a, size_t n) {
    if (a == NULL || a->base == NULL || a->used > a->size)
        return NULL;
    /* Align the address itself, not just the offset: the base may be unaligned. */
    uintptr_t cur = (uintptr_t)a->base + a->used;
    uintptr_t aligned = ALIGN_UP(cur, (uintptr_t)16);
    size_t pad = aligned - cur;
    size_t left = a->size - a->used;
    if (pad > left || n > left - pad)
        return NULL;
    a->used += pad + n;
    void *p = (void *)aligned;
    lib_memset(p, 0, n);
    return p;
}
