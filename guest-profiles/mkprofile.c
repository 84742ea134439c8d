/* vigil-mkprofile: writes a Volatility 3 ISF profile for a Linux kernel from the kernel image
 * alone (no debug package, no System.map):
 *   types   from the image's .BTF section, read with libbpf (an implementation independent of
 *           vmi/btf.c, which auto mode uses: the two modes cross-check each other);
 *   symbols from the image's own kallsyms tables, decoded by vmi/kallsyms.c over the vmlinux
 *           mapped at its link addresses;
 *   banner  linux_banner's bytes as the symbol's constant_data (base64), as dwarf2json does.
 *
 * Usage: vigil-mkprofile [--full|--compact] [--types A,B] [--symbols X,Y] KERNEL_IMAGE
 * KERNEL_IMAGE is a vmlinux ELF or a vmlinuz bzImage (xz/zstd/gzip payloads are decompressed
 * with the xz, zstd or gzip command). --compact (the default) keeps the types and symbols vigil
 * uses (plus those named with --types/--symbols) and what their fields need to be sized;
 * --full keeps every named type and every kallsyms symbol. */
#include <bpf/btf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-profiles/elf_image.h"
#include "vmi/kallsyms.h"

/* What the walkers (vmi/linux_*.c, vmi/kernel.c) read, and a few neighbours they may need:
 * structs and unions, and enums by name. Module memory: module_layout (core_layout,
 * init_layout) up to 6.3; module_memory (mem[MOD_MEM_NUM_TYPES]) indexed by enum mod_mem_type
 * from 6.4 on. A kernel has one or the other: names it lacks are listed on stderr. */
static const char *const compact_types[] = {
    "task_struct",   "signal_struct", "cred",         "mm_struct",      "module",
    "module_layout", "module_memory", "mod_mem_type", "list_head",      "hlist_node",
    "hlist_head",    "pid",           "upid",         "cpuinfo_x86",    "thread_info",
    "new_utsname",   "uts_namespace", "kobject",      "module_kobject", "nsproxy",
    "pid_namespace", "mm_rss_stat",   "rb_node",      "rb_root",        "kref",
    "qstr",          "files_struct",  "kthread",
};
static const char *const compact_symbols[] = {
    "_text",
    "_stext",
    "_etext",
    "_end",
    "_sinittext",
    "init_task",
    "linux_banner",
    "modules",
    "boot_cpu_data",
    "vmcoreinfo_data",
    "vmcoreinfo_size",
    "entry_SYSCALL_64",
    "init_top_pgt",
    "init_mm",
    "__per_cpu_offset",
    "__per_cpu_start",
    "__per_cpu_end",
    "current_task",
    "pcpu_hot",
    "idt_table",
    "page_offset_base",
    "vmemmap_base",
    "vmalloc_base",
    "phys_base",
    "init_uts_ns",
    "init_pid_ns",
    "__start_BTF",
    "__stop_BTF",
    "pid_max",
    "nr_cpu_ids",
    "jiffies_64",
    "swapper_pg_dir",
    /* The hypervisor's live-event hooks (hv/intro/hv_live.c). */
    "wake_up_new_task",
    "__set_task_comm",
    "do_exit",
};

struct gen {
    struct btf *btf;
    uint32_t ntypes;
    bool full;
    uint8_t *want;     /* per BTF id: 1 = emit as a user type */
    char **type_names; /* per BTF id: ISF name of composite/enum types */
    struct vmi_kallsyms ks;
    struct elf_image *img;
    char **extra_types, **extra_syms;
    size_t n_extra_types, n_extra_syms;
};

