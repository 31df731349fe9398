/* guest-offload tests: frames carrying the offload flags rte_vhost sets for a virtio guest
 * (partial checksum, TSO with an MSS, several segments) go into a port; every segment or
 * completed frame that comes out is checked field by field. Topology: see harness.h. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/offload/l4_csum.h"
#include "harness.h"
#include "pktbuild.h"

#define L3 RTE_ETHER_HDR_LEN
#define L4 (L3 + (int)sizeof(struct rte_ipv4_hdr))
#define HDRS (unsigned)(L4 + sizeof(struct rte_tcp_hdr))

static struct rte_mbuf *out[16];

static struct pb_ip4 tcp_from_pod_a(const char *dst, uint16_t payload, uint8_t flags)
{
	return (struct pb_ip4){ .src_mac = th_pod_a_mac, .dst_mac = th_gw_mac,
				.src = "10.244.1.2", .dst = dst, .ttl = 64, .df = true,
				.proto = IPPROTO_TCP, .sport = 40000, .dport = 5201,
				.payload = payload, .seq = 1000, .tcp_flags = flags };
}

/* Re-chain m into segments of at most piece bytes (as rte_vhost delivers a large frame). */
static struct rte_mbuf *rechain(struct rte_mbuf *m, uint16_t piece)
{
	struct rte_mbuf *head = NULL;
	for (uint32_t off = 0; off < rte_pktmbuf_pkt_len(m); off += piece) {
		uint16_t len = (uint16_t)RTE_MIN((uint32_t)piece, rte_pktmbuf_pkt_len(m) - off);
		struct rte_mbuf *s = rte_pktmbuf_alloc(sl_dp.pool);
		memcpy(rte_pktmbuf_append(s, len), rte_pktmbuf_mtod_offset(m, void *, off), len);
		if (!head)
			head = s;
		else
			assert_int_equal(rte_pktmbuf_chain(head, s), 0);
	}
	rte_pktmbuf_free(m);
	return head;
}

/* A TSO frame as a guest sends it: full-length IP header, pseudo-header TCP sum only;
 * headers from p (its payload is ignored). */
static struct rte_mbuf *tso_frame_of(const struct pb_ip4 *p, uint16_t payload, uint16_t mss,
				     uint16_t piece)
{
	struct pb_ip4 h = *p;
	h.payload = 0;
	struct rte_mbuf *hdr = pb_ip4(sl_dp.pool, &h);
	/* pb_ip4 builds at most one mbuf: build the payload here, then cut in pieces. */
	static uint8_t frame[16384];
	memcpy(frame, rte_pktmbuf_mtod(hdr, void *), HDRS);
	for (unsigned k = 0; k < payload; k++)
		frame[HDRS + k] = (uint8_t)k;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + L3);
	ip->total_length = htons((uint16_t)(HDRS - L3 + payload));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(frame + L4);
	tcp->cksum = rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG);
	rte_pktmbuf_free(hdr);

	struct rte_mbuf *head = NULL;
	for (unsigned off = 0; off < HDRS + payload; off += piece) {
		uint16_t len = (uint16_t)RTE_MIN((unsigned)piece, HDRS + payload - off);
		struct rte_mbuf *s = rte_pktmbuf_alloc(sl_dp.pool);
		memcpy(rte_pktmbuf_append(s, len), frame + off, len);
		if (!head)
			head = s;
		else
			assert_int_equal(rte_pktmbuf_chain(head, s), 0);
	}
	head->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	head->tso_segsz = mss;
	return head;
}

/* A TSO frame from pod A. */
static struct rte_mbuf *tso_frame(const char *dst, uint16_t payload, uint16_t mss,
				  uint8_t flags, uint16_t piece)
{
	struct pb_ip4 p = tcp_from_pod_a(dst, 0, flags);
	return tso_frame_of(&p, payload, mss, piece);
}

/* A 3500-byte TSO frame in three mbufs becomes four segments: MSS-sized but the last, each
 * with its own IPv4 length, id and checksum, TCP sequence, flags and checksum. */
