/* Guest-state helpers shared by the exit handlers: RIP advance, event injection, GPR access by
 * architectural number, CPL/mode queries, and the guest-state dump for fatal exits.
 * Everything goes through hw_vmread/hw_vmwrite on the current VMCS. */
#ifndef VIGIL_VMX_GUEST_H
#define VIGIL_VMX_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/arch/vcpu.h"

struct report;

/* Completes the exiting instruction: RIP += VM-exit instruction length (wrapped to 32 bits
 * outside 64-bit mode), clears blocking by STI / MOV SS (the instruction retired, SDM 24.4.2),
 * and, when RFLAGS.TF was set, records the single-step trap in the pending debug exceptions
 * (BS, bit 14) so the guest still sees its #DB (SDM 26.3.1.5 / 24.4.2). */
void vmx_guest_advance_rip(void);

/* Event injection through the VM-entry interruption-information field (SDM 24.8.3). These never
 * advance RIP: a fault leaves it at the faulting instruction. */
void vmx_guest_inject_hw_exception(uint32_t vector, bool has_errcode, uint32_t errcode);
void vmx_guest_inject_gp(uint32_t errcode);
void vmx_guest_inject_ud(void);
void vmx_guest_inject_nmi(void);

/* GPR by the 4-bit register number of exit qualifications (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp,
 * 5 rbp, 6 rsi, 7 rdi, 8..15 r8..r15). RSP goes to/from VMCS_GUEST_RSP. */
uint64_t vmx_guest_gpr_read(const struct guest_regs *g, unsigned idx);
void vmx_guest_gpr_write(struct guest_regs *g, unsigned idx, uint64_t value);

/* Current privilege level: SS.DPL (SDM 5.5; VM entry keeps SS.DPL = CPL). */
unsigned vmx_guest_cpl(void);
/* True when the guest runs 64-bit code: IA-32e mode active (entry control, saved by every exit
 * per IA32_VMX_MISC[5]) and CS.L = 1. */
bool vmx_guest_in_64bit_mode(void);

/* Probes once per CPU what the handlers need from CPUID (signature, XSAVE support and the XCR0
 * bits the CPU supports), so hot paths never run CPUID for it. */
void vmx_guest_probe_cpu(struct vcpu *v);

/* Writes the guest state (exit reason and qualification, RIP/RSP/RFLAGS, CRs and shadows, EFER,
 * segments, descriptor tables, interruptibility/activity, GPRs, controls) to the report: a
 * "guest_state" JSON event in jsonl mode, "vigil: ..." lines in text mode. why is a short
 * message ("unhandled VM exit", "triple fault", ...). r may be NULL (nothing written). */
void vmx_guest_dump(struct report *r, const char *why, const struct vcpu *v,
                    const struct guest_regs *g);

/* vmx_guest_dump to a writer of v->report (the exit handlers' fatal paths); nothing when none
 * can be had. */
void vmx_guest_dump_fatal(const struct vcpu *v, const char *why, const struct guest_regs *g);

/* vigil's exit kind (hv/arch/vcpu.h) of a basic exit reason; VCPU_EXIT_UNKNOWN when it has none. */
enum vcpu_exit vmx_exit_kind(uint32_t basic);
/* Name of a basic exit reason ("CPUID", "EPT violation", ...), "?" when unknown. */
const char *vmx_exit_reason_name(uint32_t basic_reason);

#endif