static void die(const char *msg) {
    fprintf(stderr, "vigil-mkprofile: %s\n", msg);
    exit(1);
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static uint32_t skip_mods(struct btf *btf, uint32_t id) {
    for (int d = 0; d < 64 && id; d++) {
        const struct btf_type *t = btf__type_by_id(btf, id);
        if (!t)
            return 0;
        if (!btf_is_mod(t) && !btf_is_type_tag(t))
            return id;
        id = t->type;
    }
    return id;
}

/* ISF names: named structs/unions/enums by name; anonymous ones reached through a typedef by
 * the typedef's name (kuid_t, atomic_t, ...), as dwarf2json does; others unnamed_<id>. */
static void assign_names(struct gen *g) {
    g->type_names = calloc(g->ntypes + 1, sizeof(char *));
    for (uint32_t id = 1; id <= g->ntypes; id++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (btf_is_typedef(t)) {
            uint32_t target = skip_mods(g->btf, t->type);
            const struct btf_type *tt = btf__type_by_id(g->btf, target);
            if (tt && (btf_is_composite(tt) || btf_is_any_enum(tt)) && tt->name_off == 0 &&
                !g->type_names[target])
                g->type_names[target] = strdup(btf__name_by_offset(g->btf, t->name_off));
        }
    }
    for (uint32_t id = 1; id <= g->ntypes; id++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (!(btf_is_composite(t) || btf_is_any_enum(t)) || g->type_names[id])
            continue;
        if (t->name_off) {
            g->type_names[id] = strdup(btf__name_by_offset(g->btf, t->name_off));
        } else {
            char buf[32];
            snprintf(buf, sizeof(buf), "unnamed_%08x", id);
            g->type_names[id] = strdup(buf);
        }
    }
}

static void type_desc(struct gen *g, uint32_t id, int depth);

static void base_desc(const char *name) {
    printf("{\"kind\":\"base\",\"name\":");
    json_str(name);
    putchar('}');
}

static void type_desc(struct gen *g, uint32_t id, int depth) {
    if (depth > 32 || id == 0) {
        base_desc("void");
        return;
    }
    const struct btf_type *t = btf__type_by_id(g->btf, id);
    switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_FLOAT:
        base_desc(btf__name_by_offset(g->btf, t->name_off));
        return;
    case BTF_KIND_PTR:
        printf("{\"kind\":\"pointer\",\"subtype\":");
        type_desc(g, t->type, depth + 1);
        putchar('}');
        return;
    case BTF_KIND_ARRAY: {
        const struct btf_array *a = btf_array(t);
        printf("{\"count\":%u,\"kind\":\"array\",\"subtype\":", a->nelems);
        type_desc(g, a->type, depth + 1);
        putchar('}');
        return;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
        printf("{\"kind\":\"%s\",\"name\":", btf_is_struct(t) ? "struct" : "union");
        json_str(g->type_names[id]);
        putchar('}');
        return;
    case BTF_KIND_FWD:
        printf("{\"kind\":\"%s\",\"name\":", btf_kflag(t) ? "union" : "struct");
        json_str(btf__name_by_offset(g->btf, t->name_off));
        putchar('}');
        return;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
        printf("{\"kind\":\"enum\",\"name\":");
        json_str(g->type_names[id]);
        putchar('}');
        return;
    case BTF_KIND_TYPEDEF: {
        uint32_t target = skip_mods(g->btf, t->type);
        const struct btf_type *tt = btf__type_by_id(g->btf, target);
        if (tt && btf_is_composite(tt) && tt->name_off == 0) {
            printf("{\"kind\":\"%s\",\"name\":", btf_is_struct(tt) ? "struct" : "union");
            json_str(g->type_names[target]);
            putchar('}');
            return;
        }
        type_desc(g, t->type, depth + 1);
        return;
    }
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
        type_desc(g, t->type, depth + 1);
        return;
    case BTF_KIND_FUNC_PROTO:
    case BTF_KIND_FUNC:
        printf("{\"kind\":\"function\"}");
        return;
    default:
        base_desc("void");
    }
}

/* The composite/enum type a field's type names (through arrays/typedefs/qualifiers, not
 * pointers), or 0. */
static uint32_t named_target(struct gen *g, uint32_t id) {
    for (int d = 0; d < 64 && id; d++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (btf_is_composite(t) || btf_is_any_enum(t))
            return id;
        if (btf_is_array(t))
            id = btf_array(t)->type;
        else if (btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t))
            id = t->type;
        else
            return 0;
    }
    return 0;
}

/* Marks id and, for compact output, what its fields need to be sized: every struct, union and
 * enum held by value (directly, through typedefs/qualifiers or in arrays), transitively; the
 * targets of pointers are not followed. */
