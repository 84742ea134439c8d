/* Unit tests of tools/dump_reader.c: QEMU ELF cores (PT_LOAD memory with holes, NT_PRSTATUS and
 * QEMU CPU notes), raw images, register files, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <elf.h>

#include "tools/dump_reader.h"
#include "vmi/vmi_symsrc.h"

static uint8_t img[0x8000];
static struct dump d;

/* ELF core: NOTE (2 CPUs: PRSTATUS + QEMU each), LOAD pa 0x0 (0x1000), LOAD pa 0x3000 (0x2000). */
static size_t build_elf(void) {
    memset(img, 0, sizeof(img));
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_CORE;
    eh->e_machine = EM_X86_64;
    eh->e_phoff = sizeof(*eh);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 3;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff);
    size_t off = eh->e_phoff + 3 * sizeof(Elf64_Phdr);
    size_t note0 = off;
    for (int cpu = 0; cpu < 2; cpu++) {
        Elf64_Nhdr nh = {.n_namesz = 5, .n_descsz = 336, .n_type = NT_PRSTATUS};
        memcpy(img + off, &nh, sizeof(nh));
        memcpy(img + off + 12, "CORE\0\0\0", 8);
        uint64_t rip = 0xffffffff81000000ull + cpu;
        memcpy(img + off + 20 + 112 + 16 * 8, &rip, 8);
        off += 20 + 336;
        nh = (Elf64_Nhdr){.n_namesz = 5, .n_descsz = 440, .n_type = 0};
        memcpy(img + off, &nh, sizeof(nh));
        memcpy(img + off + 12, "QEMU\0\0\0", 8);
        uint8_t *desc = img + off + 20;
        uint32_t ver = 1, size = 440;
        memcpy(desc, &ver, 4);
        memcpy(desc + 4, &size, 4);
        uint64_t idt_base = 0xfffffe0000000000ull,
                 cr[5] = {0x80050033, 0, 0, 0x1000 + cpu, 0x3506f0};
        uint32_t idt_limit = 0xfff;
        memcpy(desc + 8 + 18 * 8 + 9 * 24 + 4, &idt_limit, 4);
        memcpy(desc + 8 + 18 * 8 + 9 * 24 + 16, &idt_base, 8);
        memcpy(desc + 8 + 18 * 8 + 10 * 24, cr, sizeof(cr));
        uint64_t kgs = 0xffff888007a00000ull;
        memcpy(desc + 432, &kgs, 8);
        off += 20 + 440;
    }
    ph[0] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = note0, .p_filesz = off - note0};
    off = (off + 0xfff) & ~0xfffull;
    ph[1] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = off, .p_paddr = 0, .p_filesz = 0x1000};
    memset(img + off, 0xaa, 0x1000);
    ph[2] = (Elf64_Phdr){
        .p_type = PT_LOAD, .p_offset = off + 0x1000, .p_paddr = 0x3000, .p_filesz = 0x2000};
    memset(img + off + 0x1000, 0xbb, 0x2000);
    return off + 0x3000;
}

static void test_elf(void **state) {
    (void)state;
    size_t n = build_elf();
    assert_int_equal(dump_open_buffer(&d, img, n), 0);
    assert_string_equal(d.format, "qemu-elf");
    assert_int_equal(d.nsegs, 2);
    assert_int_equal(d.ncpus, 2);
    assert_true(d.cpus[1].has_cr);
    assert_int_equal(d.cpus[1].cr3, 0x1001);
    assert_int_equal(d.cpus[0].cr0, 0x80050033);
    assert_true(d.cpus[0].has_idtr);
    assert_int_equal(d.cpus[0].idtr_base, 0xfffffe0000000000ull);
    assert_int_equal(d.cpus[0].idtr_limit, 0xfff);
    assert_int_equal(d.cpus[0].kernel_gs_base, 0xffff888007a00000ull);
    assert_false(d.cpus[0].has_lstar);
    struct vmi_mem m;
    dump_mem(&d, &m);
    assert_int_equal(m.phys_end, 0x5000);
    uint8_t b[0x3000];
    assert_int_equal(vmi_read_phys(&m, 0xff0, b, 16), 0);
    assert_int_equal(b[0], 0xaa);
    assert_int_not_equal(vmi_read_phys(&m, 0xff0, b, 32), 0);  /* into the hole */
    assert_int_not_equal(vmi_read_phys(&m, 0x2000, b, 1), 0);  /* in the hole */
    assert_int_equal(vmi_read_phys(&m, 0x3000, b, 0x2000), 0); /* whole second segment */
    assert_int_equal(b[0x1fff], 0xbb);
    assert_int_not_equal(vmi_read_phys(&m, 0x4fff, b, 2), 0); /* past the end */
    assert_int_not_equal(vmi_read_phys(&m, ~0ull - 4, b, 16), 0);
}

