/* The dataplane's shared state: ports, next hops, neighbours, FIB and workers.
 *
 * Ownership and RCU rules: the control thread is the only writer of every table here.
 * Workers only read. A writer publishes a new entry with a release store; what a worker could
 * still hold is freed or reused only after an rte_rcu_qsbr grace period, through one defer
 * queue (sl_dp_defer) that the control thread never waits on; every worker reports a
 * quiescent state once per graph walk. The FIB (rte_lpm) and the neighbour hash recycle their
 * own internal slots the same way (their RCU defer queues). Neighbour MACs are the one
 * exception to "control writes": workers learn them from ARP replies with atomic stores.
 *
 * Why rte_lpm and not rte_fib: DPDK 22.11's rte_fib has no RCU support, so a delete could
 * hand a tbl8 group to the next add while a worker still reads it; it needed two copies and
 * a blocking grace period per route. rte_lpm's DIR-24-8 has the same lookup and recycles
 * tbl8 groups through RCU. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_lpm.h>
#include <rte_graph.h>
#include <rte_hash.h>
#include <rte_mempool.h>
#include <rte_graph_worker.h>
#include <rte_rcu_qsbr.h>

#include "drivers/sl_tap.h"
#include "sl_drop.h"
#include "sl_mbuf.h"
#include "sl_proto.h"

#define SL_MAX_PORTS 1024   /* pod ports + uplink + host port */
#define SL_MAX_WORKERS 16
/* The next-hop and neighbour tables and the FIB are sized once, at start, for a node count
 * (sl_dp_limits_for, from the config's "limits"; sl_dp_set_limits): remote nodes take two next
 * hops and one neighbour each, local pods one next hop, static routes one next hop and one
 * neighbour. Defaults: the Kubernetes 5,000-node limit with room (SL_DP_DEFAULT_NODES). */
#define SL_DP_DEFAULT_NODES 10000  /* remote nodes (the model's SL_MODEL_MAX_NODES) */
#define SL_DP_DEFAULT_PODS 1000    /* pods with a port (SL_MAX_PODS, control/net/sl_net.h) */
#define SL_DP_DEFAULT_ROUTES 1024  /* static routes, each via its own gateway at most */
#define SL_DP_BASE_NH 16           /* "no route" and the node's own routes, with room */
#define SL_MAX_RXQ 1024     /* receive queues per worker */
#define SL_TRACE_MAX 1024   /* trace records kept per worker */

enum sl_port_kind {
	SL_PORT_UPLINK, /* DPDK ethdev towards the underlay */
	SL_PORT_HOST,   /* net_tap ethdev towards the node's own kernel stack */
	SL_PORT_XSK,    /* AF_XDP socket on a pod veth's host end */
	SL_PORT_VHOST,  /* vhost-user socket of a DPDK pod or VM */
	SL_PORT_TAP,    /* tap device that is a kernel pod's eth0 (drivers/sl_tap.h) */
};

/* Counters of one port as seen by one worker; summed by the control thread. */
struct sl_port_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;
	uint64_t rx_spoofed;  /* pod ports: frames not carrying the pod's own IP/MAC source
			       * (also counted per worker as pod-spoofed-source) */
} __rte_cache_aligned;

struct sl_xsk;
struct sl_vhost;
struct sl_tap;

