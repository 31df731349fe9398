/* Open-addressing hash index (see sl_index.h). */
#include <errno.h>
#include <stdlib.h>

#include "sl_index.h"

#define SL_INDEX_MIN_CAP 64

/* The slot a hash starts probing from (murmur3's finaliser spreads FNV's low bits). */
static uint32_t home(uint64_t h, uint32_t mask)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h & mask;
}

static int grow(struct sl_index *ix)
{
	uint32_t cap = ix->cap ? ix->cap * 2 : SL_INDEX_MIN_CAP;
	struct sl_index_ent *e = calloc(cap, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (uint32_t i = 0; i < ix->cap; i++) {
		if (!ix->e[i].id1)
			continue;
		uint32_t j = home(ix->e[i].hash, cap - 1);
		while (e[j].id1)
			j = (j + 1) & (cap - 1);
		e[j] = ix->e[i];
	}
	free(ix->e);
	ix->e = e;
	ix->cap = cap;
	return 0;
}

int sl_index_add(struct sl_index *ix, uint64_t h, uint32_t id)
{
	if ((ix->n + 1) * 2 > ix->cap && grow(ix) < 0)
		return -ENOMEM;
	uint32_t j = home(h, ix->cap - 1);
	while (ix->e[j].id1)
		j = (j + 1) & (ix->cap - 1);
	ix->e[j] = (struct sl_index_ent){ h, id + 1 };
	ix->n++;
	return 0;
}

int64_t sl_index_find(const struct sl_index *ix, uint64_t h, sl_index_match_fn match,
		      const void *ctx, const void *key)
{
	if (!ix->cap)
		return -1;
	for (uint32_t j = home(h, ix->cap - 1); ix->e[j].id1; j = (j + 1) & (ix->cap - 1))
		if (ix->e[j].hash == h && match(ctx, ix->e[j].id1 - 1, key))
			return ix->e[j].id1 - 1;
	return -1;
}

void sl_index_del(struct sl_index *ix, uint64_t h, uint32_t id)
{
	if (!ix->cap)
		return;
	uint32_t mask = ix->cap - 1, j = home(h, mask);
	/* The entry of this id under this hash: an id may be under several keys (a Service's
	 * frontends), whose entries can share a run. */
	while (ix->e[j].id1 && (ix->e[j].id1 != id + 1 || ix->e[j].hash != h))
		j = (j + 1) & mask;
	if (!ix->e[j].id1)
		return;
	/* Backward shift: move later entries of the run into the hole when their home slot
	 * does not lie (cyclically) between the hole and them. */
	for (uint32_t k = (j + 1) & mask; ix->e[k].id1; k = (k + 1) & mask) {
		uint32_t k_home = home(ix->e[k].hash, mask);
		if (((k - k_home) & mask) >= ((k - j) & mask)) {
			ix->e[j] = ix->e[k];
			j = k;
		}
	}
	ix->e[j] = (struct sl_index_ent){ 0 };
	ix->n--;
}

void sl_index_prefetch(const struct sl_index *ix, uint64_t h)
{
	if (ix->cap)
		__builtin_prefetch(&ix->e[home(h, ix->cap - 1)]);
}

void sl_index_free(struct sl_index *ix)
{
	free(ix->e);
	*ix = (struct sl_index){ 0 };
}

size_t sl_index_bytes(const struct sl_index *ix)
{
	return (size_t)ix->cap * sizeof(*ix->e);
}

uint64_t sl_hash_str(const char *s, uint64_t seed)
{
	uint64_t h = seed ? seed : 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull; /* end marker: "ab"+"c" != "a"+"bc" */
}
