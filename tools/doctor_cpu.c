#include "tools/doctor_cpu.h"

#include "base/hw.h"
#include "efi/vmx_caps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CPUS 4096

static void copy_trimmed(char *dst, size_t cap, const char *src, size_t n) {
    while (n > 0 && (*src == ' ' || *src == '\t')) {
        src++;
        n--;
    }
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\t' || src[n - 1] == '\r'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int doctor_cpuinfo_read(const struct doctor_root *r, struct doctor_cpuinfo *ci) {
    static char buf[64 * 1024]; /* one processor's block is about 2 KiB */
    memset(ci, 0, sizeof(*ci));
    long n = droot_read(r, "/proc/cpuinfo", buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    ci->read = true;
    bool in_block = false;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len == 0 || (len == 1 && line[0] == '\r')) {
            if (in_block)
                break; /* the first processor's block ends */
        } else {
            in_block = true;
            const char *colon = memchr(line, ':', len);
            if (colon) {
                char key[32];
                copy_trimmed(key, sizeof(key), line, (size_t)(colon - line));
                const char *v = colon + 1;
                size_t vlen = len - (size_t)(v - line);
                if (!strcmp(key, "vendor_id"))
                    copy_trimmed(ci->vendor, sizeof(ci->vendor), v, vlen);
                else if (!strcmp(key, "model name"))
                    copy_trimmed(ci->model, sizeof(ci->model), v, vlen);
                else if (!strcmp(key, "flags"))
                    copy_trimmed(ci->flags, sizeof(ci->flags), v, vlen);
                else if (!strcmp(key, "vmx flags")) {
                    copy_trimmed(ci->vmx_flags, sizeof(ci->vmx_flags), v, vlen);
                    ci->have_vmx_flags = true;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

bool doctor_has_word(const char *list, const char *word) {
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl) {
        bool start = p == list || p[-1] == ' ' || p[-1] == '\t';
        bool end = p[wl] == 0 || p[wl] == ' ' || p[wl] == '\t';
        if (start && end)
            return true;
    }
    return false;
}

/* The hardware seam for efi/vmx_caps.c. CPUID comes from /proc/cpuinfo's flags (Linux prints
 * "vmx" for CPUID.1:ECX[5], "smx" for [6], "hypervisor" for [31], "svm" for
 * CPUID.80000001:ECX[2]); RDMSR from /dev/cpu/<seam_cpu>/msr. A failed RDMSR reads as 0 and is
 * remembered: the decode is then not trusted. */
static const struct doctor_root *seam_root;
static const struct doctor_cpuinfo *seam_ci;
static bool seam_vmx; /* CPUID.1:ECX.VMX as the processor reports it (see doctor_check_vtx) */
static unsigned seam_cpu;
static int seam_msr_error;
static uint32_t seam_msr_failed;

void hw_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *out) {
    (void)subleaf;
    memset(out, 0, sizeof(*out));
    const char *flags = seam_ci->flags;
    switch (leaf) {
    case 0: {
        char v[12] = {0};
        memcpy(v, seam_ci->vendor, strnlen(seam_ci->vendor, sizeof(v)));
        out->eax = 1;
        memcpy(&out->ebx, v + 0, 4);
        memcpy(&out->edx, v + 4, 4);
        memcpy(&out->ecx, v + 8, 4);
        break;
    }
    case 1:
        out->ecx = (seam_vmx ? 1u << 5 : 0) | (doctor_has_word(flags, "smx") ? 1u << 6 : 0) |
                   (doctor_has_word(flags, "hypervisor") ? 1u << 31 : 0);
        break;
    case 0x80000000:
        out->eax = 0x80000001;
        break;
    case 0x80000001:
        out->ecx = doctor_has_word(flags, "svm") ? 1u << 2 : 0;
        break;
    default:
        break;
    }
}

uint64_t hw_rdmsr(uint32_t msr) {
    uint64_t v = 0;
    int rc = droot_msr(seam_root, seam_cpu, msr, &v);
    if (rc < 0) {
        if (!seam_msr_error) {
            seam_msr_error = rc;
            seam_msr_failed = msr;
        }
        return 0;
    }
    return v;
}

void doctor_check_cpu(const struct doctor_cpuinfo *ci, struct doctor_item *it) {
    if (!ci->read) {
        doctor_set(it, DOC_INFO, NULL, "/proc/cpuinfo not readable");
        return;
    }
    doctor_set(it, DOC_INFO, NULL, "%s%s%s%s", ci->vendor[0] ? ci->vendor : "unknown vendor",
               ci->model[0] ? " (" : "", ci->model, ci->model[0] ? ")" : "");
}

static const char *vendor_short(const char *v) {
    if (!strcmp(v, "GenuineIntel"))
        return "Intel";
    if (!strcmp(v, "AuthenticAMD"))
        return "AMD";
    if (!strcmp(v, "HygonGenuine"))
        return "Hygon";
    return v[0] ? v : "unknown";
}

static const char *msr_hint(int err) {
    switch (-err) {
    case ENOENT:
    case ENXIO:
    case ENODEV:
        return "no /dev/cpu/N/msr (run `modprobe msr` as root)";
    case EACCES:
    case EPERM:
        return "/dev/cpu/N/msr needs root";
    default:
        return strerror(-err);
    }
}

/* IA32_FEATURE_CONTROL on every CPU: firmware must lock all of them alike; one left locked with
 * VMX off makes that CPU's VMXON fail (SDM vol. 3C 24.7). Returns the first such CPU, or -1. */
static long cpu_with_vmx_locked_off(const struct doctor_root *r) {
    static char names[MAX_CPUS][64];
    long n = droot_list(r, "/dev/cpu", names, MAX_CPUS);
    for (long i = 0; i < n; i++) {
        char *end;
        unsigned long cpu = strtoul(names[i], &end, 10);
        uint64_t fc;
        if (*end || end == names[i] || droot_msr(r, (unsigned)cpu, MSR_IA32_FEATURE_CONTROL, &fc))
            continue;
        if ((fc & 1) && !(fc & 4))
            return (long)cpu;
    }
    return -1;
}

void doctor_check_vtx(const struct doctor_root *r, const struct doctor_cpuinfo *ci,
                      struct doctor_item *it) {
    if (!ci->read) {
        doctor_set(it, DOC_UNKNOWN, "/proc/cpuinfo not readable", "/proc/cpuinfo not readable");
        return;
    }
    bool intel = !strcmp(ci->vendor, "GenuineIntel");
    seam_root = r;
    seam_ci = ci;
    seam_cpu = 0;
    seam_msr_error = 0;
    seam_vmx = doctor_has_word(ci->flags, "vmx");
    /* Linux (5.6+) removes "vmx" from the flags when the firmware locked VMX off, so on an Intel
     * CPU without the flag, IA32_VMX_BASIC decides: it exists exactly when CPUID.1:ECX.VMX = 1
     * (SDM vol. 4 table 2-2), and the msr driver answers EIO for an MSR that does not exist. */
    int probe = 0;
    if (!seam_vmx && intel) {
        uint64_t basic;
        probe = droot_msr(r, 0, MSR_IA32_VMX_BASIC, &basic);
        seam_vmx = probe == 0;
    }

    struct vmx_raw raw;
    struct vmx_caps caps;
    vmx_caps_read(&raw);
    vmx_caps_decode(&raw, &caps);

    if (!caps.cpuid_vmx) {
        if (intel && probe != -EIO) {
            doctor_set(it, DOC_UNKNOWN, "VT-x state unknown (no vmx flag, MSRs not readable)",
                       "no vmx flag in /proc/cpuinfo: this Intel CPU has no VT-x, or the firmware "
                       "disabled it (Linux hides the flag then); IA32_VMX_BASIC would tell, but %s",
                       msr_hint(probe));
            return;
        }
        char verdict[64];
        snprintf(verdict, sizeof(verdict), "%s CPU, no VT-x", vendor_short(ci->vendor));
        doctor_set(it, DOC_FAIL, verdict, "%s: %s", verdict, caps.reason);
        return;
    }
    if (seam_msr_error) {
        /* CPUID says VT-x, the capability MSRs cannot be read: the "vmx flags" line (Linux's own
         * decoding of the same MSRs) settles the two features vigil cannot do without. */
        if (ci->have_vmx_flags && (!doctor_has_word(ci->vmx_flags, "ept") ||
                                   !doctor_has_word(ci->vmx_flags, "unrestricted_guest"))) {
            const char *v = !doctor_has_word(ci->vmx_flags, "ept") ? "VT-x without EPT"
                                                                   : "VT-x without unrestricted "
                                                                     "guest";
            doctor_set(it, DOC_FAIL, v, "%s (\"vmx flags\" in /proc/cpuinfo)", v);
            return;
        }
        doctor_set(it, DOC_UNKNOWN, "VT-x present, capability MSRs not readable",
                   "VT-x present%s; the rest of vigil's checks need the VMX capability MSRs: "
                   "MSR 0x%x: %s",
                   ci->have_vmx_flags ? " with EPT and unrestricted guest (\"vmx flags\")" : "",
                   (unsigned)seam_msr_failed, msr_hint(seam_msr_error));
        return;
    }
    if (!caps.usable) {
        const char *v = caps.fc_locked && !caps.fc_vmx_outside_smx
                            ? "VT-x disabled in the firmware setup"
                            : "VT-x lacks what vigil needs";
        doctor_set(it, DOC_FAIL, v, "VT-x not usable: %s", caps.reason);
        return;
    }
    long off = cpu_with_vmx_locked_off(r);
    if (off >= 0) {
        doctor_set(it, DOC_FAIL, "VT-x disabled in the firmware on some CPUs",
                   "VT-x usable on cpu 0, but cpu %ld has IA32_FEATURE_CONTROL locked with VMX "
                   "off: it cannot be virtualized",
                   off);
        return;
    }
    doctor_set(it, DOC_OK, NULL,
               "VT-x usable: EPT, unrestricted guest, VPID %s, wait-for-SIPI, VMCS revision "
               "0x%x%s%s (capability MSRs decoded by efi/vmx_caps.c)",
               caps.vpid ? "yes" : "no", caps.revision_id, caps.notes[0] ? "; " : "", caps.notes);
}
