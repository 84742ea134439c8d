#include "efi/efi_profile.h"

#include "base/lib.h"
#include "efi/config.h"
#include "efi/efi_file.h"

#include <efilib.h>

void efi_profile_read(EFI_HANDLE device, const char *path, struct efi_profile *p) {
    static CHAR16 path16[CONFIG_PATH_MAX];
    lib_memset(p, 0, sizeof(*p));
    p->status = EFI_NOT_FOUND;
    if (!path[0] || !device)
        return;
    UINTN i = 0;
    for (; path[i] && i + 1 < CONFIG_PATH_MAX; i++)
        path16[i] = (CHAR16)(unsigned char)path[i];
    path16[i] = 0;
    p->status = efi_read_file(device, path16, &p->data, &p->len, PROFILE_MAX);
    if (EFI_ERROR(p->status)) {
        if (p->data)
            FreePool(p->data);
        p->data = NULL;
        p->len = 0;
    }
}

void efi_profile_free(struct efi_profile *p) {
    if (p->data)
        FreePool(p->data);
    p->data = NULL;
    p->len = 0;
}
