// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tasks on host threads. Each task that runs has a host semaphore; its
 * host thread waits on it whenever another task has the CPU. __switch_to
 * posts the next task's semaphore and waits on its own, so exactly one
 * host thread runs kernel code and the Linux scheduler decides which.
 *
 * Kernel threads get a host thread of their own on their first switch-in.
 * Host threads that call into the kernel have tasks too (host_tasks.c);
 * such a task may be switched out by another host thread "on its behalf"
 * while its own thread is outside the kernel: that switch ends with a
 * longjmp back to the switching thread instead of a wait.
 */
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/init_task.h>
#include <linux/cpu.h>
#include <linux/tick.h>
#include <linux/ptrace.h>
#include <linux/sched/debug.h>
#include <asm/switch_to.h>
#include <asm/host_ops.h>
#include "internal.h"

struct task_struct *cpu_current = &init_task;

/* Set while a host thread runs schedule() for a task that is not its own. */
static void **switch_jb;

static void LKL_ABI kernel_thread_main(void *arg);

/* Gives the CPU to @next's host thread. */
static void resume(struct task_struct *next)
{
	struct thread_struct *t = &next->thread;

	if (t->started) {
		host_ops->sem_up(t->sem);
		return;
	}
	t->started = true;
	t->sem = host_ops->sem_alloc(0);
	if (!t->sem)
		panic("lkl: cannot allocate a semaphore for %s", next->comm);
	thread_started();
	if (host_ops->thread_create(kernel_thread_main, next) < 0)
		panic("lkl: cannot create a host thread for %s", next->comm);
}

/* The host thread of @task leaves the kernel for good. */
static void __noreturn leave_for_good(void *sem, void **jb)
{
	host_ops->sem_free(sem);
	__builtin_longjmp(jb, 1);
}

/*
 * Blocks the calling host thread, which belongs to @task, until @task is
 * current again. At halt it leaves through the task's exit point instead.
 */
void wait_for_cpu(struct task_struct *task)
{
	struct thread_struct *t = &task->thread;
	void *sem = t->sem;
	void **exit_jb = t->exit_jb;

	for (;;) {
		host_ops->sem_down(sem);
		if (__atomic_load_n(&halting, __ATOMIC_SEQ_CST)) {
			t->sem = NULL;
			leave_for_good(sem, exit_jb);
		}
		if (READ_ONCE(cpu_current) == task)
			return;
		/*
		 * Only the idle task is woken while not current: an IRQ was
		 * raised while a host task had the CPU but was outside.
		 */
		if (task == &init_task)
			yield_cpu_to_irqs();
	}
}

struct task_struct *__switch_to(struct task_struct *prev,
				struct task_struct *next)
{
	void **jb = switch_jb;

	WRITE_ONCE(cpu_current, next);
	next->thread.prev = prev;

	if (jb) {
		switch_jb = NULL;
		resume(next);
		__builtin_longjmp(jb, 1);
	}
	if (READ_ONCE(prev->__state) == TASK_DEAD) {
		void *sem = prev->thread.sem;
		void **exit_jb = prev->thread.exit_jb;

		resume(next);
		leave_for_good(sem, exit_jb);
	}
	resume(next);
	wait_for_cpu(prev);
	return current->thread.prev;
}

/*
 * The calling host thread holds the CPU while the current task is a host
 * task whose own thread is outside the kernel. Run pending IRQs for it;
 * if they made work, park that task and let the scheduler run the rest.
 * Returns when the CPU has been passed on or released.
 */
void yield_cpu_to_irqs(void)
{
	if (!cpu_try_acquire())
		return;
	irq_run_pending();
	if (!need_resched() && single_task_running()) {
		cpu_release();
		return;
	}
	yield_cpu_from_outside();
}

/*
 * Switch away from the current task, a host task whose thread is outside
 * the kernel (or about to leave it), on its behalf: the task parks. The
 * caller holds the CPU; on return it has been passed to the task the
 * scheduler picked.
 */
void yield_cpu_from_outside(void)
{
	jmp_buf_t jb;

	if (__builtin_setjmp(jb))
		return;
	switch_jb = jb;
	set_current_state(TASK_PARKED);
	schedule();
	panic("lkl: a parked host task was scheduled in place");
}

int copy_thread(struct task_struct *p, const struct kernel_clone_args *args)
{
	struct thread_struct *t = &p->thread;

	memset(t, 0, sizeof(*t));
	if (!args->fn)
		return -EINVAL;
	if (host_task_claim(p, args->fn, args->fn_arg))
		return 0;
	t->kind = LKL_THREAD_KERNEL;
	t->fn = args->fn;
	t->fn_arg = args->fn_arg;
	return 0;
}

/* A kernel thread's host thread: from its first switch-in to its end. */
static void LKL_ABI kernel_thread_main(void *arg)
{
	struct task_struct *task = arg;
	jmp_buf_t jb;

	task->thread.exit_jb = jb;
	if (!__builtin_setjmp(jb)) {
		schedule_tail(task->thread.prev);
		task->thread.fn(task->thread.fn_arg);
		/*
		 * The body returned: "return to user space". For init that
		 * means the kernel is up; other threads have nowhere to go.
		 */
		if (is_global_init(task))
			init_finished();
		do_exit(0);
	}
	thread_gone();
}

void arch_cpu_idle(void)
{
	struct thread_struct *t = &init_task.thread;

	/* Entered with interrupts off; they are on from here. */
	irq_flag_enable_quiet();
	if (!irq_pending()) {
		cpu_release();
		do {
			host_ops->sem_down(t->sem);
			if (__atomic_load_n(&halting, __ATOMIC_SEQ_CST)) {
				void *sem = t->sem;

				t->sem = NULL;
				leave_for_good(sem, t->exit_jb);
			}
		} while (!cpu_acquire());
	}
	irq_run_pending();
}

/*
 * Halt, on the halting host thread: every other thread leaves the kernel,
 * then that thread leaves through its exit point.
 */
void threads_halt(void)
{
	struct task_struct *g, *t;

	__atomic_store_n(&halting, true, __ATOMIC_SEQ_CST);
	time_halt();
	cpu_halt_waiters();
	host_tasks_halt();
	if (init_task.thread.sem)
		host_ops->sem_up(init_task.thread.sem);
	for_each_process_thread(g, t) {
		if (t != current && t->thread.started && t->thread.sem)
			host_ops->sem_up(t->thread.sem);
	}
	threads_gone_wait();
	for_each_process_thread(g, t) {
		if (t != current && t->thread.kind == LKL_THREAD_HOST &&
		    t->thread.sem)
			host_ops->sem_free(t->thread.sem);
	}
	leave_for_good(current->thread.sem, current->thread.exit_jb);
}

/* There are no saved registers, and no frame pointers to walk. */
void show_regs(struct pt_regs *regs)
{
}

void show_stack(struct task_struct *task, unsigned long *sp,
		const char *loglvl)
{
}

/* Nothing to trace: tasks have no user mode. */
void ptrace_disable(struct task_struct *child)
{
}

long arch_ptrace(struct task_struct *child, long request, unsigned long addr,
		 unsigned long data)
{
	return ptrace_request(child, request, addr, data);
}

void flush_thread(void)
{
}
