/* Guest workload of the live-events overhead benchmark (tools/bench-live.sh): N times
 * fork + execve("/bin/true") + waitpid, timed with CLOCK_MONOTONIC (guest time). For the first
 * K children it also records the TSC read right before the fork and the child's pid, so the
 * benchmark can subtract it from the tsc of vigil's proc_start event for that pid (start-to-report
 * latency). Everything is printed after the timed loop, so console output is not measured.
 *
 *   liveload [N [K]]   (default 300 20)
 * Output: LIVELOAD-CHILD i pid tsc (K lines), LIVELOAD-RUNS N, LIVELOAD-FAILED n (children that
 * did not exit with status 0), LIVELOAD-ELAPSED-NS ns. Exit status 1 if any child failed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define KMAX 1000

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 300;
    long k = argc > 2 ? strtol(argv[2], NULL, 10) : 20;
    static uint64_t tsc[KMAX];
    static pid_t pids[KMAX];
    char *const targv[] = {"true", NULL};
    char *const tenv[] = {NULL};
    long failed = 0;
    struct timespec t0, t1;

    if (n < 1 || k < 0)
        return 2;
    if (k > KMAX)
        k = KMAX;
    if (k > n)
        k = n;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        _mm_lfence();
        uint64_t before = __rdtsc();
        pid_t pid = fork();
        if (pid == 0) {
            execve("/bin/true", targv, tenv);
            _exit(127);
        }
        if (pid < 0) {
            failed++;
            continue;
        }
        if (i < k) {
            tsc[i] = before;
            pids[i] = pid;
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (long i = 0; i < k; i++)
        printf("LIVELOAD-CHILD %ld %d %llu\n", i, (int)pids[i], (unsigned long long)tsc[i]);
    printf("LIVELOAD-RUNS %ld\n", n);
    printf("LIVELOAD-FAILED %ld\n", failed);
    printf("LIVELOAD-ELAPSED-NS %lld\n",
           (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    return failed ? 1 : 0;
}
