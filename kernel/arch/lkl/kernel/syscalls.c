// SPDX-License-Identifier: GPL-2.0-only
/*
 * System calls: the generic table, and lkl_syscall, which host threads
 * call directly. The call runs on the caller's stack, as the caller's own
 * task; see host_tasks.c.
 */
#include <linux/syscalls.h>
#include <linux/err.h>
#include <linux/mman.h>
#include <linux/sched/task.h>
#include <asm/unistd.h>
#include "internal.h"

typedef long (*syscall_fn_t)(long, long, long, long, long, long);

SYSCALL_DEFINE6(mmap, unsigned long, addr, unsigned long, len,
		unsigned long, prot, unsigned long, flags,
		unsigned long, fd, off_t, offset)
{
	if (offset_in_page(offset))
		return -EINVAL;
	return ksys_mmap_pgoff(addr, len, prot, flags, fd,
			       offset >> PAGE_SHIFT);
}

/* No user mode, so no signal frames to return from. */
#define sys_rt_sigreturn sys_ni_syscall

#undef __SYSCALL
#define __SYSCALL(nr, call) [nr] = (syscall_fn_t)(void *)(call),

static const syscall_fn_t syscall_table[__NR_syscalls] = {
	[0 ... __NR_syscalls - 1] = (syscall_fn_t)(void *)sys_ni_syscall,
#include <uapi/asm/unistd.h>
};

/*
 * Runs @fn with the six arguments in @args as the calling host thread's
 * task. Returns its result, or -ENODEV when the kernel is not running.
 */
static long run_as_host_task(syscall_fn_t fn, const long *args)
{
	jmp_buf_t jb;
	struct task_struct *task;
	long ret;

	if (!kernel_running())
		return -ENODEV;
	inside_enter();
	if (__builtin_setjmp(jb)) {
		/* The kernel halted while this thread was inside. */
		inside_leave();
		return -ENODEV;
	}
	if (!cpu_acquire()) {
		inside_leave();
		return -ENODEV;
	}
	task = host_task_enter(host_ops->tls_get(), jb);
	if (IS_ERR(task)) {
		inside_leave();
		return PTR_ERR(task);
	}
	host_ops->tls_set(task);
	ret = fn(args[0], args[1], args[2], args[3], args[4], args[5]);
	host_task_leave();
	inside_leave();
	return ret;
}

long host_call(host_call_fn fn, long arg)
{
	const long args[6] = { arg };

	return run_as_host_task((syscall_fn_t)(void *)fn, args);
}

/* System call @nr with the six arguments in @params, or -ENOSYS. */
long LKL_API lkl_syscall(long nr, const long *params)
{
	if ((unsigned long)nr >= __NR_syscalls)
		return -ENOSYS;
	return run_as_host_task(syscall_table[nr], params);
}

/*
 * Ends the kernel task of a host thread that is about to end: its own
 * thread passes @task, the value it kept in its TLS slot.
 */
void LKL_API lkl_host_task_release(void *task)
{
	jmp_buf_t jb;

	if (!task || !kernel_running())
		return;
	inside_enter();
	if (__builtin_setjmp(jb)) {
		/* The task is dead (or the kernel halted). */
		inside_leave();
		return;
	}
	if (!cpu_acquire()) {
		inside_leave();
		return;
	}
	if (IS_ERR(host_task_enter(task, jb))) {
		inside_leave();
		return;
	}
	do_exit(0);
}
