#include "efi/vmx_caps.h"

#include "base/fmt.h"
#include "base/hw.h"
#include "base/lib.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_SMX (1u << 6)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID81_ECX_SVM (1u << 2)

#define FC_LOCK (1ull << 0)
#define FC_VMX_OUTSIDE_SMX (1ull << 2)

/* Allowed-1 settings live in the high dword of a control capability MSR (SDM A.3). */
#define ALLOWED1(msr) ((uint32_t)((msr) >> 32))
#define PROC_SECONDARY (1u << 31)
#define PIN_PREEMPTION_TIMER (1u << 6)
#define PROC2_EPT (1u << 1)
#define PROC2_VPID (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)

void vmx_caps_read(struct vmx_raw *raw) {
    struct cpuid_regs r;
    lib_memset(raw, 0, sizeof(*raw));
    hw_cpuid(0, 0, &r);
    lib_memcpy(raw->vendor + 0, &r.ebx, 4);
    lib_memcpy(raw->vendor + 4, &r.edx, 4);
    lib_memcpy(raw->vendor + 8, &r.ecx, 4);
    raw->vendor[12] = 0;
    hw_cpuid(1, 0, &r);
    raw->cpuid1_ecx = r.ecx;
    hw_cpuid(0x80000000, 0, &r);
    raw->ext_max = r.eax;
    if (raw->ext_max >= 0x80000001 && raw->ext_max < 0x8000FFFF) {
        hw_cpuid(0x80000001, 0, &r);
        raw->ext1_ecx = r.ecx;
    }
    /* IA32_FEATURE_CONTROL exists when VMX or SMX is reported (SDM vol. 4 table 2-2); reading it
     * on other processors raises #GP, which in firmware context would be fatal. */
    if (raw->cpuid1_ecx & (CPUID1_ECX_VMX | CPUID1_ECX_SMX)) {
        raw->have_feature_control = true;
        raw->feature_control = hw_rdmsr(MSR_IA32_FEATURE_CONTROL);
    }
    if (!(raw->cpuid1_ecx & CPUID1_ECX_VMX))
        return;
    raw->have_vmx_msrs = true;
    raw->basic = hw_rdmsr(MSR_IA32_VMX_BASIC);
    raw->pinbased = hw_rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
    raw->procbased = hw_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
    raw->exit = hw_rdmsr(MSR_IA32_VMX_EXIT_CTLS);
    raw->entry = hw_rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
    raw->misc = hw_rdmsr(MSR_IA32_VMX_MISC);
    raw->cr0_fixed0 = hw_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    raw->cr0_fixed1 = hw_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    raw->cr4_fixed0 = hw_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    raw->cr4_fixed1 = hw_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    /* The secondary and EPT/VPID MSRs exist only when the bit that enables them may be 1
     * (SDM A.3.3, A.10). */
    if (ALLOWED1(raw->procbased) & PROC_SECONDARY) {
        raw->procbased2 = hw_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
        if (ALLOWED1(raw->procbased2) & (PROC2_EPT | PROC2_VPID))
            raw->ept_vpid_cap = hw_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
    }
    if (raw->basic & (1ull << 55)) {
        raw->true_pinbased = hw_rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
        raw->true_procbased = hw_rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
        raw->true_exit = hw_rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
        raw->true_entry = hw_rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
    }
}

static void append(char *buf, size_t size, const char *s) {
    size_t n = lib_strlen(buf);
    if (n && n + 2 < size) {
        buf[n++] = ';';
        buf[n++] = ' ';
        buf[n] = 0;
    }
    lib_strlcpy(buf + n, s, size - n);
}

