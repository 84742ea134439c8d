/* Test helper shared by the MTRR/EPT unit tests: loads a captured MTRR set from tests/data/mtrr/
 * (path relative to the repository root, where `make test-unit` runs; VIGIL_ROOT overrides). */
#ifndef VIGIL_TEST_EPT_CAPTURE_H
#define VIGIL_TEST_EPT_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrr.h"

/* Reads the file into a malloc'd buffer; fails the test when it is missing. */
static inline char *capture_read(const char *name, size_t *len) {
    const char *root = getenv("VIGIL_ROOT");
    char path[512];
    snprintf(path, sizeof(path), "%s%stests/data/mtrr/%s", root ? root : "", root ? "/" : "", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (run from the repository root or set VIGIL_ROOT)\n", path);
        return NULL;
    }
    *len = 0;
    char *buf = malloc(1 << 16);
    *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = 0;
    return buf;
}

/* The value of "key=value" in a capture, or false. */
static inline bool capture_value(const char *text, const char *key, uint64_t *v) {
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            *v = strtoull(p + kl + 1, NULL, 0);
            return true;
        }
    }
    return false;
}

#endif
