/* TTL decrement with an incremental checksum update. */
#pragma once
#include <rte_byteorder.h>
#include <rte_ip.h>

/* Decrement the TTL and patch the header checksum per RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m'), where m is the 16-bit word holding TTL and protocol. */
static inline void sl_ip4_ttl_dec(struct rte_ipv4_hdr *ip)
{
	uint16_t old = (uint16_t)(ip->time_to_live << 8 | ip->next_proto_id);
	ip->time_to_live--;
	uint16_t new = (uint16_t)(ip->time_to_live << 8 | ip->next_proto_id);
	uint32_t sum = (uint16_t)~rte_be_to_cpu_16(ip->hdr_checksum);
	sum += (uint16_t)~old;
	sum += new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)~sum);
}
