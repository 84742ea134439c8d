/* Read-through window over kernel virtual memory: see kvwin.h. */
#include "vmi/kvwin.h"
#include "base/lib.h"

#define KVWIN_PAGE 4096u

int vmi_kvwin_init(struct vmi_kvwin *w, vmi_read_kva_fn rd, void *rd_ctx, uint64_t lo, uint64_t hi,
                   size_t cap, struct vmi_arena *arena) {
    lib_memset(w, 0, sizeof(*w));
    if (rd == NULL || hi < lo || cap < KVWIN_PAGE)
        return VMI_EFORMAT;
    w->buf = vmi_arena_alloc(arena, cap);
    if (w->buf == NULL)
        return VMI_ENOMEM;
    w->rd = rd;
    w->rd_ctx = rd_ctx;
    w->lo = lo;
    w->hi = hi;
    w->cap = cap;
    return VMI_OK;
}

static bool in_range(const struct vmi_kvwin *w, uint64_t va, size_t n) {
    return va >= w->lo && va <= w->hi && n <= w->hi - va;
}

/* Refills the window so that it covers [va, va+n). Starts at va's page so that neighbouring
 * reads (forward and a little backward) hit; falls back to exactly [va, va+n) when the larger
 * read fails (an unmapped page further on must not hide readable bytes). */
static int fill(struct vmi_kvwin *w, uint64_t va, size_t n) {
    uint64_t start = ALIGN_DOWN(va, (uint64_t)KVWIN_PAGE);
    if (start < w->lo)
        start = w->lo;
    uint64_t avail = w->hi - start;
    size_t len = avail < w->cap ? (size_t)avail : w->cap;
    w->len = 0;
    w->fills++;
    if (va + n <= start + len && w->rd(w->rd_ctx, start, w->buf, len) == 0) {
        w->va = start;
        w->len = len;
        return VMI_OK;
    }
    /* The big read failed (or could not cover the request): read exactly [va, va+n). */
    start = va;
    uint64_t end = va + n;
    w->fills++;
    if (w->rd(w->rd_ctx, start, w->buf, n) != 0)
        return VMI_EREAD;
    w->va = start;
    w->len = (size_t)(end - start);
    return VMI_OK;
}

const uint8_t *vmi_kvwin_ptr(struct vmi_kvwin *w, uint64_t va, size_t n) {
    if (n > w->cap || !in_range(w, va, n))
        return NULL;
    if (!(w->len && va >= w->va && va - w->va <= w->len && n <= w->len - (va - w->va))) {
        if (fill(w, va, n) != VMI_OK)
            return NULL;
    }
    return w->buf + (va - w->va);
}

int vmi_kvwin_read(struct vmi_kvwin *w, uint64_t va, void *dst, size_t n) {
    if (!in_range(w, va, n))
        return VMI_EREAD;
    uint8_t *out = dst;
    while (n) {
        size_t chunk = n < w->cap / 2 ? n : w->cap / 2;
        const uint8_t *p = vmi_kvwin_ptr(w, va, chunk);
        if (p == NULL)
            return VMI_EREAD;
        lib_memcpy(out, p, chunk);
        out += chunk;
        va += chunk;
        n -= chunk;
    }
    return VMI_OK;
}

int vmi_kvwin_u32(struct vmi_kvwin *w, uint64_t va, uint32_t *v) {
    const uint8_t *p = vmi_kvwin_ptr(w, va, 4);
    if (p == NULL)
        return VMI_EREAD;
    *v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    return VMI_OK;
}

int vmi_kvwin_u64(struct vmi_kvwin *w, uint64_t va, uint64_t *v) {
    uint32_t a, b;
    if (vmi_kvwin_u32(w, va, &a) || vmi_kvwin_u32(w, va + 4, &b))
        return VMI_EREAD;
    *v = (uint64_t)a | ((uint64_t)b << 32);
    return VMI_OK;
}
