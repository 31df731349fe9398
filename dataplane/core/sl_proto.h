/* Protocol constants DPDK 22.11 does not define, and address printing. */
#pragma once

#define SL_ICMP_DEST_UNREACH 3      /* RFC 792 */
#define SL_ICMP_UNREACH_NET 0
#define SL_ICMP_UNREACH_HOST 1
#define SL_ICMP_UNREACH_PORT 3
#define SL_ICMP_UNREACH_NEEDFRAG 4  /* RFC 1191 */
#define SL_ICMP_TIME_EXCEEDED 11

/* printf an IPv4 address held in network order: printf(SL_IP4_FMT, SL_IP4_ARGS(ip)) */
#define SL_IP4_FMT "%u.%u.%u.%u"
#define SL_IP4_ARGS(ip)                                                                \
	((const uint8_t *)&(ip))[0], ((const uint8_t *)&(ip))[1],                      \
		((const uint8_t *)&(ip))[2], ((const uint8_t *)&(ip))[3]
