/* Linux knowledge behind vigil's live process events: whether the arguments a hooked kernel
 * function received fit the task the CPU is running (`current`). vigil arms an INT3 at the entry
 * of wake_up_new_task(p), __set_task_comm(tsk, buf, exec) and do_exit(code); the hook matches on
 * the address alone, so ring-0 code can jump there with registers of its choice. These checks
 * refuse the arguments the kernel's own callers never pass (kernel/fork.c kernel_clone,
 * fs/exec.c begin_new_exec, kernel/kthread.c, fs/proc/base.c comm_write, kernel/sys.c prctl):
 *   - a new process's parent is current's thread group (fork, clone, kthreadd for kernel threads)
 *     or current's own parent (CLONE_PARENT, e.g. a user-mode helper started from a kworker);
 *   - exec renames current itself;
 *   - any other rename is of current, of a thread of current's group (/proc/self/task/N/comm), or
 *     of a kernel thread being named by whoever created it (kthread_create's set_task_comm).
 * Code that builds a fake task_struct consistent with these rules is not caught here: the
 * integrity checks of the kernel's own lists are the answer to such ring-0 code.
 * Pure functions over tasks already read through the hostile-memory walkers (linux_tasks.h). */
#ifndef VIGIL_VMI_LINUX_LIVE_H
#define VIGIL_VMI_LINUX_LIVE_H

#include "vmi/linux_tasks.h"

#include <stdbool.h>
#include <stdint.h>

/* NULL when wake_up_new_task(newp) fits current (cur at address cur_task), else why not. */
const char *vmi_linux_live_check_start(const struct vmi_proc *newp, uint64_t new_task,
                                       const struct vmi_proc *cur, uint64_t cur_task);
/* NULL when __set_task_comm(tsk, ..., exec) fits current, else why not. */
const char *vmi_linux_live_check_comm(const struct vmi_proc *tsk, uint64_t tsk_task, bool exec,
                                      const struct vmi_proc *cur, uint64_t cur_task);

#endif
