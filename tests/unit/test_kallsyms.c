/* Unit tests of the freestanding kallsyms decoder (vmi/kallsyms.c):
 *  - synthetic tables in every supported layout, written by a small encoder here, including
 *    corrupted variants that must be refused;
 *  - the real Debian vmlinux (qemu-scripts/fetch-kernel.sh), where every exported symbol's
 *    address recovered independently from __ksymtab/__ksymtab_gpl must match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guest-profiles/elf_image.h"
#include "tests/unit/symbols_test_kernel.h"
#include "vmi/kallsyms.h"

/* ---- a memory image for synthetic tests ---- */
#define IMG_BASE 0xffffffff82000000ull
#define IMG_SIZE (1u << 20)

struct img {
    uint8_t *mem;
    uint64_t base;
    size_t size;
    uint64_t hole_lo, hole_hi; /* unreadable range */
};

static int img_read(void *ctx, uint64_t va, void *buf, size_t len) {
    struct img *m = ctx;
    if (va < m->base || va + len < va || va + len > m->base + m->size)
        return VMI_EREAD;
    if (va < m->hole_hi && va + len > m->hole_lo)
        return VMI_EREAD;
    memcpy(buf, m->mem + (va - m->base), len);
    return 0;
}

struct sym {
    const char *name; /* with type letter first */
    uint64_t addr;
};

enum layout { L61_NOSEQS, L61_SEQS, L64 };

struct enc {
    uint8_t *m;
    size_t pos;
};

static void align8(struct enc *e) {
    while (e->pos % 8)
        e->m[e->pos++] = 0;
}
static void put32(struct enc *e, uint32_t v) {
    memcpy(e->m + e->pos, &v, 4);
    e->pos += 4;
}
static void put64(struct enc *e, uint64_t v) {
    memcpy(e->m + e->pos, &v, 8);
    e->pos += 8;
}

/* Token table: tokens 0..3 are multi-character ("__", "init", "ta", "sk"), the others the single
 * byte of their own number when printable, else "?"+number-ish filler that never occurs. */
static void tokens(char tok[256][8]) {
    for (int i = 0; i < 256; i++) {
        if (i > 0x20 && i < 0x7f)
            snprintf(tok[i], 8, "%c", i);
        else
            snprintf(tok[i], 8, "~%02x", i);
    }
    strcpy(tok[1], "__");
    strcpy(tok[2], "init");
    strcpy(tok[3], "ta");
    strcpy(tok[4], "sk");
}

/* Greedy encoder matching the tokens above. */
static size_t encode(const char *s, uint8_t *out, char tok[256][8]) {
    size_t n = 0;
    while (*s) {
        int best = (uint8_t)*s;
        for (int t = 1; t <= 4; t++)
            if (strncmp(s, tok[t], strlen(tok[t])) == 0) {
                best = t;
                break;
            }
        out[n++] = (uint8_t)best;
        s += strlen(tok[best]);
    }
    return n;
}

static int unsorted_seqs;
static const struct sym *sort_syms;
static int cmp_by_name(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(sort_syms[x].name + 1, sort_syms[y].name + 1);
    return c ? c : (x > y) - (x < y);
}

struct built {
    uint64_t names_va, markers_va, tt_va, ti_va, offsets_va;
};

