/* INIT / SIPI for a virtualized processor (SDM 25.2 "Other causes of VM exits": INIT and SIPI
 * exits; 24.4.2 activity states; Vol. 3A 10.1.1 table 10-1 for the INIT state; 9.4 / 11.4.4 MP
 * initialization).
 *
 * In VMX non-root an INIT does not reset the processor: it exits (reason 3) and the VMM must put
 * the guest in the INIT state itself and park it in the wait-for-SIPI activity state; the SIPI
 * then exits (reason 4) with the vector, and the VMM starts the guest in real mode at
 * vector << 12. The state machine (v->sipi_state):
 *
 *   RUNNING --INIT exit--> WAIT_FOR_SIPI --SIPI exit(V)--> RUNNING (CS = V<<8, base V<<12, IP 0)
 *   WAIT_FOR_SIPI --INIT exit--> WAIT_FOR_SIPI   (idempotent; counted in repeated_init_count)
 *   RUNNING --SIPI exit--> RUNNING               (a SIPI outside wait-for-SIPI is ignored, 11.4.4;
 *                                                 the VMCS activity state counts as waiting too)
 *
 * Both ways an AP is started use the same pieces:
 *  (a) INIT exits in non-root (real hardware, KVM): vmexit_handle_init / vmexit_handle_sipi;
 *  (b) the AP leaves VMX before it can take an INIT and is re-virtualized at the SIPI (the way
 *      around Bochs 2.7's INIT re-delivery bug, PLATFORM.md): build the fresh VMCS guest area
 *      with vmx_sipi_write_init_state() then vmx_sipi_write_start_state(vector).
 * Every path clears blocking-by-SMI in the interruptibility state (Bochs 2.7 bug 2: VM entry
 * fails with it set outside SMM, SDM 26.3.1.5). */
#ifndef VIGIL_VMX_SIPI_H
#define VIGIL_VMX_SIPI_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/arch/vcpu.h"
#include "hv/arch/vmx/vmx_seg.h"

/* Puts the guest in the state an INIT leaves a processor in, activity wait-for-SIPI:
 * RIP 0xFFF0, RFLAGS 2, CS F000/FFFF0000, other segments 0/0/FFFF, CR0 = ET | old CD/NW (NE forced
 * by the fixed bits, shadowed), CR3 = CR4 = 0, EFER = 0 (IA-32e mode guest off), DR7 0x400,
 * GDTR/IDTR 0/FFFF, LDTR/TR 0/0/FFFF, GPRs 0 except EDX = processor signature, no pending event,
 * NMI re-injection state dropped. Flushes the guest's VPID. g may be NULL (fresh VMCS). */
void vmx_sipi_write_init_state(struct vcpu *v, struct guest_regs *g);

/* The real-mode code segment a SIPI with vector V starts at: selector V << 8, base V << 12. */
struct vmx_segment vmx_sipi_start_cs(uint8_t vector);

/* Starts the guest at vector (CS from vmx_sipi_start_cs, RIP 0, activity active, interruptibility
 * 0) and sets v->sipi_state = VCPU_RUNNING. */
void vmx_sipi_write_start_state(struct vcpu *v, uint8_t vector);

/* Clears blocking by SMI (bit 2) in the guest interruptibility state if set; returns whether it
 * was set. Cheap enough to call before every VM entry of a CPU that went through INIT/SIPI. */
bool vmx_sipi_clear_smi_blocking(void);

#endif
