/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The boundary between the kernel and the program it is linked into: the
 * native operations the host supplies, and the entry points it calls.
 * This file is the whole contract; the Rust crate `lkl` mirrors it.
 */
#ifndef _ASM_LKL_HOST_OPS_H
#define _ASM_LKL_HOST_OPS_H

#ifdef CONFIG_LKL_HOST_MS_ABI
#define LKL_ABI __attribute__((ms_abi))
#else
#define LKL_ABI
#endif

/* An entry point: visible after the final link, and on the host's ABI. */
#define LKL_API __attribute__((visibility("default"))) LKL_ABI

#ifndef __ASSEMBLY__

typedef void (LKL_ABI *lkl_host_fn)(void *arg);

/*
 * Native operations. Every member is mandatory. Semaphore and timer
 * operations may be called from any host thread; sem_up and the timer
 * callback must work in contexts that cannot block (the kernel only ever
 * raises an IRQ from a timer callback).
 */
struct lkl_host_ops {
	/* Console output of printk: @len bytes, not NUL-terminated. */
	void (LKL_ABI *print)(const char *str, int len);
	/* The kernel panicked; @msg is the panic text. Must not return. */
	void (LKL_ABI *panic)(const char *msg);

	void *(LKL_ABI *sem_alloc)(int count);
	void (LKL_ABI *sem_free)(void *sem);
	void (LKL_ABI *sem_up)(void *sem);
	void (LKL_ABI *sem_down)(void *sem);

	/* Start a detached host thread running @fn(@arg); 0 or -errno. */
	int (LKL_ABI *thread_create)(lkl_host_fn fn, void *arg);
	/* One pointer of thread-local storage for the calling host thread. */
	void *(LKL_ABI *tls_get)(void);
	void (LKL_ABI *tls_set)(void *value);

	void *(LKL_ABI *mem_alloc)(unsigned long size);
	void (LKL_ABI *mem_free)(void *ptr, unsigned long size);

	/* Monotonic nanoseconds, and nanoseconds since the Unix epoch. */
	unsigned long long (LKL_ABI *time_ns)(void);
	unsigned long long (LKL_ABI *wall_ns)(void);

	/*
	 * A one-shot timer calling @fn(@arg) on a host thread when it
	 * expires. timer_arm re-arms it; timer_disarm and timer_free return
	 * only when no callback is running any more.
	 */
	void *(LKL_ABI *timer_alloc)(lkl_host_fn fn, void *arg);
	void (LKL_ABI *timer_arm)(void *timer, unsigned long long delta_ns);
	void (LKL_ABI *timer_disarm)(void *timer);
	void (LKL_ABI *timer_free)(void *timer);
};

/*
 * An IRQ carrying data, queued without allocation: the raiser owns the
 * memory until the kernel's handler for @irq has run.
 */
struct lkl_irq_event {
	struct lkl_irq_event *next;
	unsigned long irq;
	void *data;
};

/* IRQ lines with a fixed meaning. */
#define LKL_IRQ_TIMER	0
#define LKL_IRQ_HOST	1
#define LKL_IRQ_DISK	2
#define LKL_IRQ_NIC	3
#define LKL_IRQ_FIRST_FREE 4

/* A disk request's operation. */
enum lkl_disk_op {
	LKL_DISK_READ,
	LKL_DISK_WRITE,
	LKL_DISK_FLUSH,		/* make earlier completed writes durable */
	LKL_DISK_DISCARD,	/* the range's contents no longer matter */
	LKL_DISK_WRITE_ZEROES,
};

#define LKL_DISK_FUA	1	/* write: durable when completed */

struct lkl_disk_segment {
	void *buf;
	unsigned long long len;
};

/*
 * One request to a host disk. The host reads or fills the segments, in
 * order, from byte @offset on (@len bytes in all; no segments for flush,
 * discard and write-zeroes), then calls lkl_disk_complete, from any thread
 * at any time, with 0 or a negative errno.
 */
struct lkl_disk_request {
	struct lkl_irq_event event;	/* the kernel's */
	unsigned int op;		/* enum lkl_disk_op */
	unsigned int flags;		/* LKL_DISK_FUA */
	unsigned long long offset;
	unsigned long long len;
	unsigned int nsegs;
	int status;
	struct lkl_disk_segment *segs;
};

