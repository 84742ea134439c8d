/* vigil.cfg: `key = value` lines, `#` comment lines, a later line for a key wins. Parsing never
 * fails as a whole: every bad line is reported through the error callback with its line number
 * and the rest still loads (README "Configuration"). */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include "base/report.h"
#include "hv/core/hv_image.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX 256
#define CONFIG_ARGS_MAX 1024
#define CONFIG_LINE_MAX 1280
#define CONFIG_FILE_MAX 65536
#define CONFIG_MAX_ERRORS 32

/* What the loader does when the config or profile differs from the sealed one of the previous
 * boot (efi/efi_seal.c). The sealed value decides, not the one in the file (README). */
enum config_on_change { ON_CHANGE_ACCEPT = 0, ON_CHANGE_PREVIOUS = 1 };

struct vigil_config {
    uint16_t serial_port; /* I/O base of the report UART */
    uint32_t baud;
    enum report_mode report;
    char next[CONFIG_PATH_MAX];      /* next boot stage on the same volume; "" = none */
    char next_args[CONFIG_ARGS_MAX]; /* its load options */
    enum config_on_no_vmx on_no_vmx;
    uint32_t heartbeat_s;          /* 0 = off */
    bool stealth;                  /* hide the hypervisor CPUID leaves and CPUID.1:ECX[31] */
    char profile[CONFIG_PATH_MAX]; /* ISF profile on the boot volume; "" = auto mode */
    uint32_t rescan_s;             /* full process re-scan interval; 0 = off */
    bool live;                     /* live process events (INT3 hooks) */
    enum config_on_change on_change;
    /* Test-only fault injection (README): never set them on a machine to protect. */
    uint32_t test_virtualize_cpus;  /* virtualize only processors 0..n-1; 0 = all */
    uint32_t test_stall_boot_cpu_s; /* boot CPU to wait-for-SIPI this long after the OS starts */
    enum config_apic_handover apic_handover;
};

/* Called once per problem. line is 1-based; 0 means the file as a whole. */
typedef void (*config_error_fn)(void *ctx, unsigned line, const char *msg);

void config_defaults(struct vigil_config *cfg);
/* Parses text[0..len) over cfg (which holds defaults or earlier values). Returns the number of
 * problems found (all of them, even past CONFIG_MAX_ERRORS, after which the callback is told once
 * that further problems are not listed). */
unsigned config_parse(struct vigil_config *cfg, const char *text, size_t len, config_error_fn err,
                      void *ctx);

/* The keys in a fixed order (the order of the sealed record and of config_changed reports). */
unsigned config_key_count(void);
const char *config_key_name(unsigned i); /* NULL past the end */
/* Longest value config_format_value writes, with its NUL. */
#define CONFIG_VALUE_MAX CONFIG_ARGS_MAX
/* The effective value of key i in its canonical form: `key = "<value>"` (quoted) parses back to
 * the same setting, and two configs that behave alike format alike. Returns buf ("" for a bad i).
 */
const char *config_format_value(const struct vigil_config *cfg, unsigned i, char *buf, size_t size);

/* "com1".."com4" for the standard ports, else "0x<hex>". */
const char *config_serial_name(uint16_t port, char *buf, size_t size);

#endif
