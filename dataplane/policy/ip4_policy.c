/* ip4-policy: Kubernetes NetworkPolicy. Between ip4-lb (or ip4-input and vxlan-decap while no
 * Service exists) and ip4-lookup, so it sees a Service flow's backend after DNAT, as
 * Kubernetes requires, and every packet from or to a local pod (from the pod's port, from the
 * host port, from the uplink, plain or out of a tunnel). ip4-input, vxlan-decap and ip4-lb
 * send packets here only while some pod is isolated (sl_pol_active()).
 *
 * A packet's flow is looked at in its originator's direction (who sent the first packet):
 * egress is checked when the originator is a local pod isolated for egress, ingress when the
 * destination (the backend, after DNAT) is a local pod isolated for ingress; both when both
 * are on this node. Allowed iff a rule of each checked direction matches (pol_table.h), else
 * dropped (policy-denied-egress, policy-denied-ingress) and counted against the policy that
 * isolates the pod. Not filtered: traffic between a pod and its own node (kubelet probes come
 * from the node's address through the host port: Kubernetes always allows them), ICMP errors
 * (destination unreachable, time exceeded: they open nothing, and path MTU discovery needs
 * them).
 *
 * Stateful (the shared conntrack, dataplane/ct): only a flow's first packet is classified.
 * A flow of an isolated pod that is allowed gets a conntrack entry (a Service or masquerade
 * flow has one already), and so does a flow checked in neither direction whose replies
 * would be (its originator isolated only for ingress, or its destination only for egress) stamped with the generation of the classifier it was allowed under;
 * its later packets in both directions pass on the stamp. Conntrack is looked up under the
 * packet's tuple turned around: a hit on an entry's reverse key is a packet of the
 * originator, on its forward key a reply (this holds for translated flows too, whose packets
 * are translated by now). When a newer classifier is published, a flow's next packet is
 * classified again from the entry (the originator's own address before SNAT, the backend
 * after DNAT): still allowed, it is stamped anew; denied, its packet is dropped, a TCP sender
 * gets a RST (tcp-reset), and the entry is closed. A new flow of an isolated pod that finds
 * the table full is dropped (policy-ct-full). Protocols without ports or ICMP echo
 * identifiers are classified packet by packet. The classification is one rte_acl_classify
 * call per direction per burst. */
#include <rte_cycles.h>
#include <rte_graph_worker.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_sctp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/core/sl_node.h"
#include "dataplane/ct/ct.h"
#include "pol_table.h"

#define IP4_POLICY_EDGES(NEXT, DROP)     \
	NEXT(LOOKUP, "ip4-lookup")       \
	NEXT(TCP_RESET, "tcp-reset")     \
	DROP(POLICY_DENIED_INGRESS)      \
	DROP(POLICY_DENIED_EGRESS)       \
	DROP(POLICY_CT_FULL)
SL_NODE_EDGES(IP4_POLICY_EDGES)

#define NEED_INGRESS (1u << SL_POL_INGRESS)
#define NEED_EGRESS (1u << SL_POL_EGRESS)

/* What the node knows of one packet between its passes. */
struct pol_pkt {
	struct sl_ct_key tuple;     /* the packet's own 5-tuple (stateful packets) */
	struct sl_ct_entry *e;      /* its flow, NULL: none */
	bool stateful;              /* TCP, UDP, SCTP, ICMP echo: tracked */
	bool orig;                  /* e: the packet goes the originator's way */
	uint8_t need;               /* NEED_*: directions to classify */
	uint8_t tcp_flags;
	uint16_t pos[SL_POL_NDIRS]; /* its key's position in the direction's batch */
};

