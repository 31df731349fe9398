/* sluice-gen transmit: one template frame, copied and patched per packet. UDP probes by
 * default; with --tso, TCP frames for the device to cut into segments. */
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "gen.h"

#define ETH_OFF 0
#define IP_OFF RTE_ETHER_HDR_LEN
#define L4_OFF (IP_OFF + (int)sizeof(struct rte_ipv4_hdr))
#define UDP_OFF L4_OFF
#define PROBE_OFF SL_GEN_HDR_LEN
#define TCP_PAYLOAD_OFF SL_GEN_TCP_HDR_LEN

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

static void
ip_init(struct rte_ipv4_hdr *ip, const struct sl_gen_config *cfg, uint8_t proto,
	uint16_t frame_len)
{
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(frame_len - RTE_ETHER_HDR_LEN);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = cfg->src_ip;
	ip->dst_addr = cfg->dst_ip;
	/* RFC 791 3.1: header checksum; the header is the same for every packet (with TSO the
	 * device rewrites length, ID and checksum in each segment). */
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void
udp_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg, struct rte_ipv4_hdr *ip)
{
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(tx->tmpl + tx->inner_off + UDP_OFF);

	udp->src_port = rte_cpu_to_be_16(SL_GEN_SPORT_BASE);
	udp->dst_port = rte_cpu_to_be_16(cfg->dst_port);
	udp->dgram_len = rte_cpu_to_be_16(cfg->size - tx->inner_off - UDP_OFF);
	udp->dgram_cksum = 0; /* RFC 768: zero means no checksum over IPv4. */
	if (cfg->l4_csum) {
		/* DPDK's checksum offload contract: we leave the pseudo-header sum (the same
		 * for every packet), the device adds the datagram. */
		tx->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		tx->tx_offload = rte_mbuf_tx_offload(RTE_ETHER_HDR_LEN, sizeof(*ip), 0, 0, 0, 0, 0);
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, tx->ol_flags);
	}
	tx->short_probe = cfg->size - tx->inner_off - SL_GEN_HDR_LEN < SL_GEN_PROBE_FULL;
}

static void
tcp_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg, struct rte_ipv4_hdr *ip)
{
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(tx->tmpl + L4_OFF);

	tx->tso = true;
	tx->payload_len = (uint16_t)(cfg->size - SL_GEN_TCP_HDR_LEN);
	tcp->src_port = rte_cpu_to_be_16(SL_GEN_SPORT_BASE);
	tcp->dst_port = rte_cpu_to_be_16(cfg->dst_port);
	tcp->data_off = (sizeof(*tcp) / 4) << 4; /* RFC 9293 3.1: header length in words */
	tcp->tcp_flags = RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG;
	tcp->rx_win = rte_cpu_to_be_16(UINT16_MAX);
	tx->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
	tx->tx_offload = rte_mbuf_tx_offload(RTE_ETHER_HDR_LEN, sizeof(*ip), sizeof(*tcp),
					     cfg->tso_mss, 0, 0, 0);
	/* For TSO the pseudo-header sum leaves out the length, which differs per segment. */
	tcp->cksum = rte_ipv4_phdr_cksum(ip, tx->ol_flags);
	/* Payload byte k of a frame with TCP sequence s is pattern[(s & 0xff) + k]. */
	for (size_t i = 0; i < sizeof(tx->pattern); i++)
		tx->pattern[i] = (uint8_t)i;
}

/* --vxlan and --dst-ip-count: the parts of a UDP frame that depend on its flow. */

/* RFC 7348 5: "the UDP source port number be calculated using a hash of fields from the
 * inner packet", in the dynamic range 49152-65535, so that the underlay (and RSS on the
 * receiving NIC) spreads a tunnel's flows. The hash covers what differs between flows here:
 * inner destination and source port. */
static inline uint16_t
vxlan_sport(uint32_t dst_ip, uint16_t sport)
{
	uint32_t h = (rte_be_to_cpu_32(dst_ip) ^ ((uint32_t)sport << 16 | sport)) * 0x9E3779B1u;

	h ^= h >> 15;
	h *= 0x85EBCA77u;
	h ^= h >> 13;
	return (uint16_t)(49152 + (h & 0x3fff));
}

