/* VM launch "where it stands" and the VM-exit entry point.
 *
 * vcpu_launch_here(v) (hv/arch/vcpu.h): saves the callee-saved registers and calls
 * vmx_launch_cpu(v, rsp, rip) (hv/arch/vmx/vmx_launch.c) with the stack pointer and the address
 * the guest resumes at. If VMLAUNCH succeeds the processor
 * continues *as the guest* at .Lguest_resume with that RSP (SDM 27.3.1: RSP/RIP come from the
 * VMCS, the other general registers keep their values), pops the registers and returns 0 to its
 * caller, which never notices. If vmx_launch_cpu returns, the launch did not happen and its
 * (negative) result is returned.
 *
 * vmx_exit_entry: HOST_RIP. RSP is the CPU's hypervisor stack (HOST_RSP, 16-byte aligned). The
 * guest's general registers are saved as struct guest_regs (hv/arch/vcpu.h: rax first, RSP slot
 * unused) and the core's vmexit_main(regs) (hv/arch/vcpu.h) decides; when it returns, the
 * registers are restored and the guest resumed. */
    .text
    .code64

    .globl vcpu_launch_here
vcpu_launch_here:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rsi
    leaq .Lguest_resume(%rip), %rdx
    call vmx_launch_cpu
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret
.Lguest_resume:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    xorl %eax, %eax
    ret

    .globl vmx_exit_entry
vmx_exit_entry:
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %r11
    pushq %r10
    pushq %r9
    pushq %r8
    pushq %rdi
    pushq %rsi
    pushq %rbp
    pushq $0            /* RSP slot: the guest RSP is in the VMCS */
    pushq %rbx
    pushq %rdx
    pushq %rcx
    pushq %rax
    movq %rsp, %rdi
    call vmexit_main
    popq %rax
    popq %rcx
    popq %rdx
    popq %rbx
    addq $8, %rsp
    popq %rbp
    popq %rsi
    popq %rdi
    popq %r8
    popq %r9
    popq %r10
    popq %r11
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    vmresume
    /* Only reached when VMRESUME fails (VMfailValid/Invalid): report and park. */
    andq $-16, %rsp
    call vmx_resume_failed
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
