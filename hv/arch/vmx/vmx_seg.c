/* GDT/LDT descriptor → VMCS segment decoding (see vmx_seg.h). */
#include "hv/arch/vmx/vmx_seg.h"

#include "base/hw.h"
#include "hv/arch/vmx/vmx_defs.h"

uint32_t vmx_seg_ar_from_desc(uint64_t desc) {
    uint32_t access = (uint32_t)(desc >> 40) & 0xFFu; /* type, S, DPL, P */
    uint32_t flags = (uint32_t)(desc >> 52) & 0xFu;   /* AVL, L, D/B, G */
    return access | (flags << 12);
}

uint32_t vmx_seg_limit_from_desc(uint64_t desc) {
    uint32_t limit = (uint32_t)(desc & 0xFFFFu) | ((uint32_t)(desc >> 32) & 0xF0000u);
    if (desc & (1ull << 55)) /* G: 4 KiB units */
        limit = (limit << 12) | 0xFFFu;
    return limit;
}

uint32_t vmx_seg_base_from_desc(uint64_t desc) {
    return (uint32_t)((desc >> 16) & 0xFFFFFFu) | ((uint32_t)(desc >> 32) & 0xFF000000u);
}

static bool read_u64(const struct vmx_desc_table *t, uint32_t off, uint64_t *v) {
    /* The table limit is the offset of its last valid byte: bytes off..off+7 must be <= limit.
     * off is at most 0xFFF8 (a 13-bit index times 8), so no overflow. */
    if (!t || !t->bytes || (uint64_t)off + 7 > t->limit)
        return false;
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | t->bytes[off + (uint32_t)i];
    *v = x;
    return true;
}

static struct vmx_segment unusable(uint16_t sel) {
    struct vmx_segment s = {sel, 0, 0, AR_UNUSABLE};
    return s;
}

enum vmx_seg_status vmx_seg_decode(const struct vmx_desc_table *gdt,
                                   const struct vmx_desc_table *ldt, enum vmx_sreg which,
                                   uint16_t sel, bool ia32e, struct vmx_segment *out) {
    bool ti = (sel & 4u) != 0;
    uint32_t off = (uint32_t)(sel & 0xFFF8u);
    bool system_reg = (which == SREG_TR || which == SREG_LDTR);

    if (!ti && off == 0) {
        if (which == SREG_CS || which == SREG_TR)
            return VMX_SEG_NULL_NOT_ALLOWED;
        /* SDM 24.4.1: a null selector makes the register unusable (bit 16). */
        *out = unusable(sel);
        return VMX_SEG_OK;
    }
    /* TR and LDTR selectors always index the GDT (TI must be 0). */
    if (ti && system_reg)
        return VMX_SEG_WRONG_KIND;
    const struct vmx_desc_table *t = ti ? ldt : gdt;
    if (ti && (!ldt || !ldt->bytes))
        return VMX_SEG_NO_LDT;

    uint64_t d;
    if (!read_u64(t, off, &d))
        return VMX_SEG_OUTSIDE_TABLE;
    uint32_t ar = vmx_seg_ar_from_desc(d);
    uint32_t type = ar & AR_TYPE_MASK;
    bool s_bit = (ar & AR_S) != 0;

    if (system_reg == s_bit) /* code/data in TR/LDTR, or system descriptor in ES..GS */
        return VMX_SEG_WRONG_KIND;
    if (!(ar & AR_P))
        return VMX_SEG_NOT_PRESENT;

    uint64_t base = vmx_seg_base_from_desc(d);
    uint32_t limit = vmx_seg_limit_from_desc(d);

    if (system_reg) {
        if (which == SREG_LDTR) {
            if (type != SYS_TYPE_LDT)
                return VMX_SEG_WRONG_KIND;
        } else {
            /* 64-bit TSS in IA-32e mode; 32-bit (9/B) or 16-bit (1/3) outside. */
            bool tss32 = type == SYS_TYPE_TSS_AVAIL || type == SYS_TYPE_TSS_BUSY;
            bool tss16 = type == SYS_TYPE_TSS16_AVAIL || type == SYS_TYPE_TSS16_BUSY;
            if (!(tss32 || (tss16 && !ia32e)))
                return VMX_SEG_WRONG_KIND;
            ar |= 0x2u; /* LTR marks the TSS busy: 9 → B, 1 → 3 */
        }
        if (ia32e) {
            /* SDM 7.2.3 / 3.5: 16-byte system descriptors, base 63:32 in bytes 8..11. */
            uint64_t hi;
            if (!read_u64(t, off + 8, &hi))
                return VMX_SEG_OUTSIDE_TABLE;
            base |= (hi & 0xFFFFFFFFull) << 32;
        }
    } else {
        ar |= AR_TYPE_ACCESSED;
        /* A code segment with L = 1 has D = 0 by definition (SDM 5.2.1); keep what the table says
         * otherwise — VM entry checks the combination. */
    }
    ar &= ~AR_RESERVED_MASK;
    out->sel = sel;
    out->base = base;
    out->limit = limit;
    out->ar = ar;
    return VMX_SEG_OK;
}

