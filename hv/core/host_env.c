#include "hv/core/host_env.h"

#include "base/hw.h"
#include "base/lib.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PS (1ull << 7)

/* IDT gate: 64-bit interrupt gate (type 0xE), present, DPL 0 (SDM vol. 3A 6.14.1). */
struct idt_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
} __attribute__((packed));

extern const uint64_t host_isr_table[256]; /* hv/core/host_isr.S */

int host_env_init(struct host_env *env, struct hv_heap *heap, unsigned maxphyaddr) {
    struct cpuid_regs r;
    hw_cpuid(0x80000001, 0, &r);
    env->pages_1g = (r.edx >> 26) & 1; /* CPUID.80000001H:EDX.Page1GB */
    if (maxphyaddr < 32 || maxphyaddr > 52)
        maxphyaddr = 36;
    /* 4-level paging reaches 2^47 bytes in the lower canonical half. */
    unsigned bits = maxphyaddr > 47 ? 47 : maxphyaddr;
    uint64_t span = 1ull << bits;
    if (!env->pages_1g && span > (64ull << 30))
        span = 64ull << 30; /* 2 MiB pages: 32 MiB of tables per TiB; cap the cost */
    env->mapped = span;

    uint64_t *pml4 = hv_heap_pages(heap, 1);
    if (!pml4)
        return -1;
    uint64_t n_pdpt = (span + (512ull << 30) - 1) / (512ull << 30);
    for (uint64_t i = 0; i < n_pdpt; i++) {
        uint64_t *pdpt = hv_heap_pages(heap, 1);
        if (!pdpt)
            return -1;
        pml4[i] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t gb = (i * 512 + j) << 30;
            if (gb >= span)
                break;
            if (env->pages_1g) {
                pdpt[j] = gb | PTE_P | PTE_W | PTE_PS;
                continue;
            }
            uint64_t *pd = hv_heap_pages(heap, 1);
            if (!pd)
                return -1;
            pdpt[j] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
            for (uint64_t k = 0; k < 512; k++)
                pd[k] = (gb + (k << 21)) | PTE_P | PTE_W | PTE_PS;
        }
    }
    env->cr3 = (uint64_t)(uintptr_t)pml4;
    /* PAT entry 0 (no PAT/PCD/PWT bits in our entries) is WB; the MTRRs still make MMIO UC. */
    env->pat = 0x0007040600070406ull;

    struct idt_gate *idt = hv_heap_pages(heap, 1);
    if (!idt)
        return -1;
    for (unsigned v = 0; v < 256; v++) {
        uint64_t h = host_isr_table[v];
        idt[v].off_lo = (uint16_t)h;
        idt[v].sel = HOST_CS_SEL;
        idt[v].ist = v == 2 ? IST_NMI : v == 8 ? IST_DF : v == 18 ? IST_MC : 0;
        idt[v].type_attr = 0x8E;
        idt[v].off_mid = (uint16_t)(h >> 16);
        idt[v].off_hi = (uint32_t)(h >> 32);
    }
    env->idt_base = (uint64_t)(uintptr_t)idt;
    return 0;
}

int host_env_cpu_init(struct hv_cpu *c, struct hv_heap *heap) {
    c->gdt[GDT_NULL] = 0;
    c->gdt[GDT_CODE64] = 0x00AF9B000000FFFFull; /* L=1, P, DPL0, code exec/read, accessed */
    c->gdt[GDT_DATA] = 0x00CF93000000FFFFull;   /* P, DPL0, data read/write, accessed */
    uint64_t tss = (uint64_t)(uintptr_t)&c->tss;
    uint64_t limit = sizeof(c->tss) - 1;
    /* 64-bit available TSS (type 9), present; a 16-byte system descriptor (SDM 8.2.3). */
    c->gdt[GDT_TSS_LO] = (limit & 0xFFFF) | ((tss & 0xFFFFFF) << 16) | (0x89ull << 40) |
                         (((limit >> 16) & 0xF) << 48) | (((tss >> 24) & 0xFF) << 56);
    c->gdt[GDT_TSS_HI] = tss >> 32;
    lib_memset(&c->tss, 0, sizeof(c->tss));
    c->tss.iomap_base = sizeof(c->tss);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t *s = hv_heap_alloc(heap, HV_IST_SIZE, 16);
        if (!s)
            return -1;
        c->tss.ist[i] = (uint64_t)(uintptr_t)(s + HV_IST_SIZE);
    }
    return 0;
}
