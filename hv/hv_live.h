/* Live process events (issue 6): proc_start, proc_exec and proc_exit caught at the moment they
 * happen, by an INT3 on the entry of three kernel functions found through the symbol source:
 *   wake_up_new_task(struct task_struct *p)          a new task is about to run → proc_start
 *   __set_task_comm(struct task_struct *, const char *buf, bool exec)   exec → proc_exec
 *   do_exit(long code)                               current exits → proc_exit
 * Each entry is ftrace's 5-byte NOP at run time (the call to __fentry__ patched out at boot); a
 * hook is armed only when exactly that NOP is there, by writing 0xCC over its first byte in guest
 * physical memory. The #BP exit reports the event and resumes after the NOP, so no single-step
 * (and no monitor trap flag, which Bochs lacks) is needed. INT3s that are not vigil's are given
 * back to the guest. docs/hv-bringup.md has the reasons. */
#ifndef VIGIL_HV_LIVE_H
#define VIGIL_HV_LIVE_H

#include "percpu.h"
#include "vmi.h"

#include <stdbool.h>

/* Boot CPU, after the OS was identified: arms what can be armed (call again until done). */
void hv_live_arm(struct vmi_session *s);
/* Every exit: keeps this CPU's #BP interception in line with the armed hooks. */
void hv_live_sync(struct hv_cpu *c);
/* The live view: the processes the events say exist. Seeded from the first snapshot; re-scans
 * compare the walked process list with it (hv/hv_vmi.c). */
struct live_entry {
    int32_t pid;
    char comm[16];
};
void hv_live_seed(const struct live_entry *e, uint32_t n);
/* Adds (present) or removes one process of the live view. */
void hv_live_set(int32_t pid, const char *comm, bool present);
/* Copies the live view into out (at most max); returns how many processes it holds. */
uint32_t hv_live_view(struct live_entry *out, uint32_t max);

/* Exception exit with vector 3: true when it was one of vigil's hooks (handled). */
bool hv_live_breakpoint(struct hv_cpu *c, struct guest_regs *g);

#endif
