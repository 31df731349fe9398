/* Flows, the frames built for them, the checks on what the graph sent, and the recycling
 * that puts every frame back on its receive ring (see gb.h).
 *
 * Frame layouts (byte offsets):
 *   pod frame, 64 bytes:   Ethernet 0 | IPv4 14 (checksum 24) | UDP 34 | payload 42..63
 *   VXLAN frame, 114 bytes: outer Ethernet 0 | outer IPv4 14 (checksum 24) | UDP 34 (source
 *                           port 34) | VXLAN 42 | inner Ethernet 50 | inner IPv4 64 (checksum
 *                           74) | UDP 84 | payload 92..113
 * Encap flows enter as pod frames and leave as VXLAN frames; decap flows the other way. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_memcpy.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dataplane/lb/lb_table.h"
#include "gb.h"

#define VXLAN_FLAG_I 0x08000000u /* RFC 7348 5: the I flag; the other bits are reserved */
#define INNER_DPORT 5001
#define OUT_IP 14                /* offset of the (outer) IPv4 header */
#define OUT_CKSUM 24
#define OUT_SPORT 34
#define ENC_INNER_IP 64
#define ENC_INNER_CKSUM 74

static struct gb_flow *flows;
static unsigned n_flows;
static enum gb_dir dir;
static bool new_flows;
#define POD_SPORT 34             /* the pod frame's UDP source port */
#define ENC_INNER_SPORT 84       /* the same port inside the VXLAN frame */
static int flow_off = -1; /* dynamic mbuf field: the index of the frame's flow */

static inline uint32_t *flow_of(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, flow_off, uint32_t *);
}

/* Writers for the frames. Each returns the byte after what it wrote. */
static uint8_t *put_eth(uint8_t *b, const struct rte_ether_addr *dst,
			const struct rte_ether_addr *src)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	eth->dst_addr = *dst;
	eth->src_addr = *src;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	return b + sizeof(*eth);
}

static uint8_t *put_ip4(uint8_t *b, uint32_t src, uint32_t dst, uint16_t len, uint8_t ttl,
			bool df)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)b;
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = htons(len),
		.fragment_offset = df ? RTE_BE16(RTE_IPV4_HDR_DF_FLAG) : 0,
		.time_to_live = ttl,
		.next_proto_id = IPPROTO_UDP,
		.src_addr = src,
		.dst_addr = dst,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip); /* computed whole, not incrementally */
	return b + sizeof(*ip);
}

static uint8_t *put_udp(uint8_t *b, uint16_t sport, uint16_t dport, uint16_t len)
{
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)b;
	*udp = (struct rte_udp_hdr){ .src_port = htons(sport), .dst_port = htons(dport),
				     .dgram_len = htons(len), .dgram_cksum = 0 };
	return b + sizeof(*udp);
}

static uint8_t *put_vxlan(uint8_t *b, const struct gb_args *a)
{
	struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)b;
	vx->vx_flags = htonl(VXLAN_FLAG_I);
	vx->vx_vni = htonl(((sl_dp.conf.vni + a->wrong_vni) & 0xffffff) << 8);
	return b + sizeof(*vx);
}

/* The pod-side part of flow i: inner IPv4 + UDP + payload, with the given TTL. */
static uint8_t *put_inner(uint8_t *b, unsigned i, uint32_t src, uint32_t dst, uint8_t ttl)
{
	unsigned payload = GB_FRAME_LEN - 42;
	b = put_ip4(b, src, dst, (uint16_t)(20 + 8 + payload), ttl, false);
	b = put_udp(b, (uint16_t)(GB_SPORT_BASE + i), INNER_DPORT, (uint16_t)(8 + payload));
	for (unsigned k = 0; k < payload; k++)
		*b++ = (uint8_t)(i + k); /* payload pattern: each flow its own */
	return b;
}

