/* ip4-lookup: finds the next hop in the FIB (DIR-24-8, looked up as a burst), then for
 * forwarded packets checks and decrements the TTL (RFC 1812 5.3.1) and checks the next hop's
 * MTU (RFC 1191: DF packets that do not fit get "fragmentation needed"). Packets that came
 * out of a tunnel concern local pods only, and that is checked first, before anything
 * answers them: they are delivered to a pod, or get an error about a pod address ("host
 * unreachable" for a pod that is gone, so a remote client fails fast; "time exceeded" and
 * "fragmentation needed" on the way to a pod, for traceroute and path MTU discovery across
 * nodes). Everything else is dropped, including echo requests to the gateway address, which
 * is the next hop of this node's pods and answers them only. The errors go back through the
 * tunnel to the inner source, which vxlan-decap verified is a pod (or the address) of the
 * node that sent it, so they cannot be reflected elsewhere. */
#include <rte_graph_worker.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/core/sl_node.h"
#include "ip4_ttl.h"

#define IP4_LOOKUP_EDGES(NEXT, DROP)     \
	NEXT(ETH_OUTPUT, "eth-output")   \
	NEXT(VXLAN_ENCAP, "vxlan-encap") \
	NEXT(LOCAL, "ip4-local")         \
	NEXT(ICMP_ERROR, "icmp-error")   \
	NEXT(SEGMENT, "ip4-segment")     \
	DROP(VXLAN_INNER_NOT_LOCAL)      \
	DROP(IP4_NEEDS_FRAGMENT)
SL_NODE_EDGES(IP4_LOOKUP_EDGES)

static inline uint16_t icmp_error(struct rte_mbuf *m, uint8_t type, uint8_t code, uint16_t mtu)
{
	struct sl_mbuf_priv *pv = sl_priv(m);
	pv->icmp = (struct sl_mbuf_icmp){ .type = type, .code = code, .mtu = mtu };
	return EDGE_ICMP_ERROR;
}

/* Whether GSO frame m (IPv4 packet ip, TCP) may go whole into vxlan-encap towards nh: the
 * uplink sends tunnel GSO frames (sl_port.gso_tx), each segment's inner packet fits nh's
 * MTU, and the encapsulated frame an IPv4 length (RFC 7348 overhead: 50 bytes). */
static inline bool gso_fits_tunnel(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
				   const struct sl_nh *nh)
{
	const struct sl_port *up = sl_port_get(sl_dp.conf.uplink_port);
	unsigned ihl = rte_ipv4_hdr_len(ip);
	if (!up || !up->gso_tx || rte_pktmbuf_data_len(m) < ihl + 20u)
		return false;
	const uint8_t *tcp = (const uint8_t *)ip + ihl;
	unsigned hdrs = ihl + (unsigned)(tcp[12] >> 4) * 4;
	return hdrs + m->tso_segsz <= nh->mtu &&
	       rte_be_to_cpu_16(ip->total_length) + 50u <= UINT16_MAX;
}

static inline uint16_t ip4_lookup_one(struct rte_mbuf *m, uint32_t nh_idx)
{
	struct sl_mbuf_priv *pv = sl_priv(m);
	const struct sl_nh *nh = &sl_dp.nh[nh_idx];
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	pv->route.nh = nh_idx;

	if (unlikely((pv->flags & SL_F_DECAPPED) && nh->type != SL_NH_POD &&
		     nh->type != SL_NH_UNREACH_HOST))
		return EDGE_DROP_VXLAN_INNER_NOT_LOCAL;
	switch (nh->type) {
	case SL_NH_LOCAL:
		return EDGE_LOCAL;
	case SL_NH_UNREACH_NET:
		return icmp_error(m, SL_ICMP_DEST_UNREACH, SL_ICMP_UNREACH_NET, 0);
	case SL_NH_UNREACH_HOST:
		return icmp_error(m, SL_ICMP_DEST_UNREACH, SL_ICMP_UNREACH_HOST, 0);
	default:
		break;
	}
	if (!(pv->flags & SL_F_LOCAL_ORIGIN)) {
		if (unlikely(ip->time_to_live <= 1))
			return icmp_error(m, SL_ICMP_TIME_EXCEEDED, 0, 0);
		sl_ip4_ttl_dec(ip);
	}
	/* A GSO frame from a pod in "skb" mode (offload/l4_csum.h) or a tap pod: whole to a
	 * tap pod that takes GSO frames (its virtio-net header carries the MSS and the partial
	 * checksum, drivers/sl_tap.h); otherwise cut once, here, to the next hop's MTU. */
	if (unlikely(pv->flags & SL_F_GSO)) {
		const struct sl_port *out = nh->type == SL_NH_POD ? sl_port_get(nh->port) : NULL;
		if (out && out->gso_tx && m->tso_segsz) {
			m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
			return EDGE_ETH_OUTPUT;
		}
		/* Towards another node over an uplink with UDP tunnel GSO (a tap uplink,
		 * drivers/sl_tap.h): whole into vxlan-encap when each segment fits the tunnel
		 * and the encapsulated frame an IPv4 length. */
		if (nh->type == SL_NH_VXLAN && m->tso_segsz && gso_fits_tunnel(m, ip, nh)) {
			m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
			return EDGE_VXLAN_ENCAP;
		}
		return EDGE_SEGMENT;
	}
	if (unlikely(rte_be_to_cpu_16(ip->total_length) > nh->mtu)) {
		/* A large TCP packet from an AF_XDP pod (multi-buffer, pod MTU above the next
		 * hop's): cut once, here (offload/ip4_segment.c). */
		if (ip->next_proto_id == IPPROTO_TCP && (pv->flags & SL_F_XSK_CHAIN) &&
		    nh->type != SL_NH_POD)
			return EDGE_SEGMENT;
		if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
			return icmp_error(m, SL_ICMP_DEST_UNREACH, SL_ICMP_UNREACH_NEEDFRAG, nh->mtu);
		return EDGE_DROP_IP4_NEEDS_FRAGMENT; /* sluiced does not fragment */
	}
	return nh->type == SL_NH_VXLAN ? EDGE_VXLAN_ENCAP : EDGE_ETH_OUTPUT;
}

static uint16_t ip4_lookup_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				   uint16_t nb)
{
	uint32_t dst[RTE_GRAPH_BURST_SIZE];
	uint32_t nh[RTE_GRAPH_BURST_SIZE];
	uint16_t next[RTE_GRAPH_BURST_SIZE];

	for (uint16_t i = 0; i < nb; i++) {
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod((struct rte_mbuf *)objs[i], const struct rte_ipv4_hdr *);
		dst[i] = rte_be_to_cpu_32(ip->dst_addr);
	}
	sl_route_lookup_bulk(dst, nh, nb);
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = ip4_lookup_one(objs[i], nh[i]);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "dst %u.%u.%u.%u nh %u -> %s",
			 dst[i] >> 24, (dst[i] >> 16) & 0xff, (dst[i] >> 8) & 0xff, dst[i] & 0xff,
			 (unsigned)nh[i], node->nodes[next[i]]->name);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(ip4_lookup_process, ip4_lookup_chunk)

static struct rte_node_register ip4_lookup_node = {
	.name = "ip4-lookup",
	.process = ip4_lookup_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(IP4_LOOKUP_EDGES) },
};
RTE_NODE_REGISTER(ip4_lookup_node);
