#include "tests/efi/acpi_tables.h"

/* OEM fields of every table: ACPI 6.4 5.2.6 (OEMID 6 bytes, OEM table ID 8, creator ID 4). */
static const char oem_id[6] = {'V', 'I', 'G', 'I', 'L', ' '};
static const char oem_table_id[8] = {'V', 'I', 'G', 'I', 'L', 'S', 'M', 'P'};
static const char creator_id[4] = {'V', 'G', 'L', 'T'};

static void zero(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = 0;
}

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v) {
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_checksum(const uint8_t *p, size_t n) {
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0 - sum);
}

/* System description table header (ACPI 6.4 table 5.4); the checksum (offset 9) is set last. */
static void header(uint8_t *p, const char sig[4], uint32_t len, uint8_t revision) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)sig[i];
    put32(p + 4, len);
    p[8] = revision;
    p[9] = 0;
    for (int i = 0; i < 6; i++)
        p[10 + i] = (uint8_t)oem_id[i];
    for (int i = 0; i < 8; i++)
        p[16 + i] = (uint8_t)oem_table_id[i];
    put32(p + 24, 1); /* OEM revision */
    for (int i = 0; i < 4; i++)
        p[28 + i] = (uint8_t)creator_id[i];
    put32(p + 32, 1); /* creator revision */
}

static size_t finish(uint8_t *p, size_t len) {
    p[9] = 0;
    p[9] = acpi_checksum(p, len);
    return len;
}

/* Generic address structure (ACPI 6.4 5.2.3.2) for an I/O port block. */
static void gas_io(uint8_t *p, uint16_t port, uint8_t bytes) {
    zero(p, 12);
    if (!port)
        return;
    p[0] = 1; /* system I/O */
    p[1] = (uint8_t)(bytes * 8);
    p[3] = bytes == 4 ? 3 : bytes == 2 ? 2 : 1; /* access size: dword, word, byte */
    put64(p + 4, port);
}

/* MADT (ACPI 6.4 5.2.12): local APIC address, PCAT_COMPAT (the 8259s exist), then one
 * Processor Local APIC structure per CPU (x2APIC structure for IDs over 254, 5.2.12.12), the
 * I/O APIC with GSI base 0, the PC's interrupt source overrides (ISA IRQ0, the PIT, arrives on
 * I/O APIC pin 2; the SCI is level-triggered, active high, 5.2.12.5) and LINT1 as NMI on every
 * processor (5.2.12.7). */
size_t acpi_build_madt(const struct acpi_machine *m, uint8_t *buf, size_t size) {
    if (m->ncpus == 0 || m->ncpus > ACPI_MAX_CPUS)
        return 0;
    size_t len = ACPI_HEADER_LEN + 8;
    for (unsigned i = 0; i < m->ncpus; i++)
        len += m->cpu[i].apic_id > 254 ? 16 : 8;
    if (m->have_ioapic)
        len += 12 + 10 + (m->pm_base ? 10 : 0);
    len += 6;
    if (size < len)
        return 0;
    zero(buf, len);
    header(buf, "APIC", (uint32_t)len, 5);
    put32(buf + 36, m->lapic_addr);
    put32(buf + 40, 1); /* PCAT_COMPAT */
    uint8_t *p = buf + 44;
    for (unsigned i = 0; i < m->ncpus; i++) {
        uint32_t flags = m->cpu[i].enabled ? 1 : 0; /* bit 0: enabled */
        if (m->cpu[i].apic_id > 254) {
            p[0] = ACPI_MADT_X2APIC;
            p[1] = 16;
            put32(p + 4, m->cpu[i].apic_id);
            put32(p + 8, flags);
            put32(p + 12, i); /* ACPI processor UID */
            p += 16;
        } else {
            p[0] = ACPI_MADT_LAPIC;
            p[1] = 8;
            p[2] = (uint8_t)i; /* ACPI processor UID */
            p[3] = (uint8_t)m->cpu[i].apic_id;
            put32(p + 4, flags);
            p += 8;
        }
    }
    if (m->have_ioapic) {
        p[0] = ACPI_MADT_IOAPIC;
        p[1] = 12;
        p[2] = m->ioapic_id;
        put32(p + 4, m->ioapic_addr);
        put32(p + 8, 0); /* global system interrupt base */
        p += 12;
        p[0] = ACPI_MADT_ISO;
        p[1] = 10;
        p[2] = 0;        /* bus: ISA */
        p[3] = 0;        /* source: IRQ0 */
        put32(p + 4, 2); /* GSI 2 */
        put16(p + 8, 0); /* conforms to the bus: edge, active high */
        p += 10;
        if (m->pm_base) {
            p[0] = ACPI_MADT_ISO;
            p[1] = 10;
            p[2] = 0;
            p[3] = m->sci_irq;
            put32(p + 4, m->sci_irq);
            put16(p + 8, 0x000d); /* polarity 01 active high, trigger 11 level */
            p += 10;
        }
    }
    p[0] = ACPI_MADT_LAPIC_NMI;
    p[1] = 6;
    p[2] = 0xff;     /* all processors */
    put16(p + 3, 0); /* conforms */
    p[5] = 1;        /* LINT1 */
    return finish(buf, len);
}

