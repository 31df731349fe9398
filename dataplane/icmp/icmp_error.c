/* icmp-error: turns the packet that could not be forwarded into the ICMP error that tells
 * its sender why (RFC 792; RFC 1812 4.3.2), then routes it back through ip4-lookup.
 * The original is counted under its drop reason. Errors are rate-limited per worker by token
 * buckets (RFC 1812 4.3.2.8): "fragmentation needed" has a bucket of its own, so a flood of
 * other errors (TTL=1 packets, unreachable destinations) cannot suppress it and break path
 * MTU discovery (RFC 1191) for everyone; both refill at conf.icmp_rate. Errors are never
 * sent about ICMP errors, non-first fragments or non-unicast sources (RFC 1812 4.3.2.7).
 * While Services exist the error goes through ip4-lb, which translates it when it quotes a
 * translated flow (sl_lb_active()). */
#include <rte_cycles.h>
#include <rte_graph_worker.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/core/sl_node.h"
#include "dataplane/lb/lb_table.h"

#define ICMP_ERROR_EDGES(NEXT, DROP)  \
	NEXT(LOOKUP, "ip4-lookup")    \
	NEXT(LB, "ip4-lb")            \
	DROP(ICMP_RATE_LIMITED)       \
	DROP(ICMP_NO_ERROR_FOR_ERROR) \
	DROP(NO_HEADROOM)
SL_NODE_EDGES(ICMP_ERROR_EDGES)

#define ICMP_BURST_TOKENS 50.0

static enum sl_drop_reason reason_of(uint8_t type, uint8_t code)
{
	if (type == SL_ICMP_TIME_EXCEEDED)
		return SL_DROP_TTL_EXCEEDED;
	if (code == SL_ICMP_UNREACH_NEEDFRAG)
		return SL_DROP_DF_TOO_BIG;
	if (code == SL_ICMP_UNREACH_PORT)
		return SL_DROP_LB_NO_BACKEND; /* ip4-lb: a Service without backends */
	return code == SL_ICMP_UNREACH_HOST ? SL_DROP_NO_SUCH_POD : SL_DROP_NO_ROUTE;
}

/* Take a token from the bucket (*tokens, *last_tsc) refilled at conf.icmp_rate. */
static bool take_token(double *tokens, uint64_t *last_tsc)
{
	uint64_t now = rte_rdtsc();
	double hz = (double)rte_get_tsc_hz();
	*tokens += (double)(now - *last_tsc) / hz * sl_dp.conf.icmp_rate;
	*last_tsc = now;
	if (*tokens > ICMP_BURST_TOKENS)
		*tokens = ICMP_BURST_TOKENS;
	if (*tokens < 1.0)
		return false;
	*tokens -= 1.0;
	return true;
}

static bool error_allowed(const struct rte_ipv4_hdr *ip, unsigned hlen, unsigned len)
{
	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))
		return false;
	uint8_t first = ((const uint8_t *)&ip->src_addr)[0];
	if (first == 0 || first >= 224)
		return false;
	if (ip->next_proto_id == IPPROTO_ICMP && len >= hlen + 1) {
		uint8_t t = *((const uint8_t *)ip + hlen);
		if (t != RTE_IP_ICMP_ECHO_REQUEST && t != RTE_IP_ICMP_ECHO_REPLY)
			return false;
	}
	return true;
}

static inline uint16_t icmp_error_one(struct sl_worker *w, struct rte_mbuf *m)
{
	struct sl_mbuf_priv *pv = sl_priv(m);
	struct rte_ipv4_hdr *orig = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned hlen = rte_ipv4_hdr_len(orig);
	unsigned len = rte_be_to_cpu_16(orig->total_length);

	w->drops[reason_of(pv->icmp.type, pv->icmp.code)]++;
	if (!error_allowed(orig, hlen, len))
		return EDGE_DROP_ICMP_NO_ERROR_FOR_ERROR;
	bool fn = pv->icmp.type == SL_ICMP_DEST_UNREACH &&
		  pv->icmp.code == SL_ICMP_UNREACH_NEEDFRAG;
	if (!(fn ? take_token(&w->icmp_fn_tokens, &w->icmp_fn_last_tsc)
		 : take_token(&w->icmp_tokens, &w->icmp_last_tsc)))
		return EDGE_DROP_ICMP_RATE_LIMITED;

	/* RFC 792: quote the IP header and the first 8 bytes of the payload. */
	unsigned quote = RTE_MIN(len, hlen + 8);
	uint32_t dst = orig->src_addr;
	bool from_pod = (pv->flags & SL_F_DECAPPED) || pv->in_port != sl_dp.conf.uplink_port;
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - quote);
	struct rte_icmp_hdr *icmp =
		(struct rte_icmp_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_icmp_hdr));
	struct rte_ipv4_hdr *ip =
		(struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_ipv4_hdr));
	if (unlikely(!icmp || !ip))
		return EDGE_DROP_NO_HEADROOM;

	icmp->icmp_type = pv->icmp.type;
	icmp->icmp_code = pv->icmp.code;
	icmp->icmp_cksum = 0;
	/* RFC 1191: the next-hop MTU goes in the low 16 bits of the second word. */
	icmp->icmp_ident = 0;
	icmp->icmp_seq_nb = rte_cpu_to_be_16(pv->icmp.code == SL_ICMP_UNREACH_NEEDFRAG ? pv->icmp.mtu : 0);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + quote);

	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*icmp) + quote)),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_ICMP,
		.src_addr = from_pod ? sl_dp.conf.gateway_ip : sl_dp.conf.node_ip,
		.dst_addr = dst,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	pv->flags = (uint8_t)((pv->flags & SL_F_TRACED) | SL_F_LOCAL_ORIGIN);
	return EDGE_LOOKUP;
}

static uint16_t icmp_error_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				   uint16_t nb)
{
	struct sl_worker *w = sl_worker_self();
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	bool lb = sl_lb_active();
	for (uint16_t i = 0; i < nb; i++) {
		struct sl_mbuf_priv *pv = sl_priv(objs[i]);
		uint8_t type = pv->icmp.type, code = pv->icmp.code;
		next[i] = icmp_error_one(w, objs[i]);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "icmp type %u code %u: %s", type, code,
			 next[i] == EDGE_LOOKUP ? "sent" : node->nodes[next[i]]->name);
		if (lb && next[i] == EDGE_LOOKUP)
			next[i] = EDGE_LB;
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(icmp_error_process, icmp_error_chunk)

static struct rte_node_register icmp_error_node = {
	.name = "icmp-error",
	.process = icmp_error_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(ICMP_ERROR_EDGES) },
};
RTE_NODE_REGISTER(icmp_error_node);
