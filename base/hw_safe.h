/* Fault-tolerant hardware accessors, part of the hardware seam (base/hw.h).
 *
 * A guest may RDMSR/WRMSR any index and XSETBV any value; the exit handlers forward the
 * accesses they do not emulate to the hardware, which answers some of them with #GP. These
 * functions execute the instruction under an exception fixup in the host IDT: when it faults,
 * they return false (and leave *v untouched) instead of crashing the hypervisor, and the handler
 * injects #GP into the guest as the bare-metal CPU would have raised it.
 *
 * The real implementation is base/hw_safe_x86.S (host IDT fixup, with base/hw_x86.c); unit tests
 * link tests/fakes/hw_safe_fake.c (a table of faulting MSRs and a recorded XCR0). */
#ifndef VIGIL_HW_SAFE_H
#define VIGIL_HW_SAFE_H

#include <stdbool.h>
#include <stdint.h>

bool hw_rdmsr_safe(uint32_t msr, uint64_t *v);
bool hw_wrmsr_safe(uint32_t msr, uint64_t v);
/* XSETBV: writes XCR `xcr` (only XCR0 exists for writes). */
bool hw_xsetbv_safe(uint32_t xcr, uint64_t v);

#endif
