#include "hv/ept/mtrr.h"

#include "base/hw.h"
#include "base/lib.h"

#define ONE_MIB 0x100000ull

const char *mtrr_strerror(int err) {
    switch (err) {
    case MTRR_OK:
        return "ok";
    case MTRR_ERR_MAXPHYADDR:
        return "MAXPHYADDR outside 32..52";
    case MTRR_ERR_TOO_MANY_VAR:
        return "more variable MTRRs than supported";
    case MTRR_ERR_BAD_TYPE:
        return "reserved memory type";
    case MTRR_ERR_RESERVED:
        return "reserved bits set";
    case MTRR_ERR_NOT_MTRR:
        return "not a writable MTRR MSR";
    case MTRR_ERR_PARSE:
        return "malformed MTRR capture";
    default:
        return "unknown MTRR error";
    }
}

const char *mtrr_type_name(uint8_t type) {
    switch (type) {
    case MTRR_TYPE_UC:
        return "UC";
    case MTRR_TYPE_WC:
        return "WC";
    case MTRR_TYPE_WT:
        return "WT";
    case MTRR_TYPE_WP:
        return "WP";
    case MTRR_TYPE_WB:
        return "WB";
    default:
        return "reserved";
    }
}

static bool type_valid(const struct mtrr_state *s, uint64_t t) {
    /* SDM vol. 3A 11.11.1: WC is only allowed when MTRRCAP.WC is set. */
    return t == MTRR_TYPE_UC || t == MTRR_TYPE_WT || t == MTRR_TYPE_WP || t == MTRR_TYPE_WB ||
           (t == MTRR_TYPE_WC && (s->cap & MTRRCAP_WC));
}

/* Reserved types never reach hardware (WRMSR #GPs), so a captured or corrupted one is treated
 * as UC: the safe type for anything unknown. */
static uint8_t type_sane(const struct mtrr_state *s, uint64_t t) {
    return type_valid(s, t) ? (uint8_t)t : MTRR_TYPE_UC;
}

static uint64_t phys_mask(const struct mtrr_state *s) {
    unsigned m = s->maxphyaddr;
    if (m < 32 || m > 52)
        m = 36;
    return ((1ull << m) - 1) & ~0xFFFull;
}

static bool fixed_active(const struct mtrr_state *s) {
    return (s->def_type & MTRR_DEF_FE) && (s->cap & MTRRCAP_FIX);
}

static uint32_t fixed_msr_index(unsigned i) {
    static const uint32_t msrs[MTRR_NUM_FIXED_MSRS] = {MSR_IA32_MTRR_FIX64K_00000,
                                                       MSR_IA32_MTRR_FIX16K_80000,
                                                       MSR_IA32_MTRR_FIX16K_A0000,
                                                       0x268,
                                                       0x269,
                                                       0x26A,
                                                       0x26B,
                                                       0x26C,
                                                       0x26D,
                                                       0x26E,
                                                       0x26F};
    return msrs[i];
}

static int fixed_slot(uint32_t msr) {
    for (unsigned i = 0; i < MTRR_NUM_FIXED_MSRS; i++)
        if (fixed_msr_index(i) == msr)
            return (int)i;
    return -1;
}

/* Fixed-range type of pa < 1 MiB (SDM vol. 3A 11.11.2.2: 8 x 64 KiB from 0, 16 x 16 KiB from
 * 0x80000, 64 x 4 KiB from 0xC0000; one type per byte of the MSRs). */
static uint8_t fixed_type(const struct mtrr_state *s, uint64_t pa) {
    unsigned msr, byte;
    if (pa < 0x80000) {
        msr = 0;
        byte = (unsigned)(pa >> 16);
    } else if (pa < 0xC0000) {
        msr = 1 + (unsigned)((pa - 0x80000) >> 17);
        byte = (unsigned)((pa - 0x80000) >> 14) & 7;
    } else {
        msr = 3 + (unsigned)((pa - 0xC0000) >> 15);
        byte = (unsigned)((pa - 0xC0000) >> 12) & 7;
    }
    return type_sane(s, (s->fixed[msr] >> (byte * 8)) & 0xFF);
}

/* Bit set of the types in a set of matching variable ranges -> the resulting type, by SDM vol.
 * 3A 11.11.4.1: identical types give that type; any UC gives UC; WT with WB gives WT. Other
 * mixes are undefined behaviour of the processor: UC is the only safe answer. */
