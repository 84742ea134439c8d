#ifndef VIGIL_EFI_CHAINLOAD_H
#define VIGIL_EFI_CHAINLOAD_H

#include <efi.h>

/* Loads `path` (ASCII, backslashes) from the volume `device` and starts it with `args` as its
 * load options. Returns the LoadImage error, or the image's exit status if it returns. *stage
 * says which step failed ("load" or "start"). `before_start` runs after a successful load,
 * just before StartImage (the last chance to report: an OS does not come back). */
EFI_STATUS efi_chainload(EFI_HANDLE parent, EFI_HANDLE device, const char *path, const char *args,
                         const char **stage, void (*before_start)(void *ctx), void *ctx);

#endif