struct sl_port {
	/* Immutable once published. */
	uint16_t id;                  /* index in sl_dp.ports */
	enum sl_port_kind kind;
	char name[32];                /* "uplink", "host", or the veth name */
	struct rte_ether_addr mac;    /* the port's own MAC (uplink/host: the ethdev's) */
	uint16_t mtu;                 /* largest IP packet this port carries */
	uint16_t eth_port;            /* ethdev port id (uplink, host) */
	struct sl_xsk *xsk;           /* AF_XDP socket (pods); NULL: use the ethdev */
	struct sl_vhost *vhost;       /* vhost-user socket (DPDK pods) */
	struct sl_tap *tap;           /* tap device (kernel pods, "interface": "tap") */
	/* Tap (uplink or pod) with more than one worker: worker w receives and sends on queue
	 * tap_queue[w] (tap_queue[0] == tap); NULL otherwise (one worker, or a pod's tap made
	 * single-queue by an older sluiced: the owner's alone). */
	struct sl_tap **tap_queue;
	unsigned owner;               /* worker polling this port's receive queue(s) */
	struct rte_ring *tx_ring;     /* set when only the owner may send: the MP ring other
				       * workers hand packets to (see port/port_send.h) */
	/* Pod ports (XSK, VHOST, TAP): the only source a frame from this port may carry; set by
	 * the control thread before the port is published. Anti-spoofing (eth-input,
	 * arp-input) compares against these two fields. 0 / zero MAC: nothing is accepted. */
	uint32_t pod_ip;              /* network order */
	struct rte_ether_addr pod_mac;
	/* AF_XDP pod ports: a chain received here is one whole frame (multi-buffer, full
	 * checksums), forwarded as it is (SL_F_XSK_CHAIN; issue 13). Set before publishing. */
	bool whole_chains;
	/* AF_XDP pod ports in "skb" mode (af_xdp.mode): the pod keeps checksum offload and GSO,
	 * so port-rx completes L4 checksums and flags GSO frames (offload/l4_csum.h). */
	bool csum_partial;
	/* Tap pod ports with offloads: GSO TCP frames (SL_F_GSO) go to this port whole, with a
	 * virtio-net GSO header, instead of being cut to its MTU (ip4-lookup). */
	bool gso_tx;
	/* Mutable, one slot per worker. */
	struct sl_port_stats stats[SL_MAX_WORKERS];
};

/* Whether p is a pod's port (AF_XDP, vhost-user or tap): anti-spoofing applies. Any thread. */
static inline bool sl_port_is_pod(const struct sl_port *p)
{
	return p->kind == SL_PORT_XSK || p->kind == SL_PORT_VHOST || p->kind == SL_PORT_TAP;
}

enum sl_nh_type {
	SL_NH_UNREACH_NET,  /* no route: ICMP net unreachable */
	SL_NH_UNREACH_HOST, /* inside our pod CIDR but no such pod: ICMP host unreachable */
	SL_NH_POD,          /* a pod on this node */
	SL_NH_VXLAN,        /* a pod CIDR of a remote node: encapsulate to its VTEP */
	SL_NH_UPLINK,       /* plain IPv4 out of the uplink via a neighbour */
	SL_NH_HOST,         /* the node's own kernel stack through the host port */
	SL_NH_LOCAL,        /* an address sluiced itself answers (the pod gateway) */
};

/* A next hop: the value FIB entries point to. Immutable once published. */
struct sl_nh {
	uint8_t type;               /* enum sl_nh_type */
	uint16_t port;              /* output port (pod, uplink, host) */
	uint16_t mtu;               /* largest inner IP packet for this path */
	uint32_t ip;                /* VTEP or gateway address, network order */
	uint32_t neigh;             /* neighbour index (VXLAN, UPLINK) */
	struct rte_ether_addr mac;  /* POD: the pod's MAC. VXLAN: the remote VTEP's own MAC, the
				     * inner destination (a flannel node's flannel.1); zero: the
				     * underlay neighbour's MAC, as between sluice nodes */
};

/* A neighbour on the uplink. ip is immutable; the MAC is learned by workers. */
struct sl_neigh {
	uint32_t ip;                     /* network order */
	_Atomic uint64_t mac_state;      /* bits 0-47 MAC, bit 48 valid */
	_Atomic uint64_t updated_tsc;    /* last time a reply refreshed it */
	_Atomic uint64_t requested_tsc;  /* control: last ARP request sent; arp-input learns
					  * only from replies within SL_ARP_REPLY_WINDOW_S */
	uint32_t refs;                   /* control: next hops using it; 0 = free slot */
	bool releasing;                  /* control: freed, waiting for a grace period */
	uint8_t tries;                   /* control: requests unanswered since the last reply
					  * (the retry backoff, control/net/sl_arp.c) */
};
#define SL_NEIGH_MAC_MASK ((1ULL << 48) - 1)
#define SL_NEIGH_VALID (1ULL << 48)
#define SL_NEIGH_STATIC (1ULL << 49) /* configured: not learned, requested or aged */
/* ARP trust on the uplink (dataplane/arp/arp_input.c): a reply is learned only within this
 * many seconds of the request control sent for that address (requested_tsc)... */
