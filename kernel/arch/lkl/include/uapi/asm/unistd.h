/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * No include guard: the syscall table includes this file a second time
 * with __SYSCALL defined to build the table.
 */
#define __ARCH_WANT_NEW_STAT
#define __ARCH_WANT_RENAMEAT
#define __ARCH_WANT_SET_GET_RLIMIT

#include <asm-generic/unistd.h>
