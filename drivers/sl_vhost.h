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
 * thread. Returns 0 or -errno with *ret_err_msg naming the failing step.
 *
 * Files: path must be absolute, at most 107 bytes, without "." or ".." components; its
 * directories are opened one by one from "/" without following symbolic links (a symbolic
 * link anywhere on the way is refused), and the socket is bound or connected through that
 * directory fd (/proc/self/fd/N/NAME), so a pod that can write in the socket's directory
 * cannot redirect sluiced anywhere else. Server mode removes a stale socket (never anything
 * else) first and gives the new socket to the owner of its directory (the pod's user).
 * Connections: one at a time; a second connection while the port has one is refused and
 * counted (sl_vhost_refused), so the first peer keeps the port. */
int sl_vhost_open(const char *path, bool client, struct sl_vhost **ret_vhost,
		  const char **ret_err_msg);
/* Unregister and free. Control thread, after workers stopped using the port (RCU). */
void sl_vhost_close(struct sl_vhost *v);
/* Connections refused so far (a second connection while the port had one, or a client-mode
 * socket path that was not a socket). Control thread. */
uint64_t sl_vhost_refused(struct sl_vhost *v);
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
/* What show pods says about a vhost-user port: its state, and when and how its last
 * connection ended. How each is decided is written above sl_vhost_status in sl_vhost.c. */
struct sl_vhost_status {
	/* "connected" (the device is ready), "negotiating" (a guest is talking, the device is
	 * not ready yet), "stopped" (the guest stopped the device and stayed connected),
	 * "waiting" (no guest: client mode reconnects every second, server mode listens), or
	 * "failed: negotiation (...)" (see sl_vhost.c: only on evidence, until a device gets
	 * ready again). */
	char state[96];
	/* When the last connection that said anything ended, ISO 8601 UTC with milliseconds;
	 * "" while none has. */
	char disconnect_at[32];
	/* How it ended: "peer closed while running", "peer closed after stopping the device
	 * (GET_VRING_BASE)", "peer closed during negotiation (after SET_FEATURES)", ...; ""
	 * while none has. */
	char disconnect_cause[96];
};

/* Fill *ret for port v. Control thread (takes the port's connection lock, never held by
 * workers). */
void sl_vhost_status(struct sl_vhost *v, struct sl_vhost_status *ret);
