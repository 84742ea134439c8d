/* Unit tests of the freestanding BTF reader (vmi/btf.c), cross-checked against libbpf:
 *  - every type of the real Debian vmlinux's .BTF (kind, name, vlen), every member of every
 *    struct/union (bit offset, bitfield size, size), and member lookups by name through
 *    anonymous members for the structures vigil walks (task_struct, mm_struct, cred, ...);
 *  - the same blob read through a vmi_read_kva_fn (as in guest memory) gives the same answers;
 *  - synthetic blobs built with libbpf, and corrupted ones (cycles, bad bounds) refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/btf.h>

#include "guest-profiles/elf_image.h"
#include "tests/unit/symbols_test_kernel.h"
#include "vmi/btf.h"

static struct elf_image kimg;
static const uint8_t *btf_data;
static size_t btf_size;
static uint64_t btf_addr;
static struct btf *lb; /* libbpf's view */
static uint8_t *arena_mem;
#define ARENA_SIZE (1u << 20)

static int setup(void **st) {
    (void)st;
    arena_mem = malloc(ARENA_SIZE);
    const char *p = test_vmlinux_path();
    if (p && elf_image_open(&kimg, p) == 0 &&
        elf_image_section(&kimg, ".BTF", &btf_data, &btf_size, &btf_addr) == 0) {
        lb = btf__new(btf_data, btf_size);
    } else {
        fprintf(stderr, "test_btf: real-kernel tests cannot run: %s\n",
                p ? kimg.err : "no VMLINUX");
    }
    return 0;
}

static struct vmi_arena new_arena(void) {
    struct vmi_arena a = {arena_mem, ARENA_SIZE, 0};
    return a;
}

static void require_kernel(void) {
    if (lb == NULL)
        fail_msg("the Debian test kernel's BTF is not available (see stderr)");
}

static void test_all_types_match_libbpf(void **st) {
    (void)st;
    require_kernel();
    struct vmi_arena a = new_arena();
    struct vmi_btf b;
    int rc = vmi_btf_init_mem(&b, btf_data, btf_size, &a);
    if (rc)
        fprintf(stderr, "why: %s\n", b.why);
    assert_int_equal(rc, VMI_OK);
    uint32_t n = btf__type_cnt(lb) - 1;
    assert_int_equal(b.ntypes, n);
    size_t members = 0, sizes = 0;
    char name[VMI_BTF_NAME_MAX];
    for (uint32_t id = 1; id <= n; id++) {
        const struct btf_type *lt = btf__type_by_id(lb, id);
        struct vmi_btf_type t;
        assert_int_equal(vmi_btf_type(&b, id, &t), VMI_OK);
        assert_int_equal(t.kind, btf_kind(lt));
        assert_int_equal(t.vlen, btf_vlen(lt));
        assert_int_equal(t.name_off, lt->name_off);
        assert_int_equal(vmi_btf_name(&b, t.name_off, name, sizeof(name)), VMI_OK);
        assert_string_equal(name, btf__name_by_offset(lb, lt->name_off));
        if (!btf_is_composite(lt))
            continue;
        const struct btf_member *lm = btf_members(lt);
        for (uint16_t i = 0; i < btf_vlen(lt); i++) {
            struct vmi_btf_member m;
            assert_int_equal(vmi_btf_member_at(&b, &t, i, &m), VMI_OK);
            assert_int_equal(m.bit_offset, btf_member_bit_offset(lt, i));
            assert_int_equal(m.bitfield_size, btf_member_bitfield_size(lt, i));
            assert_int_equal(m.type, lm[i].type);
            /* A named member found by name at this level is this very member. */
            if (lm[i].name_off) {
                const char *mn = btf__name_by_offset(lb, lm[i].name_off);
                struct vmi_btf_member f;
                assert_int_equal(vmi_btf_member_path(&b, id, mn, &f), VMI_OK);
                assert_int_equal(f.bit_offset, m.bit_offset);
            }
            long ls = btf__resolve_size(lb, lm[i].type);
            uint64_t vs;
            if (ls >= 0 && !btf_member_bitfield_size(lt, i)) {
                assert_int_equal(vmi_btf_size(&b, lm[i].type, &vs), VMI_OK);
                assert_int_equal(vs, (uint64_t)ls);
                sizes++;
            }
            members++;
        }
    }
    printf("btf vs libbpf: %u types, %zu members, %zu member sizes identical; index %zu bytes\n", n,
           members, sizes, a.used);
}

