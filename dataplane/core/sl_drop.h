/* Drop reasons: the one list that yields the enum, the drop node names and the strings
 * sluicectl shows. Every packet the fast path does not forward ends in one of these. */
#pragma once

#define SL_FOREACH_DROP(_)                                                        \
	_(ETH_TRUNCATED, "eth-truncated")                                         \
	_(ETH_UNSUPPORTED, "eth-unsupported-type")                               \
	_(ETH_NOT_FOR_US, "eth-not-for-us")                                       \
	_(OFFLOAD_MALFORMED, "offload-malformed")                                 \
	_(FRAME_TOO_BIG, "frame-too-big")                                         \
	_(NO_MBUF, "no-mbuf")                                                     \
	_(NO_HEADROOM, "no-headroom")                                             \
	_(OFFLOAD_BURST_LIMIT, "offload-burst-limit")                             \
	_(OFFLOAD_POOL_RESERVE, "offload-pool-reserve")                           \
	_(POD_SPOOFED_SOURCE, "pod-spoofed-source")                               \
	_(UPLINK_SPOOFED_SOURCE, "uplink-spoofed-source")                         \
	_(ARP_MALFORMED, "arp-malformed")                                         \
	_(ARP_NOT_FOR_US, "arp-not-for-us")                                       \
	_(ARP_REPLY_CONSUMED, "arp-reply-consumed")                               \
	_(ARP_UNSOLICITED, "arp-unsolicited")                                     \
	_(ARP_SENDER_MISMATCH, "arp-sender-mismatch")                             \
	_(ARP_HELD_DOWN, "arp-held-down")                                         \
	_(ARP_STATIC_NEIGHBOUR, "arp-static-neighbour")                           \
	_(IP4_TRUNCATED, "ip4-truncated")                                         \
	_(IP4_BAD_VERSION, "ip4-bad-version")                                     \
	_(IP4_BAD_IHL, "ip4-bad-ihl")                                             \
	_(IP4_BAD_CHECKSUM, "ip4-bad-checksum")                                   \
	_(IP4_BAD_LENGTH, "ip4-bad-length")                                       \
	_(IP4_BAD_SOURCE, "ip4-bad-source")                                       \
	_(IP4_BAD_DESTINATION, "ip4-bad-destination")                             \
	_(IP4_L2_BROADCAST, "ip4-l2-broadcast")                                   \
	_(NO_ROUTE, "no-route")                                                   \
	_(NO_SUCH_POD, "no-such-pod")                                             \
	_(TTL_EXCEEDED, "ttl-exceeded")                                           \
	_(DF_TOO_BIG, "df-too-big")                                               \
	_(IP4_NEEDS_FRAGMENT, "ip4-needs-fragment")                               \
	_(NEIGH_UNRESOLVED, "neigh-unresolved")                                   \
	_(VXLAN_TRUNCATED, "vxlan-truncated")                                     \
	_(VXLAN_BAD_FLAGS, "vxlan-bad-flags")                                     \
	_(VXLAN_BAD_VNI, "vxlan-bad-vni")                                         \
	_(VXLAN_FRAGMENT, "vxlan-fragment")                                       \
	_(VXLAN_UNTRUSTED_PEER, "vxlan-untrusted-peer")                           \
	_(VXLAN_INNER_SPOOFED, "vxlan-inner-spoofed")                             \
	_(VXLAN_INNER_INVALID, "vxlan-inner-invalid")                             \
	_(VXLAN_INNER_NOT_LOCAL, "vxlan-inner-not-local")                         \
	_(LOCAL_UNSUPPORTED, "local-unsupported")                                 \
	_(ICMP_RATE_LIMITED, "icmp-rate-limited")                                 \
	_(ICMP_NO_ERROR_FOR_ERROR, "icmp-no-error-for-error")                     \
	_(CT_FULL, "ct-full")                                                     \
	_(SNAT_NO_PORT, "snat-no-port")                                           \
	_(LB_NO_BACKEND, "lb-no-backend")                                         \
	_(LB_NONE_SELECTED, "lb-none-selected")                                   \
	_(LB_SOURCE_RANGE, "lb-source-range")                                     \
	_(LB_BACKEND_GONE, "lb-backend-gone")                                     \
	_(PORT_GONE, "port-gone")                                                 \
	_(TX_FULL, "tx-full")                                                     \
	_(XSK_TOO_MANY_FRAGS, "xsk-too-many-frags")                               \
	_(XSK_BAD_LENGTH, "xsk-bad-length")                                       \
	_(POLICY_DENIED_INGRESS, "policy-denied-ingress")                         \
	_(POLICY_DENIED_EGRESS, "policy-denied-egress")                           \
	_(POLICY_CT_FULL, "policy-ct-full")                                      \
	_(TAP_BAD_LENGTH, "tap-bad-length")                                       \
	_(TAP_BAD_GSO, "tap-bad-gso")                                             \
	_(TAP_TOO_MANY_SEGS, "tap-too-many-segs")                                 \
	_(TAP_TX_REFUSED, "tap-tx-refused")                                       \
	_(UPLINK_BAD_TUNNEL_GSO, "uplink-bad-tunnel-gso")

enum sl_drop_reason {
#define _(sym, str) SL_DROP_##sym,
	SL_FOREACH_DROP(_)
#undef _
	SL_DROP_COUNT
};

/* Name of a drop reason ("no-route"); the drop node for it is "drop-<name>". Worker or
 * control. */
const char *sl_drop_name(enum sl_drop_reason r);

/* The drop nodes' names, one member per reason (sl_drop_nodes.NO_ROUTE is "drop-no-route"),
 * so a node's next_nodes table names a drop node at compile time from the reason's symbol
 * (SL_NEXT_NODES in sl_node.h) and cannot misspell it. Immutable. */
struct sl_drop_node_names {
#define _(sym, str) char sym[sizeof("drop-" str)];
	SL_FOREACH_DROP(_)
#undef _
};
extern const struct sl_drop_node_names sl_drop_nodes;
