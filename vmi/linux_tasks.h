/* Linux processes and threads from kernel memory: the task list (init_task.tasks), thread groups
 * (signal->thread_head / task->thread_node, or the older task->thread_group), identities,
 * credentials, state and address space (Documentation: docs/vmi.md).
 *
 * Every structure offset comes from a struct vmi_symsrc (profile or auto); nothing is
 * hard-coded but the kernel's ABI constants (PF_KTHREAD, task state bits), which are part of
 * /proc's user-visible contract. Guest memory is hostile: each list walk is bounded by a count
 * limit and by cycle detection, each pointer must be a canonical kernel address, and a broken
 * walk ends with a clear error (VMI_ELIMIT, VMI_EREAD, VMI_EFORMAT), never a hang. */
#ifndef VIGIL_VMI_LINUX_TASKS_H
#define VIGIL_VMI_LINUX_TASKS_H

#include "vmi/pagewalk.h"
#include "vmi/vmi_listwalk.h" /* vmi_kernel_ptr_ok */
#include "vmi/vmi_symsrc.h"
#include <stdbool.h>
#include <stdint.h>

/* PID_MAX_LIMIT (include/linux/threads.h): every task has a pid, so no kernel has more tasks.
 * It bounds the process list, each thread group, and the threads of one whole walk together
 * (processes sharing one long thread list must not multiply the work). */
#define VMI_TASKS_MAX 4194304u
#define VMI_THREADS_MAX VMI_TASKS_MAX

/* include/linux/sched.h: flags reported by /proc/<pid>/stat. */
#define VMI_PF_KTHREAD 0x00200000u
#define VMI_PF_WQ_WORKER 0x00000020u

/* Offsets resolved once from the symbol source. */
struct vmi_linux_tasks {
    vmi_read_kva_fn rd;
    void *rd_ctx;
    const struct pagewalk *kpw; /* to turn mm->pgd (a direct-map address) into a physical one */
    uint64_t init_task;
    uint32_t o_tasks, o_pid, o_tgid, o_real_parent, o_comm, o_comm_len, o_flags, o_state,
        o_exit_state, o_mm, o_real_cred, o_signal, o_group_leader;
    uint32_t o_mm_pgd, o_cred_uid, o_cred_euid;
    /* Thread list: signal_struct.thread_head + task_struct.thread_node (5.x/6.x), or the older
     * task_struct.thread_group ring. */
    bool use_thread_head;
    uint32_t o_sig_thread_head, o_thread_node, o_thread_group;
    uint32_t state_size; /* task_struct.__state (4) or the older .state (8) */
    /* Kernel threads' full names (6.1+: struct kthread.full_name, reached through
     * task_struct.worker_private), which /proc shows instead of the truncated comm. */
    bool has_kthread_name;
    uint32_t o_worker_private, o_kthread_full_name;
    char error[96];
};

/* One process (thread-group leader) as the walkers see it. */
struct vmi_proc {
    uint64_t task; /* address of the leader's task_struct */
    int32_t pid;   /* == tgid for a leader */
    int32_t tgid;
    int32_t ppid; /* real_parent->tgid, 0 for children of the idle task (as /proc says) */
    /* The name /proc/<pid>/status shows (fs/proc/array.c proc_task_name): task->comm
     * (TASK_COMM_LEN 16), or for a kernel thread its full name when it has one (up to 63 bytes,
     * kernel/kthread.c get_kthread_comm). A workqueue worker's "+desc"/"-desc" suffix, which
     * changes with every work item, is not part of the name. */
    char comm[64];
    uint32_t uid, euid;
    uint32_t flags; /* task->flags (PF_*) */
    bool kthread;
    const char *state; /* "running", "sleeping", ... (fs/proc/array.c task_state_array) */
    char state_letter;
    bool has_mm;
    uint64_t cr3;      /* physical address of mm->pgd (has_mm) */
    uint32_t nthreads; /* filled by vmi_linux_tasks_foreach */
    /* An entry that could not be read whole (hostile or torn memory): error is the VMI_E* code
     * and error_what says what failed. The fields read before it stay valid: task always,
     * pid/tgid/comm/flags/kthread/state when has_identity. The task walk reports such an entry
     * to its callback and goes on with the next one. */
    int error;
    const char *error_what;
    bool has_identity;
    /* Set by vmi_linux_tasks_foreach when this group's thread list could not be walked (broken
     * ring, or the walk's thread budget spent): nthreads is then 0. */
    int threads_error;
};

/* Resolves every offset. VMI_ENOTFOUND (with error[] saying which) when the source lacks one. */
int vmi_linux_tasks_init(struct vmi_linux_tasks *t, const struct vmi_symsrc *src,
                         vmi_read_kva_fn rd, void *rd_ctx, const struct pagewalk *kpw);

/* Reads one task into *p (task must be a canonical kernel address). 0, or the VMI_E* code also
 * left in p->error with p->error_what (see struct vmi_proc for what is still valid). */
int vmi_linux_task_read(const struct vmi_linux_tasks *t, uint64_t task, struct vmi_proc *p);

typedef int (*vmi_proc_cb)(void *ctx, const struct vmi_proc *p);
typedef int (*vmi_tid_cb)(void *ctx, int32_t tid);

/* Calls cb for every entry of the task list, in list order (init_task itself, the idle task,
 * is not a process in /proc and is not reported), with p->nthreads counted. An entry that cannot
 * be read whole is passed with p->error set and the walk goes on; a thread list that cannot be
 * walked sets p->threads_error (all thread groups together may not exceed VMI_TASKS_MAX threads:
 * after that, every further group gets VMI_ELIMIT there). A non-zero cb return stops the walk and
 * is returned. Returns the number of entries (bad ones included), or a negative VMI_E* code when
 * the list itself breaks (a next pointer unreadable or not a kernel address, a cycle, more than
 * VMI_TASKS_MAX entries): then there is no way on to the next task. */
long vmi_linux_tasks_foreach(const struct vmi_linux_tasks *t, vmi_proc_cb cb, void *ctx);

/* Calls cb with the tid of every thread of the leader's group (leader included, list order), at
 * most limit threads (0: VMI_THREADS_MAX; more is VMI_ELIMIT). Pass a process's nthreads from
 * the task walk to bound re-walks by what was already counted. Returns the number of threads or a
 * negative VMI_E* code. */
long vmi_linux_threads_foreach(const struct vmi_linux_tasks *t, uint64_t leader, uint64_t limit,
                               vmi_tid_cb cb, void *ctx);

/* The /proc state name for __state / exit_state (fs/proc/array.c, include/linux/sched.h). */
const char *vmi_linux_task_state_name(uint32_t state, uint32_t exit_state, char *letter);

#endif
