/* Per-frontend counters: packets and bytes each way, new flows, rejects and drops of every
 * frontend (VIP, port, protocol) of the Service table.
 *
 * Layout: two arrays per worker (each its own rte_malloc block, cache-line aligned), so a
 * worker writes only its own lines: no atomics, no line shared with another worker. The packet
 * counters every translated packet bumps are 32 bytes a slot (two frontends a line: 4 MiB a
 * worker for 131,072 frontends, where a 64-byte slot of all eight counters took 8); the
 * new-flow counters (new flows, rejects, drops) live in a second array that only new flows touch,
 * so an established flow's packet costs one counter line, which ip4-lb prefetches for the
 * whole burst (sl_lb_count_prefetch). The control thread gives each frontend a slot
 * (sl_lb_stats_slot_alloc) and stores it in the frontend's immutable Service entry
 * (sl_lb_service.stats_slot); a replaced entry (endpoint change) keeps its slot, so the counts
 * go on; a deleted frontend's slot is released after a grace period and zeroed when another
 * frontend takes it. Slots are handed out never-used first, then oldest-released first, so a
 * slot is reused as late as possible: a flow of a deleted frontend still alive when its slot
 * goes to another frontend counts towards that one (conntrack keeps the slot, see below). Slot
 * 0 belongs to no frontend: counts with it go nowhere anyone reads.
 *
 * Established flows are counted through their conntrack entry (sl_ct_entry.lb_slot), both
 * directions, without a Service lookup. The control thread sums the workers' lines
 * (sl_lb_stats_sum); a sum read while workers count may be a packet behind. */
#pragma once
#include <assert.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include "dataplane/core/sl_dp.h"

/* One frontend's counters: the sum over the workers (sl_lb_stats_sum). */
struct sl_lb_counters {
	uint64_t fwd_packets;  /* client -> backend packets translated (DNAT) */
	uint64_t fwd_bytes;    /* their IP bytes */
	uint64_t rev_packets;  /* backend -> client replies translated back */
	uint64_t rev_bytes;
	uint64_t new_flows;    /* conntrack entries created */
	uint64_t rejects;      /* new flows refused: no backend (ICMP port unreachable) */
	uint64_t drop_none;    /* new flows dropped: no backend for this traffic (Local) */
	uint64_t drop_ct_full; /* new flows dropped: conntrack full */
};

/* One frontend's packet counters on one worker: 32 bytes, half a line. */
struct sl_lb_pkt_counters {
	uint64_t fwd_packets, fwd_bytes, rev_packets, rev_bytes;
} __rte_aligned(32);
static_assert(sizeof(struct sl_lb_pkt_counters) == 32, "two slots per line");

/* One frontend's new-flow counters on one worker (field names as in sl_lb_counters). */
struct sl_lb_flow_counters {
	uint64_t new_flows, rejects, drop_none, drop_ct_full;
} __rte_aligned(32);
static_assert(sizeof(struct sl_lb_flow_counters) == 32, "two slots per line");

struct sl_lb_stats {
	/* Immutable between sl_lb_stats_init and sl_lb_stats_fini. */
	struct sl_lb_pkt_counters *pkt[SL_MAX_WORKERS];   /* n_slots each */
	struct sl_lb_flow_counters *flow[SL_MAX_WORKERS]; /* n_slots each */
	/* pkt[] and flow[] of the worker on each lcore (sl_dp.worker_of_lcore when the arrays
	 * were made; worker 0's for other lcores): one load less per packet. */
	struct sl_lb_pkt_counters *pkt_of_lcore[RTE_MAX_LCORE];
	struct sl_lb_flow_counters *flow_of_lcore[RTE_MAX_LCORE];
	uint32_t n_slots;      /* slot 0 included */
	unsigned n_workers;
	uint32_t gen;          /* which sl_lb_stats_init made them */
	/* Control only: the slot allocator. */
	uint32_t next_fresh;   /* slots [next_fresh, n_slots) never handed out */
	uint32_t *released;    /* FIFO of released slots (ring of n_slots) */
	uint32_t rel_head, rel_count;
	uint32_t in_use;
};

extern struct sl_lb_stats sl_lb_stats;

/* Prefetch this worker's packet counters of slot (before sl_lb_count_pkt). Worker. */
static inline void sl_lb_count_prefetch(uint32_t slot)
{
	rte_prefetch0(&sl_lb_stats.pkt_of_lcore[rte_lcore_id()][slot]);
}

/* Count one translated packet of ip_bytes in direction rev (0: client -> backend, 1:
 * reply) for slot. Worker. */
static inline void sl_lb_count_pkt(uint32_t slot, unsigned rev, uint32_t ip_bytes)
{
	struct sl_lb_pkt_counters *c = &sl_lb_stats.pkt_of_lcore[rte_lcore_id()][slot];
	if (rev) {
		c->rev_packets++;
		c->rev_bytes += ip_bytes;
	} else {
		c->fwd_packets++;
		c->fwd_bytes += ip_bytes;
	}
}

/* Bump one new-flow counter (a field name of struct sl_lb_flow_counters) of slot. Worker. */
#define sl_lb_count(slot, field) (sl_lb_stats.flow_of_lcore[rte_lcore_id()][slot].field++)

/* Create the arrays: n_slots - 1 frontends (slot 0 is the sink) for n_workers workers,
 * after the workers' lcores are known (sl_dp.worker_of_lcore). Returns 0 or -errno.
 * Control thread. */
int sl_lb_stats_init(uint32_t n_slots, unsigned n_workers);
/* Free them (workers stopped). Control thread. */
void sl_lb_stats_fini(void);
/* A slot for a new frontend, its counters zeroed on every worker; 0 when none is free.
 * Control thread. */
uint32_t sl_lb_stats_slot_alloc(void);
/* Give slot back for reuse once every worker has passed a quiescent state (sl_dp_defer):
 * the frontend's entry is unlinked, but a worker may still count into it. Control. */
void sl_lb_stats_slot_release(uint32_t slot);
/* The sum of slot's counters over the workers into *ret. Control thread. */
void sl_lb_stats_sum(uint32_t slot, struct sl_lb_counters *ret);
/* Bytes the arrays take (memory per frontend: this / (n_slots - 1)). Control. */
size_t sl_lb_stats_memsize(void);
