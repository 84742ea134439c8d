/* The hypervisor's entry points, called by the UEFI loader (hv/core/hv_image.h): hv_init on the
 * BSP, hv_cpu_start on every CPU (through EFI_MP_SERVICES_PROTOCOL for the APs), hv_bringup_done on
 * the BSP at the end. Everything is allocated here, before any CPU is virtualized; afterwards
 * the hypervisor only runs on VM exits. */
#include "hv/core/ept_kick.h"
#include "hv/core/hv_state.h"

#include "base/fmt.h"
#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/x86.h"
#include "hv/core/hv_report.h"
#include "hv/core/intro_hooks.h"

struct hv_state hv;

int hv_init(struct hv_boot_params *p);
int hv_cpu_start(uint32_t index);
int hv_bringup_done(void);
int hv_report_forward(const char *data, uint64_t len);
int hv_call(uint32_t fn); /* hv/core/vmexit_dispatch.c */
int hv_call_data(uint32_t fn, const void *data, uint64_t len);

#define HVCALL_CPU_UP 1
#define HVCALL_BRINGUP_DONE 2
#define HVCALL_REPORT 3

const char *hv_strerror(int err) {
    switch (err) {
    case HV_OK:
        return "ok";
    case HV_ERR_PARAMS:
        return "bad boot parameters";
    case HV_ERR_NOMEM:
        return "out of hypervisor memory";
    case HV_ERR_NO_VMX:
        return "no VT-x";
    case HV_ERR_FEATURE_CONTROL:
        return "VMX disabled by IA32_FEATURE_CONTROL";
    case HV_ERR_VMXON:
        return "VMXON failed";
    case HV_ERR_VMCS:
        return "VMCLEAR/VMPTRLD/VMWRITE failed";
    case HV_ERR_CONTROLS:
        return "a required VMX control is not available";
    case HV_ERR_SEGMENT:
        return "a live segment cannot be described in the VMCS";
    case HV_ERR_VMLAUNCH:
        return "VMLAUNCH failed";
    case HV_ERR_EPT:
        return "EPT identity map could not be built";
    case HV_ERR_CPU_INDEX:
        return "processor number out of range";
    case HV_ERR_TEST_EXCLUDED:
        return "left out by test_virtualize_cpus (test only)";
    default:
        return "unknown error";
    }
}

static uint64_t identity_v2p(void *ctx, const void *virt) {
    (void)ctx;
    return (uint64_t)(uintptr_t)virt;
}

/* The map itself, plus the self-protection's scratch page of each CPU (hv/ept/ept_hide.h). */
#define EPT_POOL_PAGES 2048

/* Pages for the vCPU backend's tables and regions (hv/arch/vcpu.h). */
static void *heap_page(void *ctx) {
    (void)ctx;
    return hv_heap_pages(&hv.heap, 1);
}

static uint8_t *identity_map(void *ctx, uint64_t pa) {
    (void)ctx;
    return (uint8_t *)(uintptr_t)pa;
}

/* Shadow pages for the guard come from the heap, which is hidden from the guest. */
static uint8_t *guard_shadow_page(void *ctx, uint64_t *phys) {
    (void)ctx;
    uint8_t *p = hv_heap_pages(&hv.heap, 1);
    *phys = (uint64_t)(uintptr_t)p;
    return p;
}

