/* The Service table: frontends (VIP, port, protocol) -> a Service entry holding its
 * backends and their Maglev table.
 *
 * RCU rules: a Service entry is immutable once published. The control thread is the only
 * writer: sl_lb_service_set builds a whole new entry and swaps it in (rte_hash data
 * replace, an atomic store for readers), sl_lb_service_del removes the key; either way the
 * old entry is freed through sl_dp_defer() after a grace period, and key slots are reused
 * by rte_hash's own RCU defer queue. No writer waits for a grace period. Workers look
 * entries up lock-free (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF) and may use an entry until
 * their next quiescent state; they keep nothing from it beyond that (conntrack stores
 * backend addresses, never pointers or indexes into an entry). */
#pragma once
#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_hash.h>

#include "dataplane/core/sl_dp.h"
#include "dataplane/ct/ct.h"
#include "maglev.h"

/* Backends one Service may have (Maglev slots are uint16_t). */
#define SL_LB_MAX_BACKENDS SL_MAGLEV_MAX_BACKENDS
/* Affinity timeout limit (Kubernetes' sessionAffinityConfig.clientIP.timeoutSeconds). */
#define SL_LB_AFFINITY_MAX_S 86400
/* Source ranges one frontend may hold (the model's SL_SVC_MAX_SOURCE_RANGES, plus one per
 * load-balancer IP allowed from the node itself). */
#define SL_LB_MAX_SOURCE_RANGES 512
/* Default frontend count (sl_lb_conf.max_services = 0). */
#define SL_LB_DEFAULT_SERVICES (128 * 1024)

/* A frontend: what a client addresses. 8 bytes, the hash key. */
struct sl_lb_frontend {
	uint32_t vip;    /* network order */
	uint16_t port;   /* network order */
	uint8_t proto;   /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint8_t pad;     /* 0 */
} __attribute__((aligned(8))); /* rte_hash_crc() reads it 8 bytes at a time */

enum sl_lb_backend_flag {
	SL_LB_BACKEND_TERMINATING = 1 << 0, /* keeps its flows, gets no new ones */
};

/* Flags of a Service entry (sl_lb_service_set). */
enum sl_lb_service_flag {
	/* With no backend, drop new flows instead of rejecting them: endpoints exist but none
	 * is for this traffic (a Local traffic policy on a node without one), so a load
	 * balancer's retry or health check moves on, as kube-proxy drops them. */
	SL_LB_SVC_DROP_EMPTY = 1 << 0,
	/* Check new flows' source against the Service's loadBalancerSourceRanges (opts.ranges):
	 * set on the frontends kube-proxy filters (load-balancer ingress IPs; NodePorts when
	 * they exist), never on cluster or external IPs. Without ranges it filters nothing. */
	SL_LB_SVC_SOURCE_RANGES = 1 << 1,
};

/* A source range (loadBalancerSourceRanges entry): addresses whose first len bits are ip's. */
struct sl_lb_cidr {
	uint32_t ip;     /* network order, host bits zero */
	uint8_t len;     /* 0..32 */
};

/* What a Service entry carries besides its frontend and backends (sl_lb_service_set_opts). */
struct sl_lb_service_opts {
	uint32_t flags;                 /* enum sl_lb_service_flag */
	/* sessionAffinity ClientIP: new flows from one client address go to the backend its
	 * last flow went to while that backend is active, for affinity_s seconds after the
	 * client's last use (lb_affinity.h). 0: none; at most SL_LB_AFFINITY_MAX_S. */
	uint32_t affinity_s;
	/* With SL_LB_SVC_SOURCE_RANGES: new flows from outside every range are dropped
	 * (lb-source-range). At most SL_LB_MAX_SOURCE_RANGES. Ignored without the flag. */
	const struct sl_lb_cidr *ranges;
	unsigned n_ranges;
	/* The affinity group: frontends with the same one share their clients' affinity
	 * entries, as kube-proxy keeps affinity per Service port (every address of a port: its
	 * cluster IP, node port, external and load-balancer IPs). (aff_vip, aff_port) in network
	 * order, the Service port's first cluster IP and port by the reconciler; aff_vip 0: the
	 * frontend's own (vip, port). */
	uint32_t aff_vip;
	uint16_t aff_port;
};

/* A backend as the control side gives it. */
struct sl_lb_backend {
	uint32_t ip;     /* network order */
	uint16_t port;   /* network order */
	uint16_t weight; /* relative share of new flows; 0 counts as 1 */
	uint8_t flags;   /* enum sl_lb_backend_flag */
};

