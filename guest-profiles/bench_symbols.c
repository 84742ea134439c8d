/* bench-symbols (make bench): cost of the symbol sources on the Debian test kernel, printed as
 * figures (never asserted): locating kallsyms, a symbol lookup (binary search and full pass),
 * auto-mode init with BTF, member lookups through BTF, and ISF profile init/lookups for the
 * compact profile of the test kernel.
 * The kernel comes from $VIGIL_VMLINUX or qemu-scripts/fetch-kernel.sh, the profile from
 * guest-profiles/profile-for-package.sh (made on demand, cached under build/profiles/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest-profiles/elf_image.h"
#include "vmi/kallsyms.h"
#include "vmi/vmi_symbols.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static long reads;
static int counting_read(void *ctx, uint64_t va, void *buf, size_t len) {
    reads++;
    return elf_image_read_kva(ctx, va, buf, len);
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (!d || fread(d, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(d);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return d;
}

int main(void) {
    char vmlinux[4096] = "", profile[4096] = "";
    const char *env = getenv("VIGIL_VMLINUX");
    if (env)
        snprintf(vmlinux, sizeof(vmlinux), "%s", env);
    FILE *p = popen("bash guest-profiles/profile-for-package.sh 2>/dev/null", "r");
    char line[4096];
    while (p && fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = 0;
        if (!env && strncmp(line, "VMLINUX=", 8) == 0)
            snprintf(vmlinux, sizeof(vmlinux), "%s", line + 8);
        if (strncmp(line, "PROFILE=", 8) == 0)
            snprintf(profile, sizeof(profile), "%s", line + 8);
    }
    if (p)
        pclose(p);
    struct elf_image img;
    if (!vmlinux[0] || elf_image_open(&img, vmlinux) != 0) {
        fprintf(stderr, "bench-symbols: no kernel image (%s)\n", vmlinux[0] ? img.err : "none");
        return 1;
    }
    size_t asz = 8u << 20;
    struct vmi_arena a = {malloc(asz), asz, 0};
    static struct vmi_kallsyms ks;
    const int rounds = 20;
    double t0 = now_us();
    for (int i = 0; i < rounds; i++) {
        a.used = 0;
        if (vmi_kallsyms_init(&ks, counting_read, &img, img.text_lo, img.text_hi, &a) != 0) {
            fprintf(stderr, "bench-symbols: %s\n", ks.why);
            return 1;
        }
    }
    double t_init = (now_us() - t0) / rounds;
    printf("kallsyms locate+validate: %.0f us (%u symbols, %ld reads, %zu arena bytes)\n", t_init,
           ks.num_syms, reads / rounds, a.used);
    uint64_t addr;
    t0 = now_us();
    for (int i = 0; i < 1000; i++)
        vmi_kallsyms_lookup(&ks, "init_task", &addr, NULL);
    printf("kallsyms lookup (binary search over seqs_of_names): %.1f us\n", (now_us() - t0) / 1000);
    const char *one = "init_task";
    bool found;
    char type;
    t0 = now_us();
    for (int i = 0; i < 10; i++)
        vmi_kallsyms_lookup_many(&ks, &one, 1, &addr, &type, &found);
    printf("kallsyms lookup (full decoding pass): %.0f us = %.2f us per symbol\n",
           (now_us() - t0) / 10, (now_us() - t0) / 10 / ks.num_syms);

    struct vmi_symsrc src;
    t0 = now_us();
    for (int i = 0; i < rounds; i++) {
        a.used = 0;
        if (vmi_symsrc_auto_init(&src, counting_read, &img, img.text_lo, img.text_hi, &a) != 0) {
            fprintf(stderr, "bench-symbols: %s\n", vmi_symsrc_error(&src));
            return 1;
        }
    }
    printf("auto source init (kallsyms + BTF located and validated): %.0f us, %zu arena bytes\n",
           (now_us() - t0) / rounds, a.used);
    static const char *const q[][2] = {
        {"task_struct", "tgid"}, {"task_struct", "comm"},        {"cred", "euid"},
        {"mm_struct", "pgd"},    {"module", "core_layout.base"}, {"signal_struct", "thread_head"}};
    struct vmi_member m;
    t0 = now_us();
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
        src.member(src.ctx, q[i][0], q[i][1], &m);
    printf("auto BTF member lookups, first time (struct search): %.0f us each\n",
           (now_us() - t0) / (sizeof(q) / sizeof(q[0])));
    t0 = now_us();
    for (int r = 0; r < 100; r++)
        for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
            src.member(src.ctx, q[i][0], q[i][1], &m);
    printf("auto BTF member lookups, cached struct: %.1f us each\n",
           (now_us() - t0) / 100 / (sizeof(q) / sizeof(q[0])));

    size_t len;
    char *doc = profile[0] ? slurp(profile, &len) : NULL;
    if (doc) {
        t0 = now_us();
        for (int i = 0; i < rounds; i++) {
            a.used = 0;
            vmi_symsrc_isf_init(&src, doc, len, &a);
        }
        printf("compact profile (%zu bytes) init: %.0f us, %zu arena bytes\n", len,
               (now_us() - t0) / rounds, a.used);
        t0 = now_us();
        for (int r = 0; r < 1000; r++)
            for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
                src.member(src.ctx, q[i][0], q[i][1], &m);
        printf("profile member lookups: %.2f us each\n",
               (now_us() - t0) / 1000 / (sizeof(q) / sizeof(q[0])));
        free(doc);
    }
    elf_image_close(&img);
    return 0;
}