int hv_init(struct hv_boot_params *p) {
    if (!p || p->version != HV_BOOT_VERSION || p->ncpus == 0 || p->heap_size < (1u << 20))
        return HV_ERR_PARAMS;
    if (p->ncpus > HV_MAX_CPUS)
        return HV_ERR_CPU_INDEX; /* the loader does not start vigil then (efi/hv_load.c) */
    lib_memcpy(&hv.params, p, sizeof(*p));
    hv.params.apic_ids = 0; /* loader memory: copied below, not kept */
    hv.ncpus = p->ncpus;
    hv_heap_init(&hv.heap, p->heap_base, p->heap_size);
    if (!hv_report_init(p, &hv.heap))
        return HV_ERR_NOMEM;

    int verr = vcpu_machine_init(&hv.vcpu, heap_page, NULL, p->serial_port, hv_tsc_hz());
    if (verr)
        return verr == VCPU_ERR_NO_VT ? HV_ERR_NO_VMX : HV_ERR_NOMEM;
    /* x2APIC ICR writes: vigil sees every INIT/SIPI the guest sends (hv/core/apic_ipi.c); reads of
     * IA32_APIC_BASE tell it when the OS takes over (hv/core/apic_mode.h). */
    vcpu_machine_intercept_msr(&hv.vcpu, MSR_X2APIC_ICR, false, true);
    vcpu_machine_intercept_msr(&hv.vcpu, MSR_APIC_BASE, true, false);

    struct cpuid_regs r;
    if (mtrr_read_hw(&hv.mtrr) != 0)
        return HV_ERR_EPT;
    hw_cpuid(0x80000000, 0, &r);
    unsigned maxphy = 36;
    if (r.eax >= 0x80000008) {
        hw_cpuid(0x80000008, 0, &r);
        maxphy = r.eax & 0xFF;
    }
    if (host_env_init(&hv.env, &hv.heap, maxphy) != 0)
        return HV_ERR_NOMEM;

    size_t pool_pages = EPT_POOL_PAGES + hv.ncpus;
    void *pool = hv_heap_pages(&hv.heap, pool_pages);
    if (!pool || ept_pool_init(&hv.ept_pool, pool, pool_pages, identity_v2p, NULL) != 0)
        return HV_ERR_NOMEM;
    struct ept_caps ecaps;
    ept_caps_decode(vcpu_machine_npt_caps(&hv.vcpu), &ecaps);
    if (ept_build(&hv.ept, &hv.ept_pool, &ecaps, &hv.mtrr, 0) != 0)
        return HV_ERR_EPT;
    vcpu_machine_set_npt_root(&hv.vcpu, ept_eptp(&hv.ept));
    /* A CPU behind the current EPT generation is sent an NMI (hv/core/ept_kick.h). */
    ept_perm_init(&hv.perm, &hv.ept, &hv.mtrr, hv_ept_kick, NULL);

    hv.cpus = hv_heap_alloc(&hv.heap, hv.ncpus * sizeof(*hv.cpus), 64);
    if (!hv.cpus)
        return HV_ERR_NOMEM;
    const uint32_t *apic_ids = (const uint32_t *)(uintptr_t)p->apic_ids;
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        struct hv_cpu *c = hv_heap_alloc(&hv.heap, sizeof(*c), 64);
        if (!c)
            return HV_ERR_NOMEM;
        c->self = c;
        c->index = i;
        /* The firmware's word (full x2APIC IDs); CPUID at hv_cpu_start otherwise. */
        c->vcpu.apic_id = apic_ids ? apic_ids[i] : CPU_APIC_ID_UNKNOWN;
        c->vcpu.index = i;
        c->stack = hv_heap_alloc(&hv.heap, HV_STACK_SIZE, 4096);
        if (!c->stack || host_env_cpu_init(c, &hv.heap) != 0)
            return HV_ERR_NOMEM;
        c->stack_top = (uint64_t)(uintptr_t)(c->stack + HV_STACK_SIZE);
        c->host = (struct vcpu_host){
            .stack_top = c->stack_top,
            .gs_base = (uint64_t)(uintptr_t)c,
            .tr_base = (uint64_t)(uintptr_t)&c->tss,
            .gdt_base = (uint64_t)(uintptr_t)c->gdt,
            .idt_base = hv.env.idt_base,
            .cs_sel = HOST_CS_SEL,
            .ds_sel = HOST_DS_SEL,
            .tr_sel = HOST_TR_SEL,
            .cr3 = hv.env.cr3,
            .pat = hv.env.pat,
        };
        if (vcpu_prepare(&c->vcpu, &hv.vcpu, &c->host, heap_page, NULL) != 0)
            return HV_ERR_NOMEM;
        hv_vcpu_setup(c);
        if (ept_perm_add_vcpu(&hv.perm, &c->ept, i) != 0)
            return HV_ERR_EPT;
        hv.cpus[i] = c;
    }
    if (ept_hide_init(&hv.hide, &hv.perm, hv.ncpus, &hv_report_out, hv_guest_insn, NULL) != 0)
        return HV_ERR_EPT;
    if (hv_vmi_init() != HV_OK)
        return HV_ERR_NOMEM;
    hv.hide.insn_len = hv_guest_insn_len;
    ept_guard_init(&hv.guard, &hv.perm, &hv_report_out, identity_map, NULL);
    hv.guard.insn = hv_guest_insn;
    hv.guard.insn_len = hv_guest_insn_len;
    hv.guard.shadow_page = guard_shadow_page;
    hv.perm.mtf = vcpu_machine_has_single_step(&hv.vcpu);
    hv.initialised = true;
    return HV_OK;
}

