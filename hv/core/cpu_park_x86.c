/* The parked CPU's side (hv/core/cpu_park.h): from the real-mode entry (hv/core/cpu_park_entry.S)
 * in long mode on vigil's page tables and its own stack, it takes its host environment (GDT, TSS,
 * IDT, GS base: an NMI then goes to vigil's handler, hv/core/host_exception.c), enters VMX root
 * operation, says how it went and halts for good with interrupts off. */
#include "hv/core/cpu_park.h"

#include "base/hw.h"
#include "hv/arch/vcpu.h"
#include "hv/arch/x86.h"
#include "hv/core/hv_state.h"

void cpu_park_here(struct hv_cpu *c) {
    struct hw_dtr gdtr = {sizeof(c->gdt) - 1, (uint64_t)(uintptr_t)c->gdt};
    struct hw_dtr idtr = {256 * 16 - 1, hv.env.idt_base};
    __asm__ volatile("lgdt %0" ::"m"(gdtr) : "memory");
    /* Reload CS from the new GDT (far return), then the data segments. */
    __asm__ volatile("pushq %0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:" ::"i"(HOST_CS_SEL)
                     : "rax", "memory");
    __asm__ volatile("movw %w0, %%ds\n\tmovw %w0, %%es\n\tmovw %w0, %%ss\n\t"
                     "movw %w0, %%fs\n\tmovw %w0, %%gs" ::"r"(HOST_DS_SEL)
                     : "memory");
    __asm__ volatile("ltr %w0" ::"r"(HOST_TR_SEL) : "memory");
    __asm__ volatile("lidt %0" ::"m"(idtr) : "memory");
    hw_wrmsr(MSR_IA32_GS_BASE, (uint64_t)(uintptr_t)c); /* this_cpu() */
    int err = vcpu_enter_root(&c->vcpu);
    __atomic_store_n(&c->park_state, err ? CPU_PARK_NO_VMX : CPU_PARK_VMX_ROOT, __ATOMIC_RELEASE);
    for (;;)
        __asm__ volatile("cli; hlt");
}
