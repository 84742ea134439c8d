#include "hv/core/alloc.h"

#include "base/lib.h"

void hv_heap_init(struct hv_heap *h, uint64_t base, uint64_t size) {
    h->base = base;
    h->size = size;
    h->used = 0;
}

void *hv_heap_alloc(struct hv_heap *h, size_t size, size_t align) {
    if (align == 0 || (align & (align - 1)))
        return NULL;
    uint64_t start = ALIGN_UP(h->base + h->used, (uint64_t)align);
    if (start < h->base || size > h->size || start - h->base > h->size - size)
        return NULL;
    h->used = start - h->base + size;
    void *p = (void *)(uintptr_t)start;
    lib_memset(p, 0, size);
    return p;
}

void *hv_heap_pages(struct hv_heap *h, size_t npages) {
    return hv_heap_alloc(h, npages * 4096, 4096);
}
