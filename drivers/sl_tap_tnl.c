/* UDP tunnel GSO headers of the uplink tap (see sl_tap.h, "Tap uplink"): built for VXLAN
 * frames sluice sends whole, checked on frames the underlay hands over whole. */
#include <linux/virtio_net.h>

#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "sl_tap.h"

#define ETH_LEN ((unsigned)sizeof(struct rte_ether_hdr))
#define VXLAN_LEN ((unsigned)(sizeof(struct rte_udp_hdr) + sizeof(struct rte_vxlan_hdr)))

/* The headers of a VXLAN frame carrying IPv4 TCP, all in m's first segment. */
struct tnl_frame {
	struct rte_ipv4_hdr *oip;
	struct rte_udp_hdr *udp;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	unsigned outer_th, inner_nh, inner_th, hdr_len;
};

/* Parse m's outer Ethernet/IPv4/UDP/VXLAN and inner Ethernet/IPv4/TCP headers into *f.
 * Returns 0, or -1 when they are not all there, in the first segment. */
static int tnl_parse(struct rte_mbuf *m, struct tnl_frame *f)
{
	unsigned dlen = rte_pktmbuf_data_len(m);
	if (dlen < ETH_LEN + sizeof(struct rte_ipv4_hdr) ||
	    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return -1;
	f->oip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_LEN);
	unsigned oihl = rte_ipv4_hdr_len(f->oip);
	if ((f->oip->version_ihl >> 4) != 4 || oihl < sizeof(struct rte_ipv4_hdr) ||
	    f->oip->next_proto_id != IPPROTO_UDP)
		return -1;
	f->outer_th = ETH_LEN + oihl;
	f->inner_nh = f->outer_th + VXLAN_LEN + ETH_LEN;
	if (dlen < f->inner_nh + sizeof(struct rte_ipv4_hdr))
		return -1;
	f->udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, f->outer_th);
	const struct rte_ether_hdr *ieth =
		rte_pktmbuf_mtod_offset(m, struct rte_ether_hdr *, f->inner_nh - ETH_LEN);
	if (ieth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return -1;
	f->ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, f->inner_nh);
	unsigned ihl = rte_ipv4_hdr_len(f->ip);
	if ((f->ip->version_ihl >> 4) != 4 || ihl < sizeof(struct rte_ipv4_hdr) ||
	    f->ip->next_proto_id != IPPROTO_TCP ||
	    dlen < f->inner_nh + ihl + sizeof(struct rte_tcp_hdr))
		return -1;
	f->inner_th = f->inner_nh + ihl;
	f->tcp = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, f->inner_th);
	unsigned thl = (unsigned)(f->tcp->data_off >> 4) * 4;
	if (thl < sizeof(struct rte_tcp_hdr) || dlen < f->inner_th + thl)
		return -1;
	f->hdr_len = f->inner_th + thl;
	return 0;
}

int sl_tap_tnl_hdr(struct rte_mbuf *m, struct sl_tap_vnet_tnl *vh)
{
	struct tnl_frame f;
	if (tnl_parse(m, &f) < 0 || rte_pktmbuf_pkt_len(m) <= f.hdr_len || m->tso_segsz == 0)
		return -1;
	f.tcp->cksum = rte_ipv4_phdr_cksum(f.ip, 0);
	*vh = (struct sl_tap_vnet_tnl){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = (uint8_t)(VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO_TCPV4 |
				      ((f.tcp->tcp_flags & RTE_TCP_CWR_FLAG) ? VIRTIO_NET_HDR_GSO_ECN
									      : 0)),
		.hdr_len = (uint16_t)f.hdr_len,
		.gso_size = m->tso_segsz,
		.csum_start = (uint16_t)f.inner_th,
		.csum_offset = offsetof(struct rte_tcp_hdr, cksum),
		.outer_th_offset = (uint16_t)f.outer_th,
		.inner_nh_offset = (uint16_t)f.inner_nh,
	};
	return 0;
}

int sl_tap_rx_meta_tnl(struct rte_mbuf *m, const struct sl_tap_vnet *h, uint32_t node_ip,
		       uint16_t vxlan_port)
{
	struct tnl_frame f;
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint8_t inner_type = (uint8_t)(h->gso_type & ~(SL_TAP_GSO_TUNNEL | VIRTIO_NET_HDR_GSO_ECN));
	m->ol_flags = 0;
	m->tso_segsz = 0;
	/* What sluice asked for: IPv4 outer, TCP/IPv4 inner, partial inner checksum, no outer
	 * checksum offload (TUN_F_UDP_TUNNEL_GSO_CSUM was not offered). */
	if ((h->gso_type & SL_TAP_GSO_TUNNEL) != VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 ||
	    inner_type != VIRTIO_NET_HDR_GSO_TCPV4 || h->flags != VIRTIO_NET_HDR_F_NEEDS_CSUM ||
	    h->gso_size < SL_TAP_MIN_MSS)
		return 1;
	if (tnl_parse(m, &f) < 0)
		return 1;
	/* The header describes this frame, addressed to us. */
	if (h->outer_th != f.outer_th || h->inner_nh != f.inner_nh || h->csum_start != f.inner_th ||
	    h->csum_offset != offsetof(struct rte_tcp_hdr, cksum) || len <= f.hdr_len ||
	    f.oip->dst_addr != node_ip || f.udp->dst_port != rte_cpu_to_be_16(vxlan_port) ||
	    ETH_LEN + rte_be_to_cpu_16(f.oip->total_length) != len ||
	    f.outer_th + rte_be_to_cpu_16(f.udp->dgram_len) != len ||
	    f.inner_nh + rte_be_to_cpu_16(f.ip->total_length) != len ||
	    (f.oip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) ||
	    (f.ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return 1;
	/* Each segment's inner packet must fit an IPv4 length, as the sender's MSS does. */
	if (f.hdr_len - f.inner_nh + h->gso_size > UINT16_MAX)
		return 1;
	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = h->gso_size;
	return 0;
}

int sl_tap_csum_complete(struct rte_mbuf *m, uint16_t csum_start, uint16_t csum_offset)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	if ((uint32_t)csum_start + csum_offset + 2 > rte_pktmbuf_data_len(m) || csum_start >= len)
		return 1;
	uint16_t sum;
	if (rte_raw_cksum_mbuf(m, csum_start, len - csum_start, &sum) < 0)
		return 1;
	uint16_t c = (uint16_t)~sum;
	if (c == 0 && csum_offset == offsetof(struct rte_udp_hdr, dgram_cksum))
		c = 0xffff; /* RFC 768: a UDP sum of 0 is sent as all ones */
	/* The field held the pseudo-header sum, part of what was summed. */
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, csum_start + csum_offset), &c, 2);
	return 0;
}