/* Pod -> remote pod. */
static void build_encap(struct gb_flow *f, unsigned i, const struct gb_args *a)
{
	unsigned pod = i % a->pods, remote = (i / a->pods) % a->remotes;
	unsigned host = i / (a->pods * a->remotes);
	if (a->services && a->svc_per_remote)
		host %= a->svc_per_remote; /* flows differ by source port only */
	uint32_t src = gb_pod_ip(pod), dst = gb_remote_pod_ip(remote, host);
	struct rte_ether_addr pod_mac, rmac;
	gb_pod_mac(pod, &pod_mac);
	gb_remote_mac(remote, &rmac);

	uint32_t to = dst;
	if (a->services) {
		/* The Service VIP:5001/udp whose one backend is dst:5001. */
		unsigned idx = host * a->remotes + remote;
		to = htonl(0x0a600001 + idx);
		struct sl_lb_frontend fe = { .vip = to, .port = htons(INNER_DPORT),
					     .proto = IPPROTO_UDP };
		struct sl_lb_backend be = { .ip = dst, .port = htons(INNER_DPORT) };
		struct sl_lb_service_opts o = { .affinity_s = a->affinity ? 10800 : 0 };
		if (!sl_lb_service_find(&fe))
			sl_lb_service_set_opts(&fe, &be, 1, &o);
	}
	uint8_t *b = put_eth(f->in, &sl_dp.conf.gw_mac, &pod_mac);
	f->in_len = (uint16_t)(put_inner(b, i, src, to, 64) - f->in);

	uint16_t inner_ip = GB_FRAME_LEN - 14;
	b = put_eth(f->out, &rmac, &gb_uplink_mac);
	b = put_ip4(b, sl_dp.conf.node_ip, gb_remote_vtep(remote),
		    (uint16_t)(20 + 8 + 8 + 14 + inner_ip), 64, true);
	b = put_udp(b, 0, sl_dp.conf.vxlan_port, (uint16_t)(8 + 8 + 14 + inner_ip));
	b = put_vxlan(b, a);
	b = put_eth(b, &rmac, &gb_uplink_mac); /* sluiced: neighbour MAC, uplink MAC */
	f->out_len = (uint16_t)(put_inner(b, i, src, dst, 63) - f->out);

	f->out_port = GB_PORT_UPLINK;
	f->worker = pod % sl_dp.n_workers;
	f->slot = (uint16_t)(1 + pod / sl_dp.n_workers); /* the uplink queue is slot 0 */
}

/* Remote pod -> pod. */
static void build_decap(struct gb_flow *f, unsigned i, const struct gb_args *a)
{
	unsigned remote = i % a->remotes, pod = (i / a->remotes) % a->pods;
	unsigned host = i / (a->pods * a->remotes);
	uint32_t src = gb_remote_pod_ip(remote, host), dst = gb_pod_ip(pod);
	struct rte_ether_addr pod_mac, rmac;
	gb_pod_mac(pod, &pod_mac);
	gb_remote_mac(remote, &rmac);

	uint16_t inner_ip = GB_FRAME_LEN - 14;
	uint8_t *b = put_eth(f->in, &gb_uplink_mac, &rmac);
	b = put_ip4(b, gb_remote_vtep(remote), sl_dp.conf.node_ip,
		    (uint16_t)(20 + 8 + 8 + 14 + inner_ip), 64, true);
	/* RFC 7348 5: the sender's source port comes from the inner flow. */
	b = put_udp(b, (uint16_t)(49152 + (i & 0x3fff)), sl_dp.conf.vxlan_port,
		    (uint16_t)(8 + 8 + 14 + inner_ip));
	b = put_vxlan(b, a);
	b = put_eth(b, &sl_dp.conf.gw_mac, &rmac);
	f->in_len = (uint16_t)(put_inner(b, i, src, dst, 64) - f->in);

	b = put_eth(f->out, &pod_mac, &sl_dp.conf.gw_mac);
	f->out_len = (uint16_t)(put_inner(b, i, src, dst, 63) - f->out);

	f->out_port = (uint16_t)(GB_PORT_POD0 + pod);
	f->worker = i % sl_dp.n_workers; /* as RSS spreads flows over the uplink's queues */
	f->slot = 0;
}

int gb_services_fill(const struct gb_args *a)
{
	int added = 0;
	for (uint32_t k = 0; a->services && sl_lb.n_services < a->svc_table; k++) {
		if (k >= (1u << 20))
			return -ENOSPC;
		struct sl_lb_frontend fe = { .vip = htonl(0x0a700000u + k),
					     .port = htons(INNER_DPORT), .proto = IPPROTO_UDP };
		struct sl_lb_backend be[10];
		for (unsigned b = 0; b < RTE_DIM(be); b++)
			be[b] = (struct sl_lb_backend){ .ip = htonl(0x0af50000u + (k % 250) * 256 + b + 2),
							.port = htons(INNER_DPORT) };
		int rc = sl_lb_service_set(&fe, be, RTE_DIM(be), 0);
		if (rc < 0)
			return rc;
		added++;
	}
	return added;
}

/* Put flow f's input frame into m as a receive queue would hand it over. */
static inline void restore(struct rte_mbuf *m, const struct gb_flow *f)
{
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = f->in_len;
	m->pkt_len = f->in_len;
	m->ol_flags = 0;
	m->packet_type = 0;
	rte_memcpy(rte_pktmbuf_mtod(m, void *), f->in, f->in_len);
}

/* With new_flows: give the frame just restored for flow f a source port its flow has not
 * used for the last 65,535 frames, so conntrack has no entry for it (the UDP checksum is 0
 * and the IPv4 one does not cover ports: nothing else changes). By f's worker only. */
