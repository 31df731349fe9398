/* ip4-lb: Services. Between ip4-input (and vxlan-decap) and ip4-lookup, so both directions
 * of a flow pass it: requests from local pods, the host and the uplink, and replies from
 * local backends (ip4-input) or remote ones (vxlan-decap). ip4-input and vxlan-decap send
 * packets here only while a Service or a conntrack entry exists, or masquerade is on
 * (sl_lb_active()).
 *
 * For a TCP, UDP or SCTP packet (not a later fragment):
 *  - conntrack hit, forward key: destination rewritten to the flow's backend (DNAT), and the
 *    source to the node address when the flow is source-translated (sl_ct_snat);
 *  - conntrack hit, reverse key (a reply): source rewritten back to the frontend (and the
 *    destination back to the client);
 *  - a flow whose backend left (sl_ct_mark_gone): the client gets a TCP RST (tcp-reset), the
 *    backend's packets are dropped, a new SYN reopens the flow (ip4_lb_gone);
 *  - a new flow to a frontend: a client outside its loadBalancerSourceRanges is dropped; a
 *    backend picked by client affinity or Maglev on the 5-tuple hash; the source translated
 *    too when the replies would miss this node (ip4_lb_needs_snat); a conntrack entry
 *    created (dropped as ct-full, or snat-no-port), DNAT;
 *  - a frontend without backends: ICMP port unreachable through icmp-error (as kube-proxy),
 *    or a drop when endpoints exist elsewhere (a Local policy);
 *  - masquerade (sl_lb.masquerade): a new flow from one of this node's pods to an address
 *    outside the cluster, through a gateway: source to the node address (ip4_lb_masq);
 *  - an ICMP error (destination unreachable, time exceeded) quoting a packet of a translated
 *    flow: the quoted packet and the outer addresses translated like the flow's own packets,
 *    so the error reaches the client about the frontend (PMTU discovery, port unreachable
 *    from a backend) or the backend about itself; icmp-error's own errors come here too;
 *  - anything else: untouched, on to ip4-lookup. */
#include <rte_cycles.h>
#include <rte_graph_worker.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>

#include "dataplane/core/sl_node.h"
#include "lb_affinity.h"
#include "lb_nat.h"
#include "lb_stats.h"
#include "lb_table.h"
#include "dataplane/policy/pol_table.h"

#define IP4_LB_EDGES(NEXT, DROP)       \
	NEXT(LOOKUP, "ip4-lookup")     \
	NEXT(ICMP_ERROR, "icmp-error") \
	DROP(CT_FULL)                  \
	DROP(SNAT_NO_PORT)             \
	DROP(LB_NONE_SELECTED)         \
	NEXT(TCP_RESET, "tcp-reset")   \
	DROP(LB_SOURCE_RANGE)          \
	DROP(LB_BACKEND_GONE)          \
	NEXT(POLICY, "ip4-policy")
SL_NODE_EDGES(IP4_LB_EDGES)

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_ICMP ? "icmp" : "sctp";
}

/* The key of an ICMP echo request (the identifier as source port, 0 as destination) or
 * reply (0, identifier), so a reply's key is the reverse of its request's and masquerade
 * translates the identifier as a source port (RFC 5508 3.1: the identifier is the ICMP
 * query's port). False for any other ICMP message or one shorter than its header. */
static inline bool ip4_lb_icmp_key(struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
				   struct sl_ct_key *k)
{
	unsigned hlen = rte_ipv4_hdr_len(ip);
	if (rte_be_to_cpu_16(ip->total_length) < hlen + sizeof(struct rte_icmp_hdr) ||
	    rte_pktmbuf_data_len(m) < hlen + sizeof(struct rte_icmp_hdr))
		return false;
	const struct rte_icmp_hdr *ic = (const struct rte_icmp_hdr *)((const uint8_t *)ip + hlen);
	bool request = ic->icmp_type == RTE_IP_ICMP_ECHO_REQUEST;
	if ((!request && ic->icmp_type != RTE_IP_ICMP_ECHO_REPLY) || ic->icmp_code)
		return false;
	*k = (struct sl_ct_key){ .src = ip->src_addr, .dst = ip->dst_addr,
				 .sport = request ? ic->icmp_ident : 0,
				 .dport = request ? 0 : ic->icmp_ident, .proto = IPPROTO_ICMP };
	return true;
}

