// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifecycle: lkl_boot starts the kernel on a host thread that becomes the
 * idle thread and returns once init is up; lkl_halt powers it off, which
 * ends every kernel thread and gives the memory pool back.
 *
 * init (pid 1) has no program to run: an empty /init and a binary format
 * that accepts it for pid 1 only let kernel_init finish the normal way.
 */
#include <linux/init.h>
#include <linux/init_task.h>
#include <linux/binfmts.h>
#include <linux/fs.h>
#include <linux/reboot.h>
#include <linux/start_kernel.h>
#include <linux/string.h>
#include <linux/syscalls.h>
#include <linux/task_work.h>
#include <linux/seq_file.h>
#include <asm/setup.h>
#include "internal.h"

const struct lkl_host_ops *host_ops;
bool halting;

static int boot_claimed;
static bool running;
static void *boot_sem;

static void __ref LKL_ABI boot_thread_main(void *arg)
{
	jmp_buf_t jb;

	init_task.thread.exit_jb = jb;
	if (!__builtin_setjmp(jb))
		start_kernel();
	thread_gone();
}

int __ref LKL_API lkl_boot(const struct lkl_host_ops *ops,
			   const char *cmdline, unsigned long mem_size)
{
	int err;

	if (__atomic_exchange_n(&boot_claimed, 1, __ATOMIC_SEQ_CST))
		return -EBUSY;
	if (strscpy(boot_command_line, cmdline ? cmdline : "",
		    COMMAND_LINE_SIZE) < 0)
		return -E2BIG;
	host_ops = ops;
	time_boot_started();
	err = mem_pool_alloc(mem_size);
	if (err)
		return err;
	boot_sem = host_ops->sem_alloc(0);
	init_task.thread.sem = host_ops->sem_alloc(0);
	if (!boot_sem || !init_task.thread.sem)
		return -ENOMEM;
	cpu_init();
	err = host_ops->thread_create(boot_thread_main, NULL);
	if (err < 0)
		return err;
	host_ops->sem_down(boot_sem);
	host_ops->sem_free(boot_sem);
	__atomic_store_n(&running, true, __ATOMIC_SEQ_CST);
	return 0;
}

/* init has finished kernel_init: the kernel is up. */
void init_finished(void)
{
	host_ops->sem_up(boot_sem);
	host_tasks_serve();
}

static long crash(long why)
{
	panic("%s", (const char *)why);
}

/*
 * Makes the kernel panic, as a crash inside it would, with @why as the
 * panic's message: how a host checks that it contains a kernel panic.
 * (The kernel has no magic SysRq, whose "c" did this from a system call.)
 */
void LKL_API lkl_crash(const char *why)
{
	host_call(crash, (long)why);
}

int LKL_API lkl_halt(void)
{
	static const long none[6];
	const long halt[6] = {
		LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		LINUX_REBOOT_CMD_HALT,
	};
	long err;

	if (!__atomic_load_n(&running, __ATOMIC_SEQ_CST))
		return -ENODEV;
	lkl_syscall(__NR_sync, none);
	err = lkl_syscall(__NR_reboot, halt);
	if (!__atomic_load_n(&halting, __ATOMIC_SEQ_CST))
		return err;
	__atomic_store_n(&running, false, __ATOMIC_SEQ_CST);
	mem_pool_free();
	return 0;
}

/*
 * After halt, when the host knows no thread will call into the kernel
 * again (a late lkl_host_task_release or lkl_syscall still takes the CPU
 * lock's semaphores, so user-space hosts, whose threads end whenever they
 * like, never call this): the last host objects go back.
 */
int LKL_API lkl_release(void)
{
	if (__atomic_load_n(&running, __ATOMIC_SEQ_CST))
		return -EBUSY;
	cpu_free();
	return 0;
}

bool kernel_running(void)
{
	return __atomic_load_n(&running, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&halting, __ATOMIC_SEQ_CST);
}

void __init setup_arch(char **cmdline_p)
{
	*cmdline_p = boot_command_line;
	console_init_early();
	bootmem_init();
}

void machine_power_off(void)
{
	threads_halt();
}

void machine_halt(void)
{
	threads_halt();
}

void machine_restart(char *cmd)
{
	threads_halt();
}

static int cpuinfo_show(struct seq_file *m, void *v)
{
	seq_puts(m, "processor\t: 0\nmodel name\t: lkl\n");
	return 0;
}

static void *cpuinfo_start(struct seq_file *m, loff_t *pos)
{
	return *pos == 0 ? (void *)1 : NULL;
}

static void *cpuinfo_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return NULL;
}

static void cpuinfo_stop(struct seq_file *m, void *v)
{
}

const struct seq_operations cpuinfo_op = {
	.start	= cpuinfo_start,
	.next	= cpuinfo_next,
	.stop	= cpuinfo_stop,
	.show	= cpuinfo_show,
};

static int init_load_binary(struct linux_binprm *bprm)
{
	return is_global_init(current) ? 0 : -ENOEXEC;
}

static struct linux_binfmt init_format = {
	.load_binary = init_load_binary,
};

static int __init init_program_setup(void)
{
	struct file *file;

	file = filp_open("/init", O_CREAT | O_WRONLY, 0700);
	if (IS_ERR(file))
		return PTR_ERR(file);
	fput(file);
	/* init never returns to user mode, where deferred work would run. */
	task_work_run();
	register_binfmt(&init_format);
	return 0;
}
late_initcall(init_program_setup);
