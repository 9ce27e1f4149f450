/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_LKL_CURRENT_H
#define _ASM_LKL_CURRENT_H

#ifndef __ASSEMBLY__
struct task_struct;

/* One CPU: the running task is a plain variable, set by __switch_to. */
extern struct task_struct *cpu_current;

static __always_inline struct task_struct *get_current(void)
{
	return cpu_current;
}

#define current get_current()
#endif

#endif