/* The 5-tuple of m into *k; false when m is not something ip4-lb translates (not TCP, UDP,
 * SCTP or an ICMP echo, a later fragment, or shorter than its L4 header). */
static inline bool ip4_lb_key(struct rte_mbuf *m, struct sl_ct_key *k)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint8_t proto = ip->next_proto_id;
	if (proto == IPPROTO_ICMP && !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)))
		return ip4_lb_icmp_key(m, ip, k);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
		return false;
	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))
		return false; /* no L4 header: not translated (no reassembly) */
	unsigned hlen = rte_ipv4_hdr_len(ip);
	unsigned l4min = proto == IPPROTO_TCP   ? sizeof(struct rte_tcp_hdr)
			 : proto == IPPROTO_UDP ? sizeof(struct rte_udp_hdr)
						: sizeof(struct rte_sctp_hdr);
	unsigned tlen = rte_be_to_cpu_16(ip->total_length);
	/* TCP/UDP translation updates checksums incrementally: only the headers need to be in
	 * the first segment (a multi-buffer frame from an AF_XDP pod is a chain); SCTP's CRC
	 * reads the whole packet. */
	if (tlen < hlen + l4min ||
	    rte_pktmbuf_data_len(m) < (proto == IPPROTO_SCTP ? tlen : hlen + l4min))
		return false;
	const uint16_t *ports = (const uint16_t *)((const uint8_t *)ip + hlen);
	*k = (struct sl_ct_key){ .src = ip->src_addr, .dst = ip->dst_addr, .sport = ports[0],
				 .dport = ports[1], .proto = proto };
	return true;
}

/* An ICMP error about a translated flow (see the file comment); others pass untouched. */
static inline uint16_t ip4_lb_icmp_error(const struct rte_node *node, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	if (ip->next_proto_id != IPPROTO_ICMP ||
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)))
		return EDGE_LOOKUP;
	unsigned hlen = rte_ipv4_hdr_len(ip), tlen = rte_be_to_cpu_16(ip->total_length);
	if (rte_pktmbuf_data_len(m) < tlen ||
	    tlen < hlen + sizeof(struct rte_icmp_hdr) + sizeof(struct rte_ipv4_hdr) + 8)
		return EDGE_LOOKUP;
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + hlen);
	if (icmp->icmp_type != SL_ICMP_DEST_UNREACH && icmp->icmp_type != SL_ICMP_TIME_EXCEEDED)
		return EDGE_LOOKUP;
	struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)(icmp + 1);
	unsigned ihl = (in->version_ihl & 0xf) * 4u;
	unsigned at = hlen + sizeof(*icmp) + ihl; /* the quoted L4 header, from ip */
	if ((in->version_ihl >> 4) != 4 || ihl < sizeof(*in) || tlen < at + 8 ||
	    (in->next_proto_id != IPPROTO_TCP && in->next_proto_id != IPPROTO_UDP &&
	     in->next_proto_id != IPPROTO_SCTP))
		return EDGE_LOOKUP;
	uint8_t *il4 = (uint8_t *)ip + at;
	const uint16_t *ports = (const uint16_t *)il4;
	/* The quoted packet went the other way: its reverse is the flow's key. */
	struct sl_ct_key k = { .src = in->dst_addr, .dst = in->src_addr, .sport = ports[1],
			       .dport = ports[0], .proto = in->next_proto_id };
	enum sl_ct_dir dir;
	struct sl_ct_entry *e = sl_ct_lookup(&k, &dir);
	if (!e)
		return EDGE_LOOKUP;
	bool snat = sl_ct_snat(e);
	if (dir == SL_CT_REV) {
		/* To the client, about a packet it sent to the backend: say the frontend. */
		if (ip->src_addr == e->rev.src)
			sl_nat_addr(ip, false, e->fwd.dst);
		sl_nat_icmp_inner(icmp, in, il4, tlen - at, true, e->fwd.dst, e->fwd.dport);
		if (snat) { /* and say the client's own address, not ours */
			if (ip->dst_addr == e->rev.dst)
				sl_nat_addr(ip, true, e->fwd.src);
			sl_nat_icmp_inner(icmp, in, il4, tlen - at, false, e->fwd.src,
					  e->fwd.sport);
		}
	} else {
		/* To the backend, about a reply the client got from the frontend. */
		if (ip->dst_addr == e->fwd.dst)
			sl_nat_addr(ip, true, e->rev.src);
		sl_nat_icmp_inner(icmp, in, il4, tlen - at, false, e->rev.src, e->rev.sport);
		if (snat) { /* the client it names is our address to the backend */
			if (ip->src_addr == e->fwd.src)
				sl_nat_addr(ip, false, e->rev.dst);
			sl_nat_icmp_inner(icmp, in, il4, tlen - at, true, e->rev.dst,
					  e->rev.dport);
		}
	}
	SL_TRACE(node, m, "icmp error about svc " SL_IP4_FMT ":%u/%s, backend " SL_IP4_FMT ":%u",
		 SL_IP4_ARGS(e->fwd.dst), rte_be_to_cpu_16(e->fwd.dport),
		 proto_name(e->fwd.proto), SL_IP4_ARGS(e->rev.src),
		 rte_be_to_cpu_16(e->rev.sport));
	return EDGE_LOOKUP;
}

