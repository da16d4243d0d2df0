/*
 * panic.c - CPU exceptions: print what happened and end the VM.
 *
 * A guest with no recovery path must never hang or triple-fault silently:
 * the register dump goes to the console, and a one-line reason goes to the
 * monitor through the abort hypercall.
 */
#include <stdint.h>
#include <stdio.h>

#include "hedge.h"
#include "runtime.h"

/* Laid out by isr.S: CR2, the registers it pushed, then what the CPU pushed. */
struct trap_frame {
	uint64_t cr2;
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

static const char *const vector_names[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating point",
    "#VE virtualization",
    "#CP control protection",
};

static int in_panic;

/*
 * Lets a subsystem that owns part of the address space (the wasm runtime)
 * name a fault as its own, e.g. a wasm out-of-bounds access; NULL otherwise.
 */
const char *panic_explain(unsigned long vector, uint64_t cr2) __attribute__((weak));

/* Entered in ring 3 on the panic stack, from isr.S; never returns. */
_Noreturn void trap_handler(struct trap_frame *f);

_Noreturn void trap_handler(struct trap_frame *f)
{
	if (in_panic)
		hedge_abort("CPU exception %lu while handling a CPU exception",
		            (unsigned long)f->vector);
	in_panic = 1;
	uint64_t cr2 = f->cr2;
	const char *name = f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector]
	                                                             : "unexpected interrupt";
	uintptr_t guard = (uintptr_t)__stack_guard;
	int stack_overflow = f->vector == 14 && cr2 >= guard && cr2 < guard + 4096;
	const char *ring = (f->cs & 3) == 3 ? "" : " in ring 0";
	const char *explained = panic_explain ? panic_explain(f->vector, cr2) : NULL;
	if (explained)
		hedge_abort("%s", explained);

	printf("\n*** guest panic: CPU exception %lu (%s)%s, error code 0x%lx\n",
	       (unsigned long)f->vector, name, ring, (unsigned long)f->error);
	printf("rip=%016lx rsp=%016lx rflags=%016lx cr2=%016lx\n", f->rip, f->rsp, f->rflags, cr2);
	printf("rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	printf("rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	printf("r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
	printf("r13=%016lx r14=%016lx r15=%016lx\n", f->r13, f->r14, f->r15);

	if (stack_overflow)
		hedge_abort("stack overflow (CPU exception 14 #PF at 0x%lx, rip=0x%lx)",
		            (unsigned long)cr2, (unsigned long)f->rip);
	if (f->vector == 14)
		hedge_abort("CPU exception 14 (#PF page fault) accessing 0x%lx at rip=0x%lx",
		            (unsigned long)cr2, (unsigned long)f->rip);
	hedge_abort("CPU exception %lu (%s) at rip=0x%lx", (unsigned long)f->vector, name,
	            (unsigned long)f->rip);
}
