#include "hv/intro/hv_live.h"

#include "hv/intro/guest_mem.h"

#include "base/hw.h"
#include "base/lib.h"
#include "base/spinlock.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_guest.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"
#include "vmi/linux_live.h"
#include "vmi/pagewalk.h"
#include "vmi/vmi_report.h"

enum hook_kind { HOOK_START, HOOK_EXEC, HOOK_EXIT, HOOK_COUNT };

struct hook {
    const char *sym;
    uint64_t va, pa;
    bool armed;
    bool refused; /* not ftrace's NOP: left alone */
};

static struct hook hooks[HOOK_COUNT] = {
    [HOOK_START] = {"wake_up_new_task", 0, 0, false, false},
    [HOOK_EXEC] = {"__set_task_comm", 0, 0, false, false},
    [HOOK_EXIT] = {"do_exit", 0, 0, false, false},
};
static const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
static struct vmi_session *sess;
static uint64_t current_task_off;
static volatile uint32_t armed_mask;

/* The live view (proc_snapshot.h's set operations, under live_lock). */
static struct vmi_snap live;
static struct spinlock live_lock;

int hv_live_init(struct hv_heap *heap, uint32_t cap) {
    struct vmi_snap_entry *e = hv_heap_alloc(heap, (size_t)cap * sizeof(*e), 64);
    if (!e)
        return HV_ERR_NOMEM;
    vmi_snap_init(&live, e, cap);
    return HV_OK;
}

void hv_live_seed(const struct vmi_snap *s) {
    spin_lock(&live_lock);
    vmi_snap_seed(&live, s);
    spin_unlock(&live_lock);
}

void hv_live_view(struct vmi_snap *out) {
    spin_lock(&live_lock);
    vmi_snap_copy(out, &live);
    spin_unlock(&live_lock);
}

void hv_live_set(int32_t pid, const char *comm, bool present) {
    spin_lock(&live_lock);
    vmi_snap_set(&live, pid, comm, present);
    spin_unlock(&live_lock);
}

void hv_live_reconcile(const struct vmi_snap *cur, const struct vmi_snap *view, int32_t upto) {
    spin_lock(&live_lock);
    vmi_snap_reconcile(&live, cur, view, upto);
    spin_unlock(&live_lock);
}

void hv_live_arm(struct vmi_session *s) {
    sess = s;
    uint64_t off;
    if (!current_task_off && s->src.sym(s->src.ctx, "current_task", &off) == 0) {
        /* A per-CPU offset: kallsyms gives it as is; a profile source slid it with the image. */
        if (lib_streq(s->source, "profile") && s->kernel.kaslr_known)
            off -= (uint64_t)s->kernel.kaslr;
        current_task_off = off;
    }
    for (unsigned i = 0; i < HOOK_COUNT; i++) {
        struct hook *h = &hooks[i];
        if (h->armed || h->refused)
            continue;
        struct pagewalk_xlate x;
        if (!h->va && s->src.sym(s->src.ctx, h->sym, &h->va) != 0) {
            h->refused = true;
            continue;
        }
        if (pagewalk_translate(&s->kernel.pw, h->va, &x) != 0 || (h->va & 4095) > 4096 - 5)
            continue;
        uint8_t code[5];
        if (hv_guest_read_phys(NULL, x.pa, code, sizeof(code)) != 0)
            continue;
        if (lib_memcmp(code, nop5, sizeof(nop5)) != 0)
            continue; /* ftrace has not patched it yet (or traces it): try again later */
        h->pa = x.pa;
        /* The INT3 replaces the NOP's first byte; the guard keeps all five bytes as they are now
         * (hv/ept/ept_guard.h): a guest writing the NOP back cannot switch the events off. */
        uint8_t patch[sizeof(nop5)];
        lib_memcpy(patch, nop5, sizeof(nop5));
        patch[0] = 0xCC;
        bool guarded = ept_guard_add(&hv.guard, &this_cpu()->ept, h->pa, patch, sizeof(patch),
                                     h->sym) == EPT_OK;
        if (!guarded)
            *(volatile uint8_t *)(uintptr_t)h->pa = 0xCC;
        h->armed = true;
        __atomic_or_fetch(&armed_mask, 1u << i, __ATOMIC_SEQ_CST);
        struct report *r = hv_report_begin();
        if (!r)
            continue;
        report_begin(r, "live_hook");
        report_str(r, "function", h->sym);
        report_hex(r, "va", h->va);
        report_bool(r, "guarded", guarded);
        report_bool(r, "hidden", guarded && ept_guard_hidden(&hv.guard, h->pa));
        report_end(r);

        hv_report_end(r);
    }
}

