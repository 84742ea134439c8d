#include "base/lib.h"

void *lib_memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *lib_memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

void *lib_memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}

int lib_memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t lib_strlen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t lib_strnlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int lib_strcmp(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int lib_strncmp(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || !a[i])
            return (unsigned char)a[i] - (unsigned char)b[i];
    }
    return 0;
}

bool lib_streq(const char *a, const char *b) {
    return lib_strcmp(a, b) == 0;
}

char lib_tolower(char c) {
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool lib_streq_nocase(const char *a, const char *b) {
    while (*a && lib_tolower(*a) == lib_tolower(*b)) {
        a++;
        b++;
    }
    return *a == 0 && *b == 0;
}

size_t lib_strlcpy(char *dst, const char *src, size_t size) {
    size_t len = lib_strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        lib_memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}

bool lib_isspace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool lib_isdigit(char c) {
    return c >= '0' && c <= '9';
}

bool lib_isxdigit(char c) {
    return lib_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int digit_value(char c) {
    if (lib_isdigit(c))
        return c - '0';
    c = lib_tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return 99;
}

bool lib_parse_u64(const char *s, size_t len, int base, uint64_t *out) {
    size_t i = 0;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && base != 10) {
        base = 16;
        i = 2;
    } else if (base != 16) {
        base = 10;
    }
    if (i >= len)
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        int d = digit_value(s[i]);
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return true;
}
