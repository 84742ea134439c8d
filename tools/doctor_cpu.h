/* vigil-doctor's processor checks: the CPU as Linux describes it in /proc/cpuinfo, and VT-x as
 * vigil itself will judge it. The VMX capability MSRs (read through Linux's msr driver,
 * /dev/cpu/N/msr) are decoded by efi/vmx_caps.c, the code the loader runs: the doctor provides
 * the hardware seam (hw_cpuid, hw_rdmsr of base/hw.h) from the files instead of the instructions.
 */
#ifndef VIGIL_DOCTOR_CPU_H
#define VIGIL_DOCTOR_CPU_H

#include "tools/doctor_item.h"
#include "tools/doctor_root.h"

struct doctor_cpuinfo {
    bool read; /* /proc/cpuinfo could be read */
    char vendor[13];
    char model[96];
    char flags[4096];
    bool have_vmx_flags; /* the "vmx flags" line (Linux 5.8+, when VT-x is enabled) */
    char vmx_flags[1024];
};

/* 0, or -errno when /proc/cpuinfo cannot be read. Only the first processor's block is used. */
int doctor_cpuinfo_read(const struct doctor_root *r, struct doctor_cpuinfo *ci);
/* Is word a whole word of the space-separated list? */
bool doctor_has_word(const char *list, const char *word);

/* The "cpu" line (vendor and model, informational). */
void doctor_check_cpu(const struct doctor_cpuinfo *ci, struct doctor_item *it);
/* The "vt-x" line: VT-x with EPT, unrestricted guest and the rest vigil requires. */
void doctor_check_vtx(const struct doctor_root *r, const struct doctor_cpuinfo *ci,
                      struct doctor_item *it);

#endif
