/* The smaller exit handlers: INVD, #UD for GETSEC and VMX instructions, triple fault, NMI
 * re-injection (NMI exiting + virtual NMIs + NMI-window exiting), the VMX-preemption-timer
 * heartbeat, the report-port I/O exit and the I/O bitmaps, and the unhandled-exit path.
 * Rationale and SDM references for each decision: docs/vmx.md. */
#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vmx/vmexit.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"

/* String I/O elements handled per exit; a longer REP string restarts the instruction (RIP is
 * left in place, RCX counts down), which keeps the exit short and interrupts deliverable. */
#define IO_STRING_BATCH 1024u
/* Real processors latch at most one NMI while another is blocked (SDM 6.7.1): one being injected
 * plus one pending is the most a guest can observe. */
#define NMI_PENDING_MAX 2u

enum vmexit_action vmexit_handle_unhandled(struct vcpu *v, struct guest_regs *g) {
    vmx_guest_dump_fatal(v, "unhandled VM exit, CPU parked", g);
    return VMEXIT_PARK;
}

enum vmexit_action vmexit_handle_invd(struct vcpu *v, struct guest_regs *g) {
    (void)v;
    (void)g;
    /* INVD would throw away dirty lines of the hypervisor and of the guest alike; vigil
     * completes it without executing it (the data stays, as after WBINVD). CPL > 0 → #GP. */
    if (vmx_guest_cpl() != 0) {
        vmx_guest_inject_gp(0);
        return VMEXIT_RESUME;
    }
    vmx_guest_advance_rip();
    return VMEXIT_RESUME;
}

enum vmexit_action vmexit_handle_ud(struct vcpu *v, struct guest_regs *g) {
    (void)v;
    (void)g;
    /* VMX and SMX are hidden (CPUID.1:ECX.VMX = SMX = 0): their instructions raise #UD on such a
     * processor (SDM Vol. 2 chapter 6 "Safer Mode Extensions", Vol. 3C 30.3). */
    vmx_guest_inject_ud();
    return VMEXIT_RESUME;
}

enum vmexit_action vmexit_handle_triple_fault(struct vcpu *v, struct guest_regs *g) {
    /* A triple fault puts a bare processor in shutdown; the platform usually resets. vigil
     * reports what the guest looked like, then the dispatch loop resets the platform. */
    vmx_guest_dump_fatal(v, "guest triple fault, resetting", g);
    return VMEXIT_RESET;
}

static void set_nmi_window(struct vcpu *v, bool on) {
    uint32_t p = on ? (v->arch.proc_ctls | PROC_NMI_WINDOW_EXITING)
                    : (v->arch.proc_ctls & ~PROC_NMI_WINDOW_EXITING);
    if (p != v->arch.proc_ctls) {
        v->arch.proc_ctls = p;
        hw_vmwrite(VMCS_PROC_BASED_CTLS, p);
    }
}

void vmexit_nmi_queue(struct vcpu *v) {
    if (v->nmi_pending < NMI_PENDING_MAX)
        v->nmi_pending++;
    set_nmi_window(v, true);
}

void vmexit_nmi_prepare_entry(struct vcpu *v) {
    if (v->nmi_pending && !(v->arch.proc_ctls & PROC_NMI_WINDOW_EXITING))
        set_nmi_window(v, true);
}

enum vmexit_action vmexit_handle_exception_nmi(struct vcpu *v, struct guest_regs *g) {
    uint32_t info = (uint32_t)hw_vmread(VMCS_EXIT_INTR_INFO);
    if ((info & INTR_INFO_VALID) && INTR_INFO_TYPE(info) == INTR_TYPE_NMI &&
        INTR_INFO_VECTOR(info) == VEC_NMI) {
        /* With NMI exiting the NMI was meant for the guest (vigil sends itself none). It cannot
         * be injected right away: the guest may be blocking NMIs (virtual-NMI blocking) or be in
         * an STI/MOV SS shadow, and VM entry fails if an NMI is injected then (26.3.1.5). The
         * NMI-window exit tells when it can be taken. */
        vmexit_nmi_queue(v);
        return VMEXIT_RESUME;
    }
    return vmexit_handle_unhandled(v, g);
}