/* libbpf-side member search through anonymous members, summing offsets. */
static int lb_find(uint32_t id, const char *name, uint32_t *bits) {
    const struct btf_type *t = btf__type_by_id(lb, btf__resolve_type(lb, id));
    if (!t || !btf_is_composite(t))
        return -1;
    const struct btf_member *m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++)
        if (m[i].name_off && strcmp(btf__name_by_offset(lb, m[i].name_off), name) == 0) {
            *bits = btf_member_bit_offset(t, i);
            return 0;
        }
    for (uint16_t i = 0; i < btf_vlen(t); i++) {
        uint32_t inner;
        if (!m[i].name_off && lb_find(m[i].type, name, &inner) == 0) {
            *bits = btf_member_bit_offset(t, i) + inner;
            return 0;
        }
    }
    return -1;
}

/* Every member name reachable in struct id (through anonymous members) must be found by name
 * with the offset libbpf gives. Returns how many were checked. */
static size_t check_struct_by_name(struct vmi_btf *b, const char *sname, uint32_t id,
                                   uint32_t base) {
    const struct btf_type *t = btf__type_by_id(lb, btf__resolve_type(lb, id));
    const struct btf_member *m = btf_members(t);
    size_t checked = 0;
    for (uint16_t i = 0; i < btf_vlen(t); i++) {
        uint32_t off = base + btf_member_bit_offset(t, i);
        if (!m[i].name_off) {
            checked += check_struct_by_name(b, sname, m[i].type, off);
            continue;
        }
        const char *mn = btf__name_by_offset(lb, m[i].name_off);
        uint32_t want;
        int top = btf__find_by_name_kind(lb, sname, BTF_KIND_STRUCT);
        assert_true(top > 0);
        assert_int_equal(lb_find(top, mn, &want), 0);
        struct vmi_member vm;
        int rc = vmi_btf_member(b, sname, mn, &vm);
        if (rc)
            fail_msg("%s.%s: rc %d (%s)", sname, mn, rc, b->why);
        assert_int_equal(vm.offset, want / 8);
        if (!btf_member_bitfield_size(t, i)) {
            assert_int_equal(want, off); /* no shadowing in these kernel structs */
            long ls = btf__resolve_size(lb, m[i].type);
            if (ls >= 0)
                assert_int_equal(vm.size, (uint32_t)ls);
        }
        checked++;
    }
    return checked;
}

static const char *const walked_structs[] = {
    "task_struct",   "mm_struct",   "cred",         "module",     "list_head",
    "signal_struct", "pid",         "upid",         "hlist_node", "new_utsname",
    "uts_namespace", "thread_info", "sched_entity", "kobject",    "module_kobject",
    "pid_namespace", "nsproxy",     "files_struct",
};

static void check_walked(struct vmi_btf *b) {
    size_t total = 0;
    for (size_t s = 0; s < sizeof(walked_structs) / sizeof(walked_structs[0]); s++) {
        int id = btf__find_by_name_kind(lb, walked_structs[s], BTF_KIND_STRUCT);
        assert_true(id > 0);
        uint32_t vsize;
        assert_int_equal(vmi_btf_struct_size(b, walked_structs[s], &vsize), VMI_OK);
        assert_int_equal(vsize, btf__type_by_id(lb, id)->size);
        total += check_struct_by_name(b, walked_structs[s], id, 0);
    }
    /* Dotted paths through named nested structs. */
    struct vmi_member m;
    assert_int_equal(vmi_btf_member(b, "task_struct", "se.exec_start", &m), VMI_OK);
    uint32_t se, ex;
    int ts = btf__find_by_name_kind(lb, "task_struct", BTF_KIND_STRUCT);
    int sei = btf__find_by_name_kind(lb, "sched_entity", BTF_KIND_STRUCT);
    assert_int_equal(lb_find(ts, "se", &se), 0);
    assert_int_equal(lb_find(sei, "exec_start", &ex), 0);
    assert_int_equal(m.offset, (se + ex) / 8);
    assert_int_equal(m.size, 8);
    assert_int_equal(vmi_btf_member(b, "task_struct", "no_such_member", &m), VMI_ENOTFOUND);
    assert_int_equal(vmi_btf_member(b, "no_such_struct", "pid", &m), VMI_ENOTFOUND);
    assert_int_equal(vmi_btf_member(b, "task_struct", "pid.x", &m), VMI_ENOTFOUND);
    printf("named lookups through anonymous members: %zu members of %zu structs\n", total,
           sizeof(walked_structs) / sizeof(walked_structs[0]));
}

