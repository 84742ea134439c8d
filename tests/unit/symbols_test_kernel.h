/* Test helpers: the path of the Debian test kernel's vmlinux, from $VIGIL_VMLINUX or by running
 * qemu-scripts/fetch-kernel.sh (which downloads it once), and of its ISF profile. NULL (with a
 * message on stderr) only when neither works. */
#ifndef VIGIL_SYMBOLS_TEST_KERNEL_H
#define VIGIL_SYMBOLS_TEST_KERNEL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *test_vmlinux_path(void) {
    static char path[4096];
    if (path[0])
        return path;
    const char *env = getenv("VIGIL_VMLINUX");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
        return path;
    }
    FILE *f = popen("bash qemu-scripts/fetch-kernel.sh 2>/dev/null", "r");
    if (f == NULL)
        return NULL;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VMLINUX=", 8) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(path, sizeof(path), "%s", line + 8);
        }
    }
    pclose(f);
    if (!path[0]) {
        fprintf(stderr, "SKIP-REASON: qemu-scripts/fetch-kernel.sh gave no VMLINUX (download "
                        "failed?); set VIGIL_VMLINUX\n");
        return NULL;
    }
    return path;
}

/* The ISF profile of that kernel: $VIGIL_PROFILE, or the one guest-profiles/profile-for-package.sh
 * makes on demand for the test kernel (cached under build/profiles/; it needs
 * build/vigil-mkprofile). NULL (with the script's reason on stderr) when neither works. */
static inline const char *test_profile_path(void) {
    static char path[4096];
    if (path[0])
        return path;
    const char *env = getenv("VIGIL_PROFILE");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
        return path;
    }
    FILE *f = popen("bash guest-profiles/profile-for-package.sh", "r");
    if (f == NULL)
        return NULL;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PROFILE=", 8) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(path, sizeof(path), "%s", line + 8);
        }
    }
    pclose(f);
    return path[0] ? path : NULL;
}

#endif
