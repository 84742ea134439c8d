/* Moves this CPU's time-stamp counter the way guest root can: tscjump CPU SECONDS [hold] writes
 * IA32_TIME_STAMP_COUNTER (MSR 0x10) through /dev/cpu/CPU/msr (the msr module) to the current
 * value plus SECONDS (negative: back) worth of cycles, the rate measured first against
 * CLOCK_MONOTONIC_RAW. With "hold" after a jump back it spins until the counter has climbed back
 * to where it was (the guest's own clocks stand still meanwhile, so nothing else can wait for
 * it). Prints what it did and the counter read back:
 *   TSCJUMP cpu=C hz=H before=B wrote=W after=A [held-until=T]
 * Used by tests/scenarios/hv-attack.sh against vigil's clock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
    int hold = argc == 4 && strcmp(argv[3], "hold") == 0;
    if (argc != 3 && !hold) {
        fprintf(stderr, "usage: tscjump CPU SECONDS [hold]\n");
        return 2;
    }
    int cpu = atoi(argv[1]);
    long secs = strtol(argv[2], NULL, 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        perror("tscjump: sched_setaffinity");
        return 1;
    }
    uint64_t t0 = rdtsc(), n0 = now_ns();
    usleep(200000);
    uint64_t t1 = rdtsc(), n1 = now_ns();
    if (n1 <= n0) {
        fprintf(stderr, "tscjump: clock did not advance\n");
        return 1;
    }
    uint64_t hz = (uint64_t)((double)(t1 - t0) * 1e9 / (double)(n1 - n0));
    char path[64];
    snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpu);
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        fprintf(stderr, "tscjump: %s: %s\n", path, strerror(errno));
        return 1;
    }
    uint64_t before = rdtsc();
    uint64_t val = before + (uint64_t)((int64_t)secs * (int64_t)hz);
    if (pwrite(fd, &val, sizeof(val), 0x10) != (ssize_t)sizeof(val)) {
        fprintf(stderr, "tscjump: wrmsr 0x10: %s\n", strerror(errno));
        return 1;
    }
    uint64_t after = rdtsc();
    close(fd);
    printf("TSCJUMP cpu=%d hz=%llu before=%llu wrote=%llu after=%llu", cpu, (unsigned long long)hz,
           (unsigned long long)before, (unsigned long long)val, (unsigned long long)after);
    if (hold && secs < 0) {
        uint64_t t;
        while ((t = rdtsc()) < before)
            __asm__ volatile("pause");
        printf(" held-until=%llu", (unsigned long long)t);
    }
    printf("\n");
    return 0;
}
