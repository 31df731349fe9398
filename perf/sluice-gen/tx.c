/* sluice-gen transmit: one template frame, copied and patched per packet. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include "gen.h"

#define ETH_OFF 0
#define IP_OFF RTE_ETHER_HDR_LEN
#define UDP_OFF (IP_OFF + (int)sizeof(struct rte_ipv4_hdr))
#define PROBE_OFF SL_GEN_HDR_LEN

static inline void
put_be48(uint8_t *p, uint64_t v)
{
	uint64_t be = rte_cpu_to_be_64(v << 16);

	memcpy(p, &be, 6);
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	uint64_t be = rte_cpu_to_be_64(v);

	memcpy(p, &be, 8);
}

static inline void
probe_patch(uint8_t *p, bool short_form, uint64_t seq, uint64_t tsc)
{
	if (short_form) {
		put_be48(p + 8, seq);
		put_be48(p + 14, tsc);
	} else {
		put_be64(p + 8, seq);
		put_be64(p + 16, tsc);
	}
}

void
sl_gen_probe_write(uint8_t *p, bool short_form, uint32_t run_id, uint64_t seq, uint64_t tsc)
{
	uint32_t be;

	be = rte_cpu_to_be_32(SL_GEN_MAGIC);
	memcpy(p, &be, 4);
	be = rte_cpu_to_be_32(run_id);
	memcpy(p + 4, &be, 4);
	probe_patch(p, short_form, seq, tsc);
}

void
sl_gen_tx_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg, uint32_t run_id,
	       const struct rte_ether_addr *src_mac, const struct rte_ether_addr *dst_mac,
	       uint16_t port_id, struct rte_mempool *mp)
{
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	memset(tx, 0, sizeof(*tx));
	tx->size = cfg->size;
	tx->short_probe = cfg->size - SL_GEN_HDR_LEN < SL_GEN_PROBE_FULL;
	tx->flows = cfg->flows;
	tx->port_id = port_id;
	tx->mp = mp;

	eth = (struct rte_ether_hdr *)(tx->tmpl + ETH_OFF);
	rte_ether_addr_copy(dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(src_mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

	ip = (struct rte_ipv4_hdr *)(tx->tmpl + IP_OFF);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(cfg->size - RTE_ETHER_HDR_LEN);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = cfg->src_ip;
	ip->dst_addr = cfg->dst_ip;
	/* RFC 791 3.1: header checksum; the header is the same for every packet. */
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	udp = (struct rte_udp_hdr *)(tx->tmpl + UDP_OFF);
	udp->src_port = rte_cpu_to_be_16(SL_GEN_SPORT_BASE);
	udp->dst_port = rte_cpu_to_be_16(cfg->dst_port);
	udp->dgram_len = rte_cpu_to_be_16(cfg->size - UDP_OFF);
	udp->dgram_cksum = 0; /* RFC 768: zero means no checksum over IPv4. */

	sl_gen_probe_write(tx->tmpl + PROBE_OFF, tx->short_probe, run_id, 0, 0);
}

uint16_t
sl_gen_tx_burst(struct sl_gen_tx *tx, uint16_t n)
{
	struct rte_mbuf *pkts[SL_GEN_MAX_BURST];
	uint32_t flow = tx->next_flow;
	uint64_t seq = tx->next_seq;
	uint16_t sent, i;
	uint64_t tsc;

	if (n > SL_GEN_MAX_BURST)
		n = SL_GEN_MAX_BURST;
	if (rte_pktmbuf_alloc_bulk(tx->mp, pkts, n) != 0) {
		tx->alloc_fail++;
		return 0;
	}
	tsc = rte_rdtsc();
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(d + UDP_OFF);

		rte_memcpy(d, tx->tmpl, tx->size);
		m->data_len = tx->size;
		m->pkt_len = tx->size;
		udp->src_port = rte_cpu_to_be_16((uint16_t)(SL_GEN_SPORT_BASE + flow));
		probe_patch(d + PROBE_OFF, tx->short_probe, seq + i, tsc);
		if (++flow == tx->flows)
			flow = 0;
	}
	sent = rte_eth_tx_burst(tx->port_id, 0, pkts, n);
	if (unlikely(sent < n)) {
		/* The unsent frames never left: free them, and reuse their sequence numbers
		 * so that every seq below next_seq was really sent. */
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		tx->dropped += n - sent;
	}
	tx->next_seq = seq + sent;
	tx->next_flow = (uint32_t)(tx->next_seq % tx->flows);
	return sent;
}