void vmx_caps_decode(const struct vmx_raw *raw, struct vmx_caps *c) {
    lib_memset(c, 0, sizeof(*c));
    c->cpuid_vmx = (raw->cpuid1_ecx & CPUID1_ECX_VMX) != 0;
    c->hypervisor_present = (raw->cpuid1_ecx & CPUID1_ECX_HYPERVISOR) != 0;
    c->svm = (raw->ext1_ecx & CPUID81_ECX_SVM) != 0;
    c->fc_locked = raw->have_feature_control && (raw->feature_control & FC_LOCK);
    c->fc_vmx_outside_smx =
        raw->have_feature_control && (raw->feature_control & FC_VMX_OUTSIDE_SMX);

    if (!c->cpuid_vmx) {
        char why[200];
        fmt_snprintf(why, sizeof(why),
                     "CPUID.1:ECX.VMX[bit 5] = 0: this %s processor offers no "
                     "VT-x%s%s",
                     raw->vendor[0] ? raw->vendor : "unknown",
                     c->svm ? " (it offers AMD SVM; vigil needs Intel VT-x)" : "",
                     c->hypervisor_present ? " (running under a hypervisor that does not expose "
                                             "nested VT-x)"
                                           : "");
        append(c->reason, sizeof(c->reason), why);
        return;
    }

    /* SDM A.1: revision in bits 30:0, region size in 44:32, memory type in 53:50, bit 48 limits
     * VMX structures to 32-bit physical addresses, bit 55 announces the TRUE_* MSRs. */
    c->revision_id = (uint32_t)(raw->basic & 0x7FFFFFFF);
    c->vmcs_size = (uint32_t)((raw->basic >> 32) & 0x1FFF);
    c->vmcs_memtype = (uint8_t)((raw->basic >> 50) & 0xF);
    c->addr_32bit = (raw->basic >> 48) & 1;
    c->true_ctls = (raw->basic >> 55) & 1;
    c->preemption_timer = (ALLOWED1(raw->pinbased) & PIN_PREEMPTION_TIMER) != 0;
    c->secondary = (ALLOWED1(raw->procbased) & PROC_SECONDARY) != 0;
    uint32_t p2 = c->secondary ? ALLOWED1(raw->procbased2) : 0;
    c->ept = (p2 & PROC2_EPT) != 0;
    c->vpid = (p2 & PROC2_VPID) != 0;
    c->unrestricted_guest = (p2 & PROC2_UNRESTRICTED) != 0;
    /* SDM A.6: IA32_VMX_MISC[8] = activity state wait-for-SIPI supported. */
    c->wait_for_sipi = (raw->misc >> 8) & 1;
    /* SDM A.10: EPT page-walk length 4 (bit 6), WB paging structures (14), 2 MiB (16) and
     * 1 GiB (17) pages, INVEPT (20), INVVPID (32). */
    c->ept_walk4 = (raw->ept_vpid_cap >> 6) & 1;
    c->ept_wb = (raw->ept_vpid_cap >> 14) & 1;
    c->ept_2m = (raw->ept_vpid_cap >> 16) & 1;
    c->ept_1g = (raw->ept_vpid_cap >> 17) & 1;
    c->invept = (raw->ept_vpid_cap >> 20) & 1;
    c->invvpid = (raw->ept_vpid_cap >> 32) & 1;

    if (c->fc_locked && !c->fc_vmx_outside_smx)
        append(c->reason, sizeof(c->reason),
               "IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled: enable "
               "virtualization (VT-x) in the firmware setup");
    if (c->vmcs_memtype != 6)
        append(c->reason, sizeof(c->reason), "VMX structures are not write-back cacheable");
    if (c->addr_32bit)
        append(c->reason, sizeof(c->reason), "VMX structures limited to 32-bit addresses");
    if (c->vmcs_size == 0 || c->vmcs_size > 4096)
        append(c->reason, sizeof(c->reason), "VMCS region size is not 1..4096 bytes");
    if (!c->secondary)
        append(c->reason, sizeof(c->reason), "no secondary processor-based controls");
    if (!c->ept)
        append(c->reason, sizeof(c->reason), "no EPT");
    else if (!c->ept_walk4 || !c->ept_wb || !c->invept)
        append(c->reason, sizeof(c->reason),
               "EPT lacks a 4-level walk, write-back paging structures or INVEPT");
    if (!c->unrestricted_guest)
        append(c->reason, sizeof(c->reason), "no unrestricted guest");
    if (!c->wait_for_sipi)
        append(c->reason, sizeof(c->reason),
               "no wait-for-SIPI activity state (needed to start application processors)");
    c->usable = c->reason[0] == 0;
    if (c->usable) {
        if (!c->fc_locked)
            append(c->notes, sizeof(c->notes),
                   "IA32_FEATURE_CONTROL unlocked: vigil enables VMX and locks it");
        if (!c->vpid)
            append(c->notes, sizeof(c->notes), "no VPID: TLB flushed on every VM transition");
    }
}