enum vmexit_action vmexit_handle_nmi_window(struct vcpu *v, struct guest_regs *g) {
    (void)g;
    if (v->nmi_pending == 0) {
        set_nmi_window(v, false);
        return VMEXIT_RESUME;
    }
    /* Another event is already being injected on this entry: keep the window open. */
    if (hw_vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)
        return VMEXIT_RESUME;
    vmx_guest_inject_nmi();
    v->nmi_pending--;
    if (v->nmi_pending == 0)
        set_nmi_window(v, false);
    return VMEXIT_RESUME;
}

enum vmexit_action vmexit_handle_preemption_timer(struct vcpu *v, struct guest_regs *g) {
    (void)g;
    v->heartbeats++;
    /* With "save VMX-preemption timer value" the field now holds 0 and would expire at once on
     * the next entry; without it, VM entry reloads the unchanged field (SDM 25.5.1, 27.3.4). */
    if (v->arch.exit_ctls & EXIT_SAVE_PREEMPTION_TIMER)
        hw_vmwrite(VMCS_PREEMPTION_TIMER_VALUE, v->arch.preemption_timer_reload);
    if (v->heartbeat)
        v->heartbeat(v);
    return VMEXIT_RESUME;
}

/* ------------------------------------------------------------------ I/O */

bool vmexit_io_is_report_port(const struct vcpu *v, uint16_t port) {
    return v->report_port != 0 && (uint16_t)(port - v->report_port) < 8u;
}

static uint8_t *io_bit(uint8_t *a, uint8_t *b, uint16_t port, uint8_t *mask) {
    *mask = (uint8_t)(1u << (port & 7u));
    return port < 0x8000u ? &a[port / 8] : &b[(port - 0x8000u) / 8];
}

void vmexit_io_bitmap_set(uint8_t *a, uint8_t *b, uint16_t port, uint32_t count, bool on) {
    for (uint32_t i = 0; i < count && i < 0x10000u; i++) {
        uint8_t mask;
        uint8_t *p = io_bit(a, b, (uint16_t)(port + i), &mask);
        if (on)
            *p |= mask;
        else
            *p &= (uint8_t)~mask;
    }
}

bool vmexit_io_bitmap_intercepts(const uint8_t *a, const uint8_t *b, uint16_t port) {
    uint8_t mask = (uint8_t)(1u << (port & 7u));
    const uint8_t *p = port < 0x8000u ? &a[port / 8] : &b[(port - 0x8000u) / 8];
    return (*p & mask) != 0;
}

void vmexit_io_bitmap_build(uint8_t *a, uint8_t *b, uint16_t report_port) {
    lib_memset(a, 0, VMX_IO_BITMAP_BYTES);
    lib_memset(b, 0, VMX_IO_BITMAP_BYTES);
    if (report_port)
        vmexit_io_bitmap_set(a, b, report_port, 8, true);
}

/* Register update of a string instruction: 16-bit address size keeps the upper bits, 32-bit
 * zero-extends, 64-bit is the full register (SDM Vol. 1 3.3.7). */
static uint64_t addr_update(uint64_t reg, uint64_t newval, unsigned asz) {
    switch (asz) {
    case 0:
        return (reg & ~0xFFFFull) | (newval & 0xFFFFull);
    case 1:
        return newval & 0xFFFFFFFFull;
    default:
        return newval;
    }
}

static uint64_t addr_mask(unsigned asz) {
    return asz == 0 ? 0xFFFFull : asz == 1 ? 0xFFFFFFFFull : ~0ull;
}

/* INS/OUTS touching the report port (SDM vol. 2 INS/OUTS; 27.2.5 instruction information). An
 * element may straddle the port's last byte and the next port: INS reads all ones from the
 * report port's bytes and the hardware's for the others; OUTS drops the whole element (the bytes
 * beyond the port would need a read of guest memory: no device decodes one word across two
 * 8-port blocks, and no driver writes one). */
