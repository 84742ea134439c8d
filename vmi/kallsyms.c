/* Freestanding kallsyms decoder: see kallsyms.h for what it supports.
 *
 * The tables scripts/kallsyms.c emits (each label 8-byte aligned, ".balign 8" pads with zeros):
 *   kallsyms_offsets[n] (s32) + kallsyms_relative_base (u64)   <= 6.3 place them here ...
 *   kallsyms_num_syms (u32)
 *   kallsyms_names: per symbol a length (1 byte; 2 bytes little-endian base-128 when the first
 *                   has bit 7 set, 6.1+) then that many token numbers
 *   kallsyms_markers[ceil(n/256)] (u32): offset in kallsyms_names of every 256th symbol
 *   kallsyms_seqs_of_names[n] (3 bytes each; 6.2+, and Debian's 6.1.y)
 *   kallsyms_token_table: 256 NUL-terminated strings
 *   kallsyms_token_index[256] (u16): offset of each token in the table
 *   ... or, from 6.4, kallsyms_offsets + kallsyms_relative_base here.
 * The first character of every expanded name is the symbol's type letter.
 *
 * Nothing is trusted: the token index/table pair is found by its structure (monotonic offsets,
 * strings of exactly the indexed lengths, the alignment the assembler produces), then
 * kallsyms_num_syms by trying each 8-aligned word before the token table that makes the markers
 * and the names stream agree exactly, then the offsets by requiring the decoded addresses to be
 * sorted (scripts/kallsyms.c sorts by address). */
#include "vmi/kallsyms.h"
#include "base/fmt.h"
#include "base/lib.h"

#define KS_WIN_SIZE 16384u
#define KS_TOK_TABLE_MAX 16384u       /* real tables are ~1 KiB */
#define KS_TOKEN_MAX 255u             /* longest single token accepted */
#define KS_MAX_SYMS (1u << 22)        /* 4M symbols: ~30x a distribution kernel */
#define KS_NAMES_SCAN_MAX (64u << 20) /* how far before the token table num_syms may be */
#define KS_KERNEL_HALF 0xffff800000000000ull
/* Work units (bytes checked, entries walked) the table search may spend: ~100x what the Debian
 * 6.1 image needs, so crafted memory full of near-valid candidates ends in VMI_ELIMIT. */
#define KS_WORK_BUDGET (1ull << 26)

static int fail(struct vmi_kallsyms *ks, int rc, const char *msg) {
    lib_strlcpy(ks->why, msg, sizeof(ks->why));
    return rc;
}

static bool spend(struct vmi_kallsyms *ks, uint64_t units) {
    if (ks->budget < units) {
        ks->budget = 0;
        return false;
    }
    ks->budget -= units;
    return true;
}

/* Validates a candidate kallsyms_token_index at ti and the token table before it; on success the
 * table is copied to ks->tok_table. scratch holds KS_TOK_TABLE_MAX + KS_TOKEN_MAX + 16 bytes. */
