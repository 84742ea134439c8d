/* The seal events (README "Report schema"): config_sealed (nothing to compare: a new seal),
 * config_changed (what differs from the sealed boot and what the loader did), config_seal_error
 * (the variable could not be read or written, or one that the OS could have written was found). */
#ifndef VIGIL_CONFIG_SEAL_REPORT_H
#define VIGIL_CONFIG_SEAL_REPORT_H

#include "base/report.h"
#include "efi/config_seal.h"

/* How this boot's record was stored. */
struct seal_write {
    bool attempted;
    const char *status;  /* "sealed", or the EFI status name of the failed write */
    bool hash_only;      /* the full record did not fit: only the hashes were sealed */
    size_t record_bytes; /* length of the record written */
    size_t limit;        /* largest record the firmware takes (its variable size limit less the
                            name; SEAL_RECORD_MAX when it does not say) */
};

/* previous: "none" (no record) or "invalid" (with why: the parser's reason). */
void seal_report_sealed(struct report *r, const char *previous, const char *why,
                        const struct config_seal *now, const struct seal_write *w);
/* old: the sealed record; file: this boot's config as the file gives it; profile: the profile read
 * through the config in effect. */
void seal_report_changed(struct report *r, const struct seal_plan *p, const struct config_seal *old,
                         const struct vigil_config *file, const struct seal_profile *profile,
                         const struct seal_write *w);
void seal_report_error(struct report *r, const char *stage, const char *efi_status,
                       const char *msg);
/* "new", "same", "changed": the start event's seal field. */
const char *seal_outcome_name(enum seal_outcome o);
const char *seal_action_name(enum seal_action a);

#endif
