/* The ACPI table builders of the SMP test step (tests/efi/acpi_tables.c): each table parsed
 * back field by field against ACPI 6.4 (5.2.9 FADT, 5.2.10 FACS, 5.2.11 DSDT, 5.2.12 MADT). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/efi/acpi_tables.h"

static uint8_t buf[4096];

static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p) {
    return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p) {
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static unsigned sum(const uint8_t *p, size_t n) {
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s & 0xff;
}

static void check_header(const uint8_t *t, const char *sig, size_t len, uint8_t revision) {
    assert_memory_equal(t, sig, 4);
    assert_int_equal(get32(t + 4), len);
    assert_int_equal(t[8], revision);
    assert_int_equal(sum(t, len), 0);
    assert_memory_equal(t + 10, "VIGIL ", 6);
}

static struct acpi_machine two_cpu_pc(void) {
    struct acpi_machine m = {0};
    m.ncpus = 2;
    m.cpu[0].apic_id = 0;
    m.cpu[0].enabled = true;
    m.cpu[1].apic_id = 1;
    m.cpu[1].enabled = true;
    m.lapic_addr = 0xfee00000;
    m.have_ioapic = true;
    m.ioapic_id = 2;
    m.ioapic_addr = 0xfec00000;
    m.pm_base = 0xb000;
    m.sci_irq = 9;
    return m;
}

/* Walks the MADT's entries; checks each one's length fits and counts them by type. */
static void walk_madt(const uint8_t *t, size_t len, unsigned count[16]) {
    memset(count, 0, 16 * sizeof count[0]);
    size_t off = 44;
    while (off < len) {
        assert_true(off + 2 <= len);
        uint8_t type = t[off], elen = t[off + 1];
        assert_true(elen >= 2);
        assert_true(off + elen <= len);
        if (type < 16)
            count[type]++;
        off += elen;
    }
    assert_int_equal(off, len);
}

static void test_madt_two_cpus(void **state) {
    (void)state;
    struct acpi_machine m = two_cpu_pc();
    memset(buf, 0xee, sizeof buf);
    size_t len = acpi_build_madt(&m, buf, sizeof buf);
    assert_int_equal(len, 44 + 2 * 8 + 12 + 10 + 10 + 6);
    check_header(buf, "APIC", len, 5);
    assert_int_equal(get32(buf + 36), 0xfee00000);
    assert_int_equal(get32(buf + 40), 1); /* PCAT_COMPAT */
    unsigned count[16];
    walk_madt(buf, len, count);
    assert_int_equal(count[ACPI_MADT_LAPIC], 2);
    assert_int_equal(count[ACPI_MADT_IOAPIC], 1);
    assert_int_equal(count[ACPI_MADT_ISO], 2);
    assert_int_equal(count[ACPI_MADT_LAPIC_NMI], 1);
    /* The local APICs, in order: UID, APIC ID, enabled. */
    const uint8_t *e = buf + 44;
    for (unsigned i = 0; i < 2; i++, e += 8) {
        assert_int_equal(e[0], ACPI_MADT_LAPIC);
        assert_int_equal(e[1], 8);
        assert_int_equal(e[2], i);
        assert_int_equal(e[3], i);
        assert_int_equal(get32(e + 4), 1);
    }
    /* The I/O APIC: ID, address, GSI base 0. */
    assert_int_equal(e[0], ACPI_MADT_IOAPIC);
    assert_int_equal(e[2], 2);
    assert_int_equal(get32(e + 4), 0xfec00000);
    assert_int_equal(get32(e + 8), 0);
    e += 12;
    /* IRQ0 -> GSI 2, edge (flags conform to ISA). */
    assert_int_equal(e[0], ACPI_MADT_ISO);
    assert_int_equal(e[2], 0);
    assert_int_equal(e[3], 0);
    assert_int_equal(get32(e + 4), 2);
    assert_int_equal(get16(e + 8), 0);
    e += 10;
    /* SCI: IRQ 9 -> GSI 9, level, active high. */
    assert_int_equal(e[3], 9);
    assert_int_equal(get32(e + 4), 9);
    assert_int_equal(get16(e + 8), 0x000d);
    e += 10;
    /* LINT1 is the NMI on every processor. */
    assert_int_equal(e[0], ACPI_MADT_LAPIC_NMI);
    assert_int_equal(e[2], 0xff);
    assert_int_equal(e[5], 1);
}

static void test_madt_disabled_and_x2apic_ids(void **state) {
    (void)state;
    struct acpi_machine m = two_cpu_pc();
    m.ncpus = 3;
    m.cpu[1].enabled = false;
    m.cpu[2].apic_id = 300;
    m.cpu[2].enabled = true;
    size_t len = acpi_build_madt(&m, buf, sizeof buf);
    assert_int_equal(len, 44 + 2 * 8 + 16 + 12 + 10 + 10 + 6);
    check_header(buf, "APIC", len, 5);
    unsigned count[16];
    walk_madt(buf, len, count);
    assert_int_equal(count[ACPI_MADT_LAPIC], 2);
    assert_int_equal(count[ACPI_MADT_X2APIC], 1);
    assert_int_equal(get32(buf + 44 + 8 + 4), 0); /* CPU 1 listed, not enabled */
    const uint8_t *x = buf + 44 + 16;
    assert_int_equal(x[0], ACPI_MADT_X2APIC);
    assert_int_equal(x[1], 16);
    assert_int_equal(get32(x + 4), 300);
    assert_int_equal(get32(x + 8), 1);
    assert_int_equal(get32(x + 12), 2); /* UID */
}

