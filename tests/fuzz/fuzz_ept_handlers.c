/* libFuzzer target for the EPT violation handlers of self-protection (hv/ept/ept_hide.c), of the
 * guarded hooks (hv/ept/ept_guard.c) and the allow-once windows under them (hv/ept/ept_perm.c),
 * driven the way the hypervisor drives them (hv/core/vmexit_dispatch.c: ept_perm_close_windows at
 * the start of every exit, ept_handle_violation on reason 48, ept_handle_mtf on reason 37) over the
 * fake hardware (tests/fakes/hw_fake.c), with and without the monitor trap flag, on 1..4 vCPUs.
 *
 * The guest is simulated: each vCPU runs instructions made of a fetch and up to 11 data accesses
 * (read, write, execute; random pages in and around the hidden ranges, the guarded pages and
 * plain memory). Every access walks the EPT (a walker written here) and either lands in the
 * frame the leaf names (writes change it) or makes an EPT violation with the qualification
 * hardware would give (access, rights found, GLA bits, random NMI-unblocking); the instruction
 * re-executes after the exit, or retires when the handler moved RIP past it; with MTF set the
 * MTF exit follows it. Interleaved: exits of other kinds, MTF exits delivered early (event
 * injection), forged violations with random qualification, GPA and RIP, and the heartbeat's
 * ept_guard_check and summaries. The world: guest RAM with a hidden "hypervisor image" holding
 * a secret pattern, a hidden heap that gives the guard's shadow pages, the hidden EPT pool, and
 * kernel-text pages with random patches.
 *
 * Invariants, after every exit:
 *  - no crash, no AddressSanitizer/UBSan error, a writer is never taken twice;
 *  - no leaf gives any right to a hypervisor frame except the zero page (never writable), a
 *    vCPU's scratch page, or a guard shadow (read only): a hidden page never maps its own frame;
 *    the secret and the zero page never change;
 *  - windows: with MTF, a vCPU has windows exactly when its MTF control is set, and none after
 *    its MTF exit; without MTF, none once its next exit began and MTF is never set;
 *  - a page no window is open on has its protected entry (hidden: zero page, no rights; guarded:
 *    its own frame without write; others: identity, every right), and a guarded page no window
 *    is open on holds every patch intact;
 *  - a write dropped by a handler moves RIP by exactly the instruction's length and never lands;
 *  - with MTF, a simulated violation is never refused except for window exhaustion, and an
 *    instruction touching at most EPT_MAX_WINDOWS pages retires after at most one exit per
 *    access (two for a guarded page read through its shadow) when it runs alone. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/report.h"
#include "hv/arch/vmx/vmx_defs.h"
#include "hv/ept/ept_guard.h"
#include "hv/ept/ept_hide.h"
#include "hv/ept/ept_perm.h"
#include "hv/ept/mtrr.h"
#include "tests/fakes/hw_fake.h"

#define PAGE 4096ull
#define NCPU_MAX 4

/* Guest RAM window (identity mapped like all memory): page roles by index. */
#define RAM_GPA 0x1400000ull
#define RAM_PAGES 24
#define IMAGE_FIRST 4 /* pages 4..7: the hypervisor image (hidden, secret pattern) */
#define IMAGE_LAST 7
#define TEXT_FIRST 9 /* pages 9..11: kernel text with guarded patches */
#define TEXT_LAST 11
#define HEAP_FIRST 12 /* pages 12..13: hypervisor heap (hidden), the guard's shadow pages */
#define HEAP_LAST 13
#define POOL_PAGES 48
#define POOL_PHYS 0x80000000ull
#define GLA_BASE 0xFFFF888000000000ull /* the guest's direct map: gla = GLA_BASE + gpa */

static uint8_t ram[RAM_PAGES * PAGE] __attribute__((aligned(4096)));
static uint8_t ram_init[RAM_PAGES * PAGE]; /* what the RAM holds at the start of every run */
static const uint8_t zeros[PAGE];
static uint8_t pool_mem[POOL_PAGES * PAGE] __attribute__((aligned(4096)));

static uint64_t v2p(void *ctx, const void *v) {
    (void)ctx;
    return POOL_PHYS + (uint64_t)((const uint8_t *)v - pool_mem);
}

