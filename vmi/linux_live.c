#include "vmi/linux_live.h"

const char *vmi_linux_live_check_start(const struct vmi_proc *newp, uint64_t new_task,
                                       const struct vmi_proc *cur, uint64_t cur_task) {
    if (new_task == cur_task)
        return "the new task is the running one";
    if (newp->ppid != cur->tgid && newp->ppid != cur->ppid)
        return "the new task's parent is neither the running task's group nor its parent";
    return NULL;
}

const char *vmi_linux_live_check_comm(const struct vmi_proc *tsk, uint64_t tsk_task, bool exec,
                                      const struct vmi_proc *cur, uint64_t cur_task) {
    if (tsk_task == cur_task)
        return NULL;
    if (exec)
        return "exec renames a task other than the running one";
    if (tsk->tgid == cur->tgid)
        return NULL;
    if (tsk->kthread)
        return NULL;
    return "a rename of a task outside the running task's group";
}
