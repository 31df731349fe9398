/* Per-packet metadata kept in the mbuf private area, written and read by graph nodes.
 *
 * A fixed-size area (SL_MBUF_PRIV_SIZE, the pool's priv_size) holding a base every stage
 * may read, then a union of per-stage data: each member is written by one stage and read by
 * the stage(s) its edge leads to, and means nothing elsewhere (grout's
 * GR_MBUF_PRIV_DATA_TYPE is the model). A new feature adds a member to the union, not a
 * field to the base; the static_asserts below fail the build when it no longer fits. */
#pragma once
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <rte_mbuf.h>

enum sl_mbuf_flag {
	SL_F_TRACED = 1 << 0,    /* record this packet's path (sluicectl trace) */
	SL_F_DECAPPED = 1 << 1,  /* came out of a VXLAN tunnel */
	SL_F_LOCAL_ORIGIN = 1 << 2, /* built by sluiced (ICMP error/reply): no TTL decrement */
	SL_F_XSK_CHAIN = 1 << 3, /* from an AF_XDP pod port: a chain is a whole frame (sl_xsk.h) */
	SL_F_GSO = 1 << 4,       /* a GSO TCP frame above its port's MTU, L4 checksum partial:
				  * ip4-lookup sends it to ip4-segment (offload/l4_csum.h) */
};

/* ip4-lookup -> eth-output, vxlan-encap: the route chosen. */
struct sl_mbuf_route {
	uint32_t nh;       /* next-hop index (sl_dp.nh) */
};

/* ip4-lookup -> icmp-error: the error to send back. */
struct sl_mbuf_icmp {
	uint8_t type;      /* ICMP type to build */
	uint8_t code;      /* ICMP code */
	uint16_t mtu;      /* frag-needed (RFC 1191): the next-hop MTU */
};

/* Bytes of the mbuf private area: the pool's priv_size. */
#define SL_MBUF_PRIV_SIZE 32

struct sl_mbuf_priv {
	/* Base: set where the packet enters the graph (port-rx, guest-offload, the control
	 * thread's ctrl_tx), valid in every stage. */
	uint16_t in_port;  /* sluice port index the packet arrived on */
	uint16_t out_port; /* sluice port index to send on (set before port-tx) */
	uint16_t trace_id; /* per-worker trace sequence of this packet (SL_F_TRACED) */
	uint8_t flags;     /* enum sl_mbuf_flag */
	uint8_t rsvd;
	/* Per-stage data: only the member of the edge the packet is on is valid. */
	union {
		struct sl_mbuf_route route;
		struct sl_mbuf_icmp icmp;
		uint8_t stage_raw[SL_MBUF_PRIV_SIZE - 8];
	};
};

static_assert(sizeof(struct sl_mbuf_priv) <= SL_MBUF_PRIV_SIZE,
	      "per-packet metadata must fit the mbuf private area");
static_assert(SL_MBUF_PRIV_SIZE % RTE_MBUF_PRIV_ALIGN == 0,
	      "the mbuf private area size must keep the data buffer aligned");
static_assert(offsetof(struct sl_mbuf_priv, route) == 8, "the base is 8 bytes");

/* The packet's metadata. Worker, or whoever owns the mbuf. */
static inline struct sl_mbuf_priv *sl_priv(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}
