#include "hv_vmi.h"

#include "guest_mem.h"
#include "hv_live.h"
#include "hv_report.h"
#include "hv_state.h"
#include "hw.h"
#include "lib.h"
#include "vmi.h"
#include "vmi_report.h"
#include "vmx_defs.h"

#define VMI_ARENA_BYTES (4u << 20)
#define SNAP_MAX 4096 /* processes remembered between rescans; more are counted, not diffed */
#define DETECT_EVERY_MS 2000

struct snap_entry {
    int32_t pid;
    char comm[16];
    bool exiting; /* zombie or dead: do_exit has run, the parent has not reaped it yet */
};
struct snapshot {
    struct snap_entry e[SNAP_MAX];
    uint32_t n;
    uint32_t total;
};

static struct vmi_arena arena;
static size_t arena_session; /* arena bytes the open session owns (symbol source) */
static struct vmi_session sess;
/* The session keeps pointers to these: they must outlive the call that opened it. */
static struct vmi_mem guest_mem;
static struct vmi_vcpu guest_cpu;
static struct vmi_run_opts run_opts;
static bool detected;
static bool opened; /* the kernel is identified; waiting for pid 1 before the first snapshot */
static uint32_t attempts;
static uint64_t next_try_ms, next_rescan_ms;
static struct snapshot snaps[2];
static unsigned cur_snap;

int hv_vmi_init(void) {
    void *mem = hv_heap_alloc(&hv.heap, VMI_ARENA_BYTES, 4096);
    if (!mem)
        return HV_ERR_NOMEM;
    arena = (struct vmi_arena){mem, VMI_ARENA_BYTES, 0};
    return HV_OK;
}

static void vcpu_state(struct vmi_vcpu *v) {
    lib_memset(v, 0, sizeof(*v));
    v->cr0 = hw_vmread(VMCS_GUEST_CR0);
    v->cr3 = hw_vmread(VMCS_GUEST_CR3);
    v->cr4 = hw_vmread(VMCS_GUEST_CR4);
    v->efer = hw_vmread(VMCS_GUEST_EFER);
    /* LSTAR and KERNEL_GS_BASE are not switched by VM exits: the hardware holds the guest's. */
    v->lstar = hw_rdmsr(MSR_IA32_LSTAR);
    v->kernel_gs_base = hw_rdmsr(MSR_IA32_KERNEL_GS_BASE);
    v->gs_base = hw_vmread(VMCS_GUEST_GS_BASE);
    v->idtr_base = hw_vmread(VMCS_GUEST_IDTR_BASE);
    v->idtr_limit = (uint16_t)hw_vmread(VMCS_GUEST_IDTR_LIMIT);
    v->rip = hw_vmread(VMCS_GUEST_RIP);
    v->rsp = hw_vmread(VMCS_GUEST_RSP);
    v->has_lstar = v->has_efer = v->has_idtr = v->has_cr = true;
}

/* Userspace has started once pid 1 is no longer the kernel thread that execs /init. */
static int find_init(void *ctx, const struct vmi_proc *p) {
    if (p->pid == 1 && !p->kthread)
        *(bool *)ctx = true;
    return 0;
}

static int record(void *ctx, const struct vmi_proc *p) {
    struct snapshot *s = ctx;
    s->total++;
    if (s->n < SNAP_MAX) {
        s->e[s->n].pid = p->pid;
        lib_strlcpy(s->e[s->n].comm, p->comm, sizeof(s->e[0].comm));
        s->e[s->n].exiting = p->state_letter == 'Z' || p->state_letter == 'X';
        s->n++;
    }
    return 0;
}

static bool has_pid(const struct snapshot *s, int32_t pid) {
    for (uint32_t i = 0; i < s->n; i++)
        if (s->e[i].pid == pid)
            return true;
    return false;
}

static void report_diff_list(struct report *r, const struct snapshot *a, const struct snapshot *b,
                             const char *key) {
    report_arr_begin(r, key);
    for (uint32_t i = 0; i < a->n; i++) {
        if (has_pid(b, a->e[i].pid))
            continue;
        report_obj_begin(r, NULL);
        report_u64(r, "pid", (uint64_t)a->e[i].pid);
        report_str(r, "comm", a->e[i].comm);
        report_obj_end(r);
    }
    report_arr_end(r);
}

/* Processes in both walks whose name changed (an exec or a rename the events did not carry). */
static void report_renamed(struct report *r, const struct snapshot *cur,
                           const struct snapshot *prev) {
    report_arr_begin(r, "renamed");
    for (uint32_t i = 0; i < cur->n; i++) {
        for (uint32_t j = 0; j < prev->n; j++) {
            if (prev->e[j].pid != cur->e[i].pid)
                continue;
            if (!lib_streq(prev->e[j].comm, cur->e[i].comm)) {
                report_obj_begin(r, NULL);
                report_u64(r, "pid", (uint64_t)cur->e[i].pid);
                report_str(r, "comm", cur->e[i].comm);
                report_obj_end(r);
            }
            break;
        }
    }
    report_arr_end(r);
}

static void text_diff(struct report *r, const struct snapshot *a, const struct snapshot *b,
                      const char *what) {
    for (uint32_t i = 0; i < a->n; i++)
        if (!has_pid(b, a->e[i].pid))
            report_textf(r, "rescan: process %d (%s) %s", a->e[i].pid, a->e[i].comm, what);
}

static struct live_entry view[SNAP_MAX];

static bool view_has(uint32_t n, int32_t pid) {
    for (uint32_t i = 0; i < n; i++)
        if (view[i].pid == pid)
            return true;
    return false;
}

