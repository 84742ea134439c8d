#ifndef VIGIL_EFI_SERIAL_CLAIM_H
#define VIGIL_EFI_SERIAL_CLAIM_H

#include <efi.h>
#include <stdint.h>

/* OVMF (and other firmware) attach a console terminal to every UART it finds, so without this the
 * firmware's and the OS loader's console text would be written into vigil's report stream.
 * Finds the firmware SerialIo handle that drives the UART at `port` and disconnects its drivers,
 * taking that port out of the firmware console. Returns EFI_SUCCESS when one was detached,
 * EFI_NOT_FOUND when no firmware console uses the port. */
EFI_STATUS efi_claim_serial_port(uint16_t port);

#endif
