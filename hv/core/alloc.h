/* The hypervisor's memory: one region of reserved pages handed over by the loader, carved by a
 * bump allocator during bring-up (nothing is freed: every structure lives as long as the
 * hypervisor). Exhaustion returns NULL, never a crash. */
#ifndef VIGIL_ALLOC_H
#define VIGIL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

struct hv_heap {
    uint64_t base, size, used;
};

void hv_heap_init(struct hv_heap *h, uint64_t base, uint64_t size);
/* Zeroed, aligned to `align` (a power of two). */
void *hv_heap_alloc(struct hv_heap *h, size_t size, size_t align);
void *hv_heap_pages(struct hv_heap *h, size_t npages);

#endif
