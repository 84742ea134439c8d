/* Linux task/thread walkers. See linux_tasks.h. */
#include "vmi/linux_tasks.h"
#include "base/fmt.h"
#include "base/lib.h"
#include "vmi/vmi_listwalk.h"

static int member(struct vmi_linux_tasks *t, const struct vmi_symsrc *s, const char *st,
                  const char *path, uint32_t *off, uint32_t *size) {
    struct vmi_member m;
    int rc = s->member(s->ctx, st, path, &m);
    if (rc) {
        fmt_snprintf(t->error, sizeof(t->error), "symbol source has no %s.%s", st, path);
        return rc;
    }
    *off = m.offset;
    if (size)
        *size = m.size;
    return 0;
}

int vmi_linux_tasks_init(struct vmi_linux_tasks *t, const struct vmi_symsrc *src,
                         vmi_read_kva_fn rd, void *rd_ctx, const struct pagewalk *kpw) {
    lib_memset(t, 0, sizeof(*t));
    t->rd = rd;
    t->rd_ctx = rd_ctx;
    t->kpw = kpw;
    if (!src || !src->sym || !src->member) {
        lib_strlcpy(t->error, "no symbol source", sizeof(t->error));
        return VMI_ENOTFOUND;
    }
    int rc = src->sym(src->ctx, "init_task", &t->init_task);
    if (rc) {
        lib_strlcpy(t->error, "symbol source has no init_task", sizeof(t->error));
        return rc;
    }
    uint32_t sz;
    const char *ts = "task_struct";
    if ((rc = member(t, src, ts, "tasks", &t->o_tasks, NULL)) ||
        (rc = member(t, src, ts, "pid", &t->o_pid, NULL)) ||
        (rc = member(t, src, ts, "tgid", &t->o_tgid, NULL)) ||
        (rc = member(t, src, ts, "real_parent", &t->o_real_parent, NULL)) ||
        (rc = member(t, src, ts, "comm", &t->o_comm, &t->o_comm_len)) ||
        (rc = member(t, src, ts, "flags", &t->o_flags, NULL)) ||
        (rc = member(t, src, ts, "exit_state", &t->o_exit_state, NULL)) ||
        (rc = member(t, src, ts, "mm", &t->o_mm, NULL)) ||
        (rc = member(t, src, ts, "real_cred", &t->o_real_cred, NULL)) ||
        (rc = member(t, src, ts, "signal", &t->o_signal, NULL)) ||
        (rc = member(t, src, ts, "group_leader", &t->o_group_leader, NULL)) ||
        (rc = member(t, src, "mm_struct", "pgd", &t->o_mm_pgd, NULL)) ||
        (rc = member(t, src, "cred", "uid", &t->o_cred_uid, NULL)) ||
        (rc = member(t, src, "cred", "euid", &t->o_cred_euid, NULL)))
        return rc;
    /* 5.14 renamed task_struct.state (long) to __state (unsigned int). */
    if (member(t, src, ts, "__state", &t->o_state, &sz) == 0) {
        t->state_size = 4;
    } else if ((rc = member(t, src, ts, "state", &t->o_state, &sz)) == 0) {
        t->state_size = sz == 8 ? 8 : 4;
    } else {
        lib_strlcpy(t->error, "symbol source has neither task_struct.__state nor .state",
                    sizeof(t->error));
        return rc;
    }
    /* Thread groups: signal->thread_head + thread_node where present (3.14+), else the
     * thread_group ring. */
    if (member(t, src, "signal_struct", "thread_head", &t->o_sig_thread_head, NULL) == 0 &&
        member(t, src, ts, "thread_node", &t->o_thread_node, NULL) == 0) {
        t->use_thread_head = true;
    } else if ((rc = member(t, src, ts, "thread_group", &t->o_thread_group, NULL)) != 0) {
        lib_strlcpy(t->error, "symbol source has no thread list (thread_head or thread_group)",
                    sizeof(t->error));
        return rc;
    }
    uint32_t wp_size;
    if (member(t, src, ts, "worker_private", &t->o_worker_private, &wp_size) == 0 && wp_size == 8 &&
        member(t, src, "kthread", "full_name", &t->o_kthread_full_name, NULL) == 0)
        t->has_kthread_name = true;
    if (t->o_comm_len == 0 || t->o_comm_len > 16)
        t->o_comm_len = 16;
    t->error[0] = 0;
    return VMI_OK;
}

static int rd32(const struct vmi_linux_tasks *t, uint64_t va, uint32_t *v) {
    return t->rd(t->rd_ctx, va, v, 4) ? VMI_EREAD : 0;
}
static int rd64(const struct vmi_linux_tasks *t, uint64_t va, uint64_t *v) {
    return t->rd(t->rd_ctx, va, v, 8) ? VMI_EREAD : 0;
}