static inline void new_tuple(struct rte_mbuf *m, struct gb_flow *f)
{
	if (!new_flows)
		return;
	if (++f->gen == 0)
		f->gen = 1;
	uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
	b[POD_SPORT] = (uint8_t)(f->gen >> 8);
	b[POD_SPORT + 1] = (uint8_t)f->gen;
}

static bool ip4_cksum_ok(const uint8_t *ip)
{
	return rte_raw_cksum(ip, sizeof(struct rte_ipv4_hdr)) == 0xffff;
}

static bool same(const uint8_t *got, const uint8_t *want, unsigned from, unsigned to)
{
	return !memcmp(got + from, want + from, to - from);
}

/* Every byte of what came out against the expected frame: NULL, or what is wrong. The IPv4
 * checksums are checked for validity (sluiced updates the inner one incrementally, RFC 1624,
 * which may differ from a fresh sum in the sign of zero); the encap's outer UDP source port
 * must be in the dynamic range and the same for every frame of the flow (RFC 7348 5). */
static const char *check(struct gb_flow *f, struct rte_mbuf *m)
{
	if (m->nb_segs != 1 || rte_pktmbuf_data_len(m) != f->out_len)
		return "length or segments";
	const uint8_t *b = rte_pktmbuf_mtod(m, const uint8_t *);
	if (!same(b, f->out, 0, OUT_CKSUM))
		return dir == GB_ENCAP ? "outer Ethernet or IPv4 header" : "Ethernet or IPv4 header";
	if (!ip4_cksum_ok(b + OUT_IP))
		return "IPv4 checksum";
	if (dir == GB_DECAP)
		return same(b, f->out, OUT_CKSUM + 2, f->out_len) ? NULL
								  : "IPv4 addresses, UDP or payload";
	if (!same(b, f->out, OUT_CKSUM + 2, OUT_SPORT))
		return "outer IPv4 addresses";
	uint16_t sport = (uint16_t)(b[OUT_SPORT] << 8 | b[OUT_SPORT + 1]);
	if (sport < 49152)
		return "outer UDP source port below 49152";
	if (!f->sport_seen || new_flows) /* new_flows: every frame its own flow */
		f->sport_seen = sport;
	else if (sport != f->sport_seen)
		return "outer UDP source port changed within a flow";
	if (!same(b, f->out, OUT_SPORT + 2, ENC_INNER_CKSUM))
		return "outer UDP, VXLAN, inner Ethernet or inner IPv4 header";
	if (!ip4_cksum_ok(b + ENC_INNER_IP))
		return "inner IPv4 checksum";
	if (new_flows) /* the source port is the frame's own (new_tuple), the rest the flow's */
		return same(b, f->out, ENC_INNER_CKSUM + 2, ENC_INNER_SPORT) &&
			       same(b, f->out, ENC_INNER_SPORT + 2, f->out_len)
			       ? NULL : "inner addresses, UDP or payload";
	return same(b, f->out, ENC_INNER_CKSUM + 2, f->out_len) ? NULL
								: "inner addresses, UDP or payload";
}

static void bad(struct gb_worker *g, struct rte_mbuf *m, uint16_t port, const char *why)
{
	if (!g->bad++)
		snprintf(g->first_bad, sizeof(g->first_bad), "worker %u, port %u, %u bytes: %s",
			 g->w->id, port, rte_pktmbuf_pkt_len(m), why);
}

/* Frames until the next full check: uniform in 1 .. 2 * verify_every - 1 (mean
 * verify_every); 1 when every frame is to be checked. */
static inline unsigned next_gap(struct gb_worker *g)
{
	if (g->verify_every == 1)
		return 1;
	g->rng ^= g->rng << 13; /* xorshift32 (Marsaglia 2003) */
	g->rng ^= g->rng >> 17;
	g->rng ^= g->rng << 5;
	return 1 + g->rng % (2 * g->verify_every - 1);
}

