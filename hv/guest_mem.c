#include "guest_mem.h"

#include "hv_state.h"
#include "lib.h"
#include "vmi_symsrc.h"

int hv_guest_read_phys(void *ctx, uint64_t pa, void *buf, size_t len) {
    (void)ctx;
    if (pa >= hv.env.mapped || len > hv.env.mapped - pa)
        return VMI_EREAD;
    lib_memcpy(buf, (const void *)(uintptr_t)pa, len);
    return VMI_OK;
}
