/*
 * isr.S - ring-0 entry points: CPU exceptions 0-31 and the service gate.
 *
 * The guest runs in ring 3; ring 0 exists only for what the CPU forces into
 * it.  Code here must stay tiny and free of SSE, because some hypervisors
 * (PVM) emulate ring 0 one instruction at a time.  An exception therefore
 * only saves the registers and CR2 on the ring-0 stack, then returns to
 * ring 3 into trap_handler(struct trap_frame *) on the panic stack, where
 * ordinary C prints the report.
 */
	.text
.macro ISR_NOERR vec
isr_\vec:
	pushq $0
	pushq $\vec
	jmp isr_common
.endm
.macro ISR_ERR vec
isr_\vec:
	pushq $\vec
	jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5

/*
 * #UD doubles as the way into ring 0 on purpose: PVM delivers exceptions
 * from ring 3 but not `int n`.  A #UD raised by the ud2 at
 * ring0_flush_tlb_ud2 flushes the TLB and resumes after it; any other #UD
 * is a crash.
 */
isr_6:
	pushq %rax
	movabs $ring0_flush_tlb_ud2, %rax
	cmpq %rax, 8(%rsp)
	jne 1f
	addq $2, 8(%rsp)
	movq %cr3, %rax
	movq %rax, %cr3
	popq %rax
	iretq
1:	popq %rax
	pushq $0
	pushq $6
	jmp isr_common
ISR_NOERR 7
ISR_ERR 8
ISR_NOERR 9
ISR_ERR 10
ISR_ERR 11
ISR_ERR 12
ISR_ERR 13
ISR_ERR 14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR 17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR 21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR 29
ISR_ERR 30
ISR_NOERR 31

	.globl isr_spurious
isr_spurious:
	pushq $0
	pushq $255
	jmp isr_common

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
	movq %cr2, %rax
	pushq %rax
	movq %rsp, %rdi
	/* "Return" to ring 3, into trap_handler(frame) on the panic stack. */
	pushq $0x23
	movabs $__panic_stack_top - 8, %rax
	pushq %rax
	pushq $0x2
	pushq $0x1b
	movabs $trap_handler, %rax
	pushq %rax
	iretq

/*
 * ring0_flush_tlb(): the one thing ring 3 needs from ring 0, a TLB flush
 * after a page-table change (a full flush, since PVM cannot emulate invlpg).
 */
	.text
	.globl ring0_flush_tlb
ring0_flush_tlb:
	.globl ring0_flush_tlb_ud2
ring0_flush_tlb_ud2:
	ud2
	ret

	.section .rodata
	.globl isr_table
	.balign 8
isr_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr_\n
	.endr
	.section .note.GNU-stack, "", @progbits
