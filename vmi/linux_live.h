/* Linux knowledge behind vigil's live process events: which kernel functions are hooked, where
 * their arguments are, what their entry looks like, and how a hook's register state and guest
 * memory become an event. The hypervisor arms an INT3 at the address vmi_linux_hook_site gives,
 * and at the #BP exit hands the registers to vmi_linux_live_decode; it knows nothing else of Linux.
 *
 * The hooks (vmi_linux_hooks[], by enum vmi_linux_hook):
 *   wake_up_new_task(struct task_struct *p)                 a new task is about to run: proc_start
 *   __set_task_comm(struct task_struct *tsk, const char *buf, bool exec)
 *                                                           exec (proc_exec) or rename
 * (proc_rename) do_exit(long code)                                      current exits: proc_exit
 * Arguments are in the System V AMD64 ABI's integer registers (rdi, rsi, rdx, ...) at the entry.
 * The entry of each is ftrace's 5-byte NOP at run time (the call to __fentry__ patched out at
 * boot); a hook is armed only when exactly that NOP is there, its first byte replaced by INT3, and
 * the hooked function resumes after the NOP, so no single-step is needed.
 *
 * The hook matches on the address alone, so ring-0 code can jump there with registers of its
 * choice. The checks refuse the arguments the kernel's own callers never pass (kernel/fork.c
 * kernel_clone, fs/exec.c begin_new_exec, kernel/kthread.c, fs/proc/base.c comm_write,
 * kernel/sys.c prctl):
 *   - a new process's parent is current's thread group (fork, clone, kthreadd for kernel threads)
 *     or current's own parent (CLONE_PARENT, e.g. a user-mode helper started from a kworker);
 *   - exec renames current itself;
 *   - any other rename is of current, of a thread of current's group (/proc/self/task/N/comm), or
 *     of a kernel thread being named by whoever created it (kthread_create's set_task_comm).
 * Code that builds a fake task_struct consistent with these rules is not caught here: the
 * integrity checks of the kernel's own lists are the answer to such ring-0 code.
 *
 * Every register value and every byte read is untrusted: task pointers go through the bounded
 * task reader (linux_tasks.h), strings through pagewalk_read_str with a fixed bound. */
#ifndef VIGIL_VMI_LINUX_LIVE_H
#define VIGIL_VMI_LINUX_LIVE_H

#include "vmi/linux_tasks.h"
#include "vmi/pagewalk.h"
#include "vmi/vmi.h"
#include "vmi/vmi_symsrc.h"

#include <stdbool.h>
#include <stdint.h>

enum vmi_linux_hook {
    VMI_LINUX_HOOK_START, /* wake_up_new_task */
    VMI_LINUX_HOOK_COMM,  /* __set_task_comm */
    VMI_LINUX_HOOK_EXIT,  /* do_exit */
    VMI_LINUX_HOOK_COUNT
};

/* What a hooked function's parameter means to the decoder. */
enum vmi_linux_arg {
    VMI_LINUX_ARG_TASK, /* struct task_struct * */
    VMI_LINUX_ARG_BUF,  /* const char *: the new comm */
    VMI_LINUX_ARG_EXEC, /* bool: the rename is an exec (only the low byte is the C bool) */
    VMI_LINUX_ARG_CODE, /* long: do_exit's code */
    VMI_LINUX_ARG_KINDS
};

struct vmi_linux_hook_def {
    const char *function; /* the kernel symbol */
    /* Per enum vmi_linux_arg: the parameter's position, 1 for the first; 0 when the function has
     * no such parameter. vmi_linux_hook_arg maps a position to its register. */
    uint8_t param[VMI_LINUX_ARG_KINDS];
};

extern const struct vmi_linux_hook_def vmi_linux_hooks[VMI_LINUX_HOOK_COUNT];

/* The registers at a hook's entry: the System V AMD64 integer argument registers in parameter
 * order, and the GS base (the kernel's, since the hooked functions run in the kernel). */
struct vmi_linux_hook_regs {
    uint64_t rdi, rsi, rdx, rcx, r8, r9;
    uint64_t gs_base;
};

/* The value of parameter position pos (1..6) of a function at its entry; 0 for any other pos. */
uint64_t vmi_linux_hook_arg(const struct vmi_linux_hook_regs *r, unsigned pos);

