/* EFI_MP_SERVICES_PROTOCOL (UEFI PI specification vol. 2, 13.4); gnu-efi does not define it. */
#ifndef VIGIL_EFI_MP_H
#define VIGIL_EFI_MP_H

#include <efi.h>

#define EFI_MP_SERVICES_PROTOCOL_GUID                                                              \
    {                                                                                              \
        0x3fdda605, 0xa76e, 0x4f46, {                                                              \
            0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08                                         \
        }                                                                                          \
    }

typedef VOID(EFIAPI *EFI_AP_PROCEDURE)(VOID *arg);
struct efi_mp_services;
typedef struct efi_mp_services {
    EFI_STATUS(EFIAPI *GetNumberOfProcessors)
    (struct efi_mp_services *self, UINTN *total, UINTN *enabled);
    EFI_STATUS(EFIAPI *GetProcessorInfo)(struct efi_mp_services *self, UINTN n, VOID *info);
    EFI_STATUS(EFIAPI *StartupAllAPs)
    (struct efi_mp_services *self, EFI_AP_PROCEDURE proc, BOOLEAN single_thread,
     EFI_EVENT wait_event, UINTN timeout_us, VOID *arg, UINTN **failed_cpus);
    EFI_STATUS(EFIAPI *StartupThisAP)
    (struct efi_mp_services *self, EFI_AP_PROCEDURE proc, UINTN cpu, EFI_EVENT wait_event,
     UINTN timeout_us, VOID *arg, BOOLEAN *finished);
    EFI_STATUS(EFIAPI *SwitchBSP)(struct efi_mp_services *self, UINTN cpu, BOOLEAN enable_old);
    EFI_STATUS(EFIAPI *EnableDisableAP)
    (struct efi_mp_services *self, UINTN cpu, BOOLEAN enable, UINT32 *health);
    EFI_STATUS(EFIAPI *WhoAmI)(struct efi_mp_services *self, UINTN *cpu);
} EFI_MP_SERVICES_PROTOCOL;

#endif
