/* Unit tests of the ISF reader (vmi/isf.c) and both symbol sources (vmi/symsrc_isf.c,
 * vmi/symsrc_auto.c):
 *  - a dwarf2json-style document (anonymous members, bitfields, arrays, enums, pointers, the
 *    banner as base64 constant_data), with and without the hash index, and broken variants;
 *  - the test kernel's profile, made on demand by guest-profiles/profile-for-package.sh (or
 *    $VIGIL_PROFILE), against the real vmlinux (or $VIGIL_VMLINUX): its
 *    banner is the image's, and for every member the walkers read, and every member of every
 *    struct it carries, the profile, auto mode (kallsyms + BTF read through read_kva) agree;
 *    so do all its symbols, with and without a KASLR slide. */
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
#include "vmi/isf.h"
#include "vmi/vmi_symbols.h"

static uint8_t *arena_mem;
#define ARENA_SIZE (4u << 20)
static struct vmi_arena new_arena(void) {
    struct vmi_arena a = {arena_mem, ARENA_SIZE, 0};
    return a;
}

/* "Linux version 6.1.0-test (x)\n\0" in base64. */
static const char *sample =
    "{\"metadata\":{\"format\":\"6.2.0\",\"producer\":{\"name\":\"dwarf2json\"}},"
    "\"base_types\":{\"int\":{\"size\":4,\"signed\":true,\"kind\":\"int\",\"endian\":\"little\"},"
    "\"unsigned long\":{\"size\":8,\"signed\":false,\"kind\":\"int\",\"endian\":\"little\"},"
    "\"char\":{\"size\":1,\"signed\":true,\"kind\":\"char\",\"endian\":\"little\"},"
    "\"pointer\":{\"size\":8,\"signed\":false,\"kind\":\"int\",\"endian\":\"little\"}},"
    "\"user_types\":{"
    "\"task_struct\":{\"size\":96,\"kind\":\"struct\",\"fields\":{"
    "  \"state\":{\"type\":{\"kind\":\"base\",\"name\":\"int\"},\"offset\":0},"
    "  \"unnamed_field_0\":{\"type\":{\"kind\":\"struct\",\"name\":\"unnamed_8c3a\"},"
    "     \"offset\":8,\"anonymous\":true},"
    "  \"comm\":{\"type\":{\"kind\":\"array\",\"count\":16,\"subtype\":{\"kind\":\"base\","
    "     \"name\":\"char\"}},\"offset\":40},"
    "  \"parent\":{\"type\":{\"kind\":\"pointer\",\"subtype\":{\"kind\":\"struct\","
    "     \"name\":\"task_struct\"}},\"offset\":56},"
    "  \"flag\":{\"type\":{\"kind\":\"bitfield\",\"bit_position\":3,\"bit_length\":7,"
    "     \"type\":{\"kind\":\"base\",\"name\":\"int\"}},\"offset\":64},"
    "  \"kind\":{\"type\":{\"kind\":\"enum\",\"name\":\"pid_type\"},\"offset\":68},"
    "  \"se\":{\"type\":{\"kind\":\"struct\",\"name\":\"sched_entity\"},\"offset\":72},"
    "  \"fn\":{\"type\":{\"kind\":\"function\"},\"offset\":88}}},"
    "\"unnamed_8c3a\":{\"size\":32,\"kind\":\"union\",\"fields\":{"
    "  \"pid\":{\"type\":{\"kind\":\"base\",\"name\":\"int\"},\"offset\":4},"
    "  \"unnamed_field_0\":{\"type\":{\"kind\":\"struct\",\"name\":\"deeper\"},\"offset\":8}}},"
    "\"deeper\":{\"size\":16,\"kind\":\"struct\",\"fields\":{"
    "  \"tgid\":{\"type\":{\"kind\":\"base\",\"name\":\"unsigned long\"},\"offset\":8}}},"
    "\"sched_entity\":{\"size\":16,\"kind\":\"struct\",\"fields\":{"
    "  \"exec_start\":{\"type\":{\"kind\":\"base\",\"name\":\"unsigned long\"},\"offset\":8}}}},"
    "\"enums\":{\"pid_type\":{\"size\":4,\"base\":\"int\",\"constants\":{\"PIDTYPE_PID\":0}}},"
    "\"symbols\":{\"init_task\":{\"address\":18446744071600000000},"
    "  \"linux_banner\":{\"address\":18446744071600001000,"
    "     \"constant_data\":\"TGludXggdmVyc2lvbiA2LjEuMC10ZXN0ICh4KQoA\"},"
    "  \"bad\":{\"type\":{}}}}";

