/* vigil-doctor's view of the machine: every file it reads (/proc, /sys, /dev/cpu/N/msr) is
 * named relative to a root directory, "/" on the machine itself or a recorded tree in tests
 * (--sysroot). Reads are bounded; a file that is larger is cut at the buffer's size. */
#ifndef VIGIL_DOCTOR_ROOT_H
#define VIGIL_DOCTOR_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct doctor_root {
    char dir[1024]; /* no trailing slash; "" for "/" */
};

/* 0, or -ENAMETOOLONG. */
int droot_init(struct doctor_root *r, const char *dir);
/* The full path of rel (which starts with '/') under the root; false if it does not fit. */
bool droot_path(const struct doctor_root *r, const char *rel, char *out, size_t cap);
/* Reads at most cap - 1 bytes of rel into buf and NUL-terminates it; the number of bytes read,
 * or -errno. */
long droot_read(const struct doctor_root *r, const char *rel, char *buf, size_t cap);
/* The first line of rel without its newline or trailing spaces; -errno if unreadable. */
long droot_read_line(const struct doctor_root *r, const char *rel, char *buf, size_t cap);
bool droot_exists(const struct doctor_root *r, const char *rel);
/* access(2) of rel with mode (R_OK, W_OK...): 0 or -errno. */
int droot_access(const struct doctor_root *r, const char *rel, int mode);
/* Names in directory rel (none starting with a dot), sorted (digit runs compared by value), at
 * most max of them, each at most 63 bytes long (longer ones are skipped). The count, or -errno. */
long droot_list(const struct doctor_root *r, const char *rel, char (*names)[64], size_t max);
/* 8 bytes at offset msr of /dev/cpu/<cpu>/msr, as Linux's msr driver serves an RDMSR: 0, or
 * -errno (-EIO: the processor refused the RDMSR, i.e. that MSR does not exist; -ENOENT: no
 * msr driver (modprobe msr); -EACCES/-EPERM: not root). In a recorded tree the file is a
 * regular file holding MSR i at offset 8 * i. */
int droot_msr(const struct doctor_root *r, unsigned cpu, uint32_t msr, uint64_t *v);

#endif