#define SL_ARP_REPLY_WINDOW_S 3
/* ...and a reply carrying a MAC other than the resolved one replaces it only once the
 * resolved MAC has gone this long without confirming (updated_tsc): longer than control's
 * refresh (a request after 30 s without a reply, repeated every 5 s), so the old MAC had
 * at least one fresh request it did not answer. */
#define SL_NEIGH_HOLD_S 40

struct sl_rxq {
	uint16_t port;  /* sluice port index */
	uint16_t queue; /* ethdev queue; vhost-user: first queue pair (sl_vhost_rx_burst);
			 * AF_XDP pods: 0 */
};

/* The receive queues a worker polls; replaced as a whole (RCU). */
struct sl_rxq_list {
	unsigned n;
	/* Every queue is a tap (pod or uplink) or the host port, and one at least a tap: the
	 * worker, when idle, may block on its tap epoll set, woken by the next frame (see
	 * sl_worker.c); the host port is then seen after at most the idle sleep, as in any
	 * idle back-off. */
	bool wait_on_taps;
	struct sl_rxq q[];
};

struct sl_trace_rec {
	uint16_t trace_id;   /* which packet */
	char node[24];       /* graph node name */
	char note[72];       /* what the node decided */
};

struct sl_worker {
	/* Immutable after start. */
	unsigned id;
	unsigned lcore;
	struct rte_graph *graph;
	char graph_name[RTE_GRAPH_NAMESIZE];
	/* Read by the worker, replaced by control (RCU). */
	struct sl_rxq_list *_Atomic rxqs;
	/* Tap pod ports this worker owns (drivers/sl_tap.h): an epoll set of their descriptors
	 * (level-triggered, data.u32 = port id; control adds and removes them, see
	 * control/net/sl_net.c), which port-rx asks once per call instead of reading every
	 * tap, and how many it holds (0: not asked). */
	int tap_epfd;
	struct sl_tap_spare tap_spare; /* receive mbufs kept between tap reads */
	_Atomic unsigned n_taps;
	/* Mutable, written by this worker only. */
	uint64_t drops[SL_DROP_COUNT];
	uint64_t loops, idle_loops, sleeps;
	uint16_t last_rx;            /* packets the last port-rx call received */
	uint64_t tap_ready[SL_MAX_PORTS / 64]; /* tap ports epoll found readable, not yet read */
	double icmp_tokens;          /* ICMP error token bucket (all but frag-needed) */
	uint64_t icmp_last_tsc;
	double icmp_fn_tokens;       /* frag-needed's own bucket, so floods of other errors
				      * (TTL=1) cannot starve PMTU discovery (RFC 1191) */
	uint64_t icmp_fn_last_tsc;
	/* Trace: control sets budget, worker marks packets and appends records. */
	_Atomic int trace_budget;
	_Atomic unsigned trace_n;
	uint16_t trace_next_id;
	struct sl_trace_rec trace[SL_TRACE_MAX];
} __rte_cache_aligned;

/* Node-wide configuration the fast path reads; set before workers start. */
struct sl_dp_conf {
	uint32_t node_ip;            /* our VTEP / node address, network order */
	uint32_t gateway_ip;         /* the pods' default gateway, answered by sluiced */
	uint32_t pod_cidr, pod_cidr_mask; /* this node's pods, network order */
	struct rte_ether_addr gw_mac; /* our MAC towards pods and the host port */
	uint32_t vni;                /* VXLAN network identifier */
	uint16_t vxlan_port;         /* UDP port, host order */
	struct rte_ether_addr vtep_mac; /* our VTEP's MAC, the inner source of what we
					 * encapsulate (vxlan.vtep_mac); zero: the uplink's */
	uint16_t uplink_port;        /* sluice index of the uplink */
	uint32_t icmp_rate;          /* ICMP errors per second per worker */
	bool idle_backoff;
	unsigned idle_sleep_max_us;
};

/* Next-hop slot states (sl_dp.nh_used): a slot freed twice within one grace period goes back
 * on the free stack once. */
enum { SL_NH_SLOT_FREE, SL_NH_SLOT_USED, SL_NH_SLOT_RELEASING };

