/* libFuzzer target for the BTF reader (vmi/btf.c). First byte even: the input is the blob;
 * odd: (offset, xor) edits applied to a small valid blob with every common kind (int, ptr,
 * array, struct with an anonymous union and a bitfield, typedef/const chain, enum, enum64,
 * func_proto, var, datasec). Queries then run over every type id and member path. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmi/btf.h"

static uint8_t blob[8192];
static size_t blob_len;

static size_t tpos, spos;
static uint8_t types[2048];
static char strs[512];

static void w32(uint32_t v) {
    memcpy(types + tpos, &v, 4);
    tpos += 4;
}
static uint32_t str(const char *s) {
    uint32_t off = (uint32_t)spos;
    size_t n = strlen(s) + 1;
    memcpy(strs + spos, s, n);
    spos += n;
    return off;
}
static void type(uint32_t name, uint32_t kind, uint32_t vlen, uint32_t kflag, uint32_t st) {
    w32(name);
    w32((kflag << 31) | (kind << 24) | vlen);
    w32(st);
}

static void build_base(void) {
    tpos = 0;
    spos = 1;
    strs[0] = 0;
    type(str("int"), VMI_BTF_INT, 0, 0, 4); /* 1 */
    w32((1u << 24) | 32);
    type(0, VMI_BTF_PTR, 0, 0, 3);                /* 2: -> outer */
    type(str("outer"), VMI_BTF_STRUCT, 4, 1, 40); /* 3, kind_flag: bitfield encoding */
    w32(str("a")), w32(1), w32(0);
    w32(0), w32(4), w32(64); /* anonymous union */
    w32(str("bits")), w32(1), w32((5u << 24) | 128);
    w32(str("next")), w32(2), w32(192);
    type(0, VMI_BTF_UNION, 2, 0, 8); /* 4 */
    w32(str("x")), w32(1), w32(0);
    w32(str("y")), w32(6), w32(0);
    type(str("outer_t"), VMI_BTF_TYPEDEF, 0, 0, 3); /* 5 */
    type(0, VMI_BTF_CONST, 0, 0, 5);                /* 6 */
    type(0, VMI_BTF_ARRAY, 0, 0, 0);                /* 7 */
    w32(1), w32(1), w32(3);
    type(str("e"), VMI_BTF_ENUM, 2, 0, 4); /* 8 */
    w32(str("E0")), w32(0), w32(str("E1")), w32(1);
    type(str("e64"), VMI_BTF_ENUM64, 1, 0, 8); /* 9 */
    w32(str("F0")), w32(1), w32(2);
    type(0, VMI_BTF_FUNC_PROTO, 1, 0, 1); /* 10 */
    w32(str("arg")), w32(2);
    type(str("v"), VMI_BTF_VAR, 0, 0, 1); /* 11 */
    w32(1);
    type(str(".data"), VMI_BTF_DATASEC, 1, 0, 4); /* 12 */
    w32(11), w32(0), w32(4);
    uint8_t hdr[24] = {0x9f, 0xeb, 1, 0, 24, 0, 0, 0};
    uint32_t f[4] = {0, (uint32_t)tpos, (uint32_t)tpos, (uint32_t)spos};
    memcpy(hdr + 8, f, 16);
    memcpy(blob, hdr, 24);
    memcpy(blob + 24, types, tpos);
    memcpy(blob + 24 + tpos, strs, spos);
    blob_len = 24 + tpos + spos;
}

static uint8_t arena_mem[64 * 1024];

static int rd(void *ctx, uint64_t va, void *buf, size_t len) {
    (void)ctx;
    if (va < 0x1000 || va - 0x1000 > blob_len || len > blob_len - (va - 0x1000))
        return VMI_EREAD;
    memcpy(buf, blob + (va - 0x1000), len);
    return 0;
}

static void queries(struct vmi_btf *b) {
    static const char *const paths[] = {"a", "x", "y", "bits", "next", "next.a", "a.b", "zz"};
    struct vmi_member m;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        (void)vmi_btf_member(b, "outer", paths[i], &m);
    for (uint32_t id = 0; id <= b->ntypes + 1 && id < 64; id++) {
        uint64_t size;
        uint32_t r;
        struct vmi_btf_type t;
        char name[VMI_BTF_NAME_MAX];
        (void)vmi_btf_size(b, id, &size);
        (void)vmi_btf_resolve(b, id, &r);
        if (vmi_btf_type(b, id, &t) == VMI_OK) {
            (void)vmi_btf_name(b, t.name_off, name, sizeof(name));
            for (uint16_t i = 0; i < t.vlen && i < 16; i++) {
                struct vmi_btf_member bm;
                (void)vmi_btf_member_at(b, &t, i, &bm);
            }
            (void)vmi_btf_member_path(b, id, "x", &(struct vmi_btf_member){0});
        }
    }
    uint32_t sz;
    (void)vmi_btf_struct_size(b, "outer", &sz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        build_base();
        for (size_t i = 1; i + 3 <= size; i += 3) {
            size_t off = ((size_t)data[i] | ((size_t)data[i + 1] << 8)) % blob_len;
            blob[off] ^= data[i + 2];
        }
    } else {
        blob_len = size - 1 < sizeof(blob) ? size - 1 : sizeof(blob);
        memcpy(blob, data + 1, blob_len);
    }
    struct vmi_arena a = {arena_mem, sizeof(arena_mem), 0};
    struct vmi_btf b;
    int rc = vmi_btf_init_mem(&b, blob, blob_len, &a);
    if ((data[0] & 1) && size < 4) { /* the unedited base blob must read correctly */
        struct vmi_member m;
        if (rc != VMI_OK || b.ntypes != 12 || vmi_btf_member(&b, "outer", "y", &m) != VMI_OK ||
            m.offset != 8 || m.size != 40 || vmi_btf_member(&b, "outer", "bits", &m) != VMI_OK ||
            m.offset != 16 || m.size != 1)
            __builtin_trap();
    }
    if (rc == VMI_OK)
        queries(&b);
    a.used = 0;
    if (vmi_btf_init_kva(&b, rd, NULL, 0x1000, blob_len, &a) == VMI_OK)
        queries(&b);
    return 0;
}
