/* Real-mode entry of a CPU vigil parks at the hand-over (hv/core/cpu_park.h). cpu_park_one copies the
 * bytes from cpu_park_code to cpu_park_code_end to the start of a page below 1 MiB, fills the data
 * block at CPU_PARK_DATA_OFF of that page (struct cpu_park_data) and sends the CPU INIT and a SIPI
 * whose vector is that page. The CPU starts here in real mode with CS = page >> 4, IP = 0.
 *
 * The code does not depend on where it was copied: it takes its base from CS and writes the GDTR
 * base and the far pointers it needs at run time. Real mode → 32-bit protected mode (flat
 * segments of the block's GDT) → PAE, EFER.LME, paging with the interim tables (identity map of
 * the first 2 MiB: SDM vol. 3A 9.8.5 "Initializing IA-32e Mode") → 64-bit code → vigil's own page
 * tables and the CPU's stack → cpu_park_here(arg), which never returns. CR0.CD/NW (set by INIT)
 * are cleared on the way. */
    .set DATA, 0xF00            /* CPU_PARK_DATA_OFF */
    .set D_ENTRIES, DATA + 0x00
    .set D_CR3_LOW, DATA + 0x04
    .set D_CR3, DATA + 0x08
    .set D_STACK, DATA + 0x10
    .set D_ENTRY, DATA + 0x18
    .set D_ARG, DATA + 0x20
    .set D_GDT, DATA + 0x28
    .set D_GDTR, DATA + 0x48
    .set D_FAR, DATA + 0x50
    .set STACK_TOP, 0xFF0
    .set SEL_CODE64, 0x08
    .set SEL_CODE32, 0x10
    .set SEL_DATA, 0x18

    .section .rodata
    .globl cpu_park_code, cpu_park_code_end
    .code16
cpu_park_code:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    movzwl %ax, %ebx
    shll $4, %ebx               /* ebx = physical base of the page */
    lock incl D_ENTRIES
    movw $31, D_GDTR
    leal D_GDT(%ebx), %eax
    movl %eax, D_GDTR + 2
    lgdtl D_GDTR
    leal (.Lpm32 - cpu_park_code)(%ebx), %eax
    movl %eax, D_FAR
    movw $SEL_CODE32, D_FAR + 4
    movl %cr0, %eax
    andl $0x9FFFFFFF, %eax      /* caches on: CD = NW = 0 */
    orl $0x21, %eax             /* PE, NE */
    movl %eax, %cr0
    ljmpl *D_FAR

    .code32
.Lpm32:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    leal STACK_TOP(%ebx), %esp
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl D_CR3_LOW(%ebx), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx      /* IA32_EFER */
    rdmsr
    orl $0x100, %eax            /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000000, %eax       /* PG: IA-32e mode, compatibility mode until CS changes */
    movl %eax, %cr0
    leal (.Llm64 - cpu_park_code)(%ebx), %eax
    pushl $SEL_CODE64
    pushl %eax
    lret

    .code64
.Llm64:
    movl %ebx, %ebx             /* zero the upper half */
    movq D_CR3(%rbx), %rax
    movq %rax, %cr3
    movq D_STACK(%rbx), %rsp
    movq D_ARG(%rbx), %rdi
    movq D_ENTRY(%rbx), %rax
    call *%rax
1:  cli
    hlt
    jmp 1b
cpu_park_code_end:

    .section .note.GNU-stack, "", @progbits
