/* libFuzzer target for the VMI walkers over hostile guest memory.
 *
 * Input byte 0 picks the mode (modulo 3):
 *   0:    page walker. The rest of the input is 64 KiB of "guest RAM" (zero-padded) whose first
 *         24 bytes give CR3, CR4 and a virtual address; translate and read across pages.
 *   1:    a valid synthetic Linux guest (tests/unit/vmi_synth.c) patched by the input: a list of
 *         (region, offset, length, bytes) patches over its page tables, kernel image and
 *         task/cred/signal/mm/module objects; then the kernel finder (LSTAR/IDT), the task,
 *         thread and module walkers and the report writer run over it. The patches are undone
 *         afterwards so every run starts from the same guest.
 *   2:    the host dump readers (tools/dump_reader.c): the input as an ELF core / raw image,
 *         then reads at addresses taken from it, and the input as a register file.
 * Nothing may crash, hang or read out of bounds; errors are fine. */
#include "tests/unit/vmi_synth.h"
#include "tools/dump_reader.h"
#include "vmi/kernel.h"
#include "vmi/linux_modules.h"
#include "vmi/linux_tasks.h"
#include "vmi/pagewalk.h"
#include "vmi/proc_snapshot.h"
#include "vmi/profile_check.h"
#include "vmi/vmi_report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PW_RAM 0x10000u

static uint8_t pw_ram[PW_RAM];
static int pw_read(void *ctx, uint64_t pa, void *buf, size_t len) {
    (void)ctx;
    if (pa >= PW_RAM || len > PW_RAM - pa)
        return VMI_EREAD;
    memcpy(buf, pw_ram + pa, len);
    return 0;
}

static void fuzz_pagewalk(const uint8_t *d, size_t n) {
    memset(pw_ram, 0, sizeof(pw_ram));
    memcpy(pw_ram, d, n < PW_RAM ? n : PW_RAM);
    uint64_t cr3, cr4, va;
    memcpy(&cr3, pw_ram, 8);
    memcpy(&cr4, pw_ram + 8, 8);
    memcpy(&va, pw_ram + 16, 8);
    struct vmi_mem m = {.ctx = NULL, .read_phys = pw_read, .phys_end = PW_RAM};
    struct pagewalk pw;
    pagewalk_init(&pw, &m, cr3 & 0xffff, cr4, cr4 >> 32, (cr4 >> 1) & 1);
    struct pagewalk_xlate x;
    for (int i = 0; i < 8; i++) {
        uint64_t a = va + (uint64_t)i * 0x1000 * (uint64_t)(i * i + 1);
        if (pagewalk_translate(&pw, a, &x) == 0 && (x.page_size & (x.page_size - 1)))
            abort(); /* a page size is a power of two */
    }
    uint8_t buf[0x3000];
    pagewalk_read(&pw, va, buf, sizeof(buf));
    char s[300];
    pagewalk_read_str(&pw, va ^ 0x800, s, sizeof(s));
    if (strlen(s) >= sizeof(s))
        abort();
}

static struct synth S;
static bool ready;
static uint64_t tasks[8];

static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    (void)d;
    (void)n;
}

static void build(void) {
    if (synth_init(&S, 48u << 20, 0x2a00000))
        abort();
    uint64_t init = synth_process(&S, 1, 0, "init", 0, 0, 1, 0, 0x400100, true);
    uint64_t kt = synth_process(&S, 2, 0, "kthreadd", 0, 0, 1, 0, 0x208040, false);
    uint64_t k3 = synth_process(&S, 3, kt, "rcu_tasks_kthre", 0, 0, 0x402, 0, 0x208040, false);
    synth_kthread_name(&S, k3, "rcu_tasks_kthread");
    uint64_t t = synth_process(&S, 90, init, "threads", 1000, 0, 1, 0, 0x400040, true);
    synth_thread(&S, t, 91);
    synth_thread(&S, t, 92);
    uint64_t z = synth_process(&S, 93, t, "zombie", 0, 0, 0x80, 0x20, 0x40044c, false);
    synth_module(&S, "dummy", 0xffffffffc03b3000ull, 12288, 4096, 0);
    synth_module(&S, "loop", 0xffffffffc0500000ull, 32768, 0, 0);
    tasks[0] = init;
    tasks[1] = kt;
    tasks[2] = k3;
    tasks[3] = t;
    tasks[4] = z;
    ready = true;
}

struct undo {
    uint64_t pa;
    uint8_t old[64];
    uint8_t len;
};

