#ifndef VIGIL_EFI_FILE_H
#define VIGIL_EFI_FILE_H

#include <efi.h>

/* Reads a whole file from the volume of `device` into a pool buffer (*data, *len; the caller
 * frees it with FreePool). Files larger than max bytes are not read: EFI_BAD_BUFFER_SIZE with *len
 * set to the real size. */
EFI_STATUS efi_read_file(EFI_HANDLE device, const CHAR16 *path, char **data, UINTN *len, UINTN max);

#endif
