/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_LKL_UACCESS_H
#define _ASM_LKL_UACCESS_H

/*
 * "User" memory is the host program's own: copies are plain memcpy. What
 * can be refused cheaply is: pointers into the first 64 KiB (NULL and the
 * fields of a NULL struct) and ranges that wrap around.
 */
#define LKL_USER_ADDR_MIN	0x10000UL

static inline int __access_ok(const void __user *ptr, unsigned long size)
{
	unsigned long addr = (unsigned long)ptr;

	return size == 0 ||
	       (addr >= LKL_USER_ADDR_MIN && size - 1 <= ~0UL - addr);
}
#define __access_ok __access_ok

#include <asm-generic/uaccess.h>

#endif
