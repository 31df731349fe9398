/* sluice-gen receive: find our probe (plain or inside VXLAN) and account for it. */
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "gen.h"

#define SEQWIN_LOG2_BITS 24 /* 16M sequence numbers (2 MiB) of reordering/dup memory */

/* TSO payload check: pattern[i] = i & 0xff, for comparing runs of up to 256 bytes. */
static uint8_t pattern[512];

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return rte_be_to_cpu_32(v);
}

static inline uint64_t
get_be48(const uint8_t *p)
{
	uint64_t v = 0;

	memcpy(&v, p, 6);
	return rte_be_to_cpu_64(v) >> 16;
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return rte_be_to_cpu_64(v);
}

/* Where parse_ip() found the IPv4 datagram; offsets from the start of the frame. */
struct ip_span {
	uint32_t ip_off; /* IPv4 header */
	uint32_t l4_off; /* IP payload */
	uint32_t l4_len; /* IP payload length, from the total length */
	uint8_t proto;
};

/* Ethernet [VLAN [VLAN]] IPv4, a whole datagram. hlen bytes are readable at pkt (the first
 * mbuf segment), and the datagram must end within flen (the whole frame, or the tunnel's
 * payload). Returns 0 with the datagram's span (its IPv4 header readable), or -1. */
static int
parse_ip(const uint8_t *pkt, uint32_t hlen, uint32_t flen, struct ip_span *ret)
{
	uint32_t off = RTE_ETHER_HDR_LEN, ihl, ip_len;
	uint16_t type;

	if (hlen < RTE_ETHER_HDR_LEN)
		return -1;
	type = get_be16(pkt + 12);
	/* IEEE 802.1Q / 802.1ad: skip up to two tags. */
	for (int tags = 0; tags < 2 && (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ);
	     tags++) {
		if (off + 4 > hlen)
			return -1;
		type = get_be16(pkt + off + 2);
		off += 4;
	}
	if (type != RTE_ETHER_TYPE_IPV4)
		return -1;
	/* RFC 791 3.1: version 4, IHL >= 5 words, total length covers the header. */
	if (off + 20 > hlen || pkt[off] >> 4 != 4)
		return -1;
	ihl = (pkt[off] & 0xf) * 4u;
	ip_len = get_be16(pkt + off + 2);
	if (ihl < 20 || off + ihl > hlen || ip_len < ihl || off + ip_len > flen)
		return -1;
	/* Only whole datagrams: MF clear and fragment offset zero. */
	if ((get_be16(pkt + off + 6) & 0x3fff) != 0)
		return -1;
	ret->ip_off = off;
	ret->proto = pkt[off + 9];
	ret->l4_off = off + ihl;
	ret->l4_len = ip_len - ihl;
	return 0;
}

/* Ethernet [VLAN [VLAN]] IPv4 UDP, all of it in the len bytes at pkt. Returns 0 with the
 * UDP payload's offset, length and destination port and the IPv4 header's offset, or -1. */
static int
parse_udp(const uint8_t *pkt, uint32_t len, uint32_t *ret_off, uint32_t *ret_len,
	  uint16_t *ret_dport, uint32_t *ret_ip_off)
{
	struct ip_span ip;
	uint32_t udp_len;

	if (parse_ip(pkt, len, len, &ip) < 0 || ip.proto != IPPROTO_UDP || ip.l4_len < 8)
		return -1;
	/* RFC 768: length covers header and data, and must fit in the IP payload. */
	udp_len = get_be16(pkt + ip.l4_off + 4);
	if (udp_len < 8 || udp_len > ip.l4_len)
		return -1;
	*ret_dport = get_be16(pkt + ip.l4_off + 2);
	*ret_off = ip.l4_off + 8;
	*ret_len = udp_len - 8;
	*ret_ip_off = ip.ip_off;
	return 0;
}

static int
parse_probe(const uint8_t *p, uint32_t len, uint32_t run_id, struct sl_gen_probe *ret)
{
	if (len < SL_GEN_PROBE_SHORT || get_be32(p) != SL_GEN_MAGIC || get_be32(p + 4) != run_id)
		return -1;
	ret->short_form = len < SL_GEN_PROBE_FULL;
	if (ret->short_form) {
		ret->seq = get_be48(p + 8);
		ret->tsc = get_be48(p + 14);
	} else {
		ret->seq = get_be64(p + 8);
		ret->tsc = get_be64(p + 16);
	}
	return 0;
}

