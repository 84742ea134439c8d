/* SHA-256 (FIPS 180-4, section 6.2), freestanding: the loader hashes the profile file and the
 * effective config with it (efi/efi_seal.c). Incremental: init, update any number of times with
 * any lengths, final. */
#ifndef VIGIL_SHA256_H
#define VIGIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32
#define SHA256_HEX (2 * SHA256_BYTES + 1) /* hex digits + NUL */

struct sha256 {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t fill; /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES]);
/* One-shot convenience. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_BYTES]);
/* Lower-case hex, NUL-terminated. Returns hex. */
char *sha256_hex(const uint8_t digest[SHA256_BYTES], char hex[SHA256_HEX]);

#endif
