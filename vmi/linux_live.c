#include "vmi/linux_live.h"

#include "base/lib.h"
#include "vmi/vmi_mem.h"

const struct vmi_linux_hook_def vmi_linux_hooks[VMI_LINUX_HOOK_COUNT] = {
    [VMI_LINUX_HOOK_START] = {"wake_up_new_task", {[VMI_LINUX_ARG_TASK] = 1}},
    [VMI_LINUX_HOOK_COMM] =
        {"__set_task_comm",
         {[VMI_LINUX_ARG_TASK] = 1, [VMI_LINUX_ARG_BUF] = 2, [VMI_LINUX_ARG_EXEC] = 3}},
    [VMI_LINUX_HOOK_EXIT] = {"do_exit", {[VMI_LINUX_ARG_CODE] = 1}},
};

const uint8_t vmi_linux_ftrace_nop[VMI_LINUX_HOOK_SITE_LEN] = {0x0f, 0x1f, 0x44, 0x00, 0x00};

uint64_t vmi_linux_hook_arg(const struct vmi_linux_hook_regs *r, unsigned pos) {
    switch (pos) {
    case 1:
        return r->rdi;
    case 2:
        return r->rsi;
    case 3:
        return r->rdx;
    case 4:
        return r->rcx;
    case 5:
        return r->r8;
    case 6:
        return r->r9;
    default:
        return 0;
    }
}

static uint64_t arg(enum vmi_linux_hook h, enum vmi_linux_arg a,
                    const struct vmi_linux_hook_regs *r) {
    return vmi_linux_hook_arg(r, vmi_linux_hooks[h].param[a]);
}

bool vmi_linux_hook_site_is_nop(const uint8_t *code) {
    return lib_memcmp(code, vmi_linux_ftrace_nop, VMI_LINUX_HOOK_SITE_LEN) == 0;
}

void vmi_linux_hook_patch(uint8_t out[VMI_LINUX_HOOK_SITE_LEN]) {
    lib_memcpy(out, vmi_linux_ftrace_nop, VMI_LINUX_HOOK_SITE_LEN);
    out[0] = 0xCC; /* INT3 */
}

enum vmi_linux_site vmi_linux_hook_site(const struct vmi_symsrc *src, const struct pagewalk *pw,
                                        enum vmi_linux_hook h, uint64_t *va, uint64_t *pa) {
    if (!*va && src->sym(src->ctx, vmi_linux_hooks[h].function, va) != 0)
        return VMI_LINUX_SITE_NO_SYMBOL;
    struct pagewalk_xlate x;
    if (pagewalk_translate(pw, *va, &x) != 0 || (*va & 4095) > 4096 - VMI_LINUX_HOOK_SITE_LEN)
        return VMI_LINUX_SITE_NOT_YET;
    uint8_t code[VMI_LINUX_HOOK_SITE_LEN];
    if (vmi_read_phys(pw->mem, x.pa, code, sizeof(code)) != 0)
        return VMI_LINUX_SITE_NOT_YET;
    if (!vmi_linux_hook_site_is_nop(code))
        return VMI_LINUX_SITE_NOT_YET;
    *pa = x.pa;
    return VMI_LINUX_SITE_READY;
}

void vmi_linux_live_bind(struct vmi_linux_live *l, const struct vmi_session *s) {
    l->tasks = &s->tasks;
    l->pw = &s->kernel.pw;
    uint64_t off;
    if (!l->current_task_off && s->src.sym(s->src.ctx, "current_task", &off) == 0) {
        /* A per-CPU offset: kallsyms gives it as is; a profile source slid it with the image. */
        if (lib_streq(s->source, "profile") && s->kernel.kaslr_known)
            off -= (uint64_t)s->kernel.kaslr;
        l->current_task_off = off;
    }
}

