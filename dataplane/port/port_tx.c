/* port-tx: sends each packet on sl_priv(m)->out_port, directly or through the port's
 * handoff ring (port_send.h says which). */
#include <rte_graph_worker.h>

#include "dataplane/core/sl_dp.h"
#include "port_send.h"

static void tx_drop(struct sl_worker *w, struct rte_mbuf **pkts, uint16_t n,
		    enum sl_drop_reason why)
{
	w->drops[why] += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

/* Send a run of packets that all go to port p. */
static void tx_run(struct sl_worker *w, struct rte_node *node, struct sl_port *p,
		   struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;
	uint64_t bytes = 0;
	for (uint16_t i = 0; i < n; i++) {
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
		SL_TRACE(node, pkts[i], "tx on port %s", p->name);
	}
	if (sl_port_tx_direct(w, p)) {
		sent = sl_port_send(w, p, pkts, n);
		p->stats[w->id].tx_packets += sent;
		p->stats[w->id].tx_bytes += bytes; /* bytes of a partly sent burst: close enough */
	} else {
		/* counted as sent by the owner when it drains the ring */
		sent = (uint16_t)rte_ring_mp_enqueue_burst(p->tx_ring, (void **)pkts, n, NULL);
	}
	if (unlikely(sent < n)) {
		p->stats[w->id].tx_dropped += n - sent;
		tx_drop(w, pkts + sent, n - sent, SL_DROP_TX_FULL);
	}
}

static uint16_t port_tx_process(struct rte_graph *graph, struct rte_node *node, void **objs,
				uint16_t nb)
{
	struct sl_worker *w = sl_worker_self();
	struct rte_mbuf **pkts = (struct rte_mbuf **)objs;
	uint16_t run_start = 0;

	for (uint16_t i = 1; i <= nb; i++) {
		if (i < nb && sl_priv(pkts[i])->out_port == sl_priv(pkts[run_start])->out_port)
			continue;
		struct sl_port *p = sl_port_get(sl_priv(pkts[run_start])->out_port);
		if (unlikely(!p))
			tx_drop(w, pkts + run_start, i - run_start, SL_DROP_PORT_GONE);
		else
			tx_run(w, node, p, pkts + run_start, i - run_start);
		run_start = i;
	}
	return nb;
}

static struct rte_node_register port_tx_node = {
	.name = "port-tx",
	.process = port_tx_process,
	.nb_edges = 0,
};
RTE_NODE_REGISTER(port_tx_node);