/* Whether a new flow from client to backend needs its source translated to the node address:
 * the backend is not on this node and neither is the client (an external client, or a pod
 * of another node, through a node port or an external address), so the backend's replies
 * would go straight to the client and miss our conntrack; or the backend is the client
 * itself (hairpin: a pod reaching its own Service), which would take a packet from its own
 * address for a martian. A client on this node (a pod, or the node's kernel through the host
 * port) otherwise keeps its address, so under externalTrafficPolicy Local (local backends
 * only) the client address always reaches the backend. */
static inline bool ip4_lb_needs_snat(uint32_t client, uint32_t backend)
{
	const struct sl_dp_conf *c = &sl_dp.conf;
	bool backend_local = (backend & c->pod_cidr_mask) == c->pod_cidr;
	bool client_local = (client & c->pod_cidr_mask) == c->pod_cidr || client == c->node_ip;
	return backend == client || (!backend_local && !client_local);
}

/* Whether the new flow k (TCP: first packet's flags) is pod egress to masquerade: from one of
 * this node's pods, to an address outside the cluster CIDR whose route leaves through a
 * gateway (not a node's own address, whose route is the node itself), and for TCP starting
 * with a SYN and ICMP with an echo request (no identifier as destination port): a reply to
 * someone outside who reached the pod is not a new flow of the pod's. Worker. */
static inline bool ip4_lb_masq_wanted(const struct sl_ct_key *k, uint8_t tcp_flags)
{
	const struct sl_dp_conf *c = &sl_dp.conf;
	if ((k->src & c->pod_cidr_mask) != c->pod_cidr ||
	    (k->dst & sl_lb.cluster_mask) == sl_lb.cluster_net)
		return false;
	if (k->proto == IPPROTO_TCP &&
	    (tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != RTE_TCP_SYN_FLAG)
		return false;
	if (k->proto == IPPROTO_ICMP && k->dport)
		return false;
	uint32_t nhi = sl_route_lookup(k->dst);
	const struct sl_nh *nh = &sl_dp.nh[nhi < sl_dp.nh_max ? nhi : 0];
	return nh->type == SL_NH_UPLINK && nh->ip != k->dst;
}

/* Masquerade the new flow k of m: a conntrack entry translating its source to the node
 * address and a port of ours (its destination stays). */
static inline uint16_t ip4_lb_masq(const struct rte_node *node, struct rte_mbuf *m,
				   const struct sl_ct_key *k, uint8_t tcp_flags, uint64_t now)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned hlen = rte_ipv4_hdr_len(ip);
	struct sl_ct_snat snat = { .ip = sl_dp.conf.node_ip };
	enum sl_ct_snat_fail why;
	sl_lb_snat_range(&snat.port_lo, &snat.n_ports);
	struct sl_ct_entry *e = sl_ct_create_snat(k, k->dst, k->dport, &snat, tcp_flags, now, 0,
						  &why);
	if (unlikely(!e)) {
		SL_TRACE(node, m, "masquerade: %s", why == SL_CT_SNAT_NO_PORT ? "no free port"
										: "conntrack full");
		return why == SL_CT_SNAT_NO_PORT ? EDGE_DROP_SNAT_NO_PORT : EDGE_DROP_CT_FULL;
	}
	sl_nat_rewrite(ip, (uint8_t *)ip + hlen, rte_be_to_cpu_16(ip->total_length) - hlen, false,
		       e->rev.dst, e->rev.dport);
	SL_TRACE(node, m, "masquerade: source to " SL_IP4_FMT ":%u", SL_IP4_ARGS(e->rev.dst),
		 rte_be_to_cpu_16(e->rev.dport));
	return EDGE_LOOKUP;
}

