/* libFuzzer target for hv/ept/insn_decode.c: guest bytes at a guest RIP, decoded in VMX root by the
 * capstone x86 build (tests/tests.mk compiles the same capstone sources as hv/hv.mk,
 * instrumented). Each input is one decode request: mode, RIP, how many bytes the caller could
 * read (as hv_takeover.c's decode_guest_insn: up to 16, fewer at a page end) and the size of the
 * text buffer, then the bytes.
 *
 * The bytes and the text buffer are heap blocks of exactly the given sizes, so any read past the
 * bytes or write past the buffer is an AddressSanitizer error. Checks besides memory safety:
 *  - the length is 0 (refused, text "(bad)" cut to the buffer) or 1..15 and at most the bytes
 *    given;
 *  - the text is NUL-terminated inside the buffer and printable ASCII (it goes into reports);
 *  - the answer is a function of the instruction's own bytes: the same bytes cut to the reported
 *    length decode to the same length and text, and so does a second decode after a decode in
 *    another mode (the handle's mode is switched back and forth);
 *  - the decoder's arena returns to the same use after every decode once capstone has built
 *    what it keeps (no leak in VMX root). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/ept/insn_decode.h"

#define TEXT_MAX 200

struct answer {
    size_t len;
    char text[TEXT_MAX + 1];
};

static void decode(const uint8_t *bytes, size_t n, uint64_t rip, enum insn_mode mode, size_t size,
                   struct answer *a) {
    uint8_t *code = malloc(n ? n : 1); /* exactly n bytes: a read past them is caught */
    char *out = malloc(size ? size : 1);
    if (!code || !out)
        abort();
    memcpy(code, bytes, n);
    memset(out, 0x5A, size ? size : 1);
    size_t before = insn_decode_arena_used();
    a->len = insn_decode(code, n, rip, mode, out, size);
    size_t after = insn_decode_arena_used();
    /* capstone keeps its handle (from the first decode) and its instruction-id cache (from the
     * first decode that succeeds) for good; after that the arena must not grow. */
    static bool id_cache_built;
    if (id_cache_built && after != before)
        abort();
    if (a->len)
        id_cache_built = true;
    if (a->len > 15 || a->len > n)
        abort();
    a->text[0] = 0;
    if (size) {
        size_t tl = strnlen(out, size);
        if (tl == size)
            abort(); /* not terminated inside the buffer */
        for (size_t i = 0; i < tl; i++)
            if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
                abort();
        if (!a->len && strncmp(out, "(bad)", tl))
            abort();
        memcpy(a->text, out, tl < TEXT_MAX ? tl : TEXT_MAX);
        a->text[tl < TEXT_MAX ? tl : TEXT_MAX] = 0;
    }
    free(code);
    free(out);
}

static enum insn_mode mode_of(unsigned sel) {
    static const enum insn_mode modes[] = {INSN_MODE_64, INSN_MODE_32, INSN_MODE_16};
    /* Now and then a value that is no mode at all: refused. */
    return sel % 16 == 15 ? (enum insn_mode)(sel & 0x7f) : modes[sel % 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 11)
        return 0;
    enum insn_mode mode = mode_of(data[0]);
    uint64_t rip = 0;
    for (int i = 0; i < 8; i++)
        rip |= (uint64_t)data[1 + i] << (8 * i);
    size_t text_size = data[9] % (TEXT_MAX + 1);
    size_t avail = size - 11;
    /* Mostly all the bytes there are (up to 16, like a full read at RIP); sometimes fewer, like
     * a read that stopped at a page end; sometimes more than 16 (the decoder takes 15). */
    size_t n = data[10] < 0x80 ? (avail < 16 ? avail : 16) : (size_t)(data[10] & 0x7f) % 40;
    if (n > avail)
        n = avail;
    const uint8_t *bytes = data + 11;

    struct answer a, b;
    decode(bytes, n, rip, mode, text_size, &a);
    if (a.len) {
        /* The instruction's own bytes alone give the same answer. */
        decode(bytes, a.len, rip, mode, text_size, &b);
        if (b.len != a.len || strcmp(a.text, b.text))
            abort();
        /* The bytes end just before it: never more than the bytes given. */
        decode(bytes, a.len - 1, rip, mode, text_size, &b);
        if (b.len > a.len - 1)
            abort();
    }
    /* Another mode in between must not leave the handle in that mode. */
    enum insn_mode other = mode == INSN_MODE_64 ? INSN_MODE_16 : INSN_MODE_64;
    decode(bytes, n, rip, other, TEXT_MAX, &b);
    decode(bytes, n, rip, mode, text_size, &b);
    if (b.len != a.len || strcmp(a.text, b.text))
        abort();
    return 0;
}
