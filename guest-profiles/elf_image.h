/* Host-side view of a kernel image file: a vmlinux ELF (mapped at its link addresses through its
 * PT_LOAD program headers) or a vmlinuz bzImage (its compressed payload is found and decompressed
 * first). Used by vigil-mkprofile and by the unit tests that read the real Debian kernel. */
#ifndef VIGIL_ELF_IMAGE_H
#define VIGIL_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct elf_image {
    uint8_t *data; /* whole decompressed ELF file */
    size_t size;
    int owned;                 /* data was malloc'd (1) or mmap'd (0) */
    uint64_t text_lo, text_hi; /* lowest/highest kernel-half virtual address of PT_LOADs */
    char err[256];
};

/* Opens path: an ELF file, or a bzImage whose payload (xz, gzip or zstd) is decompressed with
 * the matching command-line tool (xz, gzip, zstd) through a pipe. 0 on success, -1 with err. */
int elf_image_open(struct elf_image *img, const char *path);
void elf_image_close(struct elf_image *img);

/* vmi_read_kva_fn over the PT_LOAD segments at their link addresses (bytes past a segment's file
 * size read as zero); ctx is the struct elf_image. */
int elf_image_read_kva(void *ctx, uint64_t va, void *buf, size_t len);

/* Finds a section by name: file pointer, size and address. 0 if found, -1 otherwise. */
int elf_image_section(const struct elf_image *img, const char *name, const uint8_t **data,
                      size_t *size, uint64_t *addr);

#endif
