/* The moment the OS takes over. vigil's bring-up needs a few things the running OS must not
 * have: hypervisor calls from vigil's own code (CPUID leaf 0x567447xx from the image), the boot
 * CPU in x2APIC mode (hv/core/apic_mode.h; kept with apic_handover = x2apic), and its own memory
 * readable (the bring-up code runs as the guest until the loader is done). All three end at the
 * first VM exit whose guest RIP is in the upper half of the address space: 64-bit OS kernels run
 * there, firmware and boot loaders never do. From then on the hypervisor's image and heap are
 * hidden behind EPT (hv/ept/ept_hide.h). */
#include "base/hw.h"
#include "base/lib.h"
#include "hv/core/apic_mode.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"

__attribute__((noreturn)) void hv_park_cpu(void); /* hv/core/host_exception.c */

/* A CPU is left that can run the OS bare. on_no_vmx = halt: the OS goes no further (this CPU
 * stops here; the other virtualized CPUs are still in the firmware's idle loop, which the OS
 * never reached). boot: it goes on, unprotected on that CPU, as reported. */
static void stand_down(struct hv_cpu *c) {
    bool halt = hv.params.on_no_vmx == ON_NO_VMX_HALT;
    struct report *r = hv_report_begin();
    if (r) {
        report_begin(r, halt ? "halt" : "protection_void");
        report_str(r, "reason", "a processor is neither virtualized nor parked");
        report_u64(r, "cpus_bare", hv.cpus_bare);
        report_str(r, "on_no_vmx", halt ? "halt" : "boot");
        report_end(r);
    }
    hv_report_end(r);
    if (!halt)
        return;
    c->parked = true;
    c->ept.running = false;
    hv_park_cpu();
}

void hv_takeover_check(struct hv_cpu *c, uint64_t guest_rip) {
    if (!(guest_rip >> 63))
        return;
    bool first = !__atomic_exchange_n(&hv.os_running, 1, __ATOMIC_SEQ_CST);
    /* The firmware is done with every processor now (ExitBootServices woke them all for the
     * last time): the ones vigil does not run are parked before the OS can start them. First,
     * while this CPU may still send through its x2APIC: Bochs 2.7 ignores every write to
     * IA32_APIC_BASE once the APIC is globally disabled, so after the way back to xAPIC below
     * (through the disabled state) it has no APIC to send from. */
    bool all_held = first ? hv_park_unvirtualized(c) : true;
    if (c->apic.switched) /* before the OS looks at its APIC */
        apic_mode_handover(&c->apic, hv.params.apic_handover == APIC_HANDOVER_X2APIC);
    if (!first)
        return;
    hv.os_running_ms = hv_uptime_ms();
    int e1 = ept_hide_add(&hv.hide, &c->ept, hv.params.image_base, hv.params.image_pages * 4096);
    int e2 = ept_hide_add(&hv.hide, &c->ept, hv.params.heap_base, hv.params.heap_size);
    if (!e2 && hv.params.profile_len)
        e2 = ept_hide_add(&hv.hide, &c->ept, hv.params.profile_base, hv.params.profile_len);
    /* The entry pages hold vigil's page-table root and pointers once a CPU was parked there. */
    if (!e2 && hv.params.park_pages && hv.cpus_parked)
        e2 = ept_hide_add(&hv.hide, &c->ept, hv.params.park_pages, HV_PARK_PAGES * 4096);
    struct report *r = hv_report_begin();
    if (r) {
        report_begin(r, "os_running");
        report_u64(r, "cpu", c->index);
        report_hex(r, "rip", guest_rip);
        report_bool(r, "hv_hidden", e1 == 0 && e2 == 0);
        if (e1 || e2)
            report_str(r, "error", ept_strerror(e1 ? e1 : e2));
        report_end(r);
    }
    hv_report_end(r);
    ept_hide_report_ranges(&hv.hide);
    if (!all_held)
        stand_down(c);
}
