/* IA-32e page walk (Intel SDM Vol. 3A, 4.5). See pagewalk.h. */
#include "vmi/pagewalk.h"
#include "base/lib.h"
#include "vmi/vmi_symsrc.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)
#define ADDR_MASK_52 0x000ffffffffff000ull

void pagewalk_init(struct pagewalk *pw, const struct vmi_mem *mem, uint64_t cr3, uint64_t cr4,
                   uint64_t efer, bool kpti_pair) {
    pw->mem = mem;
    /* SDM 3A 4.5.2: CR3[11:0] are PCID (CR4.PCIDE=1) or PWT/PCD; bit 63 is the no-flush hint of
     * MOV to CR3; the table base is bits 51:12. */
    pw->root = cr3 & ADDR_MASK_52;
    pw->kernel_root = pw->root;
    if (kpti_pair)
        pw->kernel_root = pw->root & ~PAGEWALK_KPTI_USER_BIT;
    pw->la57 = (cr4 & PAGEWALK_CR4_LA57) != 0;
    pw->nxe = (efer & PAGEWALK_EFER_NXE) != 0;
    pw->maxphyaddr = 52;
}

bool pagewalk_canonical(const struct pagewalk *pw, uint64_t va) {
    int bits = pw->la57 ? 57 : 48;
    int64_t s = (int64_t)(va << (64 - bits)) >> (64 - bits);
    return (uint64_t)s == va;
}

/* Reserved bits of a paging-structure entry (SDM 3A 4.5.4 tables 4-15..4-20 and 5-level
 * equivalents): physical-address bits at or above MAXPHYADDR, XD without EFER.NXE. */
static uint64_t rsvd_mask(const struct pagewalk *pw) {
    uint8_t m = pw->maxphyaddr;
    if (m < 32 || m > 52)
        m = 52;
    uint64_t mask = ((1ull << 52) - 1) & ~((1ull << m) - 1);
    if (!pw->nxe)
        mask |= PTE_XD;
    return mask;
}

int pagewalk_translate(const struct pagewalk *pw, uint64_t va, struct pagewalk_xlate *out) {
    if (!pw || !pw->mem || !pagewalk_canonical(pw, va))
        return VMI_ENOTFOUND;
    const uint64_t rsvd = rsvd_mask(pw);
    const uint64_t addr_mask = ADDR_MASK_52 & ~rsvd;
    uint64_t table = (va >> 63) ? pw->kernel_root : pw->root;
    int levels = pw->la57 ? 5 : 4;
    bool rw = true, us = true, nx = false;
    for (int level = levels; level >= 1; level--) {
        int shift = 12 + 9 * (level - 1);
        uint64_t idx = (va >> shift) & 0x1ff;
        uint64_t e;
        int rc = vmi_read_phys(pw->mem, table + idx * 8, &e, sizeof(e));
        if (rc)
            return VMI_EREAD;
        if (!(e & PTE_P))
            return VMI_ENOTFOUND;
        if (e & rsvd)
            return VMI_EFORMAT;
        rw = rw && (e & PTE_RW);
        us = us && (e & PTE_US);
        nx = nx || (pw->nxe && (e & PTE_XD));
        bool leaf = level == 1;
        if (level == 2 || level == 3) {
            if (e & PTE_PS)
                leaf = true;
        } else if (level >= 4 && (e & PTE_PS)) {
            /* PS is reserved in PML4E and PML5E (SDM 3A table 4-15). */
            return VMI_EFORMAT;
        }
        if (leaf) {
            uint64_t size = 1ull << shift;
            uint64_t base = e & addr_mask;
            if (level > 1) {
                /* Bit 12 is PAT in large-page entries; bits shift-1..13 are reserved
                 * (SDM 3A tables 4-17 and 4-19). */
                uint64_t low = (size - 1) & ~0x1fffull;
                if (base & low)
                    return VMI_EFORMAT;
                base &= ~(size - 1);
            }
            out->pa = base | (va & (size - 1));
            out->page_size = size;
            out->writable = rw;
            out->user = us;
            out->nx = nx;
            return VMI_OK;
        }
        table = e & addr_mask;
    }
    return VMI_ENOTFOUND; /* not reached */
}

int pagewalk_read(const struct pagewalk *pw, uint64_t va, void *buf, size_t len) {
    uint8_t *dst = buf;
    while (len) {
        struct pagewalk_xlate x;
        int rc = pagewalk_translate(pw, va, &x);
        if (rc)
            return rc;
        uint64_t in_page = x.page_size - (x.pa & (x.page_size - 1));
        size_t n = len < in_page ? len : (size_t)in_page;
        /* Never cross a 4 KiB boundary in one physical read: the backing of the next frame may
         * be elsewhere in the dump even inside a large page. */
        uint64_t to4k = 0x1000 - (x.pa & 0xfff);
        if (n > to4k)
            n = (size_t)to4k;
        rc = vmi_read_phys(pw->mem, x.pa, dst, n);
        if (rc)
            return VMI_EREAD;
        dst += n;
        len -= n;
        if (va + n < va && len)
            return VMI_ENOTFOUND; /* wrapped past the top of the address space */
        va += n;
    }
    return VMI_OK;
}

int pagewalk_read_kva(void *ctx, uint64_t va, void *buf, size_t len) {
    return pagewalk_read((const struct pagewalk *)ctx, va, buf, len);
}

int pagewalk_read_str(const struct pagewalk *pw, uint64_t va, char *buf, size_t max) {
    if (!max)
        return VMI_ELIMIT;
    size_t got = 0;
    while (got + 1 < max) {
        /* Read up to the end of the current 4 KiB page in one go. */
        uint64_t cur = va + got;
        size_t chunk = (size_t)(0x1000 - (cur & 0xfff));
        if (chunk > max - 1 - got)
            chunk = max - 1 - got;
        if (pagewalk_read(pw, cur, buf + got, chunk)) {
            if (!got) {
                buf[0] = 0;
                return VMI_EREAD;
            }
            break;
        }
        size_t n = lib_strnlen(buf + got, chunk);
        got += n;
        if (n < chunk)
            break;
    }
    buf[got] = 0;
    return (int)got;
}
