/*
 * math.c - rounding, square roots and friends for the guest, with SSE2 only.
 *
 * The baseline x86_64 target has no roundsd (SSE4.1), so rounding is done
 * with the classic trick: adding and subtracting 2^52 (2^23 for float)
 * rounds to an integer in the current mode, round-to-nearest-even.  Values
 * that large are already integers and pass through unchanged, as do NaNs.
 */
#include <math.h>
#include <stdint.h>

static const double two52 = 4503599627370496.0; /* 2^52 */
static const float two23 = 8388608.0f;          /* 2^23 */

double fabs(double x)
{
	return __builtin_fabs(x);
}

float fabsf(float x)
{
	return __builtin_fabsf(x);
}

double copysign(double x, double y)
{
	return __builtin_copysign(x, y);
}

float copysignf(float x, float y)
{
	return __builtin_copysignf(x, y);
}

/* Inline assembly so gcc cannot turn these back into calls to sqrt. */
double sqrt(double x)
{
	__asm__("sqrtsd %1, %0" : "=x"(x) : "x"(x));
	return x;
}

float sqrtf(float x)
{
	__asm__("sqrtss %1, %0" : "=x"(x) : "x"(x));
	return x;
}

double rint(double x)
{
	if (!(__builtin_fabs(x) < two52)) /* large, infinite or NaN */
		return x;
	volatile double shifted = __builtin_fabs(x) + two52;
	return __builtin_copysign(shifted - two52, x);
}

float rintf(float x)
{
	if (!(__builtin_fabsf(x) < two23))
		return x;
	volatile float shifted = __builtin_fabsf(x) + two23;
	return __builtin_copysignf(shifted - two23, x);
}

/* No floating-point exceptions are ever unmasked in the guest, so these agree. */
double nearbyint(double x)
{
	return rint(x);
}

float nearbyintf(float x)
{
	return rintf(x);
}

double trunc(double x)
{
	if (!(__builtin_fabs(x) < two52))
		return x;
	return __builtin_copysign((double)(int64_t)x, x);
}

float truncf(float x)
{
	if (!(__builtin_fabsf(x) < two23))
		return x;
	return __builtin_copysignf((float)(int32_t)x, x);
}

double floor(double x)
{
	double t = trunc(x);
	return t > x ? t - 1.0 : t;
}

float floorf(float x)
{
	float t = truncf(x);
	return t > x ? t - 1.0f : t;
}

double ceil(double x)
{
	double t = trunc(x);
	return t < x ? __builtin_copysign(t + 1.0, x) : t;
}

float ceilf(float x)
{
	float t = truncf(x);
	return t < x ? __builtin_copysignf(t + 1.0f, x) : t;
}

double round(double x)
{
	double t = trunc(x);
	if (__builtin_fabs(x - t) >= 0.5)
		t += __builtin_copysign(1.0, x);
	return t;
}

float roundf(float x)
{
	float t = truncf(x);
	if (__builtin_fabsf(x - t) >= 0.5f)
		t += __builtin_copysignf(1.0f, x);
	return t;
}

double fmin(double x, double y)
{
	if (__builtin_isnan(x))
		return y;
	if (__builtin_isnan(y))
		return x;
	if (x == y) /* -0 is the smaller zero */
		return __builtin_signbit(x) ? x : y;
	return x < y ? x : y;
}

double fmax(double x, double y)
{
	if (__builtin_isnan(x))
		return y;
	if (__builtin_isnan(y))
		return x;
	if (x == y)
		return __builtin_signbit(x) ? y : x;
	return x > y ? x : y;
}

float fminf(float x, float y)
{
	return (float)fmin(x, y);
}

float fmaxf(float x, float y)
{
	return (float)fmax(x, y);
}
