/* The real hardware seam (base/hw.h): one instruction per function. Unit tests link
 * tests/fakes/hw_fake.c instead. */
#include "base/hw.h"

uint8_t hw_inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

void hw_outb(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

void hw_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *out) {
    __asm__ volatile("cpuid"
                     : "=a"(out->eax), "=b"(out->ebx), "=c"(out->ecx), "=d"(out->edx)
                     : "a"(leaf), "c"(subleaf));
}

uint64_t hw_rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

void hw_wrmsr(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

void hw_nmi_unblock(void) {
    __asm__ volatile("mov %%rsp, %%rax\n\t"
                     "mov %%ss, %%ecx\n\t"
                     "push %%rcx\n\t"
                     "push %%rax\n\t"
                     "pushfq\n\t"
                     "mov %%cs, %%ecx\n\t"
                     "push %%rcx\n\t"
                     "lea 1f(%%rip), %%rcx\n\t"
                     "push %%rcx\n\t"
                     "iretq\n"
                     "1:"
                     :
                     :
                     : "rax", "rcx", "memory", "cc");
}

void hw_pause(void) {
    __asm__ volatile("pause");
}

uint64_t hw_read_cr0(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

uint64_t hw_read_cr3(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

uint64_t hw_read_cr4(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

void hw_write_cr0(uint64_t v) {
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

void hw_write_cr4(uint64_t v) {
    __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

uint64_t hw_read_dr7(void) {
    uint64_t v;
    __asm__ volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}

uint64_t hw_read_rflags(void) {
    uint64_t v;
    __asm__ volatile("pushfq; popq %0" : "=r"(v));
    return v;
}

void hw_sgdt(struct hw_dtr *d) {
    __asm__ volatile("sgdt %0" : "=m"(*d));
}

void hw_sidt(struct hw_dtr *d) {
    __asm__ volatile("sidt %0" : "=m"(*d));
}

uint16_t hw_read_sreg(enum hw_sreg s) {
    uint16_t v = 0;
    switch (s) {
    case HW_ES:
        __asm__ volatile("mov %%es, %0" : "=r"(v));
        break;
    case HW_CS:
        __asm__ volatile("mov %%cs, %0" : "=r"(v));
        break;
    case HW_SS:
        __asm__ volatile("mov %%ss, %0" : "=r"(v));
        break;
    case HW_DS:
        __asm__ volatile("mov %%ds, %0" : "=r"(v));
        break;
    case HW_FS:
        __asm__ volatile("mov %%fs, %0" : "=r"(v));
        break;
    case HW_GS:
        __asm__ volatile("mov %%gs, %0" : "=r"(v));
        break;
    }
    return v;
}

uint16_t hw_str(void) {
    uint16_t v;
    __asm__ volatile("str %0" : "=r"(v));
    return v;
}

uint16_t hw_sldt(void) {
    uint16_t v;
    __asm__ volatile("sldt %0" : "=r"(v));
    return v;
}

uint64_t hw_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* VMX instructions report failure through CF (VMfailInvalid) or ZF (VMfailValid), SDM 31.2. */
bool hw_vmxon(uint64_t phys) {
    uint8_t bad;
    __asm__ volatile("vmxon %1; setbe %0" : "=qm"(bad) : "m"(phys) : "cc", "memory");
    return !bad;
}

void hw_vmxoff(void) {
    __asm__ volatile("vmxoff" : : : "cc", "memory");
}

bool hw_vmclear(uint64_t phys) {
    uint8_t bad;
    __asm__ volatile("vmclear %1; setbe %0" : "=qm"(bad) : "m"(phys) : "cc", "memory");
    return !bad;
}

bool hw_vmptrld(uint64_t phys) {
    uint8_t bad;
    __asm__ volatile("vmptrld %1; setbe %0" : "=qm"(bad) : "m"(phys) : "cc", "memory");
    return !bad;
}

uint64_t hw_vmread(uint64_t field) {
    uint64_t v = 0;
    __asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
    return v;
}

bool hw_vmwrite(uint64_t field, uint64_t value) {
    uint8_t bad;
    __asm__ volatile("vmwrite %2, %1; setbe %0" : "=qm"(bad) : "r"(field), "rm"(value) : "cc");
    return !bad;
}

bool hw_invept(uint64_t type, const uint64_t desc[2]) {
    uint8_t bad;
    __asm__ volatile("invept %1, %2; setbe %0"
                     : "=qm"(bad)
                     : "m"(*(const uint64_t(*)[2])desc), "r"(type)
                     : "cc", "memory");
    return !bad;
}

bool hw_invvpid(uint64_t type, const uint64_t desc[2]) {
    uint8_t bad;
    __asm__ volatile("invvpid %1, %2; setbe %0"
                     : "=qm"(bad)
                     : "m"(*(const uint64_t(*)[2])desc), "r"(type)
                     : "cc", "memory");
    return !bad;
}

uint32_t hw_mmio_read32(uint64_t phys) {
    return *(volatile uint32_t *)(uintptr_t)phys;
}

void hw_mmio_write32(uint64_t phys, uint32_t v) {
    *(volatile uint32_t *)(uintptr_t)phys = v;
}
