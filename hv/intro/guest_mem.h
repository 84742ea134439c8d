/* Guest-physical memory as the hypervisor sees it: EPT is an identity map, so guest-physical is
 * host-physical, which the host page tables map 1:1 up to hv.env.mapped (hv/core/host_env.c). */
#ifndef VIGIL_GUEST_MEM_H
#define VIGIL_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

/* vmi_mem read_phys signature: 0, or VMI_EREAD outside the mapped range. Never faults. */
int hv_guest_read_phys(void *ctx, uint64_t pa, void *buf, size_t len);

#endif
