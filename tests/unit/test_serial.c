/* The polled 16550 driver against a modelled UART: programming, "\n" -> "\r\n", absent and stuck
 * UARTs never hang the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw_fake.h"
#include "serial.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(programs_8n1_and_divisor, setup),
        cmocka_unit_test_setup(newline_becomes_crlf, setup),
        cmocka_unit_test_setup(absent_uart_detected, setup),
        cmocka_unit_test_setup(stuck_uart_bounded, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
