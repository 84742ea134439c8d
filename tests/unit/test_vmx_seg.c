/* GDT/LDT descriptor → VMCS segment decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv/arch/vmx/vmx_defs.h"
#include "hv/arch/vmx/vmx_seg.h"
#include "tests/fakes/hw_fake.h"

/* A GDT like OVMF's / Linux's: null, 32-bit code, 64-bit code, data, 64-bit TSS (16 bytes),
 * LDT (16 bytes), a not-present data segment, a 16-bit TSS, a DPL-3 data segment. */
static uint8_t gdt_bytes[11 * 8];
static struct vmx_desc_table gdt;

static void put(unsigned idx, uint64_t d) {
    for (int i = 0; i < 8; i++)
        gdt_bytes[idx * 8 + (unsigned)i] = (uint8_t)(d >> (8 * i));
}

static int setup(void **state) {
    (void)state;
    memset(gdt_bytes, 0, sizeof(gdt_bytes));
    put(1, 0x00CF9A000000FFFFull); /* 0x08 code32 flat, G, D, not accessed */
    put(2, 0x00AF9B000000FFFFull); /* 0x10 code64 L, accessed */
    put(3, 0x00CF92000000FFFFull); /* 0x18 data flat */
    /* 0x20 TSS64 available, base 0xFFFFFFFF81234567 (low 32 in the descriptor), limit 0x67 */
    put(4, 0x8100892345670067ull);
    put(5, 0x00000000FFFFFFFFull);
    /* 0x30 LDT base 0x0000000100200000, limit 0xFFF */
    put(6, 0x0000822000000FFFull);
    put(7, 0x0000000000000001ull);
    put(8, 0x00CF12000000FFFFull);  /* 0x40 data, P = 0 */
    put(9, 0x000081123400002Bull);  /* 0x48 16-bit TSS available, base 0x123400, limit 0x2B */
    put(10, 0x0040F2345678ABCDull); /* 0x50 data DPL3, byte granular, base 0x00345678 */
    gdt.bytes = gdt_bytes;
    gdt.limit = sizeof(gdt_bytes) - 1;
    fake_reset();
    return 0;
}

static void test_field_decoders(void **state) {
    (void)state;
    assert_int_equal(vmx_seg_ar_from_desc(0x00AF9B000000FFFFull), 0xA09B);
    assert_int_equal(vmx_seg_limit_from_desc(0x00CF92000000FFFFull), 0xFFFFFFFF);
    assert_int_equal(vmx_seg_limit_from_desc(0x0040F2345678ABCDull), 0xABCD);
    assert_int_equal(vmx_seg_base_from_desc(0x0040F2345678ABCDull), 0x00345678);
    assert_int_equal(vmx_seg_base_from_desc(0xAB00F2345678ABCDull), 0xAB345678);
}

static void test_code_data(void **state) {
    (void)state;
    struct vmx_segment s;
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_CS, 0x10, true, &s), VMX_SEG_OK);
    assert_int_equal(s.sel, 0x10);
    assert_int_equal(s.base, 0);
    assert_int_equal(s.limit, 0xFFFFFFFF);
    assert_int_equal(s.ar, 0xA09B); /* G, L, P, S, type B */
    /* 32-bit code not accessed in the table: the loaded register has the accessed bit */
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_CS, 0x08, false, &s), VMX_SEG_OK);
    assert_int_equal(s.ar, 0xC09B);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_SS, 0x18, true, &s), VMX_SEG_OK);
    assert_int_equal(s.ar, 0xC093);
    /* RPL bits are kept in the selector, ignored for the lookup */
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_DS, 0x53, true, &s), VMX_SEG_OK);
    assert_int_equal(s.sel, 0x53);
    assert_int_equal(s.base, 0x345678);
    assert_int_equal(s.limit, 0xABCD);
    assert_int_equal(s.ar, 0x40F3);
    assert_int_equal(AR_DPL(s.ar), 3);
}

