/* Synthetic Linux guest for tests and benchmarks. See vmi_synth.h. */
#include "tests/unit/vmi_synth.h"
#include <stdlib.h>
#include <string.h>

#define P 1ull
#define RW 2ull
#define PS 0x80ull

static int ram_read(void *ctx, uint64_t pa, void *buf, size_t len) {
    struct synth *s = ctx;
    if (pa >= s->size || len > s->size - pa)
        return VMI_EREAD;
    memcpy(buf, s->ram + pa, len);
    return 0;
}

static void wphys64(struct synth *s, uint64_t pa, uint64_t v) {
    memcpy(s->ram + pa, &v, 8);
}

static uint64_t alloc_phys(struct synth *s, size_t n, size_t align) {
    s->next = (s->next + align - 1) & ~(uint64_t)(align - 1);
    uint64_t pa = s->next;
    s->next += n;
    if (s->next > s->size)
        abort();
    memset(s->ram + pa, 0, n);
    return pa;
}

uint64_t synth_pa(struct synth *s, uint64_t va) {
    if (va >= SYN_DIRECT_MAP && va < SYN_DIRECT_MAP + s->size)
        return va - SYN_DIRECT_MAP;
    if (va >= s->text && va < s->text + 0x400000)
        return 0x1000000 + (va - s->text);
    abort();
}

uint64_t synth_alloc(struct synth *s, size_t n) {
    return SYN_DIRECT_MAP + alloc_phys(s, n, 64);
}
void synth_w64(struct synth *s, uint64_t va, uint64_t v) {
    memcpy(s->ram + synth_pa(s, va), &v, 8);
}
void synth_w32(struct synth *s, uint64_t va, uint32_t v) {
    memcpy(s->ram + synth_pa(s, va), &v, 4);
}
uint64_t synth_r64(struct synth *s, uint64_t va) {
    uint64_t v;
    memcpy(&v, s->ram + synth_pa(s, va), 8);
    return v;
}
void synth_wstr(struct synth *s, uint64_t va, const char *str) {
    memcpy(s->ram + synth_pa(s, va), str, strlen(str) + 1);
}

/* list_add_tail(node, head) */
static void list_init(struct synth *s, uint64_t head) {
    synth_w64(s, head, head);
    synth_w64(s, head + 8, head);
}
static void list_add_tail(struct synth *s, uint64_t node, uint64_t head) {
    uint64_t prev = synth_r64(s, head + 8);
    synth_w64(s, node, head);
    synth_w64(s, node + 8, prev);
    synth_w64(s, prev, node);
    synth_w64(s, head + 8, node);
}

/* --- table-driven symbol source ---------------------------------------------------------- */
struct fld {
    const char *st, *path;
    uint32_t off, size;
};
static const struct fld fields[] = {
    {"task_struct", "__state", T_STATE, 4},
    {"task_struct", "flags", T_FLAGS, 4},
    {"task_struct", "tasks", T_TASKS, 16},
    {"task_struct", "mm", T_MM, 8},
    {"task_struct", "exit_state", T_EXIT_STATE, 4},
    {"task_struct", "pid", T_PID, 4},
    {"task_struct", "tgid", T_TGID, 4},
    {"task_struct", "real_parent", T_REAL_PARENT, 8},
    {"task_struct", "group_leader", T_GROUP_LEADER, 8},
    {"task_struct", "thread_node", T_THREAD_NODE, 16},
    {"task_struct", "real_cred", T_REAL_CRED, 8},
    {"task_struct", "cred", T_CRED, 8},
    {"task_struct", "comm", T_COMM, 16},
    {"task_struct", "signal", T_SIGNAL, 8},
    {"task_struct", "worker_private", T_WORKER_PRIVATE, 8},
    {"signal_struct", "thread_head", S_THREAD_HEAD, 16},
    {"mm_struct", "pgd", MM_PGD, 8},
    {"cred", "uid", C_UID, 4},
    {"cred", "euid", C_EUID, 4},
    {"kthread", "full_name", K_FULL_NAME, 8},
    {"module", "state", M_STATE, 4},
    {"module", "list", M_LIST, 16},
    {"module", "name", M_NAME, 56},
    {"module", "core_layout", M_CORE_BASE, 0x40},
    {"module", "core_layout.base", M_CORE_BASE, 8},
    {"module", "core_layout.size", M_CORE_SIZE, 4},
    {"module", "init_layout.size", M_INIT_SIZE, 4},
    {"cpuinfo_x86", "x86_capability", CPU_CAPS, 80},
};

