/* The live events' Linux knowledge (vmi/linux_live.h): the argument checks (what the kernel's own
 * callers pass is accepted, what only a jump into the hook with chosen registers produces is
 * refused), the hook table and its argument registers, ftrace's NOP rule for arming, and the
 * decoding of a hook's registers over a synthetic guest (tests/unit/vmi_synth.c), with hostile
 * registers: bad pointers, an overlong name, exit codes with stray bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/vmi_synth.h"
#include "vmi/kernel.h"
#include "vmi/linux_live.h"

static struct vmi_proc proc(int32_t pid, int32_t tgid, int32_t ppid, bool kthread) {
    struct vmi_proc p = {0};
    p.pid = pid;
    p.tgid = tgid;
    p.ppid = ppid;
    p.kthread = kthread;
    return p;
}

#define CUR_TASK 0xffff888001000000ull
#define NEW_TASK 0xffff888002000000ull

static void test_start(void **state) {
    (void)state;
    struct vmi_proc sh = proc(100, 100, 1, false), shthr = proc(101, 100, 1, false);
    struct vmi_proc kthreadd = proc(2, 2, 0, true), kworker = proc(40, 40, 2, true);
    /* fork/clone from a process or from one of its threads: the child's parent is the group */
    struct vmi_proc child = proc(200, 200, 100, false);
    assert_null(vmi_linux_live_check_start(&child, NEW_TASK, &sh, CUR_TASK));
    assert_null(vmi_linux_live_check_start(&child, NEW_TASK, &shthr, CUR_TASK));
    /* kthreadd starts kernel threads */
    struct vmi_proc kt = proc(300, 300, 2, true);
    assert_null(vmi_linux_live_check_start(&kt, NEW_TASK, &kthreadd, CUR_TASK));
    /* CLONE_PARENT: a user-mode helper started from a kworker is kthreadd's child */
    struct vmi_proc umh = proc(301, 301, 2, false);
    assert_null(vmi_linux_live_check_start(&umh, NEW_TASK, &kworker, CUR_TASK));
    /* a "new" process whose parent has nothing to do with the running task */
    struct vmi_proc fake = proc(31337, 31337, 555, false);
    assert_non_null(vmi_linux_live_check_start(&fake, NEW_TASK, &sh, CUR_TASK));
    /* the running task announced as its own child */
    assert_non_null(vmi_linux_live_check_start(&sh, CUR_TASK, &sh, CUR_TASK));
}

static void test_comm(void **state) {
    (void)state;
    struct vmi_proc sh = proc(100, 100, 1, false), thr = proc(101, 100, 1, false);
    struct vmi_proc other = proc(500, 500, 1, false), newkt = proc(600, 600, 2, true);
    /* exec and prctl rename the running task */
    assert_null(vmi_linux_live_check_comm(&sh, CUR_TASK, true, &sh, CUR_TASK));
    assert_null(vmi_linux_live_check_comm(&sh, CUR_TASK, false, &sh, CUR_TASK));
    /* /proc/self/task/N/comm: a thread of the same group */
    assert_null(vmi_linux_live_check_comm(&thr, NEW_TASK, false, &sh, CUR_TASK));
    /* kthread_create names the new kernel thread from its creator */
    assert_null(vmi_linux_live_check_comm(&newkt, NEW_TASK, false, &sh, CUR_TASK));
    /* exec of anything but the running task, or a rename across processes */
    assert_non_null(vmi_linux_live_check_comm(&thr, NEW_TASK, true, &sh, CUR_TASK));
    assert_non_null(vmi_linux_live_check_comm(&other, NEW_TASK, true, &sh, CUR_TASK));
    assert_non_null(vmi_linux_live_check_comm(&other, NEW_TASK, false, &sh, CUR_TASK));
}