/* Writes the tables at offset 0x1000 of m->mem (relative_base = IMG_BASE - 0x1000000). */
static struct built build(struct img *m, const struct sym *syms, uint32_t n, enum layout lay,
                          int abs_percpu) {
    struct enc e = {m->mem, 0x1000};
    struct built b = {0};
    char tok[256][8];
    tokens(tok);
    uint64_t rb = IMG_BASE - 0x1000000;
    size_t offs_pos = 0;
    if (lay != L64) {
        offs_pos = e.pos;
        e.pos += 4 * n;
        align8(&e);
        put64(&e, rb);
        align8(&e);
    }
    put32(&e, n);
    align8(&e);
    b.names_va = m->base + e.pos;
    uint32_t *markers = calloc((n + 255) / 256 + 1, 4);
    size_t names_start = e.pos;
    for (uint32_t i = 0; i < n; i++) {
        if ((i & 0xff) == 0)
            markers[i >> 8] = (uint32_t)(e.pos - names_start);
        uint8_t buf[1024];
        size_t len = encode(syms[i].name, buf, tok);
        if (len > 127) {
            e.m[e.pos++] = (uint8_t)(0x80 | (len & 0x7f));
            e.m[e.pos++] = (uint8_t)(len >> 7);
        } else {
            e.m[e.pos++] = (uint8_t)len;
        }
        memcpy(e.m + e.pos, buf, len);
        e.pos += len;
    }
    align8(&e);
    b.markers_va = m->base + e.pos;
    for (uint32_t i = 0; i < (n + 255) / 256; i++)
        put32(&e, markers[i]);
    free(markers);
    align8(&e);
    if (lay != L61_NOSEQS) {
        /* Symbol indexes sorted by name (without the type letter), big-endian 3 bytes each;
         * identity order when unsorted_seqs asks for a table that does not sort. */
        uint32_t *order = calloc(n, sizeof(*order));
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        if (!unsorted_seqs) {
            sort_syms = syms;
            qsort(order, n, sizeof(*order), cmp_by_name);
        }
        for (uint32_t i = 0; i < n; i++) {
            e.m[e.pos++] = (uint8_t)(order[i] >> 16);
            e.m[e.pos++] = (uint8_t)(order[i] >> 8);
            e.m[e.pos++] = (uint8_t)order[i];
        }
        free(order);
        align8(&e);
    }
    b.tt_va = m->base + e.pos;
    uint16_t idx[256];
    size_t tt_start = e.pos;
    for (int i = 0; i < 256; i++) {
        idx[i] = (uint16_t)(e.pos - tt_start);
        size_t l = strlen(tok[i]) + 1;
        memcpy(e.m + e.pos, tok[i], l);
        e.pos += l;
    }
    align8(&e);
    b.ti_va = m->base + e.pos;
    memcpy(e.m + e.pos, idx, sizeof(idx));
    e.pos += sizeof(idx);
    align8(&e);
    if (lay == L64) {
        offs_pos = e.pos;
        e.pos += 4 * n;
        align8(&e);
        put64(&e, rb);
    }
    b.offsets_va = m->base + offs_pos;
    for (uint32_t i = 0; i < n; i++) {
        int32_t v;
        if (abs_percpu && syms[i].addr < 0x100000)
            v = (int32_t)syms[i].addr;
        else if (abs_percpu)
            v = (int32_t)(-(int64_t)(syms[i].addr - rb) - 1);
        else
            v = (int32_t)(syms[i].addr - rb);
        memcpy(m->mem + offs_pos + 4 * i, &v, 4);
    }
    return b;
}

static struct sym *make_syms(uint32_t n, int with_percpu) {
    struct sym *s = calloc(n, sizeof(*s));
    static char names[4096][40];
    for (uint32_t i = 0; i < n; i++) {
        if (i == 0)
            snprintf(names[i], 40, "%s", with_percpu ? "Afixed_percpu_data" : "T_text");
        else if (i == 1)
            snprintf(names[i], 40, "A%s", with_percpu ? "cpu_tss_rw" : "absolute_zero");
        else if (i == n / 2)
            snprintf(names[i], 40, "Dinit_task");
        else if (i == n / 2 + 1)
            snprintf(names[i], 40, "tlocal_dup");
        else if (i == n / 2 + 2)
            snprintf(names[i], 40, "Tlocal_dup");
        else
            snprintf(names[i], 40, "%c__sym_%u_task", i % 3 ? 't' : 'T', i);
        s[i].name = names[i];
        s[i].addr = (i < 2 && with_percpu) ? 0x1000u * i : IMG_BASE + 0x10 * i;
    }
    return s;
}

