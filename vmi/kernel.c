/* Finding the running kernel. See kernel.h. */
#include "vmi/kernel.h"
#include "base/fmt.h"
#include "base/lib.h"

#define SZ_2M 0x200000ull
#define SZ_4K 0x1000ull
#define IMAGE_GAP_MAX (64ull << 20) /* unmapped stretch that ends the image (init is freed) */
#define PTE_P 1ull
#define PTE_PS 0x80ull
#define ADDR_MASK 0x000ffffffffff000ull

static const char BANNER_PREFIX[] = "Linux version ";

int vmi_kernel_read(void *ctx, uint64_t va, void *buf, size_t len) {
    struct vmi_kernel *k = ctx;
    return pagewalk_read(&k->pw, va, buf, len);
}

static bool in_kernel_map(uint64_t va) {
    return va >= VMI_KERNEL_MAP_START && va < VMI_KERNEL_MAP_END;
}

static bool mapped(const struct vmi_kernel *k, uint64_t va) {
    struct pagewalk_xlate x;
    return pagewalk_translate(&k->pw, va, &x) == 0;
}

/* The kernel's exception handlers from the IDT (SDM 3A 6.14.1: 16-byte gates in IA-32e mode). */
static int hint_from_idt(struct vmi_kernel *k, const struct vmi_vcpu *c, uint64_t *hint) {
    unsigned n = (unsigned)(c->idtr_limit + 1) / 16;
    if (n > 256)
        n = 256;
    for (unsigned v = 0; v < n && v < 32; v++) {
        uint8_t g[16];
        if (pagewalk_read(&k->pw, c->idtr_base + 16ull * v, g, sizeof(g)))
            continue;
        uint8_t type = g[5] & 0x0f;
        bool present = (g[5] & 0x80) != 0;
        if (!present || (type != 0xe && type != 0xf))
            continue;
        uint64_t off = (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 |
                       (uint64_t)g[7] << 24 | (uint64_t)g[8] << 32 | (uint64_t)g[9] << 40 |
                       (uint64_t)g[10] << 48 | (uint64_t)g[11] << 56;
        if (in_kernel_map(off) && mapped(k, off)) {
            *hint = off;
            return 0;
        }
    }
    return VMI_ENOTFOUND;
}

/* Sets k->pw from a CR3, choosing the kernel half of a KPTI pair when that is what maps hint. */
static bool use_root(struct vmi_kernel *k, uint64_t cr3, uint64_t cr4, uint64_t efer,
                     uint64_t hint) {
    pagewalk_init(&k->pw, k->mem, cr3, cr4, efer, false);
    if ((cr3 & PAGEWALK_KPTI_USER_BIT)) {
        struct pagewalk even;
        pagewalk_init(&even, k->mem, cr3, cr4, efer, true);
        struct pagewalk_xlate x;
        if (hint && pagewalk_translate(&even, hint, &x) == 0) {
            k->pw = even;
            k->pw.root = k->pw.kernel_root;
        }
    }
    k->cr3 = k->pw.kernel_root;
    return true;
}

/* Lowest 2 MiB-aligned address of the mapped run holding hint, and the end of the image. */
static int image_bounds(struct vmi_kernel *k) {
    uint64_t a = ALIGN_DOWN(k->hint, SZ_2M);
    if (!mapped(k, k->hint))
        return VMI_ENOTFOUND;
    /* Text and rodata start on 2 MiB boundaries (arch/x86/kernel/vmlinux.lds.S), so the chunk
     * holding a text or banner address is mapped from its start. */
    if (!mapped(k, a))
        return VMI_ENOTFOUND;
    while (a - SZ_2M >= VMI_KERNEL_MAP_START && mapped(k, a - SZ_2M))
        a -= SZ_2M;
    k->text = a;
    uint64_t end = a + SZ_2M, probe = a + SZ_2M, gap = 0;
    while (probe < VMI_KERNEL_MAP_END && gap < IMAGE_GAP_MAX) {
        if (mapped(k, probe) || mapped(k, probe + SZ_2M - SZ_4K)) {
            end = probe + SZ_2M;
            gap = 0;
        } else {
            gap += SZ_2M;
        }
        probe += SZ_2M;
    }
    k->image_end = end;
    return 0;
}

/* --- Physical scan fallback ------------------------------------------------------------- */

/* Looks for the first of pas[0..n) that a page-table root maps through the kernel-image mapping
 * (PML4[511] -> PDPT[510], under PML5[511] with 5-level paging); its index and virtual address.
 * At most 1 + 512 page-sized reads per root. */
static bool kernel_map_lookup(const struct vmi_mem *mem, uint64_t root, bool la57,
                              const uint64_t *pas, unsigned n, unsigned *which, uint64_t *va) {
    uint64_t e;
    if (la57) {
        if (vmi_read_phys(mem, root + 511 * 8, &e, 8) || !(e & PTE_P) || (e & PTE_PS))
            return false;
        root = e & ADDR_MASK;
    }
    if (vmi_read_phys(mem, root + 511 * 8, &e, 8) || !(e & PTE_P) || (e & PTE_PS))
        return false;
    uint64_t pdpt = e & ADDR_MASK;
    if (vmi_read_phys(mem, pdpt + 510 * 8, &e, 8) || !(e & PTE_P) || (e & PTE_PS))
        return false;
    uint64_t pd = e & ADDR_MASK;
    /* Static: 8 KiB does not belong on the (small) hypervisor stack. */
    static uint64_t pde[512], pte[512];
    if (vmi_read_phys(mem, pd, pde, sizeof(pde)))
        return false;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t d = pde[i];
        uint64_t base_va = VMI_KERNEL_MAP_START + (uint64_t)i * SZ_2M;
        if (!(d & PTE_P))
            continue;
        if (d & PTE_PS) {
            uint64_t b = d & ADDR_MASK & ~(SZ_2M - 1);
            for (unsigned k = 0; k < n; k++) {
                if (pas[k] >= b && pas[k] < b + SZ_2M) {
                    *which = k;
                    *va = base_va + (pas[k] - b);
                    return true;
                }
            }
            continue;
        }
        if (vmi_read_phys(mem, d & ADDR_MASK, pte, sizeof(pte)))
            continue;
        for (unsigned j = 0; j < 512; j++) {
            if (!(pte[j] & PTE_P))
                continue;
            for (unsigned k = 0; k < n; k++) {
                if ((pte[j] & ADDR_MASK) == (pas[k] & ~(SZ_4K - 1))) {
                    *which = k;
                    *va = base_va + j * SZ_4K + (pas[k] & (SZ_4K - 1));
                    return true;
                }
            }
        }
    }
    return false;
}