/* The live view against the walk: processes no proc_start announced, and processes announced
 * that are gone without a proc_exit. Exiting processes (zombies) are left out: their proc_exit
 * came at do_exit, before the parent reaps them. Each difference is then applied to the live
 * view (not a wholesale copy, which would race with events that came after the walk), so it is
 * reported once. */
static void cross_check(struct report *r, const struct snapshot *cur) {
    uint32_t n = hv_live_view(view, SNAP_MAX);
    report_arr_begin(r, "live_missed_start");
    for (uint32_t i = 0; i < cur->n; i++) {
        if (cur->e[i].exiting)
            continue;
        if (!view_has(n, cur->e[i].pid))
            report_u64(r, NULL, (uint64_t)cur->e[i].pid);
        hv_live_set(cur->e[i].pid, cur->e[i].comm, true); /* also brings names up to date */
    }
    report_arr_end(r);
    report_arr_begin(r, "live_missed_exit");
    for (uint32_t i = 0; i < n; i++) {
        if (!has_pid(cur, view[i].pid)) {
            report_u64(r, NULL, (uint64_t)view[i].pid);
            hv_live_set(view[i].pid, view[i].comm, false);
        }
    }
    report_arr_end(r);
}

static void seed_live(const struct snapshot *s) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n && k < SNAP_MAX; i++) {
        if (s->e[i].exiting)
            continue;
        view[k].pid = s->e[i].pid;
        lib_strlcpy(view[k].comm, s->e[i].comm, sizeof(view[k].comm));
        k++;
    }
    hv_live_seed(view, k);
}

static void rescan(uint64_t now) {
    struct snapshot *prev = &snaps[cur_snap], *cur = &snaps[cur_snap ^ 1];
    cur->n = cur->total = 0;
    long n = vmi_linux_tasks_foreach(&sess.tasks, record, cur);
    struct report *r = hv_report_begin();
    if (!r)
        return; /* prev stays the reference: the changes are told with the next rescan */
    if (n < 0) {
        vmi_report_error(r, "rescan", (int)n, sess.tasks.error);
    } else if (report_is_json(r)) {
        report_begin(r, "rescan");
        report_u64(r, "t_ms", now);
        report_u64(r, "procs", cur->total);
        report_diff_list(r, cur, prev, "new");
        report_diff_list(r, prev, cur, "gone");
        report_renamed(r, cur, prev);
        if (hv.params.live)
            cross_check(r, cur);
        report_end(r);
    } else {
        text_diff(r, cur, prev, "appeared");
        text_diff(r, prev, cur, "is gone");
        report_textf(r, "rescan: %u processes", cur->total);
    }
    hv_report_end(r);
    if (n >= 0)
        cur_snap ^= 1;
}

void hv_vmi_tick(struct hv_cpu *c) {
    (void)c;
    if (!hv.os_running)
        return;
    uint64_t now = hv_uptime_ms();
    if (detected) {
        if (hv.params.live)
            hv_live_arm(&sess);
        if (hv.params.rescan_s && now >= next_rescan_ms) {
            next_rescan_ms = now + (uint64_t)hv.params.rescan_s * 1000;
            rescan(now);
        }
        return;
    }
    if (now < next_try_ms)
        return;
    next_try_ms = now + DETECT_EVERY_MS;
    if (!opened) {
        vcpu_state(&guest_cpu);
        /* The kernel is up enough once it has its own system-call entry (syscall_init). */
        if (!(guest_cpu.lstar >> 63))
            return;
    }
    /* Identifying the kernel (locating kallsyms, BTF) is the expensive part: once only. */
    if (!opened) {
        guest_mem = (struct vmi_mem){NULL, hv_guest_read_phys, hv.env.mapped};
        run_opts = (struct vmi_run_opts){
            .profile_json =
                hv.params.profile_len ? (const char *)(uintptr_t)hv.params.profile_base : NULL,
            .profile_len = hv.params.profile_len,
            .processes = true,
            .modules = true,
        };
        arena.used = 0;
        attempts++;
        if (vmi_open(&sess, &guest_mem, &guest_cpu, 1, &run_opts, &arena, NULL) != 0 ||
            vmi_linux_tasks_init(&sess.tasks, &sess.src, vmi_kernel_read, &sess.kernel,
                                 &sess.kernel.pw) != 0) {
            struct report *r = attempts == 30 ? hv_report_begin() : NULL;
            if (r) {
                vmi_report_error(r, "os_detect", -1, sess.kernel.error);
                hv_report_end(r);
            }
            return;
        }
        opened = true;
        arena_session = arena.used;
    }
    /* The first snapshot waits for userspace: until init (pid 1) exists there is nothing but the
     * idle task to show. */
    bool init_seen = false;
    if (vmi_linux_tasks_foreach(&sess.tasks, find_init, &init_seen) < 0 || !init_seen)
        return;
    /* Hooks first, snapshot second: a process started in between is in both, never in neither. */
    if (hv.params.live)
        hv_live_arm(&sess);
    /* The session stays open: only the report's scratch space is taken back. */
    arena.used = arena_session;
    struct report *r = hv_report_begin();
    if (!r)
        return; /* tried again on a later tick */
    vmi_report_open(&sess, r);
    int rc = vmi_report_session(&sess, &run_opts, &arena, r);
    hv_report_end(r);
    if (rc != 0)
        return;
    detected = true;
    snaps[cur_snap].n = snaps[cur_snap].total = 0;
    vmi_linux_tasks_foreach(&sess.tasks, record, &snaps[cur_snap]);
    seed_live(&snaps[cur_snap]);
    next_rescan_ms = now + (uint64_t)hv.params.rescan_s * 1000;
}