int
sl_gen_parse(const uint8_t *pkt, uint32_t len, uint32_t run_id, struct sl_gen_probe *ret_probe)
{
	uint32_t off, plen, ioff, ilen, ip_off, iip_off;
	uint16_t dport, idport;

	if (parse_udp(pkt, len, &off, &plen, &dport, &ip_off) < 0)
		return -1;
	ret_probe->vxlan = false;
	/* RFC 7348 5: 8-byte VXLAN header, I flag (0x08) set, then the inner frame.
	 * One level only; if it does not hold a probe, try the UDP payload itself (so
	 * --dst-port 4789 still works for plain frames). */
	if (dport == SL_GEN_VXLAN_PORT && plen >= 8 && (pkt[off] & 0x08) &&
	    parse_udp(pkt + off + 8, plen - 8, &ioff, &ilen, &idport, &iip_off) == 0 &&
	    parse_probe(pkt + off + 8 + ioff, ilen, run_id, ret_probe) == 0) {
		ret_probe->vxlan = true;
		ret_probe->vni = (uint32_t)pkt[off + 4] << 16 | (uint32_t)pkt[off + 5] << 8 |
				 pkt[off + 6];
		ret_probe->ip_off = off + 8 + iip_off;
		return 0;
	}
	ret_probe->ip_off = ip_off;
	return parse_probe(pkt + off, plen, run_id, ret_probe);
}

/* RFC 768: the checksum of a probe's UDP datagram (its IPv4 header at ip, the datagram
 * whole after it, as sl_gen_parse() checked). With --l4-csum a zero (none) is wrong too:
 * the path was asked to fill it in. */
static bool
udp_csum_ok(const uint8_t *ip)
{
	const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)ip;
	const uint8_t *udp = ip + rte_ipv4_hdr_len(h);

	return get_be16(udp + 6) != 0 && rte_ipv4_udptcp_cksum_verify(h, udp) == 0;
}

/* TSO mode: payload byte k of a segment with TCP sequence s must be (s + k) & 0xff, except
 * for a probe (our magic and run id, then 16 bytes) where a frame began. The device cuts a
 * frame at multiples of the MSS (>= 88), so a probe opens a segment, never straddles two;
 * a path that merges segments again leaves probes inside. */
static bool
tcp_payload_ok(const struct sl_gen_rx *rx, const uint8_t *p, uint32_t n, uint32_t seq)
{
	uint32_t j = 0, k;

	while (j < n) {
		uint32_t left = n - j, chunk = RTE_MIN(left, 256u);

		if (left >= 8 && get_be32(p + j) == SL_GEN_MAGIC &&
		    get_be32(p + j + 4) == rx->run_id) {
			j += RTE_MIN(left, (uint32_t)SL_GEN_PROBE_FULL);
			continue;
		}
		if (memcmp(p + j, pattern + ((seq + j) & 0xff), chunk) == 0) {
			j += chunk;
			continue;
		}
		/* Up to the first odd byte; unless a probe starts there, it is wrong. */
		for (k = 0; p[j + k] == pattern[(seq + j + k) & 0xff]; k++)
			;
		if (k == 0)
			return false;
		j += k;
	}
	return true;
}

/* TSO mode: count a TCP segment to our port (plain, or once inside VXLAN as for probes),
 * from the window's opening on; check its checksum and payload. Headers must be in the
 * first mbuf segment; the payload may span several. */
static void
account_tcp(struct sl_gen_rx *rx, const struct rte_mbuf *m)
{
	static uint8_t buf[UINT16_MAX]; /* a payload spread over mbuf segments, made whole */
	const uint8_t *pkt = rte_pktmbuf_mtod(m, const uint8_t *), *tcp, *payload;
	uint32_t hlen = rte_pktmbuf_data_len(m), flen = rte_pktmbuf_pkt_len(m), base = 0;
	uint32_t doff, n;
	struct ip_span ip;

	if (parse_ip(pkt, hlen, flen, &ip) < 0)
		goto foreign;
	/* RFC 7348 5: UDP to 4789, an 8-byte VXLAN header with the I flag, the inner frame. */
	if (ip.proto == IPPROTO_UDP && ip.l4_len >= 16 && ip.l4_off + 16 <= hlen &&
	    get_be16(pkt + ip.l4_off + 2) == SL_GEN_VXLAN_PORT && (pkt[ip.l4_off + 8] & 0x08)) {
		uint32_t inner_len = RTE_MIN(ip.l4_len, (uint32_t)get_be16(pkt + ip.l4_off + 4));

		if (inner_len < 16)
			goto foreign;
		base = ip.l4_off + 16;
		if (parse_ip(pkt + base, hlen - base, inner_len - 16, &ip) < 0)
			goto foreign;
	}
	/* RFC 9293 3.1: data offset in 32-bit words, at least 5. */
	if (ip.proto != IPPROTO_TCP || ip.l4_len < 20 || base + ip.l4_off + 20 > hlen)
		goto foreign;
	tcp = pkt + base + ip.l4_off;
	doff = (tcp[12] >> 4) * 4u;
	if (get_be16(tcp + 2) != rx->dst_port || doff < 20 || doff > ip.l4_len)
		goto foreign;
	n = ip.l4_len - doff;
	rx->ours++;
	rx->ours_bytes += n;
	if (rx->win_lo == UINT64_MAX)
		return;
	rx->tcp_segs++;
	rx->tcp_bytes += n;
	if (rte_ipv4_udptcp_cksum_mbuf_verify(m, (const struct rte_ipv4_hdr *)(pkt + base +
					      ip.ip_off), (uint16_t)(base + ip.l4_off)) < 0)
		rx->bad_l4_csum++;
	payload = rte_pktmbuf_read(m, base + ip.l4_off + doff, n, buf);
	if (payload == NULL || !tcp_payload_ok(rx, payload, n, get_be32(tcp + 4)))
		rx->tcp_bad++;
	return;
foreign:
	rx->foreign++;
}

