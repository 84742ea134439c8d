/* Unit tests of the Linux task/thread/module walkers and the kernel finder over a synthetic
 * guest (tests/unit/vmi_synth.c): every reported field, thread groups, /proc state names, kernel
 * threads' full names, and hostile lists (cycles, non-canonical and unmapped pointers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/vmi_synth.h"
#include "vmi/kernel.h"
#include "vmi/linux_modules.h"
#include "vmi/linux_tasks.h"
#include "vmi/profile_check.h"
#include "vmi/vmi_report.h"

#define SLIDE 0x2a00000ull
static struct synth S;

static int setup(void **state) {
    (void)state;
    return synth_init(&S, 64u << 20, SLIDE);
}
static int teardown(void **state) {
    (void)state;
    synth_free(&S);
    return 0;
}

static void find(struct vmi_kernel *k) {
    assert_int_equal(vmi_kernel_find(k, &S.mem, &S.cpu, 1), 0);
}

/* A "profile" flavour of the synthetic source: link-time addresses, slid by set_slide. */
struct prof {
    int64_t slide;
    int64_t banner_delta;
};
static int p_sym(void *ctx, const char *name, uint64_t *addr) {
    struct prof *p = ctx;
    int rc = S.src.sym(S.src.ctx, name, addr);
    if (rc == 0) {
        *addr = *addr - SLIDE + (uint64_t)p->slide;
        if (!strcmp(name, "linux_banner"))
            *addr += (uint64_t)p->banner_delta;
    }
    return rc;
}
static int p_member(void *ctx, const char *st, const char *path, struct vmi_member *out) {
    (void)ctx;
    return S.src.member(S.src.ctx, st, path, out);
}
static void p_slide(void *ctx, int64_t slide) {
    ((struct prof *)ctx)->slide = slide;
}

static void test_profile_match(void **state) {
    (void)state;
    const char *banner = "Linux version 6.1.0-synthetic (vigil@test) (gcc) #1 SMP PREEMPT_DYNAMIC";
    struct prof p = {0};
    struct vmi_symsrc src = {
        .ctx = &p, .kind = "profile", .sym = p_sym, .member = p_member, .set_slide = p_slide};
    struct vmi_kernel k;
    find(&k);
    assert_int_equal(vmi_kernel_identify(&k, &src, banner), 0);
    assert_int_equal(k.kaslr, (int64_t)SLIDE);
    assert_int_equal(p.slide, (int64_t)SLIDE);
    assert_int_equal(k.link_text, SYN_LINK_TEXT);
    assert_string_equal(k.release, "6.1.0-synthetic");
    /* No recorded banner: the release must agree with the image's banner. */
    p.slide = 0;
    assert_int_equal(vmi_kernel_identify(&k, &src, NULL), 0);
    /* The profile records another kernel's banner. */
    assert_int_equal(vmi_kernel_identify(&k, &src, "Linux version 6.1.0-other #2 SMP"),
                     VMI_EMISMATCH);
    assert_true(strstr(k.error, "profile's banner") != NULL);
    /* Its linux_banner is elsewhere (another build): no banner there. */
    p.banner_delta = 0x10;
    assert_int_equal(vmi_kernel_identify(&k, &src, banner), VMI_EMISMATCH);
    assert_string_equal(k.release, "6.1.0-synthetic"); /* the running one, from the scan */
}

static char out[8192];
static size_t outlen;
static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    if (outlen + n < sizeof(out)) {
        memcpy(out + outlen, d, n);
        outlen += n;
        out[outlen] = 0;
    }
}

struct procs {
    struct vmi_proc p[64];
    int n;
};
static int collect(void *ctx, const struct vmi_proc *p) {
    struct procs *c = ctx;
    if (c->n < 64)
        c->p[c->n++] = *p;
    return 0;
}
struct tids {
    int32_t t[64];
    int n;
};
static int collect_tid(void *ctx, int32_t tid) {
    struct tids *c = ctx;
    if (c->n < 64)
        c->t[c->n++] = tid;
    return 0;
}