static int check_tokens(struct vmi_kallsyms *ks, struct vmi_kvwin *w, uint64_t ti, uint8_t *scratch,
                        struct vmi_arena *arena) {
    uint8_t raw[512];
    if (!spend(ks, sizeof(raw)) || vmi_kvwin_read(w, ti, raw, sizeof(raw)) != VMI_OK)
        return VMI_ENOTFOUND;
    uint16_t idx[256];
    for (int k = 0; k < 256; k++)
        idx[k] = (uint16_t)(raw[2 * k] | (raw[2 * k + 1] << 8));
    if (idx[0] != 0)
        return VMI_ENOTFOUND;
    for (int k = 1; k < 256; k++)
        if (idx[k] < idx[k - 1] + 2u) /* every token has >= 1 character and a NUL */
            return VMI_ENOTFOUND;
    if (idx[255] > KS_TOK_TABLE_MAX)
        return VMI_ENOTFOUND;
    /* The table ends with token 255, its NUL, then 0..7 bytes of zero padding up to ti. */
    uint64_t want = (uint64_t)idx[255] + KS_TOKEN_MAX + 9;
    uint64_t L = ti - ks->start < want ? ti - ks->start : want;
    if (L < (uint64_t)idx[255] + 2 || !spend(ks, L) ||
        vmi_kvwin_read(w, ti - L, scratch, (size_t)L) != VMI_OK)
        return VMI_ENOTFOUND;
    size_t q = (size_t)L, zeros = 0;
    while (q > 0 && scratch[q - 1] == 0 && zeros < 8) {
        q--;
        zeros++;
    }
    if (zeros == 0 || q == 0 || scratch[q - 1] == 0)
        return VMI_ENOTFOUND;
    /* scratch[q] is token 255's NUL; find where token 255 starts. */
    size_t r = q - 1;
    while (r > 0 && scratch[r - 1] != 0 && q - r < KS_TOKEN_MAX)
        r--;
    if (r == 0 || scratch[r - 1] != 0 || r < idx[255])
        return VMI_ENOTFOUND;
    size_t tt = r - idx[255];
    uint64_t tt_va = ti - L + tt;
    uint64_t end_va = ti - L + q + 1;
    if (tt_va % 8 != 0 || ALIGN_UP(end_va, 8) != ti)
        return VMI_ENOTFOUND;
    for (int k = 0; k < 256; k++) {
        size_t s = tt + idx[k];
        size_t len = k < 255 ? (size_t)(idx[k + 1] - idx[k] - 1) : q - r;
        for (size_t j = 0; j < len; j++) {
            uint8_t c = scratch[s + j];
            if (c <= 0x20 || c >= 0x7f)
                return VMI_ENOTFOUND;
        }
        if (scratch[s + len] != 0)
            return VMI_ENOTFOUND;
    }
    uint32_t tlen = (uint32_t)(q + 1 - tt);
    char *copy = vmi_arena_alloc(arena, tlen);
    if (copy == NULL)
        return VMI_ENOMEM;
    lib_memcpy(copy, scratch + tt, tlen);
    ks->tok_table = copy;
    ks->tok_table_len = tlen;
    lib_memcpy(ks->tok_index, idx, sizeof(idx));
    ks->token_table = tt_va;
    ks->token_index = ti;
    return VMI_OK;
}

/* Reads the length prefix of the name entry at pos: sets *len and *hdr (1 or 2 bytes). */
static int name_len(struct vmi_kvwin *w, uint64_t pos, uint32_t *len, uint32_t *hdr) {
    const uint8_t *p = vmi_kvwin_ptr(w, pos, 1);
    if (p == NULL)
        return VMI_EREAD;
    uint32_t b = p[0];
    if (b & 0x80) {
        const uint8_t *p2 = vmi_kvwin_ptr(w, pos + 1, 1);
        if (p2 == NULL)
            return VMI_EREAD;
        *len = (b & 0x7f) | ((uint32_t)p2[0] << 7);
        *hdr = 2;
    } else {
        *len = b;
        *hdr = 1;
    }
    return VMI_OK;
}

/* Do markers at mk and a names stream at names hold exactly n symbols ending just before mk? */
static bool check_names(struct vmi_kallsyms *ks, uint64_t names, uint64_t mk, uint32_t n) {
    uint32_t nmark = (n + 255) / 256;
    uint32_t m0, prev = 0;
    if (!spend(ks, 1) || vmi_kvwin_u32(&ks->win_offsets, mk, &m0) != VMI_OK || m0 != 0)
        return false;
    if (!spend(ks, nmark))
        return false;
    for (uint32_t j = 1; j < nmark; j++) { /* cheap rejection before walking the stream */
        uint32_t m;
        if (vmi_kvwin_u32(&ks->win_offsets, mk + 4ull * j, &m) != VMI_OK || m <= prev ||
            m >= mk - names)
            return false;
        prev = m;
    }
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        if ((i & 0xff) == 0) {
            uint32_t m;
            if (vmi_kvwin_u32(&ks->win_offsets, mk + 4ull * (i >> 8), &m) != VMI_OK || m != off)
                return false;
        }
        uint32_t len, hdr;
        if (!spend(ks, 1) || names + off >= mk ||
            name_len(&ks->win_names, names + off, &len, &hdr) != VMI_OK)
            return false;
        if (len == 0 || len >= VMI_KSYM_NAME_MAX)
            return false;
        off += hdr + len;
    }
    uint64_t end = names + off;
    if (end > mk || mk - end >= 8)
        return false;
    ks->names = names;
    ks->names_end = end;
    ks->markers = mk;
    ks->num_syms = n;
    return true;
}

