// SPDX-License-Identifier: GPL-2.0-only
/*
 * memcpy, memmove and memset on x86-64 hosts: rep movsb and rep stosb,
 * which CPUs with fast strings run at cache speed (lib/string.c copies a
 * byte per iteration). Both ABIs the kernel runs under keep the direction
 * flag clear between functions.
 */
#include <linux/string.h>

#ifdef __x86_64__

void *memcpy(void *dest, const void *src, size_t n)
{
	void *d = dest;

	asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dest;
}

void *memmove(void *dest, const void *src, size_t n)
{
	void *d;

	/* A forward copy is right unless dest overlaps the end of src. */
	if (dest <= src || dest >= src + n)
		return memcpy(dest, src, n);
	d = dest + n - 1;
	src += n - 1;
	asm volatile("std\n\trep movsb\n\tcld"
		     : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dest;
}

void *memset(void *s, int c, size_t n)
{
	void *d = s;

	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return s;
}

#endif
