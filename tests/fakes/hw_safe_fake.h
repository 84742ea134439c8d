/* Fake side of base/hw_safe.h for unit tests: MSR accesses go to the hw_fake MSR table unless the
 * test declared the index faulting (then the accessor returns false, as the real one does after
 * its exception fixup); XSETBV records the value or fails on demand. */
#ifndef VIGIL_HW_SAFE_FAKE_H
#define VIGIL_HW_SAFE_FAKE_H

#include "base/hw_safe.h"

#include <stdbool.h>
#include <stdint.h>

void fake_safe_reset(void);
/* Makes reads and/or writes of msr fault (#GP on the hardware). */
void fake_safe_set_faulting(uint32_t msr, bool read_faults, bool write_faults);
extern uint64_t fake_xcr0;            /* last XCR0 written by hw_xsetbv_safe */
extern unsigned fake_xsetbv_calls;    /* number of successful XSETBVs */
extern bool fake_xsetbv_faults;       /* makes hw_xsetbv_safe fail */
extern unsigned fake_safe_msr_reads;  /* hw_rdmsr_safe calls */
extern unsigned fake_safe_msr_writes; /* hw_wrmsr_safe calls that succeeded */

#endif
