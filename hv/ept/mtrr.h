/* MTRR state and the memory type of physical addresses (SDM vol. 3A 11.11).
 *
 * The MTRRs are read once through the hardware seam (hw_rdmsr/hw_cpuid) into a plain struct, so
 * unit tests and the EPT benchmark feed captured sets (tests/data/mtrr/). With EPT the processor
 * no longer consults the MTRRs for guest accesses: the EPT memory type takes their place (SDM vol.
 * 3C 29.3.7, "EPT and Memory Typing"), so EPT leaves must carry exactly the type the MTRRs give. */
#ifndef VIGIL_MTRR_H
#define VIGIL_MTRR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Memory types (SDM vol. 3A table 11-8); 2, 3 and 7..255 are reserved. */
#define MTRR_TYPE_UC 0
#define MTRR_TYPE_WC 1
#define MTRR_TYPE_WT 4
#define MTRR_TYPE_WP 5
#define MTRR_TYPE_WB 6

#define MSR_IA32_MTRRCAP 0xFE
#define MSR_IA32_MTRR_PHYSBASE0 0x200
#define MSR_IA32_MTRR_FIX64K_00000 0x250
#define MSR_IA32_MTRR_FIX16K_80000 0x258
#define MSR_IA32_MTRR_FIX16K_A0000 0x259
#define MSR_IA32_MTRR_FIX4K_C0000 0x268
#define MSR_IA32_MTRR_FIX4K_F8000 0x26F
#define MSR_IA32_MTRR_DEF_TYPE 0x2FF

/* IA32_MTRRCAP bits (SDM vol. 3A 11.11.1). */
#define MTRRCAP_VCNT_MASK 0xFFull
#define MTRRCAP_FIX (1ull << 8)
#define MTRRCAP_WC (1ull << 10)
/* IA32_MTRR_DEF_TYPE bits (SDM vol. 3A 11.11.2.1). */
#define MTRR_DEF_TYPE_MASK 0xFFull
#define MTRR_DEF_FE (1ull << 10)
#define MTRR_DEF_E (1ull << 11)
/* IA32_MTRR_PHYSMASKn valid bit (SDM vol. 3A 11.11.2.3). */
#define MTRR_PHYSMASK_VALID (1ull << 11)

/* Variable ranges: PHYSBASE0 (0x200) up to the first fixed MSR (0x250) leaves room for 40 pairs;
 * real parts have 8 or 10. */
#define MTRR_MAX_VAR 40
#define MTRR_NUM_FIXED_MSRS 11

struct mtrr_var {
    uint64_t base; /* raw IA32_MTRR_PHYSBASEn */
    uint64_t mask; /* raw IA32_MTRR_PHYSMASKn */
};

struct mtrr_state {
    bool supported;                      /* CPUID.1:EDX.MTRR[12] */
    uint8_t maxphyaddr;                  /* CPUID.80000008:EAX[7:0], 36 when the leaf is missing */
    uint64_t cap;                        /* IA32_MTRRCAP */
    uint64_t def_type;                   /* IA32_MTRR_DEF_TYPE */
    uint64_t fixed[MTRR_NUM_FIXED_MSRS]; /* 0x250, 0x258, 0x259, 0x268..0x26F */
    uint32_t var_count;                  /* MTRRCAP.VCNT */
    struct mtrr_var var[MTRR_MAX_VAR];
};

enum mtrr_err {
    MTRR_OK = 0,
    MTRR_ERR_MAXPHYADDR = -1,   /* MAXPHYADDR outside 32..52 */
    MTRR_ERR_TOO_MANY_VAR = -2, /* VCNT larger than MTRR_MAX_VAR */
    MTRR_ERR_BAD_TYPE = -3,     /* a reserved memory type (WRMSR of it would #GP) */
    MTRR_ERR_RESERVED = -4,     /* reserved bits set (WRMSR of it would #GP) */
    MTRR_ERR_NOT_MTRR = -5,     /* the MSR is not an MTRR of this processor */
    MTRR_ERR_PARSE = -6,        /* malformed capture text */
};

const char *mtrr_strerror(int err);
const char *mtrr_type_name(uint8_t type); /* "UC", "WC", "WT", "WP", "WB" or "reserved" */

/* Reads CPUID and the MTRR MSRs through hw.h. MSRs of features the CPU lacks are not touched
 * (they would #GP). Returns MTRR_OK or an error (the state is still filled as far as valid). */
int mtrr_read_hw(struct mtrr_state *s);

/* Checks a state for what hardware would never hold: reserved types, reserved bits, VCNT too
 * large, MAXPHYADDR out of range. Type lookups treat reserved types as UC regardless. */
int mtrr_validate(const struct mtrr_state *s);

/* Memory type of one physical address, by the precedence rules of SDM vol. 3A 11.11.4.1. */
uint8_t mtrr_type_of(const struct mtrr_state *s, uint64_t pa);

/* Whether the naturally aligned block [base, base + 2^order) (order >= 12, base aligned) has a
 * single memory type; if so *type receives it. A false answer means "mixed or not provably
 * uniform": callers then look at smaller blocks, which is always correct. */
bool mtrr_range_type(const struct mtrr_state *s, uint64_t base, unsigned order, uint8_t *type);

/* Whether MSR index msr is an MTRR MSR of this state (fixed ones only when MTRRCAP.FIX). */
bool mtrr_is_mtrr_msr(const struct mtrr_state *s, uint32_t msr);

/* Applies a guest WRMSR to an MTRR MSR. Returns MTRR_OK, or an error without changing the state
 * when the value is one the processor would refuse with #GP (the caller injects #GP then), or
 * MTRR_ERR_NOT_MTRR. IA32_MTRRCAP is read-only (MTRR_ERR_NOT_MTRR for writes). */
int mtrr_write_msr(struct mtrr_state *s, uint32_t msr, uint64_t value);

/* Parses a captured set (tests/data/mtrr/ format: "#" comments, "msr.0x2ff=0x..." and
 * "cpuid.0x80000008.eax=0x..." lines; unknown keys are ignored) into *s. Used by tests and the
 * EPT benchmark. Returns MTRR_OK or MTRR_ERR_PARSE, with the 1-based bad line in *bad_line. */
int mtrr_parse_capture(struct mtrr_state *s, const char *text, size_t len, unsigned *bad_line);

#endif
