/* A hash index from a key to object ids (uint32), for the model's lookups: open addressing
 * with linear probing, grown at half load, deletion by backward shift (no tombstones). The
 * index stores each id with its key's 64-bit hash; equality is the caller's match callback.
 * No DPDK, single thread (the control thread). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct sl_index_ent {
	uint64_t hash;
	uint32_t id1; /* id + 1; 0 = empty */
};

struct sl_index {
	struct sl_index_ent *e;
	uint32_t cap; /* power of two, 0 before the first add */
	uint32_t n;
};

/* Whether object id has the key the lookup asks for. */
typedef bool (*sl_index_match_fn)(const void *ctx, uint32_t id, const void *key);

/* Add id under hash h. Returns 0 or -ENOMEM. */
int sl_index_add(struct sl_index *ix, uint64_t h, uint32_t id);
/* The first id under h that match() accepts, or -1. */
int64_t sl_index_find(const struct sl_index *ix, uint64_t h, sl_index_match_fn match,
		      const void *ctx, const void *key);
/* Remove one entry of id added under h (an id may be added under several hashes). */
void sl_index_del(struct sl_index *ix, uint64_t h, uint32_t id);
void sl_index_free(struct sl_index *ix);
/* Start loading the slot where a lookup or add under h begins (a big index is a cache
 * miss a lookup; a batch asks for the next ones while it works on this one). */
void sl_index_prefetch(const struct sl_index *ix, uint64_t h);
/* Bytes the index holds. */
size_t sl_index_bytes(const struct sl_index *ix);

/* FNV-1a of a string, and of bytes mixed into an earlier hash. */
uint64_t sl_hash_str(const char *s, uint64_t seed);