/* A disk the host lends the kernel: the native disk stub. */
struct lkl_disk {
	void *handle;			/* passed back to submit */
	unsigned long long capacity;	/* bytes */
	unsigned int block_size;	/* logical block size: 512 or 4096 */
	int read_only;
	/* Starts @req; 0, or -errno to fail it at once. */
	int (LKL_ABI *submit)(void *handle, struct lkl_disk_request *req);
};

/*
 * A frame the host received, lent to the kernel: lkl_nic_rx raises the
 * NIC IRQ carrying it; the kernel copies it and calls @done, from its own
 * thread, once it no longer reads @data (also for a frame it drops).
 */
struct lkl_nic_frame {
	struct lkl_irq_event event;	/* the kernel's */
	struct lkl_nic_frame *next;	/* the kernel's */
	int nic;			/* lkl_nic_add's number */
	unsigned int len;		/* an Ethernet frame, no FCS (see offload_max) */
	void *data;
	void (LKL_ABI *done)(struct lkl_nic_frame *frame);
};

/* One piece of a frame the kernel sends. */
struct lkl_nic_segment {
	const void *buf;
	unsigned long long len;
};

/* The most pieces a sent frame comes in. */
#define LKL_NIC_SEGMENTS_MAX	20

/* A NIC the host lends the kernel: the native NIC stub (kernels with NET). */
struct lkl_nic {
	void *handle;			/* passed back to xmit */
	unsigned char mac[6];		/* all zero: a random one */
	unsigned int mtu;		/* the largest payload the host carries */
	/*
	 * 0: plain Ethernet frames. Otherwise every frame, both ways, starts
	 * with a struct virtio_net_hdr (10 bytes, little-endian) that asks
	 * for checksums and TCP segmentation still to be done (the host, or
	 * whatever receives the frame, does them) or says a checksum was
	 * checked; frames after the header are then up to this many bytes.
	 */
	unsigned int offload_max;
	/*
	 * Sends one frame, in @nsegs pieces read during the call only (the
	 * header first, on its own, when offloading); 0, or -errno to count
	 * it dropped. Must not block for long: it runs on the kernel's thread.
	 */
	int (LKL_ABI *xmit)(void *handle, const struct lkl_nic_segment *segs,
			    unsigned int nsegs);
};

extern const struct lkl_host_ops *host_ops;

/*
 * Entry points. lkl_boot returns once init is up (or -errno); only one
 * boot per process. lkl_syscall takes six arguments from @params and may
 * be called from any host thread; it runs on the caller's stack. A host
 * thread that made system calls ends its kernel task, before it ends, with
 * lkl_host_task_release(the value it holds in its TLS slot).
 */
LKL_API int lkl_boot(const struct lkl_host_ops *ops, const char *cmdline,
		     unsigned long mem_size);
LKL_API long lkl_syscall(long nr, const long *params);
LKL_API int lkl_halt(void);
LKL_API void lkl_crash(const char *why);
LKL_API int lkl_release(void);
LKL_API void lkl_host_task_release(void *task);
LKL_API int lkl_irq_raise(int irq);
LKL_API int lkl_irq_raise_event(struct lkl_irq_event *ev);

/*
 * Disks: lkl_disk_add returns the disk's number N (its device is
 * /dev/vd<a+N>, partitions /dev/vd<a+N><P>) or -errno; @disk must live
 * until lkl_disk_remove(N) returns.
 */
LKL_API int lkl_disk_add(const struct lkl_disk *disk);
LKL_API int lkl_disk_remove(int id);
LKL_API void lkl_disk_complete(struct lkl_disk_request *req, int status);

/*
 * NICs (kernels with NET): lkl_nic_add returns the NIC's number N (an
 * ethN device, down until configured; lkl_nic_ifindex(N) is its interface
 * index) or -errno; @nic must live until lkl_nic_remove(N) returns.
 * lkl_nic_rx hands the kernel a received frame, from any thread.
 */
LKL_API int lkl_nic_add(const struct lkl_nic *nic);
LKL_API int lkl_nic_remove(int id);
LKL_API int lkl_nic_ifindex(int id);
LKL_API int lkl_nic_rx(struct lkl_nic_frame *frame);

#endif /* __ASSEMBLY__ */
#endif