/* Parse m into p; false when it is not filtered at all (ICMP errors). */
static inline bool ip4_policy_parse(struct rte_mbuf *m, struct pol_pkt *p)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	unsigned hlen = rte_ipv4_hdr_len(ip);
	uint8_t proto = ip->next_proto_id;
	const uint8_t *l4 = (const uint8_t *)ip + hlen;
	unsigned have = rte_pktmbuf_data_len(m) > hlen ? rte_pktmbuf_data_len(m) - hlen : 0;
	bool first = !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK));
	p->e = NULL;
	p->stateful = false;
	p->need = 0;
	p->tcp_flags = 0;
	p->tuple = (struct sl_ct_key){ .src = ip->src_addr, .dst = ip->dst_addr, .proto = proto };
	if (proto == IPPROTO_ICMP && first && have >= sizeof(struct rte_icmp_hdr)) {
		const struct rte_icmp_hdr *ic = (const struct rte_icmp_hdr *)l4;
		if (ic->icmp_type == RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
			p->tuple.sport = p->tuple.dport = ic->icmp_ident;
			p->stateful = true;
			return true;
		}
		/* RFC 792 errors (3, 4, 5, 11, 12): not filtered (file comment). */
		return !(ic->icmp_type == SL_ICMP_DEST_UNREACH || ic->icmp_type == 4 ||
			 ic->icmp_type == 5 || ic->icmp_type == SL_ICMP_TIME_EXCEEDED ||
			 ic->icmp_type == 12);
	}
	if ((proto == IPPROTO_TCP && have >= sizeof(struct rte_tcp_hdr)) ||
	    ((proto == IPPROTO_UDP || proto == IPPROTO_SCTP) && have >= 8)) {
		if (first) {
			const uint16_t *ports = (const uint16_t *)l4;
			p->tuple.sport = ports[0];
			p->tuple.dport = ports[1];
			if (proto == IPPROTO_TCP)
				p->tcp_flags = ((const struct rte_tcp_hdr *)l4)->tcp_flags;
			p->stateful = true;
		}
	}
	return true;
}

/* The key of p's flow in direction dir, as its originator sent it (from its entry when it has
 * one): pod and peer for that direction. */
static inline void ip4_policy_key(const struct pol_pkt *p, enum sl_pol_dir dir,
				  struct sl_pol_key *k)
{
	uint32_t osrc, odst, isrc;
	uint16_t dport;
	if (p->e) {
		osrc = p->e->fwd.src;  /* the client, before SNAT */
		odst = p->e->rev.src;  /* the backend, after DNAT */
		isrc = p->e->rev.dst;  /* the source the backend sees */
		dport = p->e->rev.sport;
	} else {
		osrc = isrc = p->tuple.src;
		odst = p->tuple.dst;
		dport = p->tuple.dport;
	}
	if (p->tuple.proto == IPPROTO_ICMP || !p->stateful)
		dport = 0;
	*k = (struct sl_pol_key){ .proto = p->tuple.proto, .dport = dport };
	if (dir == SL_POL_INGRESS) {
		k->pod = odst;
		k->peer = isrc;
	} else {
		k->pod = osrc;
		k->peer = odst;
	}
}

/* Which directions p's flow must be checked in under d (NEED_*). */
static inline uint8_t ip4_policy_need(const struct sl_pol_dp *d, const struct pol_pkt *p,
				      const struct rte_mbuf *m)
{
	struct sl_pol_key eg, in;
	uint8_t need = 0;
	ip4_policy_key(p, SL_POL_EGRESS, &eg);
	ip4_policy_key(p, SL_POL_INGRESS, &in);
	uint32_t node = sl_dp.conf.node_ip;
	/* Pod to its own node: always allowed (Kubernetes). */
	if (eg.peer != node && sl_pol_isolated(d, rte_be_to_cpu_32(eg.pod), SL_POL_EGRESS))
		need |= NEED_EGRESS;
	if (sl_pol_isolated(d, rte_be_to_cpu_32(in.pod), SL_POL_INGRESS)) {
		/* From the node itself (kubelet probes through the host port): allowed. */
		const struct sl_port *port = p->e ? NULL : sl_port_get(sl_priv((struct rte_mbuf *)m)->in_port);
		if (in.peer != node && !(port && port->kind == SL_PORT_HOST))
			need |= NEED_INGRESS;
	}
	return need;
}

