/* vxlan-encap: RFC 7348 send side towards the VTEP of the remote node that owns the inner
 * destination. Adds inner Ethernet, VXLAN (I flag, our VNI), UDP (source port from a hash
 * of the inner flow, RFC 7348 5, so the underlay's ECMP/RSS spreads flows; checksum 0) and
 * outer IPv4 (DF set), then the outer Ethernet header to the VTEP's neighbour MAC.
 *
 * Two MACs per remote node: the outer destination is the underlay neighbour the frame goes
 * to (resolved or static, sl_dp.neigh); the inner destination is the remote VTEP's own MAC
 * when the next hop has one (sl_nh.mac: a flannel node's flannel.1, whose kernel drops an
 * inner frame not addressed to it) and the neighbour's MAC otherwise (sluice nodes accept
 * any). The inner source is our VTEP MAC (sl_dp.conf.vtep_mac, else the uplink's): the MAC
 * we publish in flannel's backend-data VtepMAC. */
#include <rte_graph_worker.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dataplane/core/sl_node.h"

#define VXLAN_ENCAP_EDGES(NEXT, DROP)                                                  \
	NEXT(TX, "port-tx")                                                            \
	DROP(NEIGH_UNRESOLVED)                                                         \
	DROP(PORT_GONE)   /* the uplink is gone */                                     \
	DROP(NO_HEADROOM) /* no room in front of the packet for the outer headers */
SL_NODE_EDGES(VXLAN_ENCAP_EDGES)

#define ENCAP_LEN                                                                      \
	(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +                  \
	 sizeof(struct rte_udp_hdr) + sizeof(struct rte_vxlan_hdr) + sizeof(struct rte_ether_hdr))

/* RFC 7348 5: source port in the dynamic range, from a hash of the inner 5-tuple. */
static inline uint16_t flow_port(const struct rte_ipv4_hdr *ip)
{
	uint32_t h = rte_hash_crc_4byte(ip->src_addr, ip->dst_addr);
	h = rte_hash_crc_4byte(ip->next_proto_id, h);
	if ((ip->next_proto_id == IPPROTO_UDP || ip->next_proto_id == IPPROTO_TCP) &&
	    rte_be_to_cpu_16(ip->total_length) >= rte_ipv4_hdr_len(ip) + 4 &&
	    !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
		uint32_t ports;
		memcpy(&ports, (const uint8_t *)ip + rte_ipv4_hdr_len(ip), sizeof(ports));
		h = rte_hash_crc_4byte(ports, h);
	}
	return (uint16_t)(49152 + (h & 0x3fff));
}

static inline uint16_t vxlan_encap_one(struct rte_mbuf *m, const struct sl_port *up,
				       const struct rte_ether_addr *vtep_mac)
{
	const struct sl_nh *nh = &sl_dp.nh[sl_priv(m)->route.nh];
	uint64_t ms = atomic_load_explicit(&sl_dp.neigh[nh->neigh].mac_state,
					   memory_order_acquire);
	if (unlikely(!(ms & SL_NEIGH_VALID)))
		return EDGE_DROP_NEIGH_UNRESOLVED;
	if (unlikely(!up))
		return EDGE_DROP_PORT_GONE;
	const struct rte_ipv4_hdr *inner = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint16_t sport = flow_port(inner);
	uint16_t inner_len = (uint16_t)rte_pktmbuf_pkt_len(m);

	uint8_t *h = (uint8_t *)rte_pktmbuf_prepend(m, ENCAP_LEN);
	if (unlikely(!h))
		return EDGE_DROP_NO_HEADROOM;
	struct rte_ether_hdr *oeth = (struct rte_ether_hdr *)h;
	struct rte_ipv4_hdr *oip = (struct rte_ipv4_hdr *)(oeth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(oip + 1);
	struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);
	struct rte_ether_hdr *ieth = (struct rte_ether_hdr *)(vx + 1);

	memcpy(&oeth->dst_addr, &ms, RTE_ETHER_ADDR_LEN);
	oeth->src_addr = up->mac;
	oeth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ieth->dst_addr = rte_is_zero_ether_addr(&nh->mac) ? oeth->dst_addr : nh->mac;
	ieth->src_addr = *vtep_mac;
	ieth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	vx->vx_flags = RTE_BE32(0x08000000);
	vx->vx_vni = rte_cpu_to_be_32(sl_dp.conf.vni << 8);
	uint16_t udp_len = (uint16_t)(sizeof(*udp) + sizeof(*vx) + sizeof(*ieth) + inner_len);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(sl_dp.conf.vxlan_port);
	udp->dgram_len = rte_cpu_to_be_16(udp_len);
	udp->dgram_cksum = 0; /* RFC 7348 5: SHOULD be zero over IPv4 */
	*oip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*oip) + udp_len)),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_UDP,
		.src_addr = sl_dp.conf.node_ip,
		.dst_addr = nh->ip,
	};
	oip->hdr_checksum = rte_ipv4_cksum(oip);
	sl_priv(m)->out_port = up->id;
	/* A TCP GSO frame ip4-lookup let through whole (an uplink with UDP tunnel GSO): say
	 * it is a VXLAN tunnel for the port, with DPDK's lengths (what a NIC with
	 * RTE_ETH_TX_OFFLOAD_VXLAN_TNL_TSO reads; drivers/sl_tap.h parses the headers). */
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		m->ol_flags |= RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_IPV4 |
			       RTE_MBUF_F_TX_IPV4;
		m->outer_l2_len = sizeof(*oeth);
		m->outer_l3_len = sizeof(*oip);
		m->l2_len = sizeof(*udp) + sizeof(*vx) + sizeof(*ieth);
		m->l3_len = rte_ipv4_hdr_len(inner);
	}
	return EDGE_TX;
}

static uint16_t vxlan_encap_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				    uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	const struct sl_port *up = sl_port_get(sl_dp.conf.uplink_port); /* once per burst */
	const struct rte_ether_addr *vtep_mac =
		!rte_is_zero_ether_addr(&sl_dp.conf.vtep_mac) || !up ? &sl_dp.conf.vtep_mac : &up->mac;
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = vxlan_encap_one(objs[i], up, vtep_mac);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "%s vni %u",
			 next[i] == EDGE_TX ? "encapsulated" : node->nodes[next[i]]->name,
			 sl_dp.conf.vni);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(vxlan_encap_process, vxlan_encap_chunk)

static struct rte_node_register vxlan_encap_node = {
	.name = "vxlan-encap",
	.process = vxlan_encap_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(VXLAN_ENCAP_EDGES) },
};
RTE_NODE_REGISTER(vxlan_encap_node);
