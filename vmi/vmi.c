/* Top-level VMI flow. See vmi.h. */
#include "vmi/vmi.h"
#include "base/lib.h"
#include "vmi/profile_check.h"
#include "vmi/vmi_report.h"
#include "vmi/vmi_symbols.h"

static void report_profile_outcome(const struct vmi_session *s, struct report *r) {
    if (s->profile == VMI_PROFILE_BAD)
        vmi_report_error(r, "profile", s->profile_rc, s->profile_error);
    else if (s->profile == VMI_PROFILE_MISMATCH)
        vmi_report_profile_mismatch(r, s->profile_banner, s->profile_running, s->profile_error);
}

int vmi_open(struct vmi_session *s, const struct vmi_mem *mem, const struct vmi_vcpu *cpus,
             size_t ncpus, const struct vmi_run_opts *o, struct vmi_arena *arena,
             struct report *r) {
    lib_memset(s, 0, sizeof(*s));
    struct vmi_kernel *k = &s->kernel;
    int rc = vmi_kernel_find(k, mem, cpus, ncpus);
    if (rc) {
        if (r)
            vmi_report_error(r, "kernel", rc, k->error);
        return rc;
    }
    if (o && o->profile_json) {
        rc = vmi_symsrc_isf_init(&s->src, o->profile_json, o->profile_len, arena);
        if (rc) {
            s->profile = VMI_PROFILE_BAD;
            s->profile_rc = rc;
            lib_strlcpy(s->profile_error, vmi_symsrc_error(&s->src), sizeof(s->profile_error));
        } else {
            if (vmi_symsrc_banner(&s->src, s->profile_banner, sizeof(s->profile_banner)) != 0)
                s->profile_banner[0] = 0;
            rc = vmi_kernel_identify(k, &s->src, s->profile_banner);
            /* The banner matches; the offsets must fit the memory too before the profile is
             * used (a planted profile could carry the right banner and shifted offsets). */
            if (rc == 0)
                rc = vmi_profile_check(k, &s->src, s->profile_error, sizeof(s->profile_error));
            if (rc == 0) {
                s->profile = VMI_PROFILE_USED;
                s->source = "profile";
            } else {
                s->profile = VMI_PROFILE_MISMATCH;
                lib_strlcpy(s->profile_running, k->banner, sizeof(s->profile_running));
                if (k->error[0]) /* else the offset check's reason is already there */
                    lib_strlcpy(s->profile_error, k->error, sizeof(s->profile_error));
            }
        }
        if (r)
            report_profile_outcome(s, r);
    }
    if (!s->source) {
        lib_memset(&s->src, 0, sizeof(s->src));
        rc = vmi_symsrc_auto_init(&s->src, vmi_kernel_read, k, k->text, k->image_end, arena);
        if (rc) {
            if (r)
                vmi_report_error(r, "symbols", rc, vmi_symsrc_error(&s->src));
            return rc;
        }
        rc = vmi_kernel_identify(k, &s->src, NULL);
        if (rc) {
            if (r)
                vmi_report_error(r, "kernel", rc, k->error);
            return rc;
        }
        s->source = "auto";
    }
    /* From here on, walks go through the kernel's own page table, not the detection CR3. */
    s->root_rc = vmi_kernel_use_own_root(k, &s->src);
    if (r && s->root_rc)
        vmi_report_error(r, "kernel_root", s->root_rc, k->root_error);
    return 0;
}

struct proc_ref {
    uint64_t task;
    int32_t pid, ppid;
    uint32_t nthreads;
    int threads_error;
};

struct collect {
    struct proc_ref *v;
    size_t n, cap;
    long bad; /* entries reported as vmi_error (stage task) */
    struct report *r;
    const struct vmi_linux_tasks *t;
};

