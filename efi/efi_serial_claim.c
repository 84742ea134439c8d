#include "efi/efi_serial_claim.h"

#include "base/hw.h"

#include <efilib.h>

/* Reads the 16550 divisor latch (DLAB set in LCR, DLL/DLM at +0/+1), restoring LCR. */
static uint16_t uart_divisor(uint16_t port) {
    uint8_t lcr = hw_inb(port + 3);
    hw_outb(port + 3, lcr | 0x80);
    uint16_t div = hw_inb(port) | ((uint16_t)hw_inb(port + 1) << 8);
    hw_outb(port + 3, lcr);
    return div;
}

/* A firmware SerialIo instance and our UART are the same device exactly when changing the
 * instance's baud rate changes our divisor latch. This needs no assumption about how the
 * firmware numbers its devices in device paths. */
static BOOLEAN drives_port(EFI_SERIAL_IO_PROTOCOL *sio, uint16_t port) {
    SERIAL_IO_MODE *m = sio->Mode;
    if (!m)
        return FALSE;
    UINT64 old_baud = m->BaudRate ? m->BaudRate : 115200;
    uint16_t before = uart_divisor(port);
    /* Pick a probe rate whose divisor differs from the current one. */
    UINT64 probe = (before == 96) ? 2400 : 1200;
    uint16_t want = (uint16_t)(115200 / probe);
    EFI_STATUS st = uefi_call_wrapper(sio->SetAttributes, 7, sio, probe, m->ReceiveFifoDepth,
                                      m->Timeout, (EFI_PARITY_TYPE)m->Parity, (UINT8)m->DataBits,
                                      (EFI_STOP_BITS_TYPE)m->StopBits);
    if (EFI_ERROR(st))
        return FALSE;
    BOOLEAN match = uart_divisor(port) == want;
    uefi_call_wrapper(sio->SetAttributes, 7, sio, old_baud, m->ReceiveFifoDepth, m->Timeout,
                      (EFI_PARITY_TYPE)m->Parity, (UINT8)m->DataBits,
                      (EFI_STOP_BITS_TYPE)m->StopBits);
    return match;
}

EFI_STATUS efi_claim_serial_port(uint16_t port) {
    UINTN n = 0;
    EFI_HANDLE *handles = NULL;
    EFI_STATUS st = uefi_call_wrapper(BS->LocateHandleBuffer, 5, ByProtocol, &SerialIoProtocol,
                                      NULL, &n, &handles);
    if (EFI_ERROR(st))
        return EFI_NOT_FOUND;
    EFI_STATUS result = EFI_NOT_FOUND;
    for (UINTN i = 0; i < n; i++) {
        EFI_SERIAL_IO_PROTOCOL *sio = NULL;
        if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, handles[i], &SerialIoProtocol,
                                        (void **)&sio)) ||
            !sio)
            continue;
        if (!drives_port(sio, port))
            continue;
        /* Stops the terminal (and anything else) bound to this UART; the console splitter drops
         * it from ConOut/ConIn. */
        st = uefi_call_wrapper(BS->DisconnectController, 3, handles[i], NULL, NULL);
        result = EFI_ERROR(st) ? st : EFI_SUCCESS;
        break;
    }
    FreePool(handles);
    return result;
}