static void test_hook_table(void **state) {
    (void)state;
    const struct vmi_linux_hook_def *h = vmi_linux_hooks;
    assert_string_equal(h[VMI_LINUX_HOOK_START].function, "wake_up_new_task");
    assert_string_equal(h[VMI_LINUX_HOOK_COMM].function, "__set_task_comm");
    assert_string_equal(h[VMI_LINUX_HOOK_EXIT].function, "do_exit");
    /* wake_up_new_task(p); __set_task_comm(tsk, buf, exec); do_exit(code) */
    assert_int_equal(h[VMI_LINUX_HOOK_START].param[VMI_LINUX_ARG_TASK], 1);
    assert_int_equal(h[VMI_LINUX_HOOK_COMM].param[VMI_LINUX_ARG_TASK], 1);
    assert_int_equal(h[VMI_LINUX_HOOK_COMM].param[VMI_LINUX_ARG_BUF], 2);
    assert_int_equal(h[VMI_LINUX_HOOK_COMM].param[VMI_LINUX_ARG_EXEC], 3);
    assert_int_equal(h[VMI_LINUX_HOOK_EXIT].param[VMI_LINUX_ARG_CODE], 1);
    assert_int_equal(h[VMI_LINUX_HOOK_EXIT].param[VMI_LINUX_ARG_TASK], 0);
    /* System V AMD64: rdi, rsi, rdx, rcx, r8, r9 */
    struct vmi_linux_hook_regs r = {
        .rdi = 1, .rsi = 2, .rdx = 3, .rcx = 4, .r8 = 5, .r9 = 6, .gs_base = 7};
    for (unsigned pos = 1; pos <= 6; pos++)
        assert_int_equal(vmi_linux_hook_arg(&r, pos), pos);
    assert_int_equal(vmi_linux_hook_arg(&r, 0), 0);
    assert_int_equal(vmi_linux_hook_arg(&r, 7), 0);
}

