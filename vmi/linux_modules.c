/* Linux module list walker. See linux_modules.h. */
#include "vmi/linux_modules.h"
#include "base/fmt.h"
#include "base/lib.h"
#include "vmi/vmi_listwalk.h"

#define MODULE_STATE_UNFORMED 3 /* include/linux/module.h enum module_state */

static int member(struct vmi_linux_modules *m, const struct vmi_symsrc *s, const char *st,
                  const char *path, uint32_t *off, uint32_t *size) {
    struct vmi_member mb;
    int rc = s->member(s->ctx, st, path, &mb);
    if (rc) {
        fmt_snprintf(m->error, sizeof(m->error), "symbol source has no %s.%s", st, path);
        return rc;
    }
    *off = mb.offset;
    if (size)
        *size = mb.size;
    return 0;
}

int vmi_linux_modules_init(struct vmi_linux_modules *m, const struct vmi_symsrc *src,
                           vmi_read_kva_fn rd, void *rd_ctx) {
    lib_memset(m, 0, sizeof(*m));
    m->rd = rd;
    m->rd_ctx = rd_ctx;
    if (!src || !src->sym || !src->member) {
        lib_strlcpy(m->error, "no symbol source", sizeof(m->error));
        return VMI_ENOTFOUND;
    }
    int rc = src->sym(src->ctx, "modules", &m->head);
    if (rc) {
        lib_strlcpy(m->error, "symbol source has no `modules` list head", sizeof(m->error));
        return rc;
    }
    uint32_t dummy;
    if ((rc = member(m, src, "module", "list", &m->o_list, NULL)) ||
        (rc = member(m, src, "module", "name", &m->o_name, &m->name_len)) ||
        (rc = member(m, src, "module", "state", &m->o_state, NULL)))
        return rc;
    if (member(m, src, "module", "core_layout", &dummy, NULL)) {
        lib_strlcpy(m->error,
                    "unsupported struct module layout (no core_layout: 6.4+ mem[] not supported)",
                    sizeof(m->error));
        return VMI_EFORMAT;
    }
    if ((rc = member(m, src, "module", "core_layout.base", &m->o_core_base, NULL)) ||
        (rc = member(m, src, "module", "core_layout.size", &m->o_core_size, NULL)) ||
        (rc = member(m, src, "module", "init_layout.size", &m->o_init_size, NULL)))
        return rc;
    /* CONFIG_ARCH_WANTS_MODULES_DATA_IN_VMALLOC kernels add data_layout to the size. */
    m->has_data_layout = member(m, src, "module", "data_layout.size", &m->o_data_size, NULL) == 0;
    if (m->name_len == 0 || m->name_len > 56)
        m->name_len = 56;
    m->error[0] = 0;
    return VMI_OK;
}

long vmi_linux_modules_foreach(const struct vmi_linux_modules *m, vmi_module_cb cb, void *ctx) {
    struct vmi_listwalk w;
    vmi_listwalk_init(&w, m->rd, m->rd_ctx, m->head, VMI_MODULES_MAX);
    uint64_t node;
    long n = 0;
    int rc;
    while ((rc = vmi_listwalk_next(&w, &node)) == 1) {
        struct vmi_module mod;
        lib_memset(&mod, 0, sizeof(mod));
        uint64_t a = node - m->o_list;
        uint32_t state, core, init, data = 0;
        mod.addr = a;
        if (m->rd(m->rd_ctx, a + m->o_state, &state, 4) ||
            m->rd(m->rd_ctx, a + m->o_name, mod.name, m->name_len) ||
            m->rd(m->rd_ctx, a + m->o_core_base, &mod.base, 8) ||
            m->rd(m->rd_ctx, a + m->o_core_size, &core, 4) ||
            m->rd(m->rd_ctx, a + m->o_init_size, &init, 4) ||
            (m->has_data_layout && m->rd(m->rd_ctx, a + m->o_data_size, &data, 4)))
            return VMI_EREAD;
        if (state == MODULE_STATE_UNFORMED)
            continue;
        mod.name[m->name_len] = 0;
        /* m_show: init_layout.size + core_layout.size (+ data_layout.size), as unsigned int. */
        mod.size = (uint32_t)(core + init + data);
        n++;
        if (cb && (rc = cb(ctx, &mod)) != 0)
            return rc;
    }
    return rc < 0 ? rc : n;
}