static void check_sample(struct vmi_symsrc *s) {
    struct vmi_member m;
    assert_int_equal(s->member(s->ctx, "task_struct", "state", &m), VMI_OK);
    assert_int_equal(m.offset, 0);
    assert_int_equal(m.size, 4);
    /* through an anonymous union (unnamed_field_0, "anonymous": true) */
    assert_int_equal(s->member(s->ctx, "task_struct", "pid", &m), VMI_OK);
    assert_int_equal(m.offset, 12);
    /* two levels deep, the inner one recognised by its unnamed_field_ name only */
    assert_int_equal(s->member(s->ctx, "task_struct", "tgid", &m), VMI_OK);
    assert_int_equal(m.offset, 8 + 8 + 8);
    assert_int_equal(m.size, 8);
    assert_int_equal(s->member(s->ctx, "task_struct", "comm", &m), VMI_OK);
    assert_int_equal(m.offset, 40);
    assert_int_equal(m.size, 16);
    assert_int_equal(s->member(s->ctx, "task_struct", "parent", &m), VMI_OK);
    assert_int_equal(m.size, 8);
    assert_int_equal(s->member(s->ctx, "task_struct", "flag", &m), VMI_OK);
    assert_int_equal(m.offset, 64);
    assert_int_equal(m.size, 2); /* bits 3..9 */
    assert_int_equal(s->member(s->ctx, "task_struct", "kind", &m), VMI_OK);
    assert_int_equal(m.size, 4);
    assert_int_equal(s->member(s->ctx, "task_struct", "se.exec_start", &m), VMI_OK);
    assert_int_equal(m.offset, 80);
    assert_int_equal(s->member(s->ctx, "task_struct", "fn", &m), VMI_EFORMAT);
    assert_int_equal(s->member(s->ctx, "task_struct", "nope", &m), VMI_ENOTFOUND);
    assert_int_equal(s->member(s->ctx, "nope", "pid", &m), VMI_ENOTFOUND);
    assert_int_equal(s->member(s->ctx, "task_struct", "state.x", &m), VMI_ENOTFOUND);
    assert_int_equal(s->member(s->ctx, "task_struct", "", &m), VMI_ENOTFOUND);
    assert_true(vmi_symsrc_error(s)[0] != 0);
    uint32_t size;
    assert_int_equal(s->struct_size(s->ctx, "task_struct", &size), VMI_OK);
    assert_int_equal(size, 96);
    uint64_t a;
    assert_int_equal(s->sym(s->ctx, "init_task", &a), VMI_OK);
    assert_true(a == 18446744071600000000ull);
    s->set_slide(s->ctx, 0x200000);
    assert_int_equal(s->sym(s->ctx, "init_task", &a), VMI_OK);
    assert_true(a == 18446744071600000000ull + 0x200000);
    s->set_slide(s->ctx, 0);
    assert_int_equal(s->sym(s->ctx, "bad", &a), VMI_EFORMAT);
    assert_int_equal(s->sym(s->ctx, "missing", &a), VMI_ENOTFOUND);
    char banner[64];
    assert_int_equal(vmi_symsrc_banner(s, banner, sizeof(banner)), VMI_OK);
    assert_string_equal(banner, "Linux version 6.1.0-test (x)");
    assert_int_equal(vmi_symsrc_banner(s, banner, 6), VMI_OK);
    assert_string_equal(banner, "Linux");
}

