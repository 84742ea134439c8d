/* The few VMCS field encodings, control bits and exit reasons the EPT code needs (SDM vol. 3D
 * appendix B "Field Encoding in VMCS", appendix C "VMX Basic Exit Reasons"). Private to hv/ept*:
 * to be merged into hv/vmx_defs.h once that header lands. */
#ifndef VIGIL_EPT_VMCS_H
#define VIGIL_EPT_VMCS_H

#define EPT_VMCS_VPID 0x0000ull
#define EPT_VMCS_EPT_POINTER 0x201Aull
#define EPT_VMCS_GUEST_PHYSICAL_ADDRESS 0x2400ull
#define EPT_VMCS_PRIMARY_PROC_CONTROLS 0x4002ull
#define EPT_VMCS_EXIT_REASON 0x4402ull
#define EPT_VMCS_IDT_VECTORING_INFO 0x4408ull
#define EPT_VMCS_GUEST_INTERRUPTIBILITY 0x4824ull
#define EPT_VMCS_EXIT_QUALIFICATION 0x6400ull
#define EPT_VMCS_GUEST_LINEAR_ADDRESS 0x640Aull
#define EPT_VMCS_GUEST_CR3 0x6802ull
#define EPT_VMCS_GUEST_RIP 0x681Eull

/* Primary processor-based VM-execution controls (SDM vol. 3C 25.6.2, table 25-6). */
#define EPT_PROC_MONITOR_TRAP_FLAG (1ull << 27)
/* Guest interruptibility state (SDM vol. 3C 25.4.2, table 25-3). */
#define EPT_INTERRUPTIBILITY_NMI_BLOCKING (1ull << 3)
/* IDT-vectoring information valid bit (SDM vol. 3C 25.9.3). */
#define EPT_IDT_VECTORING_VALID (1ull << 31)

/* Basic exit reasons (SDM vol. 3D appendix C). */
#define EPT_EXIT_REASON_MTF 37
#define EPT_EXIT_REASON_EPT_VIOLATION 48
#define EPT_EXIT_REASON_EPT_MISCONFIG 49

#endif
