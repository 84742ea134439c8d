/* Reader of Volatility 3 ISF (Intermediate Symbol Format) JSON, as dwarf2json writes it
 * (format 6.x: metadata, base_types, user_types, enums, symbols) and as vigil-mkprofile writes
 * it (same schema; the compact form only carries the types and symbols vigil uses).
 *
 * The document is validated once and then indexed: user_types and symbols each get a sorted
 * index in the arena (12 bytes an entry), built by heap sort in O(n log n) key comparisons and
 * searched by bisection, so a 100 MB dwarf2json file answers lookups in O(log n) whatever its
 * keys (a hash index could be driven to O(n^2) by a profile whose keys collide); with too small
 * an arena the reader still works by linear search. */
#ifndef VIGIL_VMI_ISF_H
#define VIGIL_VMI_ISF_H

#include "vmi/json.h"
#include "vmi/vmi_symsrc.h"

struct vmi_isf_index {
    uint32_t *ent; /* 3 words an entry: key offset, key length, value offset; sorted by key */
    uint32_t n;
    bool indexed; /* false: linear search */
};

struct vmi_isf {
    struct vmi_json j;
    size_t metadata, base_types, user_types, enums, symbols; /* VMI_JSON_NONE if absent */
    struct vmi_isf_index types_ix, syms_ix;
    uint32_t ntypes, nsyms;
    uint64_t index_steps; /* key comparisons spent building the indexes (tests bound it) */
    char why[160];
};

int vmi_isf_init(struct vmi_isf *isf, const char *json, size_t len, struct vmi_arena *arena);

/* Link-time address of a symbol. */
int vmi_isf_symbol(struct vmi_isf *isf, const char *name, uint64_t *addr);
/* JSON offset of the object describing user type / symbol name. */
int vmi_isf_user_type(struct vmi_isf *isf, const char *name, size_t *obj);
int vmi_isf_symbol_obj(struct vmi_isf *isf, const char *name, size_t *obj);
int vmi_isf_struct_size(struct vmi_isf *isf, const char *name, uint32_t *size);
/* Member path ("a.b"), through anonymous members ("anonymous": true or unnamed_field_*). */
int vmi_isf_member(struct vmi_isf *isf, const char *struct_name, const char *path,
                   struct vmi_member *out);
/* Size of a type descriptor {"kind": ..., "name": ..., "subtype": ..., "count": ...}. */
int vmi_isf_type_size(struct vmi_isf *isf, size_t type_obj, uint64_t *size);
/* linux_banner's constant_data, base64-decoded, up to the first NUL or newline. */
int vmi_isf_banner(struct vmi_isf *isf, char *out, size_t cap);

#endif
