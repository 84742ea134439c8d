/* The hypervisor's report stream: every CPU writes report lines; one UART carries them.
 *
 * Writing needs a writer, and a writer is only had from hv_report_begin: it returns one of its
 * own to the caller, or NULL (all in use, or the output lock could not be had) and the loss is
 * counted and told in the stream as a report_lost line (base/report_ring.h). There is no other way
 * to reach the stream. Each writer formats into its own line buffer (HV_REPORT_LINE_MAX; longer
 * lines are cut as report_init_lines says), without any lock; each finished line is copied whole
 * into the output ring under a short lock (memcpy speed; a line that does not fit is dropped and
 * counted). No lock is ever held while the UART is written to.
 *
 * The UART is fed from the ring:
 *  - before hv_report_go_async (bring-up, firmware still running), synchronously: the writer's
 *    line goes out before hv_report_end returns, as before any guest ran;
 *  - afterwards, never waiting: hv_report_pump (end of every VM exit, any CPU) hands the UART
 *    what its transmit FIFO takes right now, under a drain try-lock; while bytes wait, the
 *    VM exit path arms a VMX-preemption-timer tick every hv_report_drain_period_tsc() so the UART
 *    stays busy (hv/core/vmexit_dispatch.c);
 *  - hv_report_flush waits for the UART: for a CPU about to park or reset the machine, whose last
 *    lines would otherwise stay in the ring.
 *
 * Order: lines enter the ring in the order their writers finish them. hv_report_begin_ordered
 * holds the output lock from begin to end, so what it stamps (the live events' "seq", from
 * hv_live.c) is in the stream's order; it is only for short lines built from data already read. */
#ifndef VIGIL_HV_REPORT_H
#define VIGIL_HV_REPORT_H

#include "base/report.h"
#include "hv/core/alloc.h"
#include "hv/core/hv_image.h"

#include <stdbool.h>
#include <stdint.h>

/* Output ring: a burst of 1,000 live events of ~120 bytes in one second of guest time is ~120 KB,
 * of which a 115200-baud UART carries ~11.5 KB in that second. */
#define HV_REPORT_RING_SIZE (128u * 1024)
/* Longest line a writer keeps whole (a rescan with ~800 changes, a process with ~3,000 threads). */
#define HV_REPORT_LINE_MAX (32u * 1024)
/* Longest line of the loader's own report forwarded through hv_report_raw. */
#define HV_REPORT_RAW_LINE_MAX 4096u

/* Sets up the UART, the ring and the writers (from the hypervisor's heap). False: no memory. */
bool hv_report_init(const struct hv_boot_params *p, struct hv_heap *heap);

__attribute__((warn_unused_result)) struct report *hv_report_begin(void);
__attribute__((warn_unused_result)) struct report *hv_report_begin_ordered(void);
/* Completes a partial last line, gives the writer back (and in bring-up, writes the UART). */
void hv_report_end(struct report *w);
/* The same as a struct report_out, for modules that take one. */
extern const struct report_out hv_report_out;

/* The loader's report bytes (already formatted, lines possibly split over calls). */
void hv_report_raw(const char *data, size_t len);

/* From now on the UART is only fed by hv_report_pump and hv_report_flush. */
void hv_report_go_async(void);
void hv_report_pump(void);
/* Bytes (or a loss not yet told) are waiting for the UART. */
bool hv_report_backlog(void);
/* TSC ticks in which the UART sends one transmit FIFO's worth. */
uint64_t hv_report_drain_period_tsc(void);
void hv_report_flush(void);

/* vigil's clock: milliseconds since hv_report_init by the TSC of the calling CPU, which the guest
 * cannot move (its TSC writes are subtracted, hv/arch/vmx/vcpu.h tsc_skew). VMX root only
 * (this_cpu). */
uint64_t hv_uptime_ms(void);
/* The same clock in TSC ticks (the calling CPU's counter less its tsc_skew). VMX root only. */
uint64_t hv_clock_tsc(void);
/* The same clock for a TSC value already read and corrected by its CPU's tsc_skew. */
uint64_t hv_clock_ms(uint64_t tsc);
uint64_t hv_tsc_hz(void);

#endif