static void test_state_names(void **state) {
    (void)state;
    char l;
    assert_string_equal(vmi_linux_task_state_name(0, 0, &l), "running");
    assert_int_equal(l, 'R');
    assert_string_equal(vmi_linux_task_state_name(1, 0, &l), "sleeping");
    assert_string_equal(vmi_linux_task_state_name(2, 0, &l), "disk sleep");
    assert_string_equal(vmi_linux_task_state_name(4, 0, &l), "stopped");
    assert_string_equal(vmi_linux_task_state_name(8, 0, &l), "tracing stop");
    assert_string_equal(vmi_linux_task_state_name(0x80, 0x10, &l), "dead");
    assert_string_equal(vmi_linux_task_state_name(0x80, 0x20, &l), "zombie");
    assert_int_equal(l, 'Z');
    assert_string_equal(vmi_linux_task_state_name(0x40, 0, &l), "parked");
    assert_string_equal(vmi_linux_task_state_name(0x402, 0, &l), "idle");
    assert_int_equal(l, 'I');
    /* TASK_RTLOCK_WAIT reads as disk sleep; TASK_WAKEKILL|TASK_UNINTERRUPTIBLE (killable)
     * as disk sleep too; TASK_FREEZABLE | TASK_INTERRUPTIBLE as sleeping. */
    assert_string_equal(vmi_linux_task_state_name(0x1000, 0, &l), "disk sleep");
    assert_string_equal(vmi_linux_task_state_name(0x102, 0, &l), "disk sleep");
    assert_string_equal(vmi_linux_task_state_name(0x2001, 0, &l), "sleeping");
}

static void test_kernel_finder(void **state) {
    (void)state;
    struct vmi_kernel k;
    find(&k);
    assert_string_equal(k.how, "lstar");
    assert_int_equal(k.text, SYN_LINK_TEXT + SLIDE);
    assert_int_equal(k.image_end, k.text + 0x400000);
    assert_int_equal(k.paging_levels, 4);
    /* Without LSTAR: the IDT. */
    struct vmi_vcpu c = S.cpu;
    c.has_lstar = false;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &c, 1), 0);
    assert_string_equal(k.how, "idt");
    assert_int_equal(k.text, SYN_LINK_TEXT + SLIDE);
    /* Without registers: the scan. */
    assert_int_equal(vmi_kernel_find(&k, &S.mem, NULL, 0), 0);
    assert_string_equal(k.how, "scan");
    assert_int_equal(k.text, SYN_LINK_TEXT + SLIDE);
    /* Identify with the table source (an "auto" source: no vmcoreinfo -> default link). */
    assert_int_equal(vmi_kernel_identify(&k, &S.src, NULL), 0);
    assert_string_equal(k.release, "6.1.0-synthetic");
    assert_int_equal(k.kaslr, (int64_t)SLIDE);
    assert_true(k.kpti_known);
    assert_false(k.kpti);
    /* X86_FEATURE_PTI (word 7 bit 11) set in boot_cpu_data. */
    synth_w32(&S, S.boot_cpu_data + CPU_CAPS + 7 * 4, 1u << 11);
    assert_int_equal(vmi_kernel_identify(&k, &S.src, NULL), 0);
    assert_true(k.kpti);
}

