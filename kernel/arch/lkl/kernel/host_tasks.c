// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host threads calling into the kernel. Each gets a task of its own on its
 * first system call: a thread of init (pid 1), sharing its files, fs and
 * signal handlers, so all host threads look like one process.
 *
 * Between calls the task stays current while the CPU is free ("outside"),
 * so the next call from the same thread needs no switch at all. When
 * another host thread or an IRQ needs the CPU, the outside task is parked
 * (TASK_PARKED, which ordinary wake-ups leave alone) until its thread
 * returns.
 */
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/init_task.h>
#include <linux/interrupt.h>
#include <linux/resume_user_mode.h>
#include <linux/wait.h>
#include <linux/err.h>
#include "internal.h"

enum host_request_kind {
	HOST_CREATE,	/* make a task for the calling thread */
	HOST_WAKE,	/* unpark the calling thread's task */
};

/* A request from a host thread, handed to the kernel as an IRQ event. */
struct host_request {
	struct lkl_irq_event event;
	enum host_request_kind kind;
	struct task_struct *task;
	void *sem;
	int error;
	struct list_head list;
};

static LIST_HEAD(create_queue);
static DECLARE_WAIT_QUEUE_HEAD(create_wq);

/* Marks clones made for host threads; a host task's body never runs. */
static int host_task_body(void *arg)
{
	return 0;
}

bool host_task_claim(struct task_struct *p, int (*fn)(void *), void *arg)
{
	struct host_request *req = arg;

	if (fn != host_task_body)
		return false;
	p->thread.kind = LKL_THREAD_HOST;
	p->thread.started = true;
	p->thread.sem = req->sem;
	req->task = p;
	return true;
}

static irqreturn_t host_irq(int irq, void *dev_id)
{
	struct host_request *req = irq_event_data();

	if (!req)
		return IRQ_NONE;
	if (req->kind == HOST_WAKE) {
		wake_up_state(req->task, TASK_PARKED);
	} else {
		list_add_tail(&req->list, &create_queue);
		wake_up(&create_wq);
	}
	return IRQ_HANDLED;
}

static int __init host_irq_init(void)
{
	return request_irq(LKL_IRQ_HOST, host_irq, 0, "host", NULL);
}
core_initcall(host_irq_init);

/* init's work once the kernel is up: making tasks for host threads. */
void host_tasks_serve(void)
{
	for (;;) {
		struct host_request *req;
		int pid;

		wait_event(create_wq, !list_empty(&create_queue));
		local_irq_disable();
		req = list_first_entry(&create_queue, struct host_request, list);
		list_del(&req->list);
		local_irq_enable();
		pid = user_mode_thread(host_task_body, req,
				       CLONE_VM | CLONE_FS | CLONE_FILES |
				       CLONE_SIGHAND | CLONE_THREAD);
		if (pid < 0) {
			req->error = pid;
			host_ops->sem_up(req->sem);
		}
	}
}

/* At halt, on the halting thread: pending creations fail. */
void host_tasks_halt(void)
{
	struct host_request *req, *next;

	irq_run_pending();
	list_for_each_entry_safe(req, next, &create_queue, list) {
		list_del(&req->list);
		req->error = -ENODEV;
		host_ops->sem_up(req->sem);
	}
}

/*
 * The caller holds the CPU but its task is not current: let the kernel
 * run, from the queued request on, until it switches to that task.
 */
static void yield_cpu(void)
{
	if (current == &init_task) {
		/* The idle thread picks the request up. */
		cpu_release();
		return;
	}
	irq_run_pending();
	yield_cpu_from_outside();
}

static struct task_struct *host_task_create(void **exit_jb)
{
	struct host_request req = { .kind = HOST_CREATE };

	req.sem = host_ops->sem_alloc(0);
	if (!req.sem) {
		cpu_release();
		return ERR_PTR(-ENOMEM);
	}
	req.event.irq = LKL_IRQ_HOST;
	req.event.data = &req;
	irq_queue_event(&req.event);
	yield_cpu();
	host_ops->sem_down(req.sem);
	if (__atomic_load_n(&halting, __ATOMIC_SEQ_CST)) {
		if (req.task)
			req.task->thread.sem = NULL;
		host_ops->sem_free(req.sem);
		__builtin_longjmp(exit_jb, 1);
	}
	if (req.error) {
		host_ops->sem_free(req.sem);
		return ERR_PTR(req.error);
	}
	req.task->thread.exit_jb = exit_jb;
	schedule_tail(req.task->thread.prev);
	return req.task;
}

/*
 * Enters the kernel as @task (NULL: a new task), with the CPU held by the
 * caller. Returns with @task current, or an error without the CPU. If the
 * kernel halts meanwhile, the thread leaves through @exit_jb.
 */
struct task_struct *host_task_enter(struct task_struct *task, void **exit_jb)
{
	struct host_request req = { .kind = HOST_WAKE, .task = task };

	if (!task)
		return host_task_create(exit_jb);
	task->thread.exit_jb = exit_jb;
	if (current == task)
		return task;
	if (current == &init_task) {
		req.event.irq = LKL_IRQ_HOST;
		req.event.data = &req;
		irq_queue_event(&req.event);
	} else {
		wake_up_state(task, TASK_PARKED);
	}
	yield_cpu();
	wait_for_cpu(task);
	schedule_tail(task->thread.prev);
	return task;
}

/*
 * Leaves the kernel as a system call returns: what a return to user mode
 * would do, then the CPU is released with the task still current, unless
 * other tasks are waiting to run: then the task parks and the CPU goes to
 * them (a free CPU must never leave runnable tasks stranded).
 */
void host_task_leave(void)
{
	for (;;) {
		if (test_thread_flag(TIF_NOTIFY_RESUME))
			resume_user_mode_work(NULL);
		irq_run_pending();
		if (!need_resched())
			break;
		schedule();
	}
	if (single_task_running())
		cpu_release();
	else
		yield_cpu_from_outside();
}
