/*
 * alloca.h - stack allocation, straight from the compiler.
 */
#ifndef HEDGE_ALLOCA_H
#define HEDGE_ALLOCA_H
#define alloca(size) __builtin_alloca(size)
#endif
