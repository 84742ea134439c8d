/* A modelled 16550A for unit tests, plugged into the hardware seam fake (hw_fake.h) as its port
 * handlers: scratch register (presence), IIR FIFO bits, LSR.THRE, and a transmit FIFO that the
 * test empties a few bytes at a time (uart_fake_send), as the line would at its baud rate.
 * THRE reads 1 only while the FIFO is empty (PC16550D datasheet, LSR bit 5); a byte written to
 * THR while the FIFO is full is lost on real hardware and counted here as an overrun. Only one
 * thread may touch the ports at a time (the driver's callers serialize). */
#ifndef VIGIL_UART_FAKE_H
#define VIGIL_UART_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uart_fake {
    uint16_t port;   /* base of the 8 registers */
    unsigned depth;  /* transmit FIFO depth: 16 (IIR says FIFOs on) or 1 (no FIFO) */
    unsigned queued; /* bytes in the transmit FIFO */
    char fifo[16];
    char *out; /* bytes that went out on the line */
    size_t out_cap, out_len;
    uint64_t overruns; /* THR writes while the FIFO was full */
    uint64_t lsr_reads, thr_writes;
    bool stuck;             /* the transmitter never sends: THRE stays 0 */
    unsigned send_per_poll; /* bytes the line sends before each LSR read (time passing while a
                               blocking writer polls); 0: only uart_fake_send sends */
    uint8_t scratch, lcr;
};
extern struct uart_fake uart_fake;

/* Installs the model at port (hw_fake's inb/outb handlers) with an output buffer of cap bytes. */
void uart_fake_attach(uint16_t port, unsigned depth, char *out, size_t cap);
/* The line sends up to n bytes from the FIFO; returns how many it sent. */
unsigned uart_fake_send(unsigned n);

#endif
