#include "hv/intro/hv_vmi.h"

#include "base/hw.h"
#include "base/lib.h"
#include "hv/arch/vcpu.h"
#include "hv/arch/x86.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"
#include "hv/intro/guest_mem.h"
#include "hv/intro/hv_live.h"
#include "hv/intro/rescan_report.h"
#include "vmi/proc_snapshot.h"
#include "vmi/vmi.h"
#include "vmi/vmi_report.h"

#define VMI_ARENA_BYTES (4u << 20)
#define DETECT_EVERY_MS 2000
/* Processes compared between re-scans: four arrays of that many entries (two snapshots, the copy
 * of the live view, the live view itself) from the heap, at most PROCS_BYTES of it, leaving
 * HEAP_RESERVE for what is allocated later (the guard's shadow pages). Past the cap a snapshot
 * keeps the lowest pids and the rescan event says up to which pid it compared. */
#define PROCS_BYTES (6u << 20)
#define HEAP_RESERVE (2u << 20)
#define PROCS_ARRAYS 4u

/* Storage: the arena, the session and what it points to, the snapshots. */
static struct vmi_arena arena;
static struct vmi_session sess;
/* The session keeps pointers to these: they must outlive the call that opened it. */
static struct vmi_mem guest_mem;
static struct vmi_vcpu guest_cpu;
static struct vmi_run_opts run_opts;
static struct vmi_snap snaps[2], view;
static unsigned cur_snap; /* snaps[cur_snap]: the last walk, the reference of the next rescan */

/* Where introspection stands; hv_vmi_tick moves it forward, never back:
 *   VMI_FIND_KERNEL  until a CPU runs the kernel (its own LSTAR, long mode) and vmi_open
 *                    identifies it (tried every DETECT_EVERY_MS; the 30th failed try is
 *                    reported as an os_detect error);
 *   VMI_WAIT_INIT    the session is open; waiting for userspace (pid 1 not a kernel thread), then
 *                    the hooks are armed and the first report and snapshot are made;
 *   VMI_WATCHING     hooks re-armed and rescans every hv.params.rescan_s seconds. */
enum vmi_phase { VMI_FIND_KERNEL, VMI_WAIT_INIT, VMI_WATCHING };

static struct {
    enum vmi_phase phase;
    size_t arena_session; /* arena bytes the open session owns (symbol source) */
    uint32_t attempts;    /* vmi_open calls so far */
    uint64_t next_try_ms, next_rescan_ms;
} st;

int hv_vmi_init(void) {
    void *mem = hv_heap_alloc(&hv.heap, VMI_ARENA_BYTES, 4096);
    if (!mem)
        return HV_ERR_NOMEM;
    arena = (struct vmi_arena){mem, VMI_ARENA_BYTES, 0};
    uint64_t free = hv.heap.size - hv.heap.used;
    uint64_t bytes = free > HEAP_RESERVE ? free - HEAP_RESERVE : 0;
    if (bytes > PROCS_BYTES)
        bytes = PROCS_BYTES;
    uint32_t cap = (uint32_t)(bytes / (PROCS_ARRAYS * sizeof(struct vmi_snap_entry)));
    struct vmi_snap_entry *e[3];
    for (unsigned i = 0; i < 3; i++) {
        e[i] = hv_heap_alloc(&hv.heap, (size_t)cap * sizeof(struct vmi_snap_entry), 64);
        if (!e[i])
            return HV_ERR_NOMEM;
    }
    vmi_snap_init(&snaps[0], e[0], cap);
    vmi_snap_init(&snaps[1], e[1], cap);
    vmi_snap_init(&view, e[2], cap);
    return hv_live_init(&hv.heap, cap);
}

static void vcpu_state(struct hv_cpu *c, struct vmi_vcpu *v) {
    struct vcpu_sysregs sr;
    vcpu_read_sysregs(&c->vcpu, &sr);
    lib_memset(v, 0, sizeof(*v));
    v->cr0 = sr.cr0;
    v->cr3 = sr.cr3;
    v->cr4 = sr.cr4;
    v->efer = sr.efer;
    /* LSTAR and KERNEL_GS_BASE are not switched by VM exits: the hardware holds the guest's. */
    v->lstar = hw_rdmsr(MSR_IA32_LSTAR);
    v->kernel_gs_base = hw_rdmsr(MSR_IA32_KERNEL_GS_BASE);
    v->gs_base = sr.gs_base;
    v->idtr_base = sr.idtr_base;
    v->idtr_limit = sr.idtr_limit;
    v->rip = sr.rip;
    v->rsp = sr.rsp;
    v->has_lstar = v->has_efer = v->has_idtr = v->has_cr = true;
}