/* A packet of flow e (tagged data) whose backend left (SL_CT_GONE): the client's packets
 * get a RST from the frontend (tcp-reset) and close the flow, the backend's are dropped;
 * EDGE_COUNT for a SYN opening a new flow over it (the caller's new-flow path). */
static uint16_t ip4_lb_gone(const struct rte_node *node, struct rte_mbuf *m, void *data,
			    uint8_t flags, uint64_t now)
{
	enum sl_ct_dir dir = (enum sl_ct_dir)((uintptr_t)data & 1);
	struct sl_ct_entry *e = (struct sl_ct_entry *)((uintptr_t)data & ~(uintptr_t)1);
	if (dir == SL_CT_FWD && (flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG)
		return EDGE_COUNT;
	SL_TRACE(node, m, "svc " SL_IP4_FMT ":%u/tcp: backend " SL_IP4_FMT ":%u left: %s",
		 SL_IP4_ARGS(e->fwd.dst), rte_be_to_cpu_16(e->fwd.dport), SL_IP4_ARGS(e->rev.src),
		 rte_be_to_cpu_16(e->rev.sport),
		 dir == SL_CT_REV ? "drop its packet" : flags & RTE_TCP_RST_FLAG ? "drop (RST)"
									  : "reset the client");
	if (dir == SL_CT_REV)
		return EDGE_DROP_LB_BACKEND_GONE;
	atomic_store_explicit(&e->state, SL_CT_CLOSED, memory_order_relaxed);
	atomic_store_explicit(&e->last_tsc, now, memory_order_relaxed);
	/* RFC 793: a RST is never answered. */
	return flags & RTE_TCP_RST_FLAG ? EDGE_DROP_LB_BACKEND_GONE : EDGE_TCP_RESET;
}

/* m with key k (ip4_lb_key was true) and its conntrack entry e (tagged lookup data, NULL on
 * a miss). */
static inline uint16_t ip4_lb_one(const struct rte_node *node, struct rte_mbuf *m,
				  const struct sl_ct_key *k, void *data, uint64_t now)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint8_t proto = k->proto;
	unsigned hlen = rte_ipv4_hdr_len(ip);
	uint8_t *l4 = (uint8_t *)ip + hlen;
	uint32_t l4_len = rte_be_to_cpu_16(ip->total_length) - hlen;
	uint8_t flags = proto == IPPROTO_TCP ? ((struct rte_tcp_hdr *)l4)->tcp_flags : 0;
	struct sl_ct_entry *gone = NULL;
	if (unlikely(data && sl_ct_data_gone(data))) {
		uint16_t edge = ip4_lb_gone(node, m, data, flags, now);
		if (edge != EDGE_COUNT)
			return edge;
		gone = (struct sl_ct_entry *)data; /* a forward key: untagged */
		data = NULL;
	}

	if (data) {
		enum sl_ct_dir dir = (enum sl_ct_dir)((uintptr_t)data & 1);
		struct sl_ct_entry *e = (struct sl_ct_entry *)((uintptr_t)data & ~(uintptr_t)1);
		sl_ct_update(e, dir, flags, now);
		bool snat = sl_ct_snat(e);
		sl_lb_affinity_touch(e, now);
		sl_lb_count_pkt(e->lb_slot, dir, hlen + l4_len);
		if (dir == SL_CT_FWD) {
			sl_nat_rewrite(ip, l4, l4_len, true, e->rev.src, e->rev.sport);
			if (snat)
				sl_nat_rewrite(ip, l4, l4_len, false, e->rev.dst, e->rev.dport);
			SL_TRACE(node, m, "established svc " SL_IP4_FMT ":%u/%s -> " SL_IP4_FMT ":%u",
				 SL_IP4_ARGS(e->fwd.dst), rte_be_to_cpu_16(e->fwd.dport),
				 proto_name(proto), SL_IP4_ARGS(e->rev.src),
				 rte_be_to_cpu_16(e->rev.sport));
		} else {
			sl_nat_rewrite(ip, l4, l4_len, false, e->fwd.dst, e->fwd.dport);
			if (snat)
				sl_nat_rewrite(ip, l4, l4_len, true, e->fwd.src, e->fwd.sport);
			SL_TRACE(node, m, "reply svc " SL_IP4_FMT ":%u/%s from " SL_IP4_FMT ":%u",
				 SL_IP4_ARGS(e->fwd.dst), rte_be_to_cpu_16(e->fwd.dport),
				 proto_name(proto), SL_IP4_ARGS(e->rev.src),
				 rte_be_to_cpu_16(e->rev.sport));
		}
		return EDGE_LOOKUP;
	}

	struct sl_lb_frontend fe = { .vip = k->dst, .port = k->dport, .proto = proto };
	const struct sl_lb_service *s = sl_lb_service_find(&fe);
	if (!s) {
		if (unlikely(sl_lb.masquerade) && ip4_lb_masq_wanted(k, flags))
			return ip4_lb_masq(node, m, k, flags, now);
		return EDGE_LOOKUP;
	}
	if (unlikely(s->n_ranges) && !sl_lb_source_allowed(s, k->src)) {
		SL_TRACE(node, m, "svc " SL_IP4_FMT ":%u/%s: source " SL_IP4_FMT
			 " outside its loadBalancerSourceRanges: drop", SL_IP4_ARGS(fe.vip),
			 rte_be_to_cpu_16(fe.port), proto_name(proto), SL_IP4_ARGS(k->src));
		return EDGE_DROP_LB_SOURCE_RANGE;
	}
	if (s->m == 0 && (s->flags & SL_LB_SVC_DROP_EMPTY)) {
		SL_TRACE(node, m, "svc " SL_IP4_FMT ":%u/%s has no backend for this traffic: drop",
			 SL_IP4_ARGS(fe.vip), rte_be_to_cpu_16(fe.port), proto_name(proto));
		sl_lb_count(s->stats_slot, drop_none);
		return EDGE_DROP_LB_NONE_SELECTED;
	}
	if (s->m == 0) {
		SL_TRACE(node, m, "svc " SL_IP4_FMT ":%u/%s has no backend: reject",
			 SL_IP4_ARGS(fe.vip), rte_be_to_cpu_16(fe.port), proto_name(proto));
		sl_priv(m)->icmp = (struct sl_mbuf_icmp){ .type = SL_ICMP_DEST_UNREACH,
							  .code = SL_ICMP_UNREACH_PORT };
		sl_lb_count(s->stats_slot, rejects);
		return EDGE_ICMP_ERROR;
	}
	/* The same flow picks the same backend on every node: CRC32c, fixed seed. */
	uint32_t hash = rte_hash_crc(k, sizeof(*k), 0), aff = 0;
	const struct sl_lb_backend *be = s->affinity_s ? sl_lb_affinity_pick(s, k, hash, now, &aff)
						       : sl_lb_pick(s, hash);
	struct sl_ct_snat snat, *sn = NULL;
	if (ip4_lb_needs_snat(k->src, be->ip)) {
		snat.ip = sl_dp.conf.node_ip;
		sl_lb_snat_range(&snat.port_lo, &snat.n_ports);
		sn = &snat;
	}
	enum sl_ct_snat_fail why = SL_CT_SNAT_FULL;
	uint32_t slot = s->stats_slot;
	struct sl_ct_entry *e =
		gone ? sl_ct_reopen(gone, k, be->ip, be->port, sn, flags, now, slot)
		: sn ? sl_ct_create_snat(k, be->ip, be->port, sn, flags, now, slot, &why)
		     : sl_ct_create_ex(k, be->ip, be->port, flags, now, slot);
	if (unlikely(!e && why == SL_CT_SNAT_NO_PORT)) {
		SL_TRACE(node, m, "svc " SL_IP4_FMT ":%u/%s: no free SNAT port to " SL_IP4_FMT ":%u",
			 SL_IP4_ARGS(fe.vip), rte_be_to_cpu_16(fe.port), proto_name(proto),
			 SL_IP4_ARGS(be->ip), rte_be_to_cpu_16(be->port));
		return EDGE_DROP_SNAT_NO_PORT;
	}
	if (unlikely(!e)) {
		SL_TRACE(node, m, "svc " SL_IP4_FMT ":%u/%s: conntrack full",
			 SL_IP4_ARGS(fe.vip), rte_be_to_cpu_16(fe.port), proto_name(proto));
		sl_lb_count(s->stats_slot, drop_ct_full);
		return EDGE_DROP_CT_FULL;
	}
	if (aff)
		atomic_store_explicit(&e->aff, aff, memory_order_relaxed);
	sl_lb_count(s->stats_slot, new_flows);
	sl_lb_count_pkt(s->stats_slot, SL_CT_FWD, hlen + l4_len);
	sl_nat_rewrite(ip, l4, l4_len, true, be->ip, be->port);
	if (sl_ct_snat(e))
		sl_nat_rewrite(ip, l4, l4_len, false, e->rev.dst, e->rev.dport);
	/* Why this backend: the client's affinity, or the Maglev slot the 5-tuple hash fell in
	 * (sl_lb_pick). */
	SL_TRACE(node, m, "new svc " SL_IP4_FMT ":%u/%s -> " SL_IP4_FMT ":%u %s %u/%u%s",
		 SL_IP4_ARGS(fe.vip), rte_be_to_cpu_16(fe.port), proto_name(proto),
		 SL_IP4_ARGS(be->ip), rte_be_to_cpu_16(be->port),
		 aff ? "client affinity, maglev" : "maglev slot", hash % s->m, s->m,
		 sl_ct_snat(e) ? ", source to the node address" : "");
	return EDGE_LOOKUP;
}

