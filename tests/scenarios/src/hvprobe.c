/* Guest-side probe for the hypervisor end-to-end test: what a program in the guest sees of vigil.
 * Prints KEY=VALUE lines. Runs as root in the test guest (tests/scenarios/hv-probe.sh). */
#include <cpuid.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_msr(uint32_t msr, uint64_t *v) {
    int fd = open("/dev/cpu/0/msr", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, v, 8, msr);
    close(fd);
    return n == 8 ? 0 : -1;
}

int main(void) {
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    printf("HVPROBE-CPUID1-VMX=%u\n", (c >> 5) & 1);
    printf("HVPROBE-CPUID1-HYPERVISOR=%u\n", (c >> 31) & 1);
    __cpuid(0x40000000, a, b, c, d);
    char sig[13];
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    sig[12] = 0;
    for (int i = 0; i < 12; i++)
        if (sig[i] < 0x20 || sig[i] > 0x7e)
            sig[i] = '.';
    printf("HVPROBE-CPUID40000000=%s\n", sig);
    uint64_t v;
    if (read_msr(0x3a, &v) == 0)
        printf("HVPROBE-FEATURE-CONTROL=0x%llx\n", (unsigned long long)v);
    else
        printf("HVPROBE-FEATURE-CONTROL=error\n");
    if (read_msr(0x480, &v) == 0)
        printf("HVPROBE-VMX-BASIC=0x%llx\n", (unsigned long long)v);
    else
        printf("HVPROBE-VMX-BASIC=error\n");
    return 0;
}
