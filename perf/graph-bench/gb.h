/* sluice-graph-bench: sluice's forwarding graph on 1..N worker lcores with I/O that costs
 * next to nothing, to measure how the graph alone scales per worker.
 *
 *   pod ports 2.. (net_ring ethdevs: one RX queue owned by one worker, one TX queue per worker)
 *        |  encap: port-rx -> eth-input -> ip4-input -> ip4-lookup -> vxlan-encap -> port-tx
 *        |  decap: port-rx -> eth-input -> ip4-input -> vxlan-decap -> ip4-lookup
 *        |                                                         -> eth-output -> port-tx
 *   uplink, port 0 (net_ring ethdev: one RX and one TX queue per worker)
 *
 * The node is set up with the dataplane's own API the way control/net/sl_net.c sets up a node
 * with pods and remote nodes (same next-hop types, MTUs, static neighbour MACs). Each worker
 * runs the real worker pass (sl_worker_poll: the graph rooted at port-rx, then the RCU
 * quiescent state) and, after each pass, "recycles" what port-tx put in its TX rings: it
 * checks every frame left on the port its flow must leave on with the expected length,
 * fully checks one frame in --verify-every (on average, at random) against the frame built
 * here, writes the input frame of the next flow of the same RX ring into the same mbuf (one
 * 64/114-byte copy) and puts it back on that ring. No mbuf is allocated or freed in the loop
 * and a frame never leaves its worker.
 *
 * Threads: the main lcore is the control thread (setup, then it sleeps and samples
 * counters); every other EAL lcore is a worker. Counters in struct gb_worker are written by
 * their worker only and read by the control thread (64-bit aligned loads). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/core/sl_dp.h"

#define GB_MAX_PODS 64
#define GB_MAX_REMOTES 200
#define GB_SPORT_BASE 1024 /* flow i's inner UDP source port is GB_SPORT_BASE + i */
#define GB_MAX_FLOWS (65536 - GB_SPORT_BASE)
#define GB_MAX_FRAME 128
#define GB_FRAME_LEN 64    /* the pod's frame: Ethernet + IPv4 + UDP + 22 bytes, no FCS */
#define GB_VXLAN_OVERHEAD 50 /* RFC 7348: outer Ethernet + IPv4 + UDP + VXLAN */
#define GB_BURST 64        /* frames recycled per ring dequeue */
#define GB_SAMPLES 4       /* output frames each worker keeps for the pcap */
#define GB_PORT_UPLINK 0
#define GB_PORT_POD0 2     /* port 1 is the host port, absent here (as with host.enabled false) */

/* Exit codes. */
#define GB_EXIT_OK 0
#define GB_EXIT_USAGE 1
#define GB_EXIT_RUNTIME 2
#define GB_EXIT_CHECK 3    /* the run finished but what came out was not all correct */

enum gb_dir {
	GB_ENCAP, /* pod -> remote pod: frames enter on pod ports, leave VXLAN on the uplink */
	GB_DECAP, /* remote pod -> pod: VXLAN frames enter on the uplink, leave on pod ports */
};

/* Command line (after "--"); immutable once parsed. */
struct gb_args {
	enum gb_dir dir;
	unsigned flows;        /* distinct inner 5-tuples */
	unsigned pods;         /* local pod ports */
	unsigned remotes;      /* remote nodes (VTEPs, pod CIDRs) */
	unsigned inflight;     /* mbufs circulating per receive queue */
	unsigned verify_every; /* full check of one output frame in this many */
	double duration_s;     /* measured window */
	double warmup_s;       /* before the window */
	const char *json;      /* result file, or NULL */
	const char *pcap;      /* sample output frames, or NULL */
	const char *label;
	bool quiet;
	bool services;         /* encap only: pods send to Service VIPs (10.96.0.0/16, one per
				* remote pod, UDP 5001 -> that pod's 5001): ip4-lb, conntrack
				* and DNAT on the path; the output frames stay the same */
	bool affinity;         /* with services: sessionAffinity ClientIP (10800 s) on each */
	bool new_flows;        /* with services: every frame a new flow (its UDP source port
				* changes with each frame of a flow), so ip4-lb picks a backend
				* and creates a conntrack entry for every packet */
	unsigned ct_size;      /* conntrack entries (0: 2 x flows, or 2^23 with new_flows) */
	unsigned policies;     /* encap: NetworkPolicies of 10 rules each isolating every local
				* pod for egress (one rule of each pod allows the bench's flows):
				* ip4-policy on the path, a conntrack entry per flow */
	unsigned svc_per_remote; /* with services: Services per remote node the flows go to
				  * (flows share them), 0: one per remote pod address used */
	unsigned svc_table;    /* with services: frontends in the Service table, the traffic's
				* own plus idle ones of 10 backends each (0: the traffic's) */
	bool wrong_vni;        /* self-test: the bench's end of the tunnel uses sluiced's VNI + 1,
				* so the run must fail its checks (encap: output frames differ;
				* decap: sluiced drops the input) */
};