static struct img *new_img(void) {
    struct img *m = calloc(1, sizeof(*m));
    m->mem = calloc(1, IMG_SIZE);
    m->base = IMG_BASE;
    m->size = IMG_SIZE;
    return m;
}
static void free_img(struct img *m) {
    free(m->mem);
    free(m);
}

static uint8_t arena_mem[1 << 20];
static struct vmi_arena fresh_arena(void) {
    struct vmi_arena a = {arena_mem, sizeof(arena_mem), 0};
    return a;
}

static void check_layout(enum layout lay, int abs_percpu) {
    uint32_t n = 3000;
    struct img *m = new_img();
    struct sym *s = make_syms(n, abs_percpu);
    struct built b = build(m, s, n, lay, abs_percpu);
    struct vmi_arena a = fresh_arena();
    struct vmi_kallsyms ks;
    int rc = vmi_kallsyms_init(&ks, img_read, m, m->base, m->base + m->size, &a);
    if (rc)
        fprintf(stderr, "why: %s\n", ks.why);
    assert_int_equal(rc, VMI_OK);
    assert_int_equal(ks.num_syms, n);
    assert_true(ks.names == b.names_va);
    assert_true(ks.markers == b.markers_va);
    assert_true(ks.token_table == b.tt_va);
    assert_true(ks.token_index == b.ti_va);
    assert_true(ks.offsets == b.offsets_va);
    assert_int_equal(ks.seqs != 0, lay != L61_NOSEQS);
    assert_int_equal(ks.seqs_sorted, lay != L61_NOSEQS && !unsorted_seqs);
    assert_int_equal(ks.offsets_after_tokens, lay == L64);
    assert_int_equal(ks.absolute_percpu, abs_percpu);
    uint64_t addr;
    char type;
    assert_int_equal(vmi_kallsyms_lookup(&ks, "init_task", &addr, &type), VMI_OK);
    assert_true(addr == s[n / 2].addr);
    assert_int_equal(type, 'D');
    /* A global symbol wins over an earlier local one of the same name. */
    assert_int_equal(vmi_kallsyms_lookup(&ks, "local_dup", &addr, &type), VMI_OK);
    assert_int_equal(type, 'T');
    assert_true(addr == s[n / 2 + 2].addr);
    assert_int_equal(vmi_kallsyms_lookup(&ks, "no_such_symbol", &addr, &type), VMI_ENOTFOUND);
    for (uint32_t i = 0; i < n; i += 97) {
        assert_int_equal(vmi_kallsyms_lookup(&ks, s[i].name + 1, &addr, &type), VMI_OK);
        assert_true(addr == s[i].addr);
    }
    free(s);
    free_img(m);
}

static void test_layout_61_seqs_abs_percpu(void **st) {
    (void)st;
    check_layout(L61_SEQS, 1);
}
static void test_layout_61_noseqs(void **st) {
    (void)st;
    check_layout(L61_NOSEQS, 1);
}
static void test_layout_61_relative_only(void **st) {
    (void)st;
    check_layout(L61_NOSEQS, 0);
}
static void test_layout_64(void **st) {
    (void)st;
    check_layout(L64, 1);
}
/* A seqs_of_names table that does not sort by name is not used for binary search. */
static void test_layout_unsorted_seqs(void **st) {
    (void)st;
    unsorted_seqs = 1;
    check_layout(L61_SEQS, 1);
    unsorted_seqs = 0;
}

static int count_cb(void *ctx, const char *name, char type, uint64_t addr) {
    (void)name, (void)type, (void)addr;
    (*(uint32_t *)ctx)++;
    return 0;
}