static void test_tso_segments(void **s)
{
	th_reset();
	uint8_t flags = RTE_TCP_CWR_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG;
	struct rte_mbuf *m = tso_frame("10.244.1.3", 3500, 1000, flags, 1200);
	assert_int_equal(m->nb_segs, 3);
	unsigned n = th_run(TH_POD_A, m, TH_POD_B, out, 16);
	assert_int_equal(n, 4);
	for (unsigned i = 0; i < n; i++) {
		uint16_t len = i < 3 ? 1000 : 500;
		assert_int_equal(out[i]->nb_segs, 1);
		assert_int_equal(rte_pktmbuf_pkt_len(out[i]), HDRS + len);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(out[i], void *, L3);
		struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(out[i], void *, L4);
		assert_int_equal(ntohs(ip->total_length), HDRS - L3 + len);
		assert_int_equal(ntohs(ip->packet_id), 0x1234 + i);
		assert_int_equal(ip->time_to_live, 63);
		assert_true(pb_ip4_cksum_ok(ip));
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, tcp), 0);
		assert_int_equal(ntohl(tcp->sent_seq), 1000 + i * 1000);
		uint8_t want = RTE_TCP_ACK_FLAG | (i == 0 ? RTE_TCP_CWR_FLAG : 0) |
			       (i == 3 ? RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG : 0);
		assert_int_equal(tcp->tcp_flags, want);
		const uint8_t *pl = rte_pktmbuf_mtod_offset(out[i], uint8_t *, HDRS);
		for (unsigned k = 0; k < len; k++)
			if (pl[k] != (uint8_t)(i * 1000 + k))
				fail_msg("segment %u byte %u: %u", i, k, pl[k]);
	}
	rte_pktmbuf_free_bulk(out, n);
}

/* One receive burst of TSO frames becomes more segments than a graph burst (256): every
 * node downstream must take them all. 16 frames x 17 segments = 272. */
static void test_tso_many_segments(void **s)
{
	th_reset();
	for (unsigned i = 0; i < 16; i++)
		th_inject(TH_POD_A, tso_frame("10.244.1.3", 17 * 536, 536, RTE_TCP_ACK_FLAG, 2000));
	static struct rte_mbuf *segs[512];
	unsigned n = th_run(TH_POD_A, NULL, TH_POD_B, segs, 512);
	assert_int_equal(n, 272);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(rte_pktmbuf_pkt_len(segs[i]), HDRS + 536);
	rte_pktmbuf_free_bulk(segs, n);
}

/* MIN_MSS is 536 (RFC 879): a smaller MSS is refused, 536 is cut. */
static void test_tso_min_mss(void **s)
{
	th_reset();
	struct rte_mbuf *m = tso_frame("10.244.1.3", 3000, 535, RTE_TCP_ACK_FLAG, 2000);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	assert_int_equal(th_drops(SL_DROP_OFFLOAD_MALFORMED), 1);
	m = tso_frame("10.244.1.3", 3000, 536, RTE_TCP_ACK_FLAG, 2000);
	unsigned n = th_run(TH_POD_A, m, TH_POD_B, out, 16);
	assert_int_equal(n, 6);
	rte_pktmbuf_free_bulk(out, n);
}

#define SEGS_PER_FRAME 30
#define FRAME_PAYLOAD (SEGS_PER_FRAME * 536)

/* Receive everything each port sent into segs (max max); returns the count. */
static unsigned drain_all(struct rte_mbuf **segs, unsigned max)
{
	unsigned n = 0;
	for (unsigned p = 0; p < TH_PORTS; p++)
		n += th_run(p, NULL, p, segs + n, max - n);
	return n;
}

/* One port may have at most pool size / 8 segments made per walk (4095 / 8 = 511 in the
 * harness): of 20 frames of 30 segments, 17 are cut and 3 dropped. */