/* Userspace has started once pid 1 is no longer the kernel thread that execs /init. */
static int find_init(void *ctx, const struct vmi_proc *p) {
    if (!p->error && p->pid == 1 && !p->kthread)
        *(bool *)ctx = true;
    return 0;
}

/* Walks the task list into s and finishes it (sorted by pid). */
static long walk(struct vmi_snap *s) {
    vmi_snap_reset(s);
    long n = vmi_linux_tasks_foreach(&sess.tasks, vmi_snap_record, s);
    vmi_snap_finish(s);
    return n;
}

static void rescan(uint64_t now) {
    struct vmi_snap *prev = &snaps[cur_snap], *cur = &snaps[cur_snap ^ 1];
    long n = walk(cur);
    struct report *r = hv_report_begin();
    if (!r)
        return; /* prev stays the reference: the changes are told with the next rescan */
    if (n < 0) {
        vmi_report_error(r, "rescan", (int)n, sess.tasks.error);
    } else {
        struct rescan_live live = {hv_live_view, hv_live_reconcile, &view};
        rescan_report(r, now, cur, prev, hv.params.live ? &live : NULL);
    }
    hv_report_end(r);
    if (n >= 0)
        cur_snap ^= 1;
}

/* Runs on the tick owner (hv/core/tick_owner.h), so on one CPU at a time but not always the same
 * one: nothing here may depend on which. The session reads guest memory through the identity map,
 * from the vCPU state captured once (guest_cpu) on a CPU that ran the kernel; live hooks are
 * guarded through the calling CPU's EPT view of the shared map (hv/intro/hv_live.c). */
void hv_vmi_tick(struct hv_cpu *c) {
    (void)c;
    if (!hv.os_running)
        return;
    uint64_t now = hv_uptime_ms();
    if (st.phase == VMI_WATCHING) {
        if (hv.params.live)
            hv_live_arm(&sess);
        if (hv.params.rescan_s && now >= st.next_rescan_ms) {
            st.next_rescan_ms = now + (uint64_t)hv.params.rescan_s * 1000;
            rescan(now);
        }
        return;
    }
    if (now < st.next_try_ms)
        return;
    if (st.phase == VMI_FIND_KERNEL) {
        /* The calling CPU's own state (VMCS, LSTAR): any CPU may run this tick (tick owner), and
         * one that does not run the kernel (an AP still in the firmware's idle loop, a CPU held
         * in wait-for-SIPI) has nothing to show; another CPU's tick tries then. The kernel is up
         * enough once it has its own system-call entry (syscall_init). */
        struct vmi_vcpu here;
        vcpu_state(c, &here);
        if (!(here.lstar >> 63) || !(here.efer & EFER_LMA))
            return;
        guest_cpu = here;
    }
    st.next_try_ms = now + DETECT_EVERY_MS;
    /* Identifying the kernel (locating kallsyms, BTF) is the expensive part: once only. */
    if (st.phase == VMI_FIND_KERNEL) {
        guest_mem = (struct vmi_mem){NULL, hv_guest_read_phys, hv.env.mapped};
        run_opts = (struct vmi_run_opts){
            .profile_json =
                hv.params.profile_len ? (const char *)(uintptr_t)hv.params.profile_base : NULL,
            .profile_len = hv.params.profile_len,
            .processes = true,
            .modules = true,
        };
        arena.used = 0;
        st.attempts++;
        if (vmi_open(&sess, &guest_mem, &guest_cpu, 1, &run_opts, &arena, NULL) != 0 ||
            vmi_linux_tasks_init(&sess.tasks, &sess.src, vmi_kernel_read, &sess.kernel,
                                 &sess.kernel.pw) != 0) {
            struct report *r = st.attempts == 30 ? hv_report_begin() : NULL;
            if (r) {
                vmi_report_error(r, "os_detect", -1, sess.kernel.error);
                hv_report_end(r);
            }
            return;
        }
        st.phase = VMI_WAIT_INIT;
        st.arena_session = arena.used;
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
    arena.used = st.arena_session;
    struct report *r = hv_report_begin();
    if (!r)
        return; /* tried again on a later tick */
    vmi_report_open(&sess, r);
    int rc = vmi_report_session(&sess, &run_opts, &arena, r);
    hv_report_end(r);
    if (rc != 0)
        return;
    st.phase = VMI_WATCHING;
    walk(&snaps[cur_snap]);
    hv_live_seed(&snaps[cur_snap]);
    st.next_rescan_ms = now + (uint64_t)hv.params.rescan_s * 1000;
}
