/* A small freestanding snprintf: %s %.*s %c %d %i %u %x %X %p %% with l/ll/z length modifiers,
 * field width and zero padding. Unknown conversions print literally; never writes past size. */
#ifndef VIGIL_FMT_H
#define VIGIL_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Returns the length the full output would have (like C99 snprintf). */
size_t fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
size_t fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
