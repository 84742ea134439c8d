/* Guest memory dump readers. See dump_reader.h. */
#include "tools/dump_reader.h"
#include "vmi/vmi_symsrc.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* QEMU target/i386/arch_dump.c: the "QEMU" note's descriptor (version 1). */
struct qemu_seg {
    uint32_t selector, limit, flags, pad;
    uint64_t base;
};
struct qemu_cpu_state {
    uint32_t version, size;
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
    struct qemu_seg cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt;
    uint64_t cr[5];
    uint64_t kernel_gs_base; /* present when size covers it */
};
#define QEMU_STATE_V1_SIZE offsetof(struct qemu_cpu_state, kernel_gs_base)

/* Linux's struct elf_prstatus on x86-64: pr_reg (user_regs_struct, 27 words) at offset 112. */
#define PRSTATUS_REG_OFF 112
#define PRSTATUS_NREG 27
enum { R_RIP = 16, R_RSP = 19, R_GS_BASE = 22 };

static int fail(struct dump *d, const char *msg) {
    snprintf(d->error, sizeof(d->error), "%s", msg);
    return -1;
}

int dump_read_phys(void *ctx, uint64_t pa, void *buf, size_t len) {
    struct dump *d = ctx;
    uint8_t *out = buf;
    while (len) {
        /* Binary search: segments are sorted by pa at open. */
        size_t lo = 0, hi = d->nsegs;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (d->segs[mid].pa + d->segs[mid].len <= pa)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= d->nsegs || pa < d->segs[lo].pa)
            return VMI_EREAD;
        const struct dump_seg *s = &d->segs[lo];
        uint64_t in = s->len - (pa - s->pa);
        size_t n = len < in ? len : (size_t)in;
        memcpy(out, d->map + s->off + (pa - s->pa), n);
        out += n;
        len -= n;
        pa += n;
    }
    return 0;
}

void dump_mem(struct dump *d, struct vmi_mem *m) {
    m->ctx = d;
    m->read_phys = dump_read_phys;
    m->phys_end = d->nsegs ? d->segs[d->nsegs - 1].pa + d->segs[d->nsegs - 1].len : 0;
}

static int seg_cmp(const void *a, const void *b) {
    const struct dump_seg *x = a, *y = b;
    return x->pa < y->pa ? -1 : x->pa > y->pa;
}

static void note_prstatus(struct dump *d, const uint8_t *desc, size_t len, size_t idx) {
    if (idx >= DUMP_MAX_CPUS || len < PRSTATUS_REG_OFF + PRSTATUS_NREG * 8)
        return;
    uint64_t reg[PRSTATUS_NREG];
    memcpy(reg, desc + PRSTATUS_REG_OFF, sizeof(reg));
    struct vmi_vcpu *c = &d->cpus[idx];
    c->rip = reg[R_RIP];
    c->rsp = reg[R_RSP];
    c->gs_base = reg[R_GS_BASE];
}

static void note_qemu(struct dump *d, const uint8_t *desc, size_t len, size_t idx) {
    struct qemu_cpu_state st;
    if (idx >= DUMP_MAX_CPUS || len < QEMU_STATE_V1_SIZE)
        return;
    memset(&st, 0, sizeof(st));
    memcpy(&st, desc, len < sizeof(st) ? len : sizeof(st));
    if (st.version != 1 || st.size < QEMU_STATE_V1_SIZE || st.size > len)
        return;
    struct vmi_vcpu *c = &d->cpus[idx];
    c->rip = st.rip;
    c->rsp = st.rsp;
    c->gs_base = st.gs.base;
    c->idtr_base = st.idt.base;
    c->idtr_limit = (uint16_t)st.idt.limit;
    c->has_idtr = true;
    c->cr0 = st.cr[0];
    c->cr3 = st.cr[3];
    c->cr4 = st.cr[4];
    c->has_cr = true;
    if (st.size >= sizeof(st))
        c->kernel_gs_base = st.kernel_gs_base;
}

