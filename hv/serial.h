/* Polled 16550 UART driver for the report port. No firmware services and no interrupts, so the
 * same code runs before and after ExitBootServices and in VMX root. Never blocks forever: a UART
 * that does not drain is declared dead and further output is dropped (and counted). */
#ifndef VIGIL_SERIAL_H
#define VIGIL_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serial {
    uint16_t port;
    bool present; /* the scratch register answered at init */
    bool dead;    /* stopped draining: output dropped */
    uint64_t dropped;
};

/* Programs 8N1 at baud (115200 / divisor) with FIFOs on and interrupts off. Returns s->present. */
bool serial_init(struct serial *s, uint16_t port, uint32_t baud);
/* Writes bytes, turning "\n" into "\r\n". */
void serial_write(struct serial *s, const char *data, size_t len);
/* Adapter for report_init: ctx is a struct serial *. */
void serial_report_sink(void *ctx, const char *data, size_t len);

#endif
