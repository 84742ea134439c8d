/* The auto symbol source: the running kernel's own kallsyms tables (vmi/kallsyms.c) for
 * symbols and its BTF (vmi/btf.c) for types, both read from guest memory on demand.
 *
 * BTF is found between __start_BTF and __stop_BTF (both in kallsyms on 6.1 with
 * DEBUG_INFO_BTF); when those symbols are missing, the image range is scanned for a BTF header
 * (magic 0xeB9F, version 1, hdr_len 24) whose sections fit. Symbol addresses are runtime
 * addresses already: set_slide is ignored. */
#include "base/lib.h"
#include "vmi/btf.h"
#include "vmi/kallsyms.h"
#include "vmi/vmi_symbols.h"

#define AUTO_CACHE 32 /* struct name -> BTF id cache */

struct symsrc_auto {
    char why[160]; /* first, see vmi_symsrc_error */
    struct vmi_kallsyms ks;
    struct vmi_btf btf;
    bool has_btf;
    struct {
        char name[48];
        uint32_t id;
    } cache[AUTO_CACHE];
    uint32_t cache_next;
};

static void set_why(struct symsrc_auto *s, const char *a) {
    lib_strlcpy(s->why, a, sizeof(s->why));
}

static int auto_sym(void *ctx, const char *name, uint64_t *addr) {
    struct symsrc_auto *s = ctx;
    int rc = vmi_kallsyms_lookup(&s->ks, name, addr, NULL);
    if (rc == VMI_ENOTFOUND)
        set_why(s, "auto: no such symbol in kallsyms");
    else if (rc != VMI_OK)
        set_why(s, s->ks.why);
    return rc;
}

static int struct_id(struct symsrc_auto *s, const char *name, uint32_t *id) {
    if (!s->has_btf) {
        set_why(s, "auto: the kernel has no BTF (types need a profile)");
        return VMI_ENOTFOUND;
    }
    size_t n = lib_strlen(name);
    for (uint32_t i = 0; i < AUTO_CACHE; i++)
        if (s->cache[i].name[0] && lib_streq(s->cache[i].name, name)) {
            *id = s->cache[i].id;
            return VMI_OK;
        }
    int rc = vmi_btf_find(&s->btf, name, 0, id);
    if (rc != VMI_OK) {
        set_why(s, rc == VMI_ENOTFOUND ? "auto: no such struct in BTF" : s->btf.why);
        return rc;
    }
    if (n < sizeof(s->cache[0].name)) {
        uint32_t slot = s->cache_next++ % AUTO_CACHE;
        lib_strlcpy(s->cache[slot].name, name, sizeof(s->cache[slot].name));
        s->cache[slot].id = *id;
    }
    return VMI_OK;
}

static int auto_member(void *ctx, const char *struct_name, const char *path,
                       struct vmi_member *out) {
    struct symsrc_auto *s = ctx;
    uint32_t id;
    int rc = struct_id(s, struct_name, &id);
    if (rc != VMI_OK)
        return rc;
    struct vmi_btf_member m;
    rc = vmi_btf_member_path(&s->btf, id, path, &m);
    if (rc != VMI_OK) {
        set_why(s, rc == VMI_ENOTFOUND ? "auto: no such member in BTF" : s->btf.why);
        return rc;
    }
    if (m.bitfield_size) {
        out->offset = m.bit_offset / 8;
        out->size = (m.bit_offset % 8 + m.bitfield_size + 7) / 8;
        return VMI_OK;
    }
    uint64_t size;
    if (m.bit_offset % 8 || (rc = vmi_btf_size(&s->btf, m.type, &size)) != VMI_OK ||
        size > UINT32_MAX) {
        set_why(s, "auto: member without a byte offset or size");
        return rc != VMI_OK ? rc : VMI_EFORMAT;
    }
    out->offset = m.bit_offset / 8;
    out->size = (uint32_t)size;
    return VMI_OK;
}

static int auto_struct_size(void *ctx, const char *struct_name, uint32_t *size) {
    struct symsrc_auto *s = ctx;
    uint32_t id;
    int rc = struct_id(s, struct_name, &id);
    if (rc != VMI_OK)
        return rc;
    struct vmi_btf_type t;
    if ((rc = vmi_btf_type(&s->btf, id, &t)) != VMI_OK) {
        set_why(s, s->btf.why);
        return rc;
    }
    *size = t.size_type;
    return VMI_OK;
}

static void auto_set_slide(void *ctx, int64_t slide) {
    (void)ctx, (void)slide; /* kallsyms already yields runtime addresses */
}

int vmi_symsrc_auto_init(struct vmi_symsrc *out, vmi_read_kva_fn rd, void *rd_ctx,
                         uint64_t kernel_start, uint64_t kernel_end, struct vmi_arena *arena) {
    static char nomem[160] = "auto: arena too small";
    lib_memset(out, 0, sizeof(*out));
    out->kind = "auto";
    struct symsrc_auto *s = vmi_arena_alloc(arena, sizeof(*s));
    if (s == NULL) {
        out->ctx = nomem;
        return VMI_ENOMEM;
    }
    out->ctx = s;
    int rc = vmi_kallsyms_init(&s->ks, rd, rd_ctx, kernel_start, kernel_end, arena);
    if (rc != VMI_OK) {
        set_why(s, s->ks.why);
        return rc;
    }
    static const char *const names[2] = {"__start_BTF", "__stop_BTF"};
    uint64_t addrs[2];
    bool found[2];
    for (int i = 0; i < 2; i++) {
        rc = vmi_kallsyms_lookup(&s->ks, names[i], &addrs[i], NULL);
        if (rc != VMI_OK && rc != VMI_ENOTFOUND) {
            set_why(s, s->ks.why);
            return rc;
        }
        found[i] = rc == VMI_OK;
    }
    if (found[0] && found[1] && addrs[1] > addrs[0]) {
        size_t keep = arena->used;
        rc = vmi_btf_init_kva(&s->btf, rd, rd_ctx, addrs[0], addrs[1] - addrs[0], arena);
        s->has_btf = rc == VMI_OK;
        if (!s->has_btf)
            arena->used = keep;
    }
    if (!s->has_btf)
        s->has_btf = vmi_btf_scan(&s->btf, rd, rd_ctx, kernel_start, kernel_end, arena) == VMI_OK;
    out->sym = auto_sym;
    out->member = auto_member;
    out->struct_size = auto_struct_size;
    out->set_slide = auto_set_slide;
    /* Without BTF the source still gives symbols; type queries fail with a clear reason. */
    return VMI_OK;
}