static void test_tso_port_budget(void **s)
{
	th_reset();
	for (unsigned i = 0; i < 20; i++)
		th_inject(TH_POD_A, tso_frame("10.244.1.3", FRAME_PAYLOAD, 536, RTE_TCP_ACK_FLAG,
					      2000));
	static struct rte_mbuf *segs[1024];
	unsigned n = th_run(TH_POD_A, NULL, TH_POD_B, segs, 1024);
	rte_pktmbuf_free_bulk(segs, n);
	assert_int_equal(n, 17 * SEGS_PER_FRAME);
	assert_int_equal(th_drops(SL_DROP_OFFLOAD_BURST_LIMIT), 3);
}

/* All ports together at most pool size / 4 (1023) per walk: pods A and B 17 frames each
 * (510 + 510) and one from the host port: one frame of the 35 is over. */
static void test_tso_walk_budget(void **s)
{
	th_reset();
	struct pb_ip4 b = tcp_from_pod_a("10.244.1.2", 0, RTE_TCP_ACK_FLAG);
	b.src = "10.244.1.3";
	b.src_mac = th_pod_b_mac;
	for (unsigned i = 0; i < 17; i++) {
		th_inject(TH_POD_A, tso_frame("10.244.1.3", FRAME_PAYLOAD, 536, RTE_TCP_ACK_FLAG,
					      2000));
		th_inject(TH_POD_B, tso_frame_of(&b, FRAME_PAYLOAD, 536, 2000));
	}
	th_inject(TH_HOST, tso_frame("10.244.1.3", FRAME_PAYLOAD, 536, RTE_TCP_ACK_FLAG, 2000));
	static struct rte_mbuf *segs[2048];
	unsigned n = drain_all(segs, 2048);
	rte_pktmbuf_free_bulk(segs, n);
	assert_int_equal(th_drops(SL_DROP_OFFLOAD_BURST_LIMIT), 1);
	assert_int_equal(n, 34 * SEGS_PER_FRAME);
}

/* A frame is not cut when fewer than pool size / 4 mbufs would stay free. */
static void test_tso_pool_reserve(void **s)
{
	th_reset();
	struct rte_mbuf *m = tso_frame("10.244.1.3", FRAME_PAYLOAD, 536, RTE_TCP_ACK_FLAG, 2000);
	unsigned reserve = sl_dp.pool->size / 4;
	unsigned held_n = rte_mempool_avail_count(sl_dp.pool) - (reserve + SEGS_PER_FRAME - 1);
	static struct rte_mbuf *held[4096];
	assert_int_equal(rte_pktmbuf_alloc_bulk(sl_dp.pool, held, held_n), 0);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	assert_int_equal(th_drops(SL_DROP_OFFLOAD_POOL_RESERVE), 1);
	rte_pktmbuf_free_bulk(held, held_n);
	/* With the pool back, the same frame is cut. */
	static struct rte_mbuf *segs[64];
	m = tso_frame("10.244.1.3", FRAME_PAYLOAD, 536, RTE_TCP_ACK_FLAG, 2000);
	unsigned n = th_run(TH_POD_A, m, TH_POD_B, segs, 64);
	rte_pktmbuf_free_bulk(segs, n);
	assert_int_equal(n, SEGS_PER_FRAME);
}

/* Segments of a TSO frame to a remote pod are each VXLAN-encapsulated. */
static void test_tso_to_remote_node(void **s)
{
	th_reset();
	struct rte_mbuf *m = tso_frame("10.244.2.7", 2800, 1400, RTE_TCP_ACK_FLAG, 2000);
	unsigned n = th_run(TH_POD_A, m, TH_UPLINK, out, 16);
	assert_int_equal(n, 2);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(rte_pktmbuf_pkt_len(out[i]), 50 + HDRS + 1400);
	rte_pktmbuf_free_bulk(out, n);
}

/* A whole TCP frame as an AF_XDP multi-buffer pod sends it (issue 13): full checksums, no
 * offload flags, in a chain of piece-byte mbufs. */
