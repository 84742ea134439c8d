/* The profile symbol source: a Volatility 3 ISF file (vmi/isf.c) behind struct vmi_symsrc.
 * Symbol addresses in the profile are link-time; the kernel finder's KASLR slide is added. */
#include "base/lib.h"
#include "vmi/isf.h"
#include "vmi/vmi_symbols.h"

/* Both sources' contexts start with the error text so vmi_symsrc_error works on either. */
struct symsrc_isf {
    char why[160];
    struct vmi_isf isf;
    int64_t slide;
};

static int isf_sym(void *ctx, const char *name, uint64_t *addr) {
    struct symsrc_isf *s = ctx;
    uint64_t a;
    int rc = vmi_isf_symbol(&s->isf, name, &a);
    if (rc != VMI_OK) {
        lib_strlcpy(s->why, rc == VMI_ENOTFOUND ? "profile: no such symbol" : s->isf.why,
                    sizeof(s->why));
        return rc;
    }
    *addr = a + (uint64_t)s->slide;
    return VMI_OK;
}

static int isf_member(void *ctx, const char *struct_name, const char *path,
                      struct vmi_member *out) {
    struct symsrc_isf *s = ctx;
    int rc = vmi_isf_member(&s->isf, struct_name, path, out);
    if (rc != VMI_OK)
        lib_strlcpy(s->why, rc == VMI_ENOTFOUND ? "profile: no such struct or member" : s->isf.why,
                    sizeof(s->why));
    return rc;
}

static int isf_struct_size(void *ctx, const char *struct_name, uint32_t *size) {
    struct symsrc_isf *s = ctx;
    int rc = vmi_isf_struct_size(&s->isf, struct_name, size);
    if (rc != VMI_OK)
        lib_strlcpy(s->why, rc == VMI_ENOTFOUND ? "profile: no such struct" : s->isf.why,
                    sizeof(s->why));
    return rc;
}

static void isf_set_slide(void *ctx, int64_t slide) {
    ((struct symsrc_isf *)ctx)->slide = slide;
}

int vmi_symsrc_isf_init(struct vmi_symsrc *out, const char *json, size_t len,
                        struct vmi_arena *arena) {
    static char nomem[160] = "profile: arena too small";
    lib_memset(out, 0, sizeof(*out));
    out->kind = "profile";
    struct symsrc_isf *s = vmi_arena_alloc(arena, sizeof(*s));
    if (s == NULL) {
        out->ctx = nomem;
        return VMI_ENOMEM;
    }
    out->ctx = s;
    int rc = vmi_isf_init(&s->isf, json, len, arena);
    if (rc != VMI_OK) {
        lib_strlcpy(s->why, s->isf.why, sizeof(s->why));
        return rc;
    }
    out->sym = isf_sym;
    out->member = isf_member;
    out->struct_size = isf_struct_size;
    out->set_slide = isf_set_slide;
    return VMI_OK;
}

const char *vmi_symsrc_error(const struct vmi_symsrc *src) {
    if (src == NULL || src->ctx == NULL)
        return "";
    return (const char *)src->ctx; /* every context begins with char why[160] */
}

int vmi_symsrc_banner(const struct vmi_symsrc *src, char *out, size_t cap) {
    if (src == NULL || src->sym != isf_sym)
        return VMI_ENOTFOUND;
    struct symsrc_isf *s = src->ctx;
    return vmi_isf_banner(&s->isf, out, cap);
}
