/* The vCPU interface: the only way hv/core and hv/intro reach the processor's virtualization
 * extension. A CPU backend (today VT-x, hv/arch/vmx/) implements every function below; another one
 * (AMD-V: VMCB, #VMEXIT codes, NPT) implements the same set without touching hv/core, hv/intro or
 * vmi/.
 *
 * What it covers:
 *  - the machine: the backend's capabilities and shared tables (vcpu_machine_*);
 *  - a processor's life: root mode, launch where it stands, parking (vcpu_prepare,
 *    vcpu_launch_here, vcpu_enter_root);
 *  - exits: vigil's own exit kinds (enum vcpu_exit), routed by the backend to its handlers and to
 *    the core's callbacks (struct vcpu_ops) for what is the core's business (hypervisor calls,
 *    vigil's NMIs, breakpoints, INIT/SIPI bookkeeping, the x2APIC ICR, nested-paging exits);
 *  - guest state: RIP, the system registers introspection needs, exception intercepts, event
 *    re-injection, the timer that drives the periodic work;
 *  - nested paging: the permission changes go through hv/ept/ept_perm.h, whose API is in guest
 *    physical pages and read/write/execute rights; its exits reach the core through
 *    vcpu_ops.npt_violation / npt_step / npt_misconfig.
 *
 * Contract: every function here runs in the hypervisor (root mode) on the processor whose vCPU it
 * is given (the backend's state of the current guest is per processor: the current VMCS), except
 * vcpu_machine_* (boot CPU, before any launch) and vcpu_exit_name (anywhere). None blocks or
 * allocates, except vcpu_machine_init and vcpu_prepare, which take pages from the caller. Values
 * they return from guest state are the guest's: untrusted.
 *
 * struct vcpu is in two parts: the fields below, which the core and the backend share, and
 * `arch`, the backend's own (hv/arch/vmx/vcpu_vmx.h), which only the backend touches
 * (tests/e2e/layers.sh fails when hv/core or hv/intro name it). */
#ifndef VIGIL_VCPU_H
#define VIGIL_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report;
struct report_out;
struct vcpu;

/* The guest's general-purpose registers as the exit stub saves them, in the architectural
 * encoding order (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15; SDM vol. 2
 * 2.1.5 table 2-2, the order exit qualifications number them), so that a register number indexes
 * it directly. RSP is not saved there: the backend keeps it in the guest-state area. */
