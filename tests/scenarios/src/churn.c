/* Process churn the way an ordinary user can cause it: churn N forks N children one after the
 * other, each of which exits at once (no exec), reaping each before the next, then prints
 *   CHURN forked=F failed=E
 * Used by tests/scenarios/hv-attack.sh, pinned to one CPU while another CPU execs, so that live
 * events from two CPUs contend for vigil's report path. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: churn N\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 0), forked = 0, failed = 0;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        if (p < 0) {
            failed++;
            continue;
        }
        forked++;
        waitpid(p, NULL, 0);
    }
    printf("CHURN forked=%ld failed=%ld\n", forked, failed);
    return 0;
}