/* Host memory of a frame (NULL: memory this world does not model). */
static uint8_t *frame(uint64_t hpa) {
    if (hpa >= RAM_GPA && hpa < RAM_GPA + sizeof(ram))
        return ram + (hpa - RAM_GPA);
    if (hpa >= POOL_PHYS && hpa < POOL_PHYS + sizeof(pool_mem))
        return pool_mem + (hpa - POOL_PHYS);
    return NULL;
}

static uint8_t secret(uint64_t off) {
    return (uint8_t)(0xA5 ^ (off * 7) ^ (off >> 12));
}

/* --- input ----------------------------------------------------------------------------------- */

struct input {
    const uint8_t *p;
    size_t n;
};
static struct input in;

static uint64_t take(unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)(in.n ? *in.p : 0) << (8 * i);
        if (in.n) {
            in.p++;
            in.n--;
        }
    }
    return v;
}

/* --- the world ------------------------------------------------------------------------------- */

struct access {
    uint64_t gpa;
    unsigned kind; /* EPT_PERM_R, _W or _X */
    unsigned size; /* 1..8, within the page */
    uint8_t data[8];
    bool gla_valid;
};

struct insn {
    bool pending;
    uint64_t rip;
    unsigned len;   /* 1..15 */
    bool decodable; /* what the decoder callback answers (0 when not) */
    unsigned nacc;
    struct access acc[12];
};

struct cpu {
    struct ept_vcpu ev;
    uint64_t rip, ctls, intr; /* this vCPU's VMCS fields the handlers touch */
    bool parked;
    struct insn insn;
};

static struct mtrr_state mtrr;
static struct ept_pool pool;
static struct ept ept;
static struct ept_perm perm;
static struct ept_hide hide;
static struct ept_guard guard;
static struct cpu cpus[NCPU_MAX];
static unsigned ncpus;
static uint64_t hidden_lo[3], hidden_hi[3]; /* the hidden ranges (page aligned) */
static unsigned heap_used;
static uint64_t shadow_phys[2];
static unsigned nshadow;

/* Report writers: one report, taken at most once at a time, sometimes refused. */
static struct report rep;
static bool rep_taken, rep_refuse;
static uint64_t rep_bytes;

static void rep_sink(void *ctx, const char *d, size_t n) {
    (void)ctx;
    (void)d;
    rep_bytes += n;
}
static struct report *rep_begin(void *ctx) {
    (void)ctx;
    if (rep_taken)
        abort(); /* a writer shared between two reports */
    if (rep_refuse)
        return NULL;
    rep_taken = true;
    return &rep;
}
static void rep_end(void *ctx, struct report *w) {
    (void)ctx;
    if (!rep_taken || w != &rep)
        abort();
    rep_taken = false;
}
static const struct report_out rep_out = {rep_begin, rep_end, NULL};

/* The decoder callbacks: the vCPU's current instruction when RIP is its own. */
static size_t insn_text(void *ctx, struct ept_vcpu *v, uint64_t rip, char *out, size_t size) {
    (void)ctx;
    (void)v;
    return (size_t)snprintf(out, size, "mov byte ptr [rdi], 0x%llx ; a long description here",
                            (unsigned long long)rip);
}

static size_t insn_len(void *ctx, struct ept_vcpu *v, uint64_t rip) {
    (void)ctx;
    if (!v || v->index >= ncpus)
        abort();
    const struct insn *i = &cpus[v->index].insn;
    if (i->pending && i->rip == rip)
        return i->decodable ? i->len : 0;
    return (rip >> 3) % 16; /* a forged exit: whatever the bytes there are */
}

static uint8_t *guard_map(void *ctx, uint64_t pa) {
    (void)ctx;
    uint8_t *f = frame(pa);
    if (!f || pa < RAM_GPA + TEXT_FIRST * PAGE || pa >= RAM_GPA + (TEXT_LAST + 1) * PAGE)
        abort(); /* the guard only ever maps its own pages */
    return f;
}

static uint8_t *shadow_alloc(void *ctx, uint64_t *phys) {
    (void)ctx;
    if (heap_used > HEAP_LAST - HEAP_FIRST)
        return NULL;
    uint64_t pa = RAM_GPA + (HEAP_FIRST + heap_used++) * PAGE;
    shadow_phys[nshadow++] = pa;
    *phys = pa;
    return frame(pa);
}

