/* The guest instruction an EPT-caught access ran, for the hv_access and hook_tamper reports
 * (the insn / insn_len callbacks of hv/ept/ept_hide.h and hv/ept/ept_guard.h): fetched through the
 * guest's own page tables from the exiting CPU's state, decoded by capstone (hv/ept/insn_decode.h)
 * in the guest's code size. Guest memory and registers are untrusted: a fetch that does not
 * translate gives no instruction. */
#include "base/lib.h"
#include "hv/arch/vcpu.h"
#include "hv/arch/x86.h"
#include "hv/core/hv_state.h"
#include "hv/core/intro_hooks.h"
#include "hv/ept/insn_decode.h"
#include "hv/intro/guest_mem.h"
#include "vmi/pagewalk.h"
#include "vmi/vmi_mem.h"

/* Decodes the guest instruction at rip: its length, and its text into out (may be NULL). */
static size_t decode_guest_insn(uint64_t rip, char *out, size_t size) {
    struct vmi_mem mem = {NULL, hv_guest_read_phys, hv.env.mapped};
    struct pagewalk pw;
    struct vcpu_sysregs sr;
    vcpu_read_sysregs(&this_cpu()->vcpu, &sr);
    uint8_t code[16];
    size_t n = 0;
    if (sr.cr0 & CR0_PG) {
        pagewalk_init(&pw, &mem, sr.cr3, sr.cr4, sr.efer, true);
        /* The instruction may end on the next page: try 16 bytes, then what fits in this one. */
        if (pagewalk_read(&pw, rip, code, sizeof(code)) == 0)
            n = sizeof(code);
        else if (pagewalk_read(&pw, rip, code, 4096 - (rip & 4095)) == 0)
            n = 4096 - (rip & 4095);
    } else if (hv_guest_read_phys(NULL, sr.cs_base + rip, code, sizeof(code)) == 0) {
        n = sizeof(code);
    }
    if (n == 0)
        return 0;
    enum insn_mode mode = INSN_MODE_64;
    if (!sr.cs_long)
        mode = sr.cs_db ? INSN_MODE_32 : INSN_MODE_16;
    char scratch[8];
    return insn_decode(code, n, rip, mode, out ? out : scratch, out ? size : sizeof(scratch));
}

size_t hv_guest_insn(void *ctx, struct ept_vcpu *v, uint64_t rip, char *out, size_t size) {
    (void)ctx;
    (void)v;
    if (!size || decode_guest_insn(rip, out, size) == 0)
        return 0;
    return lib_strnlen(out, size);
}

size_t hv_guest_insn_len(void *ctx, struct ept_vcpu *v, uint64_t rip) {
    (void)ctx;
    (void)v;
    return decode_guest_insn(rip, NULL, 0);
}