/* Bytes at a hook's entry: ftrace's 5-byte NOP (nopl 0x0(%rax,%rax,1)). The hook replaces the
 * first with INT3 (vmi_linux_hook_patch) and the function resumes VMI_LINUX_HOOK_SITE_LEN bytes
 * after the entry. */
#define VMI_LINUX_HOOK_SITE_LEN 5
extern const uint8_t vmi_linux_ftrace_nop[VMI_LINUX_HOOK_SITE_LEN];

/* true when code (VMI_LINUX_HOOK_SITE_LEN bytes at the entry) is ftrace's NOP. Anything else
 * (ftrace has not patched the call yet, or traces the function) is left alone. */
bool vmi_linux_hook_site_is_nop(const uint8_t *code);
/* The bytes the armed entry holds: INT3 over the NOP's first byte, the NOP's tail after it. */
void vmi_linux_hook_patch(uint8_t out[VMI_LINUX_HOOK_SITE_LEN]);

enum vmi_linux_site {
    VMI_LINUX_SITE_READY,     /* *pa holds ftrace's NOP: arm it */
    VMI_LINUX_SITE_NO_SYMBOL, /* the source lacks the function: never armable */
    VMI_LINUX_SITE_NOT_YET,   /* unmapped, across a page end, unreadable or not the NOP: retry */
};
/* Where hook h goes. *va is the function's address: looked up in src when 0 (and kept there for
 * the next call). On READY, *pa is the guest-physical address of the entry (whole inside one
 * page, so one physical patch covers it), read through pw. */
enum vmi_linux_site vmi_linux_hook_site(const struct vmi_symsrc *src, const struct pagewalk *pw,
                                        enum vmi_linux_hook h, uint64_t *va, uint64_t *pa);

/* What the decoder reads guest memory through. */
struct vmi_linux_live {
    const struct vmi_linux_tasks *tasks;
    const struct pagewalk *pw; /* kernel addresses */
    /* The per-CPU offset of current_task (GS-relative); 0 when unknown: then the arguments are
     * not checked against the running task. */
    uint64_t current_task_off;
};

/* Points l at session s's walkers and, while current_task_off is unknown, looks it up. */
void vmi_linux_live_bind(struct vmi_linux_live *l, const struct vmi_session *s);

/* The running task: current_task through the GS base. false when unknown or unreadable. */
bool vmi_linux_live_current(const struct vmi_linux_live *l, uint64_t gs_base, uint64_t *task,
                            struct vmi_proc *p);

enum vmi_linux_live_kind {
    VMI_LINUX_LIVE_NONE,    /* nothing to report: a thread, not a process, or unreadable */
    VMI_LINUX_LIVE_START,   /* proc: the new process */
    VMI_LINUX_LIVE_EXEC,    /* proc: the task; comm: its new name */
    VMI_LINUX_LIVE_RENAME,  /* proc: the task; comm: its new name */
    VMI_LINUX_LIVE_EXIT,    /* proc: the exiting process; signal or code */
    VMI_LINUX_LIVE_FORGERY, /* the arguments do not fit the running task: task_arg, cur, why */
};

/* TASK_COMM_LEN: the kernel's task->comm, and the most __set_task_comm copies. */
#define VMI_LINUX_COMM_LEN 16

struct vmi_linux_live_event {
    enum vmi_linux_live_kind kind;
    struct vmi_proc proc;
    char comm[VMI_LINUX_COMM_LEN];
    /* EXIT: do_exit's code as wait() will see it: a signal in bits 6:0, else the exit status in
     * bits 15:8 (signal 0). */
    uint32_t signal, code;
    uint64_t task_arg;   /* FORGERY: the task argument */
    struct vmi_proc cur; /* FORGERY: the running task */
    const char *why;     /* FORGERY: the rule broken */
};

/* The event hook h's entry with registers r stands for. */
void vmi_linux_live_decode(const struct vmi_linux_live *l, enum vmi_linux_hook h,
                           const struct vmi_linux_hook_regs *r, struct vmi_linux_live_event *ev);

/* NULL when wake_up_new_task(newp) fits current (cur at address cur_task), else why not. */
const char *vmi_linux_live_check_start(const struct vmi_proc *newp, uint64_t new_task,
                                       const struct vmi_proc *cur, uint64_t cur_task);
/* NULL when __set_task_comm(tsk, ..., exec) fits current, else why not. */
const char *vmi_linux_live_check_comm(const struct vmi_proc *tsk, uint64_t tsk_task, bool exec,
                                      const struct vmi_proc *cur, uint64_t cur_task);

#endif
