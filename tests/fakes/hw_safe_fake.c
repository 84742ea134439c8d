#include "tests/fakes/hw_safe_fake.h"

#include "base/hw.h"
#include "tests/fakes/hw_fake.h"

#define MAX_FAULTING 64

struct faulting {
    uint32_t msr;
    bool rd, wr;
};

static struct faulting faulting[MAX_FAULTING];
static unsigned n_faulting;
uint64_t fake_xcr0;
unsigned fake_xsetbv_calls;
bool fake_xsetbv_faults;
unsigned fake_safe_msr_reads;
unsigned fake_safe_msr_writes;

void fake_safe_reset(void) {
    n_faulting = 0;
    fake_xcr0 = 1;
    fake_xsetbv_calls = 0;
    fake_xsetbv_faults = false;
    fake_safe_msr_reads = 0;
    fake_safe_msr_writes = 0;
}

void fake_safe_set_faulting(uint32_t msr, bool rd, bool wr) {
    for (unsigned i = 0; i < n_faulting; i++) {
        if (faulting[i].msr == msr) {
            faulting[i].rd = rd;
            faulting[i].wr = wr;
            return;
        }
    }
    if (n_faulting < MAX_FAULTING)
        faulting[n_faulting++] = (struct faulting){msr, rd, wr};
}

static bool faults(uint32_t msr, bool write) {
    for (unsigned i = 0; i < n_faulting; i++)
        if (faulting[i].msr == msr)
            return write ? faulting[i].wr : faulting[i].rd;
    return false;
}

bool hw_rdmsr_safe(uint32_t msr, uint64_t *v) {
    fake_safe_msr_reads++;
    if (faults(msr, false))
        return false;
    *v = hw_rdmsr(msr);
    return true;
}

bool hw_wrmsr_safe(uint32_t msr, uint64_t v) {
    if (faults(msr, true))
        return false;
    fake_safe_msr_writes++;
    hw_wrmsr(msr, v);
    return true;
}

bool hw_xsetbv_safe(uint32_t xcr, uint64_t v) {
    if (fake_xsetbv_faults || xcr != 0)
        return false;
    fake_xcr0 = v;
    fake_xsetbv_calls++;
    return true;
}