static int raw_offset(struct vmi_kallsyms *ks, uint64_t offs, uint32_t i, int32_t *v) {
    uint32_t u;
    if (vmi_kvwin_u32(&ks->win_offsets, offs + 4ull * i, &u) != VMI_OK)
        return VMI_EREAD;
    *v = (int32_t)u;
    return VMI_OK;
}

static uint64_t decode_addr(uint64_t base, bool abs_percpu, int32_t off) {
    if (!abs_percpu)
        return base + (uint32_t)off;
    if (off >= 0) /* KALLSYMS_ABSOLUTE_PERCPU: non-negative offsets are absolute */
        return (uint64_t)off;
    return base - 1 - (int64_t)off; /* negative: relative to relative_base - 1 */
}

/* Validates an offsets table + relative_base candidate: addresses must come out sorted. */
static bool check_offsets(struct vmi_kallsyms *ks, uint64_t offs, uint64_t rb_va) {
    uint64_t rb;
    if (!spend(ks, 2ull * ks->num_syms) || offs < ks->start || rb_va + 8 > ks->end ||
        vmi_kvwin_u64(&ks->win_offsets, rb_va, &rb) != VMI_OK || rb < KS_KERNEL_HALF)
        return false;
    bool any_negative = false;
    for (uint32_t i = 0; i < ks->num_syms; i++) {
        int32_t v;
        if (raw_offset(ks, offs, i, &v) != VMI_OK)
            return false;
        if (v < 0) {
            any_negative = true;
            break;
        }
    }
    uint64_t prev = 0;
    for (uint32_t i = 0; i < ks->num_syms; i++) {
        int32_t v;
        if (raw_offset(ks, offs, i, &v) != VMI_OK)
            return false;
        uint64_t a = decode_addr(rb, any_negative, v);
        if (a < prev)
            return false;
        prev = a;
    }
    ks->offsets = offs;
    ks->relative_base_va = rb_va;
    ks->relative_base = rb;
    ks->absolute_percpu = any_negative;
    return true;
}

/* Given validated token tables, finds num_syms/names/markers (with or without seqs_of_names)
 * before the token table and the offsets table at either of its known places. */
static int find_symbol_tables(struct vmi_kallsyms *ks) {
    uint64_t tt = ks->token_table;
    uint64_t lo = tt - ks->start > KS_NAMES_SCAN_MAX ? tt - KS_NAMES_SCAN_MAX : ks->start;
    bool names_seen = false;
    for (uint64_t p = ALIGN_DOWN(tt - 16, 8); p >= lo; p -= 8) {
        if (ks->budget == 0)
            break;
        uint32_t n;
        if (vmi_kvwin_u32(&ks->win_names, p, &n) != VMI_OK || n == 0 || n > KS_MAX_SYMS)
            continue;
        uint64_t names = p + 8;
        uint64_t room = tt - names;
        uint32_t nmark = (n + 255) / 256;
        uint64_t mk_size = ALIGN_UP(4ull * nmark, 8);
        for (int seqs = 1; seqs >= 0; seqs--) {
            uint64_t seq_size = seqs ? ALIGN_UP(3ull * n, 8) : 0;
            if (room < seq_size + mk_size + 2ull * n)
                continue;
            uint64_t mk = tt - seq_size - mk_size;
            if (!check_names(ks, names, mk, n))
                continue;
            names_seen = true;
            ks->seqs = seqs ? mk + mk_size : 0;
            /* <= 6.3: offsets, relative_base, then num_syms. */
            uint64_t offs_size = ALIGN_UP(4ull * n, 8);
            if (p >= ks->start + 8 + offs_size && check_offsets(ks, p - 8 - offs_size, p - 8)) {
                ks->offsets_after_tokens = false;
                return VMI_OK;
            }
            /* 6.4+: offsets and relative_base after the token index. */
            uint64_t offs = ALIGN_UP(ks->token_index + 512, 8);
            if (check_offsets(ks, offs, offs + offs_size)) {
                ks->offsets_after_tokens = true;
                return VMI_OK;
            }
        }
        if (p < 8)
            break;
    }
    if (ks->budget == 0)
        return fail(ks, VMI_ELIMIT,
                    "kallsyms: work limit reached while searching the tables (hostile or "
                    "unusual memory)");
    if (names_seen)
        return fail(ks, VMI_EFORMAT,
                    "kallsyms: names and markers found but no kallsyms_offsets/relative_base "
                    "table (kernel without KALLSYMS_BASE_RELATIVE is not supported)");
    return fail(ks, VMI_EFORMAT,
                "kallsyms: token tables found but no kallsyms_num_syms/names/markers before them "
                "(unsupported layout)");
}

