/* Per-packet metadata kept in the mbuf private area, written and read by graph nodes. */
#pragma once
#include <stdint.h>
#include <rte_mbuf.h>

enum sl_mbuf_flag {
	SL_F_TRACED = 1 << 0,    /* record this packet's path (sluicectl trace) */
	SL_F_DECAPPED = 1 << 1,  /* came out of a VXLAN tunnel */
	SL_F_LOCAL_ORIGIN = 1 << 2, /* built by sluiced (ICMP error/reply): no TTL decrement */
};

struct sl_mbuf_priv {
	uint16_t in_port;  /* sluice port index the packet arrived on */
	uint16_t out_port; /* sluice port index to send on (set before port-tx) */
	uint32_t nh;       /* next-hop index chosen by ip4-lookup */
	uint8_t flags;     /* enum sl_mbuf_flag */
	uint8_t icmp_type; /* for icmp-error: ICMP type to build */
	uint8_t icmp_code; /* for icmp-error: ICMP code */
	uint8_t pad;
	uint16_t icmp_mtu; /* for icmp-error frag-needed: next-hop MTU */
	uint16_t trace_id; /* per-worker trace sequence of this packet */
};

#define SL_MBUF_PRIV_SIZE RTE_ALIGN(sizeof(struct sl_mbuf_priv), RTE_MBUF_PRIV_ALIGN)

static inline struct sl_mbuf_priv *sl_priv(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}
