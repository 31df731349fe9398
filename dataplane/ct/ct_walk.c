/* Walking the conntrack table (see ct_walk.h). */
#include <assert.h>

#include "ct_walk.h"

static_assert(SL_CT_N_STATE_NAMES == SL_CT_STATE_COUNT, "a name for every conntrack state");

bool sl_ct_walk_step(uint32_t *cursor, unsigned budget,
		     bool (*fn)(struct sl_ct_entry *e, void *arg), void *arg)
{
	const void *key;
	void *data;
	for (unsigned seen = 0; seen < budget; seen++) {
		if (!sl_ct.hash || rte_hash_iterate(sl_ct.hash, &key, &data, cursor) < 0)
			return true;
		if ((uintptr_t)data & 1)
			continue; /* reverse keys: the flow is visited under its forward key */
		if (!fn(data, arg))
			return true;
	}
	return false;
}

unsigned sl_ct_walk(bool (*fn)(struct sl_ct_entry *e, void *arg), void *arg)
{
	unsigned n = 0;
	uint32_t it = 0;
	const void *key;
	void *data;
	while (sl_ct.hash && rte_hash_iterate(sl_ct.hash, &key, &data, &it) >= 0) {
		if ((uintptr_t)data & 1)
			continue; /* reverse keys: the flow is visited under its forward key */
		n++;
		if (!fn(data, arg))
			break;
	}
	return n;
}

struct flush {
	const struct sl_ct_filter *f;
	unsigned removed;
};

static bool flush_one(struct sl_ct_entry *e, void *arg)
{
	struct flush *fl = arg;
	if (sl_ct_match(fl->f, e)) {
		sl_ct_remove(e);
		fl->removed++;
	}
	return true;
}

unsigned sl_ct_flush(const struct sl_ct_filter *f)
{
	struct flush fl = { .f = f };
	sl_ct_walk(flush_one, &fl);
	sl_ct.flushed += fl.removed;
	return fl.removed;
}
