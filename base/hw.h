/* The hardware seam: every port I/O, MSR, CPUID, control-register and VMX instruction of hv/
 * goes through these functions. base/hw_x86.c implements them with the real instructions; unit
 * tests link tests/fakes/hw_fake.c instead, which models ports, MSRs, CPUID leaves and a VMCS
 * in tables (see tests/fakes/hw_fake.h). */
#ifndef VIGIL_HW_H
#define VIGIL_HW_H

#include <stdbool.h>
#include <stdint.h>

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

uint8_t hw_inb(uint16_t port);
void hw_outb(uint16_t port, uint8_t v);
void hw_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *out);
uint64_t hw_rdmsr(uint32_t msr);
void hw_wrmsr(uint32_t msr, uint64_t v);
void hw_pause(void);
/* IRET to the next instruction: ends the NMI blocking that a VM exit caused by an NMI leaves in
 * VMX root (SDM vol. 3C, VM exits caused by NMIs; vol. 3A 6.7.1 "Handling Multiple NMIs": only
 * IRET ends it; with "virtual NMIs" VM entry leaves physical NMI blocking alone). A pending NMI
 * is taken at once, by the host's NMI handler. */
void hw_nmi_unblock(void);

uint64_t hw_read_cr0(void);
uint64_t hw_read_cr3(void);
uint64_t hw_read_cr4(void);
void hw_write_cr0(uint64_t v);
void hw_write_cr4(uint64_t v);

/* Live processor state captured when a CPU is virtualized where it stands. */
struct hw_dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));
enum hw_sreg { HW_ES, HW_CS, HW_SS, HW_DS, HW_FS, HW_GS };
uint64_t hw_read_dr7(void);
uint64_t hw_read_rflags(void);
void hw_sgdt(struct hw_dtr *d);
void hw_sidt(struct hw_dtr *d);
uint16_t hw_read_sreg(enum hw_sreg s);
uint16_t hw_str(void);
uint16_t hw_sldt(void);
uint64_t hw_rdtsc(void);

/* VMX instructions. The bool results are true when the instruction succeeded (CF = ZF = 0). */
bool hw_vmxon(uint64_t phys);
void hw_vmxoff(void);
bool hw_vmclear(uint64_t phys);
bool hw_vmptrld(uint64_t phys);
uint64_t hw_vmread(uint64_t field);
bool hw_vmwrite(uint64_t field, uint64_t value);
/* INVEPT / INVVPID with the given type and 128-bit descriptor. */
bool hw_invept(uint64_t type, const uint64_t desc[2]);
bool hw_invvpid(uint64_t type, const uint64_t desc[2]);

/* 32-bit uncached device registers at a physical address (identity-mapped in VMX root), e.g. the
 * xAPIC page. */
uint32_t hw_mmio_read32(uint64_t phys);
void hw_mmio_write32(uint64_t phys, uint32_t v);

#endif
