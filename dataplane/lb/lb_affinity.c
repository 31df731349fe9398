/* Client affinity table (see lb_affinity.h). */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dataplane/core/sl_dp.h"
#include "lb_affinity.h"
#include "lb_table.h"

struct sl_lb_affinity sl_lb_aff;

int sl_lb_affinity_init(uint32_t size)
{
	/* A deleted key's slot (and so its entry) is reused only after a grace period. */
	struct rte_hash *h = sl_dp_hash_create("sl_lb_aff", size, sizeof(struct sl_lb_aff_key),
					       true);
	if (!h)
		return rte_errno ? -rte_errno : -ENOMEM;
	/* Positions go up to the last key slot (per-lcore caches included). */
	size_t n = (size_t)rte_hash_max_key_id(h) + 1;
	sl_lb_aff.entries = rte_zmalloc("sl_lb_aff", n * sizeof(struct sl_lb_aff_entry),
					RTE_CACHE_LINE_SIZE);
	if (!sl_lb_aff.entries) {
		rte_hash_free(h);
		return -ENOMEM;
	}
	sl_lb_aff.hash = h;
	sl_lb_aff.size = size;
	sl_lb_aff.tsc_hz = rte_get_tsc_hz();
	atomic_store(&sl_lb_aff.full, 0);
	atomic_store(&sl_lb_aff.hits, 0);
	sl_lb_aff.age_cursor = 0;
	sl_lb_aff.aged = 0;
	return 0;
}

void sl_lb_affinity_fini(void)
{
	rte_hash_free(sl_lb_aff.hash);
	rte_free(sl_lb_aff.entries);
	sl_lb_aff.hash = NULL;
	sl_lb_aff.entries = NULL;
}

const struct sl_lb_backend *sl_lb_affinity_pick(const struct sl_lb_service *s,
						const struct sl_ct_key *k, uint32_t hash,
						uint64_t now_tsc, uint32_t *ret_ref)
{
	/* Keyed by the frontend's affinity group (its Service port), not the frontend. */
	struct sl_lb_aff_key ak = { .client = k->src, .vip = s->aff_vip, .port = s->aff_port,
				    .proto = k->proto };
	uint64_t who = sl_lb_aff_who(k->src, s->aff_vip);
	uint32_t what = sl_lb_aff_what(s->aff_port, k->proto);
	int pos = rte_hash_lookup(sl_lb_aff.hash, &ak);
	if (pos >= 0) {
		struct sl_lb_aff_entry *a = &sl_lb_aff.entries[pos];
		uint64_t last = atomic_load_explicit(&a->last_tsc, memory_order_relaxed);
		if (atomic_load_explicit(&a->who, memory_order_acquire) == who &&
		    atomic_load_explicit(&a->what, memory_order_relaxed) == what &&
		    (now_tsc <= last || now_tsc - last <= s->affinity_tsc)) {
			uint64_t b = atomic_load_explicit(&a->backend, memory_order_relaxed);
			const struct sl_lb_backend *be =
				sl_lb_active_backend(s, (uint32_t)(b >> 16), (uint16_t)b);
			if (be) {
				if (now_tsc > last)
					atomic_store_explicit(&a->last_tsc, now_tsc,
							      memory_order_relaxed);
				atomic_fetch_add_explicit(&sl_lb_aff.hits, 1, memory_order_relaxed);
				*ret_ref = (uint32_t)pos + 1;
				return be;
			}
		}
		/* Expired, being written, or its backend no longer active: pick again. */
	} else {
		pos = rte_hash_add_key(sl_lb_aff.hash, &ak);
		if (unlikely(pos < 0)) {
			atomic_fetch_add_explicit(&sl_lb_aff.full, 1, memory_order_relaxed);
			*ret_ref = 0;
			return sl_lb_pick(s, hash);
		}
	}
	const struct sl_lb_backend *be = sl_lb_pick(s, hash);
	struct sl_lb_aff_entry *a = &sl_lb_aff.entries[pos];
	atomic_store_explicit(&a->backend, (uint64_t)be->ip << 16 | be->port, memory_order_relaxed);
	atomic_store_explicit(&a->timeout_s, s->affinity_s, memory_order_relaxed);
	atomic_store_explicit(&a->last_tsc, now_tsc, memory_order_relaxed);
	atomic_store_explicit(&a->what, what, memory_order_relaxed);
	atomic_store_explicit(&a->who, who, memory_order_release);
	*ret_ref = (uint32_t)pos + 1;
	return be;
}

unsigned sl_lb_affinity_age(uint64_t now_tsc, unsigned budget)
{
	if (!sl_lb_aff.hash)
		return 0;
	unsigned removed = 0;
	const void *key;
	void *data;
	for (unsigned seen = 0; seen < budget; seen++) {
		int32_t pos = rte_hash_iterate(sl_lb_aff.hash, &key, &data, &sl_lb_aff.age_cursor);
		if (pos < 0) {
			sl_lb_aff.age_cursor = 0; /* a full pass done: start over next time */
			break;
		}
		struct sl_lb_aff_key kc = *(const struct sl_lb_aff_key *)key, *k = &kc;
		struct sl_lb_aff_entry *a = &sl_lb_aff.entries[pos];
		if (atomic_load_explicit(&a->who, memory_order_acquire) !=
			    sl_lb_aff_who(k->client, k->vip) ||
		    atomic_load_explicit(&a->what, memory_order_relaxed) !=
			    sl_lb_aff_what(k->port, k->proto))
			continue; /* a worker is writing it */
		uint64_t last = atomic_load_explicit(&a->last_tsc, memory_order_relaxed);
		uint64_t timeout = atomic_load_explicit(&a->timeout_s, memory_order_relaxed) *
				   sl_lb_aff.tsc_hz;
		if (now_tsc > last && now_tsc - last > timeout) {
			/* Say it holds nothing, so a late touch through an old reference and a
			 * reader that still finds the key both see it gone. */
			atomic_store_explicit(&a->who, 0, memory_order_relaxed);
			rte_hash_del_key(sl_lb_aff.hash, k);
			removed++;
		}
	}
	sl_lb_aff.aged += removed;
	return removed;
}

uint32_t sl_lb_affinity_count(void)
{
	/* rte_hash_count() counts the slots of deleted keys still waiting for their grace
	 * period, and per-lcore caches approximately: walk the keys. */
	uint32_t n = 0, it = 0;
	const void *key;
	void *data;
	while (sl_lb_aff.hash && rte_hash_iterate(sl_lb_aff.hash, &key, &data, &it) >= 0)
		n++;
	return n;
}
