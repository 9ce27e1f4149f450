/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
#ifndef _UAPI_ASM_LKL_PTRACE_H
#define _UAPI_ASM_LKL_PTRACE_H

/* lkl has no user mode and therefore no user register set to trace. */
struct user_pt_regs {
	unsigned long unused;
};

#endif