static void test_walked_structs_by_name(void **st) {
    (void)st;
    require_kernel();
    struct vmi_arena a = new_arena();
    struct vmi_btf b;
    assert_int_equal(vmi_btf_init_mem(&b, btf_data, btf_size, &a), VMI_OK);
    check_walked(&b);
}

/* Same through a read_kva callback, as auto mode reads the running kernel's copy. */
static int reads;
static int kva_read(void *ctx, uint64_t va, void *buf, size_t len) {
    reads++;
    return elf_image_read_kva(ctx, va, buf, len);
}

static void test_walked_structs_through_kva(void **st) {
    (void)st;
    require_kernel();
    struct vmi_arena a = new_arena();
    struct vmi_btf b;
    assert_int_equal(vmi_btf_init_kva(&b, kva_read, &kimg, btf_addr, btf_size, &a), VMI_OK);
    assert_true(a.used < 64 * 1024);
    reads = 0;
    struct vmi_member m, m2;
    assert_int_equal(vmi_btf_member(&b, "task_struct", "tgid", &m), VMI_OK);
    struct vmi_btf bm;
    struct vmi_arena a2 = new_arena();
    a2.used = a.used;
    assert_int_equal(vmi_btf_init_mem(&bm, btf_data, btf_size, &a2), VMI_OK);
    assert_int_equal(vmi_btf_member(&bm, "task_struct", "tgid", &m2), VMI_OK);
    assert_int_equal(m.offset, m2.offset);
    printf("through kva: arena %zu bytes, task_struct.tgid lookup %d reads\n", a.used, reads);
}

/* The fallback for kernels without __start_BTF in kallsyms: a header scan over the image. */
static void test_scan_finds_btf(void **st) {
    (void)st;
    require_kernel();
    struct vmi_arena a = new_arena();
    struct vmi_btf b;
    int rc = vmi_btf_scan(&b, elf_image_read_kva, &kimg, kimg.text_lo, kimg.text_hi, &a);
    if (rc)
        fail_msg("scan: %s", b.why);
    assert_true(b.va == btf_addr);
    assert_true(b.len == btf_size);
    struct vmi_member m;
    assert_int_equal(vmi_btf_member(&b, "task_struct", "tgid", &m), VMI_OK);
    /* Nothing to find in .text alone. */
    a = new_arena();
    assert_int_equal(
        vmi_btf_scan(&b, elf_image_read_kva, &kimg, kimg.text_lo, kimg.text_lo + (4u << 20), &a),
        VMI_ENOTFOUND);
    assert_true(b.why[0]);
}

/* ---- synthetic and corrupted blobs ---- */
static void *raw_copy(struct btf *btf, uint32_t *len) {
    const void *raw = btf__raw_data(btf, len);
    void *c = malloc(*len);
    memcpy(c, raw, *len);
    return c;
}

static struct btf *small_btf(void) {
    struct btf *btf = btf__new_empty();
    int i32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED); /* 1 */
    int inner = btf__add_struct(btf, NULL, 8);             /* 2: anonymous */
    btf__add_field(btf, "x", i32, 0, 0);
    btf__add_field(btf, "y", i32, 32, 0);
    int outer = btf__add_struct(btf, "outer", 24); /* 3 */
    btf__add_field(btf, "a", i32, 0, 0);
    btf__add_field(btf, NULL, inner, 64, 0);
    btf__add_field(btf, "bits", i32, 128, 3);
    int td = btf__add_typedef(btf, "outer_t", outer); /* 4 */
    int cst = btf__add_const(btf, td);                /* 5 */
    int arr = btf__add_array(btf, i32, cst, 4);       /* 6: const outer_t[4], index type int */
    (void)arr;
    return btf;
}