static uint8_t combine(unsigned bits) {
    if (bits & (1u << MTRR_TYPE_UC))
        return MTRR_TYPE_UC;
    if (bits == (1u << MTRR_TYPE_WT | 1u << MTRR_TYPE_WB))
        return MTRR_TYPE_WT;
    for (uint8_t t = 0; t < 8; t++)
        if (bits == (1u << t))
            return t;
    return MTRR_TYPE_UC;
}

static unsigned var_count(const struct mtrr_state *s) {
    return s->var_count < MTRR_MAX_VAR ? s->var_count : MTRR_MAX_VAR;
}

enum var_match { VAR_NONE, VAR_FULL, VAR_PARTIAL };

/* How variable range v covers the aligned block [base, base + 2^order). A range matches pa when
 * (pa & mask) == (base & mask) over the MAXPHYADDR bits (SDM vol. 3A 11.11.2.3); masks need not
 * be contiguous, so this works bit by bit rather than with start/end intervals. */
static enum var_match var_cover(const struct mtrr_state *s, const struct mtrr_var *v, uint64_t base,
                                unsigned order) {
    if (!(v->mask & MTRR_PHYSMASK_VALID))
        return VAR_NONE;
    uint64_t pm = phys_mask(s);
    uint64_t m = v->mask & pm;
    uint64_t b = v->base & pm;
    uint64_t low = order >= 64 ? ~0ull : (1ull << order) - 1;
    if ((base & m & ~low) != (b & m & ~low))
        return VAR_NONE;
    return (m & low) ? VAR_PARTIAL : VAR_FULL;
}

static bool var_block_type(const struct mtrr_state *s, uint64_t base, unsigned order,
                           uint8_t *type) {
    unsigned full = 0, partial = 0;
    unsigned n = var_count(s);
    for (unsigned i = 0; i < n; i++) {
        enum var_match c = var_cover(s, &s->var[i], base, order);
        unsigned bit = 1u << type_sane(s, s->var[i].base & 0xFF);
        if (c == VAR_FULL)
            full |= bit;
        else if (c == VAR_PARTIAL)
            partial |= bit;
    }
    uint8_t def = type_sane(s, s->def_type & MTRR_DEF_TYPE_MASK);
    if (!partial) {
        *type = full ? combine(full) : def;
        return true;
    }
    if (full) {
        /* Every address sees all of `full` plus some subset of `partial`. If adding each
         * partial type alone leaves the result unchanged, any subset does too (UC absorbs all,
         * equal types stay equal, WB under WT stays WT). */
        uint8_t c = combine(full);
        for (uint8_t t = 0; t < 8; t++)
            if ((partial & (1u << t)) && combine(full | (1u << t)) != c)
                return false;
        *type = c;
        return true;
    }
    /* Some addresses match no range (default type), others some of the partial ones. */
    if (partial == (1u << def)) {
        *type = def;
        return true;
    }
    return false;
}

uint8_t mtrr_type_of(const struct mtrr_state *s, uint64_t pa) {
    uint8_t t = MTRR_TYPE_UC;
    mtrr_range_type(s, pa & ~0xFFFull, 12, &t);
    return t;
}

bool mtrr_range_type(const struct mtrr_state *s, uint64_t base, unsigned order, uint8_t *type) {
    if (order < 12 || order > 63 || (base & ((1ull << order) - 1)))
        return false;
    /* SDM vol. 3A 11.11.2.1: with E clear every access is UC. */
    if (!s->supported || !(s->def_type & MTRR_DEF_E)) {
        *type = MTRR_TYPE_UC;
        return true;
    }
    uint64_t size = 1ull << order;
    if (fixed_active(s) && base < ONE_MIB) {
        if (size > ONE_MIB) {
            /* Fixed ranges take precedence below 1 MiB (SDM 11.11.4.1 rule 1): halve until the
             * fixed part stands alone. Only the left half intersects it, so this recursion is at
             * most order - 20 deep. */
            uint8_t lo, hi;
            if (!mtrr_range_type(s, base, order - 1, &lo) ||
                !mtrr_range_type(s, base + size / 2, order - 1, &hi) || lo != hi)
                return false;
            *type = lo;
            return true;
        }
        uint8_t t0 = fixed_type(s, base);
        for (uint64_t pa = base + 0x1000; pa < base + size; pa += 0x1000)
            if (fixed_type(s, pa) != t0)
                return false;
        *type = t0;
        return true;
    }
    return var_block_type(s, base, order, type);
}

