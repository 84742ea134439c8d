// SPDX-License-Identifier: GPL-2.0
/*
 * badtask: test module for tests/e2e/hv_bochs_badtask.sh (scenario tests/scenarios/hv-badtask.sh).
 * Ring-0 code in the guest that feeds introspection task-list entries it cannot read whole: one
 * task's real_parent and another task's real_cred are pointed at addresses that do not read, the
 * task list itself stays intact. Unloading the module puts the saved pointers back exactly.
 *
 *   insmod badtask.ko parent_pid=N cred_pid=M     (either may be left out)
 *   rmmod badtask
 *
 * Only for sleeping processes the test made for this purpose. While the pointers are false the
 * kernel must not follow them: nothing may read /proc/<pid> of those tasks (ps), signal them,
 * let them exit or wake, and their parent must stay alive (reparenting rewrites real_parent).
 * The module does not take tasklist_lock (it is not exported to modules); the scenario's promise
 * that nothing else touches these fields in the window is what makes the writes safe.
 *
 * The false pointers, for 4-level paging (Documentation/x86/x86_64/mm.rst):
 *   real_parent  0xffff800000001000: in the guard hole at the start of the kernel half,
 *                canonical and never mapped, so a read through the page tables faults;
 *   real_cred    0xff00000000001000: not canonical under 4-level paging, although its top byte
 *                looks like a kernel address.
 * Before writing, the module checks that neither reads (copy_from_kernel_nofault fails) and
 * refuses to load otherwise (e.g. under 5-level paging, where the first is in the direct map).
 */
#include <linux/cred.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/uaccess.h>

#define FAKE_PARENT 0xffff800000001000UL
#define FAKE_CRED 0xff00000000001000UL

static int parent_pid;
module_param(parent_pid, int, 0444);
MODULE_PARM_DESC(parent_pid, "process whose real_parent is made unreadable (0: none)");
static int cred_pid;
module_param(cred_pid, int, 0444);
MODULE_PARM_DESC(cred_pid, "process whose real_cred is made unreadable (0: none)");

/* One task whose pointer field was replaced: the reference keeps its task_struct alive. */
struct victim {
    struct task_struct *task;
    void __rcu **field; /* &task->real_parent or &task->real_cred */
    void *saved;
    unsigned long fake;
    const char *what;
};
static struct victim victims[2];

static bool reads(unsigned long addr) {
    u64 v;

    return copy_from_kernel_nofault(&v, (const void *)addr, sizeof(v)) == 0;
}

/* A user process other than init and the caller, found by its pid in the caller's namespace. */
static struct task_struct *victim_task(int pid) {
    struct pid *p = find_get_pid(pid);
    struct task_struct *t;

    if (!p)
        return NULL;
    t = get_pid_task(p, PIDTYPE_PID);
    put_pid(p);
    if (t && ((t->flags & PF_KTHREAD) || t->pid == 1 || t->tgid == current->tgid ||
              t != t->group_leader)) {
        put_task_struct(t);
        t = NULL;
    }
    return t;
}

static int corrupt(struct victim *v, int pid, const char *what, size_t off, unsigned long fake) {
    struct task_struct *t;

    if (!pid)
        return 0;
    if (reads(fake)) {
        pr_err("badtask: %s value %px reads on this kernel: refusing\n", what, (void *)fake);
        return -EINVAL;
    }
    t = victim_task(pid);
    if (!t) {
        pr_err("badtask: pid %d is not a user process this module may use\n", pid);
        return -ESRCH;
    }
    v->task = t;
    v->what = what;
    v->fake = fake;
    v->field = (void __rcu **)((char *)t + off);
    v->saved = rcu_dereference_protected(*v->field, 1);
    rcu_assign_pointer(*v->field, (void *)fake);
    pr_info("badtask: pid %d task %px %s %px -> %px (reads: no)\n", pid, t, what, v->saved,
            (void *)fake);
    return 0;
}

static void restore(struct victim *v) {
    void *now;

    if (!v->task)
        return;
    now = rcu_dereference_protected(*v->field, 1);
    rcu_assign_pointer(*v->field, v->saved);
    /* Anything else in the field means the kernel wrote it in the window: the test's promise
     * was broken, and the saved value may be stale. Said loudly for the test to see. */
    if (now != (void *)v->fake)
        pr_err("badtask: pid %d %s was %px, not the value written\n", v->task->pid, v->what, now);
    pr_info("badtask: pid %d %s restored to %px\n", v->task->pid, v->what, v->saved);
    put_task_struct(v->task);
    v->task = NULL;
}

static int __init badtask_init(void) {
    int rc;

    rc = corrupt(&victims[0], parent_pid, "real_parent", offsetof(struct task_struct, real_parent),
                 FAKE_PARENT);
    if (!rc)
        rc = corrupt(&victims[1], cred_pid, "real_cred", offsetof(struct task_struct, real_cred),
                     FAKE_CRED);
    if (rc)
        restore(&victims[0]);
    return rc;
}

static void __exit badtask_exit(void) {
    restore(&victims[1]);
    restore(&victims[0]);
}

module_init(badtask_init);
module_exit(badtask_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION(
    "vigil test: give sleeping test tasks real_parent/real_cred pointers that do not read");
