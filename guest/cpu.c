/*
 * cpu.c - the guest's interrupt descriptor table and TSS stacks.
 *
 * The monitor provides the GDT, the TSS and an empty IDT at fixed addresses
 * and starts the guest in ring 3.  The guest only fills in what it alone
 * knows: the addresses of its exception handlers and of the stacks they run
 * on.  These are plain memory writes, so no ring-0 instruction is needed.
 */
#include <stdint.h>
#include <string.h>

#include "runtime.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t zero;
} __attribute__((packed));

#define GATE_INTERRUPT_RING0 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define TSS_RSP0_OFFSET      4
#define TSS_IST1_OFFSET      36

extern const uint64_t isr_table[32];
extern char isr_spurious[];

static void set_gate(volatile struct idt_gate *idt, unsigned vec, uint64_t handler, uint8_t attr,
                     uint8_t ist)
{
	idt[vec].offset_low = handler & 0xffff;
	idt[vec].selector = HEDGE_SEL_KCODE;
	idt[vec].ist = ist;
	idt[vec].offset_mid = (handler >> 16) & 0xffff;
	idt[vec].offset_high = handler >> 32;
	idt[vec].zero = 0;
	idt[vec].type_attr = attr; /* last, so the gate becomes present complete */
}

void cpu_init(void)
{
	uint8_t *tss = (uint8_t *)(uintptr_t)HEDGE_TSS_ADDR;
	uint64_t kstack = (uint64_t)(uintptr_t)__kstack_top;
	memcpy(tss + TSS_RSP0_OFFSET, &kstack, sizeof(kstack));
	memcpy(tss + TSS_IST1_OFFSET, &kstack, sizeof(kstack));

	volatile struct idt_gate *idt = (struct idt_gate *)(uintptr_t)HEDGE_IDT_ADDR;
	for (unsigned v = 0; v < 256; v++) {
		uint64_t handler = v < 32 ? isr_table[v] : (uint64_t)(uintptr_t)isr_spurious;
		set_gate(idt, v, handler, GATE_INTERRUPT_RING0, 1);
	}
}