void hv_live_sync(struct hv_cpu *c) {
    if (!armed_mask || c->bp_intercepted)
        return;
    hw_vmwrite(VMCS_EXCEPTION_BITMAP, hw_vmread(VMCS_EXCEPTION_BITMAP) | (1u << 3));
    c->bp_intercepted = true;
}

/* Live events are numbered 1, 2, 3, ... across all CPUs. The number is taken while the event's
 * writer holds the output lock (hv_report_begin_ordered), so the stream carries them in order: a
 * gap is a lost event. */
static uint64_t event_seq;

static void begin_event(struct report *r, const char *ev) {
    report_begin(r, ev);
    uint64_t seq = __atomic_add_fetch(&event_seq, 1, __ATOMIC_RELAXED);
    report_u64(r, "seq", seq);
    report_u64(r, "t", hv_uptime_ms());
    /* The raw TSC at the hook: the guest reads the same counter, so latency can be measured. */
    report_u64(r, "tsc", hw_rdtsc());
}

/* The task this CPU runs: the kernel's per-CPU current_task through the guest's GS base (the
 * hooked functions run in the kernel, with the kernel's GS). */
static bool read_current(uint64_t *task, struct vmi_proc *p) {
    uint64_t gs = hw_vmread(VMCS_GUEST_GS_BASE);
    return current_task_off &&
           pagewalk_read(&sess->kernel.pw, gs + current_task_off, task, sizeof(*task)) == 0 &&
           vmi_linux_task_read(&sess->tasks, *task, p) == 0;
}

/* An INT3 at a hook whose arguments do not fit the running task (vmi/linux_live.h): no event,
 * a hook_forgery report instead. The first HOOK_FORGERY_ITEMISED are itemised, then every
 * power-of-two count, so a flood is seen and counted without flooding the report. */
#define HOOK_FORGERY_ITEMISED 16
static uint64_t forgeries;

static void report_forgery(const char *fn, uint64_t arg, const struct vmi_proc *cur,
                           const char *why) {
    uint64_t n = __atomic_add_fetch(&forgeries, 1, __ATOMIC_RELAXED);
    if (n > HOOK_FORGERY_ITEMISED && (n & (n - 1)))
        return;
    struct report *r = hv_report_begin();
    if (!r)
        return;
    report_begin(r, "hook_forgery");
    report_str(r, "function", fn);
    report_hex(r, "rip", hw_vmread(VMCS_GUEST_RIP));
    report_hex(r, "task", arg);
    report_u64(r, "cur_pid", (uint64_t)cur->pid);
    report_str(r, "cur_comm", cur->comm);
    report_str(r, "reason", why);
    report_u64(r, "cpu", this_cpu()->index);
    report_u64(r, "count", n);
    report_end(r);
    hv_report_end(r);
}

static void event_start(uint64_t task) {
    struct vmi_proc p, cur;
    uint64_t cur_task;
    if (vmi_linux_task_read(&sess->tasks, task, &p) != 0 || p.pid != p.tgid)
        return; /* a new thread, not a new process */
    if (read_current(&cur_task, &cur)) {
        const char *why = vmi_linux_live_check_start(&p, task, &cur, cur_task);
        if (why) {
            report_forgery(hooks[HOOK_START].sym, task, &cur, why);
            return;
        }
    }
    hv_live_set(p.pid, p.comm, true);
    struct report *r = hv_report_begin_ordered();
    if (!r)
        return;
    begin_event(r, "proc_start");
    report_u64(r, "pid", (uint64_t)p.pid);
    report_u64(r, "ppid", (uint64_t)p.ppid);
    report_str(r, "comm", p.comm);
    report_u64(r, "uid", p.uid);
    report_end(r);
    hv_report_end(r);
}

