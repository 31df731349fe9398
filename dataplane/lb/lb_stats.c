/* Per-frontend counters: the control side (see lb_stats.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "lb_stats.h"

static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "a deferred release carries 64 bits");

struct sl_lb_stats sl_lb_stats;
static uint32_t gen; /* sl_lb_stats_init calls: a release deferred across a re-init is void */

int sl_lb_stats_init(uint32_t n_slots, unsigned n_workers)
{
	if (n_slots < 2 || n_workers == 0 || n_workers > SL_MAX_WORKERS)
		return -EINVAL;
	memset(&sl_lb_stats, 0, sizeof(sl_lb_stats));
	for (unsigned w = 0; w < n_workers; w++) {
		sl_lb_stats.pkt[w] = rte_zmalloc("sl_lb_pkt", (size_t)n_slots *
						 sizeof(struct sl_lb_pkt_counters), RTE_CACHE_LINE_SIZE);
		sl_lb_stats.flow[w] = rte_zmalloc("sl_lb_flow", (size_t)n_slots *
						  sizeof(struct sl_lb_flow_counters), RTE_CACHE_LINE_SIZE);
		if (!sl_lb_stats.pkt[w] || !sl_lb_stats.flow[w]) {
			sl_lb_stats_fini();
			return -ENOMEM;
		}
	}
	sl_lb_stats.released = malloc((size_t)n_slots * sizeof(uint32_t));
	if (!sl_lb_stats.released) {
		sl_lb_stats_fini();
		return -ENOMEM;
	}
	for (unsigned l = 0; l < RTE_MAX_LCORE; l++) {
		int w = sl_dp.worker_of_lcore[l];
		unsigned k = w >= 0 && (unsigned)w < n_workers ? (unsigned)w : 0;
		sl_lb_stats.pkt_of_lcore[l] = sl_lb_stats.pkt[k];
		sl_lb_stats.flow_of_lcore[l] = sl_lb_stats.flow[k];
	}
	sl_lb_stats.n_slots = n_slots;
	sl_lb_stats.n_workers = n_workers;
	sl_lb_stats.gen = ++gen;
	sl_lb_stats.next_fresh = 1;
	return 0;
}

void sl_lb_stats_fini(void)
{
	for (unsigned w = 0; w < SL_MAX_WORKERS; w++) {
		rte_free(sl_lb_stats.pkt[w]);
		rte_free(sl_lb_stats.flow[w]);
	}
	free(sl_lb_stats.released);
	memset(&sl_lb_stats, 0, sizeof(sl_lb_stats));
}

uint32_t sl_lb_stats_slot_alloc(void)
{
	struct sl_lb_stats *s = &sl_lb_stats;
	uint32_t slot;
	if (s->next_fresh && s->next_fresh < s->n_slots) {
		slot = s->next_fresh++;
	} else if (s->rel_count) {
		slot = s->released[s->rel_head];
		s->rel_head = (s->rel_head + 1) % s->n_slots;
		s->rel_count--;
	} else {
		return 0;
	}
	for (unsigned w = 0; w < s->n_workers; w++) {
		memset(&s->pkt[w][slot], 0, sizeof(s->pkt[w][slot]));
		memset(&s->flow[w][slot], 0, sizeof(s->flow[w][slot]));
	}
	s->in_use++;
	return slot;
}

static void slot_released(void *arg)
{
	struct sl_lb_stats *s = &sl_lb_stats;
	uint64_t v = (uint64_t)(uintptr_t)arg;
	uint32_t slot = (uint32_t)v;
	if (!s->released || (uint32_t)(v >> 32) != s->gen || slot == 0 || slot >= s->n_slots)
		return; /* the arrays went (sl_lb_fini) before the grace period ended */
	s->released[(s->rel_head + s->rel_count) % s->n_slots] = slot;
	s->rel_count++;
}

void sl_lb_stats_slot_release(uint32_t slot)
{
	if (slot == 0 || slot >= sl_lb_stats.n_slots)
		return;
	sl_lb_stats.in_use--;
	sl_dp_defer(slot_released, (void *)(uintptr_t)((uint64_t)sl_lb_stats.gen << 32 | slot));
}

void sl_lb_stats_sum(uint32_t slot, struct sl_lb_counters *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (slot == 0 || slot >= sl_lb_stats.n_slots)
		return;
	for (unsigned w = 0; w < sl_lb_stats.n_workers; w++) {
		const struct sl_lb_pkt_counters *c = &sl_lb_stats.pkt[w][slot];
		const struct sl_lb_flow_counters *f = &sl_lb_stats.flow[w][slot];
		ret->fwd_packets += c->fwd_packets;
		ret->fwd_bytes += c->fwd_bytes;
		ret->rev_packets += c->rev_packets;
		ret->rev_bytes += c->rev_bytes;
		ret->new_flows += f->new_flows;
		ret->rejects += f->rejects;
		ret->drop_none += f->drop_none;
		ret->drop_ct_full += f->drop_ct_full;
	}
}

size_t sl_lb_stats_memsize(void)
{
	return (size_t)sl_lb_stats.n_slots * sl_lb_stats.n_workers *
	       (sizeof(struct sl_lb_pkt_counters) + sizeof(struct sl_lb_flow_counters));
}
