/* VMI report events. See vmi_report.h. */
#include "vmi/vmi_report.h"
#include "base/fmt.h"
#include "base/lib.h"

void vmi_report_os(struct report *r, const struct vmi_kernel *k, const char *source) {
    report_begin(r, "os");
    report_str(r, "release", k->release);
    report_str(r, "kernel", k->release); /* the hypervisor's name for it (README) */
    report_hex(r, "kaslr", (uint64_t)k->kaslr);
    report_str(r, "source", source);
    report_end(r);
}

void vmi_report_kernel(struct report *r, const struct vmi_kernel *k) {
    const char *paging = k->paging_levels == 5 ? "5-level" : "4-level";
    report_begin(r, "kernel");
    report_str(r, "banner", k->banner);
    report_hex(r, "text", k->text);
    report_hex(r, "image_end", k->image_end);
    report_str(r, "paging", paging);
    if (k->kpti_known)
        report_bool(r, "kpti", k->kpti);
    else
        report_null(r, "kpti");
    report_str(r, "found_by", k->how ? k->how : "");
    report_hex(r, "root", k->cr3);
    report_str(r, "root_from", k->root_from ? k->root_from : "");
    report_end(r);
}

struct tid_ctx {
    struct report *r;
};

static int tid_json(void *ctx, int32_t tid) {
    struct tid_ctx *c = ctx;
    report_i64(c->r, NULL, tid);
    return 0;
}

void vmi_report_proc(struct report *r, const struct vmi_linux_tasks *t, const struct vmi_proc *p,
                     int depth) {
    report_begin(r, "proc");
    report_i64(r, "pid", p->pid);
    report_i64(r, "ppid", p->ppid);
    report_str(r, "comm", p->comm);
    report_u64(r, "uid", p->uid);
    report_u64(r, "euid", p->euid);
    report_bool(r, "kthread", p->kthread);
    report_str(r, "state", p->state);
    report_arr_begin(r, "threads");
    struct tid_ctx c = {.r = r};
    long n = p->threads_error ? p->threads_error
                              : vmi_linux_threads_foreach(t, p->task, p->nthreads, tid_json, &c);
    report_arr_end(r);
    if (p->has_mm)
        report_hex(r, "cr3", p->cr3);
    else
        report_null(r, "cr3");
    if (n < 0)
        report_i64(r, "threads_error", n);
    if (depth >= 0)
        report_u64(r, "depth", (uint64_t)depth);
    report_end(r);
}

void vmi_report_task_error(struct report *r, const struct vmi_proc *p) {
    report_begin(r, "vmi_error");
    report_str(r, "stage", "task");
    report_i64(r, "code", p->error);
    report_str(r, "msg", p->error_what ? p->error_what : "");
    report_hex(r, "task", p->task);
    if (p->has_identity) {
        report_i64(r, "pid", p->pid);
        report_str(r, "comm", p->comm);
    } else {
        report_null(r, "pid");
        report_null(r, "comm");
    }
    report_end(r);
}

void vmi_report_module(struct report *r, const struct vmi_module *m) {
    report_begin(r, "module");
    report_str(r, "name", m->name);
    report_hex(r, "base", m->base);
    report_u64(r, "size", m->size);
    report_end(r);
}

void vmi_report_profile_mismatch(struct report *r, const char *profile_banner,
                                 const char *running_banner, const char *reason) {
    report_begin(r, "profile_mismatch");
    report_str(r, "profile_banner", profile_banner);
    report_str(r, "running_banner", running_banner);
    report_str(r, "reason", reason);
    report_end(r);
}

void vmi_report_error(struct report *r, const char *stage, int code, const char *msg) {
    report_begin(r, "vmi_error");
    report_str(r, "stage", stage);
    report_i64(r, "code", code);
    report_str(r, "msg", msg);
    report_end(r);
}
