/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_LKL_PROCESSOR_H
#define _ASM_LKL_PROCESSOR_H

#include <asm/ptrace.h>

#ifndef __ASSEMBLY__

struct task_struct;

/* What a task is to the host. */
enum lkl_thread_kind {
	LKL_THREAD_KERNEL,	/* a kernel thread on a host thread of its own */
	LKL_THREAD_HOST,	/* a host thread calling into the kernel */
};

/*
 * Per-task host state. Each task that has run owns a host semaphore; its
 * host thread waits on it whenever another task has the CPU.
 */
struct thread_struct {
	void *sem;
	/* The task __switch_to switched away from when this one resumed. */
	struct task_struct *prev;
	/* Body of a kernel thread, started on first switch to it. */
	int (*fn)(void *arg);
	void *fn_arg;
	/* Where this task's host thread leaves the kernel for good. */
	void *exit_jb;
	enum lkl_thread_kind kind;
	bool started;
	struct pt_regs regs;
};

#define INIT_THREAD { .kind = LKL_THREAD_KERNEL, .started = true }

#define task_pt_regs(tsk)	(&(tsk)->thread.regs)
#define KSTK_EIP(tsk)		(0UL)
#define KSTK_ESP(tsk)		(0UL)

/* No MMU and no user space: the whole address space is the host's. */
#define TASK_SIZE		(~0UL)
#define TASK_UNMAPPED_BASE	(0UL)
#define STACK_TOP		TASK_SIZE
#define STACK_TOP_MAX		TASK_SIZE

static inline void cpu_relax(void)
{
	__asm__ __volatile__("" : : : "memory");
}

static inline unsigned long __get_wchan(struct task_struct *p)
{
	return 0;
}

#define start_thread(regs, pc, sp) do { } while (0)

#endif /* __ASSEMBLY__ */
#endif
