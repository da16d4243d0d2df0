/*
 * assert.h - the assert macro for the hedge guest.
 *
 * Deliberately has no include guard: the C standard lets a translation unit
 * re-include <assert.h> after changing NDEBUG and get the new behaviour.
 * __assert_fail is provided by the guest runtime, which reports the failure
 * to the monitor and never returns.
 */
#undef assert

#ifdef NDEBUG
#define assert(expr) ((void)0)
#else
#define assert(expr) ((expr) ? (void)0 : __assert_fail(#expr, __FILE__, __LINE__, __func__))
#endif

#ifndef HEDGE_ASSERT_DECLARED
#define HEDGE_ASSERT_DECLARED
_Noreturn void __assert_fail(const char *expr, const char *file, unsigned int line,
                             const char *func);
#endif

#if !defined(__cplusplus) && !defined(static_assert)
#define static_assert _Static_assert
#endif
