#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
/* Host-side kernel image access: see elf_image.h. */
#include "guest-profiles/elf_image.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int seterr(struct elf_image *img, const char *fmt, const char *arg) {
    snprintf(img->err, sizeof(img->err), fmt, arg);
    return -1;
}

static const Elf64_Ehdr *ehdr_of(const struct elf_image *img) {
    if (img->size < sizeof(Elf64_Ehdr))
        return NULL;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->data;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return NULL;
    if (eh->e_phoff > img->size ||
        (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > img->size - eh->e_phoff)
        return NULL;
    if (eh->e_shnum && (eh->e_shoff > img->size ||
                        (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > img->size - eh->e_shoff))
        return NULL;
    return eh;
}

/* Decompresses data[off..] with `tool -dc` into a malloc'd buffer. */
static int decompress(struct elf_image *img, const uint8_t *data, size_t len, const char *tool,
                      uint8_t **out, size_t *outlen) {
    char tmpl[] = "/tmp/vigil-mkprofile-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return seterr(img, "mkstemp: %s", strerror(errno));
    unlink(tmpl);
    size_t w = 0;
    while (w < len) {
        ssize_t k = write(fd, data + w, len - w);
        if (k <= 0) {
            close(fd);
            return seterr(img, "write: %s", strerror(errno));
        }
        w += (size_t)k;
    }
    lseek(fd, 0, SEEK_SET);
    int pfd[2];
    if (pipe(pfd) != 0) {
        close(fd);
        return seterr(img, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 0);
        dup2(pfd[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        close(pfd[0]);
        execlp(tool, tool, "-dc", (char *)NULL);
        _exit(127);
    }
    close(fd);
    close(pfd[1]);
    size_t cap = 64u << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            break;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t k = read(pfd[0], buf + n, cap - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(pfd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    /* The payload is followed by other data: the tools complain about trailing garbage, so
     * their exit status says nothing; the result is judged by being an ELF file. */
    if (buf == NULL)
        return seterr(img, "out of memory decompressing with %s", tool);
    if (n < 4 || memcmp(buf, ELFMAG, SELFMAG) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

static int from_bzimage(struct elf_image *img, const uint8_t *data, size_t size) {
    static const struct {
        const char *tool;
        uint8_t magic[6];
        size_t len;
    } fmts[] = {
        {"xz", {0xfd, '7', 'z', 'X', 'Z', 0x00}, 6},
        {"zstd", {0x28, 0xb5, 0x2f, 0xfd}, 4},
        {"gzip", {0x1f, 0x8b, 0x08}, 3},
    };
    for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
        const uint8_t *p = data;
        int tries = 0;
        while (tries < 8 && p < data + size &&
               (p = memmem(p, (size_t)(data + size - p), fmts[f].magic, fmts[f].len)) != NULL) {
            uint8_t *out;
            size_t outlen;
            tries++;
            if (decompress(img, p, (size_t)(data + size - p), fmts[f].tool, &out, &outlen) == 0) {
                img->data = out;
                img->size = outlen;
                img->owned = 1;
                return 0;
            }
            p++;
        }
    }
    return seterr(img, "%s: no decompressible xz/zstd/gzip payload giving an ELF kernel", "image");
}

int elf_image_open(struct elf_image *img, const char *path) {
    memset(img, 0, sizeof(*img));
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return seterr(img, "cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 64) {
        close(fd);
        return seterr(img, "%s: empty or unreadable", path);
    }
    uint8_t *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return seterr(img, "cannot map %s", path);
    if (memcmp(map, ELFMAG, SELFMAG) == 0) {
        img->data = map;
        img->size = (size_t)st.st_size;
    } else {
        int rc = from_bzimage(img, map, (size_t)st.st_size);
        munmap(map, (size_t)st.st_size);
        if (rc != 0)
            return rc;
    }
    const Elf64_Ehdr *eh = ehdr_of(img);
    if (eh == NULL) {
        elf_image_close(img);
        return seterr(img, "%s: not a 64-bit little-endian ELF kernel", path);
    }
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->data + eh->e_phoff);
    img->text_lo = UINT64_MAX;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_vaddr < 0xffff800000000000ull)
            continue;
        if (ph[i].p_vaddr < img->text_lo)
            img->text_lo = ph[i].p_vaddr;
        if (ph[i].p_vaddr + ph[i].p_memsz > img->text_hi)
            img->text_hi = ph[i].p_vaddr + ph[i].p_memsz;
    }
    if (img->text_hi == 0) {
        elf_image_close(img);
        return seterr(img, "%s: no kernel-half PT_LOAD segment", path);
    }
    return 0;
}

void elf_image_close(struct elf_image *img) {
    if (img->data) {
        if (img->owned)
            free(img->data);
        else
            munmap(img->data, img->size);
    }
    img->data = NULL;
    img->size = 0;
}

int elf_image_read_kva(void *ctx, uint64_t va, void *buf, size_t len) {
    struct elf_image *img = ctx;
    const Elf64_Ehdr *eh = ehdr_of(img);
    if (eh == NULL || va + len < va)
        return -2;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->data + eh->e_phoff);
    uint8_t *out = buf;
    while (len) {
        int hit = 0;
        for (int i = 0; i < eh->e_phnum && !hit; i++) {
            const Elf64_Phdr *p = &ph[i];
            if (p->p_type != PT_LOAD || va < p->p_vaddr || va - p->p_vaddr >= p->p_memsz)
                continue;
            uint64_t in = va - p->p_vaddr;
            uint64_t n = p->p_memsz - in < len ? p->p_memsz - in : len;
            uint64_t filen = in < p->p_filesz ? p->p_filesz - in : 0;
            if (filen > n)
                filen = n;
            if (p->p_offset + in + filen > img->size)
                return -2;
            memcpy(out, img->data + p->p_offset + in, filen);
            memset(out + filen, 0, n - filen);
            out += n;
            va += n;
            len -= n;
            hit = 1;
        }
        if (!hit)
            return -2;
    }
    return 0;
}

int elf_image_section(const struct elf_image *img, const char *name, const uint8_t **data,
                      size_t *size, uint64_t *addr) {
    const Elf64_Ehdr *eh = ehdr_of(img);
    if (eh == NULL || eh->e_shnum == 0 || eh->e_shstrndx >= eh->e_shnum)
        return -1;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(img->data + eh->e_shoff);
    const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
    if (strs->sh_offset > img->size || strs->sh_size > img->size - strs->sh_offset)
        return -1;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_name >= strs->sh_size)
            continue;
        const char *nm = (const char *)img->data + strs->sh_offset + sh[i].sh_name;
        if (strnlen(nm, strs->sh_size - sh[i].sh_name) == strs->sh_size - sh[i].sh_name ||
            strcmp(nm, name) != 0)
            continue;
        if (sh[i].sh_type == SHT_NOBITS || sh[i].sh_offset > img->size ||
            sh[i].sh_size > img->size - sh[i].sh_offset)
            return -1;
        *data = img->data + sh[i].sh_offset;
        *size = sh[i].sh_size;
        *addr = sh[i].sh_addr;
        return 0;
    }
    return -1;
}
