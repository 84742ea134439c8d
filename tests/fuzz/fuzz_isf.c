/* libFuzzer target for the JSON and ISF readers (vmi/json.c, vmi/isf.c) behind the profile
 * symbol source: the input is the ISF document; the queries are those the walkers make. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmi/isf.h"
#include "vmi/vmi_symbols.h"

static uint8_t arena_mem[256 * 1024];

/* A small valid ISF document: odd first input byte = byte replacements in it. */
static const char base_doc[] =
    "{\"base_types\":{\"int\":{\"size\":4,\"kind\":\"int\"},\"pointer\":{\"size\":8}},"
    "\"user_types\":{\"task_struct\":{\"size\":64,\"kind\":\"struct\",\"fields\":{"
    "\"pid\":{\"offset\":4,\"type\":{\"kind\":\"base\",\"name\":\"int\"}},"
    "\"unnamed_field_0\":{\"anonymous\":true,\"offset\":8,\"type\":{\"kind\":\"union\","
    "\"name\":\"a\"}},\"se\":{\"offset\":16,\"type\":{\"kind\":\"struct\",\"name\":\"a\"}},"
    "\"arr\":{\"offset\":24,\"type\":{\"kind\":\"array\",\"count\":4,\"subtype\":{"
    "\"kind\":\"pointer\",\"subtype\":{\"kind\":\"base\",\"name\":\"void\"}}}},"
    "\"bf\":{\"offset\":56,\"type\":{\"kind\":\"bitfield\",\"bit_position\":3,"
    "\"bit_length\":9,\"type\":{\"kind\":\"base\",\"name\":\"int\"}}}}},"
    "\"a\":{\"size\":8,\"kind\":\"union\",\"fields\":{\"tgid\":{\"offset\":0,\"type\":{"
    "\"kind\":\"enum\",\"name\":\"e\"}},\"exec_start\":{\"offset\":0,\"type\":{"
    "\"kind\":\"base\",\"name\":\"int\"}}}}},\"enums\":{\"e\":{\"size\":4}},"
    "\"symbols\":{\"init_task\":{\"address\":18446744071600000000},\"linux_banner\":{"
    "\"address\":1,\"constant_data\":\"TGludXgK\"}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *doc;
    bool pristine = size && (data[0] & 1) && size < 4;
    if (size && (data[0] & 1)) {
        doc = malloc(sizeof(base_doc) - 1);
        memcpy(doc, base_doc, sizeof(base_doc) - 1);
        for (size_t i = 1; i + 3 <= size; i += 3)
            doc[((size_t)data[i] | ((size_t)data[i + 1] << 8)) % (sizeof(base_doc) - 1)] =
                (char)data[i + 2];
        data = (const uint8_t *)doc;
        size = sizeof(base_doc) - 1;
    } else {
        /* An exact-size heap copy so ASan sees any read past the end. */
        doc = malloc(size ? size : 1);
        memcpy(doc, data, size);
    }
    struct vmi_arena a = {arena_mem, size % 3 == 0 ? sizeof(arena_mem) : 2048, 0};
    struct vmi_symsrc s;
    int rc = vmi_symsrc_isf_init(&s, doc, size, &a);
    if (pristine) { /* the unedited base document must read correctly */
        struct vmi_member m;
        if (rc != VMI_OK || s.member(s.ctx, "task_struct", "exec_start", &m) != VMI_OK ||
            m.offset != 8 || m.size != 4)
            __builtin_trap();
    }
    if (rc == VMI_OK) {
        static const char *const q[][2] = {
            {"task_struct", "pid"},
            {"task_struct", "tgid"},
            {"task_struct", "se.exec_start"},
            {"a", "b"},
            {"a", "b.c.d"},
            {"cred", "uid"},
            {"module", "core_layout.base"},
            {"task_struct", "arr"},
            {"task_struct", "bf"},
            {"task_struct", "se.tgid"},
        };
        struct vmi_member m;
        for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
            (void)s.member(s.ctx, q[i][0], q[i][1], &m);
        uint32_t sz;
        uint64_t addr;
        (void)s.struct_size(s.ctx, "task_struct", &sz);
        (void)s.struct_size(s.ctx, "a", &sz);
        s.set_slide(s.ctx, 0x1000);
        (void)s.sym(s.ctx, "init_task", &addr);
        (void)s.sym(s.ctx, "a", &addr);
        char banner[64];
        (void)vmi_symsrc_banner(&s, banner, sizeof(banner));
    }
    (void)vmi_symsrc_error(&s);
    free(doc);
    return 0;
}
