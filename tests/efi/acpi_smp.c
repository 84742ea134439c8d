/* acpi-smp.efi: a test-only boot stage that lets Linux find and start every CPU on a firmware
 * that installs no ACPI tables (Debian's OVMF on Bochs). Without a MADT, Linux boots with one CPU
 * (and the harness has to pass acpi=off).
 *
 *   acpi-smp.efi NEXT [ARGS...]
 *
 * It reads the machine from the firmware and the chipset (each CPU's APIC ID from
 * EFI_MP_SERVICES_PROTOCOL, the I/O APIC's ID register, the PIIX4's power-management I/O base),
 * installs a FACS, an empty DSDT, a FADT and a MADT through EFI_ACPI_TABLE_PROTOCOL (OVMF's
 * AcpiTableDxe, which then publishes the RSDP/XSDT as the ACPI 2.0 configuration table), and
 * chain-loads NEXT from its own volume with ARGS as load options (the kernel's EFI stub:
 * \vmlinuz initrd=\initrd.img ...). NEXT and ARGS come from the shell's argv when the UEFI shell
 * runs it (startup.nsh), else from the load options (vigil's next_args). A firmware that already
 * has ACPI tables gets none added. Its console lines start with "acpi-smp: ". */
#include <efi.h>
#include <efilib.h>

#include "efi/config.h"
#include "efi/efi_chainload.h"
#include "efi/efi_mp.h"
#include "tests/efi/acpi_tables.h"

#define EFI_ACPI_TABLE_PROTOCOL_GUID                                                               \
    {                                                                                              \
        0xffe06bdd, 0x6107, 0x46a6, {                                                              \
            0x7b, 0xb2, 0x5a, 0x9c, 0x7e, 0xc5, 0x27, 0x5c                                         \
        }                                                                                          \
    }

/* EFI_ACPI_TABLE_PROTOCOL (UEFI 2.9, 20.2); gnu-efi does not define it. */
typedef struct efi_acpi_table {
    EFI_STATUS(EFIAPI *InstallAcpiTable)
    (struct efi_acpi_table *self, VOID *table, UINTN size, UINTN *key);
    EFI_STATUS(EFIAPI *UninstallAcpiTable)(struct efi_acpi_table *self, UINTN key);
} EFI_ACPI_TABLE_PROTOCOL;

/* EFI_PROCESSOR_INFORMATION (PI 1.7 vol. 2, 13.4.3), with room for the extended topology that
 * newer firmware may append. */
struct processor_info {
    UINT64 processor_id; /* the local APIC ID on x86 */
    UINT32 status;       /* bit 0 BSP, bit 1 enabled, bit 2 healthy */
    UINT32 location[3];
    UINT32 extended[6];
};

#define IOAPIC_BASE 0xfec00000u
#define LAPIC_BASE 0xfee00000u
#define PIIX4_PM_BDF_CFG(reg) (0x80000000u | (0u << 16) | (1u << 11) | (3u << 8) | (reg))
#define PIIX4_PM_ID 0x71138086u /* vendor 8086, device 7113: PIIX4 power management */

static struct acpi_machine machine;
static uint8_t table_buf[4096];
static char next_path[CONFIG_PATH_MAX];
static char next_args[CONFIG_ARGS_MAX];