/* A page that looks like a PML4 of a 4-level kernel: present kernel-image entry (511), no
 * entry with reserved-looking bits in the upper half. */
static bool plausible_pgd(const uint64_t *p) {
    if (!(p[511] & PTE_P) || (p[511] & PTE_PS))
        return false;
    unsigned present = 0;
    for (unsigned i = 256; i < 512; i++) {
        if (!(p[i] & PTE_P))
            continue;
        if (p[i] & PTE_PS)
            return false;
        if ((p[i] >> 52) & 0x7ff) /* ignored bits Linux leaves 0 in tables */
            return false;
        present++;
    }
    return present >= 2;
}

#define SCAN_CHUNK 0x10000u
#define MAX_BANNERS 16
/* Plausible-looking roots examined (each costs up to ~1,000 page reads): real page tables are
 * the first plausible pages by far; hostile memory full of look-alikes gets a clear error. */
#define SCAN_MAX_ROOTS 1024u

static int find_by_scan(struct vmi_kernel *k) {
    const struct vmi_mem *mem = k->mem;
    uint64_t end = mem->phys_end;
    if (!end) {
        lib_strlcpy(k->error, "no vCPU state and no physical memory size to scan",
                    sizeof(k->error));
        return VMI_ENOTFOUND;
    }
    /* 1. Banner candidates (physical addresses). */
    uint64_t banners[MAX_BANNERS];
    unsigned nb = 0;
    static uint8_t buf[SCAN_CHUNK + 16];
    const size_t plen = sizeof(BANNER_PREFIX) - 1;
    for (uint64_t pa = 0; pa < end && nb < MAX_BANNERS; pa += SCAN_CHUNK) {
        size_t n = SCAN_CHUNK + plen + 1;
        if (pa + n > end)
            n = (size_t)(end - pa);
        if (vmi_read_phys(mem, pa, buf, n)) {
            /* A hole: retry without the overlap tail in case only that is missing. */
            n = SCAN_CHUNK < end - pa ? SCAN_CHUNK : (size_t)(end - pa);
            if (vmi_read_phys(mem, pa, buf, n))
                continue;
        }
        for (size_t i = 0; i + plen + 1 <= n && nb < MAX_BANNERS; i++) {
            if (buf[i] == 'L' && lib_memcmp(buf + i, BANNER_PREFIX, plen) == 0 &&
                lib_isdigit((char)buf[i + plen]))
                banners[nb++] = pa + i;
        }
    }
    if (!nb) {
        lib_strlcpy(k->error, "scan: no \"Linux version \" banner in physical memory",
                    sizeof(k->error));
        return VMI_ENOTFOUND;
    }
    /* 2. A root mapping one of them through the kernel-image mapping. */
    static uint64_t page[512];
    unsigned tried = 0;
    for (uint64_t pa = 0; pa + SZ_4K <= end && tried < SCAN_MAX_ROOTS; pa += SZ_4K) {
        if (vmi_read_phys(mem, pa, page, sizeof(page)) || !plausible_pgd(page))
            continue;
        tried++;
        /* 4-level first; a PML5 looks the same at this level, its entry 511 leads to a PML4
         * (SDM 3A 4.5.1). */
        for (int la57 = 0; la57 < 2; la57++) {
            uint64_t va;
            unsigned which;
            if (kernel_map_lookup(mem, pa, la57, banners, nb, &which, &va)) {
                pagewalk_init(&k->pw, mem, pa, la57 ? PAGEWALK_CR4_LA57 : 0, PAGEWALK_EFER_NXE,
                              false);
                k->cr3 = pa;
                k->hint = va;
                k->how = "scan";
                return 0;
            }
        }
    }
    lib_strlcpy(k->error,
                tried >= SCAN_MAX_ROOTS
                    ? "scan: no page-table root maps the kernel banner (gave up after 1024 roots)"
                    : "scan: no page-table root maps the kernel banner",
                sizeof(k->error));
    return VMI_ENOTFOUND;
}

