/* The hypervisor's report stream: one UART, shared by every CPU under a lock. */
#ifndef VIGIL_HV_REPORT_H
#define VIGIL_HV_REPORT_H

#include "hv_image.h"
#include "report.h"

#include <stdbool.h>
#include <stdint.h>

extern struct report hv_rep;

void hv_report_init(const struct hv_boot_params *p);
/* Takes the report lock; gives up after a bounded wait (a CPU that died holding it must not
 * silence the others) and returns false then — the caller still writes. */
bool hv_report_lock(void);
void hv_report_unlock(void);
/* vigil's clock: milliseconds since hv_report_init by the TSC of the calling CPU, which the guest
 * cannot move (its TSC writes are subtracted, hv/vcpu.h tsc_skew). VMX root only (this_cpu). */
uint64_t hv_uptime_ms(void);
uint64_t hv_tsc_hz(void);

#endif
