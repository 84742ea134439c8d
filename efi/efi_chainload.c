#include "efi/efi_chainload.h"

#include "efi/config.h"

#include <efilib.h>

static CHAR16 path16[CONFIG_PATH_MAX];
/* Load options must outlive StartImage: the OS loader reads them while it runs. */
static CHAR16 args16[CONFIG_ARGS_MAX];

static UINTN ascii_to_ucs2(CHAR16 *dst, UINTN size, const char *src) {
    UINTN i = 0;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = (CHAR16)(unsigned char)src[i];
    dst[i] = 0;
    return i;
}

EFI_STATUS efi_chainload(EFI_HANDLE parent, EFI_HANDLE device, const char *path, const char *args,
                         const char **stage, void (*before_start)(void *ctx), void *ctx) {
    ascii_to_ucs2(path16, CONFIG_PATH_MAX, path);
    UINTN nargs = ascii_to_ucs2(args16, CONFIG_ARGS_MAX, args);
    *stage = "load";
    EFI_DEVICE_PATH *dp = FileDevicePath(device, path16);
    if (!dp)
        return EFI_OUT_OF_RESOURCES;
    EFI_HANDLE child = NULL;
    EFI_STATUS st = uefi_call_wrapper(BS->LoadImage, 6, FALSE, parent, dp, NULL, 0, &child);
    FreePool(dp);
    if (EFI_ERROR(st))
        return st;
    EFI_LOADED_IMAGE *li = NULL;
    st = uefi_call_wrapper(BS->HandleProtocol, 3, child, &LoadedImageProtocol, (void **)&li);
    if (EFI_ERROR(st)) {
        uefi_call_wrapper(BS->UnloadImage, 1, child);
        return st;
    }
    if (nargs) {
        li->LoadOptions = args16;
        li->LoadOptionsSize = (UINT32)((nargs + 1) * sizeof(CHAR16));
    }
    *stage = "start";
    if (before_start)
        before_start(ctx);
    return uefi_call_wrapper(BS->StartImage, 3, child, NULL, NULL);
}