static void outl(uint16_t port, uint32_t v) {
    __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

static uint32_t inl(uint16_t port) {
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static uint32_t pci_cfg_read(uint32_t addr) {
    outl(0xcf8, addr);
    return inl(0xcfc);
}

/* I/O APIC register read through IOREGSEL (+0) / IOWIN (+0x10) (82093AA datasheet 3.0). */
static uint32_t ioapic_read(uint32_t reg) {
    volatile uint32_t *sel = (volatile uint32_t *)(UINTN)IOAPIC_BASE;
    volatile uint32_t *win = (volatile uint32_t *)(UINTN)(IOAPIC_BASE + 0x10);
    *sel = reg;
    return *win;
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* Every CPU's APIC ID from MP services; without them, this CPU's (CPUID.1:EBX[31:24]). */
static void gather_cpus(void) {
    EFI_GUID mp_guid = EFI_MP_SERVICES_PROTOCOL_GUID;
    EFI_MP_SERVICES_PROTOCOL *mp = NULL;
    UINTN total = 0, enabled = 0;
    machine.ncpus = 0;
    if (!EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &mp_guid, NULL, (void **)&mp)) &&
        !EFI_ERROR(uefi_call_wrapper(mp->GetNumberOfProcessors, 3, mp, &total, &enabled))) {
        for (UINTN n = 0; n < total && machine.ncpus < ACPI_MAX_CPUS; n++) {
            struct processor_info info = {0};
            if (EFI_ERROR(uefi_call_wrapper(mp->GetProcessorInfo, 3, mp, n, &info)))
                continue;
            machine.cpu[machine.ncpus].apic_id = (uint32_t)info.processor_id;
            machine.cpu[machine.ncpus].enabled = (info.status & 2) != 0;
            machine.ncpus++;
        }
    }
    if (machine.ncpus == 0) {
        uint32_t a, b, c, d;
        cpuid(1, &a, &b, &c, &d);
        machine.cpu[0].apic_id = b >> 24;
        machine.cpu[0].enabled = true;
        machine.ncpus = 1;
    }
}

static void gather_machine(void) {
    gather_cpus();
    machine.lapic_addr = LAPIC_BASE;
    /* An absent I/O APIC reads as all ones (floating bus). Version register: bits 7:0 version,
     * 23:16 highest redirection entry. */
    uint32_t ver = ioapic_read(1);
    machine.have_ioapic = ver != 0xffffffffu && (ver & 0xff) != 0;
    machine.ioapic_id = (uint8_t)((ioapic_read(0) >> 24) & 0x0f);
    machine.ioapic_addr = IOAPIC_BASE;
    /* PIIX4 function 3: PMBA (0x40, bits 15:6) is decoded when PMREGMISC (0x80) bit 0 is set. */
    machine.pm_base = 0;
    if (pci_cfg_read(PIIX4_PM_BDF_CFG(0x00)) == PIIX4_PM_ID &&
        (pci_cfg_read(PIIX4_PM_BDF_CFG(0x80)) & 1))
        machine.pm_base = (uint16_t)(pci_cfg_read(PIIX4_PM_BDF_CFG(0x40)) & 0xffc0);
    machine.sci_irq = 9;
}

static bool firmware_has_acpi(void) {
    EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
    EFI_GUID acpi10 = ACPI_TABLE_GUID;
    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
        EFI_GUID *g = &ST->ConfigurationTable[i].VendorGuid;
        if (CompareGuid(g, &acpi20) == 0 || CompareGuid(g, &acpi10) == 0)
            return true;
    }
    return false;
}

static EFI_STATUS install(EFI_ACPI_TABLE_PROTOCOL *acpi, const char *name, size_t len) {
    UINTN key = 0;
    if (len == 0) {
        Print(L"acpi-smp: %a: does not fit\n", name);
        return EFI_BUFFER_TOO_SMALL;
    }
    EFI_STATUS st = uefi_call_wrapper(acpi->InstallAcpiTable, 4, acpi, table_buf, len, &key);
    if (EFI_ERROR(st))
        Print(L"acpi-smp: installing %a failed: %r\n", name, st);
    return st;
}

/* FACS and DSDT first: AcpiTableDxe points the FADT at tables it already has (and patches a
 * FADT installed earlier). */
static EFI_STATUS install_tables(void) {
    EFI_GUID guid = EFI_ACPI_TABLE_PROTOCOL_GUID;
    EFI_ACPI_TABLE_PROTOCOL *acpi = NULL;
    EFI_STATUS st = uefi_call_wrapper(BS->LocateProtocol, 3, &guid, NULL, (void **)&acpi);
    if (EFI_ERROR(st)) {
        Print(L"acpi-smp: no EFI_ACPI_TABLE_PROTOCOL: %r\n", st);
        return st;
    }
    st = install(acpi, "FACS", acpi_build_facs(table_buf, sizeof table_buf));
    if (!EFI_ERROR(st))
        st = install(acpi, "DSDT", acpi_build_dsdt(table_buf, sizeof table_buf));
    if (!EFI_ERROR(st))
        st = install(acpi, "FACP", acpi_build_fadt(&machine, table_buf, sizeof table_buf));
    if (!EFI_ERROR(st))
        st = install(acpi, "APIC", acpi_build_madt(&machine, table_buf, sizeof table_buf));
    return st;
}

