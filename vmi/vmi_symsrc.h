/* Contract between the sources of kernel symbols/types (profile: ISF JSON; auto: in-memory
 * kallsyms + BTF) and their users (the task/module walkers, kernel identity). Every source fills
 * in a struct vmi_symsrc; users never care which one they got.
 *
 * All addresses are the running kernel's (KASLR slide applied): a profile source is told the slide
 * (vmi_symsrc.set_slide) once the kernel finder has computed it; an in-memory kallsyms source
 * already yields runtime addresses and ignores it. */
#ifndef VIGIL_VMI_SYMSRC_H
#define VIGIL_VMI_SYMSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads len bytes of kernel virtual memory (or of an image mapped at its link address). Returns
 * 0 on success, a negative VMI_E* code when any byte is unreadable. Never faults. */
typedef int (*vmi_read_kva_fn)(void *ctx, uint64_t va, void *buf, size_t len);

/* A bump allocator from caller-provided memory: the hypervisor hands vmi/ a fixed arena; host
 * tools a malloc'd one. Allocation failure is an error (VMI_ENOMEM), never a crash. */
struct vmi_arena {
    uint8_t *base;
    size_t size;
    size_t used;
};
void *vmi_arena_alloc(struct vmi_arena *a, size_t n); /* 16-byte aligned, zeroed; NULL if full */

enum {
    VMI_OK = 0,
    VMI_ENOTFOUND = -1, /* no such symbol / struct / member */
    VMI_EREAD = -2,     /* guest memory unreadable */
    VMI_EFORMAT = -3,   /* malformed or unsupported data (bad BTF, unknown kallsyms layout, ...) */
    VMI_ENOMEM = -4,    /* arena exhausted */
    VMI_ELIMIT = -5,    /* a bound was hit (cycle, count limit) */
    VMI_EMISMATCH = -6, /* profile does not match the running kernel */
};

/* Member of a struct: byte offset and size. Member paths may go through anonymous
 * structs/unions (found by plain name) and through named nested members with '.', e.g.
 * "signal" in "task_struct", or "se.exec_start". Typedef/const/volatile chains are followed. */
struct vmi_member {
    uint32_t offset;
    uint32_t size;
};

struct vmi_symsrc {
    void *ctx;
    const char *kind; /* "profile" or "auto" */
    int (*sym)(void *ctx, const char *name, uint64_t *addr);
    int (*member)(void *ctx, const char *struct_name, const char *path, struct vmi_member *out);
    int (*struct_size)(void *ctx, const char *struct_name, uint32_t *size);
    void (*set_slide)(void *ctx, int64_t slide);
};

#endif
