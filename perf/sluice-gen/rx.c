/* sluice-gen receive: find our probe (plain or inside VXLAN) and account for it. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "gen.h"

#define SEQWIN_LOG2_BITS 24 /* 16M sequence numbers (2 MiB) of reordering/dup memory */

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

/* Ethernet [VLAN [VLAN]] IPv4 UDP. Returns 0 with the UDP payload's offset, length and
 * destination port, or -1. */
static int
parse_udp(const uint8_t *pkt, uint32_t len, uint32_t *ret_off, uint32_t *ret_len,
	  uint16_t *ret_dport)
{
	uint32_t off = RTE_ETHER_HDR_LEN, ihl, ip_len, udp_len;
	uint16_t type;

	if (len < RTE_ETHER_HDR_LEN)
		return -1;
	type = get_be16(pkt + 12);
	/* IEEE 802.1Q / 802.1ad: skip up to two tags. */
	for (int tags = 0; tags < 2 && (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ);
	     tags++) {
		if (off + 4 > len)
			return -1;
		type = get_be16(pkt + off + 2);
		off += 4;
	}
	if (type != RTE_ETHER_TYPE_IPV4)
		return -1;
	/* RFC 791 3.1: version 4, IHL >= 5 words, total length covers header + UDP. */
	if (off + 20 > len || pkt[off] >> 4 != 4)
		return -1;
	ihl = (pkt[off] & 0xf) * 4u;
	ip_len = get_be16(pkt + off + 2);
	if (ihl < 20 || ip_len < ihl + 8 || off + ip_len > len)
		return -1;
	/* Only whole datagrams: MF clear and fragment offset zero. */
	if ((get_be16(pkt + off + 6) & 0x3fff) != 0 || pkt[off + 9] != IPPROTO_UDP)
		return -1;
	off += ihl;
	/* RFC 768: length covers header and data, and must fit in the IP payload. */
	udp_len = get_be16(pkt + off + 4);
	if (udp_len < 8 || udp_len > ip_len - ihl)
		return -1;
	*ret_dport = get_be16(pkt + off + 2);
	*ret_off = off + 8;
	*ret_len = udp_len - 8;
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
	uint32_t off, plen, ioff, ilen;
	uint16_t dport, idport;

	if (parse_udp(pkt, len, &off, &plen, &dport) < 0)
		return -1;
	ret_probe->vxlan = false;
	/* RFC 7348 5: 8-byte VXLAN header, I flag (0x08) set, then the inner frame.
	 * One level only; if it does not hold a probe, try the UDP payload itself (so
	 * --dst-port 4789 still works for plain frames). */
	if (dport == SL_GEN_VXLAN_PORT && plen >= 8 && (pkt[off] & 0x08) &&
	    parse_udp(pkt + off + 8, plen - 8, &ioff, &ilen, &idport) == 0 &&
	    parse_probe(pkt + off + 8 + ioff, ilen, run_id, ret_probe) == 0) {
		ret_probe->vxlan = true;
		return 0;
	}
	return parse_probe(pkt + off, plen, run_id, ret_probe);
}

int
sl_gen_rx_init(struct sl_gen_rx *rx, uint16_t port_id, uint16_t burst, uint32_t run_id)
{
	memset(rx, 0, sizeof(*rx));
	rx->port_id = port_id;
	rx->burst = burst;
	rx->run_id = run_id;
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
	uint16_t n;
	uint64_t now;

	n = rte_eth_rx_burst(rx->port_id, 0, pkts, rx->burst);
	if (n == 0)
		return 0;
	now = rte_rdtsc();
	for (uint16_t i = 0; i < n; i++)
		sl_gen_rx_account(rx, rte_pktmbuf_mtod(pkts[i], const uint8_t *),
				  rte_pktmbuf_data_len(pkts[i]), now);
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}
