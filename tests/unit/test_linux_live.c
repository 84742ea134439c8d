/* The live-event argument checks (vmi/linux_live.h): what the kernel's own callers pass is
 * accepted, what only a jump into the hook with chosen registers produces is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_comm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