struct guest_regs {
    uint64_t rax, rcx, rdx, rbx;
    uint64_t rsp_unused; /* the guest's RSP is in the backend's guest state */
    uint64_t rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* What the exit loop does after an exit. */
enum vmexit_action {
    VMEXIT_RESUME = 0, /* re-enter the guest */
    VMEXIT_PARK = 1,   /* fatal: guest state already dumped; stop this CPU (cli; hlt loop) */
    VMEXIT_RESET = 2,  /* the platform must be reset (guest triple fault); state already dumped */
};

/* Where a virtual processor stands in the INIT/SIPI protocol. */
enum vcpu_sipi_state {
    VCPU_RUNNING = 0,       /* executing guest code (activity state active or HLT) */
    VCPU_WAIT_FOR_SIPI = 1, /* took an INIT; waiting for a SIPI */
};

/* vigil's exit kinds. Each backend maps its own exit codes onto these; the names
 * (vcpu_exit_name) are what the heartbeat's exit counts and the reports print. */
enum vcpu_exit {
    VCPU_EXIT_EXCEPTION_NMI,
    VCPU_EXIT_EXTERNAL_INTERRUPT,
    VCPU_EXIT_TRIPLE_FAULT,
    VCPU_EXIT_INIT,
    VCPU_EXIT_SIPI,
    VCPU_EXIT_IO_SMI,
    VCPU_EXIT_OTHER_SMI,
    VCPU_EXIT_INTERRUPT_WINDOW,
    VCPU_EXIT_NMI_WINDOW,
    VCPU_EXIT_TASK_SWITCH,
    VCPU_EXIT_CPUID,
    VCPU_EXIT_GETSEC,
    VCPU_EXIT_HLT,
    VCPU_EXIT_INVD,
    VCPU_EXIT_INVLPG,
    VCPU_EXIT_RDPMC,
    VCPU_EXIT_RDTSC,
    VCPU_EXIT_RSM,
    VCPU_EXIT_VMCALL,
    VCPU_EXIT_VMCLEAR,
    VCPU_EXIT_VMLAUNCH,
    VCPU_EXIT_VMPTRLD,
    VCPU_EXIT_VMPTRST,
    VCPU_EXIT_VMREAD,
    VCPU_EXIT_VMRESUME,
    VCPU_EXIT_VMWRITE,
    VCPU_EXIT_VMXOFF,
    VCPU_EXIT_VMXON,
    VCPU_EXIT_CR_ACCESS,
    VCPU_EXIT_DR_ACCESS,
    VCPU_EXIT_IO,
    VCPU_EXIT_RDMSR,
    VCPU_EXIT_WRMSR,
    VCPU_EXIT_ENTRY_FAIL_GUEST,
    VCPU_EXIT_ENTRY_FAIL_MSR,
    VCPU_EXIT_MWAIT,
    VCPU_EXIT_SINGLE_STEP, /* monitor trap flag */
    VCPU_EXIT_MONITOR,
    VCPU_EXIT_PAUSE,
    VCPU_EXIT_ENTRY_FAIL_MCE,
    VCPU_EXIT_TPR_BELOW_THRESHOLD,
    VCPU_EXIT_APIC_ACCESS,
    VCPU_EXIT_VIRTUALIZED_EOI,
    VCPU_EXIT_GDTR_IDTR,
    VCPU_EXIT_LDTR_TR,
    VCPU_EXIT_NPT_VIOLATION,
    VCPU_EXIT_NPT_MISCONFIG,
    VCPU_EXIT_INVEPT,
    VCPU_EXIT_RDTSCP,
    VCPU_EXIT_TIMER, /* the backend's preemption timer: the heartbeat */
    VCPU_EXIT_INVVPID,
    VCPU_EXIT_WBINVD,
    VCPU_EXIT_XSETBV,
    VCPU_EXIT_APIC_WRITE,
    VCPU_EXIT_RDRAND,
    VCPU_EXIT_INVPCID,
    VCPU_EXIT_VMFUNC,
    VCPU_EXIT_ENCLS,
    VCPU_EXIT_RDSEED,
    VCPU_EXIT_PML_FULL,
    VCPU_EXIT_XSAVES,
    VCPU_EXIT_XRSTORS,
    VCPU_EXIT_UMWAIT,
    VCPU_EXIT_TPAUSE,
    VCPU_EXIT_UNKNOWN, /* a code the backend has no kind for */
    VCPU_EXIT_COUNT
};

/* Name of an exit kind ("CPUID", "EPT violation", ...); "?" for VCPU_EXIT_UNKNOWN and anything out
 * of range. */
const char *vcpu_exit_name(unsigned kind);

/* Why a backend could not set up or launch a processor (negative; 0 is success). The core's
 * hv_error (hv/core/hv_state.h) uses the same numbers. */
enum vcpu_error {
    VCPU_ERR_NO_VT = -3,        /* the processor has no virtualization extension */
    VCPU_ERR_DISABLED = -4,     /* disabled by the firmware (VT-x: IA32_FEATURE_CONTROL) */
    VCPU_ERR_ROOT = -5,         /* entering root mode failed (VMXON) */
    VCPU_ERR_CONTROL_AREA = -6, /* the guest's control area (VMCS) could not be loaded/written */
    VCPU_ERR_CONTROLS = -7,     /* a required control is not available */
    VCPU_ERR_SEGMENT = -8,      /* a live segment cannot be described as guest state */
    VCPU_ERR_LAUNCH = -9,       /* the first entry (VMLAUNCH) failed */
};

/* Called after a guest MTRR write reached the hardware: with nested paging the MTRRs no longer
 * decide guest memory types, so the nested tables' must follow them (SDM vol. 3C 29.3.7). Runs on
 * the exit path of the CPU that wrote. */
typedef void (*vcpu_mtrr_hook_fn)(struct vcpu *v, uint32_t msr, uint64_t value);
/* Called on each timer exit (the heartbeat). */
typedef void (*vcpu_heartbeat_fn)(struct vcpu *v);
/* Writes len bytes at guest linear address gla (used by INS from the report port). Returns false
 * when the address does not translate or is not writable; the handler then injects #GP(0). */
typedef bool (*vcpu_guest_write_fn)(struct vcpu *v, uint64_t gla, const void *src, size_t len);

/* The core's side of an exit: the backend calls these where the exit is the core's business. Each
 * returns true when it consumed the exit (the backend then completes it as stated). */
struct vcpu_ops {
    /* CPUID with the hypervisor-call leaf: true when it was one (the callback completed it with
     * vcpu_advance_rip). */
    bool (*hypercall)(struct vcpu *v, struct guest_regs *g);
    /* An NMI exit: true when the NMI was vigil's own (a kick), not the guest's. The backend
     * unblocks NMIs in root mode after this call either way. */
    bool (*nmi)(struct vcpu *v);
    /* A #BP the guest raised with INT3 (the intercept is on only while vcpu_intercept_exception
     * asked for it): true when handled (the callback set RIP or re-injected the #BP). */
    bool (*breakpoint)(struct vcpu *v, struct guest_regs *g);
    /* After the backend applied an INIT exit; before it applies a SIPI exit. */
    void (*init_taken)(struct vcpu *v);
    void (*sipi_taken)(struct vcpu *v);
    /* WRMSR of msr with value: true when consumed (the backend advances RIP). */
    bool (*msr_write)(struct vcpu *v, uint32_t msr, uint64_t value);
    /* Nested-paging violation and the single step after one (monitor trap flag): the action. */
    enum vmexit_action (*npt_violation)(struct vcpu *v, struct guest_regs *g);
    enum vmexit_action (*npt_step)(struct vcpu *v, struct guest_regs *g);
    /* Nested-paging misconfiguration: the core's part of the report r (the backend then adds the
     * guest state and parks the CPU). */
    void (*npt_misconfig)(struct vcpu *v, struct report *r);
    /* Right before the first entry (the guest may exit at once), and after it failed. */
    void (*launching)(struct vcpu *v);
    void (*launch_failed)(struct vcpu *v);
    /* A later entry failed (VT-x: VMRESUME); err is the backend's error number. Never returns. */
    void (*resume_failed)(struct vcpu *v, uint64_t err) __attribute__((noreturn));
};

/* The backend's per-vCPU and per-machine state (struct vcpu_arch, struct vcpu_machine). */
#include "hv/arch/vmx/vcpu_vmx.h"

struct vcpu {
    uint32_t index;   /* 0..n-1 in bring-up order */
    uint32_t apic_id; /* initial APIC ID (CPUID.1:EBX[31:24]) */

