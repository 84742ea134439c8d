/* Loaded Linux kernel modules from the `modules` list (kernel/module/main.c), as /proc/modules
 * shows them: name, base (core_layout.base) and size (init + core (+ data) layout sizes, the sum
 * /proc/modules prints; kernel/module/procfs.c m_show). Supported layout: struct module with
 * core_layout / init_layout (struct module_layout, up to 6.3); the 6.4+ mem[] layout is reported
 * as unsupported (VMI_EFORMAT). Offsets come from the symbol source only. */
#ifndef VIGIL_VMI_LINUX_MODULES_H
#define VIGIL_VMI_LINUX_MODULES_H

#include "vmi/vmi_symsrc.h"
#include <stdbool.h>
#include <stdint.h>

#define VMI_MODULES_MAX 65536u

struct vmi_linux_modules {
    vmi_read_kva_fn rd;
    void *rd_ctx;
    uint64_t head; /* address of the `modules` list head */
    uint32_t o_list, o_name, name_len, o_state;
    uint32_t o_core_base, o_core_size, o_init_size, o_data_size;
    bool has_data_layout;
    char error[96];
};

struct vmi_module {
    uint64_t addr; /* struct module */
    char name[57]; /* MODULE_NAME_LEN 56 */
    uint64_t base;
    uint64_t size;
};

int vmi_linux_modules_init(struct vmi_linux_modules *m, const struct vmi_symsrc *src,
                           vmi_read_kva_fn rd, void *rd_ctx);

typedef int (*vmi_module_cb)(void *ctx, const struct vmi_module *mod);

/* Calls cb for every module /proc/modules lists (MODULE_STATE_UNFORMED ones are skipped, as
 * m_show does), in list order. Returns the count or a negative VMI_E* code. */
long vmi_linux_modules_foreach(const struct vmi_linux_modules *m, vmi_module_cb cb, void *ctx);

#endif
