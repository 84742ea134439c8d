/* Fake hardware for unit tests: tables of ports, MSRs, CPUID leaves and VMCS fields that a test
 * fills in, plus logs of what the code under test wrote. Link tests/fakes/hw_fake.c instead of
 * base/hw_x86.c. */
#ifndef VIGIL_HW_FAKE_H
#define VIGIL_HW_FAKE_H

#include "base/hw.h"
#include <stddef.h>

#define FAKE_MAX 256

/* Port I/O: a handler per test, or the defaults (reads 0xFF, writes logged). */
typedef uint8_t (*fake_inb_fn)(uint16_t port);
typedef void (*fake_outb_fn)(uint16_t port, uint8_t v);
extern fake_inb_fn fake_inb_handler;
extern fake_outb_fn fake_outb_handler;

struct fake_out {
    uint16_t port;
    uint8_t v;
};
extern struct fake_out fake_out_log[4096];
extern size_t fake_out_count;

/* MMIO: reads come from values a test set (0 otherwise); writes are logged and then read back. */
struct fake_mmio {
    uint64_t phys;
    uint32_t v;
};
extern struct fake_mmio fake_mmio_log[256];
extern size_t fake_mmio_count;
void fake_set_mmio(uint64_t phys, uint32_t v);

extern unsigned fake_nmi_unblocks; /* hw_nmi_unblock calls */

void fake_reset(void);
void fake_set_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t eax, uint32_t ebx, uint32_t ecx,
                    uint32_t edx);
void fake_set_msr(uint32_t msr, uint64_t v);
/* true and the value when the MSR was set or written; unknown MSRs read 0 in hw_rdmsr. */
bool fake_get_msr(uint32_t msr, uint64_t *v);
void fake_set_vmcs(uint64_t field, uint64_t v);
bool fake_get_vmcs(uint64_t field, uint64_t *v);
extern uint64_t fake_cr0, fake_cr3, fake_cr4;
extern bool fake_vmx_fail; /* makes every VMX instruction fail */
extern struct hw_dtr fake_gdtr, fake_idtr;
extern uint16_t fake_sregs[6], fake_tr, fake_ldtr;
extern uint64_t fake_dr7, fake_rflags, fake_tsc;
/* Each hw_rdtsc adds fake_tsc_step first (0: a clock that stands still); hw_pause calls
 * fake_pause_hook (NULL: nothing), where a test can play the other CPUs of a wait loop. */
extern uint64_t fake_tsc_step;
extern void (*fake_pause_hook)(void);

#endif