/* FADT revision 6 (ACPI 6.4 5.2.9, table 5.9), a legacy PC (not hardware-reduced: Linux would
 * then drop the 8259s and the PIT). SMI_CMD 0 says the machine is already in ACPI mode
 * (4.8.2.1), so Linux never hands it over through SMM. The PM1a event and control blocks and the
 * PM timer are the PIIX4's (its datasheet: PM base + 0, + 4, + 8); the timer is 24 bits
 * (TMR_VAL_EXT clear). No GPE block, no C2/C3 (latencies over 100 and 1000 us), no reset
 * register. The DSDT and FACS addresses are left 0: the firmware's InstallAcpiTable sets them. */
size_t acpi_build_fadt(const struct acpi_machine *m, uint8_t *buf, size_t size) {
    if (size < ACPI_FADT_LEN)
        return 0;
    zero(buf, ACPI_FADT_LEN);
    header(buf, "FACP", ACPI_FADT_LEN, 6);
    buf[45] = 0; /* preferred PM profile: unspecified */
    put16(buf + 46, m->sci_irq);
    put32(buf + 48, 0); /* SMI_CMD */
    if (m->pm_base) {
        put32(buf + 56, m->pm_base);     /* PM1a_EVT_BLK */
        put32(buf + 64, m->pm_base + 4); /* PM1a_CNT_BLK */
        put32(buf + 76, m->pm_base + 8); /* PM_TMR_BLK */
        buf[88] = 4;                     /* PM1_EVT_LEN */
        buf[89] = 2;                     /* PM1_CNT_LEN */
        buf[91] = 4;                     /* PM_TMR_LEN */
        gas_io(buf + 148, m->pm_base, 4);
        gas_io(buf + 172, m->pm_base + 4, 2);
        gas_io(buf + 208, m->pm_base + 8, 4);
    }
    put16(buf + 96, 101);     /* P_LVL2_LAT: C2 not supported */
    put16(buf + 98, 1001);    /* P_LVL3_LAT: C3 not supported */
    buf[108] = 0x32;          /* CENTURY: CMOS register of the century */
    put16(buf + 109, 0x0003); /* IAPC_BOOT_ARCH: LEGACY_DEVICES, 8042 */
    /* Flags: WBINVD (0), PROC_C1 (2), PWR_BUTTON (4) and SLP_BUTTON (5) = no fixed buttons. */
    put32(buf + 112, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5));
    buf[131] = 4; /* FADT minor version: ACPI 6.4 */
    return finish(buf, ACPI_FADT_LEN);
}

/* DSDT (ACPI 6.4 5.2.11.1) with no AML: the step describes no devices; revision 2 says
 * integers are 64 bits. */
size_t acpi_build_dsdt(uint8_t *buf, size_t size) {
    if (size < ACPI_DSDT_LEN)
        return 0;
    zero(buf, ACPI_DSDT_LEN);
    header(buf, "DSDT", ACPI_DSDT_LEN, 2);
    return finish(buf, ACPI_DSDT_LEN);
}

/* FACS (ACPI 6.4 5.2.10, table 5.13): no checksum, version 2, no waking vector, no global lock
 * owner. */
size_t acpi_build_facs(uint8_t *buf, size_t size) {
    if (size < ACPI_FACS_LEN)
        return 0;
    zero(buf, ACPI_FACS_LEN);
    buf[0] = 'F';
    buf[1] = 'A';
    buf[2] = 'C';
    buf[3] = 'S';
    put32(buf + 4, ACPI_FACS_LEN);
    buf[32] = 2; /* version */
    return ACPI_FACS_LEN;
}
