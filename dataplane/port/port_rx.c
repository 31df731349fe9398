/* port-rx: the source node. Polls this worker's receive queues (uplink and host ethdev
 * queues, pod AF_XDP sockets, vhost-user queue pairs), drains the handoff rings other workers
 * fill for the ports it owns (port_send.h), and marks packets for tracing while a trace is
 * armed. Frames that still need offload work (a partial checksum, a TSO frame, several
 * segments) go to guest-offload first; all others to eth-input. Frames from an AF_XDP pod
 * port in "skb" mode get their L4 checksum completed here, and GSO frames are flagged for
 * ip4-segment (offload/l4_csum.h). Frames from a tap pod port: a GSO frame is flagged for
 * ip4-lookup (SL_F_GSO, tso_segsz kept: whole to a tap pod, cut once towards anything
 * else), a partial checksum of any other frame is completed here (tap_rx_fixup). The uplink
 * may be a tap too (drivers/sl_tap.h, "Tap uplink"): a VXLAN frame carrying a TCP GSO frame
 * comes whole, flagged SL_F_GSO like a pod's; the driver checked it is addressed to our
 * VTEP, so ip4-input sends it to vxlan-decap, and the inner frame keeps the flag and its
 * tso_segsz on to ip4-lookup. */
#include <sys/epoll.h>

#include <rte_ethdev.h>
#include <rte_graph_worker.h>
#include <rte_ring.h>

#include "dataplane/core/sl_node.h"
#include "drivers/sl_tap.h"
#include "drivers/sl_xsk.h"
#include "dataplane/offload/l4_csum.h"
#include "port_send.h"

#define RX_BURST 32

#define PORT_RX_EDGES(NEXT, DROP)            \
	NEXT(ETH_INPUT, "eth-input")         \
	NEXT(PORT_TX, "port-tx")             \
	NEXT(GUEST_OFFLOAD, "guest-offload")
SL_NODE_EDGES(PORT_RX_EDGES)

/* Whether m needs guest-offload before eth-input (see offload/guest_offload.c). A chain
 * from an AF_XDP pod port is a whole multi-buffer frame within the pod MTU (full checksums,
 * no TSO): it goes on as it is, headers in its first segment, and leaves whole or is refused
 * by ip4-lookup's MTU check (see sl_xsk.h). */