static void test_sample_indexed(void **st) {
    (void)st;
    struct vmi_arena a = new_arena();
    struct vmi_symsrc s;
    int rc = vmi_symsrc_isf_init(&s, sample, strlen(sample), &a);
    if (rc)
        fail_msg("init: %s", vmi_symsrc_error(&s));
    assert_string_equal(s.kind, "profile");
    check_sample(&s);
}

static void test_sample_linear(void **st) {
    (void)st;
    /* An arena with room for the source but not for the indexes: linear search. */
    static uint8_t small[sizeof(struct vmi_isf) + 512];
    struct vmi_arena a = {small, sizeof(small), 0};
    struct vmi_symsrc s;
    int rc = vmi_symsrc_isf_init(&s, sample, strlen(sample), &a);
    if (rc)
        fail_msg("init: %s", vmi_symsrc_error(&s));
    check_sample(&s);
}

static void test_broken_documents(void **st) {
    (void)st;
    const char *bad[] = {
        "[]",
        "{}",
        "{\"user_types\":[]}",
        "{\"symbols\":1}",
        "{\"user_types\":{}",
        "{\"metadata\":{},\"base_types\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vmi_arena a = new_arena();
        struct vmi_symsrc s;
        assert_int_equal(vmi_symsrc_isf_init(&s, bad[i], strlen(bad[i]), &a), VMI_EFORMAT);
        assert_true(vmi_symsrc_error(&s)[0] != 0);
    }
    /* Cycles through anonymous members and self-referential arrays stay bounded. */
    const char *cyc =
        "{\"user_types\":{\"a\":{\"size\":8,\"kind\":\"struct\",\"fields\":{"
        "\"unnamed_field_0\":{\"anonymous\":true,\"offset\":0,\"type\":{\"kind\":\"struct\","
        "\"name\":\"a\"}},\"arr\":{\"offset\":0,\"type\":{\"kind\":\"array\",\"count\":2,"
        "\"subtype\":{\"kind\":\"struct\",\"name\":\"a\"}}}}}},\"symbols\":{}}";
    struct vmi_arena a = new_arena();
    struct vmi_symsrc s;
    assert_int_equal(vmi_symsrc_isf_init(&s, cyc, strlen(cyc), &a), VMI_OK);
    struct vmi_member m;
    assert_int_equal(s.member(s.ctx, "a", "zzz", &m), VMI_ELIMIT);
    assert_int_equal(s.member(s.ctx, "a", "arr", &m), VMI_OK);
    assert_int_equal(m.size, 16);
    char banner[8];
    assert_int_equal(vmi_symsrc_banner(&s, banner, sizeof(banner)), VMI_ENOTFOUND);
}

/* ---- the kernel's generated profile against the real kernel ---- */
static struct elf_image kimg;
static char *profile;
static size_t profile_len;
static char profile_path[512];

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return d;
}

static int setup(void **st) {
    (void)st;
    arena_mem = malloc(ARENA_SIZE);
    const char *p = test_vmlinux_path();
    if (!p || elf_image_open(&kimg, p) != 0) {
        fprintf(stderr, "test_isf: real-kernel tests cannot run: %s\n",
                p ? kimg.err : "no VMLINUX");
        return 0;
    }
    const char *pp = test_profile_path();
    if (pp) {
        snprintf(profile_path, sizeof(profile_path), "%s", pp);
        profile = slurp(profile_path, &profile_len);
    }
    return 0;
}

