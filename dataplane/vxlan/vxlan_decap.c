/* vxlan-decap: RFC 7348 receive side for packets to our VTEP address and UDP port (ip4-input
 * already checked both). Checks the outer header is not a fragment, the I flag and our VNI;
 * strips outer IP/UDP/VXLAN and inner Ethernet; validates the inner IPv4 header; checks the
 * tunnel may carry that inner source (below) and that its destination is in this node's pod
 * CIDR. The inner packet goes to ip4-lookup, through ip4-lb while Services exist (replies
 * from remote backends) and ip4-policy while some pod is isolated.
 *
 * Trust: a tunnelled packet is accepted only from a configured node's VTEP and only with an
 * inner source that node owns, decided by the FIB route for the inner source
 * (sl_route_lookup):
 *  - a VXLAN next hop whose VTEP is the outer source: a pod of that node (its pod CIDR);
 *  - or the inner source is the outer source itself and its route is the plain uplink next
 *    hop to that same address (what the reconciler installs for a node's address): the
 *    node's own kernel, reaching pods here through its host port. An underlay router that is
 *    itself a route's gateway passes this test for its own address too; that gives it
 *    nothing it lacks, since plain IPv4 from the underlay to pods is routed anyway.
 * Otherwise: vxlan-untrusted-peer (no configured node owns that inner source: a route
 * gateway, an unknown host, or an inner source of this node, a Service or an external range)
 * or vxlan-inner-spoofed (a node owns it, but not the one that sent it). Service and external
 * source ranges through a tunnel are not accepted yet (docs/known-issues.md).
 *
 * The inner Ethernet destination is not checked (the inner IPv4 destination is): a sluice
 * peer sends our uplink's MAC (its neighbour entry for us), a flannel peer the VtepMAC we
 * publish in its backend-data (sl_net_vtep_mac: vxlan.vtep_mac, else the uplink's MAC). */
#include <rte_graph_worker.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dataplane/core/sl_node.h"
#include "dataplane/ip4/ip4_check.h"
#include "dataplane/lb/lb_table.h"
#include "dataplane/policy/pol_table.h"

#define VXLAN_DECAP_EDGES(NEXT, DROP) \
	NEXT(LOOKUP, "ip4-lookup")    \
	NEXT(LB, "ip4-lb")            \
	NEXT(POLICY, "ip4-policy")    \
	DROP(VXLAN_TRUNCATED)         \
	DROP(VXLAN_BAD_FLAGS)         \
	DROP(VXLAN_BAD_VNI)           \
	DROP(VXLAN_FRAGMENT)          \
	DROP(VXLAN_INNER_INVALID)     \
	DROP(VXLAN_INNER_NOT_LOCAL)   \
	DROP(VXLAN_UNTRUSTED_PEER)    \
	DROP(VXLAN_INNER_SPOOFED)
SL_NODE_EDGES(VXLAN_DECAP_EDGES)

#define VXLAN_FLAG_I 0x08 /* RFC 7348 5: the I flag, first byte of the header */

static inline uint16_t vxlan_decap_one(struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	unsigned hlen = rte_ipv4_hdr_len(ip);
	unsigned outer = hlen + sizeof(struct rte_udp_hdr) + sizeof(struct rte_vxlan_hdr);

	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return EDGE_DROP_VXLAN_FRAGMENT;
	if (rte_pktmbuf_data_len(m) < outer + sizeof(struct rte_ether_hdr))
		return EDGE_DROP_VXLAN_TRUNCATED;
	const struct rte_vxlan_hdr *vx =
		(const struct rte_vxlan_hdr *)((const uint8_t *)ip + outer - sizeof(*vx));
	if (!(((const uint8_t *)&vx->vx_flags)[0] & VXLAN_FLAG_I))
		return EDGE_DROP_VXLAN_BAD_FLAGS;
	if ((rte_be_to_cpu_32(vx->vx_vni) >> 8) != sl_dp.conf.vni)
		return EDGE_DROP_VXLAN_BAD_VNI;
	uint32_t vtep = ip->src_addr; /* the outer header is stripped below */
	const struct rte_ether_hdr *eth =
		(const struct rte_ether_hdr *)((const uint8_t *)ip + outer);
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return EDGE_DROP_VXLAN_INNER_INVALID;
	rte_pktmbuf_adj(m, (uint16_t)(outer + sizeof(*eth)));
	if (sl_ip4_check(m) != SL_DROP_COUNT)
		return EDGE_DROP_VXLAN_INNER_INVALID;
	const struct rte_ipv4_hdr *inner = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t src_nhi = sl_route_lookup(inner->src_addr);
	const struct sl_nh *src_nh = &sl_dp.nh[src_nhi < sl_dp.nh_max ? src_nhi : 0];
	if (src_nh->type == SL_NH_VXLAN) {
		if (src_nh->ip != vtep)
			return EDGE_DROP_VXLAN_INNER_SPOOFED;
	} else if (inner->src_addr != vtep || src_nh->type != SL_NH_UPLINK ||
		   src_nh->ip != vtep) {
		return EDGE_DROP_VXLAN_UNTRUSTED_PEER;
	}
	if ((inner->dst_addr & sl_dp.conf.pod_cidr_mask) != sl_dp.conf.pod_cidr)
		return EDGE_DROP_VXLAN_INNER_NOT_LOCAL;
	sl_priv(m)->flags |= SL_F_DECAPPED;
	return EDGE_LOOKUP;
}

static uint16_t vxlan_decap_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				    uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	uint16_t past = sl_lb_active() ? EDGE_LB : sl_pol_active() ? EDGE_POLICY : EDGE_LOOKUP;
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = vxlan_decap_one(objs[i]);
		bool ok = next[i] == EDGE_LOOKUP;
		if (ok)
			next[i] = past;
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "%s",
			 ok ? "decapsulated" : node->nodes[next[i]]->name);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(vxlan_decap_process, vxlan_decap_chunk)

static struct rte_node_register vxlan_decap_node = {
	.name = "vxlan-decap",
	.process = vxlan_decap_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(VXLAN_DECAP_EDGES) },
};
RTE_NODE_REGISTER(vxlan_decap_node);
