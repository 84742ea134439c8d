#include "tools/doctor_item.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void doctor_set(struct doctor_item *it, enum doctor_state st, const char *verdict, const char *fmt,
                ...) {
    va_list ap;
    it->state = st;
    snprintf(it->verdict, sizeof(it->verdict), "%s", verdict ? verdict : "");
    va_start(ap, fmt);
    vsnprintf(it->text, sizeof(it->text), fmt, ap);
    va_end(ap);
}
