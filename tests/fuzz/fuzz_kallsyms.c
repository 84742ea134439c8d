/* libFuzzer target for the kallsyms decoder (vmi/kallsyms.c). The input either is the memory
 * image itself (first byte even) or, to reach deep states, a list of (offset, xor) edits
 * applied to a valid synthetic table set (first byte odd). Either way the decoder must not
 * crash, hang or read outside the image, and whatever it accepts must decode consistently. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vmi/kallsyms.h"

#define BASE 0xffffffff82000000ull
#define IMG 16384
#define NSYMS 300

static uint8_t img[IMG];
static size_t img_len;

static int rd(void *ctx, uint64_t va, void *buf, size_t len) {
    (void)ctx;
    if (va < BASE || va + len < va || va + len > BASE + img_len)
        return VMI_EREAD;
    memcpy(buf, img + (va - BASE), len);
    return 0;
}

static size_t pos;
static void pad8(void) {
    while (pos % 8)
        img[pos++] = 0;
}

/* Tables for NSYMS symbols "Tsym<i>" at BASE + 0x10*i; tokens are single characters except
 * token 1 = "sym". Layout as Debian's 6.1 (offsets, relative_base, num_syms, names, markers,
 * seqs_of_names, token_table, token_index). */
static void build_base(void) {
    memset(img, 0, sizeof(img));
    pos = 0;
    uint64_t rb = BASE - 0x100000;
    for (int i = 0; i < NSYMS; i++) {
        int32_t off = -(int32_t)(BASE + 0x10 * i - rb) - 1;
        memcpy(img + pos, &off, 4);
        pos += 4;
    }
    pad8();
    memcpy(img + pos, &rb, 8);
    pos += 8;
    uint32_t n = NSYMS;
    memcpy(img + pos, &n, 4);
    pos += 4;
    pad8();
    size_t names = pos;
    uint32_t markers[(NSYMS + 255) / 256];
    for (int i = 0; i < NSYMS; i++) {
        if ((i & 255) == 0)
            markers[i >> 8] = (uint32_t)(pos - names);
        char digits[8];
        int nd = 0;
        for (int v = i; nd == 0 || v; v /= 10)
            digits[nd++] = (char)('0' + v % 10);
        img[pos++] = (uint8_t)(2 + nd);
        img[pos++] = 'T';
        img[pos++] = 1; /* "sym" */
        while (nd)
            img[pos++] = (uint8_t)digits[--nd];
    }
    pad8();
    memcpy(img + pos, markers, sizeof(markers));
    pos += sizeof(markers);
    pad8();
    /* kallsyms_seqs_of_names: indexes sorted by name ("sym0" < "sym1" < "sym10" < ...). */
    int order[NSYMS];
    char names_txt[NSYMS][8];
    for (int i = 0; i < NSYMS; i++) {
        order[i] = i;
        snprintf(names_txt[i], sizeof(names_txt[i]), "%d", i);
    }
    for (int i = 1; i < NSYMS; i++)
        for (int j = i; j > 0 && strcmp(names_txt[order[j - 1]], names_txt[order[j]]) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < NSYMS; i++) {
        img[pos++] = 0;
        img[pos++] = (uint8_t)(order[i] >> 8);
        img[pos++] = (uint8_t)order[i];
    }
    pad8();
    uint16_t idx[256];
    size_t tt = pos;
    for (int t = 0; t < 256; t++) {
        idx[t] = (uint16_t)(pos - tt);
        if (t == 1) {
            memcpy(img + pos, "sym", 4);
            pos += 4;
        } else {
            img[pos++] = (uint8_t)(t > 0x20 && t < 0x7f ? t : '~');
            img[pos++] = 0;
        }
    }
    pad8();
    memcpy(img + pos, idx, sizeof(idx));
    pos += sizeof(idx);
    img_len = pos + 64;
}

static int count_cb(void *ctx, const char *name, char type, uint64_t addr) {
    (void)name, (void)type, (void)addr;
    return ++*(uint32_t *)ctx > 100000;
}

static uint8_t arena_mem[128 * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        static uint8_t pristine_img[IMG];
        static size_t pristine_len;
        if (!pristine_len) { /* built once: the sort makes it the costly part */
            build_base();
            memcpy(pristine_img, img, sizeof(img));
            pristine_len = img_len;
        }
        memcpy(img, pristine_img, sizeof(img));
        img_len = pristine_len;
        for (size_t i = 1; i + 3 <= size; i += 3) {
            size_t off = ((size_t)data[i] | ((size_t)data[i + 1] << 8)) % img_len;
            img[off] ^= data[i + 2];
        }
    } else {
        img_len = size - 1 < IMG ? size - 1 : IMG;
        memcpy(img, data + 1, img_len);
    }
    struct vmi_arena a = {arena_mem, sizeof(arena_mem), 0};
    struct vmi_kallsyms ks;
    int rc = vmi_kallsyms_init(&ks, rd, NULL, BASE, BASE + img_len, &a);
    bool pristine = (data[0] & 1) && size < 4; /* the unedited base image */
    if (pristine && rc != VMI_OK)
        __builtin_trap(); /* the harness itself is broken */
    if (rc != VMI_OK)
        return 0;
    uint64_t addr;
    char type;
    rc = vmi_kallsyms_lookup(&ks, "sym7", &addr, &type);
    if (pristine && (rc != VMI_OK || addr != BASE + 0x70 || type != 'T' || !ks.seqs_sorted))
        __builtin_trap();
    uint32_t count = 0;
    rc = vmi_kallsyms_foreach(&ks, count_cb, &count);
    if (pristine && (rc != VMI_OK || count != NSYMS))
        __builtin_trap();
    return 0;
}
