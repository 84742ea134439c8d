/* Starts many processes the way an ordinary user can: forkmany N forks N children that each
 * wait in pause() (no exec: a few pages each), as fast as it can, then prints
 *   FORKMANY started=S failed=F
 * and waits too, keeping them alive. Used by tests/scenarios/hv-attack.sh to swamp vigil's
 * re-scans and live view. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: forkmany N\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 0), started = 0, failed = 0;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            for (;;)
                pause();
        }
        if (p < 0) {
            failed++;
            if (errno != EAGAIN)
                break;
        } else {
            started++;
        }
    }
    printf("FORKMANY started=%ld failed=%ld\n", started, failed);
    fflush(stdout);
    for (;;)
        pause();
}
