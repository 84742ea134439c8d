#include "hv_report.h"

#include "hw.h"
#include "percpu.h"
#include "serial.h"
#include "spinlock.h"

struct report hv_rep;
static struct serial uart;
static struct spinlock lock;
static uint64_t tsc_start, tsc_hz;

void hv_report_init(const struct hv_boot_params *p) {
    serial_init(&uart, p->serial_port, p->baud);
    report_init(&hv_rep, (enum report_mode)p->report_mode, serial_report_sink, &uart);
    tsc_hz = p->tsc_hz ? p->tsc_hz : 1000000000ull;
    tsc_start = hw_rdtsc();
}

bool hv_report_lock(void) {
    for (unsigned i = 0; i < 50000000; i++) {
        if (!__atomic_exchange_n(&lock.locked, 1, __ATOMIC_ACQUIRE))
            return true;
        hw_pause();
    }
    return false;
}

void hv_report_unlock(void) {
    spin_unlock(&lock);
}

uint64_t hv_uptime_ms(void) {
    /* This CPU's counter less every jump the guest made in it (struct vcpu's tsc_skew). */
    uint64_t tsc = hw_rdtsc() - (uint64_t)this_cpu()->vcpu.tsc_skew;
    return (tsc - tsc_start) / (tsc_hz / 1000);
}

uint64_t hv_tsc_hz(void) {
    return tsc_hz;
}
