/* Volatility 3 ISF reader: see isf.h. */
#include "vmi/isf.h"
#include "base/lib.h"
#include "vmi/vmi_sort.h"

#define ISF_DEPTH_MAX 8 /* anonymous-member nesting and type-descriptor nesting (kernel: <= 4) */
#define ISF_NAME_MAX 128

static int fail(struct vmi_isf *isf, int rc, const char *msg) {
    lib_strlcpy(isf->why, msg, sizeof(isf->why));
    return rc;
}

/* Order of index entries: key bytes, then key length, then position in the document (so among
 * duplicate keys the first occurrence comes first, as linear search finds it). */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    int c = lib_memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}
static int entry_cmp(const void *pa, const void *pb, void *ctx) {
    struct vmi_isf *isf = ctx;
    const uint32_t *a = pa, *b = pb;
    isf->index_steps++;
    int c = key_cmp(isf->j.s + a[0], a[1], isf->j.s + b[0], b[1]);
    if (c)
        return c;
    return a[0] < b[0] ? -1 : a[0] > b[0];
}

/* Builds the sorted index of an object's members (keys without escapes only; a key with escapes
 * makes the whole object fall back to linear search, which handles them). */
static void build_index(struct vmi_isf *isf, size_t obj, struct vmi_isf_index *ix, uint32_t *count,
                        struct vmi_arena *arena) {
    struct vmi_json_iter it;
    struct vmi_json_str k;
    size_t v;
    uint32_t n = 0;
    ix->indexed = false;
    ix->n = 0;
    *count = 0;
    if (obj == VMI_JSON_NONE || vmi_json_obj_begin(&isf->j, obj, &it) != VMI_OK)
        return;
    while (vmi_json_obj_next(&isf->j, &it, &k, &v)) {
        if (k.escaped || n == UINT32_MAX / 4)
            return;
        n++;
    }
    *count = n;
    uint32_t *ent = vmi_arena_alloc(arena, (size_t)(n ? n : 1) * 3 * sizeof(uint32_t));
    if (ent == NULL)
        return; /* linear search then */
    uint32_t i = 0;
    vmi_json_obj_begin(&isf->j, obj, &it);
    while (i < n && vmi_json_obj_next(&isf->j, &it, &k, &v)) {
        ent[3 * i] = (uint32_t)k.off; /* the document is under 4 GiB (vmi_isf_init) */
        ent[3 * i + 1] = (uint32_t)k.len;
        ent[3 * i + 2] = (uint32_t)v;
        i++;
    }
    vmi_heapsort(ent, n, 3 * sizeof(uint32_t), entry_cmp, isf);
    ix->ent = ent;
    ix->n = n;
    ix->indexed = true;
}

