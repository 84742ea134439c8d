/* Freestanding BTF reader: see btf.h. Layout from include/uapi/linux/btf.h:
 *   header { u16 magic 0xeB9F; u8 version 1; u8 flags; u32 hdr_len;
 *            u32 type_off, type_len, str_off, str_len }   (offsets from the end of the header)
 *   type   { u32 name_off; u32 info (vlen 0-15, kind 24-28, kind_flag 31); u32 size|type }
 *          followed by kind-specific data (vlen entries for struct/union/enum/...). */
#include "vmi/btf.h"
#include "base/lib.h"

#define BTF_MAGIC 0xeb9f
#define BTF_WIN_SIZE 16384u

static int fail(struct vmi_btf *b, int rc, const char *msg) {
    lib_strlcpy(b->why, msg, sizeof(b->why));
    return rc;
}

static int rd(struct vmi_btf *b, uint64_t off, void *buf, size_t n) {
    if (off > b->len || n > b->len - off)
        return VMI_EFORMAT;
    if (b->blob) {
        lib_memcpy(buf, b->blob + off, n);
        return VMI_OK;
    }
    struct vmi_kvwin *w =
        off >= b->str_start && b->str_start >= b->type_end ? &b->win_str : &b->win;
    return vmi_kvwin_read(w, b->va + off, buf, n);
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Bytes of kind-specific data after the 12-byte common part; -1 for unknown kinds. */
static int64_t extra_size(uint8_t kind, uint16_t vlen) {
    switch (kind) {
    case VMI_BTF_INT:
    case VMI_BTF_VAR:
    case VMI_BTF_DECL_TAG:
        return 4;
    case VMI_BTF_ARRAY:
        return 12;
    case VMI_BTF_STRUCT:
    case VMI_BTF_UNION:
    case VMI_BTF_DATASEC:
    case VMI_BTF_ENUM64:
        return 12ll * vlen;
    case VMI_BTF_ENUM:
    case VMI_BTF_FUNC_PROTO:
        return 8ll * vlen;
    case VMI_BTF_PTR:
    case VMI_BTF_FWD:
    case VMI_BTF_TYPEDEF:
    case VMI_BTF_VOLATILE:
    case VMI_BTF_CONST:
    case VMI_BTF_RESTRICT:
    case VMI_BTF_FUNC:
    case VMI_BTF_FLOAT:
    case VMI_BTF_TYPE_TAG:
        return 0;
    default:
        return -1;
    }
}

static int decode_at(struct vmi_btf *b, uint32_t off, uint32_t id, struct vmi_btf_type *t) {
    uint8_t raw[12];
    if (off < b->type_start || off + 12ull > b->type_end || rd(b, off, raw, 12) != VMI_OK)
        return fail(b, VMI_EFORMAT, "btf: type record out of bounds");
    uint32_t info = le32(raw + 4);
    t->id = id;
    t->name_off = le32(raw);
    t->vlen = (uint16_t)(info & 0xffff);
    t->kind = (uint8_t)((info >> 24) & 0x1f);
    t->kind_flag = (info >> 31) != 0;
    t->size_type = le32(raw + 8);
    t->off = off;
    int64_t extra = extra_size(t->kind, t->vlen);
    if (extra < 0 || t->kind == VMI_BTF_UNKN)
        return fail(b, VMI_EFORMAT, "btf: unknown type kind");
    if (off + 12ull + (uint64_t)extra > b->type_end)
        return fail(b, VMI_EFORMAT, "btf: type record runs past the type section");
    return VMI_OK;
}

static uint32_t record_len(const struct vmi_btf_type *t) {
    return 12u + (uint32_t)extra_size(t->kind, t->vlen);
}

static int init_common(struct vmi_btf *b, struct vmi_arena *arena) {
    uint8_t h[24];
    if (b->len < 24 || rd(b, 0, h, 24) != VMI_OK)
        return fail(b, VMI_EFORMAT, "btf: blob shorter than a header");
    uint16_t magic = (uint16_t)(h[0] | (h[1] << 8));
    if (magic != BTF_MAGIC)
        return fail(b, VMI_EFORMAT, "btf: bad magic (big-endian or not BTF)");
    if (h[2] != 1)
        return fail(b, VMI_EFORMAT, "btf: unsupported version (only 1)");
    uint32_t hdr_len = le32(h + 4), type_off = le32(h + 8), type_len = le32(h + 12);
    uint32_t str_off = le32(h + 16), str_len = le32(h + 20);
    if (hdr_len < 24 || hdr_len > b->len)
        return fail(b, VMI_EFORMAT, "btf: bad header length");
    uint64_t data_len = b->len - hdr_len;
    if ((uint64_t)type_off + type_len > data_len || (uint64_t)str_off + str_len > data_len ||
        type_off % 4 != 0)
        return fail(b, VMI_EFORMAT, "btf: sections out of bounds");
    if (str_len == 0)
        return fail(b, VMI_EFORMAT, "btf: empty string section");
    b->type_start = hdr_len + type_off;
    b->type_end = hdr_len + type_off + type_len;
    b->str_start = hdr_len + str_off;
    b->str_len = str_len;
    uint8_t c0, clast;
    if (rd(b, b->str_start, &c0, 1) || rd(b, b->str_start + str_len - 1, &clast, 1) || c0 != 0 ||
        clast != 0)
        return fail(b, VMI_EFORMAT, "btf: string section must start and end with NUL");
    /* One validating pass: every record well-formed, and a sparse offset index. */
    uint32_t max_types = type_len / 12;
    b->nindex = max_types / VMI_BTF_INDEX_STEP + 1;
    b->index = vmi_arena_alloc(arena, sizeof(uint32_t) * b->nindex);
    if (b->index == NULL)
        return fail(b, VMI_ENOMEM, "btf: arena too small for the type index");
    uint32_t off = b->type_start, id = 1;
    while (off < b->type_end) {
        struct vmi_btf_type t;
        int rc = decode_at(b, off, id, &t);
        if (rc != VMI_OK)
            return rc;
        if ((id - 1) % VMI_BTF_INDEX_STEP == 0)
            b->index[(id - 1) / VMI_BTF_INDEX_STEP] = off;
        off += record_len(&t);
        id++;
    }
    b->ntypes = id - 1;
    b->nindex = b->ntypes / VMI_BTF_INDEX_STEP + 1;
    return VMI_OK;
}

int vmi_btf_init_mem(struct vmi_btf *b, const void *blob, size_t len, struct vmi_arena *arena) {
    lib_memset(b, 0, sizeof(*b));
    if (blob == NULL)
        return fail(b, VMI_EFORMAT, "btf: no blob");
    b->blob = blob;
    b->len = len;
    return init_common(b, arena);
}

int vmi_btf_init_kva(struct vmi_btf *b, vmi_read_kva_fn rdf, void *rd_ctx, uint64_t va,
                     uint64_t len, struct vmi_arena *arena) {
    lib_memset(b, 0, sizeof(*b));
    if (va + len < va || len > 0xffffffffull)
        return fail(b, VMI_EFORMAT, "btf: bad blob range");
    int rc = vmi_kvwin_init(&b->win, rdf, rd_ctx, va, va + len, BTF_WIN_SIZE, arena);
    if (rc == VMI_OK)
        rc = vmi_kvwin_init(&b->win_str, rdf, rd_ctx, va, va + len, BTF_WIN_SIZE / 4, arena);
    if (rc != VMI_OK)
        return fail(b, rc, "btf: arena too small for the read window");
    b->va = va;
    b->len = len;
    return init_common(b, arena);
}

int vmi_btf_type(struct vmi_btf *b, uint32_t id, struct vmi_btf_type *t) {
    if (id == 0 || id > b->ntypes)
        return fail(b, VMI_EFORMAT, "btf: type id out of range");
    uint32_t k = (id - 1) / VMI_BTF_INDEX_STEP;
    uint32_t cur = k * VMI_BTF_INDEX_STEP + 1, off = b->index[k];
    for (;;) {
        int rc = decode_at(b, off, cur, t);
        if (rc != VMI_OK)
            return rc;
        if (cur == id)
            return VMI_OK;
        off += record_len(t);
        cur++;
    }
}

int vmi_btf_name(struct vmi_btf *b, uint32_t name_off, char *buf, size_t cap) {
    if (cap == 0)
        return VMI_ELIMIT;
    if (name_off >= b->str_len)
        return fail(b, VMI_EFORMAT, "btf: name offset out of the string section");
    uint64_t left = b->str_len - name_off; /* the section ends with NUL: always terminates */
    size_t i = 0;
    for (;;) {
        char c;
        if (i >= left || rd(b, (uint64_t)b->str_start + name_off + i, &c, 1) != VMI_OK)
            return fail(b, VMI_EFORMAT, "btf: unterminated name");
        if (i + 1 >= cap)
            return fail(b, VMI_ELIMIT, "btf: name too long");
        buf[i] = c;
        if (c == 0)
            return VMI_OK;
        i++;
    }
}

/* Compares the name at name_off with s[0..n) followed by NUL, without copying. */
static bool name_eq(struct vmi_btf *b, uint32_t name_off, const char *s, size_t n) {
    if (name_off >= b->str_len || n + 1 > b->str_len - name_off)
        return false;
    uint64_t at = (uint64_t)b->str_start + name_off;
    if (b->blob)
        return lib_memcmp(b->blob + at, s, n) == 0 && b->blob[at + n] == 0;
    uint8_t buf[64];
    size_t done = 0;
    while (done <= n) {
        size_t chunk = n + 1 - done < sizeof(buf) ? n + 1 - done : sizeof(buf);
        if (rd(b, at + done, buf, chunk) != VMI_OK)
            return false;
        for (size_t j = 0; j < chunk; j++) {
            char want = done + j < n ? s[done + j] : 0;
            if ((char)buf[j] != want)
                return false;
        }
        done += chunk;
    }
    return true;
}

int vmi_btf_member_at(struct vmi_btf *b, const struct vmi_btf_type *t, uint16_t i,
                      struct vmi_btf_member *m) {
    if ((t->kind != VMI_BTF_STRUCT && t->kind != VMI_BTF_UNION) || i >= t->vlen)
        return fail(b, VMI_EFORMAT, "btf: not a member of a struct/union");
    uint8_t raw[12];
    if (rd(b, t->off + 12ull + 12ull * i, raw, 12) != VMI_OK)
        return fail(b, VMI_EFORMAT, "btf: member out of bounds");
    m->name_off = le32(raw);
    m->type = le32(raw + 4);
    uint32_t o = le32(raw + 8);
    if (t->kind_flag) { /* bitfield size in the top 8 bits */
        m->bitfield_size = o >> 24;
        m->bit_offset = o & 0xffffff;
    } else {
        m->bitfield_size = 0;
        m->bit_offset = o;
    }
    return VMI_OK;
}

int vmi_btf_find(struct vmi_btf *b, const char *name, int kind, uint32_t *id) {
    size_t n = lib_strnlen(name, VMI_BTF_NAME_MAX);
    if (n == 0 || n >= VMI_BTF_NAME_MAX)
        return VMI_ENOTFOUND;
    uint32_t off = b->type_start;
    for (uint32_t cur = 1; cur <= b->ntypes; cur++) {
        struct vmi_btf_type t;
        int rc = decode_at(b, off, cur, &t);
        if (rc != VMI_OK)
            return rc;
        bool kind_ok =
            kind == 0 ? (t.kind == VMI_BTF_STRUCT || t.kind == VMI_BTF_UNION) : t.kind == kind;
        if (kind_ok && t.name_off != 0 && name_eq(b, t.name_off, name, n)) {
            *id = cur;
            return VMI_OK;
        }
        off += record_len(&t);
    }
    return VMI_ENOTFOUND;
}

int vmi_btf_resolve(struct vmi_btf *b, uint32_t id, uint32_t *out) {
    for (int depth = 0; depth < VMI_BTF_DEPTH_MAX; depth++) {
        if (id == 0) { /* void */
            *out = 0;
            return VMI_OK;
        }
        struct vmi_btf_type t;
        int rc = vmi_btf_type(b, id, &t);
        if (rc != VMI_OK)
            return rc;
        switch (t.kind) {
        case VMI_BTF_TYPEDEF:
        case VMI_BTF_VOLATILE:
        case VMI_BTF_CONST:
        case VMI_BTF_RESTRICT:
        case VMI_BTF_TYPE_TAG:
            id = t.size_type;
            continue;
        default:
            *out = id;
            return VMI_OK;
        }
    }
    return fail(b, VMI_ELIMIT, "btf: typedef/qualifier chain too long (cycle?)");
}

int vmi_btf_size(struct vmi_btf *b, uint32_t id, uint64_t *size) {
    uint64_t mult = 1;
    for (int depth = 0; depth < VMI_BTF_DEPTH_MAX; depth++) {
        uint32_t r;
        int rc = vmi_btf_resolve(b, id, &r);
        if (rc != VMI_OK)
            return rc;
        if (r == 0)
            return fail(b, VMI_EFORMAT, "btf: void has no size");
        struct vmi_btf_type t;
        rc = vmi_btf_type(b, r, &t);
        if (rc != VMI_OK)
            return rc;
        switch (t.kind) {
        case VMI_BTF_INT:
        case VMI_BTF_STRUCT:
        case VMI_BTF_UNION:
        case VMI_BTF_ENUM:
        case VMI_BTF_ENUM64:
        case VMI_BTF_DATASEC:
        case VMI_BTF_FLOAT:
            if (t.size_type != 0 && mult > UINT64_MAX / t.size_type)
                return fail(b, VMI_EFORMAT, "btf: size overflows");
            *size = mult * t.size_type;
            return VMI_OK;
        case VMI_BTF_PTR:
            *size = mult * 8;
            return VMI_OK;
        case VMI_BTF_ARRAY: {
            uint8_t raw[12];
            if (rd(b, t.off + 12ull, raw, 12) != VMI_OK)
                return fail(b, VMI_EFORMAT, "btf: array out of bounds");
            uint32_t nelems = le32(raw + 8);
            if (nelems != 0 && mult > UINT64_MAX / nelems / 0x10000)
                return fail(b, VMI_EFORMAT, "btf: array size overflows");
            mult *= nelems;
            id = le32(raw);
            continue;
        }
        default:
            return fail(b, VMI_EFORMAT, "btf: type has no size");
        }
    }
    return fail(b, VMI_ELIMIT, "btf: array nesting too deep");
}

/* Members one path lookup may visit: anonymous members nest, and crafted BTF could make the
 * search fan out at every level; the kernel's deepest lookups visit a few hundred. */
#define BTF_MEMBER_BUDGET (1u << 20)

/* Finds member name[0..n) in struct/union id, looking inside anonymous members. */
static int find_member(struct vmi_btf *b, uint32_t id, const char *name, size_t n, int depth,
                       uint32_t *budget, struct vmi_btf_member *out) {
    if (depth >= VMI_BTF_DEPTH_MAX)
        return fail(b, VMI_ELIMIT, "btf: anonymous members nested too deep");
    uint32_t r;
    int rc = vmi_btf_resolve(b, id, &r);
    if (rc != VMI_OK)
        return rc;
    struct vmi_btf_type t;
    if (r == 0 || (rc = vmi_btf_type(b, r, &t)) != VMI_OK)
        return r == 0 ? VMI_ENOTFOUND : rc;
    if (t.kind != VMI_BTF_STRUCT && t.kind != VMI_BTF_UNION)
        return VMI_ENOTFOUND;
    if (*budget < 2u * t.vlen) {
        *budget = 0;
        return fail(b, VMI_ELIMIT, "btf: member search limit reached (hostile BTF?)");
    }
    *budget -= 2u * t.vlen;
    /* Named members first (a name at this level wins), then anonymous ones in order. */
    for (uint16_t i = 0; i < t.vlen; i++) {
        struct vmi_btf_member m;
        if ((rc = vmi_btf_member_at(b, &t, i, &m)) != VMI_OK)
            return rc;
        if (m.name_off != 0 && name_eq(b, m.name_off, name, n)) {
            *out = m;
            return VMI_OK;
        }
    }
    for (uint16_t i = 0; i < t.vlen; i++) {
        struct vmi_btf_member m;
        if ((rc = vmi_btf_member_at(b, &t, i, &m)) != VMI_OK)
            return rc;
        if (m.name_off != 0)
            continue;
        struct vmi_btf_member inner;
        rc = find_member(b, m.type, name, n, depth + 1, budget, &inner);
        if (rc == VMI_ENOTFOUND)
            continue;
        if (rc != VMI_OK)
            return rc;
        if (inner.bit_offset > UINT32_MAX - m.bit_offset)
            return fail(b, VMI_EFORMAT, "btf: member offset overflows");
        inner.bit_offset += m.bit_offset;
        *out = inner;
        return VMI_OK;
    }
    return VMI_ENOTFOUND;
}

int vmi_btf_member_path(struct vmi_btf *b, uint32_t struct_id, const char *path,
                        struct vmi_btf_member *m) {
    uint32_t cur = struct_id, base = 0;
    const char *p = path;
    struct vmi_btf_member found = {0};
    for (int comp = 0;; comp++) {
        if (comp >= VMI_BTF_DEPTH_MAX)
            return fail(b, VMI_ELIMIT, "btf: member path too long");
        size_t n = 0;
        while (p[n] && p[n] != '.' && n < VMI_BTF_NAME_MAX)
            n++;
        if (n == 0 || n >= VMI_BTF_NAME_MAX)
            return VMI_ENOTFOUND;
        uint32_t budget = BTF_MEMBER_BUDGET;
        int rc = find_member(b, cur, p, n, 0, &budget, &found);
        if (rc != VMI_OK)
            return rc;
        if (found.bit_offset > UINT32_MAX - base)
            return fail(b, VMI_EFORMAT, "btf: member offset overflows");
        found.bit_offset += base;
        if (p[n] == 0)
            break;
        if (found.bitfield_size)
            return VMI_ENOTFOUND;
        base = found.bit_offset;
        cur = found.type;
        p += n + 1;
    }
    *m = found;
    return VMI_OK;
}

int vmi_btf_member(struct vmi_btf *b, const char *struct_name, const char *path,
                   struct vmi_member *out) {
    uint32_t id;
    int rc = vmi_btf_find(b, struct_name, 0, &id);
    if (rc != VMI_OK)
        return rc;
    struct vmi_btf_member m;
    if ((rc = vmi_btf_member_path(b, id, path, &m)) != VMI_OK)
        return rc;
    if (m.bitfield_size) {
        out->offset = m.bit_offset / 8;
        out->size = (m.bit_offset % 8 + m.bitfield_size + 7) / 8;
        return VMI_OK;
    }
    if (m.bit_offset % 8)
        return fail(b, VMI_EFORMAT, "btf: member not byte-aligned");
    uint64_t size;
    if ((rc = vmi_btf_size(b, m.type, &size)) != VMI_OK)
        return rc;
    if (size > UINT32_MAX)
        return fail(b, VMI_EFORMAT, "btf: member too large");
    out->offset = m.bit_offset / 8;
    out->size = (uint32_t)size;
    return VMI_OK;
}

int vmi_btf_struct_size(struct vmi_btf *b, const char *struct_name, uint32_t *size) {
    uint32_t id;
    int rc = vmi_btf_find(b, struct_name, 0, &id);
    if (rc != VMI_OK)
        return rc;
    struct vmi_btf_type t;
    if ((rc = vmi_btf_type(b, id, &t)) != VMI_OK)
        return rc;
    *size = t.size_type;
    return VMI_OK;
}

int vmi_btf_scan(struct vmi_btf *b, vmi_read_kva_fn rdf, void *rd_ctx, uint64_t start, uint64_t end,
                 struct vmi_arena *arena) {
    static const uint8_t magic[8] = {0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00};
    struct vmi_kvwin w;
    size_t mark = arena->used;
    lib_memset(b, 0, sizeof(*b));
    if (end <= start || vmi_kvwin_init(&w, rdf, rd_ctx, start, end, 16384, arena) != VMI_OK)
        return fail(b, VMI_ENOMEM, "btf: arena too small for the scan window");
    for (uint64_t page = ALIGN_DOWN(start, 4096); page < end; page += 4096) {
        uint64_t lo = page < start ? start : page;
        uint64_t hi = end - page > 4096 ? page + 4096 : end;
        for (uint64_t va = lo; va < hi && va + 24 <= end; va++) {
            const uint8_t *p = vmi_kvwin_ptr(&w, va, 24);
            if (p == NULL)
                break; /* unreadable: next page */
            if (p[0] != magic[0] || lib_memcmp(p, magic, 8) != 0)
                continue;
            /* Size the blob from its own header: type_off/len and str_off/len. */
            uint64_t len = 24 + MAX((uint64_t)le32(p + 8) + le32(p + 12),
                                    (uint64_t)le32(p + 16) + le32(p + 20));
            if (len > end - va)
                continue;
            size_t keep = arena->used;
            if (vmi_btf_init_kva(b, rdf, rd_ctx, va, len, arena) == VMI_OK)
                return VMI_OK;
            arena->used = keep;
        }
        if (page + 4096 < page)
            break;
    }
    arena->used = mark;
    lib_memset(b, 0, sizeof(*b));
    return fail(b, VMI_ENOTFOUND, "btf: no valid BTF header in the range");
}