static int collect_proc(void *ctx, const struct vmi_proc *p) {
    struct collect *c = ctx;
    if (p->error) {
        vmi_report_task_error(c->r, p);
        c->bad++;
        return 0;
    }
    if (c->n >= c->cap)
        return VMI_ENOMEM;
    c->v[c->n].task = p->task;
    c->v[c->n].pid = p->pid;
    c->v[c->n].ppid = p->ppid;
    c->v[c->n].nthreads = p->nthreads;
    c->v[c->n].threads_error = p->threads_error;
    c->n++;
    return 0;
}

static int emit_proc(void *ctx, const struct vmi_proc *p) {
    struct collect *c = ctx;
    if (p->error) {
        vmi_report_task_error(c->r, p);
        c->bad++;
    } else {
        vmi_report_proc(c->r, c->t, p, -1);
    }
    return 0;
}

/* Ordering by (ppid, pid): heap sort (bounded time and no recursion, whatever the input). */
static bool ref_less(const struct proc_ref *a, const struct proc_ref *b) {
    return a->ppid != b->ppid ? a->ppid < b->ppid : a->pid < b->pid;
}
static void sift(struct proc_ref *v, size_t i, size_t n) {
    for (;;) {
        size_t m = i, l = 2 * i + 1, rr = l + 1;
        if (l < n && ref_less(&v[m], &v[l]))
            m = l;
        if (rr < n && ref_less(&v[m], &v[rr]))
            m = rr;
        if (m == i)
            return;
        struct proc_ref t = v[i];
        v[i] = v[m];
        v[m] = t;
        i = m;
    }
}
static void sort_refs(struct proc_ref *v, size_t n) {
    for (size_t i = n / 2; i-- > 0;)
        sift(v, i, n);
    for (size_t e = n; e-- > 1;) {
        struct proc_ref t = v[0];
        v[0] = v[e];
        v[e] = t;
        sift(v, 0, e);
    }
}
/* First index whose ppid == ppid, or n. */
static size_t first_child(const struct proc_ref *v, size_t n, int32_t ppid) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].ppid < ppid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
/* parented[k] = 1 when v[k]'s parent is a listed process other than itself. v is sorted by ppid,
 * so each pid's children are one range: O(n log n) even for a hostile list (every range is
 * visited once, however many tasks share a pid). */
static void mark_parented(const struct proc_ref *v, size_t n, uint8_t *parented,
                          uint8_t *range_seen) {
    for (size_t j = 0; j < n; j++) {
        size_t f = first_child(v, n, v[j].pid);
        if (f >= n || v[f].ppid != v[j].pid || range_seen[f])
            continue;
        range_seen[f] = 1;
        for (size_t k = f; k < n && v[k].ppid == v[j].pid; k++)
            if (v[k].ppid != v[k].pid)
                parented[k] = 1;
    }
}

static int print_tree(struct vmi_session *s, struct collect *c, struct vmi_arena *arena) {
    struct proc_ref *v = c->v;
    size_t n = c->n;
    sort_refs(v, n);
    uint8_t *done = vmi_arena_alloc(arena, n ? n : 1);
    size_t *stack = vmi_arena_alloc(arena, sizeof(size_t) * (n ? n : 1));
    unsigned *depth = vmi_arena_alloc(arena, sizeof(unsigned) * (n ? n : 1));
    uint8_t *parented = vmi_arena_alloc(arena, n ? n : 1);
    uint8_t *range_seen = vmi_arena_alloc(arena, n ? n : 1);
    if (!done || !stack || !depth || !parented || !range_seen)
        return VMI_ENOMEM;
    mark_parented(v, n, parented, range_seen);
    /* Roots: processes whose parent is not a listed process (pid 1, kthreadd, orphans of a
     * hostile ppid). Then anything left (ppid cycles) as roots too. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (done[i] || (pass == 0 && parented[i]))
                continue;
            size_t sp = 0;
            stack[sp] = i;
            depth[sp] = 0;
            sp++;
            done[i] = 1;
            while (sp) {
                sp--;
                size_t j = stack[sp];
                unsigned d = depth[sp];
                struct vmi_proc p;
                if (vmi_linux_task_read(&s->tasks, v[j].task, &p) == 0) {
                    p.nthreads = v[j].nthreads; /* counted (and bounded) by the task walk */
                    p.threads_error = v[j].threads_error;
                    vmi_report_proc(c->r, &s->tasks, &p, (int)d);
                }
                /* Push children in reverse so they print in pid order. */
                size_t f = first_child(v, n, v[j].pid), e = f;
                while (e < n && v[e].ppid == v[j].pid)
                    e++;
                for (size_t k = e; k-- > f;) {
                    if (done[k] || sp >= n)
                        continue;
                    done[k] = 1;
                    stack[sp] = k;
                    depth[sp] = d + 1;
                    sp++;
                }
            }
        }
    }
    return 0;
}

