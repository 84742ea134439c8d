/* Freestanding helpers shared by hv/, efi/ and vmi/: no libc anywhere in the hypervisor. */
#ifndef VIGIL_LIB_H
#define VIGIL_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

void *lib_memcpy(void *dst, const void *src, size_t n);
void *lib_memmove(void *dst, const void *src, size_t n);
void *lib_memset(void *dst, int c, size_t n);
int lib_memcmp(const void *a, const void *b, size_t n);
size_t lib_strlen(const char *s);
size_t lib_strnlen(const char *s, size_t max);
int lib_strcmp(const char *a, const char *b);
int lib_strncmp(const char *a, const char *b, size_t n);
bool lib_streq(const char *a, const char *b);
/* Case-insensitive ASCII comparison of two strings. */
bool lib_streq_nocase(const char *a, const char *b);
/* Copies at most size-1 bytes and always terminates (size > 0). Returns strlen(src). */
size_t lib_strlcpy(char *dst, const char *src, size_t size);
char lib_tolower(char c);
bool lib_isspace(char c);
bool lib_isdigit(char c);
bool lib_isxdigit(char c);

/* Parses an unsigned number from s[0..len): decimal, or hex with a 0x prefix (or always hex when
 * base == 16). Rejects empty input, stray characters and overflow. Returns true on success. */
bool lib_parse_u64(const char *s, size_t len, int base, uint64_t *out);

#endif