static void check_seqs_sorted(struct vmi_kallsyms *ks);

int vmi_kallsyms_init(struct vmi_kallsyms *ks, vmi_read_kva_fn rd, void *rd_ctx, uint64_t start,
                      uint64_t end, struct vmi_arena *arena) {
    lib_memset(ks, 0, sizeof(*ks));
    if (rd == NULL || end <= start || end - start < 4096)
        return fail(ks, VMI_EFORMAT, "kallsyms: empty or invalid search range");
    ks->start = start;
    ks->end = end;
    ks->budget = KS_WORK_BUDGET;
    int rc = vmi_kvwin_init(&ks->win_names, rd, rd_ctx, start, end, KS_WIN_SIZE, arena);
    if (rc == VMI_OK)
        rc = vmi_kvwin_init(&ks->win_offsets, rd, rd_ctx, start, end, KS_WIN_SIZE, arena);
    uint8_t *scratch = vmi_arena_alloc(arena, KS_TOK_TABLE_MAX + KS_TOKEN_MAX + 16);
    if (rc != VMI_OK || scratch == NULL)
        return fail(ks, VMI_ENOMEM, "kallsyms: arena too small");
    size_t arena_mark = arena->used;

    struct vmi_kvwin *w = &ks->win_names;
    bool tokens_seen = false;
    int last = VMI_ENOTFOUND;
    for (uint64_t page = ALIGN_DOWN(start, 4096); page < end; page += 4096) {
        uint64_t lo = page < start ? start : page;
        uint64_t hi = end - page > 4096 ? page + 4096 : end;
        /* Work on the page in place: this loop visits every 8-byte word of the image. */
        const uint8_t *pg = vmi_kvwin_ptr(w, lo, (size_t)(hi - lo));
        if (pg == NULL)
            continue; /* unreadable page: go on with the next */
        for (uint64_t off = ALIGN_UP(lo, 8) - lo; off + 4 <= hi - lo; off += 8) {
            if (pg[off] != 0 || pg[off + 1] != 0)
                continue;
            uint32_t second = pg[off + 2] | (pg[off + 3] << 8);
            if (second < 2 || second > KS_TOKEN_MAX + 1)
                continue;
            uint64_t va = lo + off;
            if (va + 512 > end)
                break;
            arena->used = arena_mark;
            int rc = check_tokens(ks, w, va, scratch, arena);
            if (rc == VMI_OK) {
                tokens_seen = true;
                last = find_symbol_tables(ks);
                if (last == VMI_OK) {
                    check_seqs_sorted(ks);
                    return VMI_OK;
                }
            }
            if (ks->budget == 0) {
                arena->used = arena_mark;
                return fail(ks, VMI_ELIMIT,
                            "kallsyms: work limit reached while searching the tables (hostile "
                            "or unusual memory)");
            }
            pg = vmi_kvwin_ptr(w, lo, (size_t)(hi - lo)); /* the window moved */
            if (pg == NULL)
                break;
        }
        if (page + 4096 < page)
            break;
    }
    arena->used = arena_mark;
    if (tokens_seen)
        return last;
    return fail(ks, VMI_ENOTFOUND,
                "kallsyms: no kallsyms_token_table/token_index in the kernel image range");
}

int vmi_kallsyms_addr(struct vmi_kallsyms *ks, uint32_t idx, uint64_t *addr) {
    if (idx >= ks->num_syms)
        return VMI_ENOTFOUND;
    int32_t v;
    if (raw_offset(ks, ks->offsets, idx, &v) != VMI_OK)
        return fail(ks, VMI_EREAD, "kallsyms: offsets table became unreadable");
    *addr = decode_addr(ks->relative_base, ks->absolute_percpu, v);
    return VMI_OK;
}

