/* Sending on a port from a worker, shared by port-tx and port-rx (which drains handoff
 * rings).
 *
 * TX discipline, chosen per port when it opens:
 *  - an ethdev with a TX queue per worker: each worker sends on its own queue (no sharing);
 *  - an AF_XDP pod port, a single-queue tap, or an ethdev with fewer TX queues than workers (e.g. net_af_xdp on a
 *    single-queue veth): only the owner worker sends; the others enqueue to the port's
 *    multi-producer ring, which the owner drains every loop;
 *  - a tap (uplink or pod): each worker sends on its own queue (tap_queue) when there are
 *    several;
 *  - a vhost-user pod port: a worker that polls one of the guest's queue pairs sends on that
 *    queue pair's receive ring; the others hand off to the owner (queue pair 0).
 * No locks either way. */
#pragma once
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dataplane/core/sl_dp.h"
#include "drivers/sl_tap.h"
#include "drivers/sl_vhost.h"
#include "drivers/sl_xsk.h"

/* The vhost-user queue pair worker w polls first on p (the owner polls 0; see
 * publish_rxqs in control/net/sl_ports.c). */
static inline unsigned sl_vhost_qp_of(const struct sl_worker *w, const struct sl_port *p)
{
	return (w->id + sl_dp.n_workers - p->owner) % sl_dp.n_workers;
}

/* Send pkts on p now; returns how many were accepted. Only by a worker allowed to (see
 * sl_port_tx_direct). */
static inline uint16_t sl_port_send(struct sl_worker *w, struct sl_port *p, struct rte_mbuf **pkts,
				    uint16_t n)
{
	if (p->xsk)
		return sl_xsk_tx_burst(p->xsk, pkts, n);
	if (p->tap) {
		struct sl_tap_tx_drops d = { 0 };
		struct sl_tap *t = p->tap_queue ? p->tap_queue[w->id] : p->tap;
		uint16_t sent = sl_tap_tx_burst(t, pkts, n, &d); /* takes all */
		if (unlikely(d.too_many_segs | d.refused)) {
			w->drops[SL_DROP_TAP_TOO_MANY_SEGS] += d.too_many_segs;
			w->drops[SL_DROP_TAP_TX_REFUSED] += d.refused;
		}
		return sent;
	}
	if (p->vhost)
		return sl_vhost_tx_burst(p->vhost, sl_vhost_qp_of(w, p), pkts, n);
	return rte_eth_tx_burst(p->eth_port, p->tx_ring ? 0 : (uint16_t)w->id, pkts, n);
}

/* Whether worker w may send on p directly (else through p->tx_ring). */
static inline bool sl_port_tx_direct(const struct sl_worker *w, const struct sl_port *p)
{
	return !p->tx_ring || p->owner == w->id ||
	       (p->vhost && sl_vhost_tx_ready(p->vhost, sl_vhost_qp_of(w, p)));
}