    /* Probed once per CPU at launch so hot paths never re-run CPUID. */
    uint32_t cpu_signature;  /* CPUID.1:EAX, loaded into EDX by INIT */
    uint64_t xcr0_supported; /* CPUID.(EAX=0DH,ECX=0):EDX:EAX */
    bool has_xsave;

    /* Policy. */
    bool stealth;         /* config key stealth=on: no hypervisor CPUID leaves, no CPUID bit 31 */
    uint16_t report_port; /* base of the 8-port UART used for the report (0: none) */

    /* The core's callbacks (may be NULL each; the ops table itself must be set before launch). */
    const struct vcpu_ops *ops;
    vcpu_mtrr_hook_fn mtrr_hook;
    vcpu_heartbeat_fn heartbeat;
    vcpu_guest_write_fn guest_write;

    /* Where fatal dumps go (NULL: no dump): a writer is taken from it for each dump. */
    const struct report_out *report;

    /* Why the launch failed (enum vcpu_error), and a detail: the failing control bit, segment,
     * or the backend's instruction error. */
    uint64_t launch_detail;

    /* NMIs received for the guest, not yet injected. An NMI taken by the host while in root mode
     * may only increment this (host NMI handler); vcpu_prepare_entry() arranges their delivery. */
    volatile uint32_t nmi_pending;

    /* INIT/SIPI state machine. */
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

