/* For tests/e2e/symbols_kallsyms_live.sh: finds the kernel in a QEMU dump-guest-memory ELF
 * (the walkers' kernel finder), decodes the running kernel's kallsyms with vmi/kallsyms.c and
 * prints every symbol as /proc/kallsyms does ("%016llx %c %s"). Then checks auto mode's BTF
 * (read from guest memory) answers a few member queries. Exit status 0 on success. */
#include <stdio.h>
#include <stdlib.h>

#include "tools/dump_reader.h"
#include "vmi/kallsyms.h"
#include "vmi/kernel.h"
#include "vmi/vmi_symbols.h"

static int print_symbol(void *ctx, const char *name, char type, uint64_t addr) {
    fprintf(ctx, "%016llx %c %s\n", (unsigned long long)addr, type, name);
    return 0;
}

int main(int argc, char **argv) {
    static struct dump d;
    static struct vmi_kernel k;
    static struct vmi_kallsyms ks;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DUMP.elf > symbols.txt\n", argv[0]);
        return 2;
    }
    if (dump_open(&d, argv[1], NULL) != 0) {
        fprintf(stderr, "dump: %s\n", d.error);
        return 1;
    }
    struct vmi_mem mem;
    dump_mem(&d, &mem);
    if (vmi_kernel_find(&k, &mem, d.cpus, d.ncpus) != 0) {
        fprintf(stderr, "kernel finder: %s\n", k.error);
        return 1;
    }
    size_t size = 1 << 20;
    struct vmi_arena arena = {malloc(size), size, 0};
    if (vmi_kallsyms_init(&ks, vmi_kernel_read, &k, k.text, k.image_end, &arena) != 0) {
        fprintf(stderr, "kallsyms: %s\n", ks.why);
        return 1;
    }
    fprintf(stderr, "kallsyms: %u symbols, _text %#llx, %zu bytes of arena\n", ks.num_syms,
            (unsigned long long)k.text, arena.used);
    if (vmi_kallsyms_foreach(&ks, print_symbol, stdout) != 0) {
        fprintf(stderr, "kallsyms: %s\n", ks.why);
        return 1;
    }
    /* Auto mode's BTF comes from the guest's own memory (__start_BTF..__stop_BTF). */
    struct vmi_symsrc src;
    arena.used = 0;
    if (vmi_symsrc_auto_init(&src, vmi_kernel_read, &k, k.text, k.image_end, &arena) != 0) {
        fprintf(stderr, "auto: %s\n", vmi_symsrc_error(&src));
        return 1;
    }
    struct vmi_member m;
    uint32_t sz;
    if (src.member(src.ctx, "task_struct", "tgid", &m) != 0 ||
        src.struct_size(src.ctx, "task_struct", &sz) != 0) {
        fprintf(stderr, "auto BTF: %s\n", vmi_symsrc_error(&src));
        return 1;
    }
    fprintf(stderr, "auto BTF from guest memory: task_struct %u bytes, tgid at %u (%u bytes)\n", sz,
            m.offset, m.size);
    return 0;
}
