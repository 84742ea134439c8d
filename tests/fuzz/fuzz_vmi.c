/* libFuzzer target for the whole VMI flow (vmi/vmi.c: vmi_open, the profile checks and fallback,
 * the move to the kernel's own page table, vmi_report_session with the process tree) together with
 * the auto symbol source (in-memory kallsyms, BTF search) over hostile memory.
 *
 * The guest is the synthetic one (tests/unit/vmi_synth.c) plus, in its kernel image, a kallsyms
 * table set naming its symbols (so the auto source starts for real) and a copy of its PML4 as
 * init_top_pgt; its BTF has no types, so auto mode ends at "no such struct". Profile mode gets an
 * ISF document describing the synthetic layout, so the banner check, the offset checks and the
 * walkers run. The input is a list of (region, offset, length, bytes) patches over the page tables,
 * the kernel image (kallsyms tables, init_task, IDT, banner) and the task/cred/module objects,
 * undone after each run; its first byte picks auto or profile mode, JSON or text, and register or
 * scan detection. Nothing may crash, hang or read out of bounds; errors are fine. */
#include "tests/unit/vmi_synth.h"
#include "vmi/vmi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct synth S;
static bool ready;
static char isf[8192];
static size_t isf_len;
static uint8_t arena_mem[1u << 20];

#define KS_AT 0x340000u  /* image offset of the kallsyms tables */
#define NFILL 300        /* filler symbols (the decoder wants a table of some size) */
#define BTF_AT 0x330000u /* image offset of a BTF blob without types */
/* Header (magic 0xeB9F, version 1, hdr_len 24, no types, a 1-byte string section) and the
 * string section: the auto source finds it through __start_BTF/__stop_BTF instead of scanning
 * the whole image on every run; type lookups then fail quickly ("no such struct"). */
static const uint8_t btf_empty[25] = {0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0,    0,    0, 0, 0,  0, 0, 1, 0, 0, 0, 0};

struct ksym {
    char name[24];
    char type;
    uint64_t addr;
};