static enum vmexit_action io_string(struct vcpu *v, struct guest_regs *g, uint64_t q,
                                    unsigned size) {
    uint32_t info = (uint32_t)hw_vmread(VMCS_EXIT_INSTR_INFO);
    unsigned asz = INSTR_INFO_ADDR_SIZE(info);
    if (asz > 2)
        return vmexit_handle_unhandled(v, g);
    uint64_t mask = addr_mask(asz);
    bool in = (q & IO_QUAL_IN) != 0;
    bool rep = (q & IO_QUAL_REP) != 0;
    bool down = (hw_vmread(VMCS_GUEST_RFLAGS) & RFLAGS_DF) != 0;
    uint64_t count = rep ? (g->rcx & mask) : 1;
    uint64_t n = count < IO_STRING_BATCH ? count : IO_STRING_BATCH;
    bool in64 = vmx_guest_in_64bit_mode();
    uint64_t es_base = in64 ? 0 : hw_vmread(VMCS_GUEST_ES_BASE);
    uint64_t done = 0;
    bool fault = false;

    for (; done < n; done++) {
        uint64_t step = (uint64_t)size * done;
        if (in) {
            uint8_t elem[4];
            uint16_t port = (uint16_t)IO_QUAL_PORT(q);
            for (unsigned i = 0; i < size; i++) {
                uint16_t p = (uint16_t)(port + i);
                elem[i] = vmexit_io_is_report_port(v, p) ? 0xFF : hw_inb(p);
            }
            uint64_t off = ((down ? g->rdi - step : g->rdi + step)) & mask;
            uint64_t gla = es_base + off;
            if (!in64)
                gla &= 0xFFFFFFFFull;
            if (!v->guest_write || !v->guest_write(v, gla, elem, size)) {
                fault = true;
                break;
            }
        }
        /* OUTS: the bytes are dropped; nothing to read. */
    }
    uint64_t delta = (uint64_t)size * done;
    if (in)
        g->rdi = addr_update(g->rdi, down ? g->rdi - delta : g->rdi + delta, asz);
    else
        g->rsi = addr_update(g->rsi, down ? g->rsi - delta : g->rsi + delta, asz);
    if (rep)
        g->rcx = addr_update(g->rcx, (g->rcx & mask) - done, asz);
    if (fault) {
        /* vigil cannot raise the exact #PF here (no guest page walk on this path). */
        vmx_guest_inject_gp(0);
        return VMEXIT_RESUME;
    }
    if (done == count)
        vmx_guest_advance_rip();
    return VMEXIT_RESUME;
}

enum vmexit_action vmexit_handle_io(struct vcpu *v, struct guest_regs *g) {
    uint64_t q = hw_vmread(VMCS_EXIT_QUALIFICATION);
    unsigned size = IO_QUAL_SIZE(q);
    uint16_t port = (uint16_t)IO_QUAL_PORT(q);
    if (size != 1 && size != 2 && size != 4)
        return vmexit_handle_unhandled(v, g);
    unsigned report_bytes = 0;
    for (unsigned i = 0; i < size; i++)
        report_bytes += vmexit_io_is_report_port(v, (uint16_t)(port + i));
    if (report_bytes == 0)
        return vmexit_handle_unhandled(v, g); /* only the report port is intercepted */

    if (q & IO_QUAL_STRING)
        return io_string(v, g, q, size);

    if (q & IO_QUAL_IN) {
        uint64_t val = 0;
        for (unsigned i = 0; i < size; i++) {
            uint16_t p = (uint16_t)(port + i);
            /* No UART there for the guest: a floating ISA bus reads all ones. */
            uint8_t byte = vmexit_io_is_report_port(v, p) ? 0xFF : hw_inb(p);
            val |= (uint64_t)byte << (8 * i);
        }
        if (size == 1)
            g->rax = (g->rax & ~0xFFull) | val;
        else if (size == 2)
            g->rax = (g->rax & ~0xFFFFull) | val;
        else
            g->rax = val; /* a 32-bit destination zero-extends into RAX */
    } else {
        for (unsigned i = 0; i < size; i++) {
            uint16_t p = (uint16_t)(port + i);
            if (!vmexit_io_is_report_port(v, p)) /* report-port writes are dropped */
                hw_outb(p, (uint8_t)(g->rax >> (8 * i)));
        }
    }
    vmx_guest_advance_rip();
    return VMEXIT_RESUME;
}
