/* Sources of kernel symbols and types for the VMI library.
 *
 * Two implementations of struct vmi_symsrc (vmi/vmi_symsrc.h):
 *  - profile: a Volatility 3 ISF JSON file (as dwarf2json writes it, or the compact subset that
 *    vigil-mkprofile writes). Addresses are link-time; the kernel finder tells the source the
 *    KASLR slide with set_slide().
 *  - auto: the running kernel's own kallsyms tables and BTF, found inside the kernel image in
 *    guest memory. Addresses are runtime addresses already; set_slide() is ignored.
 *
 * Both keep every byte they need in the caller's arena (no other allocation) and treat their
 * input as hostile: bad input gives VMI_EFORMAT (or VMI_ELIMIT / VMI_ENOMEM) and a reason
 * readable with vmi_symsrc_error(), never a crash or an unbounded loop.
 *
 * Supported: see docs/vmi-symbols.md. */
#ifndef VIGIL_VMI_SYMBOLS_H
#define VIGIL_VMI_SYMBOLS_H

#include "vmi/vmi_symsrc.h"

/* Profile source over an ISF JSON document json[0..len). The document must stay alive and
 * unchanged as long as the source is used (it is indexed, not copied). The arena holds the
 * index (12 bytes per user type and per symbol, plus a fixed part). */
int vmi_symsrc_isf_init(struct vmi_symsrc *out, const char *json, size_t len,
                        struct vmi_arena *arena);

/* Auto source: finds the kallsyms tables and the BTF blob inside [kernel_start, kernel_end) of
 * kernel virtual memory, read through rd. Needs about 64 KiB of arena plus a small type cache;
 * BTF is read on demand through rd, never copied whole. */
int vmi_symsrc_auto_init(struct vmi_symsrc *out, vmi_read_kva_fn rd, void *rd_ctx,
                         uint64_t kernel_start, uint64_t kernel_end, struct vmi_arena *arena);

/* Why the last call on this source (or its init) failed: a short English sentence, "" if none.
 * Valid for any struct vmi_symsrc an init function was called on, even when init failed. */
const char *vmi_symsrc_error(const struct vmi_symsrc *src);

/* The Linux banner a profile was made from ("Linux version 6.1.0-... ..."), from the ISF
 * symbol linux_banner's constant_data (base64, as dwarf2json and vigil-mkprofile write it).
 * Copies at most cap-1 bytes, NUL-terminated, stopping at the banner's first NUL or newline
 * (newline kept out). VMI_ENOTFOUND if the profile carries no banner. Profile sources only
 * (VMI_ENOTFOUND for auto sources). */
int vmi_symsrc_banner(const struct vmi_symsrc *src, char *out, size_t cap);

#endif