/* A TCP packet without a conntrack entry that is not a SYN belongs to a connection opened
 * before it was tracked (before a policy isolated either end). Who opened it is unknown;
 * the lower port is taken for the server's (as conntrack tools guess), so a server's packet
 * is looked at as a reply: p's tuple turned to the presumed originator's way. Without this
 * the first packet seen, often the server's, would make the client's packets replies and
 * keep a connection the policy denies. */
static inline void ip4_policy_orient(struct pol_pkt *p)
{
	const struct sl_ct_key t = p->tuple;
	if (t.proto != IPPROTO_TCP ||
	    (p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG ||
	    rte_be_to_cpu_16(t.sport) >= rte_be_to_cpu_16(t.dport))
		return;
	p->tuple = (struct sl_ct_key){ .src = t.dst, .dst = t.src, .sport = t.dport,
				       .dport = t.sport, .proto = t.proto };
}

/* Whether p's flow needs no check itself but its replies would: its originator is a local
 * pod isolated for ingress, or its destination one isolated for egress (a pod under
 * default-deny ingress still opens connections, and their replies are not new ingress). */
static inline bool ip4_policy_replies_checked(const struct sl_pol_dp *d, const struct pol_pkt *p)
{
	return sl_pol_isolated(d, rte_be_to_cpu_32(p->tuple.src), SL_POL_INGRESS) ||
	       sl_pol_isolated(d, rte_be_to_cpu_32(p->tuple.dst), SL_POL_EGRESS);
}

static const char *dir_name(unsigned dir)
{
	return dir == SL_POL_INGRESS ? "ingress" : "egress";
}

/* Queue a denied flow for the control thread's deny log. */
static inline void ip4_policy_log(const struct pol_pkt *p, enum sl_pol_dir dir, uint32_t policy)
{
	struct sl_pol_key k;
	ip4_policy_key(p, dir, &k);
	int w = sl_dp.worker_of_lcore[rte_lcore_id()];
	struct rte_ring *r = sl_pol.deny_ring[w > 0 ? w : 0];
	struct sl_pol_deny_rec rec = {
		.src = dir == SL_POL_INGRESS ? k.peer : k.pod,
		.dst = dir == SL_POL_INGRESS ? k.pod : k.peer,
		.dport = k.dport, .proto = k.proto, .dir = (uint8_t)dir, .policy = policy,
	};
	if (r && rte_ring_sp_enqueue_elem(r, &rec, sizeof(rec)) != 0)
		atomic_fetch_add_explicit(&sl_pol.deny_ring_full, 1, memory_order_relaxed);
}

/* The verdict on p (classified: res[dir] = allowing rule + 1 or 0) and its edge. */
static inline uint16_t ip4_policy_one(const struct rte_node *node, struct rte_mbuf *m,
				      const struct sl_pol_dp *d, struct pol_pkt *p,
				      const uint32_t res[SL_POL_NDIRS], uint64_t now)
{
	struct sl_pol_count *cnt = sl_pol_counts_here(d);
	/* Egress first: the packet leaves its source before it reaches its destination. */
	static const enum sl_pol_dir order[SL_POL_NDIRS] = { SL_POL_EGRESS, SL_POL_INGRESS };
	for (unsigned i = 0; i < SL_POL_NDIRS; i++) {
		enum sl_pol_dir dir = order[i];
		if (!(p->need & (1u << dir)) || res[dir])
			continue;
		struct sl_pol_key k;
		ip4_policy_key(p, dir, &k);
		uint32_t by = sl_pol_isolated_by(d, rte_be_to_cpu_32(k.pod), dir);
		if (by < d->n_policies)
			cnt[by].denied++;
		if (unlikely(atomic_load_explicit(&sl_pol.deny_log, memory_order_relaxed)))
			ip4_policy_log(p, dir, by);
		SL_TRACE(node, m, "deny %s: %s, isolated by %.36s", dir_name(dir),
			 p->e && atomic_load_explicit(&p->e->pol_stamp, memory_order_relaxed)
				 ? "flow no longer allowed" : "no rule allows",
			 by < d->n_policies ? d->names[by] : "?");
		if (p->e) {
			/* An established flow cut: close it (it ages out), reset a TCP sender. */
			atomic_store_explicit(&p->e->state, SL_CT_CLOSED, memory_order_relaxed);
			atomic_store_explicit(&p->e->last_tsc, now, memory_order_relaxed);
			const struct rte_ipv4_hdr *ip =
				rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
			/* Only for untranslated flows: a RST from a backend's address would not
			 * reach a client that talks to a frontend. */
			bool plain = p->e->rev.src == p->e->fwd.dst &&
				     p->e->rev.sport == p->e->fwd.dport && !sl_ct_snat(p->e);
			if (plain && p->tuple.proto == IPPROTO_TCP &&
			    !(p->tcp_flags & RTE_TCP_RST_FLAG) &&
			    rte_pktmbuf_data_len(m) >= rte_be_to_cpu_16(ip->total_length) &&
			    rte_ipv4_hdr_len(ip) + sizeof(struct rte_tcp_hdr) <=
				    rte_be_to_cpu_16(ip->total_length))
				return EDGE_TCP_RESET;
		}
		return dir == SL_POL_INGRESS ? EDGE_DROP_POLICY_DENIED_INGRESS
					     : EDGE_DROP_POLICY_DENIED_EGRESS;
	}
	bool counted = !p->e;
	if (p->e) {
		atomic_store_explicit(&p->e->pol_stamp, d->stamp, memory_order_relaxed);
	} else if (p->stateful && p->need) {
		p->e = sl_ct_create_policy(&p->tuple, p->tcp_flags, now, d->stamp);
		if (unlikely(!p->e)) {
			SL_TRACE(node, m, "new flow of an isolated pod: conntrack full");
			return EDGE_DROP_POLICY_CT_FULL;
		}
	}
	uint32_t pol[SL_POL_NDIRS] = { SL_POL_NONE, SL_POL_NONE };
	for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++) {
		if (!(p->need & (1u << dir)))
			continue;
		pol[dir] = d->rule_policy[dir][res[dir] - 1];
		if (counted && (dir == 0 || pol[dir] != pol[0]))
			cnt[pol[dir]].allowed++;
	}
	if (unlikely(sl_priv(m)->flags & SL_F_TRACED)) {
		char buf[SL_POL_NDIRS][48];
		for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++) {
			if (pol[dir] == SL_POL_NONE)
				snprintf(buf[dir], sizeof(buf[dir]), "-");
			else
				snprintf(buf[dir], sizeof(buf[dir]), "%.24s#%u", d->names[pol[dir]],
					 d->rule_index[dir][res[dir] - 1]);
		}
		sl_trace_add(node, m, "allow%s: egress %s ingress %s", counted ? " new" : "",
			     buf[SL_POL_EGRESS], buf[SL_POL_INGRESS]);
	}
	return EDGE_LOOKUP;
}

