/* SHA-256: the FIPS 180-2 example vectors, the padding boundaries (lengths around 56 and 64 bytes,
 * expected values computed independently with Python's hashlib), and incremental updates in every
 * chunking giving the one-shot digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/sha256.h"

static const char *hex_of(const void *data, size_t len) {
    static char hex[SHA256_HEX];
    uint8_t d[SHA256_BYTES];
    sha256(data, len, d);
    return sha256_hex(d, hex);
}

static void fips_examples(void **state) {
    (void)state;
    assert_string_equal(hex_of("abc", 3),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(hex_of("", 0),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_string_equal(hex_of(m448, strlen(m448)),
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmno"
        "pqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_string_equal(hex_of(m896, strlen(m896)),
                        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void million_a(void **state) {
    (void)state;
    static char a[1000000];
    memset(a, 'a', sizeof(a));
    assert_string_equal(hex_of(a, sizeof(a)),
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* The same, fed 1000 bytes at a time. */
    struct sha256 s;
    uint8_t d[SHA256_BYTES];
    char hex[SHA256_HEX];
    sha256_init(&s);
    for (int i = 0; i < 1000; i++)
        sha256_update(&s, a, 1000);
    sha256_final(&s, d);
    assert_string_equal(sha256_hex(d, hex),
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static uint8_t pattern[200];
static void fill_pattern(void) {
    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 7 + 3);
}

/* Lengths where the padding spills into a second block (56+) or the data fills blocks exactly. */
static void padding_boundaries(void **state) {
    (void)state;
    static const struct {
        size_t len;
        const char *hex;
    } v[] = {
        {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
        {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
        {57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73"},
        {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
        {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
        {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
        {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
        {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
        {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
        {200, "2c7e18c942ef065b526a2d4e5546283749cd3ddfb51d8fc71f42717363685f46"},
    };
    fill_pattern();
    for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_string_equal(hex_of(pattern, v[i].len), v[i].hex);
}

/* Every split of every message up to 200 bytes into two updates, and byte-by-byte. */
static void incremental(void **state) {
    (void)state;
    fill_pattern();
    for (size_t len = 0; len <= sizeof(pattern); len++) {
        uint8_t want[SHA256_BYTES], got[SHA256_BYTES];
        sha256(pattern, len, want);
        for (size_t cut = 0; cut <= len; cut++) {
            struct sha256 s;
            sha256_init(&s);
            sha256_update(&s, pattern, cut);
            sha256_update(&s, pattern + cut, len - cut);
            sha256_final(&s, got);
            assert_memory_equal(got, want, SHA256_BYTES);
        }
        struct sha256 s;
        sha256_init(&s);
        for (size_t i = 0; i < len; i++)
            sha256_update(&s, pattern + i, 1);
        sha256_final(&s, got);
        assert_memory_equal(got, want, SHA256_BYTES);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fips_examples),
        cmocka_unit_test(million_a),
        cmocka_unit_test(padding_boundaries),
        cmocka_unit_test(incremental),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