static int by_addr(const void *a, const void *b) {
    const struct ksym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct ksym syms[NFILL + 8];
static int by_name(const void *a, const void *b) {
    return strcmp(syms[*(const int *)a].name, syms[*(const int *)b].name);
}

static void add_sym(int *n, const char *name, char type, uint64_t addr) {
    snprintf(syms[*n].name, sizeof(syms[*n].name), "%s", name);
    syms[*n].type = type;
    syms[*n].addr = addr;
    (*n)++;
}

/* kallsyms tables in the layout of Debian's 6.1 (base-relative offsets with absolute per-CPU,
 * seqs_of_names), every token a single character; written at image offset KS_AT. */
static void build_kallsyms(uint64_t init_top_pgt) {
    int n = 0;
    add_sym(&n, "_text", 'T', S.text);
    add_sym(&n, "init_task", 'D', S.init_task);
    add_sym(&n, "modules", 'd', S.modules_head);
    add_sym(&n, "boot_cpu_data", 'D', S.boot_cpu_data);
    add_sym(&n, "init_top_pgt", 'D', init_top_pgt);
    add_sym(&n, "linux_banner", 'R', S.banner_va);
    add_sym(&n, "__start_BTF", 'R', S.text + BTF_AT);
    add_sym(&n, "__stop_BTF", 'R', S.text + BTF_AT + sizeof(btf_empty));
    for (int i = 0; i < NFILL; i++) {
        char name[16];
        snprintf(name, sizeof(name), "fill%d", i);
        add_sym(&n, name, 't', S.text + 0x1000 + 0x10ull * (uint64_t)i);
    }
    qsort(syms, (size_t)n, sizeof(syms[0]), by_addr);
    static uint8_t img[0x20000];
    size_t pos = 0;
    uint64_t rb = S.text;
#define PAD8()                                                                                     \
    while (pos % 8)                                                                                \
    img[pos++] = 0
    for (int i = 0; i < n; i++) {
        int32_t off = -(int32_t)(syms[i].addr - rb) - 1;
        memcpy(img + pos, &off, 4);
        pos += 4;
    }
    PAD8();
    memcpy(img + pos, &rb, 8);
    pos += 8;
    uint32_t num = (uint32_t)n;
    memcpy(img + pos, &num, 4);
    pos += 4;
    PAD8();
    size_t names = pos;
    uint32_t markers[(NFILL + 8 + 255) / 256];
    for (int i = 0; i < n; i++) {
        if ((i & 255) == 0)
            markers[i >> 8] = (uint32_t)(pos - names);
        size_t l = strlen(syms[i].name);
        img[pos++] = (uint8_t)(l + 1);
        img[pos++] = (uint8_t)syms[i].type;
        memcpy(img + pos, syms[i].name, l);
        pos += l;
    }
    PAD8();
    memcpy(img + pos, markers, sizeof(uint32_t) * (size_t)((n + 255) / 256));
    pos += sizeof(uint32_t) * (size_t)((n + 255) / 256);
    PAD8();
    int order[NFILL + 8];
    for (int i = 0; i < n; i++)
        order[i] = i;
    qsort(order, (size_t)n, sizeof(order[0]), by_name);
    for (int i = 0; i < n; i++) {
        img[pos++] = 0;
        img[pos++] = (uint8_t)(order[i] >> 8);
        img[pos++] = (uint8_t)order[i];
    }
    PAD8();
    uint16_t idx[256];
    size_t tt = pos;
    for (int t = 0; t < 256; t++) {
        idx[t] = (uint16_t)(pos - tt);
        img[pos++] = (uint8_t)(t > 0x20 && t < 0x7f ? t : '~');
        img[pos++] = 0;
    }
    PAD8();
    memcpy(img + pos, idx, sizeof(idx));
    pos += sizeof(idx);
#undef PAD8
    memcpy(S.ram + synth_pa(&S, S.text + KS_AT), img, pos);
}

/* An ISF document with the synthetic layout (the table symbol source's answers). */
static void build_isf(void) {
    static const struct {
        const char *st, *f;
        unsigned off;
    } fl[] = {
        {"task_struct", "__state", T_STATE},
        {"task_struct", "flags", T_FLAGS},
        {"task_struct", "tasks", T_TASKS},
        {"task_struct", "mm", T_MM},
        {"task_struct", "exit_state", T_EXIT_STATE},
        {"task_struct", "pid", T_PID},
        {"task_struct", "tgid", T_TGID},
        {"task_struct", "real_parent", T_REAL_PARENT},
        {"task_struct", "group_leader", T_GROUP_LEADER},
        {"task_struct", "thread_node", T_THREAD_NODE},
        {"task_struct", "real_cred", T_REAL_CRED},
        {"task_struct", "comm", T_COMM},
        {"task_struct", "signal", T_SIGNAL},
        {"task_struct", "worker_private", T_WORKER_PRIVATE},
    };
    size_t n = 0;
    n += (size_t)snprintf(isf + n, sizeof(isf) - n,
                          "{\"base_types\":{\"int\":{\"size\":4},\"long\":{\"size\":8},"
                          "\"char\":{\"size\":1},\"pointer\":{\"size\":8}},\"user_types\":{"
                          "\"list_head\":{\"size\":16,\"fields\":{}},\"task_struct\":{\"size\":%u,"
                          "\"fields\":{",
                          (unsigned)T_SIZE);
    for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
        const char *type = "{\"kind\":\"base\",\"name\":\"int\"}";
        if (!strcmp(fl[i].f, "tasks") || !strcmp(fl[i].f, "thread_node"))
            type = "{\"kind\":\"struct\",\"name\":\"list_head\"}";
        else if (!strcmp(fl[i].f, "comm"))
            type = "{\"kind\":\"array\",\"count\":16,\"subtype\":{\"kind\":\"base\","
                   "\"name\":\"char\"}}";
        else if (strcmp(fl[i].f, "pid") && strcmp(fl[i].f, "tgid") && strcmp(fl[i].f, "flags") &&
                 strcmp(fl[i].f, "__state") && strcmp(fl[i].f, "exit_state"))
            type = "{\"kind\":\"pointer\"}";
        n += (size_t)snprintf(isf + n, sizeof(isf) - n, "%s\"%s\":{\"offset\":%u,\"type\":%s}",
                              i ? "," : "", fl[i].f, fl[i].off, type);
    }
    n += (size_t)snprintf(
        isf + n, sizeof(isf) - n,
        "}},\"signal_struct\":{\"size\":64,\"fields\":{\"thread_head\":{\"offset\":%u,\"type\":"
        "{\"kind\":\"struct\",\"name\":\"list_head\"}}}},"
        "\"mm_struct\":{\"size\":128,\"fields\":{\"pgd\":{\"offset\":%u,\"type\":{\"kind\":"
        "\"pointer\"}}}},\"cred\":{\"size\":64,\"fields\":{\"uid\":{\"offset\":%u,\"type\":{"
        "\"kind\":\"base\",\"name\":\"int\"}},\"euid\":{\"offset\":%u,\"type\":{\"kind\":\"base\","
        "\"name\":\"int\"}}}},\"kthread\":{\"size\":96,\"fields\":{\"full_name\":{\"offset\":%u,"
        "\"type\":{\"kind\":\"pointer\"}}}},\"module_layout\":{\"size\":64,\"fields\":{\"base\":{"
        "\"offset\":0,\"type\":{\"kind\":\"pointer\"}},\"size\":{\"offset\":8,\"type\":{\"kind\":"
        "\"base\",\"name\":\"int\"}}}},\"module\":{\"size\":384,\"fields\":{\"state\":{\"offset\":"
        "%u,\"type\":{\"kind\":\"base\",\"name\":\"int\"}},\"list\":{\"offset\":%u,\"type\":{"
        "\"kind\":\"struct\",\"name\":\"list_head\"}},\"name\":{\"offset\":%u,\"type\":{\"kind\":"
        "\"array\",\"count\":56,\"subtype\":{\"kind\":\"base\",\"name\":\"char\"}}},"
        "\"core_layout\":{\"offset\":%u,\"type\":{\"kind\":\"struct\",\"name\":\"module_layout\"}},"
        "\"init_layout\":{\"offset\":%u,\"type\":{\"kind\":\"struct\",\"name\":"
        "\"module_layout\"}}}}},\"symbols\":{\"_text\":{\"address\":%llu},\"init_task\":{"
        "\"address\":%llu},\"modules\":{\"address\":%llu},\"linux_banner\":{\"address\":%llu,"
        "\"constant_data\":"
        "\"TGludXggdmVyc2lvbiA2LjEuMC1zeW50aGV0aWMgKHZpZ2lsQHRlc3QpIChnY2MpICMxIFNNUCBQUkVFTVBUX0RZ"
        "TkFNSUMK\"},"
        "\"init_top_pgt\":{\"address\":%llu}}}",
        (unsigned)S_THREAD_HEAD, (unsigned)MM_PGD, (unsigned)C_UID, (unsigned)C_EUID,
        (unsigned)K_FULL_NAME, (unsigned)M_STATE, (unsigned)M_LIST, (unsigned)M_NAME,
        (unsigned)M_CORE_BASE, (unsigned)M_INIT_BASE, (unsigned long long)SYN_LINK_TEXT,
        (unsigned long long)(S.init_task - S.slide), (unsigned long long)(S.modules_head - S.slide),
        (unsigned long long)(S.banner_va - S.slide),
        (unsigned long long)(S.text + 0x204000 - S.slide));
    if (n >= sizeof(isf))
        abort();
    isf_len = n;
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
    synth_process(&S, 93, t, "zombie", 0, 0, 0x80, 0x20, 0x40044c, false);
    synth_module(&S, "dummy", 0xffffffffc03b3000ull, 12288, 4096, 0);
    /* The kernel's own PML4 inside the image, as init_top_pgt is. */
    uint64_t itp = S.text + 0x204000;
    memcpy(S.ram + synth_pa(&S, itp), S.ram + S.pml4, 0x1000);
    memcpy(S.ram + synth_pa(&S, S.text + BTF_AT), btf_empty, sizeof(btf_empty));
    build_kallsyms(itp);
    build_isf();
    ready = true;
}