static void test_big_symbol(void **st) {
    (void)st;
    /* A 300-character name needs the two-byte length prefix. */
    uint32_t n = 300;
    struct sym *s = make_syms(n, 1);
    static char big[320];
    big[0] = 't';
    for (int i = 1; i < 301; i++)
        big[i] = (char)('a' + i % 26);
    big[301] = 0;
    s[10].name = big;
    struct img *m = new_img();
    build(m, s, n, L61_SEQS, 1);
    struct vmi_arena a = fresh_arena();
    struct vmi_kallsyms ks;
    assert_int_equal(vmi_kallsyms_init(&ks, img_read, m, m->base, m->base + m->size, &a), 0);
    uint64_t addr;
    assert_int_equal(vmi_kallsyms_lookup(&ks, big + 1, &addr, NULL), VMI_OK);
    assert_true(addr == s[10].addr);
    uint32_t count = 0;
    assert_int_equal(vmi_kallsyms_foreach(&ks, count_cb, &count), VMI_OK);
    assert_int_equal(count, n);
    free(s);
    free_img(m);
}

/* Corruptions that must be refused (never crash, never accept). */
static void test_corruptions(void **st) {
    (void)st;
    uint32_t n = 1000;
    struct sym *s = make_syms(n, 1);
    for (int what = 0; what < 6; what++) {
        struct img *m = new_img();
        struct built b = build(m, s, n, L61_SEQS, 1);
        uint8_t *base = m->mem - m->base;
        switch (what) {
        case 0: /* a marker off by one */
            base[b.markers_va + 4 * 2] ^= 1;
            break;
        case 1: /* addresses out of order */
        {
            int32_t v = -5;
            memcpy(base + b.offsets_va + 4 * 500, &v, 4);
            break;
        }
        case 2: /* token index not increasing */
            base[b.ti_va + 2 * 7] = 0xff;
            base[b.ti_va + 2 * 7 + 1] = 0xff;
            break;
        case 3: /* num_syms too large */
        {
            uint32_t v = n + 1;
            memcpy(base + b.names_va - 8, &v, 4);
            break;
        }
        case 4: /* a name length running into the markers */
            base[b.names_va + 0] = 0x7f;
            break;
        case 5: /* the token table unreadable */
            m->hole_lo = b.tt_va;
            m->hole_hi = b.tt_va + 8;
            break;
        }
        struct vmi_arena a = fresh_arena();
        struct vmi_kallsyms ks;
        int rc = vmi_kallsyms_init(&ks, img_read, m, m->base, m->base + m->size, &a);
        assert_int_not_equal(rc, VMI_OK);
        assert_true(ks.why[0] != 0);
        free_img(m);
    }
    free(s);
}

static void test_small_arena(void **st) {
    (void)st;
    struct img *m = new_img();
    uint8_t small[1024];
    struct vmi_arena a = {small, sizeof(small), 0};
    struct vmi_kallsyms ks;
    assert_int_equal(vmi_kallsyms_init(&ks, img_read, m, m->base, m->base + m->size, &a),
                     VMI_ENOMEM);
    free_img(m);
}

/* ---- the real Debian kernel ---- */
static struct elf_image kimg;
static int have_kernel;
static uint8_t *big_arena;

static int setup_kernel(void **st) {
    (void)st;
    const char *p = test_vmlinux_path();
    if (p && elf_image_open(&kimg, p) == 0)
        have_kernel = 1;
    else
        fprintf(stderr, "test_kallsyms: real-kernel tests cannot run: %s\n",
                p ? kimg.err : "no VMLINUX");
    big_arena = malloc(1 << 20);
    return 0;
}

static int init_real(struct vmi_kallsyms *ks, struct vmi_arena *a) {
    a->base = big_arena;
    a->size = 1 << 20;
    a->used = 0;
    return vmi_kallsyms_init(ks, elf_image_read_kva, &kimg, kimg.text_lo, kimg.text_hi, a);
}