/* --- the EPT as the CPU walks it ------------------------------------------------------------- */

static uint64_t walk(uint64_t gpa, uint64_t *target) {
    uint64_t *table = (uint64_t *)(void *)frame(ept_eptp(&ept) & EPTE_ADDR_MASK);
    for (unsigned l = 4; l >= 1; l--) {
        if (!table || (uint8_t *)table < pool_mem ||
            (uint8_t *)table >= pool_mem + sizeof(pool_mem))
            abort(); /* tables live in the pool */
        uint64_t e = table[(gpa >> (12 + 9 * (l - 1))) & 511];
        if (l == 1 || (l <= 3 && (e & EPTE_LARGE))) {
            uint64_t size = 1ull << (12 + 9 * (l - 1));
            *target = (e & EPTE_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1) & ~(PAGE - 1));
            return e;
        }
        if (!(e & 7))
            return 0;
        table = (uint64_t *)(void *)frame(e & EPTE_ADDR_MASK);
    }
    return 0;
}

static bool is_hidden(uint64_t pa) {
    for (unsigned i = 0; i < 3; i++)
        if (pa >= hidden_lo[i] && pa < hidden_hi[i])
            return true;
    return false;
}

static bool is_guard_page(uint64_t page) {
    for (unsigned i = 0; i < guard.npages; i++)
        if (guard.pages[i].page == page)
            return true;
    return false;
}

static bool window_on(uint64_t page) {
    for (unsigned c = 0; c < ncpus; c++)
        for (unsigned w = 0; w < cpus[c].ev.nwin; w++)
            if (cpus[c].ev.win[w].gpa == page)
                return true;
    return false;
}

/* --- invariants ------------------------------------------------------------------------------ */

static void check_page(uint64_t gpa) {
    uint64_t target = 0;
    uint64_t e = walk(gpa, &target);
    unsigned rights = (unsigned)(e & 7);
    if (rights && is_hidden(target)) {
        bool ok = false;
        if (target == hide.zero_phys && !(rights & EPT_PERM_W))
            ok = true;
        for (unsigned c = 0; c < ncpus; c++)
            if (target == hide.scratch_phys[c])
                ok = true;
        for (unsigned s = 0; s < nshadow; s++)
            if (target == shadow_phys[s] && rights == EPT_PERM_R)
                ok = true;
        if (!ok)
            abort(); /* the guest reaches hypervisor memory */
    }
    if (window_on(gpa))
        return;
    /* No window: the protected entry. */
    if (is_hidden(gpa)) {
        if (target != hide.zero_phys || rights)
            abort();
    } else if (is_guard_page(gpa)) {
        unsigned want = EPT_PERM_R | EPT_PERM_X;
        for (unsigned i = 0; i < guard.npages; i++)
            if (guard.pages[i].page == gpa && guard.pages[i].shadow)
                want = EPT_PERM_X;
        if (target != gpa || rights != want)
            abort();
        for (unsigned i = 0; i < guard.npatches; i++) {
            const struct ept_guard_patch *p = &guard.patches[i];
            if ((p->pa & ~(PAGE - 1)) == gpa && memcmp(frame(p->pa), p->bytes, p->len))
                abort(); /* a hook changed with no window left to undo it */
        }
    } else if (!is_hidden(gpa) && (target != gpa || rights != EPT_PERM_RWX)) {
        abort();
    }
}

static void check_world(void) {
    for (unsigned i = 0; i < RAM_PAGES; i++)
        check_page(RAM_GPA + i * PAGE);
    for (unsigned i = 0; i < POOL_PAGES; i++)
        check_page(POOL_PHYS + i * PAGE);
    if (memcmp(ram + IMAGE_FIRST * PAGE, ram_init + IMAGE_FIRST * PAGE,
               (IMAGE_LAST - IMAGE_FIRST + 1) * PAGE))
        abort(); /* a guest write landed in the hypervisor */
    if (memcmp(frame(hide.zero_phys), zeros, PAGE))
        abort();
    for (unsigned c = 0; c < ncpus; c++) {
        const struct cpu *k = &cpus[c];
        bool mtf_on = (k->ctls & PROC_MONITOR_TRAP_FLAG) != 0;
        if (perm.mtf ? mtf_on != (k->ev.nwin > 0) : mtf_on)
            abort(); /* a window that no MTF exit will close, or an MTF with nothing to close */
        if (k->ev.nwin > EPT_MAX_WINDOWS)
            abort();
    }
}