static inline bool needs_offload(const struct rte_mbuf *m)
{
	return (m->nb_segs > 1 && !(sl_priv((struct rte_mbuf *)(uintptr_t)m)->flags & SL_F_XSK_CHAIN)) ||
	       (m->ol_flags & RTE_MBUF_F_RX_LRO) ||
	       (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE;
}

/* Send the frames of pkts[0..n) that need offload work to guest-offload; returns how many
 * stay, compacted at the front. */
static uint16_t divert_offload(struct rte_graph *graph, struct rte_node *node,
			       struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t kept = 0;
	for (uint16_t j = 0; j < n; j++) {
		if (needs_offload(pkts[j]))
			rte_node_enqueue_x1(graph, node, EDGE_GUEST_OFFLOAD, pkts[j]);
		else
			pkts[kept++] = pkts[j];
	}
	return kept;
}

/* Frame m from a tap pod port (drivers/sl_tap.h sets its ol_flags from the virtio-net
 * header): a GSO frame (RTE_MBUF_F_RX_LRO) keeps its partial checksum and is flagged
 * SL_F_GSO for ip4-lookup; any other partial checksum is completed now, before policy or NAT
 * read or rewrite the L4 header. What cannot be completed here (not IPv4 TCP/UDP) keeps
 * RTE_MBUF_F_RX_L4_CKSUM_NONE and guest-offload judges it. */
static inline void tap_rx_fixup(struct rte_mbuf *m, struct sl_mbuf_priv *pv)
{
	if (m->ol_flags & RTE_MBUF_F_RX_LRO) {
		pv->flags |= SL_F_GSO;
		m->ol_flags &= ~(RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	} else if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE &&
		   sl_l4_csum_complete(m, UINT16_MAX) == SL_L4_CSUM_DONE) {
		m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
	}
}

/* Which of this worker's tap ports have frames: one epoll_wait for all of them (the only
 * system call a tap port costs while idle), marked in w->tap_ready until read. */
static void tap_poll(struct sl_worker *w)
{
	struct epoll_event ev[64];
	int n = epoll_wait(w->tap_epfd, ev, RTE_DIM(ev), 0);
	for (int i = 0; i < n; i++) {
		uint32_t id = ev[i].data.u32;
		if (likely(id < SL_MAX_PORTS))
			w->tap_ready[id / 64] |= 1ull << (id % 64);
	}
}

/* Whether tap port id was found readable; clears the mark (level-triggered epoll marks it
 * again while frames remain). */
static inline bool tap_take_ready(struct sl_worker *w, uint16_t id)
{
	uint64_t bit = 1ull << (id % 64), *word = &w->tap_ready[id / 64];
	bool ready = *word & bit;
	*word &= ~bit;
	return ready;
}

static void drain_tx_ring(struct sl_worker *w, struct sl_port *p)
{
	struct rte_mbuf *pkts[RX_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(p->tx_ring, (void **)pkts, RX_BURST, NULL);
	if (n == 0)
		return;
	uint32_t len[RX_BURST];
	for (unsigned i = 0; i < n; i++)
		len[i] = rte_pktmbuf_pkt_len(pkts[i]); /* sending frees the mbufs */
	uint16_t sent = sl_port_send(w, p, pkts, (uint16_t)n);
	p->stats[w->id].tx_packets += sent;
	for (uint16_t i = 0; i < sent; i++)
		p->stats[w->id].tx_bytes += len[i];
	if (sent < n) {
		p->stats[w->id].tx_dropped += n - sent;
		w->drops[SL_DROP_TX_FULL] += n - sent;
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

static void trace_mark(struct sl_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		/* Take one from the budget only while it is positive (a CAS, so a concurrent
		 * trace.start from the control thread is never overwritten). */
		int b = atomic_load_explicit(&w->trace_budget, memory_order_relaxed);
		while (b > 0 && !atomic_compare_exchange_weak(&w->trace_budget, &b, b - 1))
			;
		if (b <= 0)
			return;
		struct sl_mbuf_priv *pv = sl_priv(pkts[i]);
		pv->flags |= SL_F_TRACED;
		pv->trace_id = w->trace_next_id++;
		struct sl_port *p = sl_port_get(pv->in_port);
		sl_trace_add(NULL, pkts[i], "rx on port %s, %u bytes", p ? p->name : "?",
			     rte_pktmbuf_pkt_len(pkts[i]));
	}
}

/* Worker 0 forwards what the control thread wants sent (out_port already set). */
static void drain_ctrl_tx(struct rte_graph *graph, struct rte_node *node)
{
	void *pkts[RX_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(sl_dp.ctrl_tx, pkts, RX_BURST, NULL);
	if (n)
		rte_node_enqueue(graph, node, EDGE_PORT_TX, pkts, (uint16_t)n);
}

static uint16_t port_rx_process(struct rte_graph *graph, struct rte_node *node, void **unused,
				uint16_t unused_n)
{
	struct sl_worker *w = sl_worker_self();
	if (w->id == 0 && unlikely(!rte_ring_empty(sl_dp.ctrl_tx)))
		drain_ctrl_tx(graph, node);
	struct sl_rxq_list *l = atomic_load_explicit(&w->rxqs, memory_order_acquire);
	uint16_t total = 0, diverted = 0;

	if (!l || l->n == 0) {
		w->last_rx = 0;
		return 0;
	}
	if (atomic_load_explicit(&w->n_taps, memory_order_relaxed))
		tap_poll(w);
	void **objs = rte_node_next_stream_get(graph, node, EDGE_ETH_INPUT,
					       RTE_GRAPH_BURST_SIZE);
	/* Start where the last call stopped so no queue starves when the burst fills. */
	uint16_t *cursor = (uint16_t *)node->ctx;
	unsigned start = *cursor % l->n;
	unsigned i;
	for (i = 0; i < l->n && total + RX_BURST <= RTE_GRAPH_BURST_SIZE; i++) {
		const struct sl_rxq *q = &l->q[(start + i) % l->n];
		struct sl_port *p = sl_port_get(q->port);
		struct rte_mbuf **pkts = (struct rte_mbuf **)objs + total;
		uint16_t n;
		if (unlikely(!p))
			continue;
		if (p->tx_ring && p->owner == w->id)
			drain_tx_ring(w, p);
		uint8_t flags = p->whole_chains ? SL_F_XSK_CHAIN : 0;
		if (p->xsk) {
			struct sl_xsk_rx_drops d = { 0 };
			sl_xsk_tx_flush(p->xsk);
			n = sl_xsk_rx_burst(p->xsk, sl_dp.pool, pkts, RX_BURST, &d);
			if (unlikely(d.too_many_frags | d.bad_length)) {
				w->drops[SL_DROP_XSK_TOO_MANY_FRAGS] += d.too_many_frags;
				w->drops[SL_DROP_XSK_BAD_LENGTH] += d.bad_length;
			}
		} else if (p->tap) {
			struct sl_tap_rx_drops d = { 0 };
			struct sl_tap *t = p->tap_queue ? p->tap_queue[q->queue] : p->tap;
			n = tap_take_ready(w, p->id) ? sl_tap_rx_burst(t, sl_dp.pool, &w->tap_spare,
								      pkts, RX_BURST, &d)
						     : 0;
			if (unlikely(d.bad_length | d.bad_gso | d.bad_tunnel_gso)) {
				w->drops[SL_DROP_TAP_BAD_LENGTH] += d.bad_length;
				w->drops[SL_DROP_TAP_BAD_GSO] += d.bad_gso;
				w->drops[SL_DROP_UPLINK_BAD_TUNNEL_GSO] += d.bad_tunnel_gso;
			}
		} else if (p->vhost) {
			n = sl_vhost_rx_burst(p->vhost, q->queue, sl_dp.n_workers, sl_dp.pool,
					      pkts, RX_BURST);
		} else {
			n = rte_eth_rx_burst(p->eth_port, q->queue, pkts, RX_BURST);
		}
		uint64_t bytes = 0;
		bool offload = false;
		for (uint16_t j = 0; j < n; j++) {
			struct sl_mbuf_priv *pv = sl_priv(pkts[j]);
			pv->in_port = p->id;
			pv->flags = flags;
			if (p->csum_partial &&
			    sl_l4_csum_complete(pkts[j], p->mtu) == SL_L4_CSUM_GSO)
				pv->flags |= SL_F_GSO;
			if (p->tap)
				tap_rx_fixup(pkts[j], pv);
			bytes += rte_pktmbuf_pkt_len(pkts[j]);
			offload |= needs_offload(pkts[j]);
		}
		p->stats[w->id].rx_packets += n;
		p->stats[w->id].rx_bytes += bytes;
		if (unlikely(atomic_load_explicit(&w->trace_budget, memory_order_relaxed) > 0))
			trace_mark(w, pkts, n);
		uint16_t kept = unlikely(offload) ? divert_offload(graph, node, pkts, n) : n;
		total += kept;
		diverted += n - kept;
	}
	*cursor = (uint16_t)((start + i) % l->n);
	w->last_rx = total + diverted;
	if (total)
		rte_node_next_stream_put(graph, node, EDGE_ETH_INPUT, total);
	return total + diverted;
}

static struct rte_node_register port_rx_node = {
	.name = "port-rx",
	.flags = RTE_NODE_SOURCE_F,
	.process = port_rx_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(PORT_RX_EDGES) },
};
RTE_NODE_REGISTER(port_rx_node);
