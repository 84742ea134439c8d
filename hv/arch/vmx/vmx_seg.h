/* Segment registers for the VMCS guest-state area: decoding GDT/LDT descriptors into the
 * (selector, base, limit, access rights) form of SDM 24.4.1, and writing them to the VMCS.
 *
 * The live segment registers' hidden parts cannot be read directly, so vigil rebuilds them from
 * the descriptor tables the selectors point to, as the processor did when it loaded them
 * (including the accessed/busy bits the processor sets on load). */
#ifndef VIGIL_VMX_SEG_H
#define VIGIL_VMX_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vmx_sreg { SREG_ES, SREG_CS, SREG_SS, SREG_DS, SREG_FS, SREG_GS, SREG_LDTR, SREG_TR };

struct vmx_segment {
    uint16_t sel;
    uint64_t base;
    uint32_t limit; /* byte granular, as the VMCS wants it */
    uint32_t ar;    /* VMCS access-rights format (AR_* in vmx_defs.h) */
};

enum vmx_seg_status {
    VMX_SEG_OK = 0,
    VMX_SEG_OUTSIDE_TABLE,    /* selector index beyond the table limit */
    VMX_SEG_NOT_PRESENT,      /* P = 0 */
    VMX_SEG_WRONG_KIND,       /* system descriptor in a code/data register or vice versa, or a
                                 TR/LDTR descriptor of the wrong type */
    VMX_SEG_NULL_NOT_ALLOWED, /* null selector in CS or TR */
    VMX_SEG_NO_LDT,           /* TI = 1 but no LDT was given */
};

/* A descriptor table as the decoder sees it: a copy (or mapping) of its bytes and its limit
 * (GDTR.limit / LDTR.limit: last valid byte offset). */
struct vmx_desc_table {
    const uint8_t *bytes;
    uint32_t limit;
};

/* Decodes the register `which` holding selector `sel`.
 *  - null selector (index 0, TI 0) in ES/SS/DS/FS/GS/LDTR → unusable (AR_UNUSABLE), base 0,
 *    limit 0; in CS/TR → VMX_SEG_NULL_NOT_ALLOWED;
 *  - code/data descriptors: AR from the access byte and flags, accessed bit set (the processor
 *    sets it when it loads the register, SDM 3.4.5.1; VM entry requires it, 26.3.1.2);
 *  - TR: TSS descriptor (16-byte in IA-32e mode), type made busy (LTR marks it busy);
 *  - LDTR: LDT descriptor (16-byte in IA-32e mode);
 *  - in IA-32e mode (ia32e) system descriptors are 16 bytes and carry base bits 63:32.
 * ldt may be NULL when there is no LDT (TI=1 selectors then fail). */
enum vmx_seg_status vmx_seg_decode(const struct vmx_desc_table *gdt,
                                   const struct vmx_desc_table *ldt, enum vmx_sreg which,
                                   uint16_t sel, bool ia32e, struct vmx_segment *out);

/* Access rights of one 8-byte descriptor (no checks): type|S|DPL|P in 7:0, AVL|L|D/B|G in 15:12. */
uint32_t vmx_seg_ar_from_desc(uint64_t desc);
/* Byte-granular limit of a descriptor (G scales by 4 KiB, low 12 bits set). */
uint32_t vmx_seg_limit_from_desc(uint64_t desc);
/* Base bits 31:0 of a descriptor. */
uint32_t vmx_seg_base_from_desc(uint64_t desc);

/* Real-address-mode segment for selector sel (base = sel << 4, limit 0xFFFF): data (type 3,
 * accessed read/write) or code (type 0xB, accessed execute/read), present, DPL 0. Used by INIT and
 * SIPI. */
struct vmx_segment vmx_seg_real_mode(uint16_t sel, bool code);

/* Writes the four VMCS guest fields of `which`. Returns false if a VMWRITE failed. */
bool vmx_seg_write_guest(enum vmx_sreg which, const struct vmx_segment *s);
/* Reads them back. */
void vmx_seg_read_guest(enum vmx_sreg which, struct vmx_segment *s);

const char *vmx_seg_status_str(enum vmx_seg_status s);
const char *vmx_sreg_name(enum vmx_sreg r);

#endif