static const char *const walker_members[][2] = {
    {"task_struct", "tasks"},
    {"task_struct", "pid"},
    {"task_struct", "tgid"},
    {"task_struct", "real_parent"},
    {"task_struct", "comm"},
    {"task_struct", "flags"},
    {"task_struct", "exit_state"},
    {"task_struct", "mm"},
    {"task_struct", "real_cred"},
    {"task_struct", "__state"},
    {"task_struct", "group_leader"},
    {"task_struct", "signal"},
    {"task_struct", "thread_group"},
    {"task_struct", "thread_node"},
    {"signal_struct", "thread_head"},
    {"cred", "uid"},
    {"cred", "euid"},
    {"mm_struct", "pgd"},
    {"module", "list"},
    {"module", "name"},
    {"module", "state"},
    {"module", "core_layout.base"},
    {"module", "core_layout.size"},
    {"module", "init_layout.size"},
    {"cpuinfo_x86", "x86_capability"},
    {"task_struct", "se.exec_start"},
    {"task_struct", "active_mm"},
    {"list_head", "next"},
    {"kthread", "full_name"},
    {"task_struct", "worker_private"},
};

static const char *const walker_symbols[] = {"init_task",      "linux_banner",  "modules",
                                             "_text",          "boot_cpu_data", "vmcoreinfo_data",
                                             "vmcoreinfo_size"};

static void require_real(void) {
    if (!kimg.data)
        fail_msg("the Debian test kernel could not be fetched (see stderr)");
    if (!profile)
        fail_msg("no profile for the test kernel (%s): guest-profiles/profile-for-package.sh "
                 "failed, see stderr",
                 profile_path[0] ? profile_path : "none made");
}

static void test_generated_profile_vs_auto(void **st) {
    (void)st;
    require_real();
    struct vmi_arena a = new_arena();
    struct vmi_symsrc prof, aut;
    int rc = vmi_symsrc_isf_init(&prof, profile, profile_len, &a);
    if (rc)
        fail_msg("profile: %s", vmi_symsrc_error(&prof));
    rc = vmi_symsrc_auto_init(&aut, elf_image_read_kva, &kimg, kimg.text_lo, kimg.text_hi, &a);
    if (rc)
        fail_msg("auto: %s", vmi_symsrc_error(&aut));
    assert_string_equal(aut.kind, "auto");
    /* The profile's banner is this kernel's. */
    char banner[512], image_banner[512] = {0};
    uint64_t addr;
    assert_int_equal(vmi_symsrc_banner(&prof, banner, sizeof(banner)), VMI_OK);
    assert_int_equal(aut.sym(aut.ctx, "linux_banner", &addr), VMI_OK);
    assert_int_equal(elf_image_read_kva(&kimg, addr, image_banner, sizeof(image_banner) - 1), 0);
    image_banner[strcspn(image_banner, "\n")] = 0;
    assert_string_equal(banner, image_banner);
    printf("profile %s: %s\n", profile_path, banner);
    /* Every member the walkers read: same offset and size from both sources. */
    for (size_t i = 0; i < sizeof(walker_members) / sizeof(walker_members[0]); i++) {
        struct vmi_member mp, ma;
        int rp = prof.member(prof.ctx, walker_members[i][0], walker_members[i][1], &mp);
        int ra = aut.member(aut.ctx, walker_members[i][0], walker_members[i][1], &ma);
        if (rp || ra)
            fail_msg("%s.%s: profile %d (%s) auto %d (%s)", walker_members[i][0],
                     walker_members[i][1], rp, vmi_symsrc_error(&prof), ra, vmi_symsrc_error(&aut));
        if (mp.offset != ma.offset || mp.size != ma.size)
            fail_msg("%s.%s: profile %u/%u auto %u/%u", walker_members[i][0], walker_members[i][1],
                     mp.offset, mp.size, ma.offset, ma.size);
    }
    /* 6.1 has no module.data_layout (the walkers probe for it): both sources agree. */
    struct vmi_member m;
    assert_int_equal(prof.member(prof.ctx, "module", "data_layout.size", &m), VMI_ENOTFOUND);
    assert_int_equal(aut.member(aut.ctx, "module", "data_layout.size", &m), VMI_ENOTFOUND);
    /* Every symbol the walkers need, with slide 0 and with a slide. */
    for (int pass = 0; pass < 2; pass++) {
        int64_t slide = pass ? 0x1e000000 : 0;
        prof.set_slide(prof.ctx, slide);
        for (size_t i = 0; i < sizeof(walker_symbols) / sizeof(walker_symbols[0]); i++) {
            uint64_t ap, aa;
            assert_int_equal(prof.sym(prof.ctx, walker_symbols[i], &ap), VMI_OK);
            assert_int_equal(aut.sym(aut.ctx, walker_symbols[i], &aa), VMI_OK);
            assert_true(ap == aa + (uint64_t)slide);
        }
    }
    prof.set_slide(prof.ctx, 0);
    /* Every symbol the profile carries resolves to the address auto mode decodes. */
    struct vmi_isf isf;
    assert_int_equal(vmi_isf_init(&isf, profile, profile_len, &a), VMI_OK);
    struct vmi_json_iter it;
    struct vmi_json_str k;
    size_t v, nsyms = 0;
    vmi_json_obj_begin(&isf.j, isf.symbols, &it);
    while (vmi_json_obj_next(&isf.j, &it, &k, &v)) {
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)k.len, isf.j.s + k.off);
        uint64_t ap, aa;
        assert_int_equal(prof.sym(prof.ctx, name, &ap), VMI_OK);
        if (aut.sym(aut.ctx, name, &aa) != VMI_OK || ap != aa)
            fail_msg("symbol %s: profile %#llx, auto differs or missing", name,
                     (unsigned long long)ap);
        nsyms++;
    }
    assert_true(nsyms >= 20);
    printf("%zu profile symbols identical in auto mode; arena after both sources: %zu bytes\n",
           nsyms, a.used);
}