static void test_kernel_finder_kpti_pair(void **state) {
    (void)state;
    /* User half of the PGD pair maps only the entry text chunk (like KPTI's user tables). */
    uint64_t upgd = S.pml4 + 0x1000;
    uint64_t kpdpt_user = 0x1f00000, kpd_user = 0x1f01000;
    memset(S.ram + kpdpt_user, 0, 0x2000);
    uint64_t e = kpdpt_user | 3;
    memcpy(S.ram + upgd + 511 * 8, &e, 8);
    e = kpd_user | 3;
    memcpy(S.ram + kpdpt_user + 510 * 8, &e, 8);
    unsigned first = (unsigned)((S.text - 0xffffffff80000000ull) >> 21);
    e = 0x1000000 | 0x83;
    memcpy(S.ram + kpd_user + first * 8ull, &e, 8);
    struct vmi_vcpu c = S.cpu;
    c.cr3 = upgd | 0x801; /* user half, user PCID */
    struct vmi_kernel k;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &c, 1), 0);
    assert_int_equal(k.cr3, S.pml4);
    assert_int_equal(k.image_end, k.text + 0x400000); /* the full image, not the user view */
    /* The banner (second chunk) is readable: kernel half in use. */
    char b[16];
    assert_int_equal(vmi_kernel_read(&k, S.banner_va, b, 14), 0);
    assert_memory_equal(b, "Linux version ", 14);
}

static void test_no_kernel(void **state) {
    (void)state;
    struct vmi_kernel k;
    memset(S.ram + synth_pa(&S, S.banner_va), 'x', 14);
    struct vmi_vcpu c = S.cpu;
    c.cr0 = 0; /* paging off: nothing to go on but the scan, and there is no banner */
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &c, 1), VMI_ENOTFOUND);
    assert_true(strlen(k.error) > 0);
}

static void build_world(uint64_t *t_threads, uint64_t *t_zombie) {
    uint64_t init = synth_process(&S, 1, 0, "init", 0, 0, 1, 0, 0x400100, true);
    uint64_t kthreadd = synth_process(&S, 2, 0, "kthreadd", 0, 0, 1, 0, 0x00208040, false);
    uint64_t kw =
        synth_process(&S, 3, kthreadd, "rcu_tasks_kthre", 0, 0, 0x402, 0, 0x00208040, false);
    synth_kthread_name(&S, kw, "rcu_tasks_kthread");
    uint64_t wq = synth_process(&S, 4, kthreadd, "kworker/0:1", 0, 0, 0x402, 0,
                                0x04208060 /* PF_WQ_WORKER */, false);
    synth_kthread_name(&S, wq, "not-used-for-workers");
    uint64_t sh = synth_process(&S, 90, init, "sh", 0, 0, 1, 0, 0x400000, true);
    *t_threads = synth_process(&S, 94, sh, "vmi-threads", 1000, 0, 1, 0, 0x400040, true);
    synth_thread(&S, *t_threads, 95);
    synth_thread(&S, *t_threads, 97);
    uint64_t zp = synth_process(&S, 96, sh, "vmi-zparent", 0, 0, 1, 0, 0x400040, true);
    *t_zombie = synth_process(&S, 98, zp, "vmi-zombie", 0, 0, 0x80, 0x20, 0x40044c, false);
    synth_process(&S, 99, sh, "stopped", 1001, 1001, 4, 0, 0x400000, true);
}

