/*
 * stack_switch.S - call a function on another stack and come back.
 *
 * stack_call(fn, arg, stack_top): runs fn(arg) with %rsp = stack_top, then
 * restores the caller's stack.
 */
	.text
	.globl stack_call
stack_call:
	pushq %rbp
	movq %rsp, %rbp
	movq %rdx, %rsp
	movq %rdi, %rax
	movq %rsi, %rdi
	callq *%rax
	movq %rbp, %rsp
	popq %rbp
	ret
	.section .note.GNU-stack, "", @progbits
