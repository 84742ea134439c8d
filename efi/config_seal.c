#include "efi/config_seal.h"

#include "base/fmt.h"
#include "base/lib.h"

#define SEAL_MAGIC "vigil-seal 1"

void config_seal_hash(const struct vigil_config *cfg, uint8_t out[SHA256_BYTES]) {
    static char v[CONFIG_VALUE_MAX];
    struct sha256 h;
    sha256_init(&h);
    for (unsigned i = 0; i < config_key_count(); i++) {
        const char *k = config_key_name(i);
        config_format_value(cfg, i, v, sizeof(v));
        sha256_update(&h, k, lib_strlen(k));
        sha256_update(&h, "=", 1);
        sha256_update(&h, v, lib_strlen(v));
        sha256_update(&h, "\n", 1);
    }
    sha256_final(&h, out);
}

void seal_make(struct config_seal *s, const struct vigil_config *cfg,
               const struct seal_profile *profile) {
    lib_memset(s, 0, sizeof(*s));
    s->full = true;
    s->cfg = *cfg;
    config_seal_hash(cfg, s->config_sha256);
    s->profile = *profile;
}

/* Appends to a bounded buffer; remembers if anything did not fit. */
struct out {
    char *buf;
    size_t size, len;
    bool over;
};

static void put(struct out *o, const char *s) {
    size_t n = lib_strlen(s);
    if (o->over || o->len + n >= o->size) {
        o->over = true;
        return;
    }
    lib_memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = 0;
}

static void put_key(struct out *o, const struct vigil_config *cfg, unsigned i) {
    static char v[CONFIG_VALUE_MAX];
    put(o, config_key_name(i));
    put(o, "=\"");
    put(o, config_format_value(cfg, i, v, sizeof(v)));
    put(o, "\"\n");
}

static unsigned key_index(const char *name, size_t n) {
    for (unsigned i = 0; i < config_key_count(); i++) {
        const char *k = config_key_name(i);
        if (lib_strlen(k) == n && lib_strncmp(k, name, n) == 0)
            return i;
    }
    return ~0u;
}

static size_t serialise(const struct config_seal *s, char *buf, size_t size, bool full) {
    struct out o = {buf, size, 0, size == 0};
    char hex[SHA256_HEX], num[24];
    if (size)
        buf[0] = 0;
    put(&o, SEAL_MAGIC "\nconfig_sha256=");
    put(&o, sha256_hex(s->config_sha256, hex));
    put(&o, "\nprofile_status=");
    put(&o, s->profile.status);
    put(&o, "\n");
    if (lib_streq(s->profile.status, "read")) {
        put(&o, "profile_sha256=");
        put(&o, sha256_hex(s->profile.sha256, hex));
        fmt_snprintf(num, sizeof(num), "\nprofile_bytes=%llu\n",
                     (unsigned long long)s->profile.bytes);
        put(&o, num);
    }
    unsigned policy = key_index("on_config_change", 16);
    for (unsigned i = 0; i < config_key_count(); i++) {
        if (full || i == policy)
            put_key(&o, &s->cfg, i);
    }
    return o.over ? 0 : o.len;
}

size_t seal_serialise(const struct config_seal *s, char *buf, size_t size, size_t limit,
                      bool *hash_only) {
    size_t cap = limit < size ? limit + 1 : size; /* limit bytes plus the NUL */
    size_t n = s->full ? serialise(s, buf, cap, true) : 0;
    *hash_only = n == 0;
    if (n)
        return n;
    return serialise(s, buf, cap, false);
}

static bool fail(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char *why, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return false;
}

static bool parse_hex(const char *v, size_t n, uint8_t out[SHA256_BYTES]) {
    if (n != 2 * SHA256_BYTES)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(d << 4);
        else
            out[i / 2] |= (uint8_t)d;
    }
    return true;
}

static void count_error(void *ctx, unsigned line, const char *msg) {
    (void)line;
    (void)msg;
    (*(unsigned *)ctx)++;
}