static int open_elf(struct dump *d) {
    const uint8_t *m = d->map;
    if (d->size < sizeof(Elf64_Ehdr))
        return fail(d, "ELF dump: truncated header");
    Elf64_Ehdr eh;
    memcpy(&eh, m, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != EM_X86_64)
        return fail(d, "ELF dump: not a little-endian x86-64 ELF64 file");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > d->size ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > d->size - eh.e_phoff)
        return fail(d, "ELF dump: program headers outside the file");
    size_t nprst = 0, nqemu = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, m + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_offset > d->size || ph.p_filesz > d->size - ph.p_offset)
            return fail(d, "ELF dump: segment outside the file (truncated dump?)");
        if (ph.p_type == PT_LOAD && ph.p_filesz) {
            if (d->nsegs >= DUMP_MAX_SEGS)
                return fail(d, "ELF dump: too many PT_LOAD segments");
            if (ph.p_paddr + ph.p_filesz < ph.p_paddr)
                return fail(d, "ELF dump: segment wraps around");
            d->segs[d->nsegs++] =
                (struct dump_seg){.pa = ph.p_paddr, .len = ph.p_filesz, .off = ph.p_offset};
        } else if (ph.p_type == PT_NOTE) {
            uint64_t off = ph.p_offset, end = ph.p_offset + ph.p_filesz;
            while (off + sizeof(Elf64_Nhdr) <= end) {
                Elf64_Nhdr nh;
                memcpy(&nh, m + off, sizeof(nh));
                uint64_t name_off = off + sizeof(nh);
                uint64_t desc_off = name_off + ((nh.n_namesz + 3ull) & ~3ull);
                uint64_t next = desc_off + ((nh.n_descsz + 3ull) & ~3ull);
                if (next > end || next <= off)
                    break;
                const char *name = (const char *)m + name_off;
                if (nh.n_namesz == 5 && !memcmp(name, "CORE", 5) && nh.n_type == NT_PRSTATUS)
                    note_prstatus(d, m + desc_off, nh.n_descsz, nprst++);
                else if (nh.n_namesz == 5 && !memcmp(name, "QEMU", 5) && nh.n_type == 0)
                    note_qemu(d, m + desc_off, nh.n_descsz, nqemu++);
                off = next;
            }
        }
    }
    if (!d->nsegs)
        return fail(d, "ELF dump: no PT_LOAD segment (memory)");
    qsort(d->segs, d->nsegs, sizeof(d->segs[0]), seg_cmp);
    for (size_t i = 1; i < d->nsegs; i++)
        if (d->segs[i].pa < d->segs[i - 1].pa + d->segs[i - 1].len)
            return fail(d, "ELF dump: overlapping PT_LOAD segments");
    d->ncpus = nqemu > nprst ? nqemu : nprst;
    if (d->ncpus > DUMP_MAX_CPUS)
        d->ncpus = DUMP_MAX_CPUS;
    d->format = "qemu-elf";
    return 0;
}

