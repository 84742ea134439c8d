/* libFuzzer target: the sealed-record parser (efi/config_seal.c). The record is read back from
 * NVRAM, so it is untrusted input like the config file. Beyond not crashing: an accepted record
 * is canonical up to line order: serialising what was parsed and parsing that again gives the
 * same seal, and serialising that gives the same bytes; comparing it with its own config finds
 * no change. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "efi/config_seal.h"

/* Same effective config: every key's canonical value (bytes after a string's NUL may differ). */
static bool same_config(const struct vigil_config *a, const struct vigil_config *b) {
    static char x[CONFIG_VALUE_MAX], y[CONFIG_VALUE_MAX];
    for (unsigned i = 0; i < config_key_count(); i++) {
        if (strcmp(config_format_value(a, i, x, sizeof(x)),
                   config_format_value(b, i, y, sizeof(y))))
            return false;
    }
    return true;
}

static bool same(const struct config_seal *a, const struct config_seal *b) {
    return a->full == b->full && same_config(&a->cfg, &b->cfg) &&
           memcmp(a->config_sha256, b->config_sha256, SHA256_BYTES) == 0 &&
           seal_profile_equal(&a->profile, &b->profile);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct config_seal s, back;
    static char r1[SEAL_RECORD_MAX + 1], r2[SEAL_RECORD_MAX + 1];
    char why[160];
    why[0] = 0;
    if (!seal_parse(&s, (const char *)data, size, why, sizeof(why))) {
        if (why[0] == 0)
            abort(); /* a rejection always says why */
        return 0;
    }
    bool h1, h2;
    size_t n1 = seal_serialise(&s, r1, sizeof(r1), SEAL_RECORD_MAX, &h1);
    if (n1 == 0 || h1 == s.full)
        abort();
    if (!seal_parse(&back, r1, n1, why, sizeof(why)) || !same(&s, &back))
        abort();
    size_t n2 = seal_serialise(&back, r2, sizeof(r2), SEAL_RECORD_MAX, &h2);
    if (n2 != n1 || memcmp(r1, r2, n1) != 0)
        abort();
    if (s.full) {
        struct seal_diff d;
        seal_compare_config(&s, &s.cfg, &d);
        if (d.config_changed || d.n_changed)
            abort();
    }
    return 0;
}
