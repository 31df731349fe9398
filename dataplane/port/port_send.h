/* Sending on a port from a worker, shared by port-tx and port-rx (which drains handoff
 * rings).
 *
 * TX discipline, chosen per port when it opens:
 *  - an ethdev with a TX queue per worker: each worker sends on its own queue (no sharing);
 *  - an AF_XDP pod port, or an ethdev with fewer TX queues than workers (e.g. net_af_xdp on a
 *    single-queue veth): only the owner worker sends; the others enqueue to the port's
 *    multi-producer ring, which the owner drains every loop. No locks either way. */
#pragma once
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dataplane/core/sl_dp.h"
#include "drivers/sl_vhost.h"
#include "drivers/sl_xsk.h"

/* Send pkts on p now; returns how many were accepted. Only by a worker allowed to (see
 * sl_port_tx_direct). */
static inline uint16_t sl_port_send(struct sl_worker *w, struct sl_port *p, struct rte_mbuf **pkts,
				    uint16_t n)
{
	if (p->xsk)
		return sl_xsk_tx_burst(p->xsk, pkts, n);
	if (p->vhost)
		return sl_vhost_tx_burst(p->vhost, pkts, n);
	return rte_eth_tx_burst(p->eth_port, p->tx_ring ? 0 : (uint16_t)w->id, pkts, n);
}

/* Whether worker w may send on p directly (else through p->tx_ring). */
static inline bool sl_port_tx_direct(const struct sl_worker *w, const struct sl_port *p)
{
	return !p->tx_ring || p->owner == w->id;
}