static struct rte_mbuf *whole_frame(const char *dst, uint16_t payload, uint16_t piece)
{
	struct rte_mbuf *m = tso_frame(dst, payload, 1000, RTE_TCP_ACK_FLAG, 16384);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, L3);
	struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(m, void *, L4);
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	m->ol_flags = 0;
	m->tso_segsz = 0;
	return rechain(m, piece);
}

/* Issue 13: a pod port that receives whole chains (AF_XDP multi-buffer). A chain within the
 * MTU goes to a pod on this node whole; a TCP packet above the tunnel MTU is cut once, after
 * the lookup, by ip4-segment to the VXLAN MTU (1450: MSS 1410), each segment a valid TCP
 * segment carrying its part of the payload. */
static void test_xsk_whole_chains(void **s)
{
	struct sl_port *pa = sl_port_get(TH_POD_A);
	pa->whole_chains = true;
	th_reset();
	struct rte_mbuf *m = whole_frame("10.244.1.3", 1400, 700);
	assert_int_equal(m->nb_segs, 3);
	unsigned n = th_run(TH_POD_A, m, TH_POD_B, out, 16);
	assert_int_equal(n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(out[0]), HDRS + 1400);
	rte_pktmbuf_free_bulk(out, n);

	th_reset();
	m = whole_frame("10.244.2.7", 3000, 1000);
	n = th_run(TH_POD_A, m, TH_UPLINK, out, 16);
	assert_int_equal(n, 3); /* 1410 + 1410 + 180 */
	for (unsigned i = 0; i < n; i++) {
		uint16_t len = i < 2 ? 1410 : 180;
		assert_int_equal(rte_pktmbuf_pkt_len(out[i]), 50 + HDRS + len);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(out[i], void *, 50 + L3);
		struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(out[i], void *, 50 + L4);
		assert_int_equal(ntohs(ip->total_length), HDRS - L3 + len);
		assert_int_equal(ip->time_to_live, 63);
		assert_true(pb_ip4_cksum_ok(ip));
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, tcp), 0);
		assert_int_equal(ntohl(tcp->sent_seq), 1000 + i * 1410);
		const uint8_t *pl = rte_pktmbuf_mtod_offset(out[i], uint8_t *, 50 + HDRS);
		for (unsigned k = 0; k < len; k++)
			if (pl[k] != (uint8_t)(i * 1410 + k))
				fail_msg("segment %u byte %u: %u", i, k, pl[k]);
	}
	rte_pktmbuf_free_bulk(out, n);
	pa->whole_chains = false;
}

/* A chain whose IPv4 total length ends before its last segment (bytes after the packet
 * spanning more than that segment, as a tap or AF_XDP pod can send) leaves cut to the
 * packet: 1454 bytes in 700 + 700 + 54, total length 200 short -> 1254 bytes. */
static void test_chain_trimmed_to_ip_length(void **s)
{
	struct sl_port *pa = sl_port_get(TH_POD_A);
	pa->whole_chains = true;
	th_reset();
	struct rte_mbuf *m = whole_frame("10.244.1.3", 1400, 700);
	assert_int_equal(m->nb_segs, 3);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, L3);
	ip->total_length = htons((uint16_t)(HDRS - L3 + 1200));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	unsigned n = th_run(TH_POD_A, m, TH_POD_B, out, 16);
	assert_int_equal(n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(out[0]), HDRS + 1200);
	unsigned segs = 0, bytes = 0;
	for (struct rte_mbuf *x = out[0]; x; x = x->next)
		segs++, bytes += x->data_len;
	assert_int_equal(bytes, HDRS + 1200);
	assert_int_equal(out[0]->nb_segs, segs);
	rte_pktmbuf_free_bulk(out, n);
	pa->whole_chains = false;
}

