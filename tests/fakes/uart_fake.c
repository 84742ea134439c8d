#include "tests/fakes/uart_fake.h"

#include "tests/fakes/hw_fake.h"

#include <string.h>

struct uart_fake uart_fake;

unsigned uart_fake_send(unsigned n);

enum { THR = 0, IIR = 2, LCR = 3, LSR = 5, SCR = 7 };

static uint8_t uart_in(uint16_t port) {
    if ((uint16_t)(port - uart_fake.port) >= 8)
        return 0xFF;
    switch (port - uart_fake.port) {
    case SCR:
        return uart_fake.scratch;
    case IIR:
        return uart_fake.depth >= 16 ? 0xC1 : 0x01; /* no interrupt pending; FIFO bits */
    case LCR:
        return uart_fake.lcr;
    case LSR:
        uart_fake.lsr_reads++;
        if (uart_fake.send_per_poll)
            uart_fake_send(uart_fake.send_per_poll);
        return (uart_fake.queued == 0 && !uart_fake.stuck) ? 0x60 : 0x00; /* THRE | TEMT */
    default:
        return 0;
    }
}

static void uart_out(uint16_t port, uint8_t v) {
    if ((uint16_t)(port - uart_fake.port) >= 8)
        return;
    unsigned off = port - uart_fake.port;
    if (off == SCR) {
        uart_fake.scratch = v;
    } else if (off == LCR) {
        uart_fake.lcr = v;
    } else if (off == THR && !(uart_fake.lcr & 0x80)) {
        uart_fake.thr_writes++;
        if (uart_fake.queued >= uart_fake.depth)
            uart_fake.overruns++;
        else
            uart_fake.fifo[uart_fake.queued++] = (char)v;
    }
}

void uart_fake_attach(uint16_t port, unsigned depth, char *out, size_t cap) {
    memset(&uart_fake, 0, sizeof(uart_fake));
    uart_fake.port = port;
    uart_fake.depth = depth > 16 ? 16 : depth ? depth : 1;
    uart_fake.out = out;
    uart_fake.out_cap = cap;
    fake_inb_handler = uart_in;
    fake_outb_handler = uart_out;
}

unsigned uart_fake_send(unsigned n) {
    if (uart_fake.stuck)
        return 0;
    unsigned k = n < uart_fake.queued ? n : uart_fake.queued;
    for (unsigned i = 0; i < k && uart_fake.out_len < uart_fake.out_cap; i++)
        uart_fake.out[uart_fake.out_len++] = uart_fake.fifo[i];
    memmove(uart_fake.fifo, uart_fake.fifo + k, uart_fake.queued - k);
    uart_fake.queued -= k;
    return k;
}
