/* Profile offset sanity checks. See profile_check.h. */
#include "vmi/profile_check.h"
#include "base/fmt.h"
#include "base/lib.h"
#include "vmi/linux_tasks.h"
#include "vmi/vmi_listwalk.h"

static int member(const struct vmi_symsrc *src, const char *st, const char *path, uint32_t *off,
                  char *why, size_t cap) {
    struct vmi_member m;
    int rc = src->member(src->ctx, st, path, &m);
    if (rc)
        fmt_snprintf(why, cap, "profile has no %s.%s", st, path);
    else
        *off = m.offset;
    return rc;
}

/* head->next->prev == head and head->prev->next == head (include/linux/list.h). */
static bool list_round_trips(struct vmi_kernel *k, uint64_t head) {
    uint64_t next, prev, back;
    if (!vmi_kernel_ptr_ok(head) || vmi_kernel_read(k, head, &next, 8) ||
        vmi_kernel_read(k, head + 8, &prev, 8) || !vmi_kernel_ptr_ok(next) ||
        !vmi_kernel_ptr_ok(prev))
        return false;
    if (vmi_kernel_read(k, next + 8, &back, 8) || back != head)
        return false;
    return vmi_kernel_read(k, prev, &back, 8) == 0 && back == head;
}

int vmi_profile_check(struct vmi_kernel *k, const struct vmi_symsrc *src, char *why, size_t cap) {
    uint64_t it, modules;
    uint32_t o_tasks, o_pid, o_tgid, o_comm, o_parent, o_flags, o_cred, o_mm, o_uid, o_euid;
    int rc;
    if (!src || !src->sym || !src->member) {
        lib_strlcpy(why, "no symbol source", cap);
        return VMI_ENOTFOUND;
    }
    if ((rc = src->sym(src->ctx, "init_task", &it)) != 0) {
        lib_strlcpy(why, "profile has no init_task", cap);
        return rc;
    }
    const char *ts = "task_struct";
    if ((rc = member(src, ts, "tasks", &o_tasks, why, cap)) ||
        (rc = member(src, ts, "pid", &o_pid, why, cap)) ||
        (rc = member(src, ts, "tgid", &o_tgid, why, cap)) ||
        (rc = member(src, ts, "comm", &o_comm, why, cap)) ||
        (rc = member(src, ts, "real_parent", &o_parent, why, cap)) ||
        (rc = member(src, ts, "flags", &o_flags, why, cap)) ||
        (rc = member(src, ts, "real_cred", &o_cred, why, cap)) ||
        (rc = member(src, ts, "mm", &o_mm, why, cap)) ||
        (rc = member(src, "cred", "uid", &o_uid, why, cap)) ||
        (rc = member(src, "cred", "euid", &o_euid, why, cap)))
        return rc;
    if (!list_round_trips(k, it + o_tasks)) {
        fmt_snprintf(why, cap,
                     "profile does not fit the running kernel: init_task.tasks (offset 0x%x) is "
                     "not a list whose next->prev and prev->next lead back to it",
                     o_tasks);
        return VMI_EMISMATCH;
    }
    uint32_t pid, tgid, flags, uid, euid;
    uint64_t parent, cred, mm;
    char comm[17];
    if (vmi_kernel_read(k, it + o_pid, &pid, 4) || vmi_kernel_read(k, it + o_tgid, &tgid, 4) ||
        pid != 0 || tgid != 0) {
        fmt_snprintf(why, cap,
                     "profile does not fit the running kernel: init_task.pid/tgid (offsets "
                     "0x%x/0x%x) are not 0",
                     o_pid, o_tgid);
        return VMI_EMISMATCH;
    }
    if (vmi_kernel_read(k, it + o_comm, comm, 16)) {
        comm[0] = 0;
    }
    comm[16] = 0;
    if (!lib_streq(comm, "swapper") && lib_strncmp(comm, "swapper/", 8) != 0) {
        fmt_snprintf(why, cap,
                     "profile does not fit the running kernel: init_task.comm (offset 0x%x) is "
                     "not \"swapper/0\"",
                     o_comm);
        return VMI_EMISMATCH;
    }
    if (vmi_kernel_read(k, it + o_parent, &parent, 8) || parent != it) {
        fmt_snprintf(why, cap,
                     "profile does not fit the running kernel: init_task.real_parent (offset "
                     "0x%x) is not init_task",
                     o_parent);
        return VMI_EMISMATCH;
    }
    if (vmi_kernel_read(k, it + o_flags, &flags, 4) || !(flags & VMI_PF_KTHREAD)) {
        fmt_snprintf(why, cap,
                     "profile does not fit the running kernel: init_task.flags (offset 0x%x) "
                     "lack PF_KTHREAD",
                     o_flags);
        return VMI_EMISMATCH;
    }
    if (vmi_kernel_read(k, it + o_cred, &cred, 8) || !vmi_kernel_ptr_ok(cred) ||
        vmi_kernel_read(k, cred + o_uid, &uid, 4) || vmi_kernel_read(k, cred + o_euid, &euid, 4) ||
        uid != 0 || euid != 0) {
        fmt_snprintf(why, cap,
                     "profile does not fit the running kernel: init_task.real_cred (offset 0x%x) "
                     "is not a cred with uid/euid (offsets 0x%x/0x%x) 0",
                     o_cred, o_uid, o_euid);
        return VMI_EMISMATCH;
    }
    if (vmi_kernel_read(k, it + o_mm, &mm, 8) || mm != 0) {
        fmt_snprintf(why, cap,
                     "profile does not fit the running kernel: init_task.mm (offset 0x%x) is not "
                     "NULL",
                     o_mm);
        return VMI_EMISMATCH;
    }
    if ((rc = src->sym(src->ctx, "modules", &modules)) != 0) {
        lib_strlcpy(why, "profile has no `modules` list head", cap);
        return rc;
    }
    if (!list_round_trips(k, modules)) {
        lib_strlcpy(why,
                    "profile does not fit the running kernel: `modules` is not a list whose "
                    "next->prev and prev->next lead back to it",
                    cap);
        return VMI_EMISMATCH;
    }
    return VMI_OK;
}