    struct vcpu_arch arch; /* the backend's; never touched outside hv/arch/ */
};

/* ---------------------------------------------------------------- the machine */

/* Checks the extension is there, reads its capabilities, and builds the shared tables from pages
 * of page(ctx) (4 KiB, zeroed not required): which MSR and I/O accesses exit (the report UART's 8
 * ports from report_port; 0: none) and the timer period (~1 s, tsc_hz). 0 or enum vcpu_error. */
int vcpu_machine_init(struct vcpu_machine *m, void *(*page)(void *ctx), void *ctx,
                      uint16_t report_port, uint64_t tsc_hz);
/* Makes reads and/or writes of msr exit (they reach the core through the handlers / ops). */
void vcpu_machine_intercept_msr(struct vcpu_machine *m, uint32_t msr, bool read, bool write);
/* The nested-paging capability word the nested-paging layer decodes (VT-x: IA32_VMX_EPT_VPID_CAP,
 * read by ept_caps_decode), and the root of the nested tables every guest uses (VT-x: the EPTP). */
uint64_t vcpu_machine_npt_caps(const struct vcpu_machine *m);
void vcpu_machine_set_npt_root(struct vcpu_machine *m, uint64_t root);
/* Whether the guest can be stopped after one instruction (VT-x: monitor trap flag). */
bool vcpu_machine_has_single_step(const struct vcpu_machine *m);
/* The timer's reload value and its rate: timer ticks = TSC >> shift. */
uint32_t vcpu_machine_timer_reload(const struct vcpu_machine *m);

/* ---------------------------------------------------------------- a processor's life */

/* The host side of a vCPU: where exits run. */
struct vcpu_host {
    uint64_t stack_top; /* 16-byte aligned */
    uint64_t gs_base;   /* the core's per-CPU pointer (this_cpu) */
    uint64_t tr_base, gdt_base, idt_base;
    uint16_t cs_sel, ds_sel, tr_sel;
    uint64_t cr3, pat;
};

/* Takes the backend's per-vCPU regions from page(ctx) and records the machine and the host side.
 * 0 or VCPU_ERR_*. Boot CPU, before any launch. */
int vcpu_prepare(struct vcpu *v, const struct vcpu_machine *m, const struct vcpu_host *host,
                 void *(*page)(void *ctx), void *ctx);
/* Virtualizes the calling processor where it stands: builds the guest state from the live one and
 * enters it; the caller returns 0 as the guest. A negative enum vcpu_error when the launch did not
 * happen (the processor is back as it was). ops->launching runs right before the entry. */
int vcpu_launch_here(struct vcpu *v);
/* Enters root mode on the calling processor without a guest (VT-x: VMXON, which blocks INIT, SDM
 * vol. 3C 23.8): how a processor vigil cannot virtualize is held. 0 or VCPU_ERR_*. */
int vcpu_enter_root(struct vcpu *v);

/* ---------------------------------------------------------------- exits */

/* The core's exit loop body (hv/core/vmexit_dispatch.c): the backend's exit stub calls it on the
 * exiting processor with the guest's registers, and re-enters the guest when it returns. */
void vmexit_main(struct guest_regs *g);

/* The kind of the exit being handled. */
enum vcpu_exit vcpu_exit_kind(const struct vcpu *v);
/* Handles it: the backend's handlers and the core's ops. */
enum vmexit_action vcpu_handle_exit(struct vcpu *v, struct guest_regs *g);
/* Last steps before the next entry, in this order in the exit loop: after an emulated INIT/SIPI
 * (VT-x: clears blocking by SMI that Bochs 2.7 leaves set), and the delivery of queued NMIs. */
void vcpu_sipi_entry_fixup(struct vcpu *v);
void vcpu_prepare_entry(struct vcpu *v);
/* The timer that drives the periodic work: fast = report bytes wait, so the next timer exit comes
 * within tsc_ticks of the TSC (never later than the reload); otherwise back to the reload. */
void vcpu_timer_drain(struct vcpu *v, bool fast, uint64_t tsc_ticks);
/* The next entry exits at once on the timer (from the host NMI handler, in root mode). */
void vcpu_timer_expire_now(void);
/* Writes the exit being handled, the guest's registers and control state as a guest_state
 * event to r (r NULL: nothing). */
void vcpu_dump(struct report *r, const char *why, const struct vcpu *v, const struct guest_regs *g);
/* The backend's view of a launched vCPU (controls, tags) as fields of the event r is writing. */
void vcpu_report_setup(struct report *r, const struct vcpu *v);

/* ---------------------------------------------------------------- guest state */

uint64_t vcpu_rip(const struct vcpu *v);
void vcpu_set_rip(struct vcpu *v, uint64_t rip);
/* Completes the exiting instruction (RIP past it, interrupt shadows cleared). */
void vcpu_advance_rip(struct vcpu *v);

/* The guest's system state introspection and instruction decoding read. */
struct vcpu_sysregs {
    uint64_t rip, rsp;
    uint64_t cr0, cr3, cr4, efer;
    uint64_t gs_base;
    uint64_t idtr_base;
    uint16_t idtr_limit;
    uint64_t cs_base;
    bool cs_long; /* CS.L: 64-bit code */
    bool cs_db;   /* CS.D/B: 32-bit default operand size */
};
void vcpu_read_sysregs(const struct vcpu *v, struct vcpu_sysregs *s);

/* Makes the guest's exception vector exit (on) or not. */
void vcpu_intercept_exception(struct vcpu *v, unsigned vector, bool on);
/* Delivers the software exception of the exiting instruction (INT3: vector 3) to the guest as the
 * instruction would have (SDM vol. 3C 26.6.1.1): for an intercepted exception that is not
 * vigil's. */
void vcpu_reinject_soft_exception(struct vcpu *v, unsigned vector);

/* The INIT/SIPI protocol driven by another CPU's IPI (hv/core/apic_ipi.h): puts the guest in the
 * state an INIT leaves a processor in (waiting for SIPI; g may be NULL), and starts it at a SIPI's
 * vector. */
void vcpu_init_state(struct vcpu *v, struct guest_regs *g);
void vcpu_start_at_sipi(struct vcpu *v, uint8_t vector);

#endif
