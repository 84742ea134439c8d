/* vigil-vmi: offline introspection of a Linux guest memory dump, printing exactly the report
 * events the hypervisor prints (vmi/vmi_report.h).
 *
 *   vigil-vmi [--profile ISF.json] [--jsonl] [--regs FILE] [--no-regs] [--no-procs]
 *             [--no-modules] [--tree] DUMP
 *
 * DUMP is a QEMU dump-guest-memory ELF (registers from its CPU notes) or a raw guest-physical
 * memory image (registers from --regs FILE; see tools/dump_reader.h and docs/vmi.md). --no-regs
 * ignores every register and finds the kernel by the physical-memory scan. --tree orders the proc
 * events as the process tree, each with its depth. --jsonl renders the events as JSON Lines, else
 * as text lines (base/report.h). Exit status: 0 when
 * every report was produced, 1 on an introspection error (reported as a vmi_error event), 2 on
 * usage or input errors. */
#include "base/report.h"
#include "tools/dump_reader.h"
#include "vmi/vmi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void sink_stdout(void *ctx, const char *data, size_t len) {
    (void)ctx;
    fwrite(data, 1, len, stdout);
}

static void usage(void) {
    fprintf(stderr, "usage: vigil-vmi [--profile ISF.json] [--jsonl] [--regs FILE] [--no-regs] "
                    "[--no-procs] [--no-modules] [--tree] DUMP\n");
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = (n + 65536 + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, 65536, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    const char *profile = NULL, *regs = NULL, *path = NULL;
    bool jsonl = false, no_regs = false;
    struct vmi_run_opts o = {.processes = true, .modules = true};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--profile") && i + 1 < argc)
            profile = argv[++i];
        else if (!strcmp(argv[i], "--regs") && i + 1 < argc)
            regs = argv[++i];
        else if (!strcmp(argv[i], "--jsonl"))
            jsonl = true;
        else if (!strcmp(argv[i], "--no-regs"))
            no_regs = true;
        else if (!strcmp(argv[i], "--no-procs"))
            o.processes = false;
        else if (!strcmp(argv[i], "--tree"))
            o.tree = true;
        else if (!strcmp(argv[i], "--no-modules"))
            o.modules = false;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else if (argv[i][0] == '-' || path) {
            usage();
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        usage();
        return 2;
    }
    static struct dump d;
    if (dump_open(&d, path, regs)) {
        fprintf(stderr, "vigil-vmi: %s\n", d.error);
        return 2;
    }
    char *pj = NULL;
    if (profile) {
        pj = read_file(profile, &o.profile_len);
        if (!pj) {
            fprintf(stderr, "vigil-vmi: cannot read profile %s: %s\n", profile, strerror(errno));
            return 2;
        }
        o.profile_json = pj;
    }
    struct vmi_mem mem;
    dump_mem(&d, &mem);
    struct vmi_arena arena = {.size = 256u << 20};
    arena.base = malloc(arena.size);
    if (!arena.base) {
        fprintf(stderr, "vigil-vmi: out of memory\n");
        return 2;
    }
    static struct report r;
    report_init(&r, jsonl ? REPORT_JSONL : REPORT_TEXT, sink_stdout, NULL);
    static struct vmi_session s;
    int rc = vmi_run(&s, &mem, no_regs ? NULL : d.cpus, no_regs ? 0 : d.ncpus, &o, &arena, &r);
    report_flush(&r);
    fflush(stdout);
    free(arena.base);
    free(pj);
    dump_close(&d);
    return rc ? 1 : 0;
}