static void test_ftrace_nop(void **state) {
    (void)state;
    const uint8_t nop[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    assert_true(vmi_linux_hook_site_is_nop(nop));
    /* call __fentry__ (not patched yet, or traced), a NOP with another last byte, an INT3 */
    const uint8_t call[5] = {0xe8, 0x00, 0x00, 0x00, 0x00};
    const uint8_t near[5] = {0x0f, 0x1f, 0x44, 0x00, 0x01};
    const uint8_t int3[5] = {0xcc, 0x1f, 0x44, 0x00, 0x00};
    assert_false(vmi_linux_hook_site_is_nop(call));
    assert_false(vmi_linux_hook_site_is_nop(near));
    assert_false(vmi_linux_hook_site_is_nop(int3));
    uint8_t patch[VMI_LINUX_HOOK_SITE_LEN];
    vmi_linux_hook_patch(patch);
    assert_memory_equal(patch, int3, sizeof(int3));
}

/* The synthetic guest, with the hooked functions' symbols added to its source. */
static struct synth S;
static uint64_t fn_va[VMI_LINUX_HOOK_COUNT], current_task_sym;

static int live_sym(void *ctx, const char *name, uint64_t *addr) {
    (void)ctx;
    for (unsigned i = 0; i < VMI_LINUX_HOOK_COUNT; i++)
        if (fn_va[i] && !strcmp(name, vmi_linux_hooks[i].function)) {
            *addr = fn_va[i];
            return 0;
        }
    if (current_task_sym && !strcmp(name, "current_task")) {
        *addr = current_task_sym;
        return 0;
    }
    return S.src.sym(S.src.ctx, name, addr);
}

static int setup(void **state) {
    (void)state;
    memset(fn_va, 0, sizeof(fn_va));
    current_task_sym = 0;
    return synth_init(&S, 64u << 20, 0x2a00000ull);
}
static int teardown(void **state) {
    (void)state;
    synth_free(&S);
    return 0;
}

static void put(uint64_t va, const uint8_t *code, size_t n) {
    memcpy(S.ram + synth_pa(&S, va), code, n);
}

static void test_hook_site(void **state) {
    (void)state;
    struct vmi_kernel k;
    assert_int_equal(vmi_kernel_find(&k, &S.mem, &S.cpu, 1), 0);
    struct vmi_symsrc src = S.src;
    src.sym = live_sym;
    const uint8_t nop[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00}, call[5] = {0xe8, 1, 2, 3, 4};
    uint64_t page = synth_alloc(&S, 3 * 4096);
    page = (page + 4095) & ~4095ull;
    fn_va[VMI_LINUX_HOOK_START] = page + 0x100;
    fn_va[VMI_LINUX_HOOK_COMM] = page + 0x200;
    fn_va[VMI_LINUX_HOOK_EXIT] = page + 4096 - 3; /* the NOP would cross the page end */
    put(fn_va[VMI_LINUX_HOOK_START], nop, 5);
    put(fn_va[VMI_LINUX_HOOK_COMM], call, 5);
    put(fn_va[VMI_LINUX_HOOK_EXIT], nop, 3);
    put(page + 4096, nop + 3, 2);
    uint64_t va = 0, pa = 0;
    assert_int_equal(vmi_linux_hook_site(&src, &k.pw, VMI_LINUX_HOOK_START, &va, &pa),
                     VMI_LINUX_SITE_READY);
    assert_int_equal(va, fn_va[VMI_LINUX_HOOK_START]);
    assert_int_equal(pa, synth_pa(&S, fn_va[VMI_LINUX_HOOK_START]));
    /* ftrace has not patched the call yet: retry later, pa untouched */
    va = 0, pa = 0;
    assert_int_equal(vmi_linux_hook_site(&src, &k.pw, VMI_LINUX_HOOK_COMM, &va, &pa),
                     VMI_LINUX_SITE_NOT_YET);
    assert_int_equal(va, fn_va[VMI_LINUX_HOOK_COMM]);
    assert_int_equal(pa, 0);
    /* ... and once it has, the kept va is used without another lookup */
    put(fn_va[VMI_LINUX_HOOK_COMM], nop, 5);
    fn_va[VMI_LINUX_HOOK_COMM] = 0;
    assert_int_equal(vmi_linux_hook_site(&src, &k.pw, VMI_LINUX_HOOK_COMM, &va, &pa),
                     VMI_LINUX_SITE_READY);
    assert_int_equal(pa, synth_pa(&S, page + 0x200));
    va = 0, pa = 0;
    assert_int_equal(vmi_linux_hook_site(&src, &k.pw, VMI_LINUX_HOOK_EXIT, &va, &pa),
                     VMI_LINUX_SITE_NOT_YET);
    /* the source lacks the function */
    va = 0;
    assert_int_equal(vmi_linux_hook_site(&src, &k.pw, VMI_LINUX_HOOK_COMM, &va, &pa),
                     VMI_LINUX_SITE_NO_SYMBOL);
    /* a symbol that points nowhere: non-canonical, and canonical but unmapped */
    va = 0x0000800000000000ull;
    assert_int_equal(vmi_linux_hook_site(&src, &k.pw, VMI_LINUX_HOOK_COMM, &va, &pa),
                     VMI_LINUX_SITE_NOT_YET);
    va = 0xffffc90000000000ull;
    assert_int_equal(vmi_linux_hook_site(&src, &k.pw, VMI_LINUX_HOOK_COMM, &va, &pa),
                     VMI_LINUX_SITE_NOT_YET);
    assert_int_equal(pa, 0);
}

static struct vmi_session sess;

static void test_bind(void **state) {
    (void)state;
    memset(&sess, 0, sizeof(sess));
    sess.src = S.src;
    sess.src.sym = live_sym;
    sess.source = "auto";
    sess.kernel.kaslr = 0x2a00000;
    sess.kernel.kaslr_known = true;
    struct vmi_linux_live l = {0};
    /* no current_task: arguments go unchecked */
    vmi_linux_live_bind(&l, &sess);
    assert_ptr_equal(l.tasks, &sess.tasks);
    assert_ptr_equal(l.pw, &sess.kernel.pw);
    assert_int_equal(l.current_task_off, 0);
    /* kallsyms gives the per-CPU offset as is */
    current_task_sym = 0x1fc40;
    vmi_linux_live_bind(&l, &sess);
    assert_int_equal(l.current_task_off, 0x1fc40);
    /* a profile's symbols are slid with the image: the offset is taken back */
    struct vmi_linux_live lp = {0};
    sess.source = "profile";
    current_task_sym = 0x1fc40 + 0x2a00000;
    vmi_linux_live_bind(&lp, &sess);
    assert_int_equal(lp.current_task_off, 0x1fc40);
    /* found once: a later bind keeps it */
    current_task_sym = 0x5000;
    vmi_linux_live_bind(&lp, &sess);
    assert_int_equal(lp.current_task_off, 0x1fc40);
}

/* A small world: init (1) runs sh (90), which has a thread (91) and a child "other" (120). The
 * running task is written at gs_base + CURRENT_OFF. */
#define CURRENT_OFF 0x40
static struct vmi_kernel K;
static struct vmi_linux_tasks T;
static struct vmi_linux_live L;
static uint64_t t_init, t_kthreadd, t_sh, t_thr, t_other, percpu;

static void world(void) {
    t_init = synth_process(&S, 1, 0, "init", 0, 0, 1, 0, 0x400100, true);
    t_kthreadd = synth_process(&S, 2, 0, "kthreadd", 0, 0, 1, 0, 0x00208040, false);
    t_sh = synth_process(&S, 90, t_init, "sh", 1000, 1000, 1, 0, 0x400000, true);
    t_thr = synth_thread(&S, t_sh, 91);
    t_other = synth_process(&S, 120, t_init, "other", 0, 0, 1, 0, 0x400000, true);
    assert_int_equal(vmi_kernel_find(&K, &S.mem, &S.cpu, 1), 0);
    assert_int_equal(vmi_linux_tasks_init(&T, &S.src, vmi_kernel_read, &K, &K.pw), 0);
    percpu = synth_alloc(&S, 256);
    L = (struct vmi_linux_live){&T, &K.pw, CURRENT_OFF};
}

static struct vmi_linux_hook_regs running(uint64_t task) {
    synth_w64(&S, percpu + CURRENT_OFF, task);
    return (struct vmi_linux_hook_regs){.gs_base = percpu};
}

static void test_decode_start(void **state) {
    (void)state;
    world();
    struct vmi_linux_live_event ev;
    /* sh forks: the child's parent is sh */
    uint64_t child = synth_process(&S, 200, t_sh, "child", 1000, 1000, 0, 0, 0x400000, true);
    struct vmi_linux_hook_regs r = running(t_sh);
    r.rdi = child;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_START, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_START);
    assert_int_equal(ev.proc.pid, 200);
    assert_int_equal(ev.proc.ppid, 90);
    assert_string_equal(ev.proc.comm, "child");
    assert_int_equal(ev.proc.uid, 1000);
    /* the argument is in rdi only: the same task in rsi is not read */
    r.rsi = r.rdi;
    r.rdi = 0;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_START, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    /* a new thread is not a new process */
    r.rdi = t_thr;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_START, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    /* bad pointers: non-canonical, unmapped, in user space, all ones */
    const uint64_t bad[] = {0xdead0000beefull, 0xffffc90000001000ull, 0x1000, ~0ull};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.rdi = bad[i];
        vmi_linux_live_decode(&L, VMI_LINUX_HOOK_START, &r, &ev);
        assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    }
    /* "other" (child of init) announced as new while kthreadd runs: its parent is neither
     * kthreadd's group nor kthreadd's parent... */
    struct vmi_linux_hook_regs rk = running(t_kthreadd);
    rk.rdi = t_other;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_START, &rk, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_FORGERY);
    assert_int_equal(ev.task_arg, t_other);
    assert_int_equal(ev.cur.pid, 2);
    assert_non_null(ev.why);
    /* ... the running task as its own child */
    r = running(t_sh);
    r.rdi = t_sh;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_START, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_FORGERY);
    /* the running task cannot be read (bad current_task): nothing to check against */
    r = running(0xdead0000beefull);
    r.rdi = t_sh;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_START, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_START);
    assert_int_equal(ev.proc.pid, 90);
}

