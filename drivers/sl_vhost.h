/* vhost-user pod port: a virtio ring pair shared with a DPDK pod or VM through rte_vhost
 * directly (not the net_vhost ethdev, so no 32-port cap).
 *
 * sluiced is the vhost-user client by default: the pod's virtio_user (server=1) or QEMU owns
 * the socket, and sluiced reconnects by itself after either side restarts. Server mode is
 * there for pods that can only be clients. Queue pair 0 only; offloads (checksum, TSO) are
 * not negotiated, so guests send complete packets. One worker uses a port at a time. */
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
/* Packets the guest sent (its TX ring), into mbufs from pool. Owner worker. */
uint16_t sl_vhost_rx_burst(struct sl_vhost *v, struct rte_mempool *pool, struct rte_mbuf **pkts,
			   uint16_t n);
/* Copy packets into the guest's RX ring; frees and returns those accepted. Owner worker. */
uint16_t sl_vhost_tx_burst(struct sl_vhost *v, struct rte_mbuf **pkts, uint16_t n);
/* "connected", "waiting", or why the last connections failed (for show pods). */
const char *sl_vhost_state(const struct sl_vhost *v);