/* A published Service entry. Immutable; one rte_malloc block (backends and table follow). */
struct sl_lb_service {
	struct sl_lb_frontend fe;
	uint32_t flags;                 /* enum sl_lb_service_flag */
	uint16_t n_backends;            /* backends[] entries, terminating ones included */
	uint16_t n_active;              /* backends new flows may go to */
	uint32_t m;                     /* Maglev slots; 0: no active backend (reject) */
	bool wide;                      /* slots are uint16_t (over 256 backends), else uint8_t */
	uint16_t n_ranges;              /* source ranges (SL_LB_SVC_SOURCE_RANGES), 0: none */
	uint32_t affinity_s;            /* sessionAffinity ClientIP timeout, 0: none */
	uint64_t affinity_tsc;          /* the same in TSC cycles */
	uint32_t aff_vip;               /* the affinity group (opts.aff_vip, or fe.vip) */
	uint16_t aff_port;              /* and its port (opts.aff_port, or fe.port) */
	const struct sl_lb_cidr *ranges;      /* n_ranges, after the backends */
	uint32_t stats_slot;            /* its counters (lb_stats.h); kept when replaced */
	const struct sl_lb_backend *backends; /* n_backends, sorted by address */
	uint8_t table[];                /* m slots: indexes into backends[] */
};
static_assert(offsetof(struct sl_lb_service, table) % sizeof(uint16_t) == 0,
	      "wide slots are read as uint16_t");

/* The backend new flows with this 5-tuple hash go to (s->m > 0). Worker or control. */
static inline const struct sl_lb_backend *sl_lb_pick(const struct sl_lb_service *s,
						      uint32_t hash)
{
	uint32_t slot = hash % s->m;
	return &s->backends[s->wide ? ((const uint16_t *)s->table)[slot] : s->table[slot]];
}

/* Source ports of flows whose source is translated to the node address (sl_ct_create_snat)
 * by default: above Linux's default ephemeral range (32768-60999), so they never take the
 * reply 5-tuple of a connection the node's own kernel makes through the host port. */
#define SL_LB_SNAT_PORT_LO 61000
#define SL_LB_SNAT_PORT_HI 65535
/* Whether client address src (network order) may open a new flow to s: always, unless s
 * has source ranges and src lies in none of them. Worker or control. */
static inline bool sl_lb_source_allowed(const struct sl_lb_service *s, uint32_t src)
{
	uint32_t a = rte_be_to_cpu_32(src);
	for (unsigned i = 0; i < s->n_ranges; i++) {
		uint32_t mask = s->ranges[i].len ? ~0u << (32 - s->ranges[i].len) : 0;
		if ((a & mask) == rte_be_to_cpu_32(s->ranges[i].ip))
			return true;
	}
	return s->n_ranges == 0;
}

/* Sizes; 0 picks the default. */
struct sl_lb_conf {
	uint32_t max_services;          /* frontends (default SL_LB_DEFAULT_SERVICES) */
	uint16_t snat_port_lo, snat_port_hi; /* host order, inclusive (default above) */
	/* Pod egress masquerade: new TCP (from a SYN), UDP and SCTP flows from this node's pods
	 * to addresses outside cluster_net/cluster_mask (network order) that leave through a
	 * gateway (not to a node address) get the node address as their source. */
	bool masquerade;
	uint32_t cluster_net, cluster_mask;
	uint32_t affinity_size;         /* client affinity entries (default ct.size / 4,
					 * at least 1024; lb_affinity.h) */
	struct sl_ct_conf ct;           /* the conntrack table */
};

struct sl_lb {
	struct rte_hash *services;      /* frontend -> struct sl_lb_service *; LF readers */
	uint32_t max_services;
	uint32_t n_services;            /* control only */
	/* Read by ip4-input and vxlan-decap on every packet: send IPv4 through ip4-lb. Set while
	 * a Service exists, conntrack may hold entries (cleared by sl_lb_age) or masquerade is
	 * on. */
	_Atomic bool active;
	/* SNAT source ports, host order, inclusive; each worker owns an equal share. */
	uint16_t snat_port_lo, snat_port_hi;
	bool masquerade;                /* sl_lb_conf's; keeps ip4-lb on the path */
	uint32_t cluster_net, cluster_mask;
	/* Control only: table changes done (`show stats`). */
	uint64_t sets, dels, rejects;
};

extern struct sl_lb sl_lb;