static uint16_t ip4_lb_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
			     uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	struct sl_ct_key keys[RTE_GRAPH_BURST_SIZE];
	void *data[RTE_GRAPH_BURST_SIZE];
	uint16_t idx[RTE_GRAPH_BURST_SIZE];
	uint16_t n = 0;
	uint64_t now = rte_rdtsc();

	/* Keys of the packets to look at; the others go on untouched. */
	for (uint16_t i = 0; i < nb; i++) {
		if (ip4_lb_key(objs[i], &keys[n])) {
			next[i] = EDGE_LOOKUP;
			idx[n++] = i;
		} else {
			next[i] = ip4_lb_icmp_error(node, objs[i]);
		}
	}
	/* Conntrack, a bulk lookup (rte_hash prefetches the buckets of the whole batch), and the
	 * entries found prefetched together, so their misses overlap. */
	for (uint16_t off = 0; off < n; off += RTE_HASH_LOOKUP_BULK_MAX) {
		unsigned cnt = RTE_MIN(n - off, RTE_HASH_LOOKUP_BULK_MAX);
		const void *kp[RTE_HASH_LOOKUP_BULK_MAX];
		uint64_t hits = 0;
		for (unsigned j = 0; j < cnt; j++)
			kp[j] = &keys[off + j];
		rte_hash_lookup_bulk_data(sl_ct.hash, kp, cnt, &hits, data + off);
		for (unsigned j = 0; j < cnt; j++) {
			if (!(hits & (1ULL << j)))
				data[off + j] = NULL;
			else
				rte_prefetch0((void *)((uintptr_t)data[off + j] & ~(uintptr_t)1));
		}
	}
	/* The frontend counter line each established packet bumps, for the whole burst: with
	 * many Services the flows of a burst count into as many lines, each a likely miss. */
	for (uint16_t j = 0; j < n; j++)
		if (data[j])
			sl_lb_count_prefetch(((const struct sl_ct_entry *)((uintptr_t)data[j] &
									   ~(uintptr_t)1))->lb_slot);
	for (uint16_t j = 0; j < n; j++)
		next[idx[j]] = ip4_lb_one(node, objs[idx[j]], &keys[j], data[j], now);
	/* NetworkPolicy sees the backend after DNAT (dataplane/policy/ip4_policy.c). */
	if (sl_pol_active())
		for (uint16_t i = 0; i < nb; i++)
			if (next[i] == EDGE_LOOKUP)
				next[i] = EDGE_POLICY;
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(ip4_lb_process, ip4_lb_chunk)

static struct rte_node_register ip4_lb_node = {
	.name = "ip4-lb",
	.process = ip4_lb_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(IP4_LB_EDGES) },
};
RTE_NODE_REGISTER(ip4_lb_node);
