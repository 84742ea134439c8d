/* Test-guest helper for the VMI ground-truth scenario (tests/scenarios/vmi-truth.sh): makes
 * processes whose shape the introspection must reconstruct exactly.
 *
 *   vmi-procs threads N      a process named "vmi-threads" with N extra threads, all sleeping
 *   vmi-procs chain N        a parent -> child -> ... chain of N processes "vmi-chain-1".."N"
 *   vmi-procs zombie         "vmi-zparent", whose child "vmi-zombie" exits and is never reaped
 *   vmi-procs ids R E        a sleeping process "vmi-ids" with real uid R and effective uid E
 *   vmi-procs exit           exits at once (an exited, reaped process must not be reported)
 *   vmi-procs sleep          just sleeps (under whatever name it was executed as)
 *
 * Every long-lived process prints "<role> <pid>" and "mark <pid> <address>" (the address of the
 * string "VMI-MARK <pid>" in its memory), then sleeps in pause(). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void name(const char *n) {
    prctl(PR_SET_NAME, (unsigned long)n, 0, 0, 0);
}

static void *thread_main(void *arg) {
    char n[32];
    snprintf(n, sizeof(n), "vmi-worker-%ld", (long)(size_t)arg);
    name(n);
    for (;;)
        pause();
    return NULL;
}

/* A marker in this process's memory: the VMI test reads it back through the reported CR3, which
 * proves the CR3 is this process's address space. */
static char mark[32];

static void sleep_forever(void) {
    snprintf(mark, sizeof(mark), "VMI-MARK %d", (int)getpid());
    printf("mark %d %p\n", (int)getpid(), (void *)mark);
    fflush(stdout);
    for (;;)
        pause();
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "threads") && argc == 3) {
        long n = atol(argv[2]);
        name("vmi-threads");
        for (long i = 1; i <= n; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, thread_main, (void *)(size_t)i))
                return 1;
        }
        printf("threads %d\n", getpid());
        sleep_forever();
    } else if (!strcmp(argv[1], "chain") && argc == 3) {
        int n = atoi(argv[2]);
        for (int i = 1; i <= n; i++) {
            char nm[32]; /* the kernel truncates names to 15 characters */
            snprintf(nm, sizeof(nm), "vmi-chain-%d", i);
            name(nm);
            printf("chain-%d %d\n", i, getpid());
            if (i == n || fork() != 0)
                break;
        }
        sleep_forever();
    } else if (!strcmp(argv[1], "zombie")) {
        name("vmi-zparent");
        pid_t c = fork();
        if (c == 0) {
            name("vmi-zombie");
            _exit(0);
        }
        printf("zparent %d\nzombie %d\n", getpid(), c);
        sleep_forever();
    } else if (!strcmp(argv[1], "ids") && argc == 4) {
        name("vmi-ids");
        uid_t r = (uid_t)atoi(argv[2]), e = (uid_t)atoi(argv[3]);
        if (setresuid(r, e, e))
            return 1;
        printf("ids %d\n", getpid());
        sleep_forever();
    } else if (!strcmp(argv[1], "exit")) {
        printf("exited %d\n", getpid());
        return 0;
    } else if (!strcmp(argv[1], "sleep")) {
        printf("sleep %d\n", getpid());
        sleep_forever();
    }
    return 2;
}
