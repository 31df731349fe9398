/* arp-input: answers ARP requests and learns uplink neighbours.
 *  - uplink: replies to requests for the node address. Learns (sets a neighbour's MAC)
 *    only from a reply that answers a request control sent for that address: opcode reply,
 *    addressed to the node address, sender a neighbour whose requested_tsc is at most
 *    SL_ARP_REPLY_WINDOW_S old, Ethernet source equal to the ARP sender MAC. Requests and
 *    gratuitous ARP never change a neighbour. A MAC other than the resolved one is taken
 *    only once the resolved one has gone SL_NEIGH_HOLD_S without confirming (hold-down
 *    against flapping and poisoning races); a configured (static) MAC never changes.
 *  - pod and host ports: proxy ARP; every address but the asker's own resolves to the
 *    gateway MAC, so pods route everything through sluiced (pods have /32 addresses).
 *    A pod's ARP must carry its own address and MAC as sender (pod-spoofed-source, counted
 *    in the port's rx_spoofed); a probe (sender 0.0.0.0, RFC 5227 duplicate address
 *    detection) is legitimate but neither answered nor learned. Nothing is learned from
 *    pods. */
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_graph_worker.h>

#include "dataplane/core/sl_node.h"

#define ARP_INPUT_EDGES(NEXT, DROP)  \
	NEXT(TX, "port-tx")          \
	DROP(ARP_MALFORMED)          \
	DROP(ARP_NOT_FOR_US)         \
	DROP(ARP_REPLY_CONSUMED)     \
	DROP(ARP_UNSOLICITED)        \
	DROP(ARP_SENDER_MISMATCH)    \
	DROP(ARP_HELD_DOWN)          \
	DROP(ARP_STATIC_NEIGHBOUR)   \
	DROP(POD_SPOOFED_SOURCE)     \
	DROP(NO_HEADROOM)
SL_NODE_EDGES(ARP_INPUT_EDGES)

/* A reply on the uplink: learn from it if it is trusted (see the file comment). m's data
 * starts at the ARP header; eth-input stripped the Ethernet header in front of it. Returns
 * the drop edge the reply is counted under. */
static uint16_t learn_reply(struct rte_mbuf *m, const struct rte_arp_ipv4 *a)
{
	if (a->arp_tip != sl_dp.conf.node_ip)
		return EDGE_DROP_ARP_UNSOLICITED;
	int idx = sl_neigh_find(a->arp_sip);
	if (idx < 0)
		return EDGE_DROP_ARP_UNSOLICITED;
	struct sl_neigh *n = &sl_dp.neigh[idx];
	uint64_t old = atomic_load_explicit(&n->mac_state, memory_order_relaxed);
	if (old & SL_NEIGH_STATIC)
		return EDGE_DROP_ARP_STATIC_NEIGHBOUR;
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint64_t asked = atomic_load_explicit(&n->requested_tsc, memory_order_relaxed);
	/* Signed: control's TSC read may be a hair ahead of this lcore's. */
	if (asked == 0 || (int64_t)(now - asked) > (int64_t)(SL_ARP_REPLY_WINDOW_S * hz))
		return EDGE_DROP_ARP_UNSOLICITED;
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod_offset(m, const struct rte_ether_hdr *, -(int)sizeof(*eth));
	if (!rte_is_same_ether_addr(&eth->src_addr, &a->arp_sha))
		return EDGE_DROP_ARP_SENDER_MISMATCH;
	uint64_t mac = 0;
	memcpy(&mac, &a->arp_sha, RTE_ETHER_ADDR_LEN);
	if ((old & SL_NEIGH_VALID) && (old & SL_NEIGH_MAC_MASK) != mac &&
	    now - atomic_load_explicit(&n->updated_tsc, memory_order_relaxed) <=
		    SL_NEIGH_HOLD_S * hz)
		return EDGE_DROP_ARP_HELD_DOWN;
	/* Timestamp first, so the control thread's ageing never sees a fresh MAC as old. */
	atomic_store_explicit(&n->updated_tsc, now, memory_order_relaxed);
	while (!(old & SL_NEIGH_STATIC) &&
	       !atomic_compare_exchange_weak_explicit(&n->mac_state, &old, mac | SL_NEIGH_VALID,
						      memory_order_release, memory_order_relaxed))
		;
	return EDGE_DROP_ARP_REPLY_CONSUMED;
}

static inline uint16_t arp_input_one(struct sl_worker *w, struct rte_mbuf *m)
{
	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_arp_hdr))
		return EDGE_DROP_ARP_MALFORMED;
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod(m, struct rte_arp_hdr *);
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return EDGE_DROP_ARP_MALFORMED;
	struct sl_port *p = sl_port_get(sl_priv(m)->in_port);
	if (!p)
		return EDGE_DROP_ARP_NOT_FOR_US;
	struct rte_arp_ipv4 *a = &arp->arp_data;
	const struct rte_ether_addr *ours;

	if (p->kind == SL_PORT_UPLINK) {
		if (arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY))
			return learn_reply(m, a);
		if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) ||
		    a->arp_tip != sl_dp.conf.node_ip)
			return EDGE_DROP_ARP_NOT_FOR_US;
		ours = &p->mac;
	} else {
		if (sl_port_is_pod(p) &&
		    ((a->arp_sip != p->pod_ip && a->arp_sip != 0) ||
		     !rte_is_same_ether_addr(&a->arp_sha, &p->pod_mac))) {
			p->stats[w->id].rx_spoofed++;
			return EDGE_DROP_POD_SPOOFED_SOURCE;
		}
		if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
			return EDGE_DROP_ARP_REPLY_CONSUMED;
		/* RFC 5227: probes (sender 0.0.0.0) and gratuitous ARPs are not answered. */
		if (a->arp_sip == 0 || a->arp_tip == a->arp_sip)
			return EDGE_DROP_ARP_NOT_FOR_US;
		if (p->kind == SL_PORT_HOST && a->arp_tip == sl_dp.conf.node_ip)
			return EDGE_DROP_ARP_NOT_FOR_US;
		ours = &sl_dp.conf.gw_mac;
	}
	/* Turn the request into the reply in place. */
	uint32_t asked = a->arp_tip;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	a->arp_tha = a->arp_sha;
	a->arp_tip = a->arp_sip;
	a->arp_sha = *ours;
	a->arp_sip = asked;
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_ether_hdr));
	if (unlikely(!eth))
		return EDGE_DROP_NO_HEADROOM;
	eth->dst_addr = a->arp_tha;
	eth->src_addr = *ours;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	sl_priv(m)->out_port = p->id;
	return EDGE_TX;
}

static uint16_t arp_input_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	struct sl_worker *w = sl_worker_self();
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = arp_input_one(w, objs[i]);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "%s",
			 next[i] == EDGE_TX ? "reply sent" : node->nodes[next[i]]->name);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(arp_input_process, arp_input_chunk)

static struct rte_node_register arp_input_node = {
	.name = "arp-input",
	.process = arp_input_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(ARP_INPUT_EDGES) },
};
RTE_NODE_REGISTER(arp_input_node);