static uint16_t ip4_policy_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				 uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	struct pol_pkt pk[RTE_GRAPH_BURST_SIZE];
	struct sl_ct_key keys[RTE_GRAPH_BURST_SIZE];
	void *data[RTE_GRAPH_BURST_SIZE];
	uint16_t idx[RTE_GRAPH_BURST_SIZE];
	struct sl_pol_key pkeys[SL_POL_NDIRS][RTE_GRAPH_BURST_SIZE];
	const struct sl_pol_key *pkp[SL_POL_NDIRS][RTE_GRAPH_BURST_SIZE];
	uint32_t res[SL_POL_NDIRS][RTE_GRAPH_BURST_SIZE];
	uint16_t nk[SL_POL_NDIRS] = { 0, 0 }, todo[RTE_GRAPH_BURST_SIZE];
	uint16_t n = 0, nt = 0;
	uint64_t now = rte_rdtsc();
	const struct sl_pol_dp *d = atomic_load_explicit(&sl_pol.cur, memory_order_acquire);

	/* Gather: parse, and the turned-around tuples of tracked packets. */
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = EDGE_LOOKUP;
		if (!d || !ip4_policy_parse(objs[i], &pk[i])) {
			pk[i].need = 0;
			pk[i].stateful = false;
			pk[i].e = NULL;
			SL_TRACE(node, (struct rte_mbuf *)objs[i], "not filtered");
			continue;
		}
		todo[nt++] = i;
		if (pk[i].stateful && sl_ct.hash) {
			const struct sl_ct_key *t = &pk[i].tuple;
			keys[n] = (struct sl_ct_key){ .src = t->dst, .dst = t->src, .sport = t->dport,
						      .dport = t->sport, .proto = t->proto };
			idx[n++] = i;
		}
	}
	/* Conntrack, a bulk lookup. */
	for (uint16_t off = 0; off < n; off += RTE_HASH_LOOKUP_BULK_MAX) {
		unsigned cnt = RTE_MIN(n - off, RTE_HASH_LOOKUP_BULK_MAX);
		const void *kp[RTE_HASH_LOOKUP_BULK_MAX];
		uint64_t hits = 0;
		for (unsigned j = 0; j < cnt; j++)
			kp[j] = &keys[off + j];
		rte_hash_lookup_bulk_data(sl_ct.hash, kp, cnt, &hits, data + off);
		for (unsigned j = 0; j < cnt; j++) {
			struct pol_pkt *p = &pk[idx[off + j]];
			if (!(hits & (1ULL << j)))
				continue;
			uintptr_t v = (uintptr_t)data[off + j];
			p->e = (struct sl_ct_entry *)(v & ~(uintptr_t)1);
			p->orig = (v & 1) == SL_CT_REV; /* its reverse key: the originator's way */
		}
	}
	/* Decide who needs classifying; established flows under this generation pass. */
	uint16_t nc = 0;
	for (uint16_t j = 0; j < nt; j++) {
		uint16_t i = todo[j];
		struct pol_pkt *p = &pk[i];
		struct rte_mbuf *m = objs[i];
		if (p->e) {
			if (p->e->policy_only)
				sl_ct_update(p->e, p->orig ? SL_CT_FWD : SL_CT_REV, p->tcp_flags, now);
			uint32_t st = atomic_load_explicit(&p->e->pol_stamp, memory_order_relaxed);
			if (st == d->stamp) {
				SL_TRACE(node, m, "established, allowed under generation %u", st);
				continue;
			}
		}
		if (!p->e && p->stateful)
			ip4_policy_orient(p);
		p->need = ip4_policy_need(d, p, m);
		if (!p->need) {
			if (p->e) {
				atomic_store_explicit(&p->e->pol_stamp, d->stamp,
						      memory_order_relaxed);
			} else if (p->stateful && ip4_policy_replies_checked(d, p)) {
				/* Tracked so its replies pass; a full table costs the replies
				 * only (dropped as new flows), not this packet. */
				p->e = sl_ct_create_policy(&p->tuple, p->tcp_flags, now, d->stamp);
				SL_TRACE(node, m, "not filtered; tracked for its replies%s",
					 p->e ? "" : ": conntrack full");
				continue;
			}
			SL_TRACE(node, m, "no isolated pod: not filtered");
			continue;
		}
		for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++) {
			if (!(p->need & (1u << dir)))
				continue;
			uint16_t k = nk[dir]++;
			ip4_policy_key(p, dir, &pkeys[dir][k]);
			pkp[dir][k] = &pkeys[dir][k];
			p->pos[dir] = k;
		}
		todo[nc++] = i;
	}
	/* Classify: one rte_acl call per direction for the whole burst. */
	for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++)
		if (nk[dir])
			sl_pol_classify(d, dir, pkp[dir], res[dir], nk[dir]);
	for (uint16_t j = 0; j < nc; j++) {
		uint16_t i = todo[j];
		struct pol_pkt *p = &pk[i];
		uint32_t r[SL_POL_NDIRS];
		for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++)
			r[dir] = p->need & (1u << dir) ? res[dir][p->pos[dir]] : 0;
		next[i] = ip4_policy_one(node, objs[i], d, p, r, now);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(ip4_policy_process, ip4_policy_chunk)

static struct rte_node_register ip4_policy_node = {
	.name = "ip4-policy",
	.process = ip4_policy_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(IP4_POLICY_EDGES) },
};
RTE_NODE_REGISTER(ip4_policy_node);