static void want_type(struct gen *g, uint32_t id, int depth) {
    if (id == 0 || g->want[id] || depth > 64)
        return;
    g->want[id] = 1;
    const struct btf_type *t = btf__type_by_id(g->btf, id);
    if (!btf_is_composite(t))
        return;
    const struct btf_member *m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++) {
        uint32_t target = named_target(g, m[i].type);
        if (!target)
            continue;
        want_type(g, target, depth + 1);
    }
}

static bool in_list(const char *name, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static void select_types(struct gen *g) {
    g->want = calloc(g->ntypes + 1, 1);
    for (uint32_t id = 1; id <= g->ntypes; id++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (!btf_is_composite(t) && !btf_is_any_enum(t))
            continue;
        if (g->full) {
            g->want[id] = 1;
            continue;
        }
        if (t->name_off == 0 || btf_vlen(t) == 0)
            continue;
        const char *name = g->type_names[id];
        if (in_list(name, compact_types, sizeof(compact_types) / sizeof(compact_types[0])) ||
            in_list(name, (const char *const *)g->extra_types, g->n_extra_types))
            want_type(g, id, 0);
    }
}

/* Whether a named struct, union or enum with members is selected. */
static bool type_wanted(struct gen *g, const char *name) {
    for (uint32_t id = 1; id <= g->ntypes; id++)
        if (g->want[id] && g->type_names[id] && strcmp(g->type_names[id], name) == 0)
            return true;
    return false;
}

/* Says which of the compact names (and --types) this kernel's BTF lacks: expected for the
 * other side of a layout change (module_layout vs module_memory), a typo for --types. */
static void note_missing_types(struct gen *g) {
    if (g->full)
        return;
    const size_t nc = sizeof(compact_types) / sizeof(compact_types[0]);
    bool any = false;
    for (size_t i = 0; i < nc + g->n_extra_types; i++) {
        const char *name = i < nc ? compact_types[i] : g->extra_types[i - nc];
        if (type_wanted(g, name))
            continue;
        fprintf(stderr, "%s%s", any ? ", " : "vigil-mkprofile: types not in this kernel: ", name);
        any = true;
    }
    if (any)
        fputc('\n', stderr);
}

static void emit_base_types(struct gen *g) {
    printf("\"base_types\":{\"pointer\":{\"endian\":\"little\",\"kind\":\"int\",\"signed\":false,"
           "\"size\":8},\n\"void\":{\"endian\":\"little\",\"kind\":\"void\",\"signed\":false,"
           "\"size\":0}");
    char **seen = calloc(g->ntypes + 1, sizeof(char *));
    size_t nseen = 0;
    for (uint32_t id = 1; id <= g->ntypes; id++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (!btf_is_int(t) && !btf_is_float(t))
            continue;
        const char *name = btf__name_by_offset(g->btf, t->name_off);
        bool dup = false;
        for (size_t i = 0; i < nseen && !dup; i++)
            dup = strcmp(seen[i], name) == 0;
        if (dup || !*name)
            continue;
        seen[nseen++] = (char *)name;
        const char *kind = "int";
        bool sign = false;
        if (btf_is_float(t)) {
            kind = "float";
            sign = true;
        } else {
            uint8_t enc = BTF_INT_ENCODING(*(const uint32_t *)(t + 1));
            sign = enc & BTF_INT_SIGNED;
            if (enc & BTF_INT_BOOL)
                kind = "bool";
            else if (enc & BTF_INT_CHAR || strcmp(name, "char") == 0 ||
                     strstr(name, "char") != NULL)
                kind = "char";
        }
        printf(",\n");
        json_str(name);
        printf(":{\"endian\":\"little\",\"kind\":\"%s\",\"signed\":%s,\"size\":%u}", kind,
               sign ? "true" : "false", t->size);
    }
    free(seen);
    printf("},\n");
}

static void emit_user_types(struct gen *g) {
    printf("\"user_types\":{");
    bool first = true;
    char **emitted = calloc(g->ntypes + 1, sizeof(char *));
    size_t nem = 0;
    for (uint32_t id = 1; id <= g->ntypes; id++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (!g->want[id] || !btf_is_composite(t))
            continue;
        /* Several BTF structs may share a name (different definitions): keep the first
         * complete one, as lookups by name must be unambiguous. */
        bool dup = false;
        for (size_t i = 0; i < nem && !dup; i++)
            dup = strcmp(emitted[i], g->type_names[id]) == 0;
        if (dup)
            continue;
        emitted[nem++] = g->type_names[id];
        printf("%s\n", first ? "" : ",");
        first = false;
        json_str(g->type_names[id]);
        printf(":{\"fields\":{");
        const struct btf_member *m = btf_members(t);
        unsigned anon = 0;
        for (uint16_t i = 0; i < btf_vlen(t); i++) {
            uint32_t bits = btf_member_bit_offset(t, i);
            uint32_t bsize = btf_member_bitfield_size(t, i);
            if (i)
                putchar(',');
            if (m[i].name_off) {
                json_str(btf__name_by_offset(g->btf, m[i].name_off));
            } else {
                printf("\"unnamed_field_%x\"", anon++);
            }
            printf(":{");
            if (!m[i].name_off)
                printf("\"anonymous\":true,");
            if (bsize) {
                printf("\"offset\":%u,\"type\":{\"bit_length\":%u,\"bit_position\":%u,"
                       "\"kind\":\"bitfield\",\"type\":",
                       bits / 8, bsize, bits % 8);
                type_desc(g, m[i].type, 0);
                printf("}}");
            } else {
                printf("\"offset\":%u,\"type\":", bits / 8);
                type_desc(g, m[i].type, 0);
                putchar('}');
            }
        }
        printf("},\"kind\":\"%s\",\"size\":%u}", btf_is_struct(t) ? "struct" : "union", t->size);
    }
    free(emitted);
    printf("},\n");
}

static void emit_enums(struct gen *g) {
    printf("\"enums\":{");
    bool first = true;
    char **emitted = calloc(g->ntypes + 1, sizeof(char *));
    size_t nem = 0;
    for (uint32_t id = 1; id <= g->ntypes; id++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (!g->want[id] || !btf_is_any_enum(t))
            continue;
        bool dup = false;
        for (size_t i = 0; i < nem && !dup; i++)
            dup = strcmp(emitted[i], g->type_names[id]) == 0;
        if (dup)
            continue;
        emitted[nem++] = g->type_names[id];
        printf("%s\n", first ? "" : ",");
        first = false;
        json_str(g->type_names[id]);
        bool sign = btf_kflag(t);
        const char *base = t->size == 8 ? (sign ? "long long int" : "long long unsigned int")
                                        : (sign ? "int" : "unsigned int");
        printf(":{\"base\":\"%s\",\"constants\":{", base);
        for (uint16_t i = 0; i < btf_vlen(t); i++) {
            if (i)
                putchar(',');
            if (btf_is_enum(t)) {
                const struct btf_enum *e = btf_enum(t) + i;
                json_str(btf__name_by_offset(g->btf, e->name_off));
                printf(":%lld", sign ? (long long)e->val : (long long)(uint32_t)e->val);
            } else {
                const struct btf_enum64 *e = btf_enum64(t) + i;
                json_str(btf__name_by_offset(g->btf, e->name_off));
                uint64_t v = ((uint64_t)e->val_hi32 << 32) | e->val_lo32;
                if (sign)
                    printf(":%lld", (long long)v);
                else
                    printf(":%llu", (unsigned long long)v);
            }
        }
        printf("},\"size\":%u}", t->size);
    }
    free(emitted);
    printf("},\n");
}

/* Symbols: kallsyms in table order; a name seen twice keeps the first global definition. */
struct symrec {
    char *name;
    char type;
    uint64_t addr;
};
struct symlist {
    struct symrec *v;
    size_t n, cap;
};

static int collect_cb(void *ctx, const char *name, char type, uint64_t addr) {
    struct symlist *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4096;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (!l->v)
            die("out of memory");
    }
    l->v[l->n++] = (struct symrec){strdup(name), type, addr};
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    const struct symrec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    bool gx = x->type >= 'A' && x->type <= 'Z', gy = y->type >= 'A' && y->type <= 'Z';
    if (gx != gy)
        return gx ? -1 : 1;
    return x < y ? -1 : x > y; /* stable: table order */
}

static void base64(const uint8_t *d, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    putchar('"');
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        putchar(tab[(v >> 18) & 63]);
        putchar(tab[(v >> 12) & 63]);
        putchar(i + 1 < n ? tab[(v >> 6) & 63] : '=');
        putchar(i + 2 < n ? tab[v & 63] : '=');
    }
    putchar('"');
}

/* Types for symbols, so tools that read objects through symbols (Volatility's
 * object_from_symbol, e.g. init_task.tasks) can: BTF's VAR entries (per-CPU variables) and the
 * well-known globals below (BTF has no VAR for them). */
static const struct {
    const char *sym, *kind, *type;
} known_sym_types[] = {
    {"init_task", "struct", "task_struct"},     {"modules", "struct", "list_head"},
    {"init_mm", "struct", "mm_struct"},         {"init_uts_ns", "struct", "uts_namespace"},
    {"init_pid_ns", "struct", "pid_namespace"}, {"boot_cpu_data", "struct", "cpuinfo_x86"},
};

static int32_t find_named(struct gen *g, const char *name) {
    for (uint32_t id = 1; id <= g->ntypes; id++) {
        const struct btf_type *t = btf__type_by_id(g->btf, id);
        if (btf_is_composite(t) && t->name_off &&
            strcmp(btf__name_by_offset(g->btf, t->name_off), name) == 0)
            return (int32_t)id;
    }
    return -1;
}