int vmi_kernel_find(struct vmi_kernel *k, const struct vmi_mem *mem, const struct vmi_vcpu *cpus,
                    size_t ncpus) {
    lib_memset(k, 0, sizeof(*k));
    k->mem = mem;
    for (size_t i = 0; i < ncpus; i++) {
        const struct vmi_vcpu *c = &cpus[i];
        if (!c->has_cr || !(c->cr0 & (1ull << 31)))
            continue; /* no paging on this CPU */
        /* Without EFER, assume NXE: Linux/x86-64 sets it on every CPU that has NX, and treating
         * bit 63 as XD (not reserved) only makes the walker more lenient. */
        uint64_t efer = c->has_efer ? c->efer : PAGEWALK_EFER_NXE;
        uint64_t hint = 0;
        const char *how = NULL;
        if (c->has_lstar && in_kernel_map(c->lstar)) {
            hint = c->lstar;
            how = "lstar";
        }
        /* Root first (for IDT reads), then the KPTI half decision with the hint. */
        use_root(k, c->cr3, c->cr4, efer, hint);
        if (!how && c->has_idtr) {
            struct pagewalk saved = k->pw;
            if (hint_from_idt(k, c, &hint) == 0) {
                how = "idt";
            } else if (c->cr3 & PAGEWALK_KPTI_USER_BIT) {
                pagewalk_init(&k->pw, mem, c->cr3, c->cr4, efer, true);
                k->pw.root = k->pw.kernel_root;
                if (hint_from_idt(k, c, &hint) == 0)
                    how = "idt";
                else
                    k->pw = saved;
            }
            if (how)
                use_root(k, c->cr3, c->cr4, efer, hint);
        }
        if (!how)
            continue;
        k->hint = hint;
        k->how = how;
        if (image_bounds(k) == 0)
            goto found;
    }
    if (find_by_scan(k) != 0)
        return VMI_ENOTFOUND;
    if (image_bounds(k) != 0) {
        lib_strlcpy(k->error, "kernel image mapping not found around the banner", sizeof(k->error));
        return VMI_ENOTFOUND;
    }
found:
    k->root_from = lib_streq(k->how, "scan") ? "scan" : "cr3";
    k->paging_levels = k->pw.la57 ? 5 : 4;
    k->link_text = VMI_KERNEL_DEFAULT_LINK_TEXT;
    return VMI_OK;
}