static void test_null_selectors(void **state) {
    (void)state;
    struct vmx_segment s = {0x1234, 5, 6, 7};
    for (int r = SREG_ES; r <= SREG_LDTR; r++) {
        if (r == SREG_CS)
            continue;
        assert_int_equal(vmx_seg_decode(&gdt, NULL, (enum vmx_sreg)r, 0, true, &s), VMX_SEG_OK);
        assert_int_equal(s.ar, AR_UNUSABLE);
        assert_int_equal(s.base, 0);
        assert_int_equal(s.limit, 0);
    }
    /* A null selector with RPL 3 is still null and keeps its RPL */
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_SS, 3, true, &s), VMX_SEG_OK);
    assert_int_equal(s.sel, 3);
    assert_int_equal(s.ar, AR_UNUSABLE);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_CS, 0, true, &s), VMX_SEG_NULL_NOT_ALLOWED);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0, true, &s), VMX_SEG_NULL_NOT_ALLOWED);
}

static void test_tss64_busy_and_high_base(void **state) {
    (void)state;
    struct vmx_segment s;
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0x20, true, &s), VMX_SEG_OK);
    assert_int_equal(s.base, 0xFFFFFFFF81234567ull);
    assert_int_equal(s.limit, 0x67);
    assert_int_equal(s.ar, 0x8B); /* present, busy 64-bit TSS */
    /* Outside IA-32e mode the same descriptor is 8 bytes: no high base */
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0x20, false, &s), VMX_SEG_OK);
    assert_int_equal(s.base, 0x81234567ull);
}

static void test_tss16(void **state) {
    (void)state;
    struct vmx_segment s;
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0x48, false, &s), VMX_SEG_OK);
    assert_int_equal(s.ar, 0x83);
    assert_int_equal(s.base, 0x123400);
    assert_int_equal(s.limit, 0x2B);
    /* A 16-bit TSS cannot be TR in IA-32e mode */
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0x48, true, &s), VMX_SEG_WRONG_KIND);
}

static void test_ldt(void **state) {
    (void)state;
    struct vmx_segment s;
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_LDTR, 0x30, true, &s), VMX_SEG_OK);
    assert_int_equal(s.base, 0x0000000100200000ull);
    assert_int_equal(s.limit, 0xFFF);
    assert_int_equal(s.ar, 0x82);
    /* A TSS is not an LDT and vice versa */
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_LDTR, 0x20, true, &s), VMX_SEG_WRONG_KIND);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0x30, true, &s), VMX_SEG_WRONG_KIND);
    /* Selectors through the LDT */
    uint8_t ldt_bytes[16] = {0};
    uint64_t d = 0x00CF93000000FFFFull;
    for (int i = 0; i < 8; i++)
        ldt_bytes[8 + i] = (uint8_t)(d >> (8 * i));
    struct vmx_desc_table ldt = {ldt_bytes, 15};
    assert_int_equal(vmx_seg_decode(&gdt, &ldt, SREG_FS, 0x0C, true, &s), VMX_SEG_OK);
    assert_int_equal(s.ar, 0xC093);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_FS, 0x0C, true, &s), VMX_SEG_NO_LDT);
    assert_int_equal(vmx_seg_decode(&gdt, &ldt, SREG_FS, 0x14, true, &s), VMX_SEG_OUTSIDE_TABLE);
    /* TI=1 is never valid for TR/LDTR */
    assert_int_equal(vmx_seg_decode(&gdt, &ldt, SREG_TR, 0x0C, true, &s), VMX_SEG_WRONG_KIND);
}

static void test_bad_descriptors(void **state) {
    (void)state;
    struct vmx_segment s;
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_DS, 0x40, true, &s), VMX_SEG_NOT_PRESENT);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_DS, 0x58, true, &s), VMX_SEG_OUTSIDE_TABLE);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_DS, 0xFFF8, true, &s), VMX_SEG_OUTSIDE_TABLE);
    /* System descriptor in a data register, code in TR */
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_DS, 0x20, true, &s), VMX_SEG_WRONG_KIND);
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0x10, true, &s), VMX_SEG_WRONG_KIND);
    /* The 16-byte TSS needs its second half inside the limit */
    struct vmx_desc_table short_gdt = {gdt_bytes, 0x27};
    assert_int_equal(vmx_seg_decode(&short_gdt, NULL, SREG_TR, 0x20, true, &s),
                     VMX_SEG_OUTSIDE_TABLE);
    /* a limit that ends inside a descriptor */
    struct vmx_desc_table partial = {gdt_bytes, 0x1C};
    assert_int_equal(vmx_seg_decode(&partial, NULL, SREG_DS, 0x18, true, &s),
                     VMX_SEG_OUTSIDE_TABLE);
    struct vmx_desc_table empty = {NULL, 0xFFFF};
    assert_int_equal(vmx_seg_decode(&empty, NULL, SREG_DS, 0x18, true, &s), VMX_SEG_OUTSIDE_TABLE);
    assert_string_equal(vmx_seg_status_str(VMX_SEG_NOT_PRESENT), "descriptor not present");
}

