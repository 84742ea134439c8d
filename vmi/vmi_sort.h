/* In-place heap sort for the VMI library (freestanding: no qsort). Heap sort because its time is
 * O(n log n) comparisons for every input and it needs no recursion and no extra memory: the
 * arrays it sorts are built from hostile guest memory or hostile profiles, which must not be
 * able to pick a worst case. Not stable: callers that need a deterministic order among equal
 * keys put a tie-breaker (such as the input position) in the comparison. */
#ifndef VIGIL_VMI_SORT_H
#define VIGIL_VMI_SORT_H

#include <stddef.h>
#include <stdint.h>

/* Negative, zero or positive as a sorts before, with, or after b. */
typedef int (*vmi_cmp_fn)(const void *a, const void *b, void *ctx);

/* Sorts n elements of size bytes (size <= 256) at base into ascending order. */
void vmi_heapsort(void *base, size_t n, size_t size, vmi_cmp_fn cmp, void *ctx);

#endif
