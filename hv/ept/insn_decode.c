#include "hv/ept/insn_decode.h"

#include "base/fmt.h"
#include "base/lib.h"
#include "hv/ept/ept.h" /* ept_spin_lock */

#include <stdarg.h>
#include <stdbool.h>

/* --- capstone 4.0.2's ABI ---------------------------------------------------------------------
 * Declared here rather than by including <capstone/capstone.h>, which pulls in <stdio.h> and
 * <stdlib.h> (not allowed in freestanding code). tests/unit/test_insn_decode.c compares every
 * size, offset and value below with capstone's own header. */
typedef size_t cs_handle;
typedef void *(*cs_malloc_fn)(size_t size);
typedef void *(*cs_calloc_fn)(size_t nmemb, size_t size);
typedef void *(*cs_realloc_fn)(void *ptr, size_t size);
typedef void (*cs_free_fn)(void *ptr);
typedef int (*cs_vsnprintf_fn)(char *str, size_t size, const char *format, va_list ap);

struct cs_opt_mem_abi {
    cs_malloc_fn malloc;
    cs_calloc_fn calloc;
    cs_realloc_fn realloc;
    cs_free_fn free;
    cs_vsnprintf_fn vsnprintf;
};

struct cs_insn_abi {
    unsigned int id;
    uint64_t address;
    uint16_t size;
    uint8_t bytes[16];
    char mnemonic[32];
    char op_str[160];
    void *detail;
};

enum {
    CS_ABI_ARCH_X86 = 3,
    CS_ABI_MODE_16 = 1 << 1,
    CS_ABI_MODE_32 = 1 << 2,
    CS_ABI_MODE_64 = 1 << 3,
    CS_ABI_OPT_MODE = 3,
    CS_ABI_OPT_MEM = 4,
};

int cs_open(int arch, int mode, cs_handle *handle);
int cs_option(cs_handle handle, int type, size_t value);
size_t cs_disasm(cs_handle handle, const uint8_t *code, size_t code_size, uint64_t address,
                 size_t count, struct cs_insn_abi **insn);
void cs_free(struct cs_insn_abi *insn, size_t count);

void insn_decode_abi(struct insn_decode_abi *abi) {
    abi->insn_size = sizeof(struct cs_insn_abi);
    abi->insn_off_size = offsetof(struct cs_insn_abi, size);
    abi->insn_off_mnemonic = offsetof(struct cs_insn_abi, mnemonic);
    abi->insn_off_op_str = offsetof(struct cs_insn_abi, op_str);
    abi->insn_off_detail = offsetof(struct cs_insn_abi, detail);
    abi->opt_mem_size = sizeof(struct cs_opt_mem_abi);
    abi->arch_x86 = CS_ABI_ARCH_X86;
    abi->mode_16 = CS_ABI_MODE_16;
    abi->mode_32 = CS_ABI_MODE_32;
    abi->mode_64 = CS_ABI_MODE_64;
    abi->opt_mem = CS_ABI_OPT_MEM;
    abi->opt_mode = CS_ABI_OPT_MODE;
}

/* --- the arena capstone allocates from --------------------------------------------------------
 * First-fit over a static arena with a header per block and coalescing on free. capstone keeps
 * some blocks for the handle's lifetime (the handle, its lazily built instruction-id cache) and
 * frees the per-call ones (the instruction array) in cs_free, so the arena returns to the same
 * use after every decode; exhaustion makes capstone fail cleanly (cs_disasm returns 0). */
#define ARENA_SIZE (128u * 1024u)
#define BLOCK_HDR 16u
#define BLOCK_MIN 16u

struct block {
    uint32_t size; /* payload bytes, multiple of 16 */
    uint32_t used;
    uint64_t pad;
};

static _Alignas(16) uint8_t arena[ARENA_SIZE];
static bool arena_ready;

static struct block *block_at(size_t off) {
    return (struct block *)(void *)(arena + off);
}

static struct block *block_of(void *p) {
    return (struct block *)(void *)((uint8_t *)p - BLOCK_HDR);
}

static size_t block_next(const struct block *b) {
    return (size_t)((const uint8_t *)b - arena) + BLOCK_HDR + b->size;
}

static void arena_init(void) {
    struct block *b = block_at(0);
    b->size = ARENA_SIZE - BLOCK_HDR;
    b->used = 0;
    arena_ready = true;
}

/* Merges every run of free blocks (the arena is small and holds a handful of blocks). */
static void arena_coalesce(void) {
    for (size_t off = 0; off < ARENA_SIZE;) {
        struct block *b = block_at(off);
        size_t next = block_next(b);
        if (!b->used && next < ARENA_SIZE && !block_at(next)->used) {
            b->size += BLOCK_HDR + block_at(next)->size;
            continue;
        }
        off = next;
    }
}

static void *arena_malloc(size_t n) {
    if (!arena_ready)
        arena_init();
    if (n > ARENA_SIZE)
        return NULL;
    uint32_t want = (uint32_t)(n ? ALIGN_UP(n, (size_t)16) : 16);
    for (size_t off = 0; off < ARENA_SIZE; off = block_next(block_at(off))) {
        struct block *b = block_at(off);
        if (b->used || b->size < want)
            continue;
        if (b->size >= want + BLOCK_HDR + BLOCK_MIN) {
            struct block *rest = block_at(off + BLOCK_HDR + want);
            rest->size = b->size - want - BLOCK_HDR;
            rest->used = 0;
            b->size = want;
        }
        b->used = 1;
        return (uint8_t *)b + BLOCK_HDR;
    }
    return NULL;
}