struct sl_dp {
	struct sl_dp_conf conf;
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsbr;
	struct rte_rcu_qsbr_dq *defer_q;   /* what sl_dp_defer_free waits to free */
	struct rte_lpm *fib;               /* changed in place; tbl8 groups recycled by RCU */
	_Atomic uint32_t fib_default;      /* next hop of 0.0.0.0/0 (rte_lpm has no depth 0) */
	unsigned deferred_pending;         /* control: sl_dp_defer calls not yet run */
	struct sl_port *_Atomic ports[SL_MAX_PORTS];
	/* Next hops and neighbours: arrays of nh_max / neigh_max entries allocated once by
	 * sl_dp_init and changed in place, one entry at a time (a change never copies a table,
	 * so its cost does not depend on the capacity). */
	struct sl_nh *nh;
	struct sl_neigh *neigh;
	uint32_t nh_max, neigh_max;
	/* Control thread only: free slots as stacks (O(1) take and give back, a slot pushed
	 * only after its grace period), slot-taken flags, occupancy and refusals. */
	uint8_t *nh_used;                  /* SL_NH_SLOT_*: free, taken, or freed and waiting
					    * for a grace period before reuse */
	uint32_t *nh_free, nh_n_free;
	uint32_t *neigh_free, neigh_n_free;
	uint32_t nh_in_use, neigh_in_use;  /* taken, including those waiting for reuse */
	uint32_t neigh_hwm;                /* 1 + the highest neighbour index ever handed out:
					    * scans of the neighbours stop there */
	uint64_t nh_refused, neigh_refused; /* allocations refused: table full */
	struct rte_hash *neigh_hash;       /* ip -> neigh index; lock-free readers */
	struct rte_ring *ctrl_tx;          /* packets the control thread sends (ARP requests):
					    * MP enqueue by control, drained by worker 0 into
					    * port-tx, so only workers touch TX queues */
	unsigned n_workers;
	struct sl_worker workers[SL_MAX_WORKERS];
	int8_t worker_of_lcore[RTE_MAX_LCORE]; /* -1 when the lcore is not a worker */
	volatile bool quit;
	/* Control thread only: the grace periods sl_dp_sync waited for, and for how long
	 * (TSC cycles); the cost every table change pays today (`show stats` "rcu"). */
	uint64_t grace_periods, grace_wait_cycles;
};

extern struct sl_dp sl_dp;

/* The worker running on this lcore. Worker only. */
static inline struct sl_worker *sl_worker_self(void)
{
	return &sl_dp.workers[sl_dp.worker_of_lcore[rte_lcore_id()]];
}

static inline struct sl_port *sl_port_get(uint16_t id)
{
	return id < SL_MAX_PORTS ? atomic_load_explicit(&sl_dp.ports[id], memory_order_acquire)
				 : NULL;
}

/* The next-hop indexes the FIB gives for n addresses (host order). Worker or control. */
static inline void sl_route_lookup_bulk(const uint32_t *ip_host, uint32_t *ret_nh, unsigned n)
{
	uint32_t dflt = atomic_load_explicit(&sl_dp.fib_default, memory_order_relaxed);
	rte_lpm_lookup_bulk(sl_dp.fib, ip_host, ret_nh, n);
	for (unsigned i = 0; i < n; i++)
		ret_nh[i] = ret_nh[i] & RTE_LPM_LOOKUP_SUCCESS ? ret_nh[i] & 0x00ffffff : dflt;
}

/* The next-hop index the FIB gives for one address (network order); 0 (no route) when
 * nothing matches. Worker or control. */
static inline uint32_t sl_route_lookup(uint32_t ip)
{
	uint32_t nh;
	if (rte_lpm_lookup(sl_dp.fib, rte_be_to_cpu_32(ip), &nh) == 0)
		return nh;
	return atomic_load_explicit(&sl_dp.fib_default, memory_order_relaxed);
}

/* An rte_hash with lock-free readers whose deleted keys' slots are reused only after a grace
 * period of sl_dp.qsbr (when it exists): what every table workers read uses. multi_writer:
 * workers add keys too (rte_hash serialises writers). NULL with rte_errno set. Control
 * thread. */
struct rte_hash *sl_dp_hash_create(const char *name, uint32_t entries, uint32_t key_len,
				   bool multi_writer);

/* Capacities of the tables sl_dp_init sizes. */
struct sl_dp_limits {
	unsigned nh;         /* next-hop slots, slot 0 ("no route") included */
	unsigned neigh;      /* uplink neighbours */
	unsigned fib_rules;  /* FIB routes */
	unsigned fib_tbl8;   /* FIB tbl8 groups: one per /24 holding a longer prefix */
};
/* The capacities a node needs for `nodes` remote nodes, `pods` local pods and `routes`
 * static routes: nothing the model accepts within those limits is refused by a table. */