struct undo {
    uint64_t pa;
    uint8_t old[64];
    uint8_t len;
};

/* FUZZ_VMI_SHOW=1 in the environment prints the report (to look at one input). */
static void sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    static int show = -1;
    if (show < 0)
        show = getenv("FUZZ_VMI_SHOW") != NULL;
    if (show)
        fwrite(d, 1, n, stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (!ready)
        build();
    if (n == 0)
        return 0;
    uint8_t mode = d[0];
    d++, n--;
    /* Regions: page tables, the image (kallsyms, init_task/modules/boot_cpu_data, IDT, banner),
     * objects. */
    const uint64_t base[4] = {0x2000, 0x1000000 + KS_AT, 0x1000000 + 0x200000, 0x2000000};
    const uint64_t span[4] = {0x6000, 0x8000, 0x5000, S.next - 0x2000000};
    struct undo u[64];
    int nu = 0;
    size_t i = 0;
    while (i + 4 <= n && nu < 64) {
        unsigned reg = d[i] & 3;
        uint64_t off = ((uint64_t)d[i + 1] | (uint64_t)d[i + 2] << 8) * (reg == 3 ? 8 : 1);
        uint8_t len = d[i + 3] & 63;
        i += 4;
        if (len > n - i)
            len = (uint8_t)(n - i);
        uint64_t pa = base[reg] + off % span[reg];
        if (pa + len > S.size)
            break;
        u[nu].pa = pa;
        u[nu].len = len;
        memcpy(u[nu].old, S.ram + pa, len);
        memcpy(S.ram + pa, d + i, len);
        nu++;
        i += len;
    }
    struct vmi_vcpu c = S.cpu;
    if (mode & 2)
        c.has_lstar = false;
    struct vmi_mem mem = S.mem;
    /* The physical scan reads all 48 MiB (seconds under ASan; fuzz_walkers covers it more):
     * 1 input in 32. */
    if ((mode & 0xf8) != 0xf8)
        mem.phys_end = 0;
    struct vmi_run_opts o = {.processes = true, .modules = true};
    if (mode & 1) {
        o.profile_json = isf;
        o.profile_len = isf_len;
    }
    struct vmi_arena a = {arena_mem, sizeof(arena_mem), 0};
    static struct report r;
    report_init(&r, (mode & 4) ? REPORT_JSONL : REPORT_TEXT, sink, NULL);
    static struct vmi_session s;
    bool pristine = nu == 0 && (mode & 0xf8) != 0xf8;
    int rc = vmi_run(&s, &mem, &c, (mode & 16) ? 0 : 1, &o, &a, &r);
    /* The untouched guest with registers: the harness itself must work. */
    if (pristine && !(mode & 16)) {
        if (!s.source || strcmp(s.kernel.root_from, "init_top_pgt") != 0)
            __builtin_trap();
        if ((mode & 1) && (rc != 0 || strcmp(s.source, "profile") != 0 || s.nprocs != 5))
            __builtin_trap();
    }
    report_flush(&r);
    while (nu--)
        memcpy(S.ram + u[nu].pa, u[nu].old, u[nu].len);
    return 0;
}