static void arena_free(void *p) {
    if (!p)
        return;
    block_of(p)->used = 0;
    arena_coalesce();
}

static void *arena_calloc(size_t n, size_t m) {
    if (m && n > ARENA_SIZE / m)
        return NULL;
    void *p = arena_malloc(n * m);
    if (p)
        lib_memset(p, 0, n * m);
    return p;
}

static void *arena_realloc(void *p, size_t n) {
    if (!p)
        return arena_malloc(n);
    size_t old = block_of(p)->size;
    if (n <= old)
        return p;
    void *q = arena_malloc(n);
    if (q) {
        lib_memcpy(q, p, old);
        arena_free(p);
    }
    return q;
}

size_t insn_decode_arena_used(void) {
    size_t used = 0;
    if (!arena_ready)
        return 0;
    for (size_t off = 0; off < ARENA_SIZE; off = block_next(block_at(off)))
        if (block_at(off)->used)
            used += BLOCK_HDR + block_at(off)->size;
    return used;
}

static int arena_vsnprintf(char *str, size_t size, const char *format, va_list ap) {
    return (int)fmt_vsnprintf(str, size, format, ap);
}

/* --- decoding ------------------------------------------------------------------------------ */

static uint32_t decode_lock;
static bool opened, open_failed;
static cs_handle handle;
static int handle_mode;

static bool ensure_open(void) {
    if (opened || open_failed)
        return opened;
    static const struct cs_opt_mem_abi mem = {arena_malloc, arena_calloc, arena_realloc, arena_free,
                                              arena_vsnprintf};
    /* CS_OPT_MEM is global and must precede cs_open; the handle value is ignored. */
    if (cs_option(0, CS_ABI_OPT_MEM, (size_t)&mem) != 0 ||
        cs_open(CS_ABI_ARCH_X86, CS_ABI_MODE_64, &handle) != 0) {
        open_failed = true;
        return false;
    }
    handle_mode = CS_ABI_MODE_64;
    opened = true;
    return true;
}

static size_t put_bad(char *out, size_t size) {
    if (size)
        lib_strlcpy(out, "(bad)", size);
    return 0;
}

size_t insn_decode(const uint8_t *code, size_t len, uint64_t rip, enum insn_mode mode, char *out,
                   size_t size) {
    int cs_mode = mode == INSN_MODE_16   ? CS_ABI_MODE_16
                  : mode == INSN_MODE_32 ? CS_ABI_MODE_32
                  : mode == INSN_MODE_64 ? CS_ABI_MODE_64
                                         : 0;
    if (!code || !len || !cs_mode)
        return put_bad(out, size);
    if (len > 15)
        len = 15; /* the longest x86 instruction */
    ept_spin_lock(&decode_lock);
    size_t result = 0;
    if (ensure_open() &&
        (handle_mode == cs_mode || cs_option(handle, CS_ABI_OPT_MODE, (size_t)cs_mode) == 0)) {
        handle_mode = cs_mode;
        struct cs_insn_abi *insn = NULL;
        size_t n = cs_disasm(handle, code, len, rip, 1, &insn);
        if (n == 1 && insn && insn->size >= 1 && insn->size <= len) {
            if (size) {
                size_t at = lib_strlcpy(out, insn->mnemonic, size);
                if (insn->op_str[0] && at + 1 < size) {
                    out[at] = ' ';
                    lib_strlcpy(out + at + 1, insn->op_str, size - at - 1);
                }
            }
            result = insn->size;
        }
        if (insn)
            cs_free(insn, n);
    }
    ept_spin_unlock(&decode_lock);
    return result ? result : put_bad(out, size);
}

size_t insn_format_bytes(const uint8_t *code, size_t n, char *out, size_t size) {
    static const char hex[] = "0123456789abcdef";
    size_t at = 0;
    if (!size)
        return 0;
    if (n > 15)
        n = 15;
    for (size_t i = 0; i < n && at + 3 < size; i++) {
        if (i)
            out[at++] = ' ';
        out[at++] = hex[code[i] >> 4];
        out[at++] = hex[code[i] & 15];
    }
    out[at] = 0;
    return at;
}

/* --- libc for capstone ------------------------------------------------------------------------ */

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

static void sift_down(uint8_t *base, size_t root, size_t n, size_t size,
                      int (*cmp)(const void *, const void *)) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (cmp(base + root * size, base + child * size) >= 0)
            return;
        swap_bytes(base + root * size, base + child * size, size);
        root = child;
    }
}

/* Heapsort: O(n log n) worst case, no recursion, no allocation. */
void insn_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
    uint8_t *b = base;
    if (n < 2 || !size)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(b, i, n, size, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        swap_bytes(b, b + end * size, size);
        sift_down(b, 0, end, size, cmp);
    }
}

char *insn_strncpy(char *dst, const char *src, size_t n) {
    size_t i = 0;
    for (; i < n && src[i]; i++)
        dst[i] = src[i];
    for (; i < n; i++)
        dst[i] = 0;
    return dst;
}

#ifdef VIGIL_FREESTANDING
/* The names capstone's objects call (memcpy, memmove and memset come from base/libc_shim.c). */
void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
char *strncpy(char *dst, const char *src, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
    insn_qsort(base, n, size, cmp);
}
char *strncpy(char *dst, const char *src, size_t n) {
    return insn_strncpy(dst, src, n);
}
size_t strlen(const char *s) {
    return lib_strlen(s);
}
int strcmp(const char *a, const char *b) {
    return lib_strcmp(a, b);
}
#endif
