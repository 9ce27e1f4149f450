// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtual CPU as a lock. Whoever runs kernel code holds it: a host
 * thread inside a system call, the idle thread handling IRQs, or, by token
 * passing in __switch_to, any kernel thread. It is released only where
 * the CPU would go idle: by the idle thread before it sleeps, and by a
 * host thread leaving a system call with nothing else to run.
 *
 * Also here: the counts that halt waits on, of host threads inside the
 * kernel, of host threads the kernel created and of disk requests out.
 */
#include <linux/kernel.h>
#include <linux/init_task.h>
#include "internal.h"

static int cpu_owned;
static int cpu_waiters;
static void *cpu_sem;

static long threads_inside;	/* host threads inside lkl_syscall */
static long threads_live;	/* host threads created by the kernel */
static long io_inflight;	/* disk requests the host has not completed */
static void *gone_sem;		/* posted as those counts fall during halt */

void cpu_init(void)
{
	cpu_sem = host_ops->sem_alloc(0);
	gone_sem = host_ops->sem_alloc(0);
	if (!cpu_sem || !gone_sem)
		host_ops->panic("lkl: cannot allocate semaphores");
	/* The boot thread holds the CPU from the start. */
	cpu_owned = 1;
	threads_live = 1;
}

/*
 * After halt, once no thread will enter the kernel again (lkl_release):
 * the two semaphores go back to the host (a driver unloading must find
 * its pool as it was before the boot).
 */
void cpu_free(void)
{
	host_ops->sem_free(cpu_sem);
	host_ops->sem_free(gone_sem);
	cpu_sem = NULL;
	gone_sem = NULL;
}

bool cpu_try_acquire(void)
{
	return __atomic_exchange_n(&cpu_owned, 1, __ATOMIC_SEQ_CST) == 0;
}

/* Blocks until the CPU is ours; false (without it) once halt has begun. */
bool cpu_acquire(void)
{
	bool got = false;

	if (cpu_try_acquire())
		return true;
	__atomic_add_fetch(&cpu_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (__atomic_load_n(&halting, __ATOMIC_SEQ_CST))
			break;
		if (cpu_try_acquire()) {
			got = true;
			break;
		}
		host_ops->sem_down(cpu_sem);
	}
	__atomic_sub_fetch(&cpu_waiters, 1, __ATOMIC_SEQ_CST);
	return got;
}

void cpu_release(void)
{
	__atomic_store_n(&cpu_owned, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&cpu_waiters, __ATOMIC_SEQ_CST))
		host_ops->sem_up(cpu_sem);
	/* An IRQ raised while we held the CPU found it busy: pass it on. */
	if (irq_pending())
		host_ops->sem_up(init_task.thread.sem);
}

bool cpu_is_free(void)
{
	return __atomic_load_n(&cpu_owned, __ATOMIC_SEQ_CST) == 0;
}

/* At halt: everyone blocked in cpu_acquire gives up. */
void cpu_halt_waiters(void)
{
	int n = __atomic_load_n(&cpu_waiters, __ATOMIC_SEQ_CST);

	while (n-- > 0)
		host_ops->sem_up(cpu_sem);
}

void inside_enter(void)
{
	__atomic_add_fetch(&threads_inside, 1, __ATOMIC_SEQ_CST);
}

/* Halt waits for both counts to fall: tell it when one does. */
static void count_down(long *count)
{
	__atomic_sub_fetch(count, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&halting, __ATOMIC_SEQ_CST))
		host_ops->sem_up(gone_sem);
}

void inside_leave(void)
{
	count_down(&threads_inside);
}

void thread_started(void)
{
	__atomic_add_fetch(&threads_live, 1, __ATOMIC_SEQ_CST);
}

void thread_gone(void)
{
	count_down(&threads_live);
}

void io_started(void)
{
	__atomic_add_fetch(&io_inflight, 1, __ATOMIC_SEQ_CST);
}

void io_done(void)
{
	count_down(&io_inflight);
}

/*
 * Called by the halting host thread, itself inside: returns when every
 * other host thread has left the kernel, every kernel thread is gone and
 * the host has completed every disk request (their memory is the pool's).
 * The two semaphores here live as long as the process: a host thread may
 * still be on its way out of cpu_acquire or inside_leave.
 */
void threads_gone_wait(void)
{
	while (__atomic_load_n(&threads_live, __ATOMIC_SEQ_CST) > 0 ||
	       __atomic_load_n(&threads_inside, __ATOMIC_SEQ_CST) > 1 ||
	       __atomic_load_n(&io_inflight, __ATOMIC_SEQ_CST) > 0)
		host_ops->sem_down(gone_sem);
}
