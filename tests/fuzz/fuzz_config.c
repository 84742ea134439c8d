/* libFuzzer target: the config parser (efi/config.c) over any bytes, as the file on the ESP can be
 * anything the OS wrote. Beyond not crashing: every message is bounded and non-empty, every
 * string in the result is terminated within its field, and the canonical form round-trips: the
 * sealed record of the result parses back (efi/config_seal.c) to the same config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "efi/config.h"
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

static void on_error(void *ctx, unsigned line, const char *msg) {
    size_t lines = *(size_t *)ctx;
    size_t n = strnlen(msg, 200);
    if (n == 0 || n >= 200 || line > lines + 1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct vigil_config cfg;
    static struct config_seal s, back;
    static char rec[SEAL_RECORD_MAX + 1];
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    config_defaults(&cfg);
    config_parse(&cfg, (const char *)data, size, on_error, &lines);
    if (strnlen(cfg.next, sizeof(cfg.next)) == sizeof(cfg.next) ||
        strnlen(cfg.next_args, sizeof(cfg.next_args)) == sizeof(cfg.next_args) ||
        strnlen(cfg.profile, sizeof(cfg.profile)) == sizeof(cfg.profile))
        abort();
    struct seal_profile p;
    memset(&p, 0, sizeof(p));
    strcpy(p.status, "none");
    seal_make(&s, &cfg, &p);
    bool hash_only;
    size_t n = seal_serialise(&s, rec, sizeof(rec), SEAL_RECORD_MAX, &hash_only);
    char why[160];
    if (n == 0 || hash_only || !seal_parse(&back, rec, n, why, sizeof(why)) || !back.full)
        abort();
    if (!same_config(&back.cfg, &cfg))
        abort();
    return 0;
}
