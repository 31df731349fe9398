/* The policy store's tables (see sl_policy_int.h): Namespaces, cluster pods, NetworkPolicies
 * and namespace groups by id and name; its life cycle, lookups, counts and the small
 * accessors the reconciler and the tests use. Changes are sl_policy_objects.c, batches
 * sl_policy_batch.c. Control thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_policy_int.h"

/* Id arrays. */

int pol_ids_push(uint32_t **a, uint32_t *n, uint32_t *cap, uint32_t id)
{
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 8;
		uint32_t *v = realloc(*a, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		*a = v;
		*cap = c;
	}
	(*a)[(*n)++] = id;
	return 0;
}

uint32_t pol_ids_remove(uint32_t *a, uint32_t *n, uint32_t pos)
{
	uint32_t last = a[--(*n)];
	if (pos == *n)
		return UINT32_MAX;
	a[pos] = last;
	return last;
}

static bool pod_ip_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_pol_store *st = ctx;
	return sl_ip_eq(((struct kpod *)st->pods.slots.obj[id])->pub.spec->ip,
			*(const struct sl_ip *)k);
}

/* Life cycle. */

struct sl_pol_store *sl_pol_store_create(const struct sl_model_limits *l)
{
	struct sl_pol_store *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pol_obj_tables_init(st);
	st->nss.slots.limit = l && l->namespaces ? l->namespaces : SL_MODEL_MAX_NAMESPACES;
	st->pods.slots.limit = l && l->k8s_pods ? l->k8s_pods : SL_MODEL_MAX_K8S_PODS;
	st->pols.slots.limit = l && l->policies ? l->policies : SL_MODEL_MAX_POLICIES;
	/* A group per namespace name in use: by a Namespace, a pod or a policy. */
	st->groups.slots.limit = st->nss.slots.limit + st->pods.slots.limit + st->pols.slots.limit;
	st->changed = true; /* the first set (empty) is assembled on the first call */
	return st;
}

void pol_set_free_arrays(struct sl_pol_set *s)
{
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		free(s->dir[d].isolated);
		free(s->dir[d].isolated_by);
		free(s->dir[d].rules);
	}
	free(s->names);
}

void sl_pol_set_free(struct sl_pol_set *s)
{
	if (!s)
		return;
	pol_set_free_arrays(s);
	free(s);
}

static void ns_free(void *o)
{
	sl_ns_spec_free(((struct sl_model_ns *)o)->spec);
	free(o);
}

static void kpod_free(void *o)
{
	sl_kpod_spec_free(((struct kpod *)o)->pub.spec);
	free(o);
}

static void pol_free(void *o)
{
	pol_part_free(o);
	sl_np_spec_free(((struct pol *)o)->pub.spec);
	free(o);
}

static void group_free(void *o)
{
	free(((struct pol_group *)o)->pods);
	free(((struct pol_group *)o)->pols);
	free(o);
}

void sl_pol_store_destroy(struct sl_model *m)
{
	struct sl_pol_store *st = sl_model_pols(m);
	if (!st)
		return;
	sl_named_free(&st->nss, ns_free);
	sl_named_free(&st->pods, kpod_free);
	sl_named_free(&st->pols, pol_free);
	sl_named_free(&st->groups, group_free);
	sl_index_free(&st->pod_by_ip);
	free(st->global);
	free(st->dirty);
	pol_bidx_free(&st->sel_ix);
	pol_bidx_free(&st->pod_ix);
	pol_set_free_arrays(&st->set);
	free(st);
}

/* Lookups. */

struct sl_model_ns *sl_model_ns_find(const struct sl_model *m, const char *name)
{
	return sl_named_find(&sl_model_pols(m)->nss, NULL, name);
}

struct pol_group *pol_group_find(const struct sl_pol_store *st, const char *name)
{
	return sl_named_find(&st->groups, NULL, name);
}