static void test_decode_comm(void **state) {
    (void)state;
    world();
    struct vmi_linux_live_event ev;
    uint64_t name = synth_alloc(&S, 64), longname = synth_alloc(&S, 64);
    synth_wstr(&S, name, "busybox");
    synth_wstr(&S, longname, "a-name-far-longer-than-task-comm-len");
    /* exec of the running task: rdi task, rsi name, rdx exec */
    struct vmi_linux_hook_regs r = running(t_sh);
    r.rdi = t_sh, r.rsi = name, r.rdx = 1;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_EXEC);
    assert_int_equal(ev.proc.pid, 90);
    assert_string_equal(ev.comm, "busybox");
    /* exec is a C bool: only its low byte counts */
    r.rdx = 0xffffffffffffff00ull;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_RENAME);
    /* an overlong name is cut to TASK_COMM_LEN - 1 bytes */
    r.rsi = longname;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_RENAME);
    assert_int_equal(strlen(ev.comm), VMI_LINUX_COMM_LEN - 1);
    assert_memory_equal(ev.comm, "a-name-far-long", VMI_LINUX_COMM_LEN - 1);
    /* a name that cannot be read, a task that cannot be read */
    r.rsi = 0xffffc90000000000ull;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    r.rsi = name, r.rdi = 0x1000;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    /* a thread's rename is not a process's; its exec is */
    r.rdi = t_thr, r.rdx = 0;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    /* exec of another process, and a rename across processes: forgeries */
    r.rdi = t_other, r.rdx = 1;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_FORGERY);
    assert_int_equal(ev.task_arg, t_other);
    assert_int_equal(ev.cur.pid, 90);
    r.rdx = 0;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_COMM, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_FORGERY);
}

