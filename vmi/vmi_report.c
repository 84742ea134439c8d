/* VMI report events. See vmi_report.h. */
#include "vmi/vmi_report.h"
#include "base/fmt.h"
#include "base/lib.h"

void vmi_report_os(struct report *r, const struct vmi_kernel *k, const char *source) {
    if (report_is_json(r)) {
        report_begin(r, "os");
        report_str(r, "release", k->release);
        report_str(r, "kernel", k->release); /* the hypervisor's name for it (README) */
        report_hex(r, "kaslr", (uint64_t)k->kaslr);
        report_str(r, "source", source);
        report_end(r);
    } else {
        report_textf(r, "os: Linux %s, KASLR offset 0x%llx (symbols: %s)", k->release,
                     (unsigned long long)k->kaslr, source);
    }
}

void vmi_report_kernel(struct report *r, const struct vmi_kernel *k) {
    const char *paging = k->paging_levels == 5 ? "5-level" : "4-level";
    if (report_is_json(r)) {
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
    } else {
        report_textf(r, "kernel: %s", k->banner);
        report_textf(r, "kernel: _text 0x%llx, image to 0x%llx, %s paging, KPTI %s, found by %s",
                     (unsigned long long)k->text, (unsigned long long)k->image_end, paging,
                     !k->kpti_known ? "unknown"
                     : k->kpti      ? "on"
                                    : "off",
                     k->how ? k->how : "?");
        report_textf(r, "kernel: page tables walked from 0x%llx (%s)", (unsigned long long)k->cr3,
                     k->root_from ? k->root_from : "?");
    }
}

struct tid_ctx {
    struct report *r;
    char *buf;
    size_t len, cap;
};

static int tid_json(void *ctx, int32_t tid) {
    struct tid_ctx *c = ctx;
    report_i64(c->r, NULL, tid);
    return 0;
}

static int tid_text(void *ctx, int32_t tid) {
    struct tid_ctx *c = ctx;
    if (c->len + 16 < c->cap)
        c->len +=
            fmt_snprintf(c->buf + c->len, c->cap - c->len, "%s%d", c->len ? "," : "", (int)tid);
    else if (c->len + 4 < c->cap && c->buf[c->len - 1] != '.')
        c->len += fmt_snprintf(c->buf + c->len, c->cap - c->len, "...");
    return 0;
}

void vmi_report_proc(struct report *r, const struct vmi_linux_tasks *t, const struct vmi_proc *p,
                     unsigned depth) {
    if (report_is_json(r)) {
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
        long n = p->threads_error
                     ? p->threads_error
                     : vmi_linux_threads_foreach(t, p->task, p->nthreads, tid_json, &c);
        report_arr_end(r);
        if (p->has_mm)
            report_hex(r, "cr3", p->cr3);
        else
            report_null(r, "cr3");
        if (n < 0)
            report_i64(r, "threads_error", n);
        report_end(r);
    } else {
        char tids[96];
        struct tid_ctx c = {.r = r, .buf = tids, .len = 0, .cap = sizeof(tids)};
        tids[0] = 0;
        if (p->nthreads > 1 && !p->threads_error)
            vmi_linux_threads_foreach(t, p->task, p->nthreads, tid_text, &c);
        char indent[2 * 16 + 1];
        unsigned d = depth > 16 ? 16 : depth;
        lib_memset(indent, ' ', 2 * d);
        indent[2 * d] = 0;
        char cr3[24];
        if (p->has_mm)
            fmt_snprintf(cr3, sizeof(cr3), "0x%llx", (unsigned long long)p->cr3);
        else
            lib_strlcpy(cr3, "-", sizeof(cr3));
        report_textf(r, "%s%d %s%s%s [%c] uid %u/%u cr3 %s%s%s", indent, (int)p->pid,
                     p->kthread ? "[" : "", p->comm, p->kthread ? "]" : "", p->state_letter,
                     (unsigned)p->uid, (unsigned)p->euid, cr3, p->nthreads > 1 ? " threads " : "",
                     p->nthreads > 1 ? tids : "");
    }
}

void vmi_report_task_error(struct report *r, const struct vmi_proc *p) {
    if (report_is_json(r)) {
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
    } else if (p->has_identity) {
        report_textf(r, "vmi error (task, code %d): task 0x%llx (pid %d, %s): %s", p->error,
                     (unsigned long long)p->task, (int)p->pid, p->comm,
                     p->error_what ? p->error_what : "");
    } else {
        report_textf(r, "vmi error (task, code %d): task 0x%llx: %s", p->error,
                     (unsigned long long)p->task, p->error_what ? p->error_what : "");
    }
}

void vmi_report_module(struct report *r, const struct vmi_module *m) {
    if (report_is_json(r)) {
        report_begin(r, "module");
        report_str(r, "name", m->name);
        report_hex(r, "base", m->base);
        report_u64(r, "size", m->size);
        report_end(r);
    } else {
        report_textf(r, "module %s at 0x%llx, %llu bytes", m->name, (unsigned long long)m->base,
                     (unsigned long long)m->size);
    }
}

void vmi_report_profile_mismatch(struct report *r, const char *profile_banner,
                                 const char *running_banner, const char *reason) {
    if (report_is_json(r)) {
        report_begin(r, "profile_mismatch");
        report_str(r, "profile_banner", profile_banner);
        report_str(r, "running_banner", running_banner);
        report_str(r, "reason", reason);
        report_end(r);
    } else {
        report_textf(r, "profile mismatch: %s", reason);
        report_textf(r, "  profile: %s", profile_banner[0] ? profile_banner : "(no banner)");
        report_textf(r, "  running: %s", running_banner[0] ? running_banner : "(unknown)");
        report_textf(r, "  falling back to the kernel's own symbols (auto)");
    }
}

void vmi_report_error(struct report *r, const char *stage, int code, const char *msg) {
    if (report_is_json(r)) {
        report_begin(r, "vmi_error");
        report_str(r, "stage", stage);
        report_i64(r, "code", code);
        report_str(r, "msg", msg);
        report_end(r);
    } else {
        report_textf(r, "vmi error (%s, code %d): %s", stage, code, msg);
    }
}