/* --- exits ----------------------------------------------------------------------------------- */

static void vmcs_load(struct cpu *c) {
    fake_set_vmcs(VMCS_GUEST_RIP, c->rip);
    fake_set_vmcs(VMCS_PROC_BASED_CTLS, c->ctls);
    fake_set_vmcs(VMCS_GUEST_INTERRUPTIBILITY, c->intr);
    fake_set_vmcs(VMCS_IDT_VECTORING_INFO, take(1) & 1 ? INTR_INFO_VALID | 0x20 : 0);
}

static void vmcs_store(struct cpu *c) {
    c->rip = hw_vmread(VMCS_GUEST_RIP);
    c->ctls = hw_vmread(VMCS_PROC_BASED_CTLS);
    c->intr = hw_vmread(VMCS_GUEST_INTERRUPTIBILITY);
}

/* The start of every exit (hv/core/vmexit_dispatch.c). */
static void exit_begin(struct cpu *c) {
    vmcs_load(c);
    ept_perm_close_windows(&perm, &c->ev);
    if (!perm.mtf && c->ev.nwin)
        abort(); /* without MTF the windows close at the next exit */
}

/* FUZZ_TRACE=1 in the environment prints every exit (for reading a crash input). */
static bool tracing;
#define TRACE(...)                                                                                 \
    do {                                                                                           \
        if (tracing)                                                                               \
            fprintf(stderr, __VA_ARGS__);                                                          \
    } while (0)

static void trace_windows(const struct cpu *c) {
    for (unsigned w = 0; w < c->ev.nwin; w++) {
        uint64_t t = 0;
        uint64_t e = walk(c->ev.win[w].gpa, &t);
        TRACE("  window %llx -> %llx rights %llu\n", (unsigned long long)c->ev.win[w].gpa,
              (unsigned long long)t, (unsigned long long)(e & 7));
    }
}

static enum ept_exit violation_exit(struct cpu *c, uint64_t qual, uint64_t gpa, uint64_t gla) {
    TRACE("cpu%u violation gpa %llx qual %llx rip %llx\n", c->ev.index, (unsigned long long)gpa,
          (unsigned long long)qual, (unsigned long long)c->rip);
    exit_begin(c);
    fake_set_vmcs(VMCS_EXIT_QUALIFICATION, qual);
    fake_set_vmcs(VMCS_GUEST_PHYS_ADDR, gpa);
    fake_set_vmcs(VMCS_GUEST_LINEAR_ADDR, gla);
    enum ept_exit r = ept_handle_violation(&perm, &c->ev, NULL);
    vmcs_store(c);
    TRACE(" -> %d, rip %llx\n", (int)r, (unsigned long long)c->rip);
    trace_windows(c);
    check_world();
    return r;
}

static void mtf_exit(struct cpu *c) {
    TRACE("cpu%u mtf\n", c->ev.index);
    exit_begin(c);
    enum ept_exit r = ept_handle_mtf(&perm, &c->ev);
    vmcs_store(c);
    if (r != EPT_EXIT_RESUME || c->ev.nwin || (c->ctls & PROC_MONITOR_TRAP_FLAG))
        abort(); /* an MTF we asked for closes every window */
    check_world();
}

static void other_exit(struct cpu *c) {
    TRACE("cpu%u other exit\n", c->ev.index);
    exit_begin(c);
    vmcs_store(c);
    check_world();
}

/* --- the simulated guest --------------------------------------------------------------------- */

static uint64_t pick_page(void) {
    unsigned sel = (unsigned)take(1);
    switch (sel % 8) {
    case 0:
    case 1:
        return RAM_GPA + (sel >> 3) % RAM_PAGES * PAGE; /* anywhere in the window */
    case 2:
        return RAM_GPA + (IMAGE_FIRST + (sel >> 3) % 4) * PAGE;
    case 3:
    case 4:
        return RAM_GPA + (TEXT_FIRST + (sel >> 3) % 3) * PAGE;
    case 5:
        return POOL_PHYS + (sel >> 3) % POOL_PAGES * PAGE;
    case 6:
        return RAM_GPA + (HEAP_FIRST + (sel >> 3) % 2) * PAGE;
    default:
        return RAM_GPA + (IMAGE_LAST + 1) * PAGE; /* between the image and the text */
    }
}

