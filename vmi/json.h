/* A small freestanding JSON reader that never allocates: the document stays where it is and
 * values are named by their byte offset in it. vmi_json_init validates the whole document once
 * (strict RFC 8259 syntax, nesting depth <= VMI_JSON_DEPTH_MAX); the accessors then walk it
 * without recursion surprises and still bounds-check every step (hostile input). */
#ifndef VIGIL_VMI_JSON_H
#define VIGIL_VMI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMI_JSON_DEPTH_MAX 64
#define VMI_JSON_NONE ((size_t)-1)

struct vmi_json {
    const char *s;
    size_t len;
    size_t root; /* offset of the top-level value */
    char why[128];
};

/* A string token: the raw bytes between the quotes (escapes not decoded). */
struct vmi_json_str {
    size_t off, len;
    bool escaped; /* contains a backslash */
};

struct vmi_json_iter {
    size_t pos; /* next member/element, or VMI_JSON_NONE at the end */
};

int vmi_json_init(struct vmi_json *j, const char *s, size_t len);

/* '{', '[', '"', 'n' (null), 't', 'f', '0' (number); 0 if pos is not a value. */
char vmi_json_kind(const struct vmi_json *j, size_t pos);
/* Offset just past the value at pos. */
size_t vmi_json_skip(const struct vmi_json *j, size_t pos);

/* Objects: iterate members (key, value offset). next returns 1 for a member, 0 at the end. */
int vmi_json_obj_begin(const struct vmi_json *j, size_t obj, struct vmi_json_iter *it);
int vmi_json_obj_next(const struct vmi_json *j, struct vmi_json_iter *it, struct vmi_json_str *key,
                      size_t *val);
/* Value of the first member named key; VMI_ENOTFOUND if none (or obj is not an object). */
int vmi_json_obj_get(const struct vmi_json *j, size_t obj, const char *key, size_t *val);
/* Arrays likewise. */
int vmi_json_arr_begin(const struct vmi_json *j, size_t arr, struct vmi_json_iter *it);
int vmi_json_arr_next(const struct vmi_json *j, struct vmi_json_iter *it, size_t *val);

/* Does the string token equal s[0..n) once decoded? */
bool vmi_json_str_eq(const struct vmi_json *j, const struct vmi_json_str *t, const char *s,
                     size_t n);
/* String value at pos decoded into buf (NUL-terminated); VMI_ELIMIT if it does not fit,
 * VMI_EFORMAT if it is not a string or decodes to a NUL. *outlen gets the decoded length. */
int vmi_json_get_str(const struct vmi_json *j, size_t pos, char *buf, size_t cap, size_t *outlen);
/* Integers only (no fraction or exponent), range-checked. */
int vmi_json_get_u64(const struct vmi_json *j, size_t pos, uint64_t *v);
int vmi_json_get_i64(const struct vmi_json *j, size_t pos, int64_t *v);
int vmi_json_get_bool(const struct vmi_json *j, size_t pos, bool *v);

/* The token at pos as a string token (pos must be a string). */
int vmi_json_str_at(const struct vmi_json *j, size_t pos, struct vmi_json_str *t);

#endif
