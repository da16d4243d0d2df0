/*
 * wasm_hedge.h - what the wasm glue needs from hedge's wasm2c runtime.
 */
#ifndef HEDGE_WASM_HEDGE_H
#define HEDGE_WASM_HEDGE_H

#include <stddef.h>

/*
 * Runs fn(arg) on a fresh stack of stack_bytes with a guard page below it;
 * overflowing it is reported as the wasm trap "call stack exhausted".
 */
void wasm_run_on_own_stack(void (*fn)(void *arg), void *arg, size_t stack_bytes);

#endif