/* Every field of every struct in the profile, by name, against auto mode (BTF). */
static void test_generated_profile_every_field(void **st) {
    (void)st;
    require_real();
    struct vmi_arena a = new_arena();
    struct vmi_symsrc prof, aut;
    assert_int_equal(vmi_symsrc_isf_init(&prof, profile, profile_len, &a), VMI_OK);
    assert_int_equal(
        vmi_symsrc_auto_init(&aut, elf_image_read_kva, &kimg, kimg.text_lo, kimg.text_hi, &a),
        VMI_OK);
    struct vmi_isf isf;
    assert_int_equal(vmi_isf_init(&isf, profile, profile_len, &a), VMI_OK);
    struct vmi_json_iter it, fit;
    struct vmi_json_str k, fk;
    size_t v, fields, fv;
    size_t structs = 0, checked = 0;
    vmi_json_obj_begin(&isf.j, isf.user_types, &it);
    while (vmi_json_obj_next(&isf.j, &it, &k, &v)) {
        char sname[128];
        snprintf(sname, sizeof(sname), "%.*s", (int)k.len, isf.j.s + k.off);
        if (strncmp(sname, "unnamed_", 8) == 0 || strchr(sname, '_') == sname)
            continue;
        uint32_t ps, as;
        if (aut.struct_size(aut.ctx, sname, &as) != VMI_OK)
            continue; /* typedef-named anonymous types (kuid_t, ...) have no BTF struct name */
        assert_int_equal(prof.struct_size(prof.ctx, sname, &ps), VMI_OK);
        assert_int_equal(ps, as);
        structs++;
        assert_int_equal(vmi_json_obj_get(&isf.j, v, "fields", &fields), VMI_OK);
        vmi_json_obj_begin(&isf.j, fields, &fit);
        while (vmi_json_obj_next(&isf.j, &fit, &fk, &fv)) {
            char fname[128];
            snprintf(fname, sizeof(fname), "%.*s", (int)fk.len, isf.j.s + fk.off);
            if (strncmp(fname, "unnamed_field_", 14) == 0)
                continue;
            struct vmi_member mp, ma;
            int rp = prof.member(prof.ctx, sname, fname, &mp);
            int ra = aut.member(aut.ctx, sname, fname, &ma);
            if (rp == VMI_EFORMAT && ra == VMI_EFORMAT)
                continue; /* e.g. function-typed members: no size in either */
            if (rp || ra)
                fail_msg("%s.%s: profile %d (%s) auto %d (%s)", sname, fname, rp,
                         vmi_symsrc_error(&prof), ra, vmi_symsrc_error(&aut));
            if (mp.offset != ma.offset || mp.size != ma.size)
                fail_msg("%s.%s: profile %u/%u auto %u/%u", sname, fname, mp.offset, mp.size,
                         ma.offset, ma.size);
            checked++;
        }
    }
    printf("profile vs auto: %zu fields of %zu structs identical\n", checked, structs);
    assert_true(structs >= 10 && checked >= 300);
}

