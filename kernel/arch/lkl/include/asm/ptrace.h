/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_LKL_PTRACE_H
#define _ASM_LKL_PTRACE_H

#include <uapi/asm/ptrace.h>

#ifndef __ASSEMBLY__
/* There is no user mode: no registers are ever saved on kernel entry. */
struct pt_regs {
	unsigned long unused;
};

#define user_mode(regs)			0
#define instruction_pointer(regs)	0UL
#define profile_pc(regs)		0UL
#define user_stack_pointer(regs)	0UL
#define current_user_stack_pointer()	0UL
#endif

#endif
