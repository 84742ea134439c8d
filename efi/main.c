/* vigil.efi entry: read the config, compare it with the one sealed at the previous boot
 * (efi_seal.h), bring up the report port, detect VT-x, then chain-load the next boot stage. This is
 * the only place (with the other efi/ files) that calls UEFI. */
#include <efi.h>
#include <efilib.h>

#include "base/fmt.h"
#include "base/lib.h"
#include "base/report.h"
#include "base/serial.h"
#include "efi/config.h"
#include "efi/efi_chainload.h"
#include "efi/efi_file.h"
#include "efi/efi_profile.h"
#include "efi/efi_seal.h"
#include "efi/efi_serial_claim.h"
#include "efi/efi_status.h"
#include "efi/hv_load.h"
#include "efi/vmx_caps.h"
#include "version.h"

#define CONFIG_PATH L"\\EFI\\vigil\\vigil.cfg"
#define CONFIG_PATH_ASCII "\\EFI\\vigil\\vigil.cfg"

static struct vigil_config cfg;
static struct efi_profile profile;
static struct efi_seal seal;
static struct serial uart;
static struct report rep;

/* Config problems are found before the report port is configured (the config names it), so
 * they are kept and reported once the port is up. */
static struct {
    unsigned line;
    char msg[200];
} config_errors[CONFIG_MAX_ERRORS + 1];
static unsigned n_config_errors;

static void keep_config_error(void *ctx, unsigned line, const char *msg) {
    (void)ctx;
    if (n_config_errors < ARRAY_SIZE(config_errors)) {
        config_errors[n_config_errors].line = line;
        lib_strlcpy(config_errors[n_config_errors].msg, msg, sizeof(config_errors[0].msg));
        n_config_errors++;
    }
}

/* Screen output for people without a serial console: ASCII → UCS-2, "\n" → "\r\n". */
static void conout_sink(void *ctx, const char *data, size_t len) {
    (void)ctx;
    CHAR16 buf[130];
    UINTN n = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n')
            buf[n++] = L'\r';
        buf[n++] = (CHAR16)(unsigned char)data[i];
        if (n >= 126 || i + 1 == len) {
            buf[n] = 0;
            uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, buf);
            n = 0;
        }
    }
}

static void report_config_error(unsigned line, const char *msg) {
    report_begin(&rep, "config_error");
    report_u64(&rep, "line", line);
    report_str(&rep, "msg", msg);
    report_end(&rep);
}

static void report_chainload(const char *status, const char *msg) {
    report_begin(&rep, "chainload");
    report_str(&rep, "path", cfg.next);
    report_str(&rep, "args", cfg.next_args);
    report_str(&rep, "status", status);
    if (msg)
        report_str(&rep, "msg", msg);
    report_end(&rep);
}

static void before_start(void *ctx) {
    (void)ctx;
    report_chainload("starting", NULL);
}

static const char *chainload_problem(EFI_STATUS st, const char *stage) {
    if (st == EFI_NOT_FOUND && stage[0] == 'l')
        return "not found on the boot volume";
    if (st == EFI_LOAD_ERROR || st == EFI_UNSUPPORTED)
        return "not a loadable EFI image for this machine";
    if (st == EFI_SECURITY_VIOLATION || st == EFI_ACCESS_DENIED)
        return "refused by the firmware's image verification (Secure Boot)";
    if (stage[0] == 's')
        return "started, then returned with an error";
    return "could not be loaded";
}