bool seal_parse(struct config_seal *s, const char *text, size_t len, char *why, size_t why_size) {
    lib_memset(s, 0, sizeof(*s));
    config_defaults(&s->cfg);
    if (len > SEAL_RECORD_MAX)
        return fail(why, why_size, "record too large (%zu bytes, limit %d)", len, SEAL_RECORD_MAX);
    size_t magic = sizeof(SEAL_MAGIC) - 1;
    if (len < magic + 1 || lib_memcmp(text, SEAL_MAGIC "\n", magic + 1) != 0)
        return fail(why, why_size, "not a vigil seal record (first line is not '" SEAL_MAGIC "')");
    enum { F_HASH = 1, F_STATUS = 2, F_PSHA = 4, F_PBYTES = 8 };
    unsigned seen = 0, keys = 0, nkeys = config_key_count();
    bool key_seen[SEAL_MAX_KEYS] = {false};
    unsigned lineno = 1;
    size_t i = magic + 1;
    while (i < len) {
        lineno++;
        size_t start = i;
        while (i < len && text[i] != '\n')
            i++;
        if (i == len)
            return fail(why, why_size, "line %u: no final newline (record cut short?)", lineno);
        const char *l = text + start;
        size_t n = i - start;
        i++; /* the newline */
        size_t eq = 0;
        while (eq < n && l[eq] != '=')
            eq++;
        if (eq == n || eq == 0)
            return fail(why, why_size, "line %u: not name=value", lineno);
        for (size_t j = 0; j < n; j++) {
            if ((unsigned char)l[j] < 0x20 || (unsigned char)l[j] >= 0x7f)
                return fail(why, why_size, "line %u: byte 0x%02x is not printable ASCII", lineno,
                            (unsigned char)l[j]);
        }
        const char *v = l + eq + 1;
        size_t vn = n - eq - 1;
        unsigned flag = 0;
        if (eq == 13 && lib_strncmp(l, "config_sha256", 13) == 0) {
            flag = F_HASH;
            if (!parse_hex(v, vn, s->config_sha256))
                return fail(why, why_size, "line %u: config_sha256 is not 64 hex digits", lineno);
        } else if (eq == 14 && lib_strncmp(l, "profile_status", 14) == 0) {
            flag = F_STATUS;
            if (vn == 0 || vn >= SEAL_STATUS_MAX)
                return fail(why, why_size, "line %u: bad profile_status", lineno);
            lib_memcpy(s->profile.status, v, vn);
            s->profile.status[vn] = 0;
        } else if (eq == 14 && lib_strncmp(l, "profile_sha256", 14) == 0) {
            flag = F_PSHA;
            if (!parse_hex(v, vn, s->profile.sha256))
                return fail(why, why_size, "line %u: profile_sha256 is not 64 hex digits", lineno);
        } else if (eq == 13 && lib_strncmp(l, "profile_bytes", 13) == 0) {
            flag = F_PBYTES;
            if (!lib_parse_u64(v, vn, 10, &s->profile.bytes))
                return fail(why, why_size, "line %u: profile_bytes is not a number", lineno);
        } else {
            unsigned k = key_index(l, eq);
            if (k >= nkeys || k >= SEAL_MAX_KEYS)
                return fail(why, why_size, "line %u: unknown name", lineno);
            if (key_seen[k])
                return fail(why, why_size, "line %u: %s twice", lineno, config_key_name(k));
            /* Only the quoted canonical form vigil writes: config_parse would also take an
             * unquoted value, but then two records could mean the same config. */
            if (vn < 2 || v[0] != '"' || v[vn - 1] != '"')
                return fail(why, why_size, "line %u: %s value is not quoted", lineno,
                            config_key_name(k));
            unsigned errors = 0;
            config_parse(&s->cfg, l, n, count_error, &errors);
            if (errors)
                return fail(why, why_size, "line %u: %s value is not valid", lineno,
                            config_key_name(k));
            key_seen[k] = true;
            keys++;
            continue;
        }
        if (seen & flag)
            return fail(why, why_size, "line %u: %.*s twice", lineno, (int)eq, l);
        seen |= flag;
    }
    if (!(seen & F_HASH) || !(seen & F_STATUS))
        return fail(why, why_size, "config_sha256 or profile_status missing");
    bool read = lib_streq(s->profile.status, "read");
    if (read != ((seen & F_PSHA) != 0) || read != ((seen & F_PBYTES) != 0))
        return fail(why, why_size, "profile_sha256/profile_bytes do not match profile_status");
    unsigned policy = key_index("on_config_change", 16);
    if (!key_seen[policy])
        return fail(why, why_size, "on_config_change missing");
    if (keys == nkeys) {
        uint8_t h[SHA256_BYTES];
        config_seal_hash(&s->cfg, h);
        if (lib_memcmp(h, s->config_sha256, SHA256_BYTES) != 0)
            return fail(why, why_size, "config_sha256 does not match the sealed values");
        s->full = true;
    } else if (keys != 1) {
        return fail(why, why_size, "%u of %u config keys (neither full nor hash-only)", keys,
                    nkeys);
    }
    return true;
}

