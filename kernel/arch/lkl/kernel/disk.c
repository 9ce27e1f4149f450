// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host disks as Linux block devices (blk-mq). Each request becomes a
 * struct lkl_disk_request handed to the host's submit operation; the host
 * completes it from any thread with lkl_disk_complete, which raises the
 * disk IRQ carrying the request, and the IRQ handler ends it.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include "internal.h"

#define DISKS_MAX	26
#define DISK_MINORS	16
#define QUEUE_DEPTH	64
#define SEGMENTS_MAX	128

struct host_disk {
	struct lkl_disk host;
	struct blk_mq_tag_set tags;
	struct gendisk *disk;
};

/* Per request: the host's view of it, and its segments. */
struct disk_cmd {
	struct lkl_disk_request req;
	struct lkl_disk_segment segs[SEGMENTS_MAX];
};

static int disk_major;
static struct host_disk *disks[DISKS_MAX];
/*
 * Numbers in use: from add until the kernel lets the disk go, which is
 * later than its removal when a file system outlives it (detached, files
 * still open). A later disk never gets its device name and number: a
 * mount of it would meet that file system instead of its own.
 */
static DECLARE_BITMAP(ids_taken, DISKS_MAX);
static DEFINE_MUTEX(disks_lock);

static int fill_segments(struct request *rq, struct disk_cmd *cmd)
{
	struct req_iterator iter;
	struct bio_vec bv;
	unsigned int n = 0;

	rq_for_each_bvec(bv, rq, iter) {
		if (n == SEGMENTS_MAX)
			return -EINVAL;
		cmd->segs[n].buf = bvec_virt(&bv);
		cmd->segs[n].len = bv.bv_len;
		n++;
	}
	cmd->req.nsegs = n;
	return 0;
}

static blk_status_t disk_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct host_disk *hd = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct disk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct lkl_disk_request *req = &cmd->req;

	memset(req, 0, sizeof(*req));
	req->event.irq = LKL_IRQ_DISK;
	req->event.data = req;
	req->segs = cmd->segs;
	req->offset = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	req->len = blk_rq_bytes(rq);
	if (rq->cmd_flags & REQ_FUA)
		req->flags |= LKL_DISK_FUA;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		req->op = LKL_DISK_READ;
		break;
	case REQ_OP_WRITE:
		req->op = LKL_DISK_WRITE;
		break;
	case REQ_OP_FLUSH:
		req->op = LKL_DISK_FLUSH;
		break;
	case REQ_OP_DISCARD:
		req->op = LKL_DISK_DISCARD;
		break;
	case REQ_OP_WRITE_ZEROES:
		req->op = LKL_DISK_WRITE_ZEROES;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	if ((req->op == LKL_DISK_READ || req->op == LKL_DISK_WRITE) &&
	    fill_segments(rq, cmd))
		return BLK_STS_IOERR;

	blk_mq_start_request(rq);
	io_started();
	if (hd->host.submit(hd->host.handle, req) < 0) {
		io_done();
		blk_mq_end_request(rq, BLK_STS_IOERR);
	}
	return BLK_STS_OK;
}

static const struct blk_mq_ops disk_mq_ops = {
	.queue_rq = disk_queue_rq,
};

/* The last reference to a removed disk is gone: its number is free. */
static void disk_free(struct gendisk *disk)
{
	mutex_lock(&disks_lock);
	clear_bit((long)disk->private_data, ids_taken);
	mutex_unlock(&disks_lock);
}

static const struct block_device_operations disk_fops = {
	.owner = THIS_MODULE,
	.free_disk = disk_free,
};

void LKL_API lkl_disk_complete(struct lkl_disk_request *req, int status)
{
	/* At halt the request's memory is about to go: leave it alone. */
	if (!__atomic_load_n(&halting, __ATOMIC_SEQ_CST)) {
		req->status = status;
		irq_queue_event(&req->event);
		irq_kick();
	}
	io_done();
}