static void test_tasks(void **state) {
    (void)state;
    uint64_t tt, tz;
    build_world(&tt, &tz);
    struct vmi_kernel k;
    find(&k);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    assert_true(t.use_thread_head);
    assert_true(t.has_kthread_name);
    struct procs c = {0};
    assert_int_equal(vmi_linux_tasks_foreach(&t, collect, &c), 9);
    assert_int_equal(c.n, 9);
    /* init */
    assert_int_equal(c.p[0].pid, 1);
    assert_int_equal(c.p[0].ppid, 0);
    assert_string_equal(c.p[0].comm, "init");
    assert_string_equal(c.p[0].state, "sleeping");
    assert_false(c.p[0].kthread);
    assert_true(c.p[0].has_mm);
    assert_int_equal(c.p[0].cr3 & 0xfff, 0);
    /* kthreadd */
    assert_int_equal(c.p[1].pid, 2);
    assert_true(c.p[1].kthread);
    assert_false(c.p[1].has_mm);
    /* full kthread name; a workqueue worker keeps comm */
    assert_string_equal(c.p[2].comm, "rcu_tasks_kthread");
    assert_string_equal(c.p[2].state, "idle");
    assert_int_equal(c.p[2].ppid, 2);
    assert_string_equal(c.p[3].comm, "kworker/0:1");
    /* multi-threaded process */
    assert_int_equal(c.p[5].pid, 94);
    assert_int_equal(c.p[5].ppid, 90);
    assert_int_equal(c.p[5].uid, 1000);
    assert_int_equal(c.p[5].euid, 0);
    assert_int_equal(c.p[5].nthreads, 3);
    struct tids ti = {0};
    assert_int_equal(vmi_linux_threads_foreach(&t, tt, 0, collect_tid, &ti), 3);
    assert_int_equal(vmi_linux_threads_foreach(&t, tt, 2, NULL, NULL), VMI_ELIMIT);
    assert_int_equal(ti.t[0], 94);
    assert_int_equal(ti.t[1], 95);
    assert_int_equal(ti.t[2], 97);
    /* zombie */
    assert_int_equal(c.p[7].pid, 98);
    assert_int_equal(c.p[7].ppid, 96);
    assert_string_equal(c.p[7].state, "zombie");
    assert_false(c.p[7].has_mm);
    assert_string_equal(c.p[8].state, "stopped");
    assert_int_equal(c.p[8].uid, 1001);
    /* The thread_group flavour (older kernels) gives the same threads. */
    S.no_thread_head = true;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    assert_false(t.use_thread_head);
    (void)tz;
}

static void test_tasks_hostile(void **state) {
    (void)state;
    uint64_t tt, tz;
    build_world(&tt, &tz);
    struct vmi_kernel k;
    find(&k);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    /* A cycle that never returns to the head: zombie.next -> threads process. */
    uint64_t saved = synth_r64(&S, tz + T_TASKS);
    synth_w64(&S, tz + T_TASKS, tt + T_TASKS);
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), VMI_ELIMIT);
    /* A self loop. */
    synth_w64(&S, tz + T_TASKS, tz + T_TASKS);
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), VMI_ELIMIT);
    /* A non-canonical / user pointer. */
    synth_w64(&S, tz + T_TASKS, 0x00007fff00001000ull);
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), VMI_EFORMAT);
    /* An unmapped kernel pointer. */
    synth_w64(&S, tz + T_TASKS, 0xffffc90000000000ull);
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), VMI_EREAD);
    synth_w64(&S, tz + T_TASKS, saved);
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), 9);
    /* Thread ring cycle. */
    uint64_t sig = synth_r64(&S, tt + T_SIGNAL);
    uint64_t first = synth_r64(&S, sig + S_THREAD_HEAD);
    uint64_t second = synth_r64(&S, first);
    synth_w64(&S, second, first);
    assert_int_equal(vmi_linux_threads_foreach(&t, tt, 0, NULL, NULL), VMI_ELIMIT);
    /* The broken thread ring is that process's problem only: the walk goes on. */
    struct procs c = {0};
    assert_int_equal(vmi_linux_tasks_foreach(&t, collect, &c), 9);
    assert_int_equal(c.p[5].pid, 94);
    assert_int_equal(c.p[5].error, 0);
    assert_int_equal(c.p[5].threads_error, VMI_ELIMIT);
    assert_int_equal(c.p[5].nthreads, 0);
    assert_int_equal(c.p[6].threads_error, 0);
    assert_int_equal(c.p[6].nthreads, 1);
    /* Garbage cred pointer fails the read of that task cleanly. */
    struct vmi_proc p;
    synth_w64(&S, tz + T_REAL_CRED, 0x1234);
    assert_int_not_equal(vmi_linux_task_read(&t, tz, &p), 0);
    assert_int_equal(vmi_linux_task_read(&t, 0x42, &p), VMI_EFORMAT);
}

