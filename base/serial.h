/* Polled 16550 UART driver for the report port. No firmware services and no interrupts, so the
 * same code runs before and after ExitBootServices and in VMX root. Two ways to write:
 *  - serial_write waits for the UART byte by byte (bring-up, before any guest runs). Never
 *    blocks forever: a UART that does not drain is declared dead and further output is dropped
 *    (and counted).
 *  - serial_try_write never waits: it gives the UART what its transmit FIFO takes right now (all
 *    of it when LSR.THRE says the FIFO is empty: 16 bytes on a 16550A, 1 without FIFO; PC16550D
 *    datasheet, LSR bit 5) and returns how much of the data it took. */
#ifndef VIGIL_SERIAL_H
#define VIGIL_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serial {
    uint16_t port;
    bool present; /* the scratch register answered at init */
    bool dead;    /* stopped draining: output dropped */
    bool cr_sent; /* the '\r' of the next '\n' is already out (serial_try_write) */
    uint8_t fifo; /* transmit FIFO depth: 16 when the FIFO came on at init, else 1 */
    uint64_t dropped;
};

/* Programs 8N1 at baud (115200 / divisor) with FIFOs on and interrupts off. Returns s->present. */
bool serial_init(struct serial *s, uint16_t port, uint32_t baud);
/* Writes bytes, turning "\n" into "\r\n". */
void serial_write(struct serial *s, const char *data, size_t len);
/* Non-blocking: writes at most what the transmit FIFO accepts now ("\n" as "\r\n") and returns
 * how many bytes of data it consumed (0: the FIFO is not empty yet; len: the UART is dead or
 * absent, the bytes are dropped and counted). The caller passes the rest again later. */
size_t serial_try_write(struct serial *s, const char *data, size_t len);
/* Adapter for report_init: ctx is a struct serial *. */
void serial_report_sink(void *ctx, const char *data, size_t len);

#endif
