/* The policy store's label indexes (see sl_policy_int.h): the selector index, which names
 * the policies a pod change can touch, and the pod index (the pods of one namespace with one
 * label), both buckets of ids by pol_label_hash. Control thread. */
#include <limits.h>
#include <stdlib.h>

#include "sl_policy_int.h"

/* The selector index: which policies a pod change can touch, without looking at the others.
 * Each selector a policy's compiled part depends on for pods is entered under a scope: its
 * namespace's group for the podSelector and the peers without namespaceSelector (they select
 * pods of that namespace only), POL_SCOPE_ANY for the pod selectors of namespaceSelector peers.
 * A selector is entered under (scope, key, value) for each matchLabels entry and each value of
 * an In expression, and (scope, key, *) for each Exists, NotIn and DoesNotExist expression. A
 * selector without a positive term (empty, or only NotIn/DoesNotExist) can select a pod that has
 * none of its keys, so it is also entered under (scope, ALWAYS); so are the policies whose
 * named-port egress rules resolve ports of pods by address (POL_SCOPE_ANY). Then:
 *  - a pod with labels L (added, deleted, new address or ports) can be selected only by the
 *    entries of (k, v) and (k, *) for (k, v) in L, and ALWAYS;
 *  - a label change of the keys K can change a selection only where a selector mentions a key of
 *    K with its old value, its new value, or any value (k, *).
 * Both in the pod's group and POL_SCOPE_ANY. Hash collisions only add candidates: each is checked
 * exactly (pol_touches_pod, pol_selection_differs), as before. */

uint64_t pol_label_hash(uint32_t scope, const char *key, const char *value)
{
	uint64_t h = sl_hash_str(key ? key : "", 0x9e3779b97f4a7c15ull * ((uint64_t)scope + 1));
	if (!key)
		return h ^ 0x2545f4914f6cdd1dull; /* ALWAYS */
	return value ? sl_hash_str(value, h ^ 0xff51afd7ed558ccdull) : h ^ 0xc4ceb9fe1a85ec53ull;
}

struct bucket_key {
	const struct pol_bidx *ix;
	uint64_t h;
};

static bool bucket_match(const void *ctx, uint32_t id, const void *k)
{
	(void)ctx;
	const struct bucket_key *bk = k;
	return bk->ix->b[id].hash == bk->h;
}

const struct pol_bucket *pol_bucket_find(const struct pol_bidx *ix, uint64_t h)
{
	struct bucket_key k = { ix, h };
	int64_t id = sl_index_find(&ix->by_hash, h, bucket_match, NULL, &k);
	return id < 0 ? NULL : &ix->b[id];
}

int pol_bucket_add(struct sl_pol_store *st, struct pol_bidx *ix, uint64_t h, uint32_t id)
{
	struct pol_bucket *b = (struct pol_bucket *)pol_bucket_find(ix, h);
	if (!b) {
		if (ix->n == ix->cap) {
			uint32_t cap = ix->cap ? ix->cap * 2 : 64;
			void *v = realloc(ix->b, cap * sizeof(*ix->b));
			if (!v)
				return -ENOMEM;
			ix->b = v;
			ix->cap = cap;
		}
		if (sl_index_add(&ix->by_hash, h, ix->n) < 0)
			return -ENOMEM;
		b = &ix->b[ix->n++];
		*b = (struct pol_bucket){ .hash = h };
		st->bytes += sizeof(*b);
	}
	if (pol_ids_push(&b->ids, &b->n, &b->cap, id) < 0)
		return -ENOMEM;
	return 0;
}

void pol_bucket_del(struct pol_bidx *ix, uint64_t h, uint32_t id)
{
	struct pol_bucket *b = (struct pol_bucket *)pol_bucket_find(ix, h);
	if (!b)
		return;
	for (uint32_t i = b->n; i-- > 0;)
		if (b->ids[i] == id) {
			b->ids[i] = b->ids[--b->n];
			return;
		}
}

