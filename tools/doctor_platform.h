/* vigil-doctor's platform checks, each from files under the root (doctor_root.h): an already
 * running hypervisor, nested VT-x for the QEMU/KVM scripts, UEFI and Secure Boot, the 16550
 * UARTs vigil can report on, and the IOMMU. */
#ifndef VIGIL_DOCTOR_PLATFORM_H
#define VIGIL_DOCTOR_PLATFORM_H

#include "tools/doctor_cpu.h"
#include "tools/doctor_item.h"
#include "tools/doctor_root.h"

void doctor_check_hypervisor(const struct doctor_root *r, const struct doctor_cpuinfo *ci,
                             struct doctor_item *it);
void doctor_check_nested(const struct doctor_root *r, const struct doctor_cpuinfo *ci,
                         struct doctor_item *it);
/* "uefi" (required) and "secure-boot" (required when booted through UEFI). */
void doctor_check_uefi(const struct doctor_root *r, struct doctor_item *uefi,
                       struct doctor_item *secure_boot);
void doctor_check_uart(const struct doctor_root *r, struct doctor_item *it);
void doctor_check_iommu(const struct doctor_root *r, struct doctor_item *it);

#endif
