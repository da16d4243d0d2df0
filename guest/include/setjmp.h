/*
 * setjmp.h - non-local jumps (guest/arch/setjmp.S).
 *
 * The guest has no signals, so the sig- variants are the plain ones.
 */
#ifndef HEDGE_SETJMP_H
#define HEDGE_SETJMP_H

/* rbx, rbp, r12-r15, rsp, rip */
typedef unsigned long jmp_buf[8];
typedef jmp_buf sigjmp_buf;

int setjmp(jmp_buf env) __attribute__((returns_twice));
_Noreturn void longjmp(jmp_buf env, int value);

#define sigsetjmp(env, savemask) setjmp(env)
#define siglongjmp(env, value)   longjmp(env, value)
#define _setjmp(env)             setjmp(env)
#define _longjmp(env, value)     longjmp(env, value)

#endif