static void test_madt_without_ioapic_or_pm(void **state) {
    (void)state;
    struct acpi_machine m = two_cpu_pc();
    m.pm_base = 0;
    size_t len = acpi_build_madt(&m, buf, sizeof buf);
    unsigned count[16];
    walk_madt(buf, len, count);
    assert_int_equal(count[ACPI_MADT_ISO], 1); /* no SCI override without an SCI */
    m.have_ioapic = false;
    len = acpi_build_madt(&m, buf, sizeof buf);
    check_header(buf, "APIC", len, 5);
    walk_madt(buf, len, count);
    assert_int_equal(count[ACPI_MADT_IOAPIC], 0);
    assert_int_equal(count[ACPI_MADT_ISO], 0);
    assert_int_equal(count[ACPI_MADT_LAPIC], 2);
}

static void test_madt_refusals(void **state) {
    (void)state;
    struct acpi_machine m = two_cpu_pc();
    size_t len = acpi_build_madt(&m, buf, sizeof buf);
    assert_int_equal(acpi_build_madt(&m, buf, len - 1), 0);
    assert_int_equal(acpi_build_madt(&m, buf, len), len);
    m.ncpus = 0;
    assert_int_equal(acpi_build_madt(&m, buf, sizeof buf), 0);
    m.ncpus = ACPI_MAX_CPUS + 1;
    assert_int_equal(acpi_build_madt(&m, buf, sizeof buf), 0);
    m.ncpus = ACPI_MAX_CPUS;
    assert_int_not_equal(acpi_build_madt(&m, buf, sizeof buf), 0);
}

static void check_gas_io(const uint8_t *g, uint16_t port, uint8_t bits) {
    assert_int_equal(g[0], 1);
    assert_int_equal(g[1], bits);
    assert_int_equal(get64(g + 4), port);
}

static void test_fadt(void **state) {
    (void)state;
    struct acpi_machine m = two_cpu_pc();
    memset(buf, 0xee, sizeof buf);
    size_t len = acpi_build_fadt(&m, buf, sizeof buf);
    assert_int_equal(len, ACPI_FADT_LEN);
    check_header(buf, "FACP", len, 6);
    assert_int_equal(get16(buf + 46), 9);      /* SCI_INT */
    assert_int_equal(get32(buf + 48), 0);      /* SMI_CMD: already in ACPI mode */
    assert_int_equal(get32(buf + 56), 0xb000); /* PM1a_EVT_BLK */
    assert_int_equal(get32(buf + 64), 0xb004); /* PM1a_CNT_BLK */
    assert_int_equal(get32(buf + 76), 0xb008); /* PM_TMR_BLK */
    assert_int_equal(buf[88], 4);
    assert_int_equal(buf[89], 2);
    assert_int_equal(buf[91], 4);
    assert_true(get16(buf + 96) > 100);
    assert_true(get16(buf + 98) > 1000);
    assert_int_equal(get16(buf + 109) & 3, 3); /* legacy devices, 8042 */
    uint32_t flags = get32(buf + 112);
    assert_int_equal(flags & (1u << 20), 0); /* not hardware-reduced */
    assert_int_equal(flags & (1u << 8), 0);  /* 24-bit PM timer */
    check_gas_io(buf + 148, 0xb000, 32);
    check_gas_io(buf + 172, 0xb004, 16);
    check_gas_io(buf + 208, 0xb008, 32);
    assert_int_equal(get64(buf + 140), 0); /* X_DSDT: the firmware fills it in */
    assert_int_equal(acpi_build_fadt(&m, buf, ACPI_FADT_LEN - 1), 0);
}

static void test_fadt_without_pm(void **state) {
    (void)state;
    struct acpi_machine m = two_cpu_pc();
    m.pm_base = 0;
    size_t len = acpi_build_fadt(&m, buf, sizeof buf);
    check_header(buf, "FACP", len, 6);
    assert_int_equal(get32(buf + 56), 0);
    assert_int_equal(get32(buf + 76), 0);
    assert_int_equal(buf[148], 0);
    assert_int_equal(get64(buf + 152), 0);
}

static void test_dsdt_and_facs(void **state) {
    (void)state;
    memset(buf, 0xee, sizeof buf);
    size_t len = acpi_build_dsdt(buf, sizeof buf);
    assert_int_equal(len, 36);
    check_header(buf, "DSDT", len, 2);
    assert_int_equal(acpi_build_dsdt(buf, 35), 0);
    memset(buf, 0xee, sizeof buf);
    len = acpi_build_facs(buf, sizeof buf);
    assert_int_equal(len, 64);
    assert_memory_equal(buf, "FACS", 4);
    assert_int_equal(get32(buf + 4), 64);
    assert_int_equal(get32(buf + 12), 0); /* firmware waking vector */
    assert_int_equal(buf[32], 2);
    assert_int_equal(acpi_build_facs(buf, 63), 0);
}

static void test_checksum(void **state) {
    (void)state;
    uint8_t t[5] = {1, 2, 3, 0, 250};
    t[3] = acpi_checksum(t, sizeof t);
    assert_int_equal(sum(t, sizeof t), 0);
    assert_int_equal(acpi_checksum(t, 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_madt_two_cpus),
        cmocka_unit_test(test_madt_disabled_and_x2apic_ids),
        cmocka_unit_test(test_madt_without_ioapic_or_pm),
        cmocka_unit_test(test_madt_refusals),
        cmocka_unit_test(test_fadt),
        cmocka_unit_test(test_fadt_without_pm),
        cmocka_unit_test(test_dsdt_and_facs),
        cmocka_unit_test(test_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