int mtrr_validate(const struct mtrr_state *s) {
    if (s->maxphyaddr < 32 || s->maxphyaddr > 52)
        return MTRR_ERR_MAXPHYADDR;
    if ((s->cap & MTRRCAP_VCNT_MASK) > MTRR_MAX_VAR || s->var_count > MTRR_MAX_VAR)
        return MTRR_ERR_TOO_MANY_VAR;
    if (s->def_type & ~(MTRR_DEF_TYPE_MASK | MTRR_DEF_FE | MTRR_DEF_E))
        return MTRR_ERR_RESERVED;
    if (!type_valid(s, s->def_type & MTRR_DEF_TYPE_MASK))
        return MTRR_ERR_BAD_TYPE;
    if (s->cap & MTRRCAP_FIX) {
        for (unsigned i = 0; i < MTRR_NUM_FIXED_MSRS; i++)
            for (unsigned b = 0; b < 8; b++)
                if (!type_valid(s, (s->fixed[i] >> (8 * b)) & 0xFF))
                    return MTRR_ERR_BAD_TYPE;
    }
    uint64_t pm = phys_mask(s);
    for (unsigned i = 0; i < var_count(s); i++) {
        const struct mtrr_var *v = &s->var[i];
        if ((v->base & ~(pm | 0xFFull)) || (v->mask & ~(pm | MTRR_PHYSMASK_VALID)))
            return MTRR_ERR_RESERVED;
        if ((v->mask & MTRR_PHYSMASK_VALID) && !type_valid(s, v->base & 0xFF))
            return MTRR_ERR_BAD_TYPE;
    }
    return MTRR_OK;
}

int mtrr_read_hw(struct mtrr_state *s) {
    struct cpuid_regs r;
    lib_memset(s, 0, sizeof(*s));
    hw_cpuid(1, 0, &r);
    s->supported = (r.edx >> 12) & 1;
    s->maxphyaddr = 36; /* SDM vol. 3A 4.1.4: 36 when CPUID.80000008 is not offered */
    hw_cpuid(0x80000000, 0, &r);
    if (r.eax >= 0x80000008) {
        hw_cpuid(0x80000008, 0, &r);
        s->maxphyaddr = (uint8_t)(r.eax & 0xFF);
    }
    if (s->maxphyaddr < 32 || s->maxphyaddr > 52)
        return MTRR_ERR_MAXPHYADDR;
    if (!s->supported)
        return MTRR_OK; /* every access UC, see mtrr_range_type */
    s->cap = hw_rdmsr(MSR_IA32_MTRRCAP);
    s->def_type = hw_rdmsr(MSR_IA32_MTRR_DEF_TYPE);
    if (s->cap & MTRRCAP_FIX)
        for (unsigned i = 0; i < MTRR_NUM_FIXED_MSRS; i++)
            s->fixed[i] = hw_rdmsr(fixed_msr_index(i));
    uint32_t n = (uint32_t)(s->cap & MTRRCAP_VCNT_MASK);
    int err = MTRR_OK;
    if (n > MTRR_MAX_VAR) {
        n = MTRR_MAX_VAR;
        err = MTRR_ERR_TOO_MANY_VAR;
    }
    s->var_count = n;
    for (uint32_t i = 0; i < n; i++) {
        s->var[i].base = hw_rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i);
        s->var[i].mask = hw_rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i + 1);
    }
    return err;
}

bool mtrr_is_mtrr_msr(const struct mtrr_state *s, uint32_t msr) {
    if (!s->supported)
        return false;
    if (msr == MSR_IA32_MTRRCAP || msr == MSR_IA32_MTRR_DEF_TYPE)
        return true;
    if (fixed_slot(msr) >= 0)
        return (s->cap & MTRRCAP_FIX) != 0;
    return msr >= MSR_IA32_MTRR_PHYSBASE0 && msr < MSR_IA32_MTRR_PHYSBASE0 + 2 * var_count(s);
}

