#include "hv/core/apic_mode.h"

#include "base/hw.h"

static uint64_t xapic_reg(uint64_t base, uint32_t off) {
    return (base & ~0xFFFull) + off;
}

bool apic_mode_enter_x2apic(struct apic_saved *s) {
    struct cpuid_regs r;
    hw_cpuid(1, 0, &r);
    s->switched = false;
    s->base = hw_rdmsr(MSR_APIC_BASE);
    if (!(r.ecx & (1u << 21)) || !(s->base & APIC_BASE_EN) || (s->base & APIC_BASE_EXTD))
        return false;
    /* LDR and DFR have no x2APIC equivalent that keeps them (the x2APIC LDR is derived from the
     * ID): keep the firmware's values for the way back. */
    s->ldr = hw_mmio_read32(xapic_reg(s->base, XAPIC_LDR));
    s->dfr = hw_mmio_read32(xapic_reg(s->base, XAPIC_DFR));
    hw_wrmsr(MSR_APIC_BASE, s->base | APIC_BASE_EXTD);
    s->switched = true;
    return true;
}

void apic_mode_restore_xapic(struct apic_saved *s) {
    static const uint32_t regs[] = {
        XAPIC_TPR,       XAPIC_SVR,       XAPIC_LVT_TIMER, XAPIC_LVT_THERMAL, XAPIC_LVT_PERF,
        XAPIC_LVT_LINT0, XAPIC_LVT_LINT1, XAPIC_LVT_ERROR, XAPIC_TIMER_DCR,   XAPIC_TIMER_ICR};
    uint32_t val[sizeof(regs) / sizeof(regs[0])];
    if (!s->switched)
        return;
    for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        val[i] = (uint32_t)hw_rdmsr(apic_x2_msr(regs[i]));
    /* x2APIC -> xAPIC must go through the disabled state (SDM 10.12.5, figure 10-27), which
     * resets the APIC's registers: hence the copy above. */
    hw_wrmsr(MSR_APIC_BASE, s->base & ~(APIC_BASE_EN | APIC_BASE_EXTD));
    hw_wrmsr(MSR_APIC_BASE, s->base);
    hw_mmio_write32(xapic_reg(s->base, XAPIC_DFR), s->dfr);
    hw_mmio_write32(xapic_reg(s->base, XAPIC_LDR), s->ldr);
    for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        hw_mmio_write32(xapic_reg(s->base, regs[i]), val[i]);
    s->switched = false;
}

void apic_mode_handover(struct apic_saved *s, bool keep_x2apic) {
    if (keep_x2apic)
        s->switched = false;
    else
        apic_mode_restore_xapic(s);
}
