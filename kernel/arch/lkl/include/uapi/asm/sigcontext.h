/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
#ifndef _UAPI_ASM_LKL_SIGCONTEXT_H
#define _UAPI_ASM_LKL_SIGCONTEXT_H

#include <asm/ptrace.h>

/* Signals are never delivered to user mode in lkl. */
struct sigcontext {
	struct user_pt_regs regs;
};

#endif
