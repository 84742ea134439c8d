/* Reader of Volatility 3 ISF (Intermediate Symbol Format) JSON, as dwarf2json writes it
 * (format 6.x: metadata, base_types, user_types, enums, symbols) and as vigil-mkprofile writes
 * it (same schema; the compact form only carries the types and symbols vigil uses).
 *
 * The document is validated once and then indexed: user_types and symbols get a hash index in
 * the arena (12 bytes a slot, two slots per entry), so a 100 MB dwarf2json file answers
 * lookups in O(1); with too small an arena the reader still works by linear search. */
#ifndef VIGIL_VMI_ISF_H
#define VIGIL_VMI_ISF_H

#include "json.h"
#include "vmi_symsrc.h"

struct vmi_isf_index {
    uint32_t *slots; /* 3 words a slot: hash, key offset + 1 (0 = empty), value offset */
    uint32_t cap;    /* power of two, or 0 when not indexed */
};

struct vmi_isf {
    struct vmi_json j;
    size_t metadata, base_types, user_types, enums, symbols; /* VMI_JSON_NONE if absent */
    struct vmi_isf_index types_ix, syms_ix;
    uint32_t ntypes, nsyms;
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
