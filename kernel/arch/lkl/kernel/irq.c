// SPDX-License-Identifier: GPL-2.0-only
/*
 * IRQs. The host raises them from any thread and any context: raising only
 * records the IRQ (a bit for a plain one, a caller-owned event queued
 * without locks for one with data) and, if the CPU is free, wakes the
 * idle thread. Whoever holds the CPU runs them, one at a time, whenever
 * interrupts get enabled and before the CPU goes idle or is released.
 */
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/hardirq.h>
#include <linux/init_task.h>
#include <linux/bitops.h>
#include <asm/irq_regs.h>
#include "internal.h"

static unsigned long irq_flag = ARCH_IRQ_DISABLED;
static unsigned long lines_pending;
static struct lkl_irq_event *events_pending;
static bool irqs_ready;
static bool irq_running;
static void *event_data;
/* IRQs interrupt no user mode: all they see is an empty register set. */
static struct pt_regs irq_regs;

unsigned long arch_local_save_flags(void)
{
	return irq_flag;
}

void arch_local_irq_restore(unsigned long flags)
{
	irq_flag = flags;
	if (flags == ARCH_IRQ_ENABLED && irq_pending())
		irq_run_pending();
}

void irq_flag_enable_quiet(void)
{
	irq_flag = ARCH_IRQ_ENABLED;
}

bool irq_pending(void)
{
	return __atomic_load_n(&lines_pending, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&events_pending, __ATOMIC_SEQ_CST);
}

/* The data of the event whose handler is running. */
void *irq_event_data(void)
{
	return event_data;
}

void irq_queue_event(struct lkl_irq_event *ev)
{
	struct lkl_irq_event *head = __atomic_load_n(&events_pending,
						     __ATOMIC_SEQ_CST);

	do {
		ev->next = head;
	} while (!__atomic_compare_exchange_n(&events_pending, &head, ev, true,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
}

/* Wake the idle thread if nobody holds the CPU to see the new IRQ. */
void irq_kick(void)
{
	if (cpu_is_free())
		host_ops->sem_up(init_task.thread.sem);
}

int LKL_API lkl_irq_raise(int irq)
{
	if (irq < 0 || irq >= NR_IRQS || irq == LKL_IRQ_HOST)
		return -EINVAL;
	if (!irqs_ready || __atomic_load_n(&halting, __ATOMIC_SEQ_CST))
		return -ENODEV;
	__atomic_or_fetch(&lines_pending, 1UL << irq, __ATOMIC_SEQ_CST);
	irq_kick();
	return 0;
}

int LKL_API lkl_irq_raise_event(struct lkl_irq_event *ev)
{
	if (ev->irq >= NR_IRQS || ev->irq == LKL_IRQ_HOST)
		return -EINVAL;
	if (!irqs_ready || __atomic_load_n(&halting, __ATOMIC_SEQ_CST))
		return -ENODEV;
	irq_queue_event(ev);
	irq_kick();
	return 0;
}

/* Oldest first: the queue is a stack, taken whole. */
static struct lkl_irq_event *take_events(void)
{
	struct lkl_irq_event *ev, *next, *fifo = NULL;

	ev = __atomic_exchange_n(&events_pending, NULL, __ATOMIC_SEQ_CST);
	for (; ev; ev = next) {
		next = ev->next;
		ev->next = fifo;
		fifo = ev;
	}
	return fifo;
}

/* Runs the pending IRQs; the caller holds the CPU. */
void irq_run_pending(void)
{
	unsigned long flags, lines;
	struct lkl_irq_event *ev, *next;
	struct pt_regs *old_regs;

	if (!irqs_ready || irq_running || !irq_pending())
		return;
	flags = irq_flag;
	irq_flag = ARCH_IRQ_DISABLED;
	irq_running = true;
	old_regs = set_irq_regs(&irq_regs);
	irq_enter();
	lines = __atomic_exchange_n(&lines_pending, 0, __ATOMIC_SEQ_CST);
	while (lines) {
		int irq = __ffs(lines);

		lines &= lines - 1;
		generic_handle_irq(irq);
	}
	for (ev = take_events(); ev; ev = next) {
		next = ev->next;
		event_data = ev->data;
		generic_handle_irq(ev->irq);
	}
	event_data = NULL;
	irq_running = false;
	/* Softirqs run here, and may take further IRQs. */
	irq_exit();
	set_irq_regs(old_regs);
	irq_flag = flags;
}

void __init init_IRQ(void)
{
	int irq;

	for (irq = 0; irq < NR_IRQS; irq++)
		irq_set_chip_and_handler(irq, &dummy_irq_chip,
					 handle_simple_irq);
	irqs_ready = true;
}
