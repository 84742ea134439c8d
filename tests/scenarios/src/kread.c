/* Reads kernel memory the way a program in the guest can: kread SYMBOL N prints the first N bytes
 * at SYMBOL (address from /proc/kallsyms) as hex, read through /proc/kcore. Used by
 * tests/scenarios/hv-live.sh to see what the guest reads where vigil put a hook. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int lookup(const char *name, uint64_t *va) {
    FILE *f = fopen("/proc/kallsyms", "r");
    char line[512], sym[256], type;
    unsigned long long a;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 && strcmp(sym, name) == 0 && a) {
            *va = a;
            fclose(f);
            return 0;
        }
    }
    fclose(f);
    return -1;
}

int main(int argc, char **argv) {
    uint64_t va;
    unsigned char buf[64];
    size_t n = argc > 2 ? (size_t)atoi(argv[2]) : 0;
    if (argc != 3 || n == 0 || n > sizeof(buf) || lookup(argv[1], &va) != 0) {
        fprintf(stderr, "usage: kread SYMBOL N (1..64); symbol must be in /proc/kallsyms\n");
        return 2;
    }
    int fd = open("/proc/kcore", O_RDONLY);
    Elf64_Ehdr eh;
    if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh)) {
        perror("/proc/kcore");
        return 1;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
            (ssize_t)sizeof(ph))
            break;
        if (ph.p_type != PT_LOAD || va < ph.p_vaddr || va + n > ph.p_vaddr + ph.p_memsz)
            continue;
        if (pread(fd, buf, n, (off_t)(ph.p_offset + (va - ph.p_vaddr))) != (ssize_t)n) {
            perror("pread");
            return 1;
        }
        printf("KREAD %s ", argv[1]);
        for (size_t j = 0; j < n; j++)
            printf("%02x", buf[j]);
        printf("\n");
        return 0;
    }
    fprintf(stderr, "kread: 0x%llx not in /proc/kcore\n", (unsigned long long)va);
    return 1;
}
