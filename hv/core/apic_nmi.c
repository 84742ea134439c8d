#include "hv/core/apic_nmi.h"

#include "base/hw.h"
#include "hv/arch/x86.h"
#include "hv/core/apic_ipi.h"
#include "hv/core/apic_mode.h"

/* SDM vol. 3A 10.6.1 (ICR: delivery mode 100b = NMI in bits 10:8, vector ignored, delivery
 * status bit 12) and 10.12.9 (x2APIC: the ICR is one 64-bit MSR, destination in bits 63:32). */
#define ICR_NMI ((uint32_t)ICR_DM_NMI << 8)

static bool wait_idle(uint64_t icr_lo) {
    for (uint32_t i = 0; i < APIC_NMI_SPINS; i++) {
        if (!(hw_mmio_read32(icr_lo) & APIC_ICR_PENDING))
            return true;
        hw_pause();
    }
    return false;
}

const char *apic_nmi_result_name(enum apic_nmi_result r) {
    switch (r) {
    case APIC_NMI_SENT:
        return "sent";
    case APIC_NMI_DISABLED:
        return "apic disabled";
    case APIC_NMI_BAD_DEST:
        return "destination beyond xAPIC";
    case APIC_NMI_BUSY:
        return "icr busy";
    case APIC_NMI_UNCONFIRMED:
        return "icr busy after send";
    }
    return "?";
}

enum apic_nmi_result apic_send_nmi(uint32_t apic_id) {
    return apic_send_ipi(apic_id, ICR_NMI);
}

enum apic_nmi_result apic_send_ipi(uint32_t apic_id, uint32_t icr_lo) {
    uint64_t base = hw_rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_EN))
        return APIC_NMI_DISABLED;
    if (base & APIC_BASE_EXTD) {
        hw_wrmsr(MSR_X2APIC_ICR, ((uint64_t)apic_id << 32) | icr_lo);
        return APIC_NMI_SENT;
    }
    if (apic_id > 0xFF)
        return APIC_NMI_BAD_DEST;
    uint64_t page = base & 0x000FFFFFFFFFF000ull;
    if (!wait_idle(page + XAPIC_ICR_LO))
        return APIC_NMI_BUSY;
    uint32_t hi = hw_mmio_read32(page + XAPIC_ICR_HI);
    hw_mmio_write32(page + XAPIC_ICR_HI, apic_id << 24);
    hw_mmio_write32(page + XAPIC_ICR_LO, icr_lo);
    bool idle = wait_idle(page + XAPIC_ICR_LO);
    hw_mmio_write32(page + XAPIC_ICR_HI, hi);
    return idle ? APIC_NMI_SENT : APIC_NMI_UNCONFIRMED;
}
