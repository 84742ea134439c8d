/* Introspection from inside the hypervisor: once the OS kernel is up,
 * vigil identifies it (auto mode, or the profile the loader brought) and reports the OS and a
 * full snapshot of processes and modules with the same events vigil-vmi prints; then every
 * `rescan` seconds it walks the process list again and reports what changed. Runs on the
 * VMX-preemption-timer exits of whichever CPU owns the periodic work (hv/core/tick_owner.h). */
#ifndef VIGIL_HV_VMI_H
#define VIGIL_HV_VMI_H

#include "hv/core/intro_hooks.h"
#include "hv/core/percpu.h"

/* hv_vmi_init and hv_vmi_tick: hv/core/intro_hooks.h. */

#endif
