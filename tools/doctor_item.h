/* One line of vigil-doctor's answer: an item, its state, what was found, and (for a blocking
 * or unknown item) a few words for the verdict line. */
#ifndef VIGIL_DOCTOR_ITEM_H
#define VIGIL_DOCTOR_ITEM_H

#include <stdbool.h>

enum doctor_state {
    DOC_OK,      /* required, and fine */
    DOC_FAIL,    /* required, and vigil cannot run (or cannot report) this way */
    DOC_UNKNOWN, /* required, but this machine would not tell (permissions, missing files) */
    DOC_INFO,    /* not required: what vigil or the test scripts will do */
};

struct doctor_item {
    const char *name;
    enum doctor_state state;
    char text[640];
    char verdict[160]; /* for DOC_FAIL / DOC_UNKNOWN: the reason in the verdict line */
};

void doctor_set(struct doctor_item *it, enum doctor_state st, const char *verdict, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

#endif
