/* The compiler may emit calls to memcpy/memset/memmove/memcmp for struct copies and
 * initialisers even with -fno-builtin; the hypervisor image has no libc, so they are here. */
#include "base/lib.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n) {
    return lib_memcpy(dst, src, n);
}
void *memmove(void *dst, const void *src, size_t n) {
    return lib_memmove(dst, src, n);
}
void *memset(void *dst, int c, size_t n) {
    return lib_memset(dst, c, n);
}
int memcmp(const void *a, const void *b, size_t n) {
    return lib_memcmp(a, b, n);
}