static __attribute__((noreturn)) void halt_forever(void) {
    for (;;)
        __asm__ volatile("cli; hlt");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab) {
    InitializeLib(image, systab);

    EFI_LOADED_IMAGE *self = NULL;
    EFI_STATUS st =
        uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&self);
    config_defaults(&cfg);
    const char *config_state = "missing";
    if (!EFI_ERROR(st) && self) {
        char *text = NULL;
        UINTN len = 0;
        EFI_STATUS fs =
            efi_read_file(self->DeviceHandle, CONFIG_PATH, &text, &len, CONFIG_FILE_MAX);
        if (!EFI_ERROR(fs)) {
            config_state = "loaded";
            config_parse(&cfg, text, len, keep_config_error, NULL);
            FreePool(text);
        } else if (fs != EFI_NOT_FOUND) {
            char msg[200];
            config_state = "unreadable";
            if (fs == EFI_BAD_BUFFER_SIZE)
                fmt_snprintf(msg, sizeof(msg),
                             "%s is too large (%llu bytes, limit %d); defaults "
                             "used",
                             CONFIG_PATH_ASCII, (unsigned long long)len, CONFIG_FILE_MAX);
            else
                fmt_snprintf(msg, sizeof(msg), "cannot read %s: %s; defaults used",
                             CONFIG_PATH_ASCII, efi_status_name(fs));
            keep_config_error(NULL, 0, msg);
        }
    } else {
        keep_config_error(NULL, 0,
                          "cannot find the boot volume (no loaded-image protocol); "
                          "defaults used");
    }

    /* Compare with the config and profile sealed at the previous boot and decide which config is
     * in effect (it may be the sealed one): before the report port, which the config names. */
    efi_seal_check(self ? self->DeviceHandle : NULL, &cfg, &profile, &seal);

    char port_name[16];
    config_serial_name(cfg.serial_port, port_name, sizeof(port_name));
    /* The report port is vigil's alone: take it away from the firmware console first. */
    EFI_STATUS claim = efi_claim_serial_port(cfg.serial_port);
    const char *fw_console = claim == EFI_SUCCESS     ? "detached"
                             : claim == EFI_NOT_FOUND ? "none"
                                                      : efi_status_name(claim);
    if (serial_init(&uart, cfg.serial_port, cfg.baud)) {
        report_init(&rep, cfg.report, serial_report_sink, &uart);
    } else {
        /* No UART there: the reports still reach the screen rather than nowhere. */
        report_init(&rep, cfg.report, conout_sink, NULL);
    }
    /* Whatever the firmware wrote on this port before vigil ran ends here: vigil's first report
     * starts on a line of its own. */
    report_write(&rep, "\n", 1);
    report_flush(&rep);
    Print(L"vigil %a: reports on %a%a\n", VIGIL_VERSION, port_name,
          uart.present ? "" : " (no UART found there: using the screen)");

    report_begin(&rep, "start");
    report_str(&rep, "version", VIGIL_VERSION);
    report_str(&rep, "serial", port_name);
    report_u64(&rep, "baud", cfg.baud);
    report_str(&rep, "config", config_state);
    report_str(&rep, "firmware_console", fw_console);
    report_str(&rep, "seal", efi_seal_state(&seal));
    report_end(&rep);
    for (unsigned i = 0; i < n_config_errors; i++)
        report_config_error(config_errors[i].line, config_errors[i].msg);
    efi_seal_report(&rep, &seal);
    if (seal.plan.outcome == SEAL_CHANGED && !seal.unavailable)
        Print(L"vigil: the config or profile changed since the sealed boot (%a); see the "
              L"report\n",
              seal.plan.use_sealed_config ? "the sealed config is in effect"
                                          : "the new config is in effect");

    static struct vmx_raw raw;
    static struct vmx_caps caps;
    vmx_caps_read(&raw);
    vmx_caps_decode(&raw, &caps);
    vmx_caps_report(&rep, &raw, &caps);

    if (!caps.usable && cfg.on_no_vmx == ON_NO_VMX_HALT) {
        report_begin(&rep, "halt");
        report_str(&rep, "reason", "VT-x not usable and on_no_vmx = halt");
        report_end(&rep);

        Print(L"vigil: VT-x not usable (%a); on_no_vmx = halt: the machine stops here.\n",
              caps.reason);
        halt_forever();
    }

    if (caps.usable)
        hv_load_and_start(&cfg, &profile, &rep, VIGIL_VERSION);
    /* The hypervisor has its own copy in reserved pages. */
    efi_profile_free(&profile);

    if (!cfg.next[0]) {
        report_chainload("not_configured",
                         "no next stage configured (config key next); back to the firmware");
        Print(L"vigil: no next stage configured; returning to the firmware\n");
        return EFI_NOT_FOUND;
    }
    const char *stage = "load";
    st = efi_chainload(image, self ? self->DeviceHandle : NULL, cfg.next, cfg.next_args, &stage,
                       before_start, NULL);
    if (EFI_ERROR(st)) {
        const char *why = chainload_problem(st, stage);
        report_chainload(efi_status_name(st), why);
        Print(L"vigil: next stage %a: %a (%a); returning to the firmware\n", cfg.next, why,
              efi_status_name(st));
        return st;
    }
    report_chainload("returned", "the next stage exited successfully; back to the firmware");
    return EFI_SUCCESS;
}