/* One task with a real_parent pointer that is no kernel address, one whose real_cred points to
 * unmapped memory: each is reported (pid, comm, what failed) and the walk reads every other task,
 * including those after them. */
static void test_tasks_bad_entries(void **state) {
    (void)state;
    uint64_t tt, tz;
    build_world(&tt, &tz);
    struct vmi_kernel k;
    find(&k);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    synth_w64(&S, tt + T_REAL_PARENT, 0x0000000000401000ull); /* user address */
    synth_w64(&S, tz + T_REAL_CRED, 0xffffc90000123000ull);   /* unmapped */
    struct procs c = {0};
    assert_int_equal(vmi_linux_tasks_foreach(&t, collect, &c), 9);
    assert_int_equal(c.n, 9);
    int bad = 0;
    for (int i = 0; i < c.n; i++) {
        if (!c.p[i].error) {
            assert_true(c.p[i].has_identity);
            continue;
        }
        bad++;
        assert_true(c.p[i].has_identity);
        if (c.p[i].pid == 94) {
            assert_int_equal(c.p[i].error, VMI_EFORMAT);
            assert_string_equal(c.p[i].error_what, "real_parent is not a kernel address");
            assert_string_equal(c.p[i].comm, "vmi-threads");
        } else {
            assert_int_equal(c.p[i].pid, 98);
            assert_int_equal(c.p[i].error, VMI_EREAD);
            assert_string_equal(c.p[i].error_what, "real_cred unreadable");
        }
    }
    assert_int_equal(bad, 2);
    /* The task after the zombie (the stopped process) is read whole. */
    assert_int_equal(c.p[8].pid, 99);
    assert_int_equal(c.p[8].error, 0);
    assert_int_equal(c.p[8].uid, 1001);
    /* The per-entry event. */
    struct report r;
    outlen = 0;
    report_init(&r, REPORT_JSONL, sink, NULL);
    vmi_report_task_error(&r, &c.p[7]);
    char want[256];
    snprintf(want, sizeof(want),
             "{\"ev\":\"vmi_error\",\"stage\":\"task\",\"code\":-2,\"msg\":\"real_cred "
             "unreadable\",\"task\":\"0x%llx\",\"pid\":98,\"comm\":\"vmi-zombie\"}\n",
             (unsigned long long)tz);
    assert_string_equal(out, want);
    /* A task_struct that cannot be read at all: no identity, and the reason. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(vmi_linux_task_read(&t, 0xffffc90000200000ull, &c.p[0]), VMI_EREAD);
    assert_false(c.p[0].has_identity);
    assert_string_equal(c.p[0].error_what, "task_struct unreadable");
}

/* Introspection translates through the kernel's own page table (init_top_pgt) once the kernel is
 * identified: the detection CR3 is a process's PGD that the guest later frees and refills with
 * tables showing a fake kernel (an empty task list); walks must not see it. */
static void test_own_root(void **state) {
    (void)state;
    uint64_t tt, tz;
    build_world(&tt, &tz);
    /* A process PGD: the kernel half shared with the kernel's own table, as pgd_alloc does. */
    const uint64_t proc_pgd = 0x3c00000, fake_pdpt = 0x3c01000, fake_pd = 0x3c02000;
    const uint64_t fake_img = 0x3e00000; /* 2 MiB copy of the chunk holding init_task */
    assert_true(S.next <= proc_pgd);
    memcpy(S.ram + proc_pgd, S.ram + S.pml4, 0x1000);
    struct vmi_vcpu c = S.cpu;
    c.cr3 = proc_pgd;
    struct vmi_kernel k;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &c, 1), 0);
    assert_int_equal(k.cr3, proc_pgd);
    assert_string_equal(k.root_from, "cr3");
    assert_int_equal(vmi_kernel_identify(&k, &S.src, NULL), 0);
    assert_int_equal(vmi_kernel_use_own_root(&k, &S.src), 0);
    assert_string_equal(k.root_from, "init_top_pgt");
    assert_int_equal(k.cr3, S.pml4);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), 9);
    /* The process exits; its PGD page is refilled: the kernel-image mapping now shows a copy of
     * init_task's chunk whose task list is empty. */
    unsigned chunk = (unsigned)((S.init_task - 0xffffffff80000000ull) >> 21);
    memcpy(S.ram + fake_img, S.ram + synth_pa(&S, S.init_task & ~0x1fffffull), 0x200000);
    uint64_t head_off = (S.init_task & 0x1fffff) + T_TASKS;
    uint64_t head = S.init_task + T_TASKS;
    memcpy(S.ram + fake_img + head_off, &head, 8);
    memcpy(S.ram + fake_img + head_off + 8, &head, 8);
    memcpy(S.ram + fake_pdpt, S.ram + (synth_r64(&S, S.init_top_pgt + 511 * 8) & ~0xfffull),
           0x1000);
    memcpy(S.ram + fake_pd, S.ram + S.kpd, 0x1000);
    uint64_t e = fake_img | 0x83;
    memcpy(S.ram + fake_pd + chunk * 8ull, &e, 8);
    e = fake_pd | 3;
    memcpy(S.ram + fake_pdpt + 510 * 8, &e, 8);
    e = fake_pdpt | 3;
    memcpy(S.ram + proc_pgd + 511 * 8, &e, 8);
    /* Through the detection root the guest would now show no process at all... */
    struct vmi_kernel stale;
    assert_int_equal(vmi_kernel_find(&stale, &S.mem, &c, 1), 0);
    struct vmi_linux_tasks ts;
    assert_int_equal(vmi_linux_tasks_init(&ts, &S.src, vmi_kernel_read, &stale, &stale.pw), 0);
    assert_int_equal(vmi_linux_tasks_foreach(&ts, NULL, NULL), 0);
    /* ...the session that moved to init_top_pgt still sees all nine. */
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), 9);
    /* Refilled with zeros: the same. */
    memset(S.ram + proc_pgd, 0, 0x1000);
    assert_int_equal(vmi_linux_tasks_foreach(&t, NULL, NULL), 9);
}

