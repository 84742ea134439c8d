/* Guest instruction text for reports (hv_access "insn"), with capstone 4.0.2 (x86 only) running
 * in VMX root. docs/ept.md section 6 explains the build: capstone is compiled from Debian's
 * source package with the hypervisor's freestanding flags (hv/hv.mk), so it uses no SSE
 * and no stack protector, and allocates only from a fixed 128 KiB arena here (cs_option
 * CS_OPT_MEM).
 *
 * insn_decode serialises callers with a spinlock. Stack: cs_disasm's frame is 1584 bytes and
 * the deepest chain stays under 3 KiB (-fstack-usage, docs/ept.md); keep 8 KiB free. */
#ifndef VIGIL_INSN_DECODE_H
#define VIGIL_INSN_DECODE_H

#include <stddef.h>
#include <stdint.h>

enum insn_mode { INSN_MODE_16 = 16, INSN_MODE_32 = 32, INSN_MODE_64 = 64 };

/* Decodes the first instruction of code[0..len) at address rip and writes "mnemonic operands"
 * (Intel syntax) to out. Returns the instruction's length in bytes, 0 when the bytes do not
 * form a valid instruction or capstone fails (out then holds "(bad)"). out is always
 * terminated when size > 0. The bytes are guest memory: any content is handled. */
size_t insn_decode(const uint8_t *code, size_t len, uint64_t rip, enum insn_mode mode, char *out,
                   size_t size);

/* "48 89 07" for the first n bytes (n <= 15), for reports when no decoder is linked. */
size_t insn_format_bytes(const uint8_t *code, size_t n, char *out, size_t size);

/* Sizes and offsets of vigil's declarations of capstone's ABI (cs_insn, cs_opt_mem, enum
 * values), for the unit test that compares them with capstone's own header. */
struct insn_decode_abi {
    size_t insn_size, insn_off_size, insn_off_mnemonic, insn_off_op_str, insn_off_detail;
    size_t opt_mem_size;
    int arch_x86, mode_16, mode_32, mode_64, opt_mem, opt_mode;
};
void insn_decode_abi(struct insn_decode_abi *abi);

/* Bytes of the decoder's arena in use (the handle and capstone's caches stay; per-decode memory
 * is returned): for tests and the memory report. */
size_t insn_decode_arena_used(void);

/* Freestanding helpers capstone needs from "libc" (hv/hv.mk links them under their libc
 * names in the hypervisor); exposed under these names so unit tests check them on the host. */
void insn_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
char *insn_strncpy(char *dst, const char *src, size_t n);

#endif
