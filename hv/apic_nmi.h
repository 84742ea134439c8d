/* Sending an NMI to another CPU from VMX root, whatever mode the OS left the local APIC in: the
 * hypervisor's way to make a CPU exit soon (NMI exiting), e.g. to pick up an EPT change. */
#ifndef VIGIL_APIC_NMI_H
#define VIGIL_APIC_NMI_H

#include <stdbool.h>
#include <stdint.h>

#define XAPIC_ICR_LO 0x300
#define XAPIC_ICR_HI 0x310
#define X2APIC_ICR_MSR 0x830
#define APIC_ICR_PENDING (1u << 12) /* xAPIC delivery status: send pending */
#define APIC_NMI_SPINS 100000u

/* Physical destination apic_id, delivery mode NMI, no shorthand. x2APIC: one WRMSR. xAPIC: waits
 * (bounded) for an IPI in flight to leave, writes ICR high then low, waits for it to leave, and
 * puts the guest's ICR high back, since this CPU's guest may have been stopped between its own
 * two ICR writes. False when the APIC is disabled, the destination does not fit xAPIC's 8 bits,
 * or the ICR stayed busy (nothing is sent then, or the send is not confirmed). */
bool apic_send_nmi(uint32_t apic_id);

#endif
