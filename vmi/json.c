/* Freestanding, non-allocating JSON reader: see json.h. */
#include "vmi/json.h"
#include "base/lib.h"
#include "vmi/vmi_symsrc.h"

static int fail(struct vmi_json *j, const char *msg, size_t at) {
    (void)at;
    lib_strlcpy(j->why, msg, sizeof(j->why));
    return VMI_EFORMAT;
}

static size_t ws(const struct vmi_json *j, size_t p) {
    while (p < j->len && (j->s[p] == ' ' || j->s[p] == '\t' || j->s[p] == '\n' || j->s[p] == '\r'))
        p++;
    return p;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Validates the string starting at the quote at p; *end = just past the closing quote. */
static int check_string(struct vmi_json *j, size_t p, size_t *end) {
    p++;
    while (p < j->len) {
        unsigned char c = (unsigned char)j->s[p];
        if (c == '"') {
            *end = p + 1;
            return VMI_OK;
        }
        if (c < 0x20)
            return fail(j, "json: control character in string", p);
        if (c == '\\') {
            if (p + 1 >= j->len)
                break;
            char e = j->s[p + 1];
            if (e == 'u') {
                if (p + 6 > j->len)
                    break;
                for (int k = 2; k < 6; k++)
                    if (hexval(j->s[p + k]) < 0)
                        return fail(j, "json: bad \\u escape", p);
                p += 6;
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
                e != 't')
                return fail(j, "json: bad escape", p);
            p += 2;
            continue;
        }
        p++;
    }
    return fail(j, "json: unterminated string", p);
}

static int check_number(struct vmi_json *j, size_t p, size_t *end) {
    size_t q = p;
    if (q < j->len && j->s[q] == '-')
        q++;
    if (q >= j->len || !lib_isdigit(j->s[q]))
        return fail(j, "json: bad number", p);
    if (j->s[q] == '0')
        q++;
    else
        while (q < j->len && lib_isdigit(j->s[q]))
            q++;
    if (q < j->len && j->s[q] == '.') {
        q++;
        if (q >= j->len || !lib_isdigit(j->s[q]))
            return fail(j, "json: bad fraction", p);
        while (q < j->len && lib_isdigit(j->s[q]))
            q++;
    }
    if (q < j->len && (j->s[q] == 'e' || j->s[q] == 'E')) {
        q++;
        if (q < j->len && (j->s[q] == '+' || j->s[q] == '-'))
            q++;
        if (q >= j->len || !lib_isdigit(j->s[q]))
            return fail(j, "json: bad exponent", p);
        while (q < j->len && lib_isdigit(j->s[q]))
            q++;
    }
    *end = q;
    return VMI_OK;
}

static int check_value(struct vmi_json *j, size_t p, int depth, size_t *end) {
    if (depth > VMI_JSON_DEPTH_MAX)
        return fail(j, "json: nesting too deep", p);
    p = ws(j, p);
    if (p >= j->len)
        return fail(j, "json: value expected", p);
    char c = j->s[p];
    int rc;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        p = ws(j, p + 1);
        if (p < j->len && j->s[p] == close) {
            *end = p + 1;
            return VMI_OK;
        }
        for (;;) {
            if (c == '{') {
                p = ws(j, p);
                if (p >= j->len || j->s[p] != '"')
                    return fail(j, "json: member name expected", p);
                if ((rc = check_string(j, p, &p)) != VMI_OK)
                    return rc;
                p = ws(j, p);
                if (p >= j->len || j->s[p] != ':')
                    return fail(j, "json: ':' expected", p);
                p++;
            }
            if ((rc = check_value(j, p, depth + 1, &p)) != VMI_OK)
                return rc;
            p = ws(j, p);
            if (p < j->len && j->s[p] == ',') {
                p++;
                continue;
            }
            if (p < j->len && j->s[p] == close) {
                *end = p + 1;
                return VMI_OK;
            }
            return fail(j, "json: ',' or closing bracket expected", p);
        }
    }
    if (c == '"')
        return check_string(j, p, end);
    if (c == '-' || lib_isdigit(c))
        return check_number(j, p, end);
    static const char *const words[] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        size_t n = lib_strlen(words[w]);
        if (j->len - p >= n && lib_memcmp(j->s + p, words[w], n) == 0) {
            *end = p + n;
            return VMI_OK;
        }
    }
    return fail(j, "json: unexpected character", p);
}

int vmi_json_init(struct vmi_json *j, const char *s, size_t len) {
    lib_memset(j, 0, sizeof(*j));
    j->s = s;
    j->len = s ? len : 0;
    size_t end;
    int rc = check_value(j, 0, 0, &end);
    if (rc != VMI_OK)
        return rc;
    if (ws(j, end) != j->len)
        return fail(j, "json: trailing data after the document", end);
    j->root = ws(j, 0);
    return VMI_OK;
}