static void test_real_kernel_layout(void **st) {
    (void)st;
    if (!have_kernel)
        fail_msg("the Debian test kernel could not be fetched (see stderr)");
    struct vmi_kallsyms ks;
    struct vmi_arena a;
    int rc = init_real(&ks, &a);
    if (rc)
        fprintf(stderr, "why: %s\n", ks.why);
    assert_int_equal(rc, VMI_OK);
    printf("kallsyms: %u symbols, names %#llx, token_table %#llx, seqs %s, abs percpu %d, "
           "relative_base %#llx, arena %zu bytes\n",
           ks.num_syms, (unsigned long long)ks.names, (unsigned long long)ks.token_table,
           ks.seqs ? "yes" : "no", ks.absolute_percpu, (unsigned long long)ks.relative_base,
           a.used);
    assert_true(ks.num_syms > 50000);
    assert_true(ks.absolute_percpu);
    assert_true(ks.seqs_sorted);
    assert_true(ks.relative_base == 0xffffffff81000000ull);
    assert_true(a.used < 64 * 1024);

    /* Section boundaries known from the ELF headers. */
    struct {
        const char *sym, *section;
        int at_end;
    } checks[] = {{"_text", ".text", 0},
                  {"_stext", ".text", 0},
                  {"_etext", ".text", 1},
                  {"__start_BTF", ".BTF", 0},
                  {"__stop_BTF", ".BTF", 1},
                  {"__start___ksymtab", "__ksymtab", 0},
                  {"__stop___ksymtab", "__ksymtab", 1},
                  {"__start___param", "__param", 0}};
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        const uint8_t *d;
        size_t sz;
        uint64_t sa, addr;
        assert_int_equal(elf_image_section(&kimg, checks[i].section, &d, &sz, &sa), 0);
        rc = vmi_kallsyms_lookup(&ks, checks[i].sym, &addr, NULL);
        if (rc != VMI_OK)
            fail_msg("%s not found", checks[i].sym);
        uint64_t want = sa + (checks[i].at_end ? sz : 0);
        if (checks[i].at_end && addr != want) /* the end may be page-aligned past the data */
            want = (want + 4095) & ~4095ull;
        if (addr != want)
            fail_msg("%s = %#llx, section %s says %#llx", checks[i].sym, (unsigned long long)addr,
                     checks[i].section, (unsigned long long)want);
    }
    /* linux_banner holds the banner; entry_SYSCALL_64 starts with swapgs (after endbr64). */
    uint64_t addr;
    char type;
    char buf[64];
    assert_int_equal(vmi_kallsyms_lookup(&ks, "linux_banner", &addr, &type), VMI_OK);
    assert_int_equal(elf_image_read_kva(&kimg, addr, buf, sizeof(buf)), 0);
    assert_memory_equal(buf, "Linux version 6.", 16);
    assert_int_equal(vmi_kallsyms_lookup(&ks, "entry_SYSCALL_64", &addr, &type), VMI_OK);
    assert_int_equal(type, 'T');
    assert_int_equal(elf_image_read_kva(&kimg, addr, buf, 8), 0);
    assert_true(memmem(buf, 8, "\x0f\x01\xf8", 3) != NULL);
    /* Per-CPU symbols are absolute offsets into the per-CPU area. */
    assert_int_equal(vmi_kallsyms_lookup(&ks, "cpu_tss_rw", &addr, &type), VMI_OK);
    assert_int_equal(type, 'A');
    assert_true(addr < 0x100000);
    assert_int_equal(vmi_kallsyms_lookup(&ks, "init_task", &addr, &type), VMI_OK);
    assert_int_equal(type, 'D');
    assert_int_equal(vmi_kallsyms_lookup(&ks, "modules", &addr, &type), VMI_OK);
}

/* __ksymtab entries (6.1 x86-64, PREL32: struct kernel_symbol { int value_offset, name_offset,
 * namespace_offset; }) give every exported symbol's address independently of kallsyms. */
struct exp_sym {
    char name[128];
    uint64_t addr;
};

