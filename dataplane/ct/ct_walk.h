/* Walking the conntrack table from the control thread: the flows a filter matches
 * (`sluicectl show conntrack`, `sluicectl conntrack flush`).
 *
 * Cost: rte_hash_iterate over every key slot (2 per flow held, plus free ones), on the
 * control thread; workers are never stopped. Measured for a full 1M-flow table in
 * docs/services.md ("Observing"). */
#pragma once
#include <stdbool.h>

#include "ct.h"
#include "ct_filter.h"

/* Whether entry e matches f. Control (or worker). */
static inline bool sl_ct_match(const struct sl_ct_filter *f, const struct sl_ct_entry *e)
{
	return sl_ct_filter_match(f, e->fwd.src, e->fwd.dst, e->fwd.dport, e->fwd.proto,
				  e->rev.src, e->rev.sport,
				  atomic_load_explicit(&e->state, memory_order_relaxed));
}

/* Resumable walk: from *cursor (0: the start), look at no more than budget keys (two per
 * flow), calling fn(e, arg) for each flow (under its forward key) until fn returns false;
 * *cursor is where the next call goes on. Returns true once the end of the table is
 * reached (or fn stopped it). Between calls the table may change: a flow added meanwhile
 * may be missed, none is visited under a stale pointer. Control thread. */
bool sl_ct_walk_step(uint32_t *cursor, unsigned budget,
		     bool (*fn)(struct sl_ct_entry *e, void *arg), void *arg);
/* Call fn(e, arg) for every flow once (under its forward key) until fn returns false.
 * fn may remove e (sl_ct_remove). Returns the flows visited. Control thread. */
unsigned sl_ct_walk(bool (*fn)(struct sl_ct_entry *e, void *arg), void *arg);
/* Remove every flow f matches (both keys, freed after a grace period), counted in
 * sl_ct.flushed. Returns how many. Control thread. */
unsigned sl_ct_flush(const struct sl_ct_filter *f);