static int lookup(struct vmi_isf *isf, size_t obj, const struct vmi_isf_index *ix, const char *name,
                  size_t n, size_t *val) {
    if (obj == VMI_JSON_NONE)
        return VMI_ENOTFOUND;
    if (!ix->indexed) {
        struct vmi_json_iter it;
        struct vmi_json_str k;
        size_t v;
        vmi_json_obj_begin(&isf->j, obj, &it);
        while (vmi_json_obj_next(&isf->j, &it, &k, &v))
            if (vmi_json_str_eq(&isf->j, &k, name, n)) {
                *val = v;
                return VMI_OK;
            }
        return VMI_ENOTFOUND;
    }
    /* The first entry not below name: the first occurrence when the key is duplicated. */
    uint32_t lo = 0, hi = ix->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const uint32_t *e = ix->ent + 3 * (size_t)mid;
        if (key_cmp(isf->j.s + e[0], e[1], name, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ix->n) {
        const uint32_t *e = ix->ent + 3 * (size_t)lo;
        if (key_cmp(isf->j.s + e[0], e[1], name, n) == 0) {
            *val = e[2];
            return VMI_OK;
        }
    }
    return VMI_ENOTFOUND;
}

int vmi_isf_init(struct vmi_isf *isf, const char *json, size_t len, struct vmi_arena *arena) {
    lib_memset(isf, 0, sizeof(*isf));
    if (len >= 0xffffffffu)
        return fail(isf, VMI_EFORMAT, "isf: document larger than 4 GiB");
    if (vmi_json_init(&isf->j, json, len) != VMI_OK) {
        lib_strlcpy(isf->why, isf->j.why, sizeof(isf->why));
        return VMI_EFORMAT;
    }
    if (vmi_json_kind(&isf->j, isf->j.root) != '{')
        return fail(isf, VMI_EFORMAT, "isf: top level is not an object");
    size_t *secs[] = {&isf->metadata, &isf->base_types, &isf->user_types, &isf->enums,
                      &isf->symbols};
    const char *names[] = {"metadata", "base_types", "user_types", "enums", "symbols"};
    for (int i = 0; i < 5; i++) {
        size_t v;
        *secs[i] = VMI_JSON_NONE;
        if (vmi_json_obj_get(&isf->j, isf->j.root, names[i], &v) == VMI_OK) {
            if (vmi_json_kind(&isf->j, v) != '{')
                return fail(isf, VMI_EFORMAT, "isf: a top-level section is not an object");
            *secs[i] = v;
        }
    }
    if (isf->user_types == VMI_JSON_NONE && isf->symbols == VMI_JSON_NONE)
        return fail(isf, VMI_EFORMAT, "isf: neither user_types nor symbols: not an ISF file");
    build_index(isf, isf->user_types, &isf->types_ix, &isf->ntypes, arena);
    build_index(isf, isf->symbols, &isf->syms_ix, &isf->nsyms, arena);
    return VMI_OK;
}

int vmi_isf_user_type(struct vmi_isf *isf, const char *name, size_t *obj) {
    size_t v;
    int rc = lookup(isf, isf->user_types, &isf->types_ix, name, lib_strlen(name), &v);
    if (rc != VMI_OK)
        return rc;
    if (vmi_json_kind(&isf->j, v) != '{')
        return fail(isf, VMI_EFORMAT, "isf: user type is not an object");
    *obj = v;
    return VMI_OK;
}

int vmi_isf_symbol_obj(struct vmi_isf *isf, const char *name, size_t *obj) {
    size_t v;
    int rc = lookup(isf, isf->symbols, &isf->syms_ix, name, lib_strlen(name), &v);
    if (rc != VMI_OK)
        return rc;
    if (vmi_json_kind(&isf->j, v) != '{')
        return fail(isf, VMI_EFORMAT, "isf: symbol is not an object");
    *obj = v;
    return VMI_OK;
}

int vmi_isf_symbol(struct vmi_isf *isf, const char *name, uint64_t *addr) {
    size_t o, a;
    int rc = vmi_isf_symbol_obj(isf, name, &o);
    if (rc != VMI_OK)
        return rc;
    if (vmi_json_obj_get(&isf->j, o, "address", &a) != VMI_OK ||
        vmi_json_get_u64(&isf->j, a, addr) != VMI_OK)
        return fail(isf, VMI_EFORMAT, "isf: symbol without a valid address");
    return VMI_OK;
}

static int get_u32_member(struct vmi_isf *isf, size_t obj, const char *key, uint32_t *v) {
    size_t p;
    uint64_t u;
    if (vmi_json_obj_get(&isf->j, obj, key, &p) != VMI_OK)
        return VMI_ENOTFOUND;
    if (vmi_json_get_u64(&isf->j, p, &u) != VMI_OK || u > UINT32_MAX)
        return VMI_EFORMAT;
    *v = (uint32_t)u;
    return VMI_OK;
}

int vmi_isf_struct_size(struct vmi_isf *isf, const char *name, uint32_t *size) {
    size_t o;
    int rc = vmi_isf_user_type(isf, name, &o);
    if (rc != VMI_OK)
        return rc;
    if (get_u32_member(isf, o, "size", size) != VMI_OK)
        return fail(isf, VMI_EFORMAT, "isf: user type without a valid size");
    return VMI_OK;
}

/* Name of a type descriptor into buf. */
static int type_name(struct vmi_isf *isf, size_t type_obj, char *buf, size_t cap) {
    size_t p;
    if (vmi_json_obj_get(&isf->j, type_obj, "name", &p) != VMI_OK ||
        vmi_json_get_str(&isf->j, p, buf, cap, NULL) != VMI_OK)
        return fail(isf, VMI_EFORMAT, "isf: type descriptor without a valid name");
    return VMI_OK;
}

static bool kind_is(struct vmi_isf *isf, size_t type_obj, const char *kind) {
    size_t p;
    struct vmi_json_str t;
    return vmi_json_obj_get(&isf->j, type_obj, "kind", &p) == VMI_OK &&
           vmi_json_str_at(&isf->j, p, &t) == VMI_OK &&
           vmi_json_str_eq(&isf->j, &t, kind, lib_strlen(kind));
}

static int type_size_depth(struct vmi_isf *isf, size_t type_obj, uint64_t *size, int depth) {
    if (depth > ISF_DEPTH_MAX)
        return fail(isf, VMI_ELIMIT, "isf: type descriptors nested too deep");
    if (vmi_json_kind(&isf->j, type_obj) != '{')
        return fail(isf, VMI_EFORMAT, "isf: type descriptor is not an object");
    char name[ISF_NAME_MAX];
    uint32_t s32;
    size_t o;
    if (kind_is(isf, type_obj, "struct") || kind_is(isf, type_obj, "union") ||
        kind_is(isf, type_obj, "class")) {
        if (type_name(isf, type_obj, name, sizeof(name)) != VMI_OK)
            return VMI_EFORMAT;
        int rc = vmi_isf_struct_size(isf, name, &s32);
        if (rc == VMI_OK)
            *size = s32;
        return rc;
    }
    if (kind_is(isf, type_obj, "pointer")) {
        if (isf->base_types != VMI_JSON_NONE &&
            vmi_json_obj_get(&isf->j, isf->base_types, "pointer", &o) == VMI_OK &&
            get_u32_member(isf, o, "size", &s32) == VMI_OK) {
            *size = s32;
            return VMI_OK;
        }
        *size = 8;
        return VMI_OK;
    }
    if (kind_is(isf, type_obj, "base") || kind_is(isf, type_obj, "enum")) {
        bool is_enum = kind_is(isf, type_obj, "enum");
        size_t sec = is_enum ? isf->enums : isf->base_types;
        if (type_name(isf, type_obj, name, sizeof(name)) != VMI_OK)
            return VMI_EFORMAT;
        if (sec == VMI_JSON_NONE || vmi_json_obj_get(&isf->j, sec, name, &o) != VMI_OK)
            return fail(isf, VMI_ENOTFOUND, "isf: base type or enum not in the profile");
        if (get_u32_member(isf, o, "size", &s32) != VMI_OK)
            return fail(isf, VMI_EFORMAT, "isf: base type or enum without a valid size");
        *size = s32;
        return VMI_OK;
    }
    if (kind_is(isf, type_obj, "array")) {
        uint32_t count;
        size_t sub;
        uint64_t esz;
        if (get_u32_member(isf, type_obj, "count", &count) != VMI_OK ||
            vmi_json_obj_get(&isf->j, type_obj, "subtype", &sub) != VMI_OK)
            return fail(isf, VMI_EFORMAT, "isf: array without count or subtype");
        int rc = type_size_depth(isf, sub, &esz, depth + 1);
        if (rc != VMI_OK)
            return rc;
        if (esz && count > UINT64_MAX / esz)
            return fail(isf, VMI_EFORMAT, "isf: array size overflows");
        *size = esz * count;
        return VMI_OK;
    }
    return fail(isf, VMI_EFORMAT, "isf: type kind without a size (function, bitfield, ...)");
}

int vmi_isf_type_size(struct vmi_isf *isf, size_t type_obj, uint64_t *size) {
    return type_size_depth(isf, type_obj, size, 0);
}

static bool is_anonymous(struct vmi_isf *isf, const struct vmi_json_str *key, size_t field) {
    size_t p;
    bool b;
    if (vmi_json_obj_get(&isf->j, field, "anonymous", &p) == VMI_OK &&
        vmi_json_get_bool(&isf->j, p, &b) == VMI_OK)
        return b;
    return !key->escaped && key->len > 14 &&
           lib_memcmp(isf->j.s + key->off, "unnamed_field_", 14) == 0;
}

/* A field: its byte offset, type descriptor, and bitfield info. */
struct isf_field {
    uint64_t offset;
    size_t type;
    bool bitfield;
    uint32_t bit_pos, bit_len;
};

static int read_field(struct vmi_isf *isf, size_t field, struct isf_field *f) {
    size_t p;
    lib_memset(f, 0, sizeof(*f));
    if (vmi_json_kind(&isf->j, field) != '{' ||
        vmi_json_obj_get(&isf->j, field, "offset", &p) != VMI_OK ||
        vmi_json_get_u64(&isf->j, p, &f->offset) != VMI_OK || f->offset > UINT32_MAX ||
        vmi_json_obj_get(&isf->j, field, "type", &f->type) != VMI_OK ||
        vmi_json_kind(&isf->j, f->type) != '{')
        return fail(isf, VMI_EFORMAT, "isf: field without a valid offset or type");
    if (kind_is(isf, f->type, "bitfield")) {
        f->bitfield = true;
        if (get_u32_member(isf, f->type, "bit_position", &f->bit_pos) != VMI_OK ||
            get_u32_member(isf, f->type, "bit_length", &f->bit_len) != VMI_OK ||
            f->bit_pos > 4096 || f->bit_len > 4096)
            return fail(isf, VMI_EFORMAT, "isf: bitfield without valid bit_position/length");
    }
    return VMI_OK;
}

/* Fields one path lookup may visit (crafted files could fan out at every anonymous level). */
#define ISF_FIELD_BUDGET (1u << 18)

/* Finds name[0..n) among the fields of user type tname, through anonymous members. */
static int find_field(struct vmi_isf *isf, const char *tname, const char *name, size_t n, int depth,
                      uint32_t *budget, struct isf_field *out) {
    if (depth > ISF_DEPTH_MAX)
        return fail(isf, VMI_ELIMIT, "isf: anonymous members nested too deep");
    size_t t, fields;
    int rc = vmi_isf_user_type(isf, tname, &t);
    if (rc != VMI_OK)
        return rc;
    if (vmi_json_obj_get(&isf->j, t, "fields", &fields) != VMI_OK)
        return fail(isf, VMI_EFORMAT, "isf: user type without fields");
    struct vmi_json_iter it;
    struct vmi_json_str k;
    size_t v;
    if (vmi_json_obj_begin(&isf->j, fields, &it) != VMI_OK)
        return fail(isf, VMI_EFORMAT, "isf: fields is not an object");
    while (vmi_json_obj_next(&isf->j, &it, &k, &v)) {
        if (*budget == 0)
            return fail(isf, VMI_ELIMIT, "isf: field search limit reached (hostile profile?)");
        (*budget)--;
        if (vmi_json_str_eq(&isf->j, &k, name, n))
            return read_field(isf, v, out);
    }
    vmi_json_obj_begin(&isf->j, fields, &it);
    while (vmi_json_obj_next(&isf->j, &it, &k, &v)) {
        if (*budget == 0)
            return fail(isf, VMI_ELIMIT, "isf: field search limit reached (hostile profile?)");
        (*budget)--;
        if (!is_anonymous(isf, &k, v))
            continue;
        struct isf_field outer, inner;
        char sub[ISF_NAME_MAX];
        if ((rc = read_field(isf, v, &outer)) != VMI_OK)
            return rc;
        if (type_name(isf, outer.type, sub, sizeof(sub)) != VMI_OK)
            continue;
        rc = find_field(isf, sub, name, n, depth + 1, budget, &inner);
        if (rc == VMI_ENOTFOUND)
            continue;
        if (rc != VMI_OK)
            return rc;
        inner.offset += outer.offset;
        *out = inner;
        return VMI_OK;
    }
    return VMI_ENOTFOUND;
}

int vmi_isf_member(struct vmi_isf *isf, const char *struct_name, const char *path,
                   struct vmi_member *out) {
    char tname[ISF_NAME_MAX];
    if (lib_strlcpy(tname, struct_name, sizeof(tname)) >= sizeof(tname))
        return VMI_ENOTFOUND;
    uint64_t base = 0;
    struct isf_field f;
    const char *p = path;
    for (int comp = 0;; comp++) {
        if (comp > ISF_DEPTH_MAX)
            return fail(isf, VMI_ELIMIT, "isf: member path too long");
        size_t n = 0;
        while (p[n] && p[n] != '.')
            n++;
        if (n == 0)
            return VMI_ENOTFOUND;
        uint32_t budget = ISF_FIELD_BUDGET;
        int rc = find_field(isf, tname, p, n, 0, &budget, &f);
        if (rc != VMI_OK)
            return rc;
        base += f.offset;
        if (base > UINT32_MAX)
            return fail(isf, VMI_EFORMAT, "isf: member offset overflows");
        if (p[n] == 0)
            break;
        if (f.bitfield || type_name(isf, f.type, tname, sizeof(tname)) != VMI_OK)
            return VMI_ENOTFOUND;
        p += n + 1;
    }
    if (f.bitfield) {
        base += f.bit_pos / 8;
        out->offset = (uint32_t)base;
        out->size = (f.bit_pos % 8 + f.bit_len + 7) / 8;
        return VMI_OK;
    }
    uint64_t size;
    int rc = vmi_isf_type_size(isf, f.type, &size);
    if (rc != VMI_OK)
        return rc;
    if (size > UINT32_MAX)
        return fail(isf, VMI_EFORMAT, "isf: member too large");
    out->offset = (uint32_t)base;
    out->size = (uint32_t)size;
    return VMI_OK;
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int vmi_isf_banner(struct vmi_isf *isf, char *out, size_t cap) {
    size_t o, p;
    if (cap == 0)
        return VMI_ELIMIT;
    int rc = vmi_isf_symbol_obj(isf, "linux_banner", &o);
    if (rc != VMI_OK)
        return rc;
    struct vmi_json_str t;
    if (vmi_json_obj_get(&isf->j, o, "constant_data", &p) != VMI_OK)
        return VMI_ENOTFOUND;
    if (vmi_json_str_at(&isf->j, p, &t) != VMI_OK || t.escaped)
        return fail(isf, VMI_EFORMAT, "isf: linux_banner constant_data is not base64");
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < t.len; i++) {
        char c = isf->j.s[t.off + i];
        if (c == '=')
            break;
        int v = b64val(c);
        if (v < 0)
            return fail(isf, VMI_EFORMAT, "isf: linux_banner constant_data is not base64");
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char ch = (char)((acc >> bits) & 0xff);
            if (ch == 0 || ch == '\n')
                break;
            if (n + 1 >= cap)
                break;
            out[n++] = ch;
        }
    }
    out[n] = 0;
    return n ? VMI_OK : VMI_ENOTFOUND;
}
