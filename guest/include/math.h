/*
 * math.h - the floating-point functions the guest provides (guest/lib/math.c).
 *
 * Enough for wasm2c's output (which needs the rounding functions, sqrt, fabs
 * and the classification macros) and for simple C unikernels.  No errno is
 * set: results follow IEEE 754 as WebAssembly requires.
 */
#ifndef HEDGE_MATH_H
#define HEDGE_MATH_H

#define INFINITY  (__builtin_inff())
#define NAN       (__builtin_nanf(""))
#define HUGE_VAL  (__builtin_huge_val())
#define HUGE_VALF (__builtin_huge_valf())

#define isnan(x)    __builtin_isnan(x)
#define isinf(x)    __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x)  __builtin_signbit(x)

double fabs(double x);
double sqrt(double x);
double ceil(double x);
double floor(double x);
double trunc(double x);
double round(double x);
double rint(double x);
double nearbyint(double x);
double copysign(double x, double y);
double fmin(double x, double y);
double fmax(double x, double y);

float fabsf(float x);
float sqrtf(float x);
float ceilf(float x);
float floorf(float x);
float truncf(float x);
float roundf(float x);
float rintf(float x);
float nearbyintf(float x);
float copysignf(float x, float y);
float fminf(float x, float y);
float fmaxf(float x, float y);

#endif