/* A partial checksum (pseudo-header sum only) is completed, for UDP and for TCP. */
static void test_partial_checksum(void **s)
{
	uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };
	for (unsigned t = 0; t < 2; t++) {
		th_reset();
		struct pb_ip4 p = tcp_from_pod_a("10.244.1.3", 300, RTE_TCP_ACK_FLAG);
		p.proto = protos[t];
		struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, L3);
		uint16_t *ck = rte_pktmbuf_mtod_offset(
			m, uint16_t *, L4 + (protos[t] == IPPROTO_TCP ? 16 : 6));
		*ck = rte_ipv4_phdr_cksum(ip, 0);
		m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
		unsigned n = th_run(TH_POD_A, m, TH_POD_B, out, 16);
		assert_int_equal(n, 1);
		ip = rte_pktmbuf_mtod_offset(out[0], void *, L3);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, (uint8_t *)ip + 20), 0);
		assert_int_not_equal(*rte_pktmbuf_mtod_offset(
			out[0], uint16_t *, L4 + (protos[t] == IPPROTO_TCP ? 16 : 6)), 0);
		rte_pktmbuf_free_bulk(out, n);
	}
}

/* Issue 13, af_xdp.mode "skb": a pod keeping its checksum offload hands sluice TCP and UDP
 * frames whose L4 checksum holds the pseudo-header sum only, without any flag saying so.
 * port-rx completes every one (a single mbuf or a chain) before forwarding. */
static void test_skb_mode_checksums(void **s)
{
	struct sl_port *pa = sl_port_get(TH_POD_A);
	pa->whole_chains = pa->csum_partial = true;
	uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };
	for (unsigned t = 0; t < 4; t++) {
		th_reset();
		struct pb_ip4 p = tcp_from_pod_a("10.244.1.3", 1400, RTE_TCP_ACK_FLAG);
		p.proto = protos[t % 2];
		struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, L3);
		unsigned field = L4 + (p.proto == IPPROTO_TCP ? 16 : 6);
		*rte_pktmbuf_mtod_offset(m, uint16_t *, field) = rte_ipv4_phdr_cksum(ip, 0);
		if (t >= 2)
			m = rechain(m, 500); /* as a multi-buffer descriptor chain */
		unsigned n = th_run(TH_POD_A, m, TH_POD_B, out, 16);
		assert_int_equal(n, 1);
		assert_int_equal(rte_pktmbuf_pkt_len(out[0]), (p.proto == IPPROTO_TCP ? HDRS : L4 + 8) + 1400);
		struct rte_mbuf *lin = out[0];
		uint8_t buf[2048];
		const uint8_t *d = rte_pktmbuf_read(lin, 0, rte_pktmbuf_pkt_len(lin), buf);
		ip = (struct rte_ipv4_hdr *)(uintptr_t)(d + L3);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, (uint8_t *)ip + 20), 0);
		rte_pktmbuf_free_bulk(out, n);
	}
	pa->whole_chains = pa->csum_partial = false;
}

/* A GSO frame from such a pod (a 20,000-byte TCP packet, partial checksum, pod MTU 1450)
 * is cut once after the lookup to the next hop's MTU, to a pod on this node as well as
 * through VXLAN: every segment a valid TCP segment with its part of the payload. */
static void test_skb_mode_gso(void **s)
{
	struct sl_port *pa = sl_port_get(TH_POD_A);
	pa->whole_chains = pa->csum_partial = true;
	const char *dsts[] = { "10.244.1.3", "10.244.2.7" };
	unsigned outs[] = { TH_POD_B, TH_UPLINK };
	static struct rte_mbuf *segs[32];
	for (unsigned t = 0; t < 2; t++) {
		th_reset();
		/* tso_frame leaves the pseudo-header sum in the TCP checksum, as a GSO frame has. */
		struct rte_mbuf *m = tso_frame(dsts[t], 14000, 1000, RTE_TCP_ACK_FLAG, 2000);
		m->ol_flags = 0;
		m->tso_segsz = 0;
		unsigned n = th_run(TH_POD_A, m, outs[t], segs, 32);
		unsigned enc = t ? 50 : 0;
		assert_int_equal(n, 10); /* 9 x 1410 + 1310 */
		for (unsigned i = 0; i < n; i++) {
			uint16_t len = i < 9 ? 1410 : 1310;
			assert_int_equal(rte_pktmbuf_pkt_len(segs[i]), enc + HDRS + len);
			struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(segs[i], void *, enc + L3);
			struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(segs[i], void *, enc + L4);
			assert_int_equal(ntohs(ip->total_length), HDRS - L3 + len);
			assert_true(pb_ip4_cksum_ok(ip));
			assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, tcp), 0);
			assert_int_equal(ntohl(tcp->sent_seq), 1000 + i * 1410);
			const uint8_t *pl = rte_pktmbuf_mtod_offset(segs[i], uint8_t *, enc + HDRS);
			for (unsigned k = 0; k < len; k++)
				if (pl[k] != (uint8_t)(i * 1410 + k))
					fail_msg("segment %u byte %u: %u", i, k, pl[k]);
		}
		rte_pktmbuf_free_bulk(segs, n);
	}
	pa->whole_chains = pa->csum_partial = false;
}