/* The outer IPv4, UDP and VXLAN headers after the Ethernet header sl_gen_tx_init() wrote. */
static void
vxlan_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(tx->tmpl + IP_OFF);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(tx->tmpl + UDP_OFF);
	struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);
	struct sl_gen_config outer = *cfg;

	tx->inner_off = SL_GEN_VXLAN_OVERHEAD;
	outer.src_ip = cfg->outer_src_ip;
	outer.dst_ip = cfg->outer_dst_ip;
	ip_init(ip, &outer, IPPROTO_UDP, cfg->size);
	udp->src_port = rte_cpu_to_be_16(49152); /* per flow: vxlan_sport() */
	udp->dst_port = rte_cpu_to_be_16(SL_GEN_VXLAN_PORT);
	udp->dgram_len = rte_cpu_to_be_16(cfg->size - UDP_OFF);
	udp->dgram_cksum = 0; /* RFC 7348 5: SHOULD be transmitted as zero over IPv4 */
	vx->vx_flags = rte_cpu_to_be_32(0x08000000); /* the I flag: the VNI is valid */
	vx->vx_vni = rte_cpu_to_be_32(cfg->vni << 8);
}

/* Destination i is --dst-ip + i; the (inner) header checksum is worked out for each. */
static void
dst_ips_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg, struct rte_ipv4_hdr *ip)
{
	struct rte_ipv4_hdr h = *ip;

	tx->dst_ip_count = cfg->dst_ip_count ? cfg->dst_ip_count : 1;
	for (uint16_t i = 0; i < tx->dst_ip_count; i++) {
		h.dst_addr = rte_cpu_to_be_32(rte_be_to_cpu_32(cfg->dst_ip) + i);
		h.hdr_checksum = 0;
		tx->dst_ips[i] = h.dst_addr;
		tx->dst_ip_csum[i] = rte_ipv4_cksum(&h);
	}
}

/* --dst-file: each destination's IPv4 header checksum (the rest of the header is the
 * template's). Writes the config's checksum array, before any frame is sent. */
static void
dst_list_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg, struct rte_ipv4_hdr *ip)
{
	struct rte_ipv4_hdr h = *ip;

	tx->dst_list_n = cfg->dst_list_n;
	tx->dst_list_ip = cfg->dst_list_ip;
	tx->dst_list_port = cfg->dst_list_port;
	tx->dst_list_csum = cfg->dst_list_csum;
	for (uint32_t i = 0; i < cfg->dst_list_n; i++) {
		h.dst_addr = cfg->dst_list_ip[i];
		h.hdr_checksum = 0;
		cfg->dst_list_csum[i] = rte_ipv4_cksum(&h);
	}
}

/* Patch flow's destination (and with --vxlan its outer source port) into frame d. */
static inline void
patch_flow_dst(const struct sl_gen_tx *tx, uint8_t *d, uint32_t flow)
{
	const uint32_t k = flow % tx->dst_ip_count;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + tx->inner_off + IP_OFF);

	if (tx->dst_ip_count > 1) {
		ip->dst_addr = tx->dst_ips[k];
		ip->hdr_checksum = tx->dst_ip_csum[k];
	}
	if (tx->inner_off != 0) {
		struct rte_udp_hdr *outer = (struct rte_udp_hdr *)(d + UDP_OFF);

		outer->src_port = rte_cpu_to_be_16(
			vxlan_sport(tx->dst_ips[k], (uint16_t)(SL_GEN_SPORT_BASE + flow)));
	}
}