static const char *memtype_name(uint8_t t) {
    switch (t) {
    case 0:
        return "UC";
    case 6:
        return "WB";
    default:
        return "other";
    }
}

void vmx_caps_report(struct report *r, const struct vmx_raw *raw, const struct vmx_caps *c) {
    report_begin(r, "vmx");
    report_bool(r, "usable", c->usable);
    report_str(r, "reason", c->usable ? (c->notes[0] ? c->notes : "ok") : c->reason);
    report_bool(r, "ept", c->ept);
    report_bool(r, "unrestricted_guest", c->unrestricted_guest);
    report_bool(r, "vpid", c->vpid);
    report_bool(r, "wait_for_sipi", c->wait_for_sipi);
    report_str(r, "vendor", raw->vendor);
    report_bool(r, "cpuid_vmx", c->cpuid_vmx);
    report_bool(r, "hypervisor_present", c->hypervisor_present);
    if (raw->have_feature_control) {
        report_obj_begin(r, "feature_control");
        report_hex(r, "value", raw->feature_control);
        report_bool(r, "locked", c->fc_locked);
        report_bool(r, "vmx_outside_smx", c->fc_vmx_outside_smx);
        report_obj_end(r);
    }
    if (raw->have_vmx_msrs) {
        report_obj_begin(r, "basic");
        report_u64(r, "revision", c->revision_id);
        report_u64(r, "vmcs_size", c->vmcs_size);
        report_str(r, "memtype", memtype_name(c->vmcs_memtype));
        report_bool(r, "true_ctls", c->true_ctls);
        report_obj_end(r);
        report_bool(r, "preemption_timer", c->preemption_timer);
        report_obj_begin(r, "ept_caps");
        report_bool(r, "walk4", c->ept_walk4);
        report_bool(r, "wb", c->ept_wb);
        report_bool(r, "2m", c->ept_2m);
        report_bool(r, "1g", c->ept_1g);
        report_bool(r, "invept", c->invept);
        report_bool(r, "invvpid", c->invvpid);
        report_obj_end(r);
        /* Raw capability MSRs, so a report from any machine can become a test fixture. */
        report_obj_begin(r, "msrs");
        report_hex(r, "basic", raw->basic);
        report_hex(r, "pinbased", raw->pinbased);
        report_hex(r, "procbased", raw->procbased);
        report_hex(r, "exit", raw->exit);
        report_hex(r, "entry", raw->entry);
        report_hex(r, "misc", raw->misc);
        report_hex(r, "cr0_fixed0", raw->cr0_fixed0);
        report_hex(r, "cr0_fixed1", raw->cr0_fixed1);
        report_hex(r, "cr4_fixed0", raw->cr4_fixed0);
        report_hex(r, "cr4_fixed1", raw->cr4_fixed1);
        report_hex(r, "procbased2", raw->procbased2);
        report_hex(r, "ept_vpid_cap", raw->ept_vpid_cap);
        report_hex(r, "true_pinbased", raw->true_pinbased);
        report_hex(r, "true_procbased", raw->true_procbased);
        report_hex(r, "true_exit", raw->true_exit);
        report_hex(r, "true_entry", raw->true_entry);
        report_obj_end(r);
    }
    report_end(r);
}