static irqreturn_t disk_irq(int irq, void *dev_id)
{
	struct lkl_disk_request *req = irq_event_data();
	struct disk_cmd *cmd = container_of(req, struct disk_cmd, req);

	blk_mq_end_request(blk_mq_rq_from_pdu(cmd),
			   errno_to_blk_status(req->status));
	return IRQ_HANDLED;
}

static int disk_create(struct host_disk *hd, int id)
{
	struct queue_limits lim = {
		.logical_block_size	= hd->host.block_size,
		.physical_block_size	= hd->host.block_size,
		.max_hw_sectors		= 2048,
		.max_segments		= SEGMENTS_MAX,
		.max_hw_discard_sectors	= UINT_MAX >> SECTOR_SHIFT,
		.max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT,
		.features		= BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA,
	};
	struct gendisk *disk;
	int err;

	hd->tags.ops = &disk_mq_ops;
	hd->tags.nr_hw_queues = 1;
	hd->tags.queue_depth = QUEUE_DEPTH;
	hd->tags.numa_node = NUMA_NO_NODE;
	hd->tags.cmd_size = sizeof(struct disk_cmd);
	hd->tags.flags = BLK_MQ_F_SHOULD_MERGE;
	err = blk_mq_alloc_tag_set(&hd->tags);
	if (err)
		return err;

	disk = blk_mq_alloc_disk(&hd->tags, &lim, hd);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(&hd->tags);
		return PTR_ERR(disk);
	}
	disk->major = disk_major;
	disk->first_minor = id * DISK_MINORS;
	disk->minors = DISK_MINORS;
	disk->fops = &disk_fops;
	disk->private_data = (void *)(long)id;
	snprintf(disk->disk_name, DISK_NAME_LEN, "vd%c", 'a' + id);
	set_capacity(disk, hd->host.capacity >> SECTOR_SHIFT);
	set_disk_ro(disk, hd->host.read_only);
	hd->disk = disk;

	err = add_disk(disk);
	if (err) {
		put_disk(disk);
		blk_mq_free_tag_set(&hd->tags);
	}
	return err;
}

/* Runs as the calling host thread's task: see lkl_disk_add. */
static long disk_add(long arg)
{
	const struct lkl_disk *host = (const struct lkl_disk *)arg;
	struct host_disk *hd;
	int id, err;

	if (host->block_size != 512 && host->block_size != 4096)
		return -EINVAL;
	if (!host->submit || host->capacity < host->block_size ||
	    host->capacity % host->block_size)
		return -EINVAL;
	hd = kzalloc(sizeof(*hd), GFP_KERNEL);
	if (!hd)
		return -ENOMEM;
	hd->host = *host;

	mutex_lock(&disks_lock);
	id = find_first_zero_bit(ids_taken, DISKS_MAX);
	if (id == DISKS_MAX) {
		err = -ENOSPC;
	} else {
		err = disk_create(hd, id);
		if (!err) {
			disks[id] = hd;
			set_bit(id, ids_taken);
		}
	}
	mutex_unlock(&disks_lock);
	if (err) {
		kfree(hd);
		return err;
	}
	return id;
}

static long disk_remove(long id)
{
	struct host_disk *hd;

	if (id < 0 || id >= DISKS_MAX)
		return -EINVAL;
	mutex_lock(&disks_lock);
	hd = disks[id];
	disks[id] = NULL;
	mutex_unlock(&disks_lock);
	if (!hd)
		return -ENODEV;
	del_gendisk(hd->disk);
	put_disk(hd->disk);
	blk_mq_free_tag_set(&hd->tags);
	kfree(hd);
	return 0;
}

int LKL_API lkl_disk_add(const struct lkl_disk *disk)
{
	return host_call(disk_add, (long)disk);
}

int LKL_API lkl_disk_remove(int id)
{
	return host_call(disk_remove, id);
}

static int __init disk_init(void)
{
	int err;

	disk_major = register_blkdev(0, "lkl");
	if (disk_major < 0)
		return disk_major;
	err = request_irq(LKL_IRQ_DISK, disk_irq, 0, "disk", NULL);
	if (err)
		unregister_blkdev(disk_major, "lkl");
	return err;
}
device_initcall(disk_init);