/* Appends the UCS-2 string s (ASCII only; anything else becomes '?') to dst. */
static void append_ascii(char *dst, UINTN size, UINTN *len, const CHAR16 *s, UINTN n) {
    for (UINTN i = 0; i < n && s[i] && *len + 1 < size; i++)
        dst[(*len)++] = s[i] < 0x80 ? (char)s[i] : '?';
    dst[*len] = 0;
}

/* NEXT and ARGS from the shell's argv when the UEFI shell started this program (argv[0] is
 * the program itself), else from the load options (a loader such as vigil passes exactly
 * "NEXT ARGS..."). */
static bool parse_args(EFI_HANDLE image, EFI_LOADED_IMAGE *self) {
    EFI_SHELL_PARAMETERS_PROTOCOL *shell = NULL;
    UINTN plen = 0, alen = 0;
    if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &ShellParametersProtocolGuid,
                                     (void **)&shell)) &&
        shell && shell->Argc >= 2) {
        append_ascii(next_path, CONFIG_PATH_MAX, &plen, shell->Argv[1], StrLen(shell->Argv[1]));
        for (UINTN i = 2; i < shell->Argc; i++) {
            if (alen)
                append_ascii(next_args, CONFIG_ARGS_MAX, &alen, L" ", 1);
            append_ascii(next_args, CONFIG_ARGS_MAX, &alen, shell->Argv[i], StrLen(shell->Argv[i]));
        }
        return plen > 0;
    }
    if (!self || !self->LoadOptions || self->LoadOptionsSize < sizeof(CHAR16))
        return false;
    const CHAR16 *opt = self->LoadOptions;
    UINTN n = self->LoadOptionsSize / sizeof(CHAR16), i = 0;
    while (i < n && opt[i] == L' ')
        i++;
    UINTN start = i;
    while (i < n && opt[i] && opt[i] != L' ')
        i++;
    append_ascii(next_path, CONFIG_PATH_MAX, &plen, opt + start, i - start);
    while (i < n && opt[i] == L' ')
        i++;
    append_ascii(next_args, CONFIG_ARGS_MAX, &alen, opt + i, n - i);
    return plen > 0;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab) {
    InitializeLib(image, systab);
    EFI_LOADED_IMAGE *self = NULL;
    uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&self);
    if (!parse_args(image, self)) {
        Print(L"acpi-smp: usage: acpi-smp.efi NEXT [ARGS...]\n");
        return EFI_INVALID_PARAMETER;
    }
    if (firmware_has_acpi()) {
        Print(L"acpi-smp: the firmware has ACPI tables already: none added\n");
    } else {
        gather_machine();
        Print(L"acpi-smp: %d CPU(s), APIC IDs", machine.ncpus);
        for (unsigned i = 0; i < machine.ncpus; i++)
            Print(L" %d%a", machine.cpu[i].apic_id, machine.cpu[i].enabled ? "" : "(disabled)");
        if (machine.have_ioapic)
            Print(L"; I/O APIC id %d at 0x%x", machine.ioapic_id, machine.ioapic_addr);
        else
            Print(L"; no I/O APIC");
        Print(L"; PM base 0x%x\n", machine.pm_base);
        if (!EFI_ERROR(install_tables()))
            Print(L"acpi-smp: installed FACS, DSDT, FACP, APIC (%d CPUs)\n", machine.ncpus);
    }
    Print(L"acpi-smp: starting %a %a\n", next_path, next_args);
    const char *stage = "";
    EFI_STATUS st = efi_chainload(image, self ? self->DeviceHandle : NULL, next_path, next_args,
                                  &stage, NULL, NULL);
    Print(L"acpi-smp: %a %a: %r\n", stage, next_path, st);
    return st;
}
