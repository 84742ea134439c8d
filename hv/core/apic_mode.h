/* The boot CPU's local APIC mode while vigil brings the machine up.
 *
 * vigil sees the firmware's INIT/SIPI only when they are WRMSRs to the x2APIC ICR
 * (hv/core/apic_ipi.h), and only the boot CPU sends them (MP services run there). So vigil switches
 * the boot CPU's APIC from xAPIC to x2APIC mode before virtualizing it (SDM vol. 3A 10.12.5: a
 * legal transition with the APIC enabled, registers preserved), and switches it back when the OS
 * kernel first reads IA32_APIC_BASE (a RDMSR from the upper half of the address space, where 64-bit
 * kernels run and firmware never does), restoring the registers the firmware had programmed. The
 * OS then finds the APIC in the mode it was in without vigil; an OS that never reads the MSR from
 * the upper half keeps an x2APIC "enabled by firmware", which OSes support on real hardware.
 *
 * With the config key apic_handover = x2apic the switch back is not made: the OS finds the
 * x2APIC enabled by "firmware" and sends its own INIT/SIPI through the x2APIC ICR, where vigil
 * sees them too. For processors that cannot leave the disabled state without a reset (Bochs 2.7,
 * docs/hv-bringup.md), on which the way back would leave the APIC off. */
#ifndef VIGIL_APIC_MODE_H
#define VIGIL_APIC_MODE_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_APIC_BASE 0x1B
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)

/* xAPIC registers vigil carries across the round trip (offsets in the 4 KiB MMIO page). */
enum {
    XAPIC_TPR = 0x80,
    XAPIC_LDR = 0xD0,
    XAPIC_DFR = 0xE0,
    XAPIC_SVR = 0xF0,
    XAPIC_LVT_TIMER = 0x320,
    XAPIC_LVT_THERMAL = 0x330,
    XAPIC_LVT_PERF = 0x340,
    XAPIC_LVT_LINT0 = 0x350,
    XAPIC_LVT_LINT1 = 0x360,
    XAPIC_LVT_ERROR = 0x370,
    XAPIC_TIMER_ICR = 0x380,
    XAPIC_TIMER_DCR = 0x3E0,
    XAPIC_ICR_LO = 0x300, /* used by hv/core/apic_nmi.c */
    XAPIC_ICR_HI = 0x310,
};

struct apic_saved {
    bool switched; /* vigil put this CPU in x2APIC mode */
    uint64_t base; /* IA32_APIC_BASE before the switch */
    uint32_t ldr, dfr;
};

/* x2APIC MSR for an xAPIC register offset (SDM table 10-6): 0x800 + offset / 16. */
static inline uint32_t apic_x2_msr(uint32_t xapic_offset) {
    return 0x800 + xapic_offset / 16;
}

/* Boot CPU, firmware context: xAPIC -> x2APIC when the CPU offers x2APIC and the APIC is enabled
 * in xAPIC mode. Returns whether it switched. */
bool apic_mode_enter_x2apic(struct apic_saved *s);
/* VMX root: back to xAPIC with the current register values (taken from the x2APIC MSRs) and the
 * saved LDR/DFR, which x2APIC mode does not keep. */
void apic_mode_restore_xapic(struct apic_saved *s);
/* VMX root, when the OS takes over: apic_mode_restore_xapic, or with keep_x2apic nothing but the
 * end of the bring-up switch (the APIC stays in x2APIC mode, nothing is left to restore). */
void apic_mode_handover(struct apic_saved *s, bool keep_x2apic);

#endif
