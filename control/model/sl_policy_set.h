/* The compiled form of the cluster's NetworkPolicies for this node: what the model compiles
 * (selectors resolved to pod addresses, named ports resolved per pod, ipBlock minus except
 * split into prefixes) and what the dataplane's policy classifier (rte_acl) is built from.
 * The contract between control/model (producer) and control/policy + dataplane/policy
 * (consumers). No DPDK.
 *
 * Semantics (networking.k8s.io/v1): a local pod selected by at least one policy of a
 * direction is isolated in that direction; traffic of an isolated pod in that direction is
 * allowed iff at least one rule below matches it (the union of every policy selecting it).
 * A pod not isolated in a direction is not filtered in it. Rules only allow: nothing here
 * denies, so the order of rules carries no meaning. Replies of an allowed flow pass (the
 * dataplane is stateful). Addresses are IPv4 in host byte order. */
#pragma once
#include <stdint.h>

enum sl_pol_dir { SL_POL_INGRESS = 0, SL_POL_EGRESS = 1, SL_POL_NDIRS };

#define SL_POL_NAME_MAX 254 /* "namespace/name" */

/* One allow rule between a local pod and a peer prefix.
 * Ingress: pod = destination, peer = source, ports = the destination port (on the pod).
 * Egress:  pod = source, peer = destination, ports = the destination port (on the peer). */
struct sl_pol_rule {
	uint32_t pod_ip;
	uint32_t peer_net;          /* masked to peer_len */
	uint8_t peer_len;           /* 0-32 */
	uint8_t proto;              /* 6, 17, 132; 0 = any protocol and any port */
	uint16_t port_lo, port_hi;  /* inclusive; 0-65535 = any port */
	uint32_t policy;            /* index into sl_pol_set.names: counters, trace, `policy check` */
	uint32_t rule;              /* index of the ingress/egress rule within that policy */
};

struct sl_pol_dir_set {
	uint32_t *isolated;         /* sorted, unique: local pod IPs isolated in this direction */
	uint32_t n_isolated;
	struct sl_pol_rule *rules;
	uint32_t n_rules;
	/* Optional (NULL: unknown): parallel to isolated, the index of the first policy that
	 * selects that pod in this direction, which the dataplane's deny counters and deny log
	 * name (a default-deny policy has no rule to name it otherwise). */
	uint32_t *isolated_by;
};

struct sl_pol_set {
	struct sl_pol_dir_set dir[SL_POL_NDIRS];
	char (*names)[SL_POL_NAME_MAX + 1]; /* per policy index: "namespace/name" */
	uint32_t n_policies;
	/* Bumped by every change that can deny a flow allowed before: flows established under
	 * an older generation are checked again on their next packet. */
	uint64_t generation;
};