static size_t read_ksymtab(const char *section, struct exp_sym *out, size_t max) {
    const uint8_t *d;
    size_t sz;
    uint64_t sa;
    if (elf_image_section(&kimg, section, &d, &sz, &sa) != 0)
        return 0;
    size_t n = 0;
    for (size_t off = 0; off + 12 <= sz && n < max; off += 12) {
        int32_t vo, no;
        memcpy(&vo, d + off, 4);
        memcpy(&no, d + off + 4, 4);
        out[n].addr = sa + off + (int64_t)vo;
        if (elf_image_read_kva(&kimg, sa + off + 4 + (int64_t)no, out[n].name, 127) != 0)
            continue;
        out[n].name[127] = 0;
        n++;
    }
    return n;
}

static void test_real_kernel_ksymtab_crosscheck(void **st) {
    (void)st;
    if (!have_kernel)
        fail_msg("the Debian test kernel could not be fetched (see stderr)");
    struct vmi_kallsyms ks;
    struct vmi_arena a;
    assert_int_equal(init_real(&ks, &a), VMI_OK);
    size_t max = 20000;
    struct exp_sym *e = calloc(max, sizeof(*e));
    size_t n = read_ksymtab("__ksymtab", e, max);
    n += read_ksymtab("__ksymtab_gpl", e + n, max - n);
    assert_true(n > 5000);
    const char **names = calloc(n, sizeof(*names));
    uint64_t *addrs = calloc(n, sizeof(*addrs));
    bool *found = calloc(n, sizeof(*found));
    char *types = calloc(n, 1);
    for (size_t i = 0; i < n; i++)
        names[i] = e[i].name;
    /* lookup_many is meant for small batches (cost: one pass x batch on hash-filter hits). */
    size_t batch = n < 400 ? n : 400;
    assert_int_equal(vmi_kallsyms_lookup_many(&ks, names, batch, addrs, types, found), VMI_OK);
    size_t ok = 0, missing = 0, wrong = 0;
    for (size_t i = 0; i < batch; i++) {
        if (!found[i]) {
            missing++;
            fprintf(stderr, "missing: %s\n", names[i]);
        } else if (addrs[i] != e[i].addr) {
            wrong++;
            fprintf(stderr, "wrong: %s kallsyms %#llx ksymtab %#llx\n", names[i],
                    (unsigned long long)addrs[i], (unsigned long long)e[i].addr);
        } else {
            ok++;
        }
    }
    /* The same through single lookups (binary search over seqs_of_names). */
    size_t single_ok = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a1;
        if (vmi_kallsyms_lookup(&ks, names[i], &a1, NULL) == VMI_OK && a1 == e[i].addr)
            single_ok++;
        else
            fprintf(stderr, "single lookup differs: %s\n", names[i]);
    }
    printf("ksymtab cross-check: %zu exported symbols: batch of %zu: %zu match, %zu missing, %zu "
           "differ; %zu of %zu match by single lookup (binary search)\n",
           n, batch, ok, missing, wrong, single_ok, n);
    assert_int_equal(single_ok, n);
    /* lookup_many keeps the first global symbol of a name: exported symbols are global and
     * unique, so every one must match exactly. */
    assert_int_equal(missing, 0);
    assert_int_equal(wrong, 0);
    free(e);
    free(names);
    free(addrs);
    free(found);
    free(types);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_61_seqs_abs_percpu),
        cmocka_unit_test(test_layout_61_noseqs),
        cmocka_unit_test(test_layout_61_relative_only),
        cmocka_unit_test(test_layout_64),
        cmocka_unit_test(test_layout_unsorted_seqs),
        cmocka_unit_test(test_big_symbol),
        cmocka_unit_test(test_corruptions),
        cmocka_unit_test(test_small_arena),
        cmocka_unit_test(test_real_kernel_layout),
        cmocka_unit_test(test_real_kernel_ksymtab_crosscheck),
    };
    return cmocka_run_group_tests(tests, setup_kernel, NULL);
}