const char *vmi_linux_task_state_name(uint32_t state, uint32_t exit_state, char *letter) {
    /* fs/proc/array.c task_state_array, indexed by fls() of the TASK_REPORT bits
     * (include/linux/sched.h __task_state_index). */
    static const char *const names[] = {"running", "sleeping",     "disk sleep",
                                        "stopped", "tracing stop", "dead",
                                        "zombie",  "parked",       "idle"};
    static const char letters[] = "RSDTtXZPI";
    const uint32_t TASK_REPORT = 0x7f, TASK_IDLE = 0x402, TASK_RTLOCK_WAIT = 0x1000;
    uint32_t s = (state | exit_state) & TASK_REPORT;
    if ((state & TASK_IDLE) == TASK_IDLE)
        s = TASK_REPORT + 1;
    if (state & TASK_RTLOCK_WAIT)
        s = 2; /* reported as TASK_UNINTERRUPTIBLE */
    unsigned idx = 0;
    while (s) {
        idx++;
        s >>= 1;
    }
    if (idx >= ARRAY_SIZE(names))
        idx = ARRAY_SIZE(names) - 1;
    if (letter)
        *letter = letters[idx];
    return names[idx];
}

/* Records why a task entry could not be read whole; returns code. */
static int task_error(struct vmi_proc *p, int code, const char *what) {
    p->error = code;
    p->error_what = what;
    return code;
}

int vmi_linux_task_read(const struct vmi_linux_tasks *t, uint64_t task, struct vmi_proc *p) {
    lib_memset(p, 0, sizeof(*p));
    p->task = task;
    if (!vmi_kernel_ptr_ok(task))
        return task_error(p, VMI_EFORMAT, "task pointer is not a kernel address");
    uint32_t pid, tgid, flags, exit_state, state32 = 0;
    uint64_t parent, cred, mm, state64;
    if (rd32(t, task + t->o_pid, &pid) || rd32(t, task + t->o_tgid, &tgid) ||
        rd32(t, task + t->o_flags, &flags) || rd32(t, task + t->o_exit_state, &exit_state))
        return task_error(p, VMI_EREAD, "task_struct unreadable");
    if (t->state_size == 8) {
        if (rd64(t, task + t->o_state, &state64))
            return task_error(p, VMI_EREAD, "task_struct unreadable");
        state32 = (uint32_t)state64;
    } else if (rd32(t, task + t->o_state, &state32)) {
        return task_error(p, VMI_EREAD, "task_struct unreadable");
    }
    if (t->rd(t->rd_ctx, task + t->o_comm, p->comm, t->o_comm_len))
        return task_error(p, VMI_EREAD, "task_struct unreadable");
    p->comm[t->o_comm_len] = 0;
    p->pid = (int32_t)pid;
    p->tgid = (int32_t)tgid;
    p->flags = flags;
    p->kthread = (flags & VMI_PF_KTHREAD) != 0;
    p->state = vmi_linux_task_state_name(state32, exit_state, &p->state_letter);
    if (p->kthread && t->has_kthread_name && !(flags & VMI_PF_WQ_WORKER)) {
        /* get_kthread_comm(): kthread->full_name when set (names longer than 15 bytes). */
        uint64_t kt, fn;
        char full[sizeof(p->comm)];
        if (rd64(t, task + t->o_worker_private, &kt) == 0 && vmi_kernel_ptr_ok(kt) &&
            rd64(t, kt + t->o_kthread_full_name, &fn) == 0 && fn && (fn >> 56) == 0xff &&
            t->rd(t->rd_ctx, fn, full, 1) == 0) {
            size_t n = 0;
            /* Byte by byte up to the NUL: the string may end just before an unmapped page. */
            while (n + 1 < sizeof(full) && t->rd(t->rd_ctx, fn + n, &full[n], 1) == 0 && full[n])
                n++;
            full[n] = 0;
            if (n)
                lib_memcpy(p->comm, full, n + 1);
        }
    }
    p->has_identity = true;
    /* PPid as /proc shows it: the tgid of real_parent (0 for children of the idle task). */
    if (rd64(t, task + t->o_real_parent, &parent) || rd64(t, task + t->o_real_cred, &cred) ||
        rd64(t, task + t->o_mm, &mm))
        return task_error(p, VMI_EREAD, "task_struct unreadable");
    if (!vmi_kernel_ptr_ok(parent))
        return task_error(p, VMI_EFORMAT, "real_parent is not a kernel address");
    uint32_t ppid;
    if (rd32(t, parent + t->o_tgid, &ppid))
        return task_error(p, VMI_EREAD, "real_parent unreadable");
    p->ppid = (int32_t)ppid;
    /* Uid/euid as /proc/<pid>/status shows them: from task->real_cred (get_task_cred()). */
    if (!vmi_kernel_ptr_ok(cred))
        return task_error(p, VMI_EFORMAT, "real_cred is not a kernel address");
    if (rd32(t, cred + t->o_cred_uid, &p->uid) || rd32(t, cred + t->o_cred_euid, &p->euid))
        return task_error(p, VMI_EREAD, "real_cred unreadable");
    /* Address space: mm->pgd is a direct-map address; CR3 holds its physical address. Kernel
     * threads (and zombies, after exit_mm) have no mm. */
    if (mm) {
        uint64_t pgd;
        struct pagewalk_xlate x;
        if (!vmi_kernel_ptr_ok(mm) || rd64(t, mm + t->o_mm_pgd, &pgd))
            return task_error(p, VMI_EREAD, "mm unreadable");
        if (!t->kpw || !vmi_kernel_ptr_ok(pgd) || pagewalk_translate(t->kpw, pgd, &x))
            return task_error(p, VMI_EFORMAT, "mm->pgd does not translate");
        p->has_mm = true;
        p->cr3 = x.pa;
    }
    return VMI_OK;
}

