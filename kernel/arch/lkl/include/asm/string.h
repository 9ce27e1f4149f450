/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_LKL_STRING_H
#define _ASM_LKL_STRING_H

#include <linux/types.h>

/*
 * On x86-64 hosts memcpy, memmove and memset use the string instructions
 * (kernel/string.c); elsewhere lib/string.c's byte loops serve.
 */
#ifdef __x86_64__
#define __HAVE_ARCH_MEMCPY
#define __HAVE_ARCH_MEMMOVE
#define __HAVE_ARCH_MEMSET
void *memcpy(void *dest, const void *src, size_t n);
void *memmove(void *dest, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
#endif

#endif