/* One flow: the frame that enters the graph and the frame that must come out. */
struct gb_flow {
	/* Immutable after setup. */
	uint8_t in[GB_MAX_FRAME];   /* input frame */
	uint8_t out[GB_MAX_FRAME];  /* expected output frame (encap: outer UDP source port 0,
				     * it is a hash of the inner flow; see gb_flow_check) */
	uint16_t in_len, out_len;
	uint16_t out_port;          /* sluice port the frame must leave on */
	uint16_t slot;              /* the RX ring it enters on: an index in its worker's
				     * gb_worker.rx (0: the uplink queue, 1..: its pods) */
	unsigned worker;            /* the worker that polls that ring */
	uint32_t next;              /* the next flow entering on the same ring: a recycled
				     * mbuf comes back as that flow, so every flow circulates
				     * whatever --inflight is */
	/* Mutable, by that worker only. */
	uint16_t sport_seen;        /* encap: outer UDP source port first seen, 0 = none yet */
	uint16_t gen;               /* new_flows: the UDP source port of its last frame */
	bool checked;               /* at least one of its frames was fully checked */
} __rte_cache_aligned;         /* flows of different workers never share a line */

/* A transmit ring a worker drains, and the sluice port it belongs to. */
struct gb_txq {
	struct rte_ring *ring;
	uint16_t port;
};

/* One output frame kept for the pcap. */
struct gb_sample {
	uint16_t len;
	uint8_t data[GB_MAX_FRAME];
};

struct gb_worker {
	/* Immutable after setup. */
	struct sl_worker *w;
	unsigned n_rx, n_tx;
	struct rte_ring *rx[GB_MAX_PODS + 1]; /* RX rings of the queues this worker polls */
	struct gb_txq tx[GB_MAX_PODS + 1];    /* TX rings of this worker's TX queues */
	unsigned verify_every;
	/* Set by the worker when it starts. */
	pthread_t thread;
	_Atomic bool started;
	/* Mutable, written by this worker only. */
	uint64_t sink;        /* frames taken from TX rings */
	uint64_t verified;    /* of those, fully checked */
	uint64_t bad;         /* failed the full or the cheap check */
	uint64_t io_cycles;   /* TSC cycles spent recycling (the bench's own I/O) */
	uint64_t ring_full;   /* frames that did not fit back on their RX ring (freed) */
	char first_bad[160];  /* what was wrong with the first bad frame */
	unsigned verify_left; /* frames until the next full check */
	uint32_t rng;         /* xorshift32 state: spaces the full checks at random, so they
			       * do not alias with the order flows circulate in */
	unsigned n_samples;
	struct gb_sample samples[GB_SAMPLES];
	struct rte_mbuf *back[GB_MAX_PODS + 1][GB_BURST]; /* restored frames, per RX ring */
} __rte_cache_aligned;

/* ---- topo.c: ports, tables and receive-queue lists ---- */

/* Set up the uplink, the pod ports, routes, next hops and neighbours, each worker's queue
 * list and graph, and fill gbw[] with each worker's rings. sl_dp_init must have run and
 * sl_dp.conf be set. Control thread, before workers start. Returns 0 or -errno (message
 * printed). */
int gb_topo_setup(const struct gb_args *a, struct gb_worker *gbw);
/* Sluice MAC and address plan (see topo.c). */
void gb_pod_mac(unsigned pod, struct rte_ether_addr *ret);
void gb_remote_mac(unsigned remote, struct rte_ether_addr *ret);
uint32_t gb_pod_ip(unsigned pod);                   /* network order */
uint32_t gb_remote_vtep(unsigned remote);           /* network order */
uint32_t gb_remote_pod_ip(unsigned remote, unsigned host); /* network order */
extern const struct rte_ether_addr gb_uplink_mac;

/* ---- flows.c: frames, checks, recycling ---- */

/* Build a->flows flows for a->dir (struct gb_flow, rte_malloc'ed into *ret) and put
 * a->inflight mbufs holding their input frames on every receive queue they use. Control
 * thread. Returns the number of mbufs injected or -errno. */
int gb_flows_setup(const struct gb_args *a, struct gb_worker *gbw, struct gb_flow **ret);
/* Drain this worker's TX rings, check, restore and requeue every frame. Worker. */
void gb_recycle(struct gb_worker *g);
/* With a->svc_table: add idle Services (UDP, 10 backends each, VIPs from 10.112.0.0/12,
 * no traffic) until the Service table holds a->svc_table frontends. Control thread, after
 * gb_flows_setup. Returns the number added or -errno. */
int gb_services_fill(const struct gb_args *a);
/* Write every worker's sample frames as a pcap file. Control thread. Returns 0 or -errno. */
int gb_write_pcap(const char *path, const struct gb_worker *gbw, unsigned n);