char vmi_json_kind(const struct vmi_json *j, size_t pos) {
    if (pos >= j->len)
        return 0;
    char c = j->s[pos];
    if (c == '{' || c == '[' || c == '"' || c == 'n' || c == 't' || c == 'f')
        return c;
    if (c == '-' || lib_isdigit(c))
        return '0';
    return 0;
}

/* Skips a value of a validated document without recursion: counts brackets outside strings. */
size_t vmi_json_skip(const struct vmi_json *j, size_t p) {
    size_t depth = 0;
    while (p < j->len) {
        char c = j->s[p];
        if (c == '"') {
            p++;
            while (p < j->len && j->s[p] != '"')
                p += j->s[p] == '\\' ? 2 : 1;
            p++;
            if (depth == 0)
                return p;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return p; /* not a value: caller's bug, stop here */
            depth--;
            if (depth == 0)
                return p + 1;
        } else if (depth == 0 &&
                   (c == ',' || c == ':' || c == ' ' || c == '\n' || c == '\t' || c == '\r')) {
            return p;
        }
        p++;
    }
    return j->len;
}

int vmi_json_obj_begin(const struct vmi_json *j, size_t obj, struct vmi_json_iter *it) {
    it->pos = VMI_JSON_NONE;
    if (vmi_json_kind(j, obj) != '{')
        return VMI_EFORMAT;
    size_t p = ws(j, obj + 1);
    if (p < j->len && j->s[p] != '}')
        it->pos = p;
    return VMI_OK;
}

int vmi_json_obj_next(const struct vmi_json *j, struct vmi_json_iter *it, struct vmi_json_str *key,
                      size_t *val) {
    size_t p = it->pos;
    if (p == VMI_JSON_NONE || p >= j->len || j->s[p] != '"')
        return 0;
    size_t kend = vmi_json_skip(j, p);
    key->off = p + 1;
    key->len = kend >= p + 2 ? kend - p - 2 : 0;
    key->escaped = false;
    for (size_t k = 0; k < key->len; k++)
        if (j->s[key->off + k] == '\\') {
            key->escaped = true;
            break;
        }
    p = ws(j, kend);
    if (p >= j->len || j->s[p] != ':')
        return 0;
    p = ws(j, p + 1);
    *val = p;
    p = ws(j, vmi_json_skip(j, p));
    if (p < j->len && j->s[p] == ',')
        it->pos = ws(j, p + 1);
    else
        it->pos = VMI_JSON_NONE;
    return 1;
}

int vmi_json_arr_begin(const struct vmi_json *j, size_t arr, struct vmi_json_iter *it) {
    it->pos = VMI_JSON_NONE;
    if (vmi_json_kind(j, arr) != '[')
        return VMI_EFORMAT;
    size_t p = ws(j, arr + 1);
    if (p < j->len && j->s[p] != ']')
        it->pos = p;
    return VMI_OK;
}

int vmi_json_arr_next(const struct vmi_json *j, struct vmi_json_iter *it, size_t *val) {
    size_t p = it->pos;
    if (p == VMI_JSON_NONE || vmi_json_kind(j, p) == 0)
        return 0;
    *val = p;
    p = ws(j, vmi_json_skip(j, p));
    if (p < j->len && j->s[p] == ',')
        it->pos = ws(j, p + 1);
    else
        it->pos = VMI_JSON_NONE;
    return 1;
}

/* Decodes one character of a string token at *p (p inside the quotes); returns the byte
 * sequence in out (1-3 bytes, UTF-8 for \u escapes) and its length. */
static size_t decode_char(const struct vmi_json *j, size_t *p, size_t end, char out[4]) {
    char c = j->s[*p];
    if (c != '\\') {
        out[0] = c;
        (*p)++;
        return 1;
    }
    if (*p + 1 >= end) {
        (*p)++;
        out[0] = '\\';
        return 1;
    }
    char e = j->s[*p + 1];
    *p += 2;
    switch (e) {
    case 'b':
        out[0] = '\b';
        return 1;
    case 'f':
        out[0] = '\f';
        return 1;
    case 'n':
        out[0] = '\n';
        return 1;
    case 'r':
        out[0] = '\r';
        return 1;
    case 't':
        out[0] = '\t';
        return 1;
    case 'u': {
        unsigned v = 0;
        for (int k = 0; k < 4 && *p < end; k++, (*p)++)
            v = v * 16 + (unsigned)(hexval(j->s[*p]) < 0 ? 0 : hexval(j->s[*p]));
        /* Surrogates are kept as their 3-byte (CESU-8) form: names never use them. */
        if (v < 0x80) {
            out[0] = (char)v;
            return 1;
        }
        if (v < 0x800) {
            out[0] = (char)(0xc0 | (v >> 6));
            out[1] = (char)(0x80 | (v & 0x3f));
            return 2;
        }
        out[0] = (char)(0xe0 | (v >> 12));
        out[1] = (char)(0x80 | ((v >> 6) & 0x3f));
        out[2] = (char)(0x80 | (v & 0x3f));
        return 3;
    }
    default: /* " \ / */
        out[0] = e;
        return 1;
    }
}