static void test_own_root_fallback(void **state) {
    (void)state;
    struct vmi_kernel k;
    find(&k);
    /* No symbol: the detection root stays, and the reason says so. */
    S.init_top_pgt = 0;
    assert_int_equal(vmi_kernel_use_own_root(&k, &S.src), VMI_ENOTFOUND);
    assert_string_equal(k.root_from, "cr3");
    assert_int_equal(k.cr3, S.pml4);
    assert_true(strstr(k.root_error, "no init_top_pgt") != NULL);
    /* A symbol that points at a page that is not the kernel's table (an empty page). */
    S.init_top_pgt = synth_alloc(&S, 0x2000);
    S.init_top_pgt = (S.init_top_pgt + 0xfff) & ~0xfffull;
    assert_int_equal(vmi_kernel_use_own_root(&k, &S.src), VMI_EFORMAT);
    assert_true(strstr(k.root_error, "does not map the kernel image") != NULL);
    assert_string_equal(k.root_from, "cr3");
    char b[16];
    assert_int_equal(vmi_kernel_read(&k, S.banner_va, b, 14), 0);
}

/* A profile whose banner matches but whose offsets are shifted is refused before use, with a
 * reason naming the member; the true offsets pass. */
struct shifted {
    const char *st, *path;
    int32_t by;
};
static struct shifted shift;
static int s_member(void *ctx, const char *st, const char *path, struct vmi_member *out) {
    int rc = p_member(ctx, st, path, out);
    if (rc == 0 && shift.st && !strcmp(st, shift.st) && !strcmp(path, shift.path))
        out->offset = (uint32_t)((int32_t)out->offset + shift.by);
    return rc;
}
static void test_profile_offsets(void **state) {
    (void)state;
    struct prof p = {0};
    struct vmi_symsrc src = {
        .ctx = &p, .kind = "profile", .sym = p_sym, .member = s_member, .set_slide = p_slide};
    struct vmi_kernel k;
    find(&k);
    const char *banner = "Linux version 6.1.0-synthetic (vigil@test) (gcc) #1 SMP PREEMPT_DYNAMIC";
    assert_int_equal(vmi_kernel_identify(&k, &src, banner), 0);
    char why[192];
    shift = (struct shifted){0};
    assert_int_equal(vmi_profile_check(&k, &src, why, sizeof(why)), 0);
    static const struct {
        struct shifted s;
        const char *reason;
    } cases[] = {
        {{"task_struct", "tasks", 8}, "init_task.tasks"},
        {{"task_struct", "pid", 0x38}, "init_task.pid/tgid"}, /* onto the comm bytes */
        {{"task_struct", "comm", 8}, "init_task.comm"},
        {{"task_struct", "real_parent", -8}, "init_task.real_parent"},
        {{"task_struct", "flags", -4}, "init_task.flags"},
        {{"task_struct", "real_cred", 0x20}, "init_task.real_cred"},
        {{"cred", "uid", -4}, "init_task.real_cred"},
        {{"task_struct", "mm", 0x18}, "init_task.mm"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        shift = cases[i].s;
        if (vmi_profile_check(&k, &src, why, sizeof(why)) != VMI_EMISMATCH)
            fail_msg("%s.%s shifted by %d: accepted", shift.st, shift.path, shift.by);
        if (!strstr(why, cases[i].reason))
            fail_msg("%s.%s shifted: \"%s\" does not name %s", shift.st, shift.path, why,
                     cases[i].reason);
    }
    shift = (struct shifted){0};
    /* The module list head misplaced. */
    synth_w64(&S, S.modules_head, S.modules_head + 0x40);
    assert_int_equal(vmi_profile_check(&k, &src, why, sizeof(why)), VMI_EMISMATCH);
    assert_true(strstr(why, "`modules`") != NULL);
}

static void test_missing_symbols(void **state) {
    (void)state;
    struct vmi_kernel k;
    find(&k);
    struct vmi_symsrc broken = S.src;
    broken.member = NULL;
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &broken, vmi_kernel_read, &k, &k.pw), VMI_ENOTFOUND);
    assert_string_equal(t.error, "no symbol source");
}