/* Whether IPv4 packets must go through ip4-lb. Worker (one relaxed load). */
static inline bool sl_lb_active(void)
{
	return atomic_load_explicit(&sl_lb.active, memory_order_relaxed);
}

/* This worker's share of the SNAT ports: [*ret_lo, *ret_lo + *ret_n), host order. Only this
 * worker translates sources to them, so no two workers race for one reply 5-tuple. Worker. */
static inline void sl_lb_snat_range(uint16_t *ret_lo, uint16_t *ret_n)
{
	int8_t w = sl_dp.worker_of_lcore[rte_lcore_id()];
	unsigned nw = sl_dp.n_workers ? sl_dp.n_workers : 1;
	unsigned per = (sl_lb.snat_port_hi - sl_lb.snat_port_lo + 1u) / nw;
	*ret_lo = (uint16_t)(sl_lb.snat_port_lo + (w > 0 ? (unsigned)w : 0u) * per);
	*ret_n = (uint16_t)per;
}

/* Create the Service and conntrack tables (after sl_dp_init). conf may be NULL: defaults.
 * Returns 0 or -errno. Control thread, once. */
int sl_lb_init(const struct sl_lb_conf *conf);
/* Free them (workers stopped; after sl_dp_drain). Control thread. */
void sl_lb_fini(void);

/* Add or replace the Service of frontend fe with backends b[0..n-1] (n may be 0: clients get
 * ICMP port unreachable). Duplicate ip:port backends are merged (the first kept). The new
 * entry is visible to workers when this returns; the old one is freed after a grace period.
 * Established flows keep their backend (conntrack), new flows use the new Maglev table.
 * Returns 0; -EINVAL (a bad field: logged with its name), -E2BIG (n > SL_LB_MAX_BACKENDS),
 * -ENOSPC (max_services reached), -ENOMEM. Nothing changes on error. Control thread. */
int sl_lb_service_set(const struct sl_lb_frontend *fe, const struct sl_lb_backend *b,
		      unsigned n, uint32_t flags);
/* The same with the Service's options (affinity, source ranges); sl_lb_service_set is this
 * with only o.flags. Also -EINVAL for o->affinity_s over SL_LB_AFFINITY_MAX_S
 * ("affinity_s"), more than SL_LB_MAX_SOURCE_RANGES ranges or a bad one ("ranges[2].len",
 * "ranges[2].ip": host bits set). Control thread. */
int sl_lb_service_set_opts(const struct sl_lb_frontend *fe, const struct sl_lb_backend *b,
			   unsigned n, const struct sl_lb_service_opts *o);
/* The backends of a Service set with b[0..n-1], as sl_lb_service_set keeps them: sorted by
 * address and port, duplicates merged (the non-terminating copy kept), in
 * sorted[0..*ret_u-1]; the active (not terminating) ones as Maglev takes them in mb[], with
 * their index in sorted[] in mi[] (mi may be NULL). sorted, mb and mi hold n. Returns the
 * active count. Control thread. */
unsigned sl_lb_backends_sort(const struct sl_lb_backend *b, unsigned n,
			     struct sl_lb_backend *sorted, unsigned *ret_u,
			     struct sl_maglev_backend *mb, uint16_t *mi);
/* Remove the Service of frontend fe; its flows keep their conntrack entries until they age.
 * Returns 0 or -ENOENT. Control thread. */
int sl_lb_service_del(const struct sl_lb_frontend *fe);

/* The Service of frontend fe or NULL. Worker (valid until its next quiescent state) or
 * control. */
static inline const struct sl_lb_service *sl_lb_service_find(const struct sl_lb_frontend *fe)
{
	void *data;
	if (!sl_lb.services || rte_hash_lookup_data(sl_lb.services, fe, &data) < 0)
		return NULL;
	return data;
}

/* Bytes one Service entry with n backends takes (the memory per Service). Control. */
size_t sl_lb_service_size(unsigned n_backends, unsigned n_active);

/* The backend ip:port (network order) of s if new flows may go to it (present and not
 * terminating), else NULL. Binary search. Worker or control. */
const struct sl_lb_backend *sl_lb_active_backend(const struct sl_lb_service *s, uint32_t ip,
						 uint16_t port);

/* Conntrack and client affinity ageing, to run on a control timer: sl_ct_age(now, budget)
 * and sl_lb_affinity_age(now, budget), then clear
 * sl_lb.active once no Service and no conntrack entry remain. Returns what sl_ct_age
 * returns. Control thread. */
unsigned sl_lb_age(uint64_t now_tsc, unsigned budget);
