/*
 * The driver's structured exception handling (MSVC form), which Rust
 * cannot express.
 *
 * lklfsd_copy_user(dst, src, len): copies len bytes under structured
 * exception handling, which Rust cannot express: an exception while
 * copying ends the copy and returns its code; otherwise it returns 0.
 * This is the MSVC form (the WDK build, compiled by cl through cc);
 * GCC has no __try, so the mingw build assembles copy_user.S, which lays
 * out the same scope table by hand.
 *
 * Used on buffers a user-mode caller passed by address (neither I/O),
 * whose range the caller has checked lies in user space.
 */
#include <excpt.h>
#include <stddef.h>

long lklfsd_copy_user(void *dst, const void *src, size_t len)
{
	long code = 0;

	__try {
		volatile unsigned char *d = dst;
		const volatile unsigned char *s = src;
		size_t i;

		for (i = 0; i < len; i++)
			d[i] = s[i];
	} __except (code = GetExceptionCode(), 1) {
		return code;
	}
	return 0;
}

/*
 * lklfsd_guarded_call(f, context): calls f(context) under structured
 * exception handling: an exception raised in it (the cache manager
 * raises one when a page cannot be read) ends the call and returns its
 * code; otherwise 0.
 */
long lklfsd_guarded_call(void (*f)(void *), void *context)
{
	long code = 0;

	__try {
		f(context);
	} __except (code = GetExceptionCode(), 1) {
		return code;
	}
	return 0;
}
