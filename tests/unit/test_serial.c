/* The polled 16550 driver against a modelled UART: programming, "\n" -> "\r\n", absent and stuck
 * UARTs never hang the caller; serial_try_write gives the UART what its transmit FIFO takes and
 * never waits (tests/fakes/uart_fake.h: a FIFO the test empties a few bytes at a time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/serial.h"
#include "tests/fakes/hw_fake.h"
#include "tests/fakes/uart_fake.h"

static uint8_t regs[8], scratch, dll, dlm, lcr;
static bool uart_present, thre_stuck;
static char tx[256];
static size_t ntx;
static unsigned lsr_reads;

static uint8_t uart_in(uint16_t port) {
    if (!uart_present || port < 0x2F8 || port > 0x2FF)
        return 0xFF;
    switch (port - 0x2F8) {
    case 7:
        return scratch;
    case 5:
        lsr_reads++;
        return thre_stuck ? 0x00 : 0x60;
    case 3:
        return lcr;
    default:
        return regs[port - 0x2F8];
    }
}

static void uart_out(uint16_t port, uint8_t v) {
    if (!uart_present || port < 0x2F8 || port > 0x2FF)
        return;
    unsigned off = port - 0x2F8;
    if (off == 7)
        scratch = v;
    else if (off == 3)
        lcr = v;
    else if (off == 0 && (lcr & 0x80))
        dll = v;
    else if (off == 1 && (lcr & 0x80))
        dlm = v;
    else if (off == 0 && ntx < sizeof(tx))
        tx[ntx++] = (char)v;
    else
        regs[off] = v;
}

static int setup(void **state) {
    (void)state;
    fake_reset();
    fake_inb_handler = uart_in;
    fake_outb_handler = uart_out;
    memset(regs, 0, sizeof(regs));
    scratch = dll = dlm = lcr = 0;
    uart_present = true;
    thre_stuck = false;
    ntx = 0;
    lsr_reads = 0;
    return 0;
}

static void programs_8n1_and_divisor(void **state) {
    (void)state;
    struct serial s;
    assert_true(serial_init(&s, 0x2F8, 9600));
    assert_int_equal(dll, 12);
    assert_int_equal(dlm, 0);
    assert_int_equal(lcr, 0x03);         /* DLAB off again, 8 data bits, no parity, 1 stop */
    assert_int_equal(regs[1], 0);        /* no interrupts */
    assert_int_equal(regs[4] & 0x08, 0); /* OUT2 off */
}

static void newline_becomes_crlf(void **state) {
    (void)state;
    struct serial s;
    serial_init(&s, 0x2F8, 115200);
    serial_write(&s, "a\nb", 3);
    assert_int_equal(ntx, 4);
    assert_memory_equal(tx, "a\r\nb", 4);
}

static void absent_uart_detected(void **state) {
    (void)state;
    uart_present = false;
    struct serial s;
    assert_false(serial_init(&s, 0x2F8, 115200));
    serial_write(&s, "hello", 5);
    assert_int_equal(s.dropped, 5);
    assert_int_equal(fake_out_count, 2); /* only the two scratch probes */
}

static void stuck_uart_bounded(void **state) {
    (void)state;
    struct serial s;
    assert_true(serial_init(&s, 0x2F8, 115200));
    thre_stuck = true;
    serial_write(&s, "0123456789", 10);
    assert_true(s.dead);
    assert_int_equal(ntx, 0);
    /* One bounded wait, then everything else is dropped without polling. */
    assert_true(lsr_reads <= 10000);
    assert_int_equal(s.dropped, 9);
}

static char line_out[256];

/* Calls serial_try_write until data is taken, letting the line send `per_step` bytes between
 * calls; returns the calls that found the FIFO busy. */
static unsigned feed(struct serial *s, const char *data, size_t len, unsigned per_step) {
    unsigned busy = 0;
    while (len) {
        size_t k = serial_try_write(s, data, len);
        assert_true(k <= len);
        if (k == 0)
            busy++;
        data += k;
        len -= k;
        uart_fake_send(per_step);
    }
    while (uart_fake.queued)
        uart_fake_send(per_step);
    return busy;
}

static void try_write_fills_the_fifo_and_never_waits(void **state) {
    (void)state;
    uart_fake_attach(0x3F8, 16, line_out, sizeof(line_out));
    struct serial s;
    assert_true(serial_init(&s, 0x3F8, 115200));
    assert_int_equal(s.fifo, 16);
    const char *msg = "0123456789abcdefghij\nsecond line\n";
    /* FIFO not empty: nothing taken, and no wait (one LSR read). */
    uart_fake.queued = 1;
    uint64_t reads = uart_fake.lsr_reads;
    assert_int_equal(serial_try_write(&s, msg, strlen(msg)), 0);
    assert_int_equal(uart_fake.lsr_reads, reads + 1);
    uart_fake.queued = 0;
    /* FIFO empty: exactly 16 bytes go in at once. */
    assert_int_equal(serial_try_write(&s, msg, strlen(msg)), 16);
    assert_int_equal(uart_fake.queued, 16);
    uart_fake_send(16);
    /* The rest, with the line sending 3 bytes between calls. */
    unsigned busy = feed(&s, msg + 16, strlen(msg) - 16, 3);
    assert_true(busy > 0);
    assert_int_equal(uart_fake.overruns, 0);
    line_out[uart_fake.out_len] = 0;
    assert_string_equal(line_out, "0123456789abcdefghij\r\nsecond line\r\n");
}

static void try_write_without_fifo_keeps_crlf(void **state) {
    (void)state;
    uart_fake_attach(0x3F8, 1, line_out, sizeof(line_out));
    struct serial s;
    assert_true(serial_init(&s, 0x3F8, 115200));
    assert_int_equal(s.fifo, 1); /* IIR says no FIFO: one byte per THRE */
    feed(&s, "a\n\nb\n", 5, 1);
    assert_int_equal(uart_fake.overruns, 0);
    line_out[uart_fake.out_len] = 0;
    assert_string_equal(line_out, "a\r\n\r\nb\r\n");
    /* A blocking write after a '\r' already went out does not send it twice. */
    uart_fake.out_len = 0;
    assert_int_equal(serial_try_write(&s, "\nz", 2), 0); /* '\r' only: the '\n' waits */
    uart_fake_send(1);
    uart_fake.send_per_poll = 1;
    serial_write(&s, "\nz", 2);
    while (uart_fake.queued)
        uart_fake_send(1);
    line_out[uart_fake.out_len] = 0;
    assert_string_equal(line_out, "\r\nz");
}

static void try_write_to_absent_uart_drops(void **state) {
    (void)state;
    uart_fake_attach(0x3F8, 16, line_out, sizeof(line_out));
    struct serial s;
    assert_false(serial_init(&s, 0x2E8, 115200)); /* no UART at 0x2E8 */
    assert_int_equal(serial_try_write(&s, "hello", 5), 5);
    assert_int_equal(s.dropped, 5);
    assert_int_equal(uart_fake.thr_writes, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(programs_8n1_and_divisor, setup),
        cmocka_unit_test_setup(newline_becomes_crlf, setup),
        cmocka_unit_test_setup(absent_uart_detected, setup),
        cmocka_unit_test_setup(stuck_uart_bounded, setup),
        cmocka_unit_test_setup(try_write_fills_the_fifo_and_never_waits, setup),
        cmocka_unit_test_setup(try_write_without_fifo_keeps_crlf, setup),
        cmocka_unit_test_setup(try_write_to_absent_uart_drops, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