bool vmi_json_str_eq(const struct vmi_json *j, const struct vmi_json_str *t, const char *s,
                     size_t n) {
    if (!t->escaped)
        return t->len == n && lib_memcmp(j->s + t->off, s, n) == 0;
    size_t p = t->off, end = t->off + t->len, o = 0;
    while (p < end) {
        char buf[4];
        size_t k = decode_char(j, &p, end, buf);
        if (o + k > n || lib_memcmp(s + o, buf, k) != 0)
            return false;
        o += k;
    }
    return o == n;
}

int vmi_json_str_at(const struct vmi_json *j, size_t pos, struct vmi_json_str *t) {
    if (vmi_json_kind(j, pos) != '"')
        return VMI_EFORMAT;
    size_t end = vmi_json_skip(j, pos);
    t->off = pos + 1;
    t->len = end >= pos + 2 ? end - pos - 2 : 0;
    t->escaped = false;
    for (size_t k = 0; k < t->len; k++)
        if (j->s[t->off + k] == '\\')
            t->escaped = true;
    return VMI_OK;
}

int vmi_json_obj_get(const struct vmi_json *j, size_t obj, const char *key, size_t *val) {
    struct vmi_json_iter it;
    if (vmi_json_obj_begin(j, obj, &it) != VMI_OK)
        return VMI_ENOTFOUND;
    struct vmi_json_str k;
    size_t v, n = lib_strlen(key);
    while (vmi_json_obj_next(j, &it, &k, &v))
        if (vmi_json_str_eq(j, &k, key, n)) {
            *val = v;
            return VMI_OK;
        }
    return VMI_ENOTFOUND;
}

int vmi_json_get_str(const struct vmi_json *j, size_t pos, char *buf, size_t cap, size_t *outlen) {
    struct vmi_json_str t;
    if (cap == 0 || vmi_json_str_at(j, pos, &t) != VMI_OK)
        return VMI_EFORMAT;
    size_t p = t.off, end = t.off + t.len, o = 0;
    while (p < end) {
        char tmp[4];
        size_t k = decode_char(j, &p, end, tmp);
        if (o + k + 1 > cap)
            return VMI_ELIMIT;
        for (size_t i = 0; i < k; i++) {
            if (tmp[i] == 0)
                return VMI_EFORMAT;
            buf[o++] = tmp[i];
        }
    }
    buf[o] = 0;
    if (outlen)
        *outlen = o;
    return VMI_OK;
}

static int get_digits(const struct vmi_json *j, size_t pos, bool *neg, uint64_t *mag) {
    if (vmi_json_kind(j, pos) != '0')
        return VMI_EFORMAT;
    size_t p = pos;
    *neg = j->s[p] == '-';
    if (*neg)
        p++;
    size_t start = p;
    while (p < j->len && lib_isdigit(j->s[p]))
        p++;
    if (p < j->len && (j->s[p] == '.' || j->s[p] == 'e' || j->s[p] == 'E'))
        return VMI_EFORMAT;
    if (!lib_parse_u64(j->s + start, p - start, 10, mag))
        return VMI_EFORMAT;
    return VMI_OK;
}

int vmi_json_get_u64(const struct vmi_json *j, size_t pos, uint64_t *v) {
    bool neg;
    uint64_t m;
    if (get_digits(j, pos, &neg, &m) != VMI_OK || (neg && m != 0))
        return VMI_EFORMAT;
    *v = m;
    return VMI_OK;
}

int vmi_json_get_i64(const struct vmi_json *j, size_t pos, int64_t *v) {
    bool neg;
    uint64_t m;
    if (get_digits(j, pos, &neg, &m) != VMI_OK)
        return VMI_EFORMAT;
    if (neg ? m > (uint64_t)INT64_MAX + 1 : m > (uint64_t)INT64_MAX)
        return VMI_EFORMAT;
    *v = neg ? (int64_t)(0 - m) : (int64_t)m;
    return VMI_OK;
}

int vmi_json_get_bool(const struct vmi_json *j, size_t pos, bool *v) {
    char k = vmi_json_kind(j, pos);
    if (k != 't' && k != 'f')
        return VMI_EFORMAT;
    *v = k == 't';
    return VMI_OK;
}
