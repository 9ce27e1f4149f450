// SPDX-License-Identifier: GPL-2.0-only
/* The console: printk goes to the host's print operation, panics to its panic operation. */
#include <linux/console.h>
#include <linux/panic_notifier.h>
#include <linux/notifier.h>
#include "internal.h"

static void console_write(struct console *con, const char *str, unsigned int len)
{
	host_ops->print(str, len);
}

static struct console host_console = {
	.name	= "lkl",
	.write	= console_write,
	.flags	= CON_PRINTBUFFER,
	.index	= -1,
};

static int panic_to_host(struct notifier_block *nb, unsigned long event, void *msg)
{
	host_ops->panic(msg);
	return NOTIFY_DONE;
}

static struct notifier_block panic_block = {
	.notifier_call = panic_to_host,
};

void __init console_init_early(void)
{
	register_console(&host_console);
	atomic_notifier_chain_register(&panic_notifier_list, &panic_block);
}
