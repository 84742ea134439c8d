/* Freestanding reader of BTF (the kernel's BPF Type Format, include/uapi/linux/btf.h), for the
 * vmlinux's .BTF section or the running kernel's copy between __start_BTF and __stop_BTF. The
 * blob is either in host memory or read on demand through a vmi_read_kva_fn (never copied
 * whole: the arena holds one read window and a sparse index of type offsets).
 *
 * Every field is validated: header bounds, section bounds, every type record's length, every
 * type id and string offset on use; chains (typedef/const/volatile/restrict/type_tag, nested
 * anonymous members) are followed to a fixed depth. */
#ifndef VIGIL_VMI_BTF_H
#define VIGIL_VMI_BTF_H

#include "vmi/kvwin.h"
#include "vmi/vmi_symsrc.h"

enum vmi_btf_kind {
    VMI_BTF_UNKN = 0,
    VMI_BTF_INT = 1,
    VMI_BTF_PTR = 2,
    VMI_BTF_ARRAY = 3,
    VMI_BTF_STRUCT = 4,
    VMI_BTF_UNION = 5,
    VMI_BTF_ENUM = 6,
    VMI_BTF_FWD = 7,
    VMI_BTF_TYPEDEF = 8,
    VMI_BTF_VOLATILE = 9,
    VMI_BTF_CONST = 10,
    VMI_BTF_RESTRICT = 11,
    VMI_BTF_FUNC = 12,
    VMI_BTF_FUNC_PROTO = 13,
    VMI_BTF_VAR = 14,
    VMI_BTF_DATASEC = 15,
    VMI_BTF_FLOAT = 16,
    VMI_BTF_DECL_TAG = 17,
    VMI_BTF_TYPE_TAG = 18,
    VMI_BTF_ENUM64 = 19,
    VMI_BTF_KIND_MAX = 19,
};

#define VMI_BTF_NAME_MAX 256 /* names longer than this are refused */
#define VMI_BTF_DEPTH_MAX 32 /* typedef/qualifier chains and nested anonymous members */

struct vmi_btf {
    const uint8_t *blob;           /* host copy, or NULL when read through win */
    struct vmi_kvwin win;          /* type section reads */
    struct vmi_kvwin win_str;      /* string section reads (separate: lookups alternate) */
    uint64_t va;                   /* blob address when read through win */
    uint64_t len;                  /* blob length */
    uint32_t type_start, type_end; /* byte offsets in the blob */
    uint32_t str_start, str_len;
    uint32_t ntypes; /* ids 1..ntypes */
    uint32_t *index; /* index[k] = offset of type id k*VMI_BTF_INDEX_STEP + 1 */
    uint32_t nindex;
    char why[160];
};
#define VMI_BTF_INDEX_STEP 64

/* One decoded type record. */
struct vmi_btf_type {
    uint32_t id;
    uint32_t name_off;
    uint8_t kind;
    bool kind_flag;
    uint16_t vlen;
    uint32_t size_type; /* size (int, struct, union, enum, datasec, float) or type id */
    uint32_t off;       /* offset of the record in the blob */
};

/* One struct/union member. */
struct vmi_btf_member {
    uint32_t name_off;
    uint32_t type;
    uint32_t bit_offset;    /* from the start of the outermost struct resolved */
    uint32_t bitfield_size; /* 0: not a bitfield */
};

int vmi_btf_init_mem(struct vmi_btf *b, const void *blob, size_t len, struct vmi_arena *arena);
int vmi_btf_init_kva(struct vmi_btf *b, vmi_read_kva_fn rd, void *rd_ctx, uint64_t va, uint64_t len,
                     struct vmi_arena *arena);

/* Finds a BTF blob in [start, end) by its header (magic 0xeB9F, version 1, hdr_len 24), sized
 * from the header's own section fields, and initialises b over it (read through rd). For kernels
 * whose kallsyms lack __start_BTF/__stop_BTF. */
int vmi_btf_scan(struct vmi_btf *b, vmi_read_kva_fn rd, void *rd_ctx, uint64_t start, uint64_t end,
                 struct vmi_arena *arena);

int vmi_btf_type(struct vmi_btf *b, uint32_t id, struct vmi_btf_type *t);
/* Copies the name (NUL-terminated, "" for anonymous) into buf. */
int vmi_btf_name(struct vmi_btf *b, uint32_t name_off, char *buf, size_t cap);
/* i-th member of a struct/union type (0 <= i < vlen), bit offset relative to that struct. */
int vmi_btf_member_at(struct vmi_btf *b, const struct vmi_btf_type *t, uint16_t i,
                      struct vmi_btf_member *m);

/* First type of the given kind (0 = struct or union) and name. VMI_ENOTFOUND if none. */
int vmi_btf_find(struct vmi_btf *b, const char *name, int kind, uint32_t *id);
/* Skips typedef/const/volatile/restrict/type_tag. */
int vmi_btf_resolve(struct vmi_btf *b, uint32_t id, uint32_t *out);
/* Size in bytes of a type (follows typedefs/qualifiers; arrays = count x element). */
int vmi_btf_size(struct vmi_btf *b, uint32_t id, uint64_t *size);

/* Resolves "a.b.c" in struct/union struct_id: each component may sit inside anonymous
 * struct/union members. m->bit_offset is from the start of struct_id. */
int vmi_btf_member_path(struct vmi_btf *b, uint32_t struct_id, const char *path,
                        struct vmi_btf_member *m);

/* The vmi_symsrc-style query: struct (or union) by name, member path, byte offset and size
 * (bitfields: the bytes that hold them). */
int vmi_btf_member(struct vmi_btf *b, const char *struct_name, const char *path,
                   struct vmi_member *out);
int vmi_btf_struct_size(struct vmi_btf *b, const char *struct_name, uint32_t *size);

#endif