static void fuzz_linux(const uint8_t *d, size_t n) {
    if (!ready)
        build();
    /* Regions: page tables, kernel image (init_task, modules head, IDT, banner), objects. */
    const uint64_t base[4] = {0x2000, 0x1000000 + 0x200000, 0x1000000 + 0x100000, 0x2000000};
    const uint64_t span[4] = {0x6000, 0x3000, 0x200, S.next - 0x2000000};
    struct undo u[64];
    int nu = 0;
    size_t i = 0;
    while (i + 4 <= n && nu < 64) {
        unsigned reg = d[i] & 3;
        uint64_t off =
            ((uint64_t)d[i + 1] | (uint64_t)d[i + 2] << 8) * (span[reg] > 0x10000 ? 8 : 1);
        uint8_t len = d[i + 3] & 63;
        i += 4;
        if (len > n - i)
            len = (uint8_t)(n - i);
        off %= span[reg];
        uint64_t pa = base[reg] + off;
        if (pa + len > S.size)
            break;
        u[nu].pa = pa;
        u[nu].len = len;
        memcpy(u[nu].old, S.ram + pa, len);
        memcpy(S.ram + pa, d + i, len);
        nu++;
        i += len;
    }
    static struct vmi_kernel k;
    struct vmi_vcpu c = S.cpu;
    if (n && (d[0] & 2))
        c.has_lstar = false; /* go through the IDT */
    /* The physical scan (when registers lead nowhere) reads all 48 MiB: only for 1 input in 8,
     * else the fuzzer spends its time there. */
    struct vmi_mem mem = S.mem;
    if (!(n && (d[0] & 8)))
        mem.phys_end = 0;
    if (vmi_kernel_find(&k, &mem, &c, 1) == 0) {
        (void)vmi_kernel_identify(&k, &S.src, NULL);
        /* The profile offset checks, then the move to the kernel's own page table. */
        char why[192];
        (void)vmi_profile_check(&k, &S.src, why, sizeof(why));
        if (vmi_kernel_use_own_root(&k, &S.src) == 0 && strcmp(k.root_from, "init_top_pgt"))
            abort();
        struct vmi_linux_tasks t;
        struct report r;
        report_init(&r, (n && (d[0] & 4)) ? REPORT_JSONL : REPORT_TEXT, sink, NULL);
        if (vmi_linux_tasks_init(&t, &S.src, vmi_kernel_read, &k, &k.pw) == 0) {
            /* Two walks into snapshots (a small cap, so the capped path runs too), their
             * differences and a live-view reconcile: sorted order and the cap must hold. */
            static struct vmi_snap_entry ea[8], eb[8], ec[8];
            struct vmi_snap a, b, live;
            vmi_snap_init(&a, ea, 8);
            vmi_snap_init(&b, eb, (n && (d[0] & 16)) ? 3 : 8);
            vmi_snap_init(&live, ec, 4);
            (void)vmi_linux_tasks_foreach(&t, vmi_snap_record, &a);
            vmi_snap_finish(&a);
            (void)vmi_linux_tasks_foreach(&t, vmi_snap_record, &b);
            vmi_snap_finish(&b);
            vmi_snap_seed(&live, &a);
            vmi_snap_set(&live, 77, "x", true);
            struct vmi_snap_diff_cbs none = {0};
            vmi_snap_diff(&a, &b, a.limit < b.limit ? a.limit : b.limit, &none, NULL);
            vmi_snap_reconcile(&live, &b, &a, b.limit);
            const struct vmi_snap *all[3] = {&a, &b, &live};
            for (int q = 0; q < 3; q++) {
                if (all[q]->n > all[q]->cap)
                    abort();
                for (uint32_t e = 1; e < all[q]->n; e++)
                    if (all[q]->e[e - 1].pid >= all[q]->e[e].pid)
                        abort();
            }
            for (int j = 0; j < 5; j++) {
                struct vmi_proc p;
                if (vmi_linux_task_read(&t, tasks[j], &p) == 0) {
                    if (strlen(p.comm) >= sizeof(p.comm))
                        abort();
                    vmi_report_proc(&r, &t, &p, (int)j);
                }
                (void)vmi_linux_threads_foreach(&t, tasks[j], 0, NULL, NULL);
            }
        }
        struct vmi_linux_modules m;
        if (vmi_linux_modules_init(&m, &S.src, vmi_kernel_read, &k) == 0)
            (void)vmi_linux_modules_foreach(&m, NULL, NULL);
    }
    while (nu--)
        memcpy(S.ram + u[nu].pa, u[nu].old, u[nu].len);
}

static void fuzz_dump(const uint8_t *d, size_t n) {
    static struct dump dp;
    if (dump_open_buffer(&dp, d, n) == 0) {
        struct vmi_mem m;
        dump_mem(&dp, &m);
        uint8_t buf[256];
        for (size_t i = 0; i + 8 <= n && i < 64; i += 8) {
            uint64_t pa;
            memcpy(&pa, d + i, 8);
            (void)vmi_read_phys(&m, pa, buf, (size_t)(d[i] % sizeof(buf)));
            (void)vmi_read_phys(&m, pa % (m.phys_end + 1), buf, sizeof(buf));
        }
    }
    memset(&dp, 0, sizeof(dp));
    (void)dump_parse_regs(&dp, (const char *)d, n);
    if (dp.ncpus > DUMP_MAX_CPUS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n == 0)
        return 0;
    switch (d[0] % 3) {
    case 0:
        fuzz_pagewalk(d + 1, n - 1);
        break;
    case 1:
        fuzz_linux(d + 1, n - 1);
        break;
    default:
        fuzz_dump(d + 1, n - 1);
        break;
    }
    return 0;
}
