// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host NICs as Linux network devices: the native NIC stub. A frame the
 * stack sends goes to the host's xmit operation as the skb's pieces, not
 * copied. A frame the host receives comes in as an IRQ carrying it
 * (lkl_nic_rx): the handler queues it on its device and schedules NAPI,
 * whose poll copies it into an skb, gives the host its buffer back (the
 * frame's done operation) and hands the skb to GRO and the stack.
 *
 * Offloads, where the host takes them (offload_max): frames carry a
 * virtio_net_hdr both ways, as a TAP device with IFF_VNET_HDR does, so
 * checksums and TCP segmentation are left to the host (or to the peer
 * that receives the frame whole), and large frames come in unsegmented.
 */
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/interrupt.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>
#include "internal.h"

#define NICS_MAX	16

struct host_nic {
	struct lkl_nic host;
	struct net_device *dev;
	struct napi_struct napi;
	/* Received frames not yet polled, oldest first. */
	spinlock_t rx_lock;
	struct lkl_nic_frame *rx_head, *rx_tail;
};

/*
 * Written with IRQs off (under nics_lock), read by the IRQ handler: a
 * frame for a NIC no longer here is given back at once.
 */
static struct host_nic *nics[NICS_MAX];
static DEFINE_MUTEX(nics_lock);

static void frame_give_back(struct lkl_nic_frame *f)
{
	f->done(f);
}

static struct lkl_nic_frame *rx_pop(struct host_nic *hn)
{
	struct lkl_nic_frame *f;
	unsigned long flags;

	spin_lock_irqsave(&hn->rx_lock, flags);
	f = hn->rx_head;
	if (f) {
		hn->rx_head = f->next;
		if (!hn->rx_head)
			hn->rx_tail = NULL;
	}
	spin_unlock_irqrestore(&hn->rx_lock, flags);
	return f;
}

static void rx_drain(struct host_nic *hn)
{
	struct lkl_nic_frame *f;

	while ((f = rx_pop(hn))) {
		hn->dev->stats.rx_dropped++;
		frame_give_back(f);
	}
}

static void rx_error(struct net_device *dev, struct lkl_nic_frame *f,
		     unsigned long *counter)
{
	(*counter)++;
	dev->stats.rx_errors++;
	frame_give_back(f);
}

static void nic_receive(struct host_nic *hn, struct lkl_nic_frame *f)
{
	struct net_device *dev = hn->dev;
	const unsigned char *data = f->data;
	unsigned int len = f->len, max = dev->mtu + VLAN_ETH_HLEN;
	struct virtio_net_hdr hdr;
	struct sk_buff *skb;

	if (hn->host.offload_max) {
		if (len < sizeof(hdr)) {
			rx_error(dev, f, &dev->stats.rx_length_errors);
			return;
		}
		memcpy(&hdr, data, sizeof(hdr));
		data += sizeof(hdr);
		len -= sizeof(hdr);
		if (hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE)
			max = hn->host.offload_max;
	}
	if (len < ETH_HLEN || len > max) {
		rx_error(dev, f, &dev->stats.rx_length_errors);
		return;
	}
	skb = napi_alloc_skb(&hn->napi, len);
	if (!skb) {
		dev->stats.rx_dropped++;
		frame_give_back(f);
		return;
	}
	skb_put_data(skb, data, len);
	frame_give_back(f);
	if (hn->host.offload_max) {
		if (hdr.flags & VIRTIO_NET_HDR_F_DATA_VALID)
			skb->ip_summed = CHECKSUM_UNNECESSARY;
		if (virtio_net_hdr_to_skb(skb, &hdr, true)) {
			dev->stats.rx_frame_errors++;
			dev->stats.rx_errors++;
			kfree_skb(skb);
			return;
		}
	}
	skb->protocol = eth_type_trans(skb, dev);
	dev->stats.rx_packets++;
	dev->stats.rx_bytes += len;
	napi_gro_receive(&hn->napi, skb);
}

static int nic_poll(struct napi_struct *napi, int budget)
{
	struct host_nic *hn = container_of(napi, struct host_nic, napi);
	struct lkl_nic_frame *f;
	int done = 0;

	while (done < budget && (f = rx_pop(hn))) {
		nic_receive(hn, f);
		done++;
	}
	if (done < budget && napi_complete_done(napi, done) &&
	    READ_ONCE(hn->rx_head))
		napi_schedule(napi);
	return done;
}

static irqreturn_t nic_irq(int irq, void *dev_id)
{
	struct lkl_nic_frame *f = irq_event_data();
	struct host_nic *hn = NULL;
	unsigned long flags;

	if (f->nic >= 0 && f->nic < NICS_MAX)
		hn = nics[f->nic];
	if (!hn || !netif_running(hn->dev)) {
		if (hn)
			hn->dev->stats.rx_dropped++;
		frame_give_back(f);
		return IRQ_HANDLED;
	}
	f->next = NULL;
	spin_lock_irqsave(&hn->rx_lock, flags);
	if (hn->rx_tail)
		hn->rx_tail->next = f;
	else
		hn->rx_head = f;
	hn->rx_tail = f;
	spin_unlock_irqrestore(&hn->rx_lock, flags);
	napi_schedule(&hn->napi);
	return IRQ_HANDLED;
}

static netdev_tx_t nic_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct host_nic *hn = netdev_priv(dev);
	struct lkl_nic_segment segs[LKL_NIC_SEGMENTS_MAX];
	struct virtio_net_hdr hdr;
	unsigned int len = skb->len, n = 0, i;

	BUILD_BUG_ON(MAX_SKB_FRAGS + 2 > LKL_NIC_SEGMENTS_MAX);
	if (skb_has_frag_list(skb) && skb_linearize(skb))
		goto drop;
	if (hn->host.offload_max) {
		if (virtio_net_hdr_from_skb(skb, &hdr, true, false, 0))
			goto drop;
		segs[n].buf = &hdr;
		segs[n++].len = sizeof(hdr);
	}
	segs[n].buf = skb->data;
	segs[n++].len = skb_headlen(skb);
	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++) {
		const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

		segs[n].buf = skb_frag_address(frag);
		segs[n++].len = skb_frag_size(frag);
	}
	if (hn->host.xmit(hn->host.handle, segs, n) < 0)
		goto drop;
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += len;
	dev_consume_skb_any(skb);
	return NETDEV_TX_OK;