/* Expands the name entry at *pos into out (type letter first), advances *pos. */
static int expand(struct vmi_kallsyms *ks, uint64_t *pos, char out[VMI_KSYM_NAME_MAX]) {
    uint32_t len, hdr;
    if (*pos >= ks->names_end || name_len(&ks->win_names, *pos, &len, &hdr) != VMI_OK)
        return fail(ks, VMI_EREAD, "kallsyms: names table became unreadable");
    if (len == 0 || len >= VMI_KSYM_NAME_MAX || *pos + hdr + len > ks->names_end)
        return fail(ks, VMI_EFORMAT, "kallsyms: bad name entry");
    const uint8_t *tok = vmi_kvwin_ptr(&ks->win_names, *pos + hdr, len);
    if (tok == NULL)
        return fail(ks, VMI_EREAD, "kallsyms: names table became unreadable");
    size_t o = 0;
    for (uint32_t j = 0; j < len; j++) {
        /* Token strings were validated NUL-terminated inside the copied table. */
        const char *t = ks->tok_table + ks->tok_index[tok[j]];
        while (*t) {
            if (o + 1 >= VMI_KSYM_NAME_MAX)
                return fail(ks, VMI_EFORMAT, "kallsyms: symbol name too long");
            out[o++] = *t++;
        }
    }
    out[o] = 0;
    if (o < 2)
        return fail(ks, VMI_EFORMAT, "kallsyms: empty symbol name");
    *pos += hdr + len;
    return VMI_OK;
}

static bool is_global(char type) {
    return type >= 'A' && type <= 'Z';
}

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

int vmi_kallsyms_lookup_many(struct vmi_kallsyms *ks, const char *const *names, size_t n,
                             uint64_t *addrs, char *types, bool *found) {
    if (ks->num_syms == 0)
        return fail(ks, VMI_EFORMAT, "kallsyms: not initialised");
    char buf[VMI_KSYM_NAME_MAX];
    /* A 4096-bit filter of the wanted names' hashes: most decoded names are rejected by one
     * bit test, so a batch costs one decoding pass whatever its size. */
    uint64_t filter[64];
    lib_memset(filter, 0, sizeof(filter));
    for (size_t k = 0; k < n; k++) {
        found[k] = false;
        types[k] = 0;
        uint32_t h = name_hash(names[k]) & 4095;
        filter[h >> 6] |= 1ull << (h & 63);
    }
    uint64_t pos = ks->names;
    for (uint32_t i = 0; i < ks->num_syms; i++) {
        int rc = expand(ks, &pos, buf);
        if (rc != VMI_OK)
            return rc;
        uint32_t h = name_hash(buf + 1) & 4095;
        if (!(filter[h >> 6] & (1ull << (h & 63))))
            continue;
        for (size_t k = 0; k < n; k++) {
            if (!lib_streq(buf + 1, names[k]))
                continue;
            /* Keep the first match unless a global one replaces a local one. */
            if (found[k] && (is_global(types[k]) || !is_global(buf[0])))
                continue;
            rc = vmi_kallsyms_addr(ks, i, &addrs[k]);
            if (rc != VMI_OK)
                return rc;
            types[k] = buf[0];
            found[k] = true;
        }
    }
    return VMI_OK;
}

/* Expands symbol number idx: from the marker of its 256-symbol block, skip to it. */
static int expand_at(struct vmi_kallsyms *ks, uint32_t idx, char out[VMI_KSYM_NAME_MAX]) {
    uint32_t m;
    if (idx >= ks->num_syms || vmi_kvwin_u32(&ks->win_offsets, ks->markers + 4ull * (idx >> 8), &m))
        return VMI_EFORMAT;
    uint64_t pos = ks->names + m;
    for (uint32_t k = 0; k < (idx & 0xff); k++) {
        uint32_t len, hdr;
        if (pos >= ks->names_end || name_len(&ks->win_names, pos, &len, &hdr) != VMI_OK)
            return VMI_EFORMAT;
        pos += hdr + len;
    }
    return expand(ks, &pos, out);
}

/* Symbol index at position k of kallsyms_seqs_of_names (3 bytes, big-endian). */
static int seq_at(struct vmi_kallsyms *ks, uint32_t k, uint32_t *idx) {
    const uint8_t *p = vmi_kvwin_ptr(&ks->win_offsets, ks->seqs + 3ull * k, 3);
    if (p == NULL)
        return VMI_EREAD;
    *idx = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
    return *idx < ks->num_syms ? VMI_OK : VMI_EFORMAT;
}