int mtrr_write_msr(struct mtrr_state *s, uint32_t msr, uint64_t value) {
    if (!mtrr_is_mtrr_msr(s, msr) || msr == MSR_IA32_MTRRCAP)
        return MTRR_ERR_NOT_MTRR;
    uint64_t pm = phys_mask(s);
    if (msr == MSR_IA32_MTRR_DEF_TYPE) {
        if (value & ~(MTRR_DEF_TYPE_MASK | MTRR_DEF_FE | MTRR_DEF_E))
            return MTRR_ERR_RESERVED;
        if (!type_valid(s, value & MTRR_DEF_TYPE_MASK))
            return MTRR_ERR_BAD_TYPE;
        s->def_type = value;
        return MTRR_OK;
    }
    int slot = fixed_slot(msr);
    if (slot >= 0) {
        for (unsigned b = 0; b < 8; b++)
            if (!type_valid(s, (value >> (8 * b)) & 0xFF))
                return MTRR_ERR_BAD_TYPE;
        s->fixed[slot] = value;
        return MTRR_OK;
    }
    unsigned i = (msr - MSR_IA32_MTRR_PHYSBASE0) / 2;
    if ((msr - MSR_IA32_MTRR_PHYSBASE0) % 2 == 0) {
        if (value & ~(pm | 0xFFull))
            return MTRR_ERR_RESERVED;
        if (!type_valid(s, value & 0xFF))
            return MTRR_ERR_BAD_TYPE;
        s->var[i].base = value;
    } else {
        if (value & ~(pm | MTRR_PHYSMASK_VALID))
            return MTRR_ERR_RESERVED;
        s->var[i].mask = value;
    }
    return MTRR_OK;
}

/* --- captured sets ------------------------------------------------------------------------ */

static bool key_is(const char *k, size_t klen, const char *want) {
    size_t n = lib_strlen(want);
    if (klen != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lib_tolower(k[i]) != want[i])
            return false;
    return true;
}

static bool capture_line(struct mtrr_state *s, const char *line, size_t len, uint32_t *ext_max,
                         bool *have_80000008, uint32_t *eax_80000008) {
    while (len && lib_isspace(line[len - 1]))
        len--;
    while (len && lib_isspace(*line)) {
        line++;
        len--;
    }
    if (!len || line[0] == '#')
        return true;
    size_t eq = 0;
    while (eq < len && line[eq] != '=')
        eq++;
    if (eq == len)
        return false;
    uint64_t v;
    if (!lib_parse_u64(line + eq + 1, len - eq - 1, 0, &v))
        return false;
    if (eq > 6 && key_is(line, 6, "msr.0x")) {
        uint64_t msr;
        if (!lib_parse_u64(line + 6, eq - 6, 16, &msr) || msr > 0xFFFFFFFFull)
            return false;
        int slot = fixed_slot((uint32_t)msr);
        if (msr == MSR_IA32_MTRRCAP)
            s->cap = v;
        else if (msr == MSR_IA32_MTRR_DEF_TYPE)
            s->def_type = v;
        else if (slot >= 0)
            s->fixed[slot] = v;
        else if (msr >= MSR_IA32_MTRR_PHYSBASE0 &&
                 msr < MSR_IA32_MTRR_PHYSBASE0 + 2 * MTRR_MAX_VAR) {
            unsigned i = (unsigned)(msr - MSR_IA32_MTRR_PHYSBASE0) / 2;
            if (msr % 2 == 0)
                s->var[i].base = v;
            else
                s->var[i].mask = v;
        }
        return true;
    }
    if (key_is(line, eq, "cpuid.0x1.edx"))
        s->supported = (v >> 12) & 1;
    else if (key_is(line, eq, "cpuid.0x80000000.eax"))
        *ext_max = (uint32_t)v;
    else if (key_is(line, eq, "cpuid.0x80000008.eax")) {
        *have_80000008 = true;
        *eax_80000008 = (uint32_t)v;
    }
    return true;
}

int mtrr_parse_capture(struct mtrr_state *s, const char *text, size_t len, unsigned *bad_line) {
    lib_memset(s, 0, sizeof(*s));
    uint32_t ext_max = 0, eax8 = 0;
    bool have8 = false;
    unsigned line_no = 0;
    size_t i = 0;
    if (bad_line)
        *bad_line = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && text[i] != '\n')
            i++;
        line_no++;
        if (!capture_line(s, text + start, i - start, &ext_max, &have8, &eax8)) {
            if (bad_line)
                *bad_line = line_no;
            return MTRR_ERR_PARSE;
        }
        i++;
    }
    s->maxphyaddr = (have8 && ext_max >= 0x80000008) ? (uint8_t)(eax8 & 0xFF) : 36;
    uint32_t n = (uint32_t)(s->cap & MTRRCAP_VCNT_MASK);
    s->var_count = n > MTRR_MAX_VAR ? MTRR_MAX_VAR : n;
    return mtrr_validate(s);
}
