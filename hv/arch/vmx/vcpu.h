/* Per-CPU state of a virtualized processor, shared by the VM-exit dispatch loop
 * (hv/core/vmexit_dispatch.c) and the exit handlers (hv/arch/vmx/vmexit_*.c). The core's per-CPU
 * state (struct hv_cpu, hv/core/percpu.h) holds a struct vcpu beside the fields the bring-up needs
 * (VMXON/VMCS regions, host stack, ...); the handlers only use the fields below.
 *
 * struct guest_regs is what the VM-exit assembly stub saves: the guest's general-purpose
 * registers in the architectural encoding order (the order of the "general-purpose register"
 * fields of exit qualifications, SDM 27.2.1 table 27-3), so that a register number from a
 * qualification indexes it directly. RSP is not saved there: it lives in the VMCS guest-state
 * area (VMCS_GUEST_RSP); its slot exists only to keep the numbering. */
#ifndef VIGIL_VCPU_H
#define VIGIL_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report_out;
struct vcpu;

struct guest_regs {
    uint64_t rax, rcx, rdx, rbx;
    uint64_t rsp_unused; /* RSP is VMCS_GUEST_RSP; use vmx_guest_gpr_read/write */
    uint64_t rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* Where a virtual processor stands in the INIT/SIPI protocol (hv/arch/vmx/vmx_sipi.h). */
enum vcpu_sipi_state {
    VCPU_RUNNING = 0,       /* executing guest code (activity state active or HLT) */
    VCPU_WAIT_FOR_SIPI = 1, /* took an INIT; VMCS activity state is wait-for-SIPI */
};

/* Called after a guest MTRR write reached the hardware: with EPT the MTRRs no longer decide guest
 * memory types, so EPT's must follow them (SDM vol. 3C 29.3.7). Runs on the exit path of the CPU
 * that wrote. */
typedef void (*vcpu_mtrr_hook_fn)(struct vcpu *v, uint32_t msr, uint64_t value);
/* Called on each VMX-preemption-timer exit (the heartbeat). */
typedef void (*vcpu_heartbeat_fn)(struct vcpu *v);
/* Writes len bytes at guest linear address gla (used by INS from the report port). Returns false
 * when the address does not translate or is not writable; the handler then injects #GP(0). */
typedef bool (*vcpu_guest_write_fn)(struct vcpu *v, uint64_t gla, const void *src, size_t len);

struct vcpu {
    uint32_t index;   /* 0..n-1 in bring-up order */
    uint32_t apic_id; /* initial APIC ID (CPUID.1:EBX[31:24]) */
    uint16_t vpid;    /* non-zero VPID of this CPU's guest (INVVPID after emulated CR/INIT) */

    /* Fixed bits for guest CR0/CR4 (IA32_VMX_CR0/CR4_FIXED0/1) and the guest/host masks in use;
     * filled by vmx_cr_setup() (hv/arch/vmx/vmx_cr.h). */
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t cr0_mask, cr4_mask;
    bool unrestricted_guest;

    /* Controls as computed by vmx_controls_compute() and written to the VMCS; the NMI-window
     * handler flips PROC_NMI_WINDOW_EXITING in proc_ctls. */
    uint32_t pin_ctls, proc_ctls, proc2_ctls, exit_ctls, entry_ctls;
    uint32_t preemption_timer_reload; /* value written back on each timer exit */

    /* Probed once per CPU by vmx_guest_probe_cpu() so hot paths never re-run CPUID. */
    uint32_t cpu_signature;  /* CPUID.1:EAX, loaded into EDX by INIT */
    uint64_t xcr0_supported; /* CPUID.(EAX=0DH,ECX=0):EDX:EAX */
    bool has_xsave;

    /* Policy. */
    bool stealth;         /* config key stealth=on: no hypervisor CPUID leaves, no CPUID bit 31 */
    uint16_t report_port; /* base of the 8-port UART used for the report (0: none) */

    /* Hooks (may be NULL). */
    vcpu_mtrr_hook_fn mtrr_hook;
    vcpu_heartbeat_fn heartbeat;
    vcpu_guest_write_fn guest_write;

    /* Where fatal dumps go (NULL: no dump): a writer is taken from it for each dump. */
    const struct report_out *report;

    /* NMI re-injection (hv/arch/vmx/vmexit_misc.c): NMIs received for the guest, not yet injected.
     * An NMI taken by the host while in root mode may only increment this (host NMI handler);
     * vmexit_nmi_prepare_entry() turns it into NMI-window exiting before the next entry. */
    volatile uint32_t nmi_pending;

    /* INIT/SIPI state machine (hv/arch/vmx/vmx_sipi.h). */
    enum vcpu_sipi_state sipi_state;
    uint32_t init_count;          /* INIT exits taken */
    uint32_t repeated_init_count; /* INIT exits while already waiting for SIPI */
    uint32_t sipi_count;          /* SIPIs that started the CPU */
    uint32_t last_sipi_vector;

    /* The guest's writes to this CPU's time-stamp counter (IA32_TIME_STAMP_COUNTER and
     * IA32_TSC_ADJUST) land in the hardware, as the guest expects, but exit first: each one's jump
     * is added here, and vigil's own clock (hv_uptime_ms) subtracts the sum, so no guest write can
     * move vigil's time (rescan and heartbeat schedules, event times). */
    int64_t tsc_skew;
    uint64_t tsc_writes;

    /* Statistics. */
    uint64_t heartbeats;
    uint64_t exits;
};

#endif