void seal_compare_config(const struct config_seal *old, const struct vigil_config *cfg,
                         struct seal_diff *d) {
    static char a[CONFIG_VALUE_MAX], b[CONFIG_VALUE_MAX];
    uint8_t h[SHA256_BYTES];
    lib_memset(d, 0, sizeof(*d));
    config_seal_hash(cfg, h);
    d->config_changed = lib_memcmp(h, old->config_sha256, SHA256_BYTES) != 0;
    d->keys_known = old->full;
    if (!old->full)
        return;
    for (unsigned i = 0; i < config_key_count() && i < SEAL_MAX_KEYS; i++) {
        config_format_value(&old->cfg, i, a, sizeof(a));
        config_format_value(cfg, i, b, sizeof(b));
        if (!lib_streq(a, b))
            d->changed[d->n_changed++] = i;
    }
}

bool seal_profile_equal(const struct seal_profile *a, const struct seal_profile *b) {
    if (!lib_streq(a->status, b->status))
        return false;
    if (!lib_streq(a->status, "read"))
        return true;
    return a->bytes == b->bytes && lib_memcmp(a->sha256, b->sha256, SHA256_BYTES) == 0;
}

void seal_plan_config(struct seal_plan *p, const struct config_seal *old,
                      const struct vigil_config *cfg) {
    lib_memset(p, 0, sizeof(*p));
    p->use_profile = true;
    if (!old) {
        p->outcome = SEAL_NEW;
        p->policy = ON_CHANGE_ACCEPT;
        p->action = SEAL_ACCEPTED;
        p->write = true;
        return;
    }
    p->policy = old->cfg.on_change;
    seal_compare_config(old, cfg, &p->diff);
    p->outcome = p->diff.config_changed ? SEAL_CHANGED : SEAL_SAME;
    if (p->policy == ON_CHANGE_ACCEPT) {
        p->action = SEAL_ACCEPTED;
        p->write = p->diff.config_changed;
    } else if (old->full) {
        p->action = SEAL_PREVIOUS;
        p->use_sealed_config = p->diff.config_changed;
    } else {
        p->action = p->diff.config_changed ? SEAL_PREVIOUS_UNKNOWN : SEAL_PREVIOUS;
    }
}

void seal_plan_profile(struct seal_plan *p, const struct config_seal *old,
                       const struct seal_profile *now) {
    if (!old)
        return;
    p->diff.profile_changed = !seal_profile_equal(&old->profile, now);
    if (!p->diff.profile_changed)
        return;
    p->outcome = SEAL_CHANGED;
    if (p->policy == ON_CHANGE_ACCEPT)
        p->write = true;
    else
        p->use_profile = false;
}
