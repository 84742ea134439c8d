#include "base/serial.h"

#include "base/hw.h"

/* 16550 register offsets (PC16550D datasheet). */
enum {
    UART_THR = 0, /* transmit holding (DLAB=0) */
    UART_DLL = 0, /* divisor latch low (DLAB=1) */
    UART_IER = 1,
    UART_DLM = 1,
    UART_FCR = 2, /* write */
    UART_IIR = 2, /* read: bits 7:6 = 11 when the FIFOs are enabled */
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_SCR = 7,
};
#define LSR_THRE 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03

/* About 10 ms of polling at 1 µs per port read: far more than one character takes at 9600 baud
 * (~1 ms), so hitting it means the UART is absent or stuck. */
#define THRE_POLLS 10000

bool serial_init(struct serial *s, uint16_t port, uint32_t baud) {
    s->port = port;
    s->dead = false;
    s->cr_sent = false;
    s->fifo = 1;
    s->dropped = 0;
    /* Presence: a 16550 has a scratch register that holds what was written; an unclaimed port
     * reads back 0xFF. */
    hw_outb(port + UART_SCR, 0x5A);
    uint8_t a = hw_inb(port + UART_SCR);
    hw_outb(port + UART_SCR, 0xA5);
    uint8_t b = hw_inb(port + UART_SCR);
    s->present = (a == 0x5A && b == 0xA5);
    if (!s->present) {
        s->dead = true;
        return false;
    }
    uint32_t div = baud ? 115200 / baud : 1;
    if (div == 0)
        div = 1;
    hw_outb(port + UART_IER, 0x00);
    hw_outb(port + UART_LCR, LCR_DLAB);
    hw_outb(port + UART_DLL, (uint8_t)(div & 0xFF));
    hw_outb(port + UART_DLM, (uint8_t)(div >> 8));
    hw_outb(port + UART_LCR, LCR_8N1);
    hw_outb(port + UART_FCR, 0xC7); /* enable and clear FIFOs, 14-byte trigger */
    /* A 16550A reports its FIFOs on; a 16450 (or a 16550 with the broken FIFO) does not. */
    s->fifo = (hw_inb(port + UART_IIR) & 0xC0) == 0xC0 ? 16 : 1;
    hw_outb(port + UART_MCR, 0x03); /* DTR | RTS, OUT2 off: no interrupts reach the PIC */
    return true;
}

static bool put_byte(struct serial *s, uint8_t c) {
    for (unsigned i = 0; i < THRE_POLLS; i++) {
        if (hw_inb(s->port + UART_LSR) & LSR_THRE) {
            hw_outb(s->port + UART_THR, c);
            return true;
        }
        hw_pause();
    }
    s->dead = true;
    return false;
}

void serial_write(struct serial *s, const char *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (s->dead) {
            s->dropped += len - i;
            return;
        }
        bool cr = data[i] == '\n' && !s->cr_sent;
        s->cr_sent = false;
        if (cr && !put_byte(s, '\r'))
            continue;
        put_byte(s, (uint8_t)data[i]);
    }
}

size_t serial_try_write(struct serial *s, const char *data, size_t len) {
    if (s->dead) {
        s->dropped += len;
        return len;
    }
    if (!len || !(hw_inb(s->port + UART_LSR) & LSR_THRE))
        return 0;
    /* THRE: the transmit FIFO is empty, so it takes s->fifo bytes. */
    unsigned room = s->fifo;
    size_t i = 0;
    while (i < len && room) {
        if (data[i] == '\n' && !s->cr_sent) {
            hw_outb(s->port + UART_THR, '\r');
            s->cr_sent = true; /* the '\n' itself may have to wait for the next call */
        } else {
            hw_outb(s->port + UART_THR, (uint8_t)data[i]);
            s->cr_sent = false;
            i++;
        }
        room--;
    }
    return i;
}

void serial_report_sink(void *ctx, const char *data, size_t len) {
    serial_write((struct serial *)ctx, data, len);
}
