/* vhost-user pod port: a virtio ring pair shared with a DPDK pod or VM through rte_vhost
 * directly (not the net_vhost ethdev, so no 32-port cap).
 *
 * sluiced is the vhost-user client by default: the pod's virtio_user (server=1) or QEMU owns
 * the socket, and sluiced reconnects by itself after either side restarts. Server mode is
 * there for pods that can only be clients.
 *
 * Queue pairs: the guest decides how many it enables (virtio_user queues=N, QEMU queues=N);
 * sluiced serves up to SL_VHOST_MAX_QP. Queue pair q is polled by one worker only (the
 * control thread spreads them, see publish_rxqs), and a worker enqueues only on the guest
 * RX ring of a queue pair it polls, so no two workers share a virtqueue.
 *
 * Offloads: the guest may leave TCP/UDP checksums partial (VIRTIO_NET_F_CSUM) and send TCP
 * frames up to 64 KiB for us to segment (VIRTIO_NET_F_HOST_TSO4; HOST_TSO6 too, see sl_vhost_open). rte_vhost marks them with
 * RTE_MBUF_F_RX_L4_CKSUM_NONE / RTE_MBUF_F_RX_LRO (compliant offload flags) and the
 * guest-offload node finishes them. Packets to the guest always carry full checksums, so
 * GUEST_CSUM is offered but nothing is ever sent partial; GUEST_TSO/UFO are not offered. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <rte_mbuf.h>

struct sl_vhost;

/* Register the socket and start connecting (client) or listening (server). Control
 * thread. Returns 0 or -errno with *ret_err_msg naming the failing step. */
int sl_vhost_open(const char *path, bool client, struct sl_vhost **ret_vhost,
		  const char **ret_err_msg);
/* Unregister and free. Control thread, after workers stopped using the port (RCU). */
void sl_vhost_close(struct sl_vhost *v);
#define SL_VHOST_MAX_QP 8 /* queue pairs sluiced polls per port */

/* Packets the guest sent on the queue pairs first, first + stride, ... that it enabled, into
 * mbufs from pool. Only by the worker polling those queue pairs. */
uint16_t sl_vhost_rx_burst(struct sl_vhost *v, unsigned first, unsigned stride,
			   struct rte_mempool *pool, struct rte_mbuf **pkts, uint16_t n);
/* Whether the guest has enabled its receive ring of queue pair qp. Any worker. */
bool sl_vhost_tx_ready(const struct sl_vhost *v, unsigned qp);
/* Copy packets into the guest's receive ring of queue pair qp; frees and returns those
 * accepted. Only by the worker polling qp. */
uint16_t sl_vhost_tx_burst(struct sl_vhost *v, unsigned qp, struct rte_mbuf **pkts, uint16_t n);
/* Queue pairs the guest has enabled (for show pods). */
unsigned sl_vhost_queue_pairs(const struct sl_vhost *v);
/* Whether the guest enabled queue pair qp, and the packets sluiced received from and sent
 * to it (for show vhost). Control thread. */
bool sl_vhost_qp_stats(const struct sl_vhost *v, unsigned qp, uint64_t *rx, uint64_t *tx);
/* "connected", "waiting", or why the last connections failed (for show pods). */
const char *sl_vhost_state(const struct sl_vhost *v);