int vmi_kernel_scan_banner(struct vmi_kernel *k, char *out, size_t cap) {
    static uint8_t buf[SZ_4K + 64];
    static char first[256];
    bool found = false;
    const size_t plen = sizeof(BANNER_PREFIX) - 1;
    for (uint64_t va = k->text; va < k->image_end; va += SZ_4K) {
        if (pagewalk_read(&k->pw, va, buf, SZ_4K))
            continue;
        /* Tail: the next page, when readable, for banners crossing the boundary. */
        size_t n = SZ_4K;
        if (pagewalk_read(&k->pw, va + SZ_4K, buf + SZ_4K, 64) == 0)
            n += 64;
        for (size_t i = 0; i < SZ_4K && i + plen + 1 <= n; i++) {
            if (buf[i] == 'L' && lib_memcmp(buf + i, BANNER_PREFIX, plen) == 0 &&
                lib_isdigit((char)buf[i + plen])) {
                int r = pagewalk_read_str(&k->pw, va + i, out, cap);
                if (r > 0) {
                    size_t l = lib_strnlen(out, cap);
                    while (l && (out[l - 1] == '\n' || out[l - 1] == '\r'))
                        out[--l] = 0;
                    /* init/version.c keeps a weak copy of the banner without the build
                     * number ("# SMP ..."); linux_banner proper has "#<n>". Prefer it. */
                    for (size_t j = 0; j + 1 < l; j++)
                        if (out[j] == '#' && lib_isdigit(out[j + 1]))
                            return 0;
                    if (!found) {
                        lib_strlcpy(first, out, sizeof(first));
                        found = true;
                    }
                }
            }
        }
    }
    if (found) {
        lib_strlcpy(out, first, cap);
        return 0;
    }
    return VMI_ENOTFOUND;
}

static void set_release(struct vmi_kernel *k) {
    const size_t plen = sizeof(BANNER_PREFIX) - 1;
    k->release[0] = 0;
    if (lib_strncmp(k->banner, BANNER_PREFIX, plen) != 0)
        return;
    const char *r = k->banner + plen;
    size_t n = 0;
    while (r[n] && r[n] != ' ' && n + 1 < sizeof(k->release))
        n++;
    lib_memcpy(k->release, r, n);
    k->release[n] = 0;
}

static int read_banner_sym(struct vmi_kernel *k, const struct vmi_symsrc *src, char *out,
                           size_t cap) {
    uint64_t a;
    if (src->sym(src->ctx, "linux_banner", &a))
        return VMI_ENOTFOUND;
    if (pagewalk_read_str(&k->pw, a, out, cap) <= 0)
        return VMI_EREAD;
    size_t l = lib_strnlen(out, cap);
    while (l && (out[l - 1] == '\n' || out[l - 1] == '\r'))
        out[--l] = 0;
    if (lib_strncmp(out, BANNER_PREFIX, sizeof(BANNER_PREFIX) - 1) != 0)
        return VMI_EMISMATCH;
    return 0;
}