/* Every selector over a table of random bytes: no crash, results only OK or an error, and every
 * OK result has no reserved access-rights bits. */
static void test_random_tables(void **state) {
    (void)state;
    uint8_t bytes[256];
    uint32_t x = 12345;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(bytes); i++) {
            x = x * 1103515245u + 12345u;
            bytes[i] = (uint8_t)(x >> 16);
        }
        struct vmx_desc_table t = {bytes, (uint32_t)(x % 300)};
        for (uint32_t sel = 0; sel < 0x10000; sel += 3) {
            struct vmx_segment s;
            enum vmx_sreg r = (enum vmx_sreg)(sel % 8);
            if (vmx_seg_decode(&t, &t, r, (uint16_t)sel, (sel & 8) != 0, &s) == VMX_SEG_OK)
                assert_int_equal(s.ar & AR_RESERVED_MASK, 0);
        }
    }
}

static void test_real_mode_and_vmcs_roundtrip(void **state) {
    (void)state;
    struct vmx_segment cs = vmx_seg_real_mode(0x9A00, true);
    assert_int_equal(cs.base, 0x9A000);
    assert_int_equal(cs.limit, 0xFFFF);
    assert_int_equal(cs.ar, 0x9B);
    struct vmx_segment ds = vmx_seg_real_mode(0x40, false);
    assert_int_equal(ds.base, 0x400);
    assert_int_equal(ds.ar, 0x93);

    assert_true(vmx_seg_write_guest(SREG_GS, &ds));
    uint64_t v;
    assert_true(fake_get_vmcs(VMCS_GUEST_GS_SEL, &v));
    assert_int_equal(v, 0x40);
    assert_true(fake_get_vmcs(VMCS_GUEST_GS_BASE, &v));
    assert_int_equal(v, 0x400);
    assert_true(fake_get_vmcs(VMCS_GUEST_GS_LIMIT, &v));
    assert_int_equal(v, 0xFFFF);
    assert_true(fake_get_vmcs(VMCS_GUEST_GS_AR, &v));
    assert_int_equal(v, 0x93);
    struct vmx_segment tr;
    assert_int_equal(vmx_seg_decode(&gdt, NULL, SREG_TR, 0x20, true, &tr), VMX_SEG_OK);
    assert_true(vmx_seg_write_guest(SREG_TR, &tr));
    assert_true(fake_get_vmcs(VMCS_GUEST_TR_BASE, &v));
    assert_int_equal(v, 0xFFFFFFFF81234567ull);
    assert_true(fake_get_vmcs(VMCS_GUEST_TR_AR, &v));
    assert_int_equal(v, 0x8B);
    struct vmx_segment back;
    vmx_seg_read_guest(SREG_TR, &back);
    assert_int_equal(back.sel, tr.sel);
    assert_int_equal(back.base, tr.base);
    assert_int_equal(back.limit, tr.limit);
    assert_int_equal(back.ar, tr.ar);
    fake_vmx_fail = true;
    assert_false(vmx_seg_write_guest(SREG_ES, &ds));
    assert_string_equal(vmx_sreg_name(SREG_LDTR), "ldtr");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_field_decoders, setup),
        cmocka_unit_test_setup(test_code_data, setup),
        cmocka_unit_test_setup(test_null_selectors, setup),
        cmocka_unit_test_setup(test_tss64_busy_and_high_base, setup),
        cmocka_unit_test_setup(test_tss16, setup),
        cmocka_unit_test_setup(test_ldt, setup),
        cmocka_unit_test_setup(test_bad_descriptors, setup),
        cmocka_unit_test_setup(test_random_tables, setup),
        cmocka_unit_test_setup(test_real_mode_and_vmcs_roundtrip, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
