/* A small read-through window over kernel virtual memory (or an image mapped at its link
 * address): the kallsyms decoder and the BTF reader walk megabytes of tables a few bytes at a
 * time, and each vmi_read_kva_fn call may cost a page walk, so reads are served from one cached
 * window refilled a few KiB at a time. Bounded to [lo, hi): nothing outside is ever read. */
#ifndef VIGIL_VMI_KVWIN_H
#define VIGIL_VMI_KVWIN_H

#include "vmi/vmi_symsrc.h"

struct vmi_kvwin {
    vmi_read_kva_fn rd;
    void *rd_ctx;
    uint64_t lo, hi; /* readable range, exclusive end */
    uint8_t *buf;
    size_t cap;
    uint64_t va;    /* window start */
    size_t len;     /* valid bytes in buf (0: empty) */
    uint64_t fills; /* read calls made, for benchmarks */
};

/* cap bytes of window come from the arena. VMI_ENOMEM if it cannot. */
int vmi_kvwin_init(struct vmi_kvwin *w, vmi_read_kva_fn rd, void *rd_ctx, uint64_t lo, uint64_t hi,
                   size_t cap, struct vmi_arena *arena);

/* Copies n bytes at va. VMI_EREAD if any byte is outside [lo, hi) or unreadable. */
int vmi_kvwin_read(struct vmi_kvwin *w, uint64_t va, void *dst, size_t n);

/* Pointer to n bytes at va inside the window (n <= cap), valid until the next call on w.
 * NULL if unreadable or out of range. */
const uint8_t *vmi_kvwin_ptr(struct vmi_kvwin *w, uint64_t va, size_t n);

/* Little-endian loads through the window; VMI_EREAD on failure. */
int vmi_kvwin_u32(struct vmi_kvwin *w, uint64_t va, uint32_t *v);
int vmi_kvwin_u64(struct vmi_kvwin *w, uint64_t va, uint64_t *v);

#endif
