#include "hv/intro/hv_live.h"

#include "base/hw.h"
#include "base/spinlock.h"
#include "hv/arch/vcpu.h"
#include "hv/arch/x86.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"
#include "vmi/linux_live.h"

/* One per vmi_linux_hooks[] entry (vmi/linux_live.h says what each is and where it goes). */
struct hook {
    uint64_t va, pa;
    bool armed;
    bool refused; /* the symbol source lacks the function: never armed */
};

static struct hook hooks[VMI_LINUX_HOOK_COUNT];
static struct vmi_linux_live linux_live;
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
    vmi_linux_live_bind(&linux_live, s);
    for (unsigned i = 0; i < VMI_LINUX_HOOK_COUNT; i++) {
        struct hook *h = &hooks[i];
        const char *fn = vmi_linux_hooks[i].function;
        if (h->armed || h->refused)
            continue;
        enum vmi_linux_site site = vmi_linux_hook_site(&s->src, &s->kernel.pw, i, &h->va, &h->pa);
        if (site == VMI_LINUX_SITE_NO_SYMBOL)
            h->refused = true;
        if (site != VMI_LINUX_SITE_READY)
            continue; /* NOT_YET: tried again on the next call */
        /* The guard keeps all the patched bytes as they are now (hv/ept/ept_guard.h): a guest
         * writing the original entry back cannot switch the events off. */
        uint8_t patch[VMI_LINUX_HOOK_SITE_LEN];
        vmi_linux_hook_patch(patch);
        bool guarded =
            ept_guard_add(&hv.guard, &this_cpu()->ept, h->pa, patch, sizeof(patch), fn) == EPT_OK;
        if (!guarded)
            *(volatile uint8_t *)(uintptr_t)h->pa = patch[0];
        h->armed = true;
        __atomic_or_fetch(&armed_mask, 1u << i, __ATOMIC_SEQ_CST);
        struct report *r = hv_report_begin();
        if (!r)
            continue;
        report_begin(r, "live_hook");
        report_str(r, "function", fn);
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
    vcpu_intercept_exception(&c->vcpu, VEC_BP, true);
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
    report_hex(r, "rip", vcpu_rip(&this_cpu()->vcpu));
    report_hex(r, "task", arg);
    report_u64(r, "cur_pid", (uint64_t)cur->pid);
    report_str(r, "cur_comm", cur->comm);
    report_str(r, "reason", why);
    report_u64(r, "cpu", this_cpu()->index);
    report_u64(r, "count", n);
    report_end(r);
    hv_report_end(r);
}

static void event_start(const struct vmi_proc *newp) {
    const struct vmi_proc p = *newp;
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

static void event_exec(const struct vmi_proc *task, const char *comm) {
    const struct vmi_proc p = *task;
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

static void event_rename(const struct vmi_proc *task, const char *comm) {
    const struct vmi_proc p = *task;
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

static void event_exit(const struct vmi_proc *task, uint32_t sig, uint32_t status) {
    const struct vmi_proc p = *task;
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
        report_u64(r, "code", status);
    report_end(r);
    hv_report_end(r);
}

static void event(enum vmi_linux_hook h, const struct vmi_linux_live_event *ev) {
    switch (ev->kind) {
    case VMI_LINUX_LIVE_START:
        event_start(&ev->proc);
        break;
    case VMI_LINUX_LIVE_EXEC:
        event_exec(&ev->proc, ev->comm);
        break;
    case VMI_LINUX_LIVE_RENAME:
        event_rename(&ev->proc, ev->comm);
        break;
    case VMI_LINUX_LIVE_EXIT:
        event_exit(&ev->proc, ev->signal, ev->code);
        break;
    case VMI_LINUX_LIVE_FORGERY:
        report_forgery(vmi_linux_hooks[h].function, ev->task_arg, &ev->cur, ev->why);
        break;
    case VMI_LINUX_LIVE_NONE:
        break;
    }
}

bool hv_live_breakpoint(struct hv_cpu *c, struct guest_regs *g) {
    /* The events go to the machine-wide report stream, not a per-CPU one. */
    struct vcpu *v = &c->vcpu;
    uint64_t rip = vcpu_rip(v);
    for (unsigned i = 0; i < VMI_LINUX_HOOK_COUNT; i++) {
        if (!hooks[i].armed || hooks[i].va != rip)
            continue;
        struct vcpu_sysregs sr;
        vcpu_read_sysregs(v, &sr);
        struct vmi_linux_hook_regs regs = {
            .rdi = g->rdi,
            .rsi = g->rsi,
            .rdx = g->rdx,
            .rcx = g->rcx,
            .r8 = g->r8,
            .r9 = g->r9,
            .gs_base = sr.gs_base,
        };
        struct vmi_linux_live_event ev;
        vmi_linux_live_decode(&linux_live, i, &regs, &ev);
        event(i, &ev);
        /* Resume after the entry the INT3 was written over. */
        vcpu_set_rip(v, rip + VMI_LINUX_HOOK_SITE_LEN);
        return true;
    }
    /* Not vigil's: deliver the #BP to the guest as the INT3 would have. */
    vcpu_reinject_soft_exception(v, VEC_BP);
    return true;
}