/* Writes ,"type":{...} for a symbol, or nothing when its type is unknown. */
static void symbol_type(struct gen *g, const char *name, const char *banner) {
    if (strcmp(name, "linux_banner") == 0 && banner[0]) {
        printf(",\"type\":{\"count\":%zu,\"kind\":\"array\",\"subtype\":{\"kind\":\"base\","
               "\"name\":\"char\"}}",
               strlen(banner) + 1);
        return;
    }
    for (size_t i = 0; i < sizeof(known_sym_types) / sizeof(known_sym_types[0]); i++)
        if (strcmp(name, known_sym_types[i].sym) == 0) {
            if (find_named(g, known_sym_types[i].type) < 0)
                return;
            printf(",\"type\":{\"kind\":\"%s\",\"name\":", known_sym_types[i].kind);
            json_str(known_sym_types[i].type);
            putchar('}');
            return;
        }
    int32_t var = btf__find_by_name_kind(g->btf, name, BTF_KIND_VAR);
    if (var > 0) {
        printf(",\"type\":");
        type_desc(g, btf__type_by_id(g->btf, (uint32_t)var)->type, 0);
    }
}

static void emit_symbols(struct gen *g, char *banner, size_t banner_cap) {
    struct symlist l = {0};
    if (vmi_kallsyms_foreach(&g->ks, collect_cb, &l) != 0)
        die(g->ks.why);
    /* Sort by name keeping table order among equals, so duplicates are adjacent. */
    qsort(l.v, l.n, sizeof(*l.v), cmp_name);
    printf("\"symbols\":{");
    bool first = true;
    size_t count = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (i && strcmp(l.v[i].name, l.v[i - 1].name) == 0)
            continue;
        bool keep = g->full ||
                    in_list(l.v[i].name, compact_symbols,
                            sizeof(compact_symbols) / sizeof(compact_symbols[0])) ||
                    in_list(l.v[i].name, (const char *const *)g->extra_syms, g->n_extra_syms);
        bool is_banner = strcmp(l.v[i].name, "linux_banner") == 0;
        if (is_banner) {
            uint8_t buf[512] = {0};
            if (elf_image_read_kva(g->img, l.v[i].addr, buf, sizeof(buf) - 1) == 0) {
                size_t n = strnlen((char *)buf, sizeof(buf) - 1);
                snprintf(banner, banner_cap, "%.*s", (int)n, (char *)buf);
            }
        }
        if (!keep)
            continue;
        printf("%s\n", first ? "" : ",");
        first = false;
        json_str(l.v[i].name);
        printf(":{\"address\":%llu", (unsigned long long)l.v[i].addr);
        if (is_banner && banner[0]) {
            printf(",\"constant_data\":");
            base64((const uint8_t *)banner, strlen(banner) + 1);
        }
        symbol_type(g, l.v[i].name, banner);
        putchar('}');
        count++;
    }
    printf("}\n");
    fprintf(stderr, "vigil-mkprofile: %zu kallsyms symbols, %zu written\n", l.n, count);
    /* Compact names (and --symbols) this kernel lacks: e.g. current_task, which 6.2+ moved into
     * pcpu_hot. */
    const size_t nc = sizeof(compact_symbols) / sizeof(compact_symbols[0]);
    bool any = false;
    for (size_t k = 0; !g->full && k < nc + g->n_extra_syms; k++) {
        const char *name = k < nc ? compact_symbols[k] : g->extra_syms[k - nc];
        bool found = false;
        for (size_t i = 0; i < l.n && !found; i++)
            found = strcmp(l.v[i].name, name) == 0;
        if (found)
            continue;
        fprintf(stderr, "%s%s", any ? ", " : "vigil-mkprofile: symbols not in this kernel: ", name);
        any = true;
    }
    if (any)
        fputc('\n', stderr);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
}

