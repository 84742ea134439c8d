#include "hv/intro/guest_mem.h"

#include "base/lib.h"
#include "hv/core/hv_state.h"
#include "vmi/vmi_symsrc.h"

int hv_guest_read_phys(void *ctx, uint64_t pa, void *buf, size_t len) {
    (void)ctx;
    if (pa >= hv.env.mapped || len > hv.env.mapped - pa)
        return VMI_EREAD;
    lib_memcpy(buf, (const void *)(uintptr_t)pa, len);
    return VMI_OK;
}
