/* Sending an NMI to another CPU from VMX root, whatever mode the OS left the local APIC in: the
 * hypervisor's way to make a CPU exit soon (NMI exiting), e.g. to pick up an EPT change. */
#ifndef VIGIL_APIC_NMI_H
#define VIGIL_APIC_NMI_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_ICR_PENDING (1u << 12) /* xAPIC delivery status: send pending */
#define APIC_NMI_SPINS 100000u

/* Physical destination apic_id, delivery mode NMI, no shorthand. x2APIC: one WRMSR. xAPIC: waits
 * (bounded) for an IPI in flight to leave, writes ICR high then low, waits for it to leave, and
 * puts the guest's ICR high back, since this CPU's guest may have been stopped between its own
 * two ICR writes. */
enum apic_nmi_result {
    APIC_NMI_SENT = 0,
    APIC_NMI_DISABLED,    /* IA32_APIC_BASE.EN clear */
    APIC_NMI_BAD_DEST,    /* xAPIC mode, destination above 255 */
    APIC_NMI_BUSY,        /* the ICR stayed busy before the send: nothing sent */
    APIC_NMI_UNCONFIRMED, /* sent, but the ICR stayed busy after it */
};
enum apic_nmi_result apic_send_nmi(uint32_t apic_id);
/* The same for any ICR low word (delivery mode, vector, level, trigger; physical destination, no
 * shorthand): INIT and SIPI for a CPU vigil parks (hv/core/cpu_park.h). */
enum apic_nmi_result apic_send_ipi(uint32_t apic_id, uint32_t icr_lo);
const char *apic_nmi_result_name(enum apic_nmi_result r);

#endif