static int mod_emit(void *ctx, const struct vmi_module *m) {
    vmi_report_module(ctx, m);
    return 0;
}

void vmi_report_open(const struct vmi_session *s, struct report *r) {
    report_profile_outcome(s, r);
    if (s->root_rc)
        vmi_report_error(r, "kernel_root", s->root_rc, s->kernel.root_error);
}

int vmi_run(struct vmi_session *s, const struct vmi_mem *mem, const struct vmi_vcpu *cpus,
            size_t ncpus, const struct vmi_run_opts *o, struct vmi_arena *arena, struct report *r) {
    int rc = vmi_open(s, mem, cpus, ncpus, o, arena, r);
    return rc ? rc : vmi_report_session(s, o, arena, r);
}

int vmi_report_session(struct vmi_session *s, const struct vmi_run_opts *o, struct vmi_arena *arena,
                       struct report *r) {
    int rc;
    struct vmi_kernel *k = &s->kernel;
    vmi_report_os(r, k, s->source);
    vmi_report_kernel(r, k);
    int first = 0;
    if (!o || o->processes) {
        rc = vmi_linux_tasks_init(&s->tasks, &s->src, vmi_kernel_read, k, &k->pw);
        if (rc) {
            vmi_report_error(r, "tasks", rc, s->tasks.error);
            first = rc;
        } else {
            struct collect c = {.r = r, .t = &s->tasks};
            long n;
            if (o && o->tree) {
                /* Count first, then collect for the tree. */
                n = vmi_linux_tasks_foreach(&s->tasks, NULL, NULL);
                if (n >= 0) {
                    c.cap = (size_t)n;
                    c.v = vmi_arena_alloc(arena, sizeof(*c.v) * (c.cap ? c.cap : 1));
                }
                if (n >= 0 && c.v) {
                    n = vmi_linux_tasks_foreach(&s->tasks, collect_proc, &c);
                    if (n >= 0) {
                        report_begin(r, "processes");
                        report_i64(r, "count", n - c.bad);
                        report_end(r);
                        long walked = n;
                        n = print_tree(s, &c, arena);
                        if (n >= 0)
                            n = walked;
                    }
                } else if (n >= 0) {
                    n = vmi_linux_tasks_foreach(&s->tasks, emit_proc, &c); /* flat */
                }
            } else {
                n = vmi_linux_tasks_foreach(&s->tasks, emit_proc, &c);
            }
            if (n < 0) {
                vmi_report_error(r, "tasks", (int)n, "task list walk failed");
                first = (int)n;
            } else {
                s->nprocs = n - c.bad;
            }
        }
    }
    if (!o || o->modules) {
        rc = vmi_linux_modules_init(&s->modules, &s->src, vmi_kernel_read, k);
        if (rc) {
            vmi_report_error(r, "modules", rc, s->modules.error);
            if (!first)
                first = rc;
        } else {
            long n = vmi_linux_modules_foreach(&s->modules, mod_emit, r);
            if (n < 0) {
                vmi_report_error(r, "modules", (int)n, "module list walk failed");
                if (!first)
                    first = (int)n;
            } else {
                s->nmodules = n;
            }
        }
    }
    return first;
}
