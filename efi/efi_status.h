#ifndef VIGIL_EFI_STATUS_H
#define VIGIL_EFI_STATUS_H

#include <efi.h>

/* "EFI_NOT_FOUND" etc.; "EFI_ERROR_<n>" for codes without a name. */
const char *efi_status_name(EFI_STATUS s);

#endif
