/* The minimal ACPI tables the SMP test step (tests/efi/acpi_smp.c) installs for Linux on a
 * firmware that has none (OVMF on Bochs): a MADT that lists every CPU's local APIC and the I/O
 * APIC, a FADT pointing at the PIIX4 power-management registers, an empty DSDT and a FACS
 * (ACPI 6.4, 5.2.9-5.2.12). Linux needs the MADT to find and start the other CPUs; the FADT,
 * DSDT and FACS let its ACPI core start instead of turning ACPI off again.
 *
 * Plain byte builders, no firmware calls: the step passes the buffers to
 * EFI_ACPI_TABLE_PROTOCOL.InstallAcpiTable, which fills in the FADT's DSDT/FACS pointers and
 * builds the RSDP/XSDT. Unit-tested on the host (tests/unit/test_acpi_tables.c). */
#ifndef VIGIL_TESTS_ACPI_TABLES_H
#define VIGIL_TESTS_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 64

/* What the tables describe (gathered by the step from the firmware and the chipset). */
struct acpi_machine {
    unsigned ncpus;
    struct {
        uint32_t apic_id;
        bool enabled;
    } cpu[ACPI_MAX_CPUS];
    uint32_t lapic_addr;  /* local APIC MMIO base (0xFEE00000) */
    bool have_ioapic;     /* false: MADT without I/O APIC (Linux then uses the 8259s) */
    uint8_t ioapic_id;    /* as the I/O APIC's ID register reports it */
    uint32_t ioapic_addr; /* 0xFEC00000 on a PC */
    uint16_t pm_base;     /* PIIX4 PM I/O base (PM1a_EVT at +0, PM1a_CNT +4, PM_TMR +8); 0: none */
    uint8_t sci_irq;      /* ISA IRQ of the SCI (9 on PIIX4) */
};

/* Sizes of the tables as built. */
#define ACPI_HEADER_LEN 36
#define ACPI_FADT_LEN 276 /* revision 6 */
#define ACPI_FACS_LEN 64
#define ACPI_DSDT_LEN ACPI_HEADER_LEN

/* MADT entry types used (ACPI 6.4 table 5.45). */
#define ACPI_MADT_LAPIC 0
#define ACPI_MADT_IOAPIC 1
#define ACPI_MADT_ISO 2
#define ACPI_MADT_LAPIC_NMI 4
#define ACPI_MADT_X2APIC 9

/* Each builder writes one table into buf and returns its length, or 0 if size is too small
 * (or, for the MADT, m->ncpus is 0 or over ACPI_MAX_CPUS). Checksums are set. */
size_t acpi_build_madt(const struct acpi_machine *m, uint8_t *buf, size_t size);
size_t acpi_build_fadt(const struct acpi_machine *m, uint8_t *buf, size_t size);
size_t acpi_build_dsdt(uint8_t *buf, size_t size);
size_t acpi_build_facs(uint8_t *buf, size_t size);

/* The byte that makes the sum of p[0..n) zero modulo 256 when stored in place of a zero byte. */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif
