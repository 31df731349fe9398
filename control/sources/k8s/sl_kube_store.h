/* What one reflector has handed on: per object key ("namespace/name", or "name" for
 * cluster-scoped kinds) its last resourceVersion and the relist generation that last saw
 * it. A watch event costs one lookup; a relist marks what it lists and then sweeps the rest
 * (the objects deleted while the watch was away). No DPDK; the owner's thread only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_kube_obj {
	struct sl_kube_obj *next; /* hash chain */
	uint64_t gen;             /* the relist that last saw it */
	bool refused;             /* the sink refused it: the model does not have it */
	char *rv;                 /* metadata.resourceVersion last handed on */
	char key[];               /* "ns/name" or "name" */
};

struct sl_kube_store {
	struct sl_kube_obj **bucket;
	size_t n_buckets; /* a power of two */
	size_t n;         /* objects */
	size_t bytes;     /* heap held */
};

void sl_kube_store_init(struct sl_kube_store *s);
void sl_kube_store_fini(struct sl_kube_store *s);
/* The object with this key, or NULL. */
struct sl_kube_obj *sl_kube_store_find(const struct sl_kube_store *s, const char *key);
/* Record key at rv (insert, or update the rv). Returns the object or NULL (out of memory). */
struct sl_kube_obj *sl_kube_store_set(struct sl_kube_store *s, const char *key, const char *rv);
/* Forget key; harmless when absent. */
void sl_kube_store_del(struct sl_kube_store *s, const char *key);
/* Call fn for every object whose gen is not gen, then forget them all (after fn). fn may not
 * change the store. Returns how many were swept. */
size_t sl_kube_store_sweep(struct sl_kube_store *s, uint64_t gen,
			   void (*fn)(void *arg, const struct sl_kube_obj *o), void *arg);
