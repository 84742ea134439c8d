/* Tamper evidence and an optional lock for vigil's files on the ESP (README "Sealed config").
 *
 * The operating system can write the ESP, so it can edit vigil.cfg or replace the profile. At each
 * boot the loader compares the effective config and the profile's SHA-256 with those it sealed at
 * the previous boot in a UEFI variable the OS cannot reach (efi_seal.c), reports any difference,
 * and applies the *sealed* on_config_change: accept (use and seal the new state) or previous (use
 * the sealed config; a changed profile is not used). */
#ifndef VIGIL_EFI_SEAL_H
#define VIGIL_EFI_SEAL_H

#include <efi.h>

#include "efi/config_seal.h"
#include "efi/config_seal_report.h"
#include "efi/efi_profile.h"

#define EFI_SEAL_MAX_ERRORS 6

struct efi_seal {
    bool unavailable;         /* the variable could not be read: nothing compared, nothing sealed */
    bool have_old;            /* a valid sealed record was read */
    const char *previous;     /* without one: "none" or "invalid" */
    char why[160];            /* why the record was invalid */
    struct vigil_config file; /* the config as the file gives it */
    struct config_seal old, now;
    struct seal_profile profile; /* this boot's profile state */
    struct seal_plan plan;
    struct seal_write write;
    struct {
        const char *stage;
        const char *efi_status;
        char msg[160];
    } errors[EFI_SEAL_MAX_ERRORS];
    unsigned n_errors;
};

/* Before the report port is up: compares, decides, seals. cfg is the file's config on entry and
 * the config in effect on return; the profile it names is read into *profile (refused set when it
 * must not be used). */
void efi_seal_check(EFI_HANDLE device, struct vigil_config *cfg, struct efi_profile *profile,
                    struct efi_seal *s);
/* The start event's seal field: "new", "same", "changed" or "unavailable". */
const char *efi_seal_state(const struct efi_seal *s);
/* Once the port is up: config_seal_error, config_sealed or config_changed events. */
void efi_seal_report(struct report *rep, const struct efi_seal *s);

#endif
