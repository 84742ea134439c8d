#ifndef VIGIL_HV_LOAD_H
#define VIGIL_HV_LOAD_H

#include <efi.h>

#include "base/report.h"
#include "efi/config.h"
#include "efi/efi_profile.h"

/* Loads the embedded hypervisor into EfiReservedMemoryType pages, relocates it, and virtualizes
 * every processor (APs through EFI_MP_SERVICES_PROTOCOL, then the BSP), handing it the profile the
 * loader read (if the config names one). Reports what it does on
 * `rep` until the hypervisor takes the port over. Returns the number of CPUs virtualized (0 on
 * failure, with the reason reported). */
UINTN hv_load_and_start(const struct vigil_config *cfg, const struct efi_profile *profile,
                        struct report *rep, const char *version);

#endif