/* FNV-1a, the hash a hash-table index of ISF keys would use (vmi/isf.c used one). */
static uint32_t fnv1a(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* A profile whose NKEYS symbol names all share the low 12 bits of their FNV-1a hash (every key
 * of a 4096-slot table in one probe chain), plus a duplicate: the index must still be built in
 * O(n log n) key comparisons (counted, not timed), answer every lookup, and let the first of two
 * duplicate keys win as linear search does. */
#define NKEYS 2000
static void test_colliding_keys(void **st) {
    (void)st;
    static char names[NKEYS][24];
    const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    const size_t na = sizeof(alphabet) - 1;
    uint32_t want = 0;
    for (int i = 0; i < NKEYS; i++) {
        bool found = false;
        for (size_t a = 0; a < na && !found; a++)
            for (size_t b = 0; b < na && !found; b++)
                for (size_t c = 0; c < na && !found; c++) {
                    int n = snprintf(names[i], sizeof(names[i]), "k%d_%c%c%c", i, alphabet[a],
                                     alphabet[b], alphabet[c]);
                    uint32_t h = fnv1a(names[i], (size_t)n) & 0xfff;
                    if (i == 0 && a == 0 && b == 0 && c == 0)
                        want = h;
                    found = h == want;
                }
        assert_true(found);
    }
    size_t cap = (size_t)NKEYS * 48 + 256;
    char *doc = malloc(cap);
    assert_non_null(doc);
    size_t len = (size_t)snprintf(doc, cap, "{\"symbols\":{");
    for (int i = 0; i < NKEYS; i++)
        len += (size_t)snprintf(doc + len, cap - len, "\"%s\":{\"address\":%d},", names[i], i + 1);
    len += (size_t)snprintf(doc + len, cap - len, "\"%s\":{\"address\":999999}}}", names[7]);
    assert_true(len < cap);
    struct vmi_isf isf;
    struct vmi_arena a = new_arena();
    assert_int_equal(vmi_isf_init(&isf, doc, len, &a), VMI_OK);
    assert_true(isf.syms_ix.indexed);
    assert_int_equal(isf.nsyms, NKEYS + 1);
    /* Heap sort: at most 2 n log2 n comparisons; a collision chain costs about n^2 / 2. */
    uint64_t bound = 2ull * (NKEYS + 1) * 11;
    printf("colliding keys: %d keys indexed in %llu comparisons (bound %llu)\n", NKEYS + 1,
           (unsigned long long)isf.index_steps, (unsigned long long)bound);
    assert_true(isf.index_steps <= bound);
    for (int i = 0; i < NKEYS; i++) {
        uint64_t addr;
        assert_int_equal(vmi_isf_symbol(&isf, names[i], &addr), VMI_OK);
        assert_int_equal(addr, (uint64_t)(i + 1));
    }
    uint64_t addr;
    assert_int_equal(vmi_isf_symbol(&isf, "k7_", &addr), VMI_ENOTFOUND);
    assert_int_equal(vmi_isf_symbol(&isf, "zzz", &addr), VMI_ENOTFOUND);
    free(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_indexed),
        cmocka_unit_test(test_sample_linear),
        cmocka_unit_test(test_broken_documents),
        cmocka_unit_test(test_colliding_keys),
        cmocka_unit_test(test_generated_profile_vs_auto),
        cmocka_unit_test(test_generated_profile_every_field),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