drop:
	dev->stats.tx_dropped++;
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static int nic_open(struct net_device *dev)
{
	struct host_nic *hn = netdev_priv(dev);

	napi_enable(&hn->napi);
	netif_carrier_on(dev);
	netif_start_queue(dev);
	return 0;
}

static int nic_stop(struct net_device *dev)
{
	struct host_nic *hn = netdev_priv(dev);

	netif_stop_queue(dev);
	netif_carrier_off(dev);
	napi_disable(&hn->napi);
	rx_drain(hn);
	return 0;
}

static const struct net_device_ops nic_ops = {
	.ndo_open		= nic_open,
	.ndo_stop		= nic_stop,
	.ndo_start_xmit		= nic_xmit,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

/* Runs as the calling host thread's task: see lkl_nic_add. */
static long nic_add(long arg)
{
	const struct lkl_nic *host = (const struct lkl_nic *)arg;
	struct net_device *dev;
	struct host_nic *hn;
	unsigned long flags;
	int id, err;

	if (!host->xmit || host->mtu < ETH_MIN_MTU || host->mtu > ETH_MAX_MTU)
		return -EINVAL;
	dev = alloc_etherdev(sizeof(*hn));
	if (!dev)
		return -ENOMEM;
	hn = netdev_priv(dev);
	hn->host = *host;
	hn->dev = dev;
	spin_lock_init(&hn->rx_lock);
	dev->netdev_ops = &nic_ops;
	dev->mtu = host->mtu;
	dev->max_mtu = host->mtu;
	dev->features = NETIF_F_SG;
	if (host->offload_max) {
		if (host->offload_max < host->mtu + VLAN_ETH_HLEN ||
		    host->offload_max > 65535 + VLAN_ETH_HLEN) {
			free_netdev(dev);
			return -EINVAL;
		}
		dev->features |= NETIF_F_HW_CSUM | NETIF_F_RXCSUM |
				 NETIF_F_TSO | NETIF_F_TSO6 | NETIF_F_TSO_ECN;
		/* Room for the headers in front of the largest segment. */
		netif_set_tso_max_size(dev, host->offload_max - MAX_HEADER);
	}
	dev->hw_features = dev->features;
	if (is_valid_ether_addr(host->mac))
		eth_hw_addr_set(dev, host->mac);
	else
		eth_hw_addr_random(dev);
	netif_napi_add(dev, &hn->napi, nic_poll);

	mutex_lock(&nics_lock);
	for (id = 0; id < NICS_MAX && nics[id]; id++)
		;
	if (id == NICS_MAX) {
		err = -ENOSPC;
		goto fail;
	}
	err = register_netdev(dev);
	if (err)
		goto fail;
	local_irq_save(flags);
	nics[id] = hn;
	local_irq_restore(flags);
	mutex_unlock(&nics_lock);
	return id;
fail:
	mutex_unlock(&nics_lock);
	netif_napi_del(&hn->napi);
	free_netdev(dev);
	return err;
}

static long nic_remove(long id)
{
	struct host_nic *hn;
	unsigned long flags;

	if (id < 0 || id >= NICS_MAX)
		return -EINVAL;
	mutex_lock(&nics_lock);
	local_irq_save(flags);
	hn = nics[id];
	nics[id] = NULL;
	local_irq_restore(flags);
	mutex_unlock(&nics_lock);
	if (!hn)
		return -ENODEV;
	unregister_netdev(hn->dev);
	rx_drain(hn);
	netif_napi_del(&hn->napi);
	free_netdev(hn->dev);
	return 0;
}

static long nic_ifindex(long id)
{
	long ifindex = -ENODEV;

	if (id < 0 || id >= NICS_MAX)
		return -EINVAL;
	mutex_lock(&nics_lock);
	if (nics[id])
		ifindex = nics[id]->dev->ifindex;
	mutex_unlock(&nics_lock);
	return ifindex;
}

int LKL_API lkl_nic_add(const struct lkl_nic *nic)
{
	return host_call(nic_add, (long)nic);
}

int LKL_API lkl_nic_remove(int id)
{
	return host_call(nic_remove, id);
}

int LKL_API lkl_nic_ifindex(int id)
{
	return host_call(nic_ifindex, id);
}

int LKL_API lkl_nic_rx(struct lkl_nic_frame *frame)
{
	frame->event.irq = LKL_IRQ_NIC;
	frame->event.data = frame;
	return lkl_irq_raise_event(&frame->event);
}

static int __init nic_init(void)
{
	return request_irq(LKL_IRQ_NIC, nic_irq, 0, "nic", NULL);
}
device_initcall(nic_init);