struct vmx_segment vmx_seg_real_mode(uint16_t sel, bool code) {
    struct vmx_segment s;
    s.sel = sel;
    s.base = (uint64_t)sel << 4;
    s.limit = 0xFFFF;
    s.ar = (code ? 0xBu : 0x3u) | AR_S | AR_P;
    return s;
}

static const uint32_t sel_field[] = {VMCS_GUEST_ES_SEL,   VMCS_GUEST_CS_SEL, VMCS_GUEST_SS_SEL,
                                     VMCS_GUEST_DS_SEL,   VMCS_GUEST_FS_SEL, VMCS_GUEST_GS_SEL,
                                     VMCS_GUEST_LDTR_SEL, VMCS_GUEST_TR_SEL};
/* The four field groups are laid out with the same stride (2 per register), SDM appendix B. */
bool vmx_seg_write_guest(enum vmx_sreg which, const struct vmx_segment *s) {
    uint32_t i = (uint32_t)which;
    if (i > SREG_TR)
        return false;
    bool ok = hw_vmwrite(sel_field[i], s->sel);
    ok &= hw_vmwrite(VMCS_GUEST_ES_BASE + 2 * i, s->base);
    ok &= hw_vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, s->limit);
    ok &= hw_vmwrite(VMCS_GUEST_ES_AR + 2 * i, s->ar);
    return ok;
}

void vmx_seg_read_guest(enum vmx_sreg which, struct vmx_segment *s) {
    uint32_t i = (uint32_t)which;
    if (i > SREG_TR)
        i = SREG_TR;
    s->sel = (uint16_t)hw_vmread(sel_field[i]);
    s->base = hw_vmread(VMCS_GUEST_ES_BASE + 2 * i);
    s->limit = (uint32_t)hw_vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
    s->ar = (uint32_t)hw_vmread(VMCS_GUEST_ES_AR + 2 * i);
}

const char *vmx_seg_status_str(enum vmx_seg_status s) {
    switch (s) {
    case VMX_SEG_OK:
        return "ok";
    case VMX_SEG_OUTSIDE_TABLE:
        return "selector beyond descriptor-table limit";
    case VMX_SEG_NOT_PRESENT:
        return "descriptor not present";
    case VMX_SEG_WRONG_KIND:
        return "descriptor of the wrong kind for this register";
    case VMX_SEG_NULL_NOT_ALLOWED:
        return "null selector not allowed in this register";
    case VMX_SEG_NO_LDT:
        return "selector refers to the LDT but there is none";
    }
    return "?";
}

const char *vmx_sreg_name(enum vmx_sreg r) {
    static const char *const names[] = {"es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"};
    return (unsigned)r <= SREG_TR ? names[r] : "?";
}
