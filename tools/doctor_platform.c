#include "tools/doctor_platform.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ENTRIES 256

/* Appends to a text buffer, never past its end. */
static void add(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t cap, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

void doctor_check_hypervisor(const struct doctor_root *r, const struct doctor_cpuinfo *ci,
                             struct doctor_item *it) {
    bool bit = ci->read && doctor_has_word(ci->flags, "hypervisor");
    char type[64] = "", vendor[64] = "";
    bool sys = droot_read_line(r, "/sys/hypervisor/type", type, sizeof(type)) > 0;
    droot_read_line(r, "/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
    if (!bit && !sys) {
        doctor_set(it, DOC_INFO, NULL,
                   "none (no CPUID hypervisor bit, no /sys/hypervisor): vigil runs on the "
                   "hardware");
        return;
    }
    char what[200] = "";
    if (bit)
        add(what, sizeof(what), "CPUID hypervisor bit");
    if (sys)
        add(what, sizeof(what), "%s/sys/hypervisor/type %s", what[0] ? ", " : "", type);
    if (vendor[0])
        add(what, sizeof(what), "%ssystem vendor %s", what[0] ? ", " : "", vendor);
    doctor_set(it, DOC_INFO, NULL,
               "this OS already runs under a hypervisor (%s): vigil would be a nested "
               "hypervisor and needs VT-x passed through to this machine (see vt-x)",
               what);
}

void doctor_check_nested(const struct doctor_root *r, const struct doctor_cpuinfo *ci,
                         struct doctor_item *it) {
    char nested[16] = "";
    bool intel = ci->read && !strcmp(ci->vendor, "GenuineIntel");
    long n = droot_read_line(r, "/sys/module/kvm_intel/parameters/nested", nested, sizeof(nested));
    /* The test scripts' rule (qemu-scripts/lib.sh h_kvm_nested): Intel CPU, /dev/kvm readable
     * and writable, kvm_intel nested=Y or 1. */
    if (!intel) {
        doctor_set(it, DOC_INFO, NULL,
                   "no nested VT-x for QEMU/KVM: the CPU is not Intel; `make run` and the "
                   "hypervisor tests use Bochs (software VT-x)");
    } else if (n < 0) {
        doctor_set(it, DOC_INFO, NULL,
                   "kvm_intel not loaded: `make run` and the hypervisor tests use Bochs "
                   "(`modprobe kvm_intel nested=1` for QEMU/KVM with nested VT-x)");
    } else if (strcmp(nested, "Y") && strcmp(nested, "1")) {
        doctor_set(it, DOC_INFO, NULL,
                   "kvm_intel nested=%s: `make run` uses Bochs (reload kvm_intel with nested=1 "
                   "for QEMU/KVM with nested VT-x)",
                   nested);
    } else if (droot_access(r, "/dev/kvm", R_OK | W_OK) != 0) {
        doctor_set(it, DOC_INFO, NULL,
                   "kvm_intel nested=%s, but /dev/kvm is missing or not usable by this user: "
                   "`make run` uses Bochs",
                   nested);
    } else {
        doctor_set(it, DOC_INFO, NULL,
                   "kvm_intel nested=%s, /dev/kvm usable: `make run` and run-qemu.sh use "
                   "QEMU/KVM with nested VT-x",
                   nested);
    }
}

/* UEFI 2.10 section 3.3: SecureBoot (EFI_GLOBAL_VARIABLE) is one byte, 1 = enabled; efivarfs
 * prefixes every variable with its 4-byte attributes. */
#define SECURE_BOOT_VAR "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

void doctor_check_uefi(const struct doctor_root *r, struct doctor_item *uefi,
                       struct doctor_item *sb) {
    if (!droot_exists(r, "/sys/firmware")) {
        doctor_set(uefi, DOC_UNKNOWN, "UEFI boot unknown (no /sys/firmware)",
                   "no /sys/firmware: sysfs is not mounted, or hidden (a container)");
        doctor_set(sb, DOC_UNKNOWN, "Secure Boot state unknown", "no /sys/firmware");
        return;
    }
    if (!droot_exists(r, "/sys/firmware/efi")) {
        doctor_set(uefi, DOC_FAIL, "not booted through UEFI",
                   "no /sys/firmware/efi: this OS was started by a legacy BIOS (or the firmware "
                   "hides UEFI from it); vigil is a UEFI application");
        doctor_set(sb, DOC_INFO, NULL, "not applicable (no UEFI)");
        return;
    }
    doctor_set(uefi, DOC_OK, NULL, "booted through UEFI (/sys/firmware/efi)");
    char buf[16];
    char path[2048];
    long n = droot_read(r, SECURE_BOOT_VAR, buf, sizeof(buf));
    if (n == -ENOENT && !droot_exists(r, "/sys/firmware/efi/efivars/.")) {
        doctor_set(sb, DOC_UNKNOWN, "Secure Boot state unknown",
                   "efivarfs is not mounted at /sys/firmware/efi/efivars (mount -t efivarfs none "
                   "/sys/firmware/efi/efivars)");
        return;
    }
    if (n == -ENOENT) {
        doctor_set(sb, DOC_OK, NULL, "off (the firmware has no SecureBoot variable)");
        return;
    }
    if (n < 5) {
        droot_path(r, SECURE_BOOT_VAR, path, sizeof(path));
        doctor_set(sb, DOC_UNKNOWN, "Secure Boot state unknown", "%s: %s", path,
                   n < 0 ? strerror((int)-n) : "shorter than 5 bytes");
        return;
    }
    if (buf[4] == 1) {
        doctor_set(sb, DOC_FAIL, "Secure Boot is on",
                   "on: the firmware refuses the unsigned build/vigil.efi (sign it with a key in "
                   "db, or turn Secure Boot off in the firmware setup)");
        return;
    }
    doctor_set(sb, DOC_OK, NULL, "off");
}

/* Linux's uart types (include/uapi/linux/serial_core.h): 0 is PORT_UNKNOWN, i.e. no UART
 * answered at that ttyS; every other type is an 8250-family UART that vigil's polled 16550 code
 * drives. io_type 0 is UPIO_PORT (I/O ports, which vigil uses; memory-mapped UARTs are not). */
static const char *uart_type_name(long t) {
    switch (t) {
    case 1:
        return "8250";
    case 2:
        return "16450";
    case 3:
        return "16550";
    case 4:
        return "16550A";
    default:
        return NULL;
    }
}

static const char *com_name(unsigned long port) {
    switch (port) {
    case 0x3f8:
        return "com1";
    case 0x2f8:
        return "com2";
    case 0x3e8:
        return "com3";
    case 0x2e8:
        return "com4";
    default:
        return NULL;
    }
}

static void add_uart(char *list, size_t cap, unsigned *count, bool *com1, const char *tty,
                     unsigned long port, const char *type) {
    const char *com = com_name(port);
    if (com)
        add(list, cap, "%s%s at 0x%lx (%s) = serial %s", *count ? ", " : "", tty, port, type, com);
    else
        add(list, cap, "%s%s at 0x%lx (%s) = serial 0x%lx", *count ? ", " : "", tty, port, type,
            port);
    if (port == 0x3f8)
        *com1 = true;
    (*count)++;
}

/* /proc/tty/driver/serial (root only): "0: uart:16550A port:000003F8 irq:4 ...". */
static long uarts_from_proc(const struct doctor_root *r, char *list, size_t cap, unsigned *count,
                            bool *com1) {
    static char buf[16384];
    long n = droot_read(r, "/proc/tty/driver/serial", buf, sizeof(buf));
    if (n < 0)
        return n;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        char *colon = strchr(line, ':');
        char *u = strstr(line, "uart:");
        char *p = strstr(line, "port:");
        if (colon && u && p && line[0] >= '0' && line[0] <= '9' && strncmp(u, "uart:unknown", 12)) {
            char type[16] = "", tty[24];
            sscanf(u + 5, "%15s", type);
            snprintf(tty, sizeof(tty), "ttyS%ld", strtol(line, NULL, 10));
            unsigned long port = strtoul(p + 5, NULL, 16);
            if (port)
                add_uart(list, cap, count, com1, tty, port, type);
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

void doctor_check_uart(const struct doctor_root *r, struct doctor_item *it) {
    static char names[MAX_ENTRIES][64];
    char list[480] = "";
    unsigned count = 0;
    bool com1 = false;
    long n = droot_list(r, "/sys/class/tty", names, MAX_ENTRIES);
    bool any_sys = false;
    for (long i = 0; i < n; i++) {
        if (strncmp(names[i], "ttyS", 4))
            continue;
        char rel[160], val[32];
        long type, io_type = 0;
        snprintf(rel, sizeof(rel), "/sys/class/tty/%s/type", names[i]);
        if (droot_read_line(r, rel, val, sizeof(val)) <= 0)
            continue;
        any_sys = true;
        type = strtol(val, NULL, 10);
        snprintf(rel, sizeof(rel), "/sys/class/tty/%s/io_type", names[i]);
        if (droot_read_line(r, rel, val, sizeof(val)) > 0)
            io_type = strtol(val, NULL, 10);
        snprintf(rel, sizeof(rel), "/sys/class/tty/%s/port", names[i]);
        if (type == 0 || io_type != 0 || droot_read_line(r, rel, val, sizeof(val)) <= 0)
            continue;
        unsigned long port = strtoul(val, NULL, 16);
        if (port == 0)
            continue;
        char tname[16];
        const char *tn = uart_type_name(type);
        if (!tn) {
            snprintf(tname, sizeof(tname), "type %ld", type);
            tn = tname;
        }
        add_uart(list, sizeof(list), &count, &com1, names[i], port, tn);
    }
    if (!any_sys && uarts_from_proc(r, list, sizeof(list), &count, &com1) < 0) {
        doctor_set(it, DOC_UNKNOWN, "UARTs unknown",
                   "neither /sys/class/tty/ttyS*/type nor /proc/tty/driver/serial is readable");
        return;
    }
    if (count == 0) {
        doctor_set(it, DOC_FAIL, "no 16550 UART at an I/O port",
                   "no 16550 UART at an I/O port: vigil would have nowhere to write its report "
                   "(add one, e.g. a PCIe serial card with an I/O BAR, and set serial = <port>)");
        return;
    }
    doctor_set(it, DOC_OK, NULL, "%s%s; the one vigil uses is hidden from the OS", list,
               com1 ? "" : "; no com1: set serial in vigil.cfg (its default is com1)");
}

void doctor_check_iommu(const struct doctor_root *r, struct doctor_item *it) {
    static char names[MAX_ENTRIES][64];
    long n = droot_list(r, "/sys/class/iommu", names, MAX_ENTRIES);
    if (n < 0 || n == 0) {
        doctor_set(it, DOC_INFO, NULL,
                   "none found (%s): device DMA is not confined; vigil's EPT protection does "
                   "not cover DMA either way",
                   n < 0 ? "no /sys/class/iommu" : "/sys/class/iommu is empty");
        return;
    }
    char list[256] = "";
    for (long i = 0; i < n && i < 8; i++)
        add(list, sizeof(list), "%s%s", i ? ", " : "", names[i]);
    if (n > 8)
        add(list, sizeof(list), " +%ld more", n - 8);
    doctor_set(it, DOC_INFO, NULL,
               "present (%s), used by the OS: vigil does not program it, and its EPT protection "
               "does not cover DMA",
               list);
}