/* Binary search through kallsyms_seqs_of_names (symbol indexes sorted by name, as the kernel's
 * own kallsyms_lookup_name does): ~log2(n) expansions instead of n. VMI_ENOTFOUND when absent;
 * VMI_EFORMAT when the table turns out inconsistent (the caller then falls back to a pass). */
static int lookup_sorted(struct vmi_kallsyms *ks, const char *name, uint64_t *addr, char *type) {
    char buf[VMI_KSYM_NAME_MAX];
    uint32_t lo = 0, hi = ks->num_syms, idx;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (seq_at(ks, mid, &idx) != VMI_OK || expand_at(ks, idx, buf) != VMI_OK)
            return VMI_EFORMAT;
        if (lib_strcmp(buf + 1, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* lo: the first entry not below name. Equal names are adjacent: prefer a global one. */
    bool found = false;
    uint32_t best = 0;
    char best_type = 0;
    for (uint32_t k = lo; k < ks->num_syms && k < lo + 1024; k++) {
        if (seq_at(ks, k, &idx) != VMI_OK || expand_at(ks, idx, buf) != VMI_OK)
            return VMI_EFORMAT;
        if (!lib_streq(buf + 1, name))
            break;
        if (!found || (!is_global(best_type) && is_global(buf[0])) ||
            (is_global(best_type) == is_global(buf[0]) && idx < best)) {
            best = idx;
            best_type = buf[0];
            found = true;
        }
    }
    if (!found)
        return VMI_ENOTFOUND;
    if (type)
        *type = best_type;
    return vmi_kallsyms_addr(ks, best, addr);
}

/* Trusts kallsyms_seqs_of_names for lookups only if a sample of it sorts by name (the sort
 * is scripts/kallsyms.c's strcmp of the names without their type letter); else ks->seqs_sorted
 * stays false and every lookup is a full pass. */
static void check_seqs_sorted(struct vmi_kallsyms *ks) {
    char a[VMI_KSYM_NAME_MAX], b[VMI_KSYM_NAME_MAX];
    ks->seqs_sorted = false;
    if (!ks->seqs || ks->num_syms < 2)
        return;
    uint32_t step = ks->num_syms / 97 + 1;
    for (uint32_t k = 0; k + 1 < ks->num_syms; k += step) {
        uint32_t i, j;
        if (seq_at(ks, k, &i) || seq_at(ks, k + 1, &j) || expand_at(ks, i, a) ||
            expand_at(ks, j, b) || lib_strcmp(a + 1, b + 1) > 0)
            return;
    }
    ks->seqs_sorted = true;
}

int vmi_kallsyms_lookup(struct vmi_kallsyms *ks, const char *name, uint64_t *addr, char *type) {
    if (ks->seqs_sorted) {
        int rc = lookup_sorted(ks, name, addr, type);
        if (rc != VMI_EFORMAT)
            return rc;
        /* A table that turned out inconsistent: a full pass decides. */
    }
    bool found;
    char t = 0;
    int rc = vmi_kallsyms_lookup_many(ks, &name, 1, addr, &t, &found);
    if (rc != VMI_OK)
        return rc;
    if (!found)
        return VMI_ENOTFOUND;
    if (type)
        *type = t;
    return VMI_OK;
}

int vmi_kallsyms_foreach(struct vmi_kallsyms *ks, vmi_kallsyms_cb cb, void *ctx) {
    if (ks->num_syms == 0)
        return fail(ks, VMI_EFORMAT, "kallsyms: not initialised");
    char buf[VMI_KSYM_NAME_MAX];
    uint64_t pos = ks->names;
    for (uint32_t i = 0; i < ks->num_syms; i++) {
        int rc = expand(ks, &pos, buf);
        if (rc != VMI_OK)
            return rc;
        uint64_t a;
        rc = vmi_kallsyms_addr(ks, i, &a);
        if (rc != VMI_OK)
            return rc;
        rc = cb(ctx, buf + 1, buf[0], a);
        if (rc != 0)
            return rc;
    }
    return VMI_OK;
}
