#include "tools/doctor_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int droot_init(struct doctor_root *r, const char *dir) {
    size_t n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/')
        n--;
    if (n >= sizeof(r->dir))
        return -ENAMETOOLONG;
    memcpy(r->dir, dir, n);
    r->dir[n] = 0;
    return 0;
}

bool droot_path(const struct doctor_root *r, const char *rel, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s%s", r->dir, rel);
    return n >= 0 && (size_t)n < cap;
}

long droot_read(const struct doctor_root *r, const char *rel, char *buf, size_t cap) {
    char path[2048];
    if (cap == 0)
        return -EINVAL;
    buf[0] = 0;
    if (!droot_path(r, rel, path, sizeof(path)))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    return (long)got;
}

long droot_read_line(const struct doctor_root *r, const char *rel, char *buf, size_t cap) {
    long n = droot_read(r, rel, buf, cap);
    if (n < 0)
        return n;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    size_t len = strlen(buf);
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\r'))
        buf[--len] = 0;
    return (long)len;
}

bool droot_exists(const struct doctor_root *r, const char *rel) {
    char path[2048];
    struct stat st;
    return droot_path(r, rel, path, sizeof(path)) && stat(path, &st) == 0;
}

int droot_access(const struct doctor_root *r, const char *rel, int mode) {
    char path[2048];
    if (!droot_path(r, rel, path, sizeof(path)))
        return -ENAMETOOLONG;
    return access(path, mode) == 0 ? 0 : -errno;
}

/* Names like ttyS10 after ttyS9, cpu 10 after cpu 9: digit runs compare by value. */
static int natural_cmp(const void *a, const void *b) {
    const char *x = a, *y = b;
    while (*x && *y) {
        if (*x >= '0' && *x <= '9' && *y >= '0' && *y <= '9') {
            unsigned long long u = strtoull(x, (char **)&x, 10);
            unsigned long long v = strtoull(y, (char **)&y, 10);
            if (u != v)
                return u < v ? -1 : 1;
            continue;
        }
        if (*x != *y)
            return (unsigned char)*x - (unsigned char)*y;
        x++;
        y++;
    }
    return (unsigned char)*x - (unsigned char)*y;
}

long droot_list(const struct doctor_root *r, const char *rel, char (*names)[64], size_t max) {
    char path[2048];
    if (!droot_path(r, rel, path, sizeof(path)))
        return -ENAMETOOLONG;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    size_t n = 0;
    struct dirent *de;
    while (n < max && (de = readdir(d)) != NULL) {
        /* Dot names: "." and "..", and the placeholders that keep a recorded tree's empty
         * directories in git (sysfs names never start with a dot). */
        if (de->d_name[0] == '.' || strlen(de->d_name) > 63)
            continue;
        strcpy(names[n++], de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), natural_cmp);
    return (long)n;
}

int droot_msr(const struct doctor_root *r, unsigned cpu, uint32_t msr, uint64_t *v) {
    char rel[64], path[2048];
    snprintf(rel, sizeof(rel), "/dev/cpu/%u/msr", cpu);
    if (!droot_path(r, rel, path, sizeof(path)))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* The driver serves MSR i at offset i; a regular file (a recorded tree) cannot hold 8-byte
     * values at consecutive offsets, so there MSR i is at offset 8 * i. */
    struct stat st;
    off_t off = (off_t)msr;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        off *= 8;
    uint64_t val = 0;
    ssize_t n = pread(fd, &val, sizeof(val), off);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    if (n != (ssize_t)sizeof(val))
        return -EIO; /* a recorded tree without this MSR: as the driver answers a refused RDMSR */
    *v = val;
    return 0;
}