static void test_synthetic(void **st) {
    (void)st;
    struct btf *btf = small_btf();
    uint32_t len;
    uint8_t *raw = raw_copy(btf, &len);
    struct vmi_arena a = new_arena();
    struct vmi_btf b;
    assert_int_equal(vmi_btf_init_mem(&b, raw, len, &a), VMI_OK);
    assert_int_equal(b.ntypes, 6);
    struct vmi_member m;
    assert_int_equal(vmi_btf_member(&b, "outer", "y", &m), VMI_OK);
    assert_int_equal(m.offset, 12);
    assert_int_equal(m.size, 4);
    assert_int_equal(vmi_btf_member(&b, "outer", "bits", &m), VMI_OK);
    assert_int_equal(m.offset, 16);
    assert_int_equal(m.size, 1);
    uint64_t size;
    assert_int_equal(vmi_btf_size(&b, 5, &size), VMI_OK); /* const -> typedef -> struct */
    assert_int_equal(size, 24);
    assert_int_equal(vmi_btf_size(&b, 6, &size), VMI_OK);
    assert_int_equal(size, 4 * 24);
    free(raw);
    btf__free(btf);
}

static void test_corrupted(void **st) {
    (void)st;
    struct btf *btf = small_btf();
    uint32_t len;
    uint8_t *good = raw_copy(btf, &len);
    uint32_t hdr = 24, tstart = hdr;
    uint8_t *raw = malloc(len);
    struct vmi_arena a;
    struct vmi_btf b;
    struct vmi_member m;
    /* 1: typedef (id 4) made to point at itself: a cycle, refused with a limit. */
    memcpy(raw, good, len);
    uint32_t off4 = tstart + 16 + (12 + 24) + (12 + 36); /* int(16) inner(36) outer(48) */
    uint32_t self = 4;
    memcpy(raw + off4 + 8, &self, 4);
    a = new_arena();
    assert_int_equal(vmi_btf_init_mem(&b, raw, len, &a), VMI_OK);
    uint32_t r;
    assert_int_equal(vmi_btf_resolve(&b, 5, &r), VMI_ELIMIT);
    /* 2: truncated blobs of every length are refused or read safely, never crash. */
    for (uint32_t l = 0; l < len; l++) {
        a = new_arena();
        if (vmi_btf_init_mem(&b, good, l, &a) == VMI_OK)
            (void)vmi_btf_member(&b, "outer", "y", &m);
    }
    /* 3: bad magic, bad version, string section not NUL-terminated, unknown kind. */
    int expect_fail[] = {0, 2, -1, -2};
    for (size_t k = 0; k < sizeof(expect_fail) / sizeof(expect_fail[0]); k++) {
        memcpy(raw, good, len);
        if (expect_fail[k] >= 0)
            raw[expect_fail[k]] ^= 0x55;
        else if (expect_fail[k] == -1)
            raw[len - 1] = 'x';
        else
            raw[tstart + 7] = 0x1f; /* kind 31 */
        a = new_arena();
        assert_int_equal(vmi_btf_init_mem(&b, raw, len, &a), VMI_EFORMAT);
        assert_true(b.why[0]);
    }
    /* 4: a member type id out of range. */
    memcpy(raw, good, len);
    uint32_t big = 999;
    memcpy(raw + tstart + 16 + 12 + 4, &big, 4); /* inner.x's type */
    a = new_arena();
    assert_int_equal(vmi_btf_init_mem(&b, raw, len, &a), VMI_OK);
    assert_int_equal(vmi_btf_member(&b, "outer", "x", &m), VMI_EFORMAT);
    free(raw);
    free(good);
    btf__free(btf);
}

/* A struct made of 1000 anonymous members of its own type: a search for a missing name would
 * fan out 1000^32 ways; the member budget stops it with VMI_ELIMIT. */
static void test_fanout_limited(void **st) {
    (void)st;
    struct btf *btf = btf__new_empty();
    int i32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
    int s = btf__add_struct(btf, "fan", 4);
    btf__add_field(btf, "a", i32, 0, 0);
    for (int i = 0; i < 1000; i++)
        btf__add_field(btf, NULL, s, 0, 0);
    uint32_t len;
    uint8_t *raw = raw_copy(btf, &len);
    struct vmi_arena a = new_arena();
    struct vmi_btf b;
    assert_int_equal(vmi_btf_init_mem(&b, raw, len, &a), VMI_OK);
    struct vmi_member m;
    assert_int_equal(vmi_btf_member(&b, "fan", "a", &m), VMI_OK);
    assert_int_equal(vmi_btf_member(&b, "fan", "missing", &m), VMI_ELIMIT);
    assert_true(b.why[0]);
    free(raw);
    btf__free(btf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_fanout_limited),
        cmocka_unit_test(test_all_types_match_libbpf),
        cmocka_unit_test(test_walked_structs_by_name),
        cmocka_unit_test(test_walked_structs_through_kva),
        cmocka_unit_test(test_scan_finds_btf),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