static int t_sym(void *ctx, const char *name, uint64_t *addr) {
    struct synth *s = ctx;
    if (!strcmp(name, "init_task"))
        *addr = s->init_task;
    else if (!strcmp(name, "modules"))
        *addr = s->modules_head;
    else if (!strcmp(name, "linux_banner"))
        *addr = s->banner_va;
    else if (!strcmp(name, "_text"))
        *addr = s->text;
    else if (!strcmp(name, "boot_cpu_data"))
        *addr = s->boot_cpu_data;
    else if (!strcmp(name, "init_top_pgt") && s->init_top_pgt)
        *addr = s->init_top_pgt;
    else
        return VMI_ENOTFOUND;
    return 0;
}
static int t_member(void *ctx, const char *st, const char *path, struct vmi_member *out) {
    struct synth *s = ctx;
    if (s->no_thread_head && !strcmp(path, "thread_head"))
        return VMI_ENOTFOUND;
    if (!strcmp(st, "task_struct") && !strcmp(path, "thread_group") && s->no_thread_head) {
        out->offset = T_THREAD_NODE;
        out->size = 16;
        return 0;
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!strcmp(fields[i].st, st) && !strcmp(fields[i].path, path)) {
            out->offset = fields[i].off;
            out->size = fields[i].size;
            return 0;
        }
    return VMI_ENOTFOUND;
}
static int t_size(void *ctx, const char *st, uint32_t *size) {
    (void)ctx;
    if (!strcmp(st, "task_struct"))
        *size = T_SIZE;
    else
        return VMI_ENOTFOUND;
    return 0;
}
static void t_slide(void *ctx, int64_t slide) {
    (void)ctx;
    (void)slide;
}

int synth_init(struct synth *s, size_t size, uint64_t slide) {
    memset(s, 0, sizeof(*s));
    s->ram = calloc(1, size);
    if (!s->ram)
        return -1;
    s->size = size;
    s->slide = slide;
    s->text = SYN_LINK_TEXT + slide;
    s->next = 0x1000;
    s->mem = (struct vmi_mem){.ctx = s, .read_phys = ram_read, .phys_end = size};
    /* PML4 pair (8 KiB aligned, like a KPTI kernel's). */
    s->pml4 = alloc_phys(s, 0x2000, 0x2000);
    s->init_top_pgt = SYN_DIRECT_MAP + s->pml4;
    /* Direct map: PML4[273] -> PDPT of 1 GiB pages over all RAM. */
    uint64_t dpdpt = alloc_phys(s, 0x1000, 0x1000);
    wphys64(s, s->pml4 + 273 * 8, dpdpt | P | RW);
    for (uint64_t g = 0; g * (1ull << 30) < size; g++)
        wphys64(s, dpdpt + g * 8, (g << 30) | P | RW | PS);
    /* Kernel image: PML4[511] -> PDPT[510] -> PD with two 2 MiB pages at phys 16 MiB. */
    uint64_t kpdpt = alloc_phys(s, 0x1000, 0x1000);
    s->kpd = alloc_phys(s, 0x1000, 0x1000);
    wphys64(s, s->pml4 + 511 * 8, kpdpt | P | RW);
    wphys64(s, kpdpt + 510 * 8, s->kpd | P | RW);
    unsigned first = (unsigned)((s->text - 0xffffffff80000000ull) >> 21);
    wphys64(s, s->kpd + first * 8ull, 0x1000000 | P | RW | PS);
    wphys64(s, s->kpd + (first + 1) * 8ull, 0x1200000 | P | RW | PS);
    /* The kernel-image-only layout needs the bump allocator above the image. */
    s->next = 0x2000000;
    /* Banner, IDT (gates -> _text + 0x1000), entry point, init_task, modules head. */
    s->banner_va = s->text + 0x300000;
    synth_wstr(s, s->banner_va,
               "Linux version 6.1.0-synthetic (vigil@test) (gcc) #1 SMP PREEMPT_DYNAMIC\n");
    s->idt_va = s->text + 0x100000;
    uint64_t handler = s->text + 0x1000;
    for (int v = 0; v < 32; v++) {
        uint8_t g[16] = {0};
        g[0] = handler & 0xff;
        g[1] = (handler >> 8) & 0xff;
        g[2] = 0x10;
        g[5] = 0x8e; /* present, interrupt gate */
        for (int b = 0; b < 6; b++)
            g[6 + b] = (handler >> (16 + 8 * b)) & 0xff;
        memcpy(s->ram + synth_pa(s, s->idt_va + 16ull * v), g, 16);
    }
    s->lstar = s->text + 0x2000;
    s->init_task = s->text + 0x200000;
    s->modules_head = s->text + 0x201000;
    s->boot_cpu_data = s->text + 0x202000;
    list_init(s, s->modules_head);
    uint64_t it = s->init_task;
    list_init(s, it + T_TASKS);
    synth_w32(s, it + T_FLAGS, 0x00200002); /* PF_KTHREAD | PF_IDLE-ish */
    synth_w64(s, it + T_REAL_PARENT, it);
    synth_w64(s, it + T_GROUP_LEADER, it);
    synth_wstr(s, it + T_COMM, "swapper/0");
    uint64_t cred = synth_alloc(s, C_SIZE), sig = synth_alloc(s, S_SIZE);
    synth_w32(s, cred, 4); /* cred.usage, as in init_cred */
    synth_w64(s, it + T_REAL_CRED, cred);
    synth_w64(s, it + T_CRED, cred);
    synth_w64(s, it + T_SIGNAL, sig);
    list_init(s, sig + S_THREAD_HEAD);
    list_add_tail(s, it + T_THREAD_NODE, sig + S_THREAD_HEAD);
    s->cpu = (struct vmi_vcpu){.cr0 = 0x80050033,
                               .cr3 = s->pml4,
                               .cr4 = 0x3506f0,
                               .efer = 0xd01,
                               .lstar = s->lstar,
                               .idtr_base = s->idt_va,
                               .idtr_limit = 0xfff,
                               .has_lstar = true,
                               .has_efer = true,
                               .has_idtr = true,
                               .has_cr = true};
    s->src = (struct vmi_symsrc){.ctx = s,
                                 .kind = "auto",
                                 .sym = t_sym,
                                 .member = t_member,
                                 .struct_size = t_size,
                                 .set_slide = t_slide};
    return 0;
}

