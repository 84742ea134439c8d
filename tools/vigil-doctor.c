/* vigil-doctor: on the machine where vigil would run, says what will happen, from the hardware
 * and firmware as Linux shows them: VT-x and its capabilities (decoded by efi/vmx_caps.c, the
 * loader's own code), an already running hypervisor, nested VT-x for the QEMU/KVM scripts, UEFI
 * and Secure Boot, the 16550 UARTs, the IOMMU. One line per item, then the verdict.
 *
 *   vigil-doctor [--sysroot DIR]
 *
 * --sysroot reads /proc, /sys and /dev/cpu/N/msr under DIR instead of / (recorded trees in
 * tests). Exit status: 0 ready, 1 not ready, 2 could not tell (or bad usage). */
#include "tools/doctor_cpu.h"
#include "tools/doctor_item.h"
#include "tools/doctor_platform.h"
#include "tools/doctor_root.h"

#include <stdio.h>
#include <string.h>

enum { EXIT_READY = 0, EXIT_NOT_READY = 1, EXIT_UNKNOWN = 2 };

static const char *state_name(enum doctor_state s) {
    switch (s) {
    case DOC_OK:
        return "ok";
    case DOC_FAIL:
        return "FAIL";
    case DOC_UNKNOWN:
        return "unknown";
    default:
        return "info";
    }
}

static int usage(FILE *f) {
    fprintf(f, "usage: vigil-doctor [--sysroot DIR]\n"
               "Says whether vigil can run on this machine. Exit status: 0 ready, 1 not ready,\n"
               "2 could not tell. --sysroot DIR reads /proc, /sys and /dev/cpu under DIR.\n");
    return f == stdout ? 0 : EXIT_UNKNOWN;
}

/* The verdict line lists the reasons of every item in state st. */
static void reasons(const struct doctor_item *items, size_t n, enum doctor_state st) {
    const char *sep = "";
    for (size_t i = 0; i < n; i++) {
        if (items[i].state != st)
            continue;
        printf("%s%s", sep, items[i].verdict[0] ? items[i].verdict : items[i].name);
        sep = "; ";
    }
}

int main(int argc, char **argv) {
    const char *root_dir = "/";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sysroot") && i + 1 < argc)
            root_dir = argv[++i];
        else if (!strncmp(argv[i], "--sysroot=", 10))
            root_dir = argv[i] + 10;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage(stdout);
        else
            return usage(stderr);
    }
    struct doctor_root root;
    if (droot_init(&root, root_dir) != 0) {
        fprintf(stderr, "vigil-doctor: --sysroot path too long\n");
        return EXIT_UNKNOWN;
    }

    static struct doctor_cpuinfo ci;
    doctor_cpuinfo_read(&root, &ci);
    struct doctor_item items[] = {
        {.name = "cpu"},  {.name = "vt-x"},        {.name = "hypervisor"}, {.name = "nested"},
        {.name = "uefi"}, {.name = "secure-boot"}, {.name = "uart"},       {.name = "iommu"},
    };
    doctor_check_cpu(&ci, &items[0]);
    doctor_check_vtx(&root, &ci, &items[1]);
    doctor_check_hypervisor(&root, &ci, &items[2]);
    doctor_check_nested(&root, &ci, &items[3]);
    doctor_check_uefi(&root, &items[4], &items[5]);
    doctor_check_uart(&root, &items[6]);
    doctor_check_iommu(&root, &items[7]);

    size_t n = sizeof(items) / sizeof(items[0]);
    unsigned fails = 0, unknowns = 0;
    for (size_t i = 0; i < n; i++) {
        printf("%-12s %-8s %s\n", items[i].name, state_name(items[i].state), items[i].text);
        fails += items[i].state == DOC_FAIL;
        unknowns += items[i].state == DOC_UNKNOWN;
    }
    if (fails) {
        printf("verdict: not ready: ");
        reasons(items, n, DOC_FAIL);
        if (unknowns) {
            printf("; could not tell: ");
            reasons(items, n, DOC_UNKNOWN);
        }
        printf("\n");
        return EXIT_NOT_READY;
    }
    if (unknowns) {
        printf("verdict: could not tell: ");
        reasons(items, n, DOC_UNKNOWN);
        printf("\n");
        return EXIT_UNKNOWN;
    }
    printf("verdict: ready\n");
    return EXIT_READY;
}