/* vmcoreinfo (kernel/crash_core.c): "KERNELOFFSET=%lx" is the kernel's own kaslr_offset(). */
static int kaslr_from_vmcoreinfo(struct vmi_kernel *k, const struct vmi_symsrc *src, int64_t *off) {
    uint64_t pdata, psize, data, size;
    if (src->sym(src->ctx, "vmcoreinfo_data", &pdata) ||
        src->sym(src->ctx, "vmcoreinfo_size", &psize))
        return VMI_ENOTFOUND;
    if (pagewalk_read(&k->pw, pdata, &data, 8) || pagewalk_read(&k->pw, psize, &size, 8))
        return VMI_EREAD;
    if (size == 0 || size > 0x10000)
        return VMI_EFORMAT;
    static char buf[0x10000 + 1];
    if (pagewalk_read(&k->pw, data, buf, (size_t)size))
        return VMI_EREAD;
    buf[size] = 0;
    const char key[] = "KERNELOFFSET=";
    for (size_t i = 0; i + sizeof(key) - 1 < size; i++) {
        if ((i == 0 || buf[i - 1] == '\n') && lib_strncmp(buf + i, key, sizeof(key) - 1) == 0) {
            const char *v = buf + i + sizeof(key) - 1;
            size_t n = 0;
            while (v[n] && v[n] != '\n')
                n++;
            uint64_t x;
            if (!lib_parse_u64(v, n, 16, &x))
                return VMI_EFORMAT;
            *off = (int64_t)x;
            return 0;
        }
    }
    return VMI_ENOTFOUND;
}

static void detect_kpti(struct vmi_kernel *k, const struct vmi_symsrc *src) {
    /* arch/x86/include/asm/cpufeatures.h: X86_FEATURE_PTI is word 7, bit 11; the boot CPU's
     * capability words are in boot_cpu_data.x86_capability. */
    uint64_t bcd;
    struct vmi_member m;
    uint32_t w;
    if (src->sym(src->ctx, "boot_cpu_data", &bcd) == 0 &&
        src->member(src->ctx, "cpuinfo_x86", "x86_capability", &m) == 0 && m.size >= 8 * 4 &&
        pagewalk_read(&k->pw, bcd + m.offset + 7 * 4, &w, 4) == 0) {
        k->kpti = (w >> 11) & 1;
        k->kpti_known = true;
    }
}

int vmi_kernel_identify(struct vmi_kernel *k, const struct vmi_symsrc *src,
                        const char *profile_banner) {
    bool profile = src->kind && lib_streq(src->kind, "profile");
    k->error[0] = 0;
    if (profile) {
        uint64_t link_text;
        /* Link-time _text: with no slide (identify may run again on the same source). */
        if (src->set_slide)
            src->set_slide(src->ctx, 0);
        if (src->sym(src->ctx, "_text", &link_text)) {
            lib_strlcpy(k->error, "profile has no _text symbol", sizeof(k->error));
            return VMI_EMISMATCH;
        }
        k->link_text = link_text;
        k->kaslr = (int64_t)(k->text - link_text);
        k->kaslr_known = true;
        if (src->set_slide)
            src->set_slide(src->ctx, k->kaslr);
        /* The profile matches when its linux_banner, slid, holds a banner, and that banner is
         * the one the profile was made from. Without a recorded banner, the release found by
         * scanning the image must at least agree. */
        char mine[256], running[256];
        int rc = read_banner_sym(k, src, mine, sizeof(mine));
        bool ok = rc == 0;
        if (ok && profile_banner && profile_banner[0]) {
            ok = lib_streq(profile_banner, mine);
        } else if (ok && vmi_kernel_scan_banner(k, running, sizeof(running)) == 0) {
            lib_strlcpy(k->banner, running, sizeof(k->banner));
            set_release(k);
            char rel[sizeof(k->release)];
            lib_strlcpy(rel, k->release, sizeof(rel));
            lib_strlcpy(k->banner, mine, sizeof(k->banner));
            set_release(k);
            ok = lib_streq(rel, k->release);
        }
        if (!ok) {
            fmt_snprintf(k->error, sizeof(k->error),
                         "profile's linux_banner (slid by 0x%llx) does not hold %s",
                         (unsigned long long)k->kaslr,
                         rc ? "a kernel banner" : "the profile's banner");
            /* The banner reported is the profile's symbol's when it held one, else the running
             * kernel's (scanned only then: the scan reads the whole image). */
            if (rc && vmi_kernel_scan_banner(k, running, sizeof(running)) != 0)
                running[0] = 0;
            lib_strlcpy(k->banner, rc ? running : mine, sizeof(k->banner));
            set_release(k);
            return VMI_EMISMATCH;
        }
        lib_strlcpy(k->banner, mine, sizeof(k->banner));
    } else {
        uint64_t t;
        /* kallsyms' _text is authoritative; it must agree with the page tables. */
        if (src->sym(src->ctx, "_text", &t) == 0 && t != k->text) {
            fmt_snprintf(k->error, sizeof(k->error),
                         "kallsyms _text 0x%llx differs from the mapped image start 0x%llx",
                         (unsigned long long)t, (unsigned long long)k->text);
            return VMI_EFORMAT;
        }
        int64_t off;
        if (kaslr_from_vmcoreinfo(k, src, &off) == 0) {
            k->kaslr = off;
            k->link_text = k->text - (uint64_t)off;
        } else {
            k->link_text = VMI_KERNEL_DEFAULT_LINK_TEXT;
            k->kaslr = (int64_t)(k->text - k->link_text);
        }
        k->kaslr_known = true;
        if (read_banner_sym(k, src, k->banner, sizeof(k->banner)) != 0 &&
            vmi_kernel_scan_banner(k, k->banner, sizeof(k->banner)) != 0) {
            lib_strlcpy(k->error, "no kernel banner found", sizeof(k->error));
            return VMI_ENOTFOUND;
        }
    }
    set_release(k);
    detect_kpti(k, src);
    return VMI_OK;
}