static void new_insn(struct cpu *c) {
    struct insn *i = &c->insn;
    memset(i, 0, sizeof(*i));
    i->pending = true;
    uint64_t code = pick_page() + take(2) % PAGE;
    i->rip = GLA_BASE + code;
    i->len = 1 + (unsigned)take(1) % 15;
    i->decodable = take(1) % 4 != 0;
    unsigned n = (unsigned)take(1);
    n = n >= 0xF0 ? 1 + n % 11 : 1 + n % 3; /* now and then a gather over many pages */
    i->acc[0] = (struct access){.gpa = code, .kind = EPT_PERM_X, .size = 1, .gla_valid = true};
    for (unsigned k = 1; k <= n; k++) {
        struct access *a = &i->acc[k];
        unsigned sel = (unsigned)take(1);
        a->kind = sel % 3 == 0 ? EPT_PERM_R : sel % 3 == 1 ? EPT_PERM_W : EPT_PERM_X;
        a->size = 1 + (sel >> 2) % 8;
        a->gla_valid = (sel & 0x80) != 0;
        a->gpa = pick_page() + take(2) % (PAGE - a->size + 1);
        uint64_t d = take(8);
        memcpy(a->data, &d, 8);
    }
    i->nacc = n + 1;
    TRACE("cpu%u insn rip %llx len %u%s:", c->ev.index, (unsigned long long)i->rip, i->len,
          i->decodable ? "" : " (not decodable)");
    for (unsigned k = 0; k < i->nacc; k++)
        TRACE(" %c%llx+%u%s", "?RW?X"[i->acc[k].kind], (unsigned long long)i -> acc[k].gpa,
              i->acc[k].size, i->acc[k].gla_valid ? "" : "(no gla)");
    TRACE("\n");
}

/* Distinct protected pages an instruction touches (each may need a window). */
static unsigned protected_pages(const struct insn *i) {
    uint64_t seen[12];
    unsigned n = 0;
    for (unsigned k = 0; k < i->nacc; k++) {
        uint64_t page = i->acc[k].gpa & ~(PAGE - 1);
        bool dup = false;
        for (unsigned j = 0; j < n; j++)
            dup |= seen[j] == page;
        if (!dup)
            seen[n++] = page;
    }
    return n;
}

/* Runs the vCPU's instruction once: true when it retired (or was completed by a handler). */
static bool run_once(struct cpu *c, bool *refused) {
    struct insn *i = &c->insn;
    c->rip = i->rip;
    for (unsigned k = 0; k < i->nacc; k++) {
        const struct access *a = &i->acc[k];
        uint64_t target = 0;
        uint64_t e = walk(a->gpa, &target);
        unsigned rights = (unsigned)(e & 7);
        if (rights & a->kind) {
            uint8_t *f = frame(target);
            if (f && a->kind == EPT_PERM_W)
                memcpy(f + (a->gpa & (PAGE - 1)), a->data, a->size);
            continue;
        }
        /* SDM 28.2.1, table 28-7: the access, the rights found, the GLA bits. */
        uint64_t qual = a->kind | ((uint64_t)rights << EPT_QUAL_ALLOWED_SHIFT);
        if (a->gla_valid)
            qual |= EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_TRANSLATION;
        if (take(1) == 0x5A)
            qual |= EPT_QUAL_NMI_UNBLOCKING;
        uint64_t page = a->gpa & ~(PAGE - 1);
        enum ept_exit r = violation_exit(c, qual, a->gpa, GLA_BASE + a->gpa);
        if (r != EPT_EXIT_RESUME) {
            *refused = true;
            return false;
        }
        if (c->rip != i->rip) {
            /* Completed by the handler without the access: a dropped write. */
            if (a->kind != EPT_PERM_W || !i->decodable || c->rip != i->rip + i->len)
                abort();
            /* Nothing opened the page for it: the write never lands. */
            uint64_t t2 = 0;
            if ((walk(a->gpa, &t2) & EPT_PERM_W) && !window_on(page))
                abort();
            return true;
        }
        return false; /* re-executed from the start */
    }
    c->rip = i->rip + i->len;
    return true;
}