/* The thread walk of one group; *walked is the number of list steps taken, also when it fails
 * (the caller's budget pays for them either way). */
static long threads_walk(const struct vmi_linux_tasks *t, uint64_t leader, uint64_t limit,
                         vmi_tid_cb cb, void *ctx, uint64_t *walked) {
    uint64_t head, node, off;
    long n = 0;
    int rc;
    uint32_t tid;
    *walked = 0;
    if (!vmi_kernel_ptr_ok(leader))
        return VMI_EFORMAT;
    if (limit == 0 || limit > VMI_THREADS_MAX)
        limit = VMI_THREADS_MAX;
    if (t->use_thread_head) {
        uint64_t sig;
        if (rd64(t, leader + t->o_signal, &sig))
            return VMI_EREAD;
        if (!vmi_kernel_ptr_ok(sig))
            return VMI_EFORMAT;
        head = sig + t->o_sig_thread_head;
        off = t->o_thread_node;
    } else {
        /* The thread_group ring has no separate head: it goes through every thread, the
         * leader included; start after the leader and report the leader first. */
        if (rd32(t, leader + t->o_pid, &tid))
            return VMI_EREAD;
        *walked = 1;
        if (cb && (rc = cb(ctx, (int32_t)tid)) != 0)
            return rc;
        n = 1;
        head = leader + t->o_thread_group;
        off = t->o_thread_group;
    }
    struct vmi_listwalk w;
    /* The thread_group ring has already yielded the leader. */
    vmi_listwalk_init(&w, t->rd, t->rd_ctx, head, t->use_thread_head ? limit : limit - 1);
    while ((rc = vmi_listwalk_next(&w, &node)) == 1) {
        (*walked)++;
        if (rd32(t, node - off + t->o_pid, &tid))
            return VMI_EREAD;
        n++;
        if (cb && (rc = cb(ctx, (int32_t)tid)) != 0)
            return rc;
    }
    if (rc < 0)
        (*walked)++; /* the step that failed */
    return rc < 0 ? rc : n;
}

long vmi_linux_tasks_foreach(const struct vmi_linux_tasks *t, vmi_proc_cb cb, void *ctx) {
    uint64_t head = t->init_task + t->o_tasks;
    struct vmi_listwalk w;
    vmi_listwalk_init(&w, t->rd, t->rd_ctx, head, VMI_TASKS_MAX);
    long n = 0;
    uint64_t node, budget = VMI_TASKS_MAX; /* threads left for the whole walk */
    int rc;
    while ((rc = vmi_listwalk_next(&w, &node)) == 1) {
        struct vmi_proc p;
        uint64_t task = node - t->o_tasks;
        /* A bad entry is reported (p.error) and skipped over: the list link itself was good,
         * so the walk goes on with the next task. */
        if (vmi_linux_task_read(t, task, &p) == 0) {
            if (budget == 0) {
                p.threads_error = VMI_ELIMIT; /* every thread of the walk already spent */
            } else {
                uint64_t walked;
                long nt = threads_walk(t, task, budget, NULL, NULL, &walked);
                budget -= walked < budget ? walked : budget;
                if (nt < 0)
                    p.threads_error = (int)nt;
                else
                    p.nthreads = (uint32_t)nt;
            }
        }
        n++;
        int r;
        if (cb && (r = cb(ctx, &p)) != 0)
            return r;
    }
    return rc < 0 ? rc : n;
}

long vmi_linux_threads_foreach(const struct vmi_linux_tasks *t, uint64_t leader, uint64_t limit,
                               vmi_tid_cb cb, void *ctx) {
    uint64_t walked;
    return threads_walk(t, leader, limit, cb, ctx, &walked);
}
