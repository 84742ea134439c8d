/* Heap sort. See vmi_sort.h. */
#include "vmi/vmi_sort.h"
#include "base/lib.h"

#define ELEM_MAX 256

static void swap(uint8_t *a, uint8_t *b, size_t size) {
    uint8_t t[ELEM_MAX];
    lib_memcpy(t, a, size);
    lib_memcpy(a, b, size);
    lib_memcpy(b, t, size);
}

/* Restores the max-heap property below node i of the heap v[0..n). */
static void sift_down(uint8_t *v, size_t i, size_t n, size_t size, vmi_cmp_fn cmp, void *ctx) {
    for (;;) {
        size_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && cmp(v + m * size, v + l * size, ctx) < 0)
            m = l;
        if (r < n && cmp(v + m * size, v + r * size, ctx) < 0)
            m = r;
        if (m == i)
            return;
        swap(v + i * size, v + m * size, size);
        i = m;
    }
}

void vmi_heapsort(void *base, size_t n, size_t size, vmi_cmp_fn cmp, void *ctx) {
    uint8_t *v = base;
    if (n < 2 || size == 0 || size > ELEM_MAX)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, i, n, size, cmp, ctx);
    for (size_t e = n; e-- > 1;) {
        swap(v, v + e * size, size);
        sift_down(v, 0, e, size, cmp, ctx);
    }
}
