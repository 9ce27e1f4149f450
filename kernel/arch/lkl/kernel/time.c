// SPDX-License-Identifier: GPL-2.0-only
/*
 * Time: a clocksource reading the host's monotonic nanoseconds, the wall
 * clock from the host at boot, and a one-shot clock event device on a host
 * timer whose expiry raises the timer IRQ. The kernel runs tickless.
 */
#include <linux/clocksource.h>
#include <linux/clockchips.h>
#include <linux/interrupt.h>
#include <linux/sched/clock.h>
#include <linux/delay.h>
#include <linux/time.h>
#include "internal.h"

/*
 * The host timer; NULL once halting has freed it, after which the halting
 * thread may still program the clock event (only the CPU's holder does).
 */
static void *timer;
static u64 boot_ns;

/* Called first thing at boot, so printk times count from then. */
void time_boot_started(void)
{
	boot_ns = host_ops->time_ns();
}

unsigned long long sched_clock(void)
{
	return host_ops->time_ns() - boot_ns;
}

static u64 clock_read(struct clocksource *cs)
{
	return host_ops->time_ns();
}

static struct clocksource clock = {
	.name	= "lkl",
	.rating	= 400,
	.read	= clock_read,
	.mask	= CLOCKSOURCE_MASK(64),
	.flags	= CLOCK_SOURCE_IS_CONTINUOUS,
};

void read_persistent_clock64(struct timespec64 *ts)
{
	*ts = ns_to_timespec64(host_ops->wall_ns());
}

static int timer_next_event(unsigned long delta,
			    struct clock_event_device *evt)
{
	if (timer)
		host_ops->timer_arm(timer, delta);
	return 0;
}

static int timer_stop(struct clock_event_device *evt)
{
	if (timer)
		host_ops->timer_disarm(timer);
	return 0;
}

static struct clock_event_device timer_device = {
	.name			= "lkl",
	.features		= CLOCK_EVT_FEAT_ONESHOT,
	.set_next_event		= timer_next_event,
	.set_state_shutdown	= timer_stop,
	.rating			= 100,
};

static irqreturn_t timer_irq(int irq, void *dev_id)
{
	struct clock_event_device *evt = dev_id;

	if (clockevent_state_oneshot(evt))
		evt->event_handler(evt);
	return IRQ_HANDLED;
}

static void LKL_ABI timer_expired(void *arg)
{
	lkl_irq_raise(LKL_IRQ_TIMER);
}

void __init time_init(void)
{
	int err;

	timer = host_ops->timer_alloc(timer_expired, NULL);
	if (!timer)
		panic("lkl: cannot allocate the host timer");
	err = clocksource_register_hz(&clock, NSEC_PER_SEC);
	if (err)
		panic("lkl: cannot register the clocksource: %d", err);
	err = request_irq(LKL_IRQ_TIMER, timer_irq, IRQF_TIMER, "timer",
			  &timer_device);
	if (err)
		panic("lkl: cannot request the timer IRQ: %d", err);
	timer_device.cpumask = cpu_possible_mask;
	clockevents_config_and_register(&timer_device, NSEC_PER_SEC, 1000,
					ULONG_MAX);
}

/* At halt: no callback is running or will run once this returns. */
void time_halt(void)
{
	void *gone = timer;

	timer = NULL;
	host_ops->timer_free(gone);
}

/* Busy waits, on the host clock. */
void __delay(unsigned long loops)
{
	u64 end = host_ops->time_ns() + loops;

	while (host_ops->time_ns() < end)
		cpu_relax();
}

void __udelay(unsigned long usecs)
{
	__delay(usecs * NSEC_PER_USEC);
}

void __ndelay(unsigned long nsecs)
{
	__delay(nsecs);
}

/* One "loop" of __delay is a nanosecond: nothing to calibrate. */
void calibrate_delay(void)
{
	loops_per_jiffy = NSEC_PER_SEC / HZ;
}

/* @xloops is microseconds scaled by 2^32 / 10^6. */
void __const_udelay(unsigned long xloops)
{
	__delay(((u64)xloops * NSEC_PER_SEC) >> 32);
}
