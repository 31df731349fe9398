/* Client affinity (a Service's sessionAffinity: ClientIP): new flows from one client address
 * to one Service port (any frontend of its affinity group: sl_lb_service.aff_vip/aff_port,
 * the port's cluster IP, node port, external and load-balancer IPs) go to the backend the
 * client's last flow went to, as kube-proxy's iptables `recent` match (one list per Service
 * port's endpoint) and IPVS persistence do, while that backend is still an active
 * backend of the Service (terminating or removed: picked again by Maglev and overwritten).
 * An entry lives until the Service's timeout has passed since its last use; each new flow
 * and the traffic of the flows it placed refresh it.
 *
 * The table: an rte_hash (client, affinity group) -> key position, lock-free readers, several
 * writers (workers insert, as conntrack), bounded (sl_lb_conf.affinity_size); the entries
 * are an array indexed by that position, so creating one is rte_hash_add_key's "add or find"
 * and two workers racing for one client agree on the slot. Only the control thread deletes
 * (sl_lb_affinity_age, from the conntrack ageing timer, a budget of keys a call); a deleted
 * key's slot, hence its array entry, is reused only after a grace period (rte_hash's RCU
 * defer queue on sl_dp.qsbr). Entry fields are atomics; an entry says which key it holds, so
 * a reader that meets a slot being (re)written treats it as a miss. Full: the flow gets the
 * Maglev pick and is counted (sl_lb_aff.full). Looked at only for new flows to a Service
 * with affinity, and by established packets of the flows it placed (one relaxed load of
 * the conntrack entry's aff field otherwise). */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_hash.h>

#include "dataplane/ct/ct.h"

struct sl_lb_service;
struct sl_lb_backend;

/* One client's affinity to one affinity group (a Service port). 16 bytes, the hash key. */
struct sl_lb_aff_key {
	uint32_t client, vip; /* network order; vip, port: the group's (sl_lb_service.aff_*) */
	uint16_t port;        /* network order */
	uint8_t proto;
	uint8_t pad[5];       /* 0 */
} __attribute__((aligned(8)));

struct sl_lb_aff_entry {
	_Atomic uint64_t who;       /* client << 32 | vip (as stored); written last, 0: none */
	_Atomic uint32_t what;      /* port << 16 | proto << 8 | 1 */
	_Atomic uint32_t timeout_s; /* the Service's, when last written */
	_Atomic uint64_t backend;   /* ip << 16 | port, as stored */
	_Atomic uint64_t last_tsc;  /* last use (refreshed at most every 1/16 s) */
};

struct sl_lb_affinity {
	struct rte_hash *hash;          /* key -> position in entries */
	struct sl_lb_aff_entry *entries;
	uint32_t size;                  /* entries the hash was sized for */
	uint64_t tsc_hz;
	_Atomic uint64_t full;          /* workers: new flows placed by Maglev, table full */
	_Atomic uint64_t hits;          /* workers: new flows placed by an entry */
	/* Control only. */
	uint32_t age_cursor;
	uint64_t aged;
};

extern struct sl_lb_affinity sl_lb_aff;

/* Create the table for size entries (after sl_dp_init). Returns 0 or -errno. Control. */
int sl_lb_affinity_init(uint32_t size);
/* Free it (workers stopped, after sl_dp_drain). Control. */
void sl_lb_affinity_fini(void);

/* The backend for a new flow k (as the client sent it) to s (s->affinity_s > 0, s->m > 0):
 * the client's affinity entry's when alive and still active in s, else sl_lb_pick(s, hash),
 * recorded in the entry. *ret_ref: the entry's reference for sl_lb_affinity_touch (0 when
 * the table was full). Worker. */
const struct sl_lb_backend *sl_lb_affinity_pick(const struct sl_lb_service *s,
						const struct sl_ct_key *k, uint32_t hash,
						uint64_t now_tsc, uint32_t *ret_ref);

static inline uint64_t sl_lb_aff_who(uint32_t client, uint32_t vip)
{
	return (uint64_t)client << 32 | vip;
}

static inline uint32_t sl_lb_aff_what(uint16_t port, uint8_t proto)
{
	return (uint32_t)port << 16 | (uint32_t)proto << 8 | 1;
}

/* A packet of flow e was seen at now_tsc: refresh the affinity entry that placed it, if
 * any and still its client's for this protocol (the flow does not know its group: an
 * entry aged out and reused for another Service port of the same client could be kept
 * alive by this flow's traffic, which only lengthens that client's affinity there).
 * Worker (any direction). */
static inline void sl_lb_affinity_touch(const struct sl_ct_entry *e, uint64_t now_tsc)
{
	uint32_t ref = atomic_load_explicit(&e->aff, memory_order_relaxed);
	if (likely(ref == 0))
		return;
	struct sl_lb_aff_entry *a = &sl_lb_aff.entries[ref - 1];
	uint64_t last = atomic_load_explicit(&a->last_tsc, memory_order_relaxed);
	if (now_tsc <= last || now_tsc - last <= (sl_lb_aff.tsc_hz >> 4))
		return;
	if (atomic_load_explicit(&a->who, memory_order_acquire) >> 32 == e->fwd.src &&
	    (atomic_load_explicit(&a->what, memory_order_relaxed) & 0xffff) ==
		    (sl_lb_aff_what(0, e->fwd.proto) & 0xffff))
		atomic_store_explicit(&a->last_tsc, now_tsc, memory_order_relaxed);
}

/* Remove entries unused for longer than their timeout, looking at no more than budget keys
 * from where the last call stopped. Returns how many. Control thread. */
unsigned sl_lb_affinity_age(uint64_t now_tsc, unsigned budget);
/* Entries held (a walk of the table: for show and tests). Control thread. */
uint32_t sl_lb_affinity_count(void);
