/* vmi/: virtual-machine introspection of a Linux guest from raw memory and vCPU state.
 *
 * Layers (each usable alone; docs/vmi.md):
 *   vmi_mem.h        the access interface: guest-physical reads + vCPU registers
 *   pagewalk.h       guest virtual -> physical (4/5-level, large pages, PCID, KPTI pair)
 *   kernel.h         finding the kernel: image, KASLR, banner, paging mode
 *   vmi_symbols.h    symbol/type sources: ISF profile or the kernel's own kallsyms + BTF
 *   linux_tasks.h    processes and threads;  linux_modules.h  modules
 *   vmi_report.h     the os/kernel/proc/module events
 *
 * vmi_run() below strings them together the way tools/vigil-vmi does: find the kernel, pick the
 * symbol source (a profile when given and matching the running kernel's banner, else auto), then
 * report os, kernel, every process and every module. The hypervisor, which opens the session
 * silently until the kernel is ready, calls the two halves itself (vmi_open, then
 * vmi_report_open and vmi_report_session). */
#ifndef VIGIL_VMI_H
#define VIGIL_VMI_H

#include "base/report.h"
#include "vmi/kernel.h"
#include "vmi/linux_modules.h"
#include "vmi/linux_tasks.h"
#include "vmi/vmi_mem.h"
#include "vmi/vmi_symsrc.h"

struct vmi_run_opts {
    const char *profile_json; /* ISF JSON or NULL for auto */
    size_t profile_len;
    bool processes; /* report proc events */
    bool modules;   /* report module events */
    /* proc events in tree order (each after its parent, children by pid) with their "depth",
     * after a "processes" event with their count; else in task-list order, without depth. */
    bool tree;
};

/* Everything vmi_run found, for callers that want more than the report (tools, benchmarks). */
struct vmi_session {
    struct vmi_kernel kernel;
    struct vmi_symsrc src;
    const char *source; /* "auto" or "profile" */
    struct vmi_linux_tasks tasks;
    struct vmi_linux_modules modules;
    long nprocs, nmodules;
    /* What vmi_open found of a given profile, for vmi_report_open. */
    enum { VMI_PROFILE_NONE, VMI_PROFILE_USED, VMI_PROFILE_BAD, VMI_PROFILE_MISMATCH } profile;
    int profile_rc;
    char profile_banner[256], profile_running[256], profile_error[192];
    /* vmi_kernel_use_own_root's result: 0, or why walks still use the detection root
     * (kernel.root_error; reported as vmi_error stage "kernel_root"). */
    int root_rc;
};

/* Finds the kernel and its symbols into s, then moves walks to the kernel's own page table
 * (vmi_kernel_use_own_root). Reports (to r when r is not NULL) only what vmi_report_open
 * reports, at the moment it is decided. Returns 0 or a negative VMI_E* code with
 * the reason in the session's kernel.error or as a vmi_error event. */
int vmi_open(struct vmi_session *s, const struct vmi_mem *mem, const struct vmi_vcpu *cpus,
             size_t ncpus, const struct vmi_run_opts *o, struct vmi_arena *arena, struct report *r);

/* The events vmi_open reports when given a report: an unusable profile (vmi_error "profile"),
 * one that does not match the running kernel, by its banner or by the offset checks of
 * profile_check.h (profile_mismatch), and walks that could not move to the kernel's own page
 * table (vmi_error "kernel_root"); nothing otherwise. */
void vmi_report_open(const struct vmi_session *s, struct report *r);

/* After vmi_open: the os and kernel events, then proc and module events. In text mode processes
 * come as a tree (needs arena space: about 32 bytes per process). Returns 0 or the first error
 * (also reported as a vmi_error event). */
int vmi_report_session(struct vmi_session *s, const struct vmi_run_opts *o, struct vmi_arena *arena,
                       struct report *r);

/* vmi_open, then vmi_report_session. */
int vmi_run(struct vmi_session *s, const struct vmi_mem *mem, const struct vmi_vcpu *cpus,
            size_t ncpus, const struct vmi_run_opts *o, struct vmi_arena *arena, struct report *r);

#endif