static void test_la57(void **state) {
    (void)state;
    /* A PML5 whose entry 511 is the synthetic PML4: with 57-bit addresses the kernel's upper-half
     * addresses keep their values and resolve through PML5[511] (SDM 3A 4.5.1). */
    uint64_t pml5 = 0x1f10000;
    memset(S.ram + pml5, 0, 0x1000);
    uint64_t e = S.pml4 | 3;
    memcpy(S.ram + pml5 + 511 * 8, &e, 8);
    uint64_t tt, tz;
    build_world(&tt, &tz);
    struct vmi_vcpu c = S.cpu;
    c.cr3 = pml5;
    c.cr4 |= 1ull << 12; /* CR4.LA57 */
    struct vmi_kernel k;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &c, 1), 0);
    assert_int_equal(k.paging_levels, 5);
    assert_int_equal(k.text, SYN_LINK_TEXT + SLIDE);
    c.has_lstar = false;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &c, 1), 0);
    assert_string_equal(k.how, "idt");
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    struct procs pr = {0};
    assert_int_equal(vmi_linux_tasks_foreach(&t, collect, &pr), 9);
    assert_true(pr.p[0].has_mm);
    /* The same PGD physical address as under 4-level paging. */
    struct vmi_kernel k4;
    find(&k4);
    struct vmi_linux_tasks t4;
    assert_int_equal(vmi_linux_tasks_init(&t4, &S.src, vmi_kernel_read, &k4, &k4.pw), 0);
    struct vmi_proc p4;
    assert_int_equal(vmi_linux_task_read(&t4, pr.p[0].task, &p4), 0);
    assert_int_equal(p4.cr3, pr.p[0].cr3);
}