int dump_parse_regs(struct dump *d, const char *text, size_t len) {
    size_t pos = 0;
    long cur = -1;
    int line = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n')
            e++;
        line++;
        char buf[160];
        size_t n = e - pos;
        if (n >= sizeof(buf))
            return snprintf(d->error, sizeof(d->error), "register file line %d: too long", line),
                   -1;
        memcpy(buf, text + pos, n);
        buf[n] = 0;
        pos = e + 1;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = 0;
        char *s = buf;
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        size_t l = strlen(s);
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
            s[--l] = 0;
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return snprintf(d->error, sizeof(d->error), "register file line %d: no '='", line), -1;
        *eq = 0;
        const char *val = eq + 1;
        char *endp;
        errno = 0;
        unsigned long long v = strtoull(val, &endp, 0);
        if (!*val || *endp || errno)
            return snprintf(d->error, sizeof(d->error), "register file line %d: bad number '%s'",
                            line, val),
                   -1;
        if (!strcmp(s, "cpu")) {
            if (v >= DUMP_MAX_CPUS)
                return snprintf(d->error, sizeof(d->error),
                                "register file line %d: cpu %llu "
                                "out of range",
                                line, v),
                       -1;
            cur = (long)v;
            if ((size_t)cur + 1 > d->ncpus)
                d->ncpus = (size_t)cur + 1;
            continue;
        }
        if (cur < 0)
            return snprintf(d->error, sizeof(d->error),
                            "register file line %d: '%s' before any cpu= line", line, s),
                   -1;
        struct vmi_vcpu *c = &d->cpus[cur];
        if (!strcmp(s, "cr0"))
            c->cr0 = v, c->has_cr = true;
        else if (!strcmp(s, "cr3"))
            c->cr3 = v, c->has_cr = true;
        else if (!strcmp(s, "cr4"))
            c->cr4 = v, c->has_cr = true;
        else if (!strcmp(s, "efer"))
            c->efer = v, c->has_efer = true;
        else if (!strcmp(s, "lstar"))
            c->lstar = v, c->has_lstar = true;
        else if (!strcmp(s, "idtr_base"))
            c->idtr_base = v, c->has_idtr = true;
        else if (!strcmp(s, "idtr_limit"))
            c->idtr_limit = (uint16_t)v;
        else if (!strcmp(s, "gs_base"))
            c->gs_base = v;
        else if (!strcmp(s, "kernel_gs_base"))
            c->kernel_gs_base = v;
        else if (!strcmp(s, "rip"))
            c->rip = v;
        else if (!strcmp(s, "rsp"))
            c->rsp = v;
        else
            return snprintf(d->error, sizeof(d->error), "register file line %d: unknown key '%s'",
                            line, s),
                   -1;
    }
    return 0;
}

int dump_open_buffer(struct dump *d, const uint8_t *buf, size_t len) {
    memset(d, 0, sizeof(*d));
    d->map = buf;
    d->size = len;
    if (len >= 4 && !memcmp(buf, ELFMAG, SELFMAG))
        return open_elf(d);
    d->format = "raw";
    if (len) {
        d->segs[0] = (struct dump_seg){.pa = 0, .len = len, .off = 0};
        d->nsegs = 1;
    }
    return 0;
}

static int map_file(const char *path, const uint8_t **map, size_t *size, char *err, size_t ecap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return snprintf(err, ecap, "cannot open %s: %s", path, strerror(errno)), -1;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return snprintf(err, ecap, "%s is not a regular file", path), -1;
    }
    *size = (size_t)st.st_size;
    *map = NULL;
    if (*size) {
        void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return snprintf(err, ecap, "cannot map %s: %s", path, strerror(errno)), -1;
        }
        *map = p;
    }
    close(fd);
    return 0;
}

int dump_open(struct dump *d, const char *path, const char *regs_path) {
    const uint8_t *map;
    size_t size;
    char err[200];
    if (map_file(path, &map, &size, err, sizeof(err))) {
        memset(d, 0, sizeof(*d));
        snprintf(d->error, sizeof(d->error), "%s", err);
        return -1;
    }
    int rc = dump_open_buffer(d, map, size);
    if (rc == 0 && regs_path) {
        const uint8_t *r;
        size_t rs;
        if (map_file(regs_path, &r, &rs, d->error, sizeof(d->error)))
            return -1;
        memset(d->cpus, 0, sizeof(d->cpus));
        d->ncpus = 0;
        rc = dump_parse_regs(d, (const char *)r, rs);
        if (rs)
            munmap((void *)r, rs);
    }
    return rc;
}

void dump_close(struct dump *d) {
    if (d->map && d->size)
        munmap((void *)d->map, d->size);
    d->map = NULL;
}
