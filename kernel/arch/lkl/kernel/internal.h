/* SPDX-License-Identifier: GPL-2.0-only */
/* Interfaces between the modules of the lkl architecture. */
#ifndef _LKL_KERNEL_INTERNAL_H
#define _LKL_KERNEL_INTERNAL_H

#include <linux/types.h>
#include <asm/host_ops.h>

struct task_struct;

/* A buffer for __builtin_setjmp/__builtin_longjmp. */
typedef void *jmp_buf_t[5];

/* boot.c: lifecycle. */
extern bool halting;
bool kernel_running(void);
void init_finished(void) __noreturn;

/* cpu.c: the lock that makes the host's threads one CPU. */
void cpu_init(void);
void cpu_free(void);
bool cpu_acquire(void);
bool cpu_try_acquire(void);
void cpu_release(void);
bool cpu_is_free(void);
void cpu_halt_waiters(void);
void inside_enter(void);
void inside_leave(void);
void threads_gone_wait(void);
void thread_started(void);
void thread_gone(void);
void io_started(void);
void io_done(void);

/* irq.c: IRQs raised by the host, run serially by the kernel. */
bool irq_pending(void);
void irq_run_pending(void);
void irq_queue_event(struct lkl_irq_event *ev);
void irq_kick(void);
void *irq_event_data(void);
void irq_flag_enable_quiet(void);

/* mem.c: the memory pool. */
int mem_pool_alloc(unsigned long size);
void mem_pool_free(void);
void bootmem_init(void);

/* threads.c: tasks on host threads. */
void wait_for_cpu(struct task_struct *task);
void yield_cpu_to_irqs(void);
void yield_cpu_from_outside(void);
void threads_halt(void) __noreturn;

/* host_tasks.c: host threads calling into the kernel. */
struct task_struct *host_task_enter(struct task_struct *task, void **exit_jb);
void host_task_leave(void);
void host_tasks_serve(void) __noreturn;
void host_tasks_halt(void);
bool host_task_claim(struct task_struct *p, int (*fn)(void *), void *arg);

/* syscalls.c: runs @fn(@arg) as the calling host thread's task. */
typedef long (*host_call_fn)(long arg);
long host_call(host_call_fn fn, long arg);

/* time.c */
void time_boot_started(void);
void time_halt(void);

/* console.c */
void console_init_early(void);

#endif