struct mods {
    struct vmi_module m[8];
    int n;
};
static int collect_mod(void *ctx, const struct vmi_module *m) {
    struct mods *c = ctx;
    if (c->n < 8)
        c->m[c->n++] = *m;
    return 0;
}

static void test_modules(void **state) {
    (void)state;
    synth_module(&S, "dummy", 0xffffffffc03b3000ull, 12288, 4096, 0);
    synth_module(&S, "forming", 0xffffffffc0400000ull, 4096, 0, 3 /* UNFORMED */);
    uint64_t m3 = synth_module(&S, "loop", 0xffffffffc0500000ull, 32768, 0, 1);
    struct vmi_kernel k;
    find(&k);
    struct vmi_linux_modules m;
    assert_int_equal(vmi_linux_modules_init(&m, &S.src, vmi_kernel_read, &k), 0);
    struct mods c = {0};
    assert_int_equal(vmi_linux_modules_foreach(&m, collect_mod, &c), 2);
    assert_string_equal(c.m[0].name, "dummy");
    assert_int_equal(c.m[0].base, 0xffffffffc03b3000ull);
    assert_int_equal(c.m[0].size, 16384);
    assert_string_equal(c.m[1].name, "loop");
    /* A module list pointing back into itself. */
    synth_w64(&S, m3 + M_LIST, m3 + M_LIST);
    assert_int_equal(vmi_linux_modules_foreach(&m, NULL, NULL), VMI_ELIMIT);
    /* A name without a NUL stays bounded. */
    memset(S.ram + synth_pa(&S, m3 + M_NAME), 'A', 56);
}

static void test_report_proc_json(void **state) {
    (void)state;
    uint64_t tt, tz;
    build_world(&tt, &tz);
    struct vmi_kernel k;
    find(&k);
    struct vmi_linux_tasks t;
    assert_int_equal(vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw), 0);
    struct vmi_proc p;
    assert_int_equal(vmi_linux_task_read(&t, tt, &p), 0);
    struct report r;
    outlen = 0;
    report_init(&r, REPORT_JSONL, sink, NULL);
    vmi_report_proc(&r, &t, &p, -1);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"ev\":\"proc\",\"pid\":94,\"ppid\":90,\"comm\":\"vmi-threads\",\"uid\":1000,"
             "\"euid\":0,\"kthread\":false,\"state\":\"sleeping\",\"threads\":[94,95,97],"
             "\"cr3\":\"0x%llx\"}\n",
             (unsigned long long)p.cr3);
    assert_string_equal(out, want);
    outlen = 0;
    assert_int_equal(vmi_linux_task_read(&t, tz, &p), 0);
    vmi_report_proc(&r, &t, &p, -1);
    assert_string_equal(out, "{\"ev\":\"proc\",\"pid\":98,\"ppid\":96,\"comm\":\"vmi-zombie\","
                             "\"uid\":0,\"euid\":0,\"kthread\":false,\"state\":\"zombie\","
                             "\"threads\":[98],\"cr3\":null}\n");
    outlen = 0;
    k.kaslr = SLIDE;
    strcpy(k.release, "6.1.0-synthetic");
    vmi_report_os(&r, &k, "auto");
    assert_string_equal(
        out, "{\"ev\":\"os\",\"release\":\"6.1.0-synthetic\",\"kernel\":\"6.1.0-synthetic\","
             "\"kaslr\":\"0x2a00000\",\"source\":\"auto\"}\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names),
        cmocka_unit_test_setup_teardown(test_kernel_finder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_finder_kpti_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_kernel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasks_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasks_bad_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_root_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_symbols, setup, teardown),
        cmocka_unit_test_setup_teardown(test_la57, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_proc_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