/* A GSO frame that carries its sender's MSS (a tap pod's virtio-net gso_size, kept in
 * tso_segsz by port-rx) is cut by ip4-segment to that MSS when it is below the next hop's
 * MTU: the pod's MSS is what its peer advertised or its path MTU allows, and segments above
 * it break the connection. 14,000 bytes at MSS 1000 (next hop 1450: 1410) are 14 segments. */
static void test_gso_keeps_sender_mss(void **s)
{
	struct sl_port *pa = sl_port_get(TH_POD_A);
	pa->whole_chains = pa->csum_partial = true;
	static struct rte_mbuf *segs[32];
	th_reset();
	struct rte_mbuf *m = tso_frame("10.244.1.3", 14000, 1000, RTE_TCP_ACK_FLAG, 2000);
	m->ol_flags = 0;
	m->tso_segsz = 1000; /* as tap_rx_fixup leaves a tap pod's GSO frame */
	unsigned n = th_run(TH_POD_A, m, TH_POD_B, segs, 32);
	assert_int_equal(n, 14);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(rte_pktmbuf_pkt_len(segs[i]), HDRS + 1000);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(segs[i], void *, L3);
		struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(segs[i], void *, L4);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, tcp), 0);
		assert_int_equal(ntohl(tcp->sent_seq), 1000 + i * 1000);
	}
	rte_pktmbuf_free_bulk(segs, n);
	/* An MSS above the next hop's: cut to the next hop's (9 x 1410 + 1310). */
	th_reset();
	m = tso_frame("10.244.1.3", 14000, 1000, RTE_TCP_ACK_FLAG, 2000);
	m->ol_flags = 0;
	m->tso_segsz = 9000;
	n = th_run(TH_POD_A, m, TH_POD_B, segs, 32);
	assert_int_equal(n, 10);
	rte_pktmbuf_free_bulk(segs, n);
	pa->whole_chains = pa->csum_partial = false;
}