static inline struct sl_dp_limits sl_dp_limits_for(unsigned nodes, unsigned pods, unsigned routes)
{
	unsigned nh = 2 * nodes + pods + routes + SL_DP_BASE_NH;
	unsigned groups = nodes + pods + routes + SL_DP_BASE_NH; /* worst case: each its own /24 */
	return (struct sl_dp_limits){ .nh = nh, .neigh = nodes + routes + SL_DP_BASE_NH,
				      .fib_rules = nh > (1u << 16) ? nh : 1u << 16,
				      .fib_tbl8 = groups > (1u << 12) ? groups : 1u << 12 };
}
/* Set the capacities the next sl_dp_init uses (default: sl_dp_limits_for(SL_DP_DEFAULT_NODES,
 * SL_DP_DEFAULT_PODS, SL_DP_DEFAULT_ROUTES)). Returns 0, or -EINVAL when nh or neigh is below
 * 2 or the FIB sizes are 0 or above what rte_lpm takes. Control thread, before sl_dp_init. */
int sl_dp_set_limits(const struct sl_dp_limits *l);
/* Initialise tables (next hops, neighbours, FIB, neighbour hash, RCU) for n_workers.
 * Control thread, once. */
int sl_dp_init(unsigned n_workers, unsigned pool_size);
/* Free what sl_dp_init made. */
void sl_dp_fini(void);
/* Wait until every worker has passed a quiescent state. Any non-worker thread (the control
 * thread; rte_vhost's thread on a guest disconnect). */
void sl_dp_sync(void);
/* The one publish rule for every table: the writer makes the old object unreachable
 * (pointer swap, FIB or hash delete), then calls sl_dp_defer(fn, arg) and goes on. fn(arg)
 * runs once every worker has passed a quiescent state: the call joins an rte_rcu_qsbr
 * defer queue whose grace periods are checked, never waited for, and run in batches (as
 * later calls come, and from sl_dp_reclaim on the control loop's timer). Waits
 * (sl_dp_sync) only when the queue is full. Control thread only. */
void sl_dp_defer(void (*fn)(void *arg), void *arg);
/* sl_dp_defer(rte_free, p). */
void sl_dp_defer_free(void *p);
/* Run the deferred calls whose grace period has passed, without waiting. Returns how many
 * still wait. Control thread. */
unsigned sl_dp_reclaim(void);
/* Wait for a grace period and run every deferred call (before reusing a name a deferred
 * close still holds, and at shutdown). Control thread. */
void sl_dp_drain(void);

/* Add or replace (delete when nh < 0) a route, in place, without stopping workers: a worker
 * sees the old or the new next hop. Control thread. Returns 0 or -errno. */
int sl_fib_set(uint32_t prefix_host, uint8_t depth, int64_t nh);

/* Allocate a next-hop slot, copy *nh into it; returns its index, or -ENOSPC when all
 * nh_max slots are taken (counted in nh_refused). O(1). Control. */
int sl_nh_alloc(const struct sl_nh *nh);
/* Free a next-hop slot no FIB entry points to any more; reused after a grace period.
 * Control. */
void sl_nh_free(uint32_t idx);

/* Find or create the neighbour for ip (network order); takes a reference. Returns its
 * index, or -ENOSPC when all neigh_max entries are taken (counted in neigh_refused). O(1).
 * Control. */
int sl_neigh_get(uint32_t ip);
/* Drop a reference; at zero the slot is reused after a grace period. Control. */
void sl_neigh_put(uint32_t idx);
/* Neighbour index for ip or -1. Worker or control. */
static inline int sl_neigh_find(uint32_t ip)
{
	void *data;
	if (rte_hash_lookup_data(sl_dp.neigh_hash, &ip, &data) < 0)
		return -1;
	return (int)(uintptr_t)data;
}

/* Record a trace line for m if it is traced. Worker. */
void sl_trace_add(const struct rte_node *node, struct rte_mbuf *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define SL_TRACE(node, m, ...)                                                      \
	do {                                                                        \
		if (unlikely(sl_priv(m)->flags & SL_F_TRACED))                      \
			sl_trace_add(node, m, __VA_ARGS__);                         \
	} while (0)
