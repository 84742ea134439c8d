/* Loads a captured VMX capability MSR set (a file in tests/data/vmx-caps, "msr <index> <value>"
 * lines) into a struct vmx_cap_msrs, for the VT-x unit tests. VMX_CAPS_DIR is set by
 * tests/tests.mk. */
#ifndef VIGIL_TEST_VMX_CAPSDATA_H
#define VIGIL_TEST_VMX_CAPSDATA_H

#include "hv/arch/vmx/vmx_controls.h"
#include "hv/arch/vmx/vmx_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VMX_CAPS_DIR
#define VMX_CAPS_DIR "tests/data/vmx-caps"
#endif

#define CAPS_BOCHS "bochs-2.7-corei7_haswell_4770.txt"
#define CAPS_I7_9750H "intel-core-i7-9750h.txt"

/* Returns the number of MSR lines read, 0 when the file is missing. */
static inline int caps_load(const char *name, struct vmx_cap_msrs *c, uint64_t *feature_control) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", VMX_CAPS_DIR, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    memset(c, 0, sizeof(*c));
    char line[256];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long idx, val;
        if (sscanf(line, "msr %llx %llx", &idx, &val) != 2)
            continue;
        n++;
        switch (idx) {
        case MSR_IA32_FEATURE_CONTROL:
            if (feature_control)
                *feature_control = val;
            break;
        case 0x480:
            c->basic = val;
            break;
        case 0x481:
            c->pin = val;
            break;
        case 0x482:
            c->proc = val;
            break;
        case 0x483:
            c->exit = val;
            break;
        case 0x484:
            c->entry = val;
            break;
        case 0x485:
            c->misc = val;
            break;
        case 0x486:
            c->cr0_fixed0 = val;
            break;
        case 0x487:
            c->cr0_fixed1 = val;
            break;
        case 0x488:
            c->cr4_fixed0 = val;
            break;
        case 0x489:
            c->cr4_fixed1 = val;
            break;
        case 0x48A:
            c->vmcs_enum = val;
            break;
        case 0x48B:
            c->proc2 = val;
            break;
        case 0x48C:
            c->ept_vpid = val;
            break;
        case 0x48D:
            c->true_pin = val;
            break;
        case 0x48E:
            c->true_proc = val;
            break;
        case 0x48F:
            c->true_exit = val;
            break;
        case 0x490:
            c->true_entry = val;
            break;
        case 0x491:
            c->vmfunc = val;
            break;
        default:
            break;
        }
    }
    fclose(f);
    return n;
}

#endif