static void test_elf_malformed(void **state) {
    (void)state;
    size_t n = build_elf();
    /* Truncated: the last segment runs past the end of the file. */
    assert_int_equal(dump_open_buffer(&d, img, n - 1), -1);
    assert_non_null(strstr(d.error, "outside the file"));
    /* Not x86-64. */
    ((Elf64_Ehdr *)img)->e_machine = EM_AARCH64;
    assert_int_equal(dump_open_buffer(&d, img, n), -1);
    build_elf();
    /* Overlapping segments. */
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
    ph[2].p_paddr = 0x800;
    assert_int_equal(dump_open_buffer(&d, img, n), -1);
    assert_non_null(strstr(d.error, "overlapping"));
    build_elf();
    /* Program headers beyond the file. */
    ((Elf64_Ehdr *)img)->e_phoff = n - 8;
    assert_int_equal(dump_open_buffer(&d, img, n), -1);
    /* A note with a huge size is ignored, not followed. */
    build_elf();
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(img + ph[0].p_offset);
    nh->n_descsz = 0xfffffff0u;
    assert_int_equal(dump_open_buffer(&d, img, n), 0);
    assert_int_equal(d.ncpus, 0);
}

static void test_raw_and_regs(void **state) {
    (void)state;
    memset(img, 0x11, 0x2000);
    assert_int_equal(dump_open_buffer(&d, img, 0x2000), 0);
    assert_string_equal(d.format, "raw");
    const char *regs = "# comment\n\ncpu=0\ncr0=0x80050033\ncr3=4096 # inline\ncr4=0x1000\n"
                       "efer=0xd01\nlstar=0xffffffff82000000\ncpu=1\ncr3=0x2000\n";
    assert_int_equal(dump_parse_regs(&d, regs, strlen(regs)), 0);
    assert_int_equal(d.ncpus, 2);
    assert_int_equal(d.cpus[0].cr3, 0x1000);
    assert_true(d.cpus[0].has_lstar);
    assert_true(d.cpus[0].has_efer);
    assert_int_equal(d.cpus[0].cr4, 0x1000);
    assert_int_equal(d.cpus[1].cr3, 0x2000);
    const char *bad1 = "cr3=0x1000\n";
    assert_int_equal(dump_parse_regs(&d, bad1, strlen(bad1)), -1);
    assert_non_null(strstr(d.error, "before any cpu="));
    const char *bad2 = "cpu=0\ncr3=0x10zz\n";
    assert_int_equal(dump_parse_regs(&d, bad2, strlen(bad2)), -1);
    assert_non_null(strstr(d.error, "line 2"));
    const char *bad3 = "cpu=0\nlstr=1\n";
    assert_int_equal(dump_parse_regs(&d, bad3, strlen(bad3)), -1);
    assert_non_null(strstr(d.error, "unknown key"));
    const char *bad4 = "cpu=9999\n";
    assert_int_equal(dump_parse_regs(&d, bad4, strlen(bad4)), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf),
        cmocka_unit_test(test_elf_malformed),
        cmocka_unit_test(test_raw_and_regs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
