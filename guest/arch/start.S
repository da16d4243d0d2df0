/*
 * start.S - the first instructions of a hedge guest.
 *
 * The monitor enters here in long mode with %rdi pointing at the boot info
 * and a scratch stack; switch to the image's own stack and go to C.
 */
	.section .text.boot, "ax"
	.globl _start
_start:
	movabs $__stack_top, %rsp
	xorl %ebp, %ebp
	call hedge_boot
1:	ud2
	jmp 1b
	.section .note.GNU-stack, "", @progbits