/* Both walkers translate va to the same physical address. */
static bool same_translation(const struct pagewalk *a, const struct pagewalk *b, uint64_t va) {
    struct pagewalk_xlate xa, xb;
    return pagewalk_translate(a, va, &xa) == 0 && pagewalk_translate(b, va, &xb) == 0 &&
           xa.pa == xb.pa;
}

int vmi_kernel_use_own_root(struct vmi_kernel *k, const struct vmi_symsrc *src) {
    static const char *const names[] = {"init_top_pgt", "swapper_pg_dir"};
    uint64_t va = 0;
    const char *name = NULL;
    k->root_error[0] = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(names) && !name; i++)
        if (src && src->sym && src->sym(src->ctx, names[i], &va) == 0)
            name = names[i];
    if (!name) {
        fmt_snprintf(k->root_error, sizeof(k->root_error),
                     "no init_top_pgt or swapper_pg_dir symbol: walks keep the detection %s root "
                     "0x%llx",
                     k->root_from, (unsigned long long)k->cr3);
        return VMI_ENOTFOUND;
    }
    struct pagewalk_xlate x;
    if (pagewalk_translate(&k->pw, va, &x) != 0 || (x.pa & (SZ_4K - 1))) {
        fmt_snprintf(k->root_error, sizeof(k->root_error),
                     "%s at 0x%llx is not a mapped page: walks keep the detection %s root 0x%llx",
                     name, (unsigned long long)va, k->root_from, (unsigned long long)k->cr3);
        return VMI_EFORMAT;
    }
    uint64_t phys_base_va, phys_base;
    if (in_kernel_map(va) && src->sym(src->ctx, "phys_base", &phys_base_va) == 0 &&
        pagewalk_read(&k->pw, phys_base_va, &phys_base, sizeof(phys_base)) == 0 &&
        va - VMI_KERNEL_MAP_START + phys_base != x.pa) {
        fmt_snprintf(k->root_error, sizeof(k->root_error),
                     "%s maps to 0x%llx, not to 0x%llx as phys_base says: walks keep the "
                     "detection %s root 0x%llx",
                     name, (unsigned long long)x.pa,
                     (unsigned long long)(va - VMI_KERNEL_MAP_START + phys_base), k->root_from,
                     (unsigned long long)k->cr3);
        return VMI_EFORMAT;
    }
    struct pagewalk own = k->pw;
    own.root = own.kernel_root = x.pa;
    if (!same_translation(&k->pw, &own, k->text) || !same_translation(&k->pw, &own, va) ||
        (k->hint && !same_translation(&k->pw, &own, k->hint))) {
        fmt_snprintf(k->root_error, sizeof(k->root_error),
                     "%s (0x%llx) does not map the kernel image as the detection root does: walks "
                     "keep the detection %s root 0x%llx",
                     name, (unsigned long long)x.pa, k->root_from, (unsigned long long)k->cr3);
        return VMI_EFORMAT;
    }
    k->pw = own;
    k->cr3 = x.pa;
    k->root_from = "init_top_pgt";
    return VMI_OK;
}
