/* Host IDT entry stubs (VMX root). Each pushes a zero error code when the CPU does not push one
 * (SDM vol. 3A 6.13), then its vector, and joins the common path, which saves the general
 * registers and calls host_exception(frame) (hv/core/host_exception.c). */
    .text
    .code64

.macro ISR vec
    .balign 16
isr_\vec:
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0
    .endif
    pushq $\vec
    jmp isr_common
.endm

.altmacro
.macro ISR_N n
    ISR %n
.endm
.set i, 0
.rept 256
    ISR_N %i
    .set i, i + 1
.endr

    .balign 16
isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    movq %rsp, %rbx
    andq $-16, %rsp
    call host_exception
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

    .section .data.rel.ro, "aw"
    .balign 8
    .globl host_isr_table
host_isr_table:
.macro ISR_PTR n
    .quad isr_\n
.endm
.set i, 0
.rept 256
    ISR_PTR %i
    .set i, i + 1
.endr

    .section .note.GNU-stack, "", @progbits
