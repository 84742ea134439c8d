/* The sealed config: what the loader saw at the previous boot, kept in a boot-services-only UEFI
 * variable (efi/efi_seal.c), and the rules that compare it with this boot's config and profile.
 *
 * The record is ASCII text, one `name=value` line each:
 *   vigil-seal 1                      format and version (first line, exactly)
 *   config_sha256=<64 hex>            SHA-256 of the canonical config (config_seal_hash)
 *   profile_status=<s>                none (no profile configured), read, or why it could not
 *                                     be read (an EFI status name)
 *   profile_sha256=<64 hex>           } only with profile_status=read
 *   profile_bytes=<decimal>           }
 *   <config key>="<canonical value>"  every config key (config_key_name) in a full record;
 *                                     only on_config_change in a hash-only record
 * A hash-only record is written when the full one does not fit in the firmware's variable size
 * limit: changes are then detected but not itemised, and the previous config cannot be restored.
 *
 * The record comes back from NVRAM: seal_parse treats it as untrusted input (bounded, every line
 * checked, config values through config_parse, the hash re-computed). */
#ifndef VIGIL_CONFIG_SEAL_H
#define VIGIL_CONFIG_SEAL_H

#include "base/sha256.h"
#include "efi/config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest record written or accepted. A full record needs at most about 2.6 KiB (the longest
 * next_args and paths); anything larger read back is not vigil's. */
#define SEAL_RECORD_MAX 4096
#define SEAL_STATUS_MAX 32
#define SEAL_MAX_KEYS 16 /* >= config_key_count() */

struct seal_profile {
    char status[SEAL_STATUS_MAX]; /* "none", "read", or an EFI status name */
    uint8_t sha256[SHA256_BYTES]; /* status "read" only */
    uint64_t bytes;               /* status "read" only */
};

struct config_seal {
    bool full;               /* cfg holds every sealed value; else only cfg.on_change */
    struct vigil_config cfg; /* the sealed config (defaults where a hash-only record has none) */
    uint8_t config_sha256[SHA256_BYTES];
    struct seal_profile profile;
};

/* SHA-256 over "key=value\n" for every key in config_key_count() order, values canonical. */
void config_seal_hash(const struct vigil_config *cfg, uint8_t out[SHA256_BYTES]);
/* A full seal of cfg and profile. */
void seal_make(struct config_seal *s, const struct vigil_config *cfg,
               const struct seal_profile *profile);
/* Writes the record of s into buf (NUL-terminated): the full record if it is no longer than
 * limit bytes (and s->full), else the hash-only one. Returns its length without the NUL, 0 if not
 * even the hash-only record fits; *hash_only says which was written. */
size_t seal_serialise(const struct config_seal *s, char *buf, size_t size, size_t limit,
                      bool *hash_only);
/* Parses a record read back from NVRAM. On failure returns false with the reason in why. */
bool seal_parse(struct config_seal *s, const char *text, size_t len, char *why, size_t why_size);

/* What differs between the sealed state and this boot's. */
struct seal_diff {
    bool config_changed;
    bool keys_known; /* the sealed record was full: changed[] lists the keys */
    unsigned n_changed;
    unsigned changed[SEAL_MAX_KEYS]; /* key indices (config_key_name) */
    bool profile_changed;
};

void seal_compare_config(const struct config_seal *old, const struct vigil_config *cfg,
                         struct seal_diff *d);
bool seal_profile_equal(const struct seal_profile *a, const struct seal_profile *b);

/* The decision, in two steps: the config in effect first (it names the profile), then the
 * profile read through it. The policy is the *sealed* on_config_change: the file that changed
 * cannot unlock itself. */
enum seal_outcome { SEAL_NEW = 0, SEAL_SAME, SEAL_CHANGED };
enum seal_action {
    SEAL_ACCEPTED = 0,     /* policy accept: the new config and profile are used and sealed */
    SEAL_PREVIOUS,         /* policy previous: the sealed config is used, a changed profile is
                              not; the seal stays as it was */
    SEAL_PREVIOUS_UNKNOWN, /* policy previous, but only a hash was sealed: the new config is used
                              (it cannot be restored), the seal stays */
};
struct seal_plan {
    enum seal_outcome outcome;
    enum config_on_change policy; /* the sealed one (SEAL_NEW: accept) */
    enum seal_action action;
    bool use_sealed_config; /* cfg in effect = old->cfg */
    bool use_profile;       /* load the profile (else auto mode) */
    bool write;             /* seal this boot's config and profile */
    struct seal_diff diff;
};

/* Step 1. old is NULL when there is no valid sealed record. */
void seal_plan_config(struct seal_plan *p, const struct config_seal *old,
                      const struct vigil_config *cfg);
/* Step 2, with the profile read through the config in effect. */
void seal_plan_profile(struct seal_plan *p, const struct config_seal *old,
                       const struct seal_profile *now);

#endif