static void test_decode_exit(void **state) {
    (void)state;
    world();
    struct vmi_linux_live_event ev;
    /* exit(3): status in bits 15:8 */
    struct vmi_linux_hook_regs r = running(t_sh);
    r.rdi = 3u << 8;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_EXIT);
    assert_int_equal(ev.proc.pid, 90);
    assert_string_equal(ev.proc.comm, "sh");
    assert_int_equal(ev.signal, 0);
    assert_int_equal(ev.code, 3);
    /* killed by SIGKILL, with the core-dump bit: the signal in bits 6:0 */
    r.rdi = 9 | 0x80;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.signal, 9);
    /* codes no caller passes: bits above 15 and the long's upper half are ignored, the values
     * stay in their fields' ranges */
    r.rdi = 0xffffffffffff2a00ull;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_EXIT);
    assert_int_equal(ev.signal, 0);
    assert_int_equal(ev.code, 0x2a);
    r.rdi = ~0ull;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.signal, 0x7f);
    assert_int_equal(ev.code, 0xff);
    /* the code is rdi's: rsi is not looked at */
    r.rdi = 0, r.rsi = 9;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.signal, 0);
    assert_int_equal(ev.code, 0);
    /* a thread exiting is not a process ending; an unreadable current is nothing */
    r = running(t_thr);
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    r = running(0x1000);
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
    /* current_task unknown */
    r = running(t_sh);
    L.current_task_off = 0;
    vmi_linux_live_decode(&L, VMI_LINUX_HOOK_EXIT, &r, &ev);
    assert_int_equal(ev.kind, VMI_LINUX_LIVE_NONE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_comm),
        cmocka_unit_test(test_hook_table),
        cmocka_unit_test(test_ftrace_nop),
        cmocka_unit_test_setup_teardown(test_hook_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_comm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_exit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