void pol_bidx_free(struct pol_bidx *ix)
{
	for (uint32_t i = 0; i < ix->n; i++)
		free(ix->b[i].ids);
	free(ix->b);
	sl_index_free(&ix->by_hash);
}

/* Calls fn(h) for each entry of a policy, in the same order each time; stops at the first
 * error. */
struct sel_walk {
	struct sl_pol_store *st;
	uint32_t pol;
	bool add;
	unsigned left; /* add: entries added so far; del: entries left to remove */
};

static int sel_entry(struct sel_walk *w, uint64_t h)
{
	if (w->add) {
		if (pol_bucket_add(w->st, &w->st->sel_ix, h, w->pol) < 0)
			return -ENOMEM;
		w->left++;
		return 0;
	}
	if (!w->left)
		return -1; /* undoing a partial add: done */
	w->left--;
	pol_bucket_del(&w->st->sel_ix, h, w->pol);
	return 0;
}

static int sel_entries(struct sel_walk *w, uint32_t scope, const struct sl_selector *s)
{
	bool positive = s->match.n > 0;
	for (unsigned i = 0; i < s->match.n; i++)
		if (sel_entry(w, pol_label_hash(scope, s->match.v[i].key, s->match.v[i].value)) < 0)
			return -1;
	for (unsigned i = 0; i < s->n_exprs; i++) {
		const struct sl_sel_expr *e = &s->exprs[i];
		if (e->op == SL_SEL_IN) {
			for (unsigned v = 0; v < e->n_values; v++)
				if (sel_entry(w, pol_label_hash(scope, e->key, e->values[v])) < 0)
					return -1;
		} else if (sel_entry(w, pol_label_hash(scope, e->key, NULL)) < 0) {
			return -1;
		}
		positive |= e->op == SL_SEL_IN || e->op == SL_SEL_EXISTS;
	}
	if (!positive && sel_entry(w, pol_label_hash(scope, NULL, NULL)) < 0)
		return -1;
	return 0;
}

static int pol_entries(struct sel_walk *w, const struct pol *p)
{
	const struct sl_np_spec *sp = p->pub.spec;
	const uint64_t any_always = pol_label_hash(POL_SCOPE_ANY, NULL, NULL);
	if (sel_entries(w, p->group, &sp->pod_sel) < 0)
		return -1;
	for (int d = 0; d < SL_POL_NDIRS; d++)
		for (unsigned i = 0; i < sp->n_rules[d]; i++) {
			const struct sl_np_rule *r = &sp->rules[d][i];
			bool named = d == SL_POL_EGRESS && pol_rule_named_port(r);
			if (named && !r->n_peers && sel_entry(w, any_always) < 0)
				return -1;
			for (unsigned k = 0; k < r->n_peers; k++) {
				const struct sl_np_peer *pe = &r->peers[k];
				int rc = 0;
				if (pe->kind == SL_PEER_IPBLOCK)
					rc = named ? sel_entry(w, any_always) : 0;
				else if (pe->has_ns_sel)
					rc = pe->has_pod_sel
						     ? sel_entries(w, POL_SCOPE_ANY, &pe->pod_sel)
						     : sel_entry(w, any_always);
				else if (pe->has_pod_sel)
					rc = sel_entries(w, p->group, &pe->pod_sel);
				else
					rc = sel_entry(w, pol_label_hash(p->group, NULL, NULL));
				if (rc < 0)
					return -1;
			}
		}
	return 0;
}

int pol_index(struct sl_pol_store *st, const struct pol *p)
{
	struct sel_walk w = { .st = st, .pol = p->pub.id, .add = true };
	if (pol_entries(&w, p) == 0)
		return 0;
	w.add = false;
	pol_entries(&w, p);
	return -ENOMEM;
}

void pol_unindex(struct sl_pol_store *st, const struct pol *p)
{
	struct sel_walk w = { .st = st, .pol = p->pub.id, .add = false, .left = UINT_MAX };
	pol_entries(&w, p);
}