void gb_recycle(struct gb_worker *g)
{
	struct rte_mbuf *pkts[GB_BURST];
	for (unsigned t = 0; t < g->n_tx; t++) {
		unsigned n;
		while ((n = rte_ring_sc_dequeue_burst(g->tx[t].ring, (void **)pkts, GB_BURST,
						      NULL)) > 0) {
			uint16_t back_n[GB_MAX_PODS + 1] = {0};
			g->sink += n;
			for (unsigned i = 0; i < n; i++) {
				struct rte_mbuf *m = pkts[i];
				uint32_t fi = *flow_of(m);
				if (unlikely(fi >= n_flows)) {
					bad(g, m, g->tx[t].port, "not a frame of this bench");
					rte_pktmbuf_free(m);
					continue;
				}
				struct gb_flow *f = &flows[fi];
				/* Cheap checks on every frame: right port, right length. */
				if (unlikely(f->out_port != g->tx[t].port ||
					     rte_pktmbuf_pkt_len(m) != f->out_len))
					bad(g, m, g->tx[t].port, "wrong port or length");
				else if (unlikely(--g->verify_left == 0)) {
					g->verify_left = next_gap(g);
					const char *why = check(f, m);
					g->verified++;
					if (!f->checked)
						f->checked = true;
					if (unlikely(why))
						bad(g, m, g->tx[t].port, why);
					else if (g->n_samples < GB_SAMPLES) {
						struct gb_sample *s = &g->samples[g->n_samples++];
						s->len = f->out_len;
						memcpy(s->data, rte_pktmbuf_mtod(m, void *), f->out_len);
					}
				}
				*flow_of(m) = f->next;
				restore(m, &flows[f->next]);
				new_tuple(m, &flows[f->next]);
				g->back[f->slot][back_n[f->slot]++] = m;
			}
			for (unsigned s = 0; s < g->n_rx; s++) {
				if (!back_n[s])
					continue;
				unsigned k = rte_ring_sp_enqueue_burst(g->rx[s], (void **)g->back[s],
								       back_n[s], NULL);
				if (unlikely(k < back_n[s])) {
					g->ring_full += back_n[s] - k;
					rte_pktmbuf_free_bulk(g->back[s] + k, back_n[s] - k);
				}
			}
		}
	}
}

int gb_flows_setup(const struct gb_args *a, struct gb_worker *gbw, struct gb_flow **ret)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = "sl_graph_bench_flow",
		.size = sizeof(uint32_t),
		.align = __alignof__(uint32_t),
	};
	flow_off = rte_mbuf_dynfield_register(&desc);
	if (flow_off < 0)
		return -rte_errno;
	flows = rte_zmalloc("slg_flows", a->flows * sizeof(*flows), RTE_CACHE_LINE_SIZE);
	if (!flows)
		return -ENOMEM;
	n_flows = a->flows;
	dir = a->dir;
	new_flows = a->new_flows;
	for (unsigned i = 0; i < a->flows; i++) {
		(a->dir == GB_ENCAP ? build_encap : build_decap)(&flows[i], i, a);
		flows[i].gen = (uint16_t)(GB_SPORT_BASE + i);
	}

	/* Chain the flows of each receive ring in a circle (gb_flow.next). */
	static int32_t first[SL_MAX_WORKERS][GB_MAX_PODS + 1], last[SL_MAX_WORKERS][GB_MAX_PODS + 1];
	memset(first, -1, sizeof(first));
	memset(last, -1, sizeof(last));
	for (unsigned i = 0; i < a->flows; i++) {
		unsigned w = flows[i].worker, s = flows[i].slot;
		if (first[w][s] < 0)
			first[w][s] = (int32_t)i;
		else
			flows[last[w][s]].next = i;
		last[w][s] = (int32_t)i;
	}
	/* Each receive ring gets a->inflight frames of consecutive flows of its circle. */
	int injected = 0;
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		struct gb_worker *g = &gbw[w];
		g->rng = 0x9e3779b9u * (w + 1);
		g->verify_left = next_gap(g);
		for (unsigned s = 0; s < g->n_rx; s++) {
			if (first[w][s] < 0)
				continue; /* no flow enters here */
			flows[last[w][s]].next = (uint32_t)first[w][s];
			uint32_t fi = (uint32_t)first[w][s];
			for (unsigned k = 0; k < a->inflight; k++) {
				struct rte_mbuf *m = rte_pktmbuf_alloc(sl_dp.pool);
				if (!m)
					return -ENOMEM;
				restore(m, &flows[fi]);
				new_tuple(m, &flows[fi]);
				*flow_of(m) = fi;
				if (rte_ring_sp_enqueue(g->rx[s], m) < 0) {
					rte_pktmbuf_free(m);
					return -ENOSPC;
				}
				injected++;
				fi = flows[fi].next;
			}
		}
	}
	*ret = flows;
	return injected;
}

int gb_write_pcap(const char *path, const struct gb_worker *gbw, unsigned n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	/* libpcap file format: magic, version 2.4, GMT, accuracy, snaplen, LINKTYPE_ETHERNET. */
	const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	fwrite(hdr, sizeof(hdr), 1, f);
	struct timeval now;
	gettimeofday(&now, NULL);
	for (unsigned w = 0; w < n; w++) {
		for (unsigned i = 0; i < gbw[w].n_samples; i++) {
			const struct gb_sample *s = &gbw[w].samples[i];
			uint32_t rec[4] = { (uint32_t)now.tv_sec, (uint32_t)now.tv_usec, s->len,
					    s->len };
			fwrite(rec, sizeof(rec), 1, f);
			fwrite(s->data, s->len, 1, f);
		}
	}
	return fclose(f) ? -errno : 0;
}