struct sl_model_kpod *sl_model_kpod_find(const struct sl_model *m, const char *ns,
					 const char *name)
{
	return sl_named_find(&sl_model_pols(m)->pods, ns, name);
}

struct sl_model_kpod *sl_model_kpod_by_ip(const struct sl_model *m, struct sl_ip ip)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	int64_t id = sl_index_find(&st->pod_by_ip, sl_ip_hash(ip), pod_ip_match, st, &ip);
	return id < 0 ? NULL : st->pods.slots.obj[id];
}

struct sl_model_policy *sl_model_policy_find(const struct sl_model *m, const char *ns,
					     const char *name)
{
	return sl_named_find(&sl_model_pols(m)->pols, ns, name);
}

struct sl_model_ns *sl_model_ns_next(const struct sl_model *m, uint32_t *id)
{
	return sl_named_next(&sl_model_pols(m)->nss, id);
}

struct sl_model_kpod *sl_model_kpod_next(const struct sl_model *m, uint32_t *id)
{
	return sl_named_next(&sl_model_pols(m)->pods, id);
}

struct sl_model_policy *sl_model_policy_next(const struct sl_model *m, uint32_t *id)
{
	return sl_named_next(&sl_model_pols(m)->pols, id);
}

void sl_model_policy_counts(const struct sl_model *m, unsigned *ret_ns, unsigned *ret_pods,
			    unsigned *ret_policies, size_t *ret_bytes)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	*ret_ns = st->nss.slots.used;
	*ret_pods = st->pods.slots.used;
	*ret_policies = st->pols.slots.used;
	*ret_bytes = sizeof(*st) + st->bytes + sl_index_bytes(&st->nss.by_name) +
		     sl_index_bytes(&st->pods.by_name) + sl_index_bytes(&st->pod_by_ip) +
		     sl_index_bytes(&st->pols.by_name) + sl_index_bytes(&st->groups.by_name);
}

/* Groups: created with their first member, freed with their last. */

struct pol_group *pol_group_get(struct sl_pol_store *st, const char *name)
{
	struct pol_group *g = pol_group_find(st, name);
	if (g)
		return g;
	if (!(g = calloc(1, sizeof(*g))))
		return NULL;
	snprintf(g->name, sizeof(g->name), "%s", name);
	if (sl_named_add(&st->groups, g, &g->id, NULL, 0) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

void pol_group_gc(struct sl_pol_store *st, struct pol_group *g)
{
	if (g->n_pods || g->n_pols || g->ns)
		return;
	sl_named_del(&st->groups, g->id);
	group_free(g);
}

/* The reconciler's and the tests' accessors. */

void sl_model_policy_set_notify(struct sl_model *m, void (*fn)(void *ctx, uint64_t generation),
				void *ctx)
{
	struct sl_pol_store *st = sl_model_pols(m);
	st->notify = fn;
	st->notify_ctx = ctx;
}

void sl_model_policy_stats(const struct sl_model *m, const struct sl_model_policy *mp,
			   unsigned *ret_local_pods, unsigned *ret_rules)
{
	const struct pol *p = (const struct pol *)mp;
	(void)m;
	*ret_local_pods = p->n_isolated[0] > p->n_isolated[1] ? p->n_isolated[0] : p->n_isolated[1];
	*ret_rules = p->n_rules[0] + p->n_rules[1];
}

void sl_pol_index_enable(struct sl_model *m, bool on)
{
	struct sl_pol_store *st = sl_model_pols(m);
	if (st)
		st->index_off = !on;
}

void sl_pol_dirty_each(const struct sl_model *m, void (*fn)(void *ctx, const char *ns,
							      const char *name), void *ctx)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	for (uint32_t i = 0; st && i < st->n_dirty; i++) {
		const struct pol *p = st->pols.slots.obj[st->dirty[i]];
		if (p && p->dirty)
			fn(ctx, p->pub.spec->namespace, p->pub.spec->name);
	}
}
