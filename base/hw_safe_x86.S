/* base/hw_safe.h on the hardware: the instruction that may fault has an entry in .hv_fixup
 * (faulting RIP, resume RIP); host_exception() resumes there on #GP/#UD, returning false. */
    .text
    .code64

/* bool hw_rdmsr_safe(uint32_t msr, uint64_t *v) */
    .globl hw_rdmsr_safe
hw_rdmsr_safe:
    movl %edi, %ecx
1:  rdmsr
    shlq $32, %rdx
    orq %rdx, %rax
    movq %rax, (%rsi)
    movl $1, %eax
    ret
2:  xorl %eax, %eax
    ret
    .pushsection .hv_fixup, "aw"
    .quad 1b, 2b
    .popsection

/* bool hw_wrmsr_safe(uint32_t msr, uint64_t v) */
    .globl hw_wrmsr_safe
hw_wrmsr_safe:
    movl %edi, %ecx
    movl %esi, %eax
    movq %rsi, %rdx
    shrq $32, %rdx
3:  wrmsr
    movl $1, %eax
    ret
4:  xorl %eax, %eax
    ret
    .pushsection .hv_fixup, "aw"
    .quad 3b, 4b
    .popsection

/* bool hw_xsetbv_safe(uint32_t xcr, uint64_t v) */
    .globl hw_xsetbv_safe
hw_xsetbv_safe:
    movl %edi, %ecx
    movl %esi, %eax
    movq %rsi, %rdx
    shrq $32, %rdx
5:  xsetbv
    movl $1, %eax
    ret
6:  xorl %eax, %eax
    ret
    .pushsection .hv_fixup, "aw"
    .quad 5b, 6b
    .popsection

    .section .note.GNU-stack, "", @progbits