/* sl_l4_csum_complete on its own: what it leaves alone, and UDP's zero. */
static void test_l4_csum_complete(void **s)
{
	struct pb_ip4 p = tcp_from_pod_a("10.244.1.3", 100, RTE_TCP_ACK_FLAG);
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, L3);
	struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(m, void *, L4);
	tcp->cksum = 0x1234;
	assert_int_equal(sl_l4_csum_complete(m, 1450), SL_L4_CSUM_DONE);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, tcp), 0);
	/* Above the MTU: a GSO frame, left for ip4-segment. */
	tcp->cksum = 0x1234;
	assert_int_equal(sl_l4_csum_complete(m, 100), SL_L4_CSUM_GSO);
	assert_int_equal(tcp->cksum, 0x1234);
	/* A fragment, a length past the frame, another protocol, IPv6: untouched. */
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	assert_int_equal(sl_l4_csum_complete(m, 1450), SL_L4_CSUM_NONE);
	ip->fragment_offset = 0;
	ip->total_length = htons(2000);
	assert_int_equal(sl_l4_csum_complete(m, 1450), SL_L4_CSUM_NONE);
	ip->total_length = htons(140);
	ip->next_proto_id = IPPROTO_ICMP;
	assert_int_equal(sl_l4_csum_complete(m, 1450), SL_L4_CSUM_NONE);
	ip->next_proto_id = IPPROTO_TCP;
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	assert_int_equal(sl_l4_csum_complete(m, 1450), SL_L4_CSUM_NONE);
	assert_int_equal(tcp->cksum, 0x1234);
	rte_pktmbuf_free(m);
	/* UDP whose sum comes out 0 is sent as 0xffff (RFC 768). */
	p.proto = IPPROTO_UDP;
	p.payload = 2;
	m = pb_ip4(sl_dp.pool, &p);
	ip = rte_pktmbuf_mtod_offset(m, void *, L3);
	struct rte_udp_hdr *udp = rte_pktmbuf_mtod_offset(m, void *, L4);
	uint8_t *pl = (uint8_t *)(udp + 1);
	pl[0] = pl[1] = 0;
	udp->dgram_cksum = 0;
	/* With a zero payload the checksum is ~S; a payload word of ~S makes the sum 0xffff,
	 * whose complement is 0. */
	uint16_t not_s = rte_ipv4_udptcp_cksum(ip, udp);
	memcpy(pl, &not_s, 2);
	assert_int_equal(sl_l4_csum_complete(m, 1450), SL_L4_CSUM_DONE);
	assert_int_equal(udp->dgram_cksum, 0xffff);
	rte_pktmbuf_free(m);
}

/* What a guest must not be able to do: each is dropped with its reason, nothing sent. */
static void test_offload_drops(void **s)
{
	th_reset();
	/* Several segments without TSO: longer than any pod MTU. */
	struct pb_ip4 p = tcp_from_pod_a("10.244.1.3", 1000, RTE_TCP_ACK_FLAG);
	struct rte_mbuf *m = rechain(pb_ip4(sl_dp.pool, &p), 600);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	assert_int_equal(th_drops(SL_DROP_FRAME_TOO_BIG), 1);

	/* TSO with an MSS below TCP's minimum (would be thousands of segments). */
	m = tso_frame("10.244.1.3", 3000, 1, RTE_TCP_ACK_FLAG, 2000);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	/* TSO on a UDP frame. */
	p.proto = IPPROTO_UDP;
	m = pb_ip4(sl_dp.pool, &p);
	m->ol_flags = RTE_MBUF_F_RX_LRO;
	m->tso_segsz = 500;
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	/* A partial checksum whose IPv4 total length runs past the frame. */
	p.proto = IPPROTO_TCP;
	m = pb_ip4(sl_dp.pool, &p);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, L3);
	ip->total_length = htons(1500);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	/* A partial checksum whose TCP header runs past the frame. */
	m = pb_ip4(sl_dp.pool, &p);
	rte_pktmbuf_trim(m, 1000 + 10);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	assert_int_equal(th_drops(SL_DROP_OFFLOAD_MALFORMED), 4);
	/* TSO on IPv6 (offered only because DPDK's virtio PMD wants TSO4 and TSO6 together). */
	m = tso_frame("10.244.1.3", 3000, 1000, RTE_TCP_ACK_FLAG, 2000);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 16), 0);
	assert_int_equal(th_drops(SL_DROP_ETH_UNSUPPORTED), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_tso_segments),
		TH_TEST(test_tso_many_segments),
		TH_TEST(test_gso_keeps_sender_mss),
		TH_TEST(test_chain_trimmed_to_ip_length),
		TH_TEST(test_tso_min_mss),
		TH_TEST(test_tso_port_budget),
		TH_TEST(test_tso_walk_budget),
		TH_TEST(test_tso_pool_reserve),
		TH_TEST(test_tso_to_remote_node),
		TH_TEST(test_xsk_whole_chains),
		TH_TEST(test_partial_checksum),
		TH_TEST(test_offload_drops),
		TH_TEST(test_skb_mode_checksums),
		TH_TEST(test_skb_mode_gso),
		TH_TEST(test_l4_csum_complete),
	};
	return cmocka_run_group_tests_name("offload", tests, th_setup, NULL);
}
