/* Packet builder for unit tests (see pktbuild.h). */
#include <arpa/inet.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "pktbuild.h"

uint32_t pb_addr(const char *dotted)
{
	struct in_addr a;
	inet_pton(AF_INET, dotted, &a);
	return a.s_addr;
}

bool pb_ip4_cksum_ok(const void *p)
{
	const struct rte_ipv4_hdr *ip = p;
	return rte_raw_cksum(ip, rte_ipv4_hdr_len(ip)) == 0xffff;
}

void pb_l4_cksum(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	void *l4 = (uint8_t *)ip + rte_ipv4_hdr_len(ip);
	if (ip->next_proto_id == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = l4;
		t->cksum = 0;
		t->cksum = rte_ipv4_udptcp_cksum(ip, l4);
	} else if (ip->next_proto_id == IPPROTO_UDP) {
		struct rte_udp_hdr *u = l4;
		u->dgram_cksum = 0;
		u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, l4);
	}
}

bool pb_l4_cksum_ok(const void *p)
{
	const struct rte_ipv4_hdr *ip = p;
	const void *l4 = (const uint8_t *)ip + rte_ipv4_hdr_len(ip);
	if (ip->next_proto_id == IPPROTO_UDP && ((const struct rte_udp_hdr *)l4)->dgram_cksum == 0)
		return true;
	return rte_ipv4_udptcp_cksum_verify(ip, l4) == 0;
}

struct rte_mbuf *pb_ip4(struct rte_mempool *mp, const struct pb_ip4 *s)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t proto = s->proto ? s->proto : IPPROTO_UDP;
	uint16_t l4 = proto == IPPROTO_ICMP  ? sizeof(struct rte_icmp_hdr)
		      : proto == IPPROTO_TCP ? sizeof(struct rte_tcp_hdr)
					     : sizeof(struct rte_udp_hdr);
	uint16_t iplen = (uint16_t)(sizeof(struct rte_ipv4_hdr) + l4 + s->payload);
	uint8_t *b = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(struct rte_ether_hdr) + iplen));
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	eth->src_addr = s->src_mac;
	eth->dst_addr = s->dst_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = htons(iplen),
		.packet_id = htons(0x1234),
		.fragment_offset = s->df ? RTE_BE16(RTE_IPV4_HDR_DF_FLAG) : 0,
		.time_to_live = s->ttl ? s->ttl : 64,
		.next_proto_id = proto,
		.src_addr = pb_addr(s->src),
		.dst_addr = pb_addr(s->dst),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	uint8_t *l4p = (uint8_t *)(ip + 1);
	memset(l4p, 0xab, l4 + s->payload);
	if (proto == IPPROTO_ICMP) {
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)l4p;
		icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
		icmp->icmp_code = 0;
		icmp->icmp_ident = htons(7);
		icmp->icmp_seq_nb = htons(1);
		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, l4 + s->payload);
	} else if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4p;
		*tcp = (struct rte_tcp_hdr){ .src_port = htons(s->sport), .dst_port = htons(s->dport),
					     .sent_seq = htonl(s->seq), .data_off = 5 << 4,
					     .tcp_flags = s->tcp_flags, .rx_win = htons(65535) };
		for (unsigned k = 0; k < s->payload; k++)
			l4p[l4 + k] = (uint8_t)k;
	} else {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)l4p;
		udp->src_port = htons(s->sport);
		udp->dst_port = htons(s->dport);
		udp->dgram_len = htons((uint16_t)(l4 + s->payload));
		udp->dgram_cksum = 0;
	}
	return m;
}

struct rte_mbuf *pb_arp_request(struct rte_mempool *mp, struct rte_ether_addr sha,
				const char *sip, const char *tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, 6);
	eth->src_addr = sha;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	*arp = (struct rte_arp_hdr){
		.arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER),
		.arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4),
		.arp_hlen = 6,
		.arp_plen = 4,
		.arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST),
	};
	arp->arp_data.arp_sha = sha;
	arp->arp_data.arp_sip = pb_addr(sip);
	arp->arp_data.arp_tip = pb_addr(tip);
	return m;
}

struct rte_mbuf *pb_vxlan(struct rte_mempool *mp, struct rte_ether_addr dst_mac,
			  const char *src, const char *dst, uint16_t dport, uint32_t vni,
			  uint8_t flags, const struct rte_mbuf *inner)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t ilen = (uint16_t)rte_pktmbuf_pkt_len(inner);
	uint16_t hdr = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
		       sizeof(struct rte_udp_hdr) + sizeof(struct rte_vxlan_hdr);
	uint8_t *b = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hdr + ilen));
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);
	eth->dst_addr = dst_mac;
	memset(&eth->src_addr, 0x22, 6);
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = htons((uint16_t)(hdr - sizeof(*eth) + ilen)),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_UDP,
		.src_addr = pb_addr(src),
		.dst_addr = pb_addr(dst),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = htons(50000);
	udp->dst_port = htons(dport);
	udp->dgram_len = htons((uint16_t)(sizeof(*udp) + sizeof(*vx) + ilen));
	udp->dgram_cksum = 0;
	vx->vx_flags = htonl((uint32_t)flags << 24);
	vx->vx_vni = htonl(vni << 8);
	memcpy(vx + 1, rte_pktmbuf_mtod(inner, const void *), ilen);
	return m;
}