/* __set_task_comm's task against the running one; false (and reported) when it does not fit. */
static bool comm_fits(uint64_t task, const struct vmi_proc *p, bool exec) {
    struct vmi_proc cur;
    uint64_t cur_task;
    if (!read_current(&cur_task, &cur))
        return true; /* nothing to check against: the event as before */
    const char *why = vmi_linux_live_check_comm(p, task, exec, &cur, cur_task);
    if (why)
        report_forgery(hooks[HOOK_EXEC].sym, task, &cur, why);
    return why == NULL;
}

static void event_exec(uint64_t task, uint64_t buf) {
    struct vmi_proc p;
    char comm[16];
    if (vmi_linux_task_read(&sess->tasks, task, &p) != 0 ||
        pagewalk_read_str(&sess->kernel.pw, buf, comm, sizeof(comm)) < 0 ||
        !comm_fits(task, &p, true))
        return;
    hv_live_set(p.pid, comm, true);
    struct report *r = hv_report_begin_ordered();
    if (!r)
        return;
    begin_event(r, "proc_exec");
    report_u64(r, "pid", (uint64_t)p.pid);
    report_str(r, "comm", comm);
    report_end(r);
    hv_report_end(r);
}

/* __set_task_comm without exec: a process renames itself (prctl PR_SET_NAME, as busybox does
 * for its applets) or a new kernel thread gets its name. */
static void event_rename(uint64_t task, uint64_t buf) {
    struct vmi_proc p;
    char comm[16];
    if (vmi_linux_task_read(&sess->tasks, task, &p) != 0 || p.pid != p.tgid ||
        pagewalk_read_str(&sess->kernel.pw, buf, comm, sizeof(comm)) < 0 ||
        !comm_fits(task, &p, false))
        return;
    hv_live_set(p.pid, comm, true);
    struct report *r = hv_report_begin_ordered();
    if (!r)
        return;
    begin_event(r, "proc_rename");
    report_u64(r, "pid", (uint64_t)p.pid);
    report_str(r, "comm", comm);
    report_end(r);
    hv_report_end(r);
}

static void event_exit(uint64_t code) {
    uint64_t task = 0;
    struct vmi_proc p;
    if (!read_current(&task, &p) || p.pid != p.tgid)
        return; /* threads other than the leader are not processes ending */
    /* do_exit's code is what wait() will see: exit status in bits 15:8, or a signal in 6:0. */
    uint32_t sig = (uint32_t)code & 0x7F;
    hv_live_set(p.pid, p.comm, false);
    struct report *r = hv_report_begin_ordered();
    if (!r)
        return;
    begin_event(r, "proc_exit");
    report_u64(r, "pid", (uint64_t)p.pid);
    report_str(r, "comm", p.comm);
    if (sig)
        report_u64(r, "signal", sig);
    else
        report_u64(r, "code", ((uint32_t)code >> 8) & 0xFF);
    report_end(r);
    hv_report_end(r);
}

bool hv_live_breakpoint(struct hv_cpu *c, struct guest_regs *g) {
    (void)c; /* the events go to the machine-wide report stream, not a per-CPU one */
    uint64_t rip = hw_vmread(VMCS_GUEST_RIP);
    for (unsigned i = 0; i < HOOK_COUNT; i++) {
        if (!hooks[i].armed || hooks[i].va != rip)
            continue;
        if (i == HOOK_START)
            event_start(g->rdi);
        else if (i == HOOK_EXEC && (g->rdx & 0xFF))
            event_exec(g->rdi, g->rsi);
        else if (i == HOOK_EXEC)
            event_rename(g->rdi, g->rsi);
        else if (i == HOOK_EXIT)
            event_exit(g->rdi);
        /* Resume after the NOP the INT3 replaced. */
        hw_vmwrite(VMCS_GUEST_RIP, rip + sizeof(nop5));
        return true;
    }
    /* Not vigil's: deliver the #BP to the guest as the INT3 would have (SDM 26.6.1.1). */
    hw_vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_SW_EXCEPTION << 8) | 3u);
    hw_vmwrite(VMCS_ENTRY_INSTR_LEN, hw_vmread(VMCS_EXIT_INSTR_LEN));
    return true;
}