static void report_cpu_fail(struct hv_cpu *c, int err) {
    struct report *r = hv_report_begin();
    if (!r)
        return;
    report_begin(r, "cpu_fail");
    report_u64(r, "cpu", c->index);
    report_u64(r, "apic_id", c->vcpu.apic_id);
    report_str(r, "error", hv_strerror(err));
    report_u64(r, "detail", c->vcpu.launch_detail);
    report_end(r);
    hv_report_end(r);
}

int hv_cpu_start(uint32_t index) {
    if (!hv.initialised)
        return HV_ERR_PARAMS;
    if (index >= hv.ncpus)
        return HV_ERR_CPU_INDEX;
    struct hv_cpu *c = hv.cpus[index];
    struct cpuid_regs r;
    hw_cpuid(1, 0, &r);
    if (c->vcpu.apic_id == CPU_APIC_ID_UNKNOWN)
        c->vcpu.apic_id = r.ebx >> 24;
    if (hv.params.test_virtualize_cpus && index >= hv.params.test_virtualize_cpus) {
        /* Test-only: this CPU goes on bare under the firmware and is parked at the hand-over. */
        c->launch_error = HV_ERR_TEST_EXCLUDED;
        __atomic_add_fetch(&hv.cpus_failed, 1, __ATOMIC_SEQ_CST);
        report_cpu_fail(c, HV_ERR_TEST_EXCLUDED);
        return HV_ERR_TEST_EXCLUDED;
    }
    /* Only the boot CPU sends INIT/SIPI: it alone goes to x2APIC mode (hv/core/apic_mode.h). */
    if (index == hv.params.bsp_index)
        apic_mode_enter_x2apic(&c->apic);
    int err = vcpu_launch_here(&c->vcpu);
    if (err) {
        c->launch_error = err;
        __atomic_add_fetch(&hv.cpus_failed, 1, __ATOMIC_SEQ_CST);
        report_cpu_fail(c, err);
        return err;
    }
    /* From here on this code runs as the guest; the hypervisor reports through a VM exit. */
    hv_call(HVCALL_CPU_UP);
    return HV_OK;
}

int hv_bringup_done(void) {
    if (!hv.initialised)
        return 0;
    /* The BSP is a guest by now when its launch worked; otherwise report from here. */
    if (hv.cpus[hv.params.bsp_index < hv.ncpus ? hv.params.bsp_index : 0]->up)
        hv_call(HVCALL_BRINGUP_DONE);
    else
        hv_report_up_direct();
    /* Bring-up is over: from now on no report waits for the UART; the virtualized CPUs' exits
     * and timer ticks drain it (hv/core/hv_report.h). With none virtualized, nothing would. */
    if (hv.cpus_up)
        hv_report_go_async();
    return (int)hv.cpus_up;
}

int hv_report_forward(const char *data, uint64_t len) {
    if (!hv.initialised || !data)
        return -1;
    struct cpuid_regs r;
    hw_cpuid(1, 0, &r);
    uint32_t apic = r.ebx >> 24;
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        if ((hv.cpus[i]->vcpu.apic_id & 0xFF) == apic && hv.cpus[i]->up)
            return hv_call_data(HVCALL_REPORT, data, len);
    }
    /* This CPU is not virtualized: the hypervisor's code is directly reachable. */
    hv_report_raw(data, len);
    return 0;
}