bool vmi_linux_live_current(const struct vmi_linux_live *l, uint64_t gs_base, uint64_t *task,
                            struct vmi_proc *p) {
    return l->current_task_off &&
           pagewalk_read(l->pw, gs_base + l->current_task_off, task, sizeof(*task)) == 0 &&
           vmi_linux_task_read(l->tasks, *task, p) == 0;
}

static void forgery(struct vmi_linux_live_event *ev, uint64_t task, const char *why) {
    ev->kind = VMI_LINUX_LIVE_FORGERY;
    ev->task_arg = task;
    ev->why = why;
}

static void decode_start(const struct vmi_linux_live *l, const struct vmi_linux_hook_regs *r,
                         struct vmi_linux_live_event *ev) {
    uint64_t task = arg(VMI_LINUX_HOOK_START, VMI_LINUX_ARG_TASK, r), cur_task;
    if (vmi_linux_task_read(l->tasks, task, &ev->proc) != 0 || ev->proc.pid != ev->proc.tgid)
        return; /* a new thread, not a new process */
    if (vmi_linux_live_current(l, r->gs_base, &cur_task, &ev->cur)) {
        const char *why = vmi_linux_live_check_start(&ev->proc, task, &ev->cur, cur_task);
        if (why) {
            forgery(ev, task, why);
            return;
        }
    }
    ev->kind = VMI_LINUX_LIVE_START;
}

/* Exec and rename are the same call; a rename that is not an exec is reported for a process only
 * (prctl PR_SET_NAME, as busybox does for its applets, or a new kernel thread getting its name). */
static void decode_comm(const struct vmi_linux_live *l, const struct vmi_linux_hook_regs *r,
                        struct vmi_linux_live_event *ev) {
    uint64_t task = arg(VMI_LINUX_HOOK_COMM, VMI_LINUX_ARG_TASK, r), cur_task;
    uint64_t buf = arg(VMI_LINUX_HOOK_COMM, VMI_LINUX_ARG_BUF, r);
    bool exec = (arg(VMI_LINUX_HOOK_COMM, VMI_LINUX_ARG_EXEC, r) & 0xFF) != 0;
    if (vmi_linux_task_read(l->tasks, task, &ev->proc) != 0 ||
        (!exec && ev->proc.pid != ev->proc.tgid) ||
        pagewalk_read_str(l->pw, buf, ev->comm, sizeof(ev->comm)) < 0)
        return;
    if (vmi_linux_live_current(l, r->gs_base, &cur_task, &ev->cur)) {
        const char *why = vmi_linux_live_check_comm(&ev->proc, task, exec, &ev->cur, cur_task);
        if (why) {
            forgery(ev, task, why);
            return;
        }
    }
    ev->kind = exec ? VMI_LINUX_LIVE_EXEC : VMI_LINUX_LIVE_RENAME;
}

static void decode_exit(const struct vmi_linux_live *l, const struct vmi_linux_hook_regs *r,
                        struct vmi_linux_live_event *ev) {
    uint64_t task;
    if (!vmi_linux_live_current(l, r->gs_base, &task, &ev->proc) || ev->proc.pid != ev->proc.tgid)
        return; /* threads other than the leader are not processes ending */
    uint32_t code = (uint32_t)arg(VMI_LINUX_HOOK_EXIT, VMI_LINUX_ARG_CODE, r);
    ev->signal = code & 0x7F;
    ev->code = (code >> 8) & 0xFF;
    ev->kind = VMI_LINUX_LIVE_EXIT;
}

void vmi_linux_live_decode(const struct vmi_linux_live *l, enum vmi_linux_hook h,
                           const struct vmi_linux_hook_regs *r, struct vmi_linux_live_event *ev) {
    lib_memset(ev, 0, sizeof(*ev));
    ev->kind = VMI_LINUX_LIVE_NONE;
    if (h == VMI_LINUX_HOOK_START)
        decode_start(l, r, ev);
    else if (h == VMI_LINUX_HOOK_COMM)
        decode_comm(l, r, ev);
    else if (h == VMI_LINUX_HOOK_EXIT)
        decode_exit(l, r, ev);
}

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