static void run_cpu(struct cpu *c) {
    if (!c->insn.pending)
        new_insn(c);
    unsigned tries = 1 + (unsigned)take(1) % 16;
    unsigned exits = 0;
    for (unsigned t = 0; t < tries; t++) {
        bool refused = false;
        bool done = run_once(c, &refused);
        if (refused) {
            /* The only refusal a real guest can cause: more pages than windows. */
            if (!perm.mtf || c->ev.nwin < EPT_MAX_WINDOWS)
                abort();
            c->parked = true; /* as the hypervisor does: dump and park */
            c->ev.running = false;
            return;
        }
        if (done) {
            c->insn.pending = false;
            if (c->ctls & PROC_MONITOR_TRAP_FLAG)
                mtf_exit(c);
            return;
        }
        exits++;
        if (perm.mtf && exits > 2 * c->insn.nacc && protected_pages(&c->insn) <= EPT_MAX_WINDOWS)
            abort(); /* faults forever */
    }
}

/* --- setup ----------------------------------------------------------------------------------- */

static void baseline(void) {
    memset(&mtrr, 0, sizeof(mtrr));
    mtrr.supported = true;
    mtrr.maxphyaddr = 36;
    mtrr.cap = 0x508;
    mtrr.def_type = 0xC06;
    mtrr.fixed[0] = mtrr.fixed[1] = 0x0606060606060606ull;
    mtrr.var_count = 8;
}

