#include "efi/efi_file.h"

#include <efilib.h>

EFI_STATUS efi_read_file(EFI_HANDLE device, const CHAR16 *path, char **data, UINTN *len,
                         UINTN max) {
    *data = NULL;
    *len = 0;
    EFI_FILE_HANDLE root = LibOpenRoot(device);
    if (!root)
        return EFI_UNSUPPORTED;
    EFI_FILE_HANDLE f;
    EFI_STATUS st =
        uefi_call_wrapper(root->Open, 5, root, &f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
    if (EFI_ERROR(st)) {
        uefi_call_wrapper(root->Close, 1, root);
        return st;
    }
    EFI_FILE_INFO *info = LibFileInfo(f);
    if (!info) {
        st = EFI_DEVICE_ERROR;
        goto out;
    }
    UINT64 size = info->FileSize;
    BOOLEAN dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
    FreePool(info);
    if (dir) {
        st = EFI_NOT_FOUND;
        goto out;
    }
    if (size > max) {
        *len = size;
        st = EFI_BAD_BUFFER_SIZE;
        goto out;
    }
    char *buf = AllocatePool(size + 1);
    if (!buf) {
        st = EFI_OUT_OF_RESOURCES;
        goto out;
    }
    UINTN n = size;
    st = uefi_call_wrapper(f->Read, 3, f, &n, buf);
    if (EFI_ERROR(st)) {
        FreePool(buf);
        goto out;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
out:
    uefi_call_wrapper(f->Close, 1, f);
    uefi_call_wrapper(root->Close, 1, root);
    return st;
}
