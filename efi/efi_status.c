#include "efi/efi_status.h"

#include "base/fmt.h"

const char *efi_status_name(EFI_STATUS s) {
    static const struct {
        EFI_STATUS code;
        const char *name;
    } names[] = {
        {EFI_SUCCESS, "EFI_SUCCESS"},
        {EFI_LOAD_ERROR, "EFI_LOAD_ERROR"},
        {EFI_INVALID_PARAMETER, "EFI_INVALID_PARAMETER"},
        {EFI_UNSUPPORTED, "EFI_UNSUPPORTED"},
        {EFI_BAD_BUFFER_SIZE, "EFI_BAD_BUFFER_SIZE"},
        {EFI_BUFFER_TOO_SMALL, "EFI_BUFFER_TOO_SMALL"},
        {EFI_NOT_READY, "EFI_NOT_READY"},
        {EFI_DEVICE_ERROR, "EFI_DEVICE_ERROR"},
        {EFI_WRITE_PROTECTED, "EFI_WRITE_PROTECTED"},
        {EFI_OUT_OF_RESOURCES, "EFI_OUT_OF_RESOURCES"},
        {EFI_VOLUME_CORRUPTED, "EFI_VOLUME_CORRUPTED"},
        {EFI_NO_MEDIA, "EFI_NO_MEDIA"},
        {EFI_NOT_FOUND, "EFI_NOT_FOUND"},
        {EFI_ACCESS_DENIED, "EFI_ACCESS_DENIED"},
        {EFI_ABORTED, "EFI_ABORTED"},
        {EFI_SECURITY_VIOLATION, "EFI_SECURITY_VIOLATION"},
        {EFI_END_OF_FILE, "EFI_END_OF_FILE"},
        {EFI_INCOMPATIBLE_VERSION, "EFI_INCOMPATIBLE_VERSION"},
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].code == s)
            return names[i].name;
    }
    static char other[32];
    fmt_snprintf(other, sizeof(other), "EFI_ERROR_%llu", (unsigned long long)(s & ~EFI_ERROR_MASK));
    return other;
}
