/* Bounded list_head walk. See vmi_listwalk.h. */
#include "vmi/vmi_listwalk.h"

bool vmi_kernel_ptr_ok(uint64_t va) {
    /* Upper canonical half under 4-level (bits 63:47 set) or 5-level paging (bits 63:56 set);
     * the page walker then rejects what its own mode finds non-canonical. */
    return (va >> 56) == 0xff && (va & 7) == 0;
}

void vmi_listwalk_init(struct vmi_listwalk *w, vmi_read_kva_fn rd, void *rd_ctx, uint64_t head,
                       uint64_t limit) {
    w->rd = rd;
    w->rd_ctx = rd_ctx;
    w->head = head;
    w->cur = head;
    w->count = 0;
    w->limit = limit;
    w->tortoise = head;
    w->power = 1;
    w->lam = 0;
}

int vmi_listwalk_next(struct vmi_listwalk *w, uint64_t *node) {
    if (!vmi_kernel_ptr_ok(w->cur))
        return VMI_EFORMAT;
    uint64_t next;
    if (w->rd(w->rd_ctx, w->cur, &next, sizeof(next)))
        return VMI_EREAD;
    if (next == w->head)
        return 0;
    if (!vmi_kernel_ptr_ok(next))
        return VMI_EFORMAT;
    if (++w->count > w->limit)
        return VMI_ELIMIT;
    /* Brent: the tortoise jumps to the hare at powers of two; meeting it again means a loop
     * that does not pass through the head. */
    if (next == w->tortoise)
        return VMI_ELIMIT;
    if (++w->lam == w->power) {
        w->tortoise = next;
        w->power <<= 1;
        w->lam = 0;
    }
    w->cur = next;
    *node = next;
    return 1;
}