void synth_free(struct synth *s) {
    free(s->ram);
    s->ram = NULL;
}

uint64_t synth_process(struct synth *s, int pid, uint64_t parent, const char *comm, uint32_t uid,
                       uint32_t euid, uint32_t state, uint32_t exit_state, uint32_t flags,
                       bool with_mm) {
    uint64_t t = synth_alloc(s, T_SIZE);
    uint64_t cred = synth_alloc(s, C_SIZE), sig = synth_alloc(s, S_SIZE);
    synth_w32(s, t + T_STATE, state);
    synth_w32(s, t + T_FLAGS, flags);
    synth_w32(s, t + T_EXIT_STATE, exit_state);
    synth_w32(s, t + T_PID, (uint32_t)pid);
    synth_w32(s, t + T_TGID, (uint32_t)pid);
    synth_w64(s, t + T_REAL_PARENT, parent ? parent : s->init_task);
    synth_w64(s, t + T_GROUP_LEADER, t);
    synth_w64(s, t + T_REAL_CRED, cred);
    synth_w64(s, t + T_CRED, cred);
    synth_w32(s, cred + C_UID, uid);
    synth_w32(s, cred + C_EUID, euid);
    char c[16] = {0};
    strncpy(c, comm, 15);
    memcpy(s->ram + synth_pa(s, t + T_COMM), c, 16);
    synth_w64(s, t + T_SIGNAL, sig);
    list_init(s, sig + S_THREAD_HEAD);
    list_add_tail(s, t + T_THREAD_NODE, sig + S_THREAD_HEAD);
    if (with_mm) {
        uint64_t mm = synth_alloc(s, MM_SIZE);
        uint64_t pgd = SYN_DIRECT_MAP + alloc_phys(s, 0x2000, 0x2000);
        synth_w64(s, mm + MM_PGD, pgd);
        synth_w64(s, t + T_MM, mm);
    }
    list_add_tail(s, t + T_TASKS, s->init_task + T_TASKS);
    return t;
}

uint64_t synth_thread(struct synth *s, uint64_t leader, int tid) {
    uint64_t t = synth_alloc(s, T_SIZE);
    memcpy(s->ram + synth_pa(s, t), s->ram + synth_pa(s, leader), T_SIZE);
    synth_w32(s, t + T_PID, (uint32_t)tid);
    uint64_t sig = synth_r64(s, leader + T_SIGNAL);
    list_add_tail(s, t + T_THREAD_NODE, sig + S_THREAD_HEAD);
    return t;
}

void synth_kthread_name(struct synth *s, uint64_t task, const char *full) {
    uint64_t k = synth_alloc(s, K_SIZE), str = synth_alloc(s, strlen(full) + 1);
    synth_wstr(s, str, full);
    synth_w64(s, k + K_FULL_NAME, str);
    synth_w64(s, task + T_WORKER_PRIVATE, k);
}

uint64_t synth_module(struct synth *s, const char *name, uint64_t base, uint32_t core,
                      uint32_t init, uint32_t state) {
    uint64_t m = synth_alloc(s, M_SIZE);
    synth_w32(s, m + M_STATE, state);
    synth_wstr(s, m + M_NAME, name);
    synth_w64(s, m + M_CORE_BASE, base);
    synth_w32(s, m + M_CORE_SIZE, core);
    synth_w32(s, m + M_INIT_SIZE, init);
    list_add_tail(s, m + M_LIST, s->modules_head);
    return m;
}