void
sl_gen_tx_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg, uint32_t run_id,
	       const struct rte_ether_addr *src_mac, const struct rte_ether_addr *dst_mac,
	       uint16_t port_id, struct rte_mempool *mp)
{
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;

	memset(tx, 0, sizeof(*tx));
	tx->size = cfg->size;
	tx->flows = cfg->flows;
	tx->port_id = port_id;
	tx->nb_queues = cfg->queues;
	tx->mp = mp;
	/* Queue q sends flows q, q + nb_queues, ... */
	for (uint16_t q = 0; q < cfg->queues; q++)
		tx->next_flow[q] = q;

	eth = (struct rte_ether_hdr *)(tx->tmpl + ETH_OFF);
	rte_ether_addr_copy(dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(src_mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

	ip = (struct rte_ipv4_hdr *)(tx->tmpl + IP_OFF);
	if (cfg->tso_mss != 0) {
		ip_init(ip, cfg, IPPROTO_TCP, cfg->size);
		tcp_init(tx, cfg, ip);
		sl_gen_probe_write(tx->tmpl + TCP_PAYLOAD_OFF, false, run_id, 0, 0);
	} else {
		if (cfg->vxlan) {
			/* The outer headers; the inner frame follows with its own Ethernet. */
			vxlan_init(tx, cfg);
			eth = (struct rte_ether_hdr *)(tx->tmpl + tx->inner_off);
			rte_ether_addr_copy(cfg->has_inner_dst_mac ? &cfg->inner_dst_mac : dst_mac,
					    &eth->dst_addr);
			rte_ether_addr_copy(src_mac, &eth->src_addr);
			eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
			ip = (struct rte_ipv4_hdr *)(tx->tmpl + tx->inner_off + IP_OFF);
		}
		ip_init(ip, cfg, IPPROTO_UDP, (uint16_t)(cfg->size - tx->inner_off));
		udp_init(tx, cfg, ip);
		sl_gen_probe_write(tx->tmpl + tx->inner_off + PROBE_OFF, tx->short_probe, run_id,
				   0, 0);
		dst_ips_init(tx, cfg, ip);
		dst_list_init(tx, cfg, ip);
	}
}

static inline void
build_udp(const struct sl_gen_tx *tx, uint8_t *d, uint32_t flow, uint64_t seq, uint64_t tsc)
{
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(d + tx->inner_off + UDP_OFF);

	rte_memcpy(d, tx->tmpl, tx->size);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(SL_GEN_SPORT_BASE + flow));
	probe_patch(d + tx->inner_off + PROBE_OFF, tx->short_probe, seq, tsc);
	if (tx->dst_ip_count > 1 || tx->inner_off != 0)
		patch_flow_dst(tx, d, flow);
	if (tx->dst_list_n != 0) {
		const uint32_t k = flow % tx->dst_list_n;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + IP_OFF);

		ip->dst_addr = tx->dst_list_ip[k];
		ip->hdr_checksum = tx->dst_list_csum[k];
		udp->dst_port = tx->dst_list_port[k];
	}
}

/* The next frame of flow: its TCP sequence continues where the flow's last frame ended. */
static inline void
build_tcp(struct sl_gen_tx *tx, uint8_t *d, uint32_t flow, uint64_t seq, uint64_t tsc)
{
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(d + L4_OFF);
	uint32_t tseq = tx->tcp_seq[flow];

	rte_memcpy(d + TCP_PAYLOAD_OFF, tx->pattern + (tseq & 0xff), tx->payload_len);
	/* Headers and the probe's magic and run id, over the pattern's first bytes. */
	rte_memcpy(d, tx->tmpl, SL_GEN_TSO_MIN_SIZE);
	tcp->src_port = rte_cpu_to_be_16((uint16_t)(SL_GEN_SPORT_BASE + flow));
	tcp->sent_seq = rte_cpu_to_be_32(tseq);
	probe_patch(d + TCP_PAYLOAD_OFF, false, seq, tsc);
	tx->tcp_seq[flow] = tseq + tx->payload_len;
}

uint16_t
sl_gen_tx_burst(struct sl_gen_tx *tx, uint16_t n)
{
	struct rte_mbuf *pkts[SL_GEN_MAX_BURST];
	uint16_t flow_of[SL_GEN_MAX_BURST]; /* flows < SL_GEN_MAX_FLOWS fit */
	const uint16_t q = tx->next_queue;
	uint32_t flow = tx->next_flow[q];
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

		if (tx->tso)
			build_tcp(tx, d, flow, seq + i, tsc);
		else
			build_udp(tx, d, flow, seq + i, tsc);
		m->data_len = tx->size;
		m->pkt_len = tx->size;
		m->ol_flags = tx->ol_flags;
		m->tx_offload = tx->tx_offload;
		flow_of[i] = (uint16_t)flow;
		flow += tx->nb_queues;
		if (flow >= tx->flows)
			flow = q;
	}
	sent = n;
	/* With offloads the driver may want the metadata its own way: virtio puts the length
	 * back into the TSO pseudo-header sum, as Linux does. A frame it refuses is unsent. */
	if (tx->ol_flags != 0)
		sent = rte_eth_tx_prepare(tx->port_id, q, pkts, n);
	sent = rte_eth_tx_burst(tx->port_id, q, pkts, sent);
	if (unlikely(sent < n)) {
		/* The unsent frames never left: free them, and reuse their sequence numbers
		 * (and flows, and TCP bytes) so that every seq below next_seq was really
		 * sent. This burst's seqs are consecutive, so the unsent ones are the top. */
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		tx->dropped += n - sent;
		flow = flow_of[sent];
		if (tx->tso)
			for (i = sent; i < n; i++)
				tx->tcp_seq[flow_of[i]] -= tx->payload_len;
	}
	tx->next_flow[q] = flow;
	tx->queue_packets[q] += sent;
	tx->next_seq = seq + sent;
	if (++tx->next_queue == tx->nb_queues)
		tx->next_queue = 0;
	return sent;
}