static void setup(void) {
    fake_reset();
    baseline();
    unsigned cfg = (unsigned)take(1);
    struct ept_caps caps;
    ept_caps_decode(0x0000000006334141ull, &caps);
    caps.pages_1g = cfg & 1;
    caps.exec_only = (cfg & 2) != 0;
    /* The identity map is built once per capability set and copied back for every run (its
     * build is fuzz_ept_mtrr's subject; here it would take most of the time). */
    static struct {
        bool ready;
        struct ept_pool pool;
        struct ept ept;
        uint8_t mem[POOL_PAGES * PAGE];
    } built[4];
    unsigned variant = cfg & 3;
    if (!built[variant].ready) {
        if (ept_pool_init(&pool, pool_mem, POOL_PAGES, v2p, NULL) ||
            ept_build(&ept, &pool, &caps, &mtrr, 1ull << 32))
            abort();
        built[variant].pool = pool;
        built[variant].ept = ept;
        memcpy(built[variant].mem, pool_mem, sizeof(pool_mem));
        built[variant].ready = true;
    }
    pool = built[variant].pool;
    ept = built[variant].ept;
    ept.pool = &pool;
    memcpy(pool_mem, built[variant].mem, sizeof(pool_mem));
    ncpus = 1 + (cfg >> 2) % NCPU_MAX;
    ept_perm_init(&perm, &ept, &mtrr, NULL, NULL);
    perm.mtf = (cfg & 0x10) != 0;
    memset(cpus, 0, sizeof(cpus));
    for (unsigned c = 0; c < ncpus; c++)
        if (ept_perm_add_vcpu(&perm, &cpus[c].ev, c))
            abort();
    report_init(&rep, (cfg & 0x20) ? REPORT_TEXT : REPORT_JSONL, rep_sink, NULL);
    rep_taken = false;
    rep_refuse = false;

    /* Guest RAM: plain bytes, the secret image, NOPs in the text pages. */
    static bool ram_ready;
    if (!ram_ready) {
        for (size_t i = 0; i < sizeof(ram_init); i++)
            ram_init[i] = (uint8_t)(i * 13);
        for (uint64_t off = IMAGE_FIRST * PAGE; off < (IMAGE_LAST + 1) * PAGE; off++)
            ram_init[off] = secret(off);
        memset(ram_init + TEXT_FIRST * PAGE, 0x90, (TEXT_LAST - TEXT_FIRST + 1) * PAGE);
        ram_ready = true;
    }
    memcpy(ram, ram_init, sizeof(ram));

    if (ept_hide_init(&hide, &perm, ncpus, &rep_out, insn_text, NULL))
        abort();
    hide.insn_len = (cfg & 0x40) ? insn_len : NULL;
    /* The image (start and length not page aligned), the heap, the pool. */
    uint64_t start = RAM_GPA + IMAGE_FIRST * PAGE + take(2) % PAGE;
    uint64_t end = RAM_GPA + IMAGE_LAST * PAGE + 1 + take(2) % PAGE;
    hidden_lo[0] = start & ~(PAGE - 1);
    hidden_hi[0] = (end + PAGE - 1) & ~(PAGE - 1);
    hidden_lo[1] = RAM_GPA + HEAP_FIRST * PAGE;
    hidden_hi[1] = RAM_GPA + (HEAP_LAST + 1) * PAGE;
    hidden_lo[2] = POOL_PHYS;
    hidden_hi[2] = POOL_PHYS + sizeof(pool_mem);
    if (ept_hide_add(&hide, &cpus[0].ev, start, end - start) ||
        ept_hide_add(&hide, &cpus[0].ev, hidden_lo[1], hidden_hi[1] - hidden_lo[1]) ||
        ept_hide_add(&hide, &cpus[0].ev, POOL_PHYS, sizeof(pool_mem)))
        abort(); /* the pool is big enough for every split */
    heap_used = 0;
    nshadow = 0;
    ept_guard_init(&guard, &perm, &rep_out, guard_map, NULL);
    guard.insn = insn_text;
    guard.insn_len = (cfg & 0x80) ? insn_len : NULL;
    guard.insn_ctx = NULL;
    guard.shadow_page = (cfg & 0x40) ? shadow_alloc : NULL;
    unsigned npatch = 1 + (unsigned)take(1) % 6;
    for (unsigned k = 0; k < npatch; k++) {
        uint8_t bytes[EPT_GUARD_MAX_LEN];
        unsigned len = 1 + (unsigned)take(1) % EPT_GUARD_MAX_LEN;
        uint64_t pa = RAM_GPA + (TEXT_FIRST + take(1) % 3) * PAGE + take(2) % PAGE;
        bytes[0] = 0xCC;
        for (unsigned b = 1; b < len; b++)
            bytes[b] = (uint8_t)take(1);
        int err = ept_guard_add(&guard, &cpus[0].ev, pa, bytes, len, "hook");
        if (err != EPT_OK && err != EPT_ERR_ARG && err != EPT_ERR_EXISTS)
            abort();
    }
    check_world();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    in = (struct input){data, size};
    tracing = getenv("FUZZ_TRACE") != NULL;
    setup();
    for (unsigned ops = 0; in.n && ops < 256; ops++) {
        unsigned op = (unsigned)take(1);
        struct cpu *c = &cpus[(op >> 4) % ncpus];
        if (c->parked)
            continue;
        switch (op % 16) {
        default:
            run_cpu(c);
            break;
        case 8: /* an interrupt was injected: the MTF exit comes before the instruction */
            if (c->ctls & PROC_MONITOR_TRAP_FLAG)
                mtf_exit(c);
            break;
        case 9:
        case 10: /* any other exit; on the boot CPU the heartbeat's checks */
            other_exit(c);
            if (c == &cpus[0] && (op & 0x80)) {
                rep_refuse = take(1) & 1;
                ept_guard_check(&guard, &c->ev);
                ept_guard_report_summary(&guard);
                ept_hide_report_summary(&hide);
                rep_refuse = false;
                check_world();
            }
            break;
        case 11: { /* a forged violation: random qualification, GPA near the ranges, RIP */
            uint64_t qual = take(8);
            uint64_t gpa = take(1) & 1 ? pick_page() + take(2) % PAGE : take(8);
            c->rip = take(8);
            rep_refuse = take(1) == 0xFF;
            violation_exit(c, qual, gpa, take(8));
            rep_refuse = false;
            break;
        }
        case 12: /* an MTF exit this vCPU did not ask for (another single-step) */
            if (c->ctls & PROC_MONITOR_TRAP_FLAG)
                break;
            exit_begin(c);
            if (ept_handle_mtf(&perm, &c->ev) != EPT_EXIT_NOT_MINE)
                abort();
            vmcs_store(c);
            check_world();
            break;
        }
    }
    /* Every vCPU still running finishes its step. */
    for (unsigned k = 0; k < ncpus; k++) {
        struct cpu *c = &cpus[k];
        if (c->parked)
            continue;
        if (c->ctls & PROC_MONITOR_TRAP_FLAG)
            mtf_exit(c);
        else
            other_exit(c);
        if (c->ev.nwin)
            abort();
    }
    return 0;
}