static void split_list(const char *arg, char ***out, size_t *n) {
    char *copy = strdup(arg), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        *out = realloc(*out, (*n + 1) * sizeof(char *));
        (*out)[(*n)++] = strdup(tok);
    }
    free(copy);
}

int main(int argc, char **argv) {
    struct gen g = {0};
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0)
            g.full = true;
        else if (strcmp(argv[i], "--compact") == 0)
            g.full = false;
        else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc)
            split_list(argv[++i], &g.extra_types, &g.n_extra_types);
        else if (strcmp(argv[i], "--symbols") == 0 && i + 1 < argc)
            split_list(argv[++i], &g.extra_syms, &g.n_extra_syms);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: vigil-mkprofile [--full|--compact] [--types A,B] "
                            "[--symbols X,Y] KERNEL_IMAGE > profile.isf.json\n");
            return 2;
        }
    }
    if (!path)
        die("no kernel image given (vmlinux or vmlinuz)");
    struct elf_image img;
    if (elf_image_open(&img, path) != 0)
        die(img.err);
    g.img = &img;
    const uint8_t *btf_data;
    size_t btf_size;
    uint64_t btf_addr;
    if (elf_image_section(&img, ".BTF", &btf_data, &btf_size, &btf_addr) != 0)
        die("the image has no .BTF section (kernel built without DEBUG_INFO_BTF)");
    g.btf = btf__new(btf_data, btf_size);
    if (!g.btf)
        die("libbpf cannot parse the image's .BTF section");
    g.ntypes = btf__type_cnt(g.btf) - 1;
    size_t arena_size = 1 << 20;
    struct vmi_arena arena = {malloc(arena_size), arena_size, 0};
    if (vmi_kallsyms_init(&g.ks, elf_image_read_kva, &img, img.text_lo, img.text_hi, &arena) != 0)
        die(g.ks.why);
    assign_names(&g);
    select_types(&g);
    note_missing_types(&g);

    char banner[512] = ""; /* filled by emit_symbols when it meets linux_banner */
    printf("{");
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    /* Volatility's schema (6.2.0) only knows dwarf/symtab/system-map sources: kallsyms is the
     * kernel's symbol table ("symtab"); where the types came from is said in producer. */
    printf("\"metadata\":{\"format\":\"6.2.0\",\"linux\":{\"symbols\":[{\"kind\":\"symtab\","
           "\"name\":");
    json_str(base);
    printf("}]},\"producer\":{\"name\":\"vigil-mkprofile\",\"version\":\"1\",\"mode\":\"%s\","
           "\"symbols\":\"kallsyms\",\"types\":\"btf\"}},\n",
           g.full ? "full" : "compact");
    emit_base_types(&g);
    emit_user_types(&g);
    emit_enums(&g);
    emit_symbols(&g, banner, sizeof(banner));
    printf("}\n");
    if (!banner[0])
        fprintf(stderr, "vigil-mkprofile: warning: no linux_banner found\n");
    else
        fprintf(stderr, "vigil-mkprofile: %s", banner);
    btf__free(g.btf);
    elf_image_close(&img);
    return fflush(stdout) == 0 ? 0 : 1;
}
