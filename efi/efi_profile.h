/* The ISF profile file named by the config: read once, early (efi/efi_seal.c hashes it before the
 * report port is up), then handed to the hypervisor (efi/hv_load.c). */
#ifndef VIGIL_EFI_PROFILE_H
#define VIGIL_EFI_PROFILE_H

#include <efi.h>
#include <stdbool.h>

#define PROFILE_MAX (16u << 20)

struct efi_profile {
    char *data;        /* pool buffer, NULL if nothing was read */
    UINTN len;         /* bytes read */
    EFI_STATUS status; /* of the read (EFI_NOT_FOUND without a boot volume) */
    bool refused;      /* changed since the sealed boot under on_config_change = previous */
};

/* path "" = no profile configured: nothing is read (status EFI_NOT_FOUND, data NULL). */
void efi_profile_read(EFI_HANDLE device, const char *path, struct efi_profile *p);
void efi_profile_free(struct efi_profile *p);

#endif