int
sl_gen_rx_init(struct sl_gen_rx *rx, const struct sl_gen_config *cfg,
	       const struct sl_gen_port *port, uint32_t run_id)
{
	memset(rx, 0, sizeof(*rx));
	rx->port_id = port->port_id;
	rx->nb_queues = port->nb_queues;
	rx->burst = cfg->burst;
	rx->run_id = run_id;
	rx->check_l4 = cfg->l4_csum || cfg->tso_mss != 0;
	rx->tso = cfg->tso_mss != 0;
	rx->dst_port = cfg->dst_port;
	rx->expect_vni = cfg->expect_vni;
	rx->expect_dst = cfg->dst_ip;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)i;
	rx->ns_per_cycle = 1e9 / (double)rte_get_tsc_hz();
	rx->win_lo = UINT64_MAX;
	return sl_gen_seqwin_init(&rx->seen, SEQWIN_LOG2_BITS);
}

void
sl_gen_rx_fini(struct sl_gen_rx *rx)
{
	sl_gen_seqwin_fini(&rx->seen);
}

void
sl_gen_rx_account(struct sl_gen_rx *rx, const uint8_t *pkt, uint32_t len, uint64_t now)
{
	struct sl_gen_probe pr;
	enum sl_gen_seq_mark mark;
	uint64_t cycles;
	bool in_win, ooo;

	/* A probe with a sequence we have not sent yet is forged or corrupt. */
	if (sl_gen_parse(pkt, len, rx->run_id, &pr) < 0 || pr.seq >= rx->seq_limit) {
		rx->foreign++;
		return;
	}
	/* --expect-vxlan: our probe, but not delivered the way the path under test must. */
	if (rx->expect_vni >= 0 &&
	    (!pr.vxlan || pr.vni != (uint32_t)rx->expect_vni ||
	     memcmp(pkt + pr.ip_off + 16, &rx->expect_dst, 4) != 0)) {
		rx->wrong_encap++;
		return;
	}
	in_win = pr.seq >= rx->win_lo;
	ooo = pr.seq + 1 < rx->seen.top;
	mark = sl_gen_seqwin_mark(&rx->seen, pr.seq);
	if (mark == SL_GEN_SEQ_DUP) {
		if (in_win)
			rx->dup++;
		return;
	}
	if (mark == SL_GEN_SEQ_LATE)
		rx->late++;
	rx->ours++;
	rx->ours_bytes += len;
	if (pr.vxlan)
		rx->vxlan++;
	if (!in_win)
		return;
	rx->win++;
	if (ooo)
		rx->ooo++;
	if (rx->check_l4 && !udp_csum_ok(pkt + pr.ip_off))
		rx->bad_l4_csum++;
	if (pr.short_form)
		cycles = (now - pr.tsc) & SL_GEN_TSC48_MASK;
	else
		cycles = now > pr.tsc ? now - pr.tsc : 0;
	sl_gen_hist_add(&rx->lat, (uint64_t)((double)cycles * rx->ns_per_cycle));
}

uint16_t
sl_gen_rx_burst(struct sl_gen_rx *rx)
{
	struct rte_mbuf *pkts[SL_GEN_MAX_BURST];
	uint16_t most = 0;

	for (uint16_t q = 0; q < rx->nb_queues; q++) {
		uint16_t n = rte_eth_rx_burst(rx->port_id, q, pkts, rx->burst);
		uint64_t now;

		if (n == 0)
			continue;
		now = rte_rdtsc();
		for (uint16_t i = 0; i < n; i++) {
			if (rx->tso)
				account_tcp(rx, pkts[i]);
			else
				sl_gen_rx_account(rx, rte_pktmbuf_mtod(pkts[i], const uint8_t *),
						  rte_pktmbuf_data_len(pkts[i]), now);
		}
		rte_pktmbuf_free_bulk(pkts, n);
		most = RTE_MAX(most, n);
	}
	return most;
}
