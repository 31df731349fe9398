/* Namespaces, cluster pods and NetworkPolicies in the control model: storage, indexes,
 * all-or-nothing batches with the Services, and which policies a change touches (see
 * sl_policy.h). The compiler is sl_policy_compile.c. Control thread. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_policy_int.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__))

void sl_k8s_op_free_policy(struct sl_k8s_op *op)
{
	sl_ns_spec_free(op->ns);
	sl_kpod_spec_free(op->pod);
	sl_np_spec_free(op->policy);
	op->ns = NULL;
	op->pod = NULL;
	op->policy = NULL;
}

/* Id arrays. */

static int arr_push(uint32_t **a, uint32_t *n, uint32_t *cap, uint32_t id)
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

/* Remove entry pos by moving the last one there; returns the moved id or UINT32_MAX. */
static uint32_t arr_remove(uint32_t *a, uint32_t *n, uint32_t pos)
{
	uint32_t last = a[--(*n)];
	if (pos == *n)
		return UINT32_MAX;
	a[pos] = last;
	return last;
}

/* Keys. */

static uint64_t name_hash(const char *ns, const char *name)
{
	return sl_hash_str(name, sl_hash_str(ns, 0));
}

struct key {
	const char *ns, *name;
};

static bool ns_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_pol_store *st = ctx;
	return !strcmp(((struct sl_model_ns *)st->nss.obj[id])->spec->name, k);
}

static bool group_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_pol_store *st = ctx;
	return !strcmp(((struct pol_group *)st->groups.obj[id])->name, k);
}

static bool pod_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_pol_store *st = ctx;
	const struct sl_kpod_spec *s = ((struct kpod *)st->pods.obj[id])->pub.spec;
	const struct key *key = k;
	return !strcmp(s->name, key->name) && !strcmp(s->namespace, key->ns);
}

static bool pod_ip_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_pol_store *st = ctx;
	return sl_ip_eq(((struct kpod *)st->pods.obj[id])->pub.spec->ip, *(const struct sl_ip *)k);
}

static bool pol_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_pol_store *st = ctx;
	const struct sl_np_spec *s = ((struct pol *)st->pols.obj[id])->pub.spec;
	const struct key *key = k;
	return !strcmp(s->name, key->name) && !strcmp(s->namespace, key->ns);
}

/* Life cycle. */

struct sl_pol_store *sl_pol_store_create(const struct sl_model_limits *l)
{
	struct sl_pol_store *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->nss.limit = l && l->namespaces ? l->namespaces : SL_MODEL_MAX_NAMESPACES;
	st->pods.limit = l && l->k8s_pods ? l->k8s_pods : SL_MODEL_MAX_K8S_PODS;
	st->pols.limit = l && l->policies ? l->policies : SL_MODEL_MAX_POLICIES;
	/* A group per namespace name in use: by a Namespace, a pod or a policy. */
	st->groups.limit = st->nss.limit + st->pods.limit + st->pols.limit;
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

static void bidx_free(struct pol_bidx *ix);

void sl_pol_store_destroy(struct sl_model *m)
{
	struct sl_pol_store *st = sl_model_pols(m);
	void *o;
	if (!st)
		return;
	for (uint32_t i = 0; (o = slot_next(&st->nss, &i));) {
		sl_ns_spec_free(((struct sl_model_ns *)o)->spec);
		free(o);
	}
	for (uint32_t i = 0; (o = slot_next(&st->pods, &i));) {
		sl_kpod_spec_free(((struct kpod *)o)->pub.spec);
		free(o);
	}
	for (uint32_t i = 0; (o = slot_next(&st->pols, &i));) {
		pol_part_free(o);
		sl_np_spec_free(((struct pol *)o)->pub.spec);
		free(o);
	}
	for (uint32_t i = 0; (o = slot_next(&st->groups, &i));) {
		free(((struct pol_group *)o)->pods);
		free(((struct pol_group *)o)->pols);
		free(o);
	}
	slots_free(&st->nss);
	slots_free(&st->pods);
	slots_free(&st->pols);
	slots_free(&st->groups);
	sl_index_free(&st->ns_by_name);
	sl_index_free(&st->pod_by_name);
	sl_index_free(&st->pod_by_ip);
	sl_index_free(&st->pol_by_name);
	sl_index_free(&st->group_by_name);
	free(st->global);
	free(st->dirty);
	bidx_free(&st->sel_ix);
	bidx_free(&st->pod_ix);
	pol_set_free_arrays(&st->set);
	free(st);
}

/* Lookups. */

struct sl_model_ns *sl_model_ns_find(const struct sl_model *m, const char *name)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	int64_t id = sl_index_find(&st->ns_by_name, sl_hash_str(name, 0), ns_match, st, name);
	return id < 0 ? NULL : st->nss.obj[id];
}

struct pol_group *pol_group_find(const struct sl_pol_store *st, const char *name)
{
	int64_t id = sl_index_find(&st->group_by_name, sl_hash_str(name, 0), group_match, st,
				   name);
	return id < 0 ? NULL : st->groups.obj[id];
}

struct sl_model_kpod *sl_model_kpod_find(const struct sl_model *m, const char *ns,
					 const char *name)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	struct key k = { ns, name };
	int64_t id = sl_index_find(&st->pod_by_name, name_hash(ns, name), pod_match, st, &k);
	return id < 0 ? NULL : st->pods.obj[id];
}

struct sl_model_kpod *sl_model_kpod_by_ip(const struct sl_model *m, struct sl_ip ip)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	int64_t id = sl_index_find(&st->pod_by_ip, sl_ip_hash(ip), pod_ip_match, st, &ip);
	return id < 0 ? NULL : st->pods.obj[id];
}

struct sl_model_policy *sl_model_policy_find(const struct sl_model *m, const char *ns,
					     const char *name)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	struct key k = { ns, name };
	int64_t id = sl_index_find(&st->pol_by_name, name_hash(ns, name), pol_match, st, &k);
	return id < 0 ? NULL : st->pols.obj[id];
}

struct sl_model_ns *sl_model_ns_next(const struct sl_model *m, uint32_t *id)
{
	return slot_next(&sl_model_pols(m)->nss, id);
}

struct sl_model_kpod *sl_model_kpod_next(const struct sl_model *m, uint32_t *id)
{
	return slot_next(&sl_model_pols(m)->pods, id);
}

struct sl_model_policy *sl_model_policy_next(const struct sl_model *m, uint32_t *id)
{
	return slot_next(&sl_model_pols(m)->pols, id);
}

void sl_model_policy_counts(const struct sl_model *m, unsigned *ret_ns, unsigned *ret_pods,
			    unsigned *ret_policies, size_t *ret_bytes)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	*ret_ns = st->nss.used;
	*ret_pods = st->pods.used;
	*ret_policies = st->pols.used;
	*ret_bytes = sizeof(*st) + st->bytes + sl_index_bytes(&st->ns_by_name) +
		     sl_index_bytes(&st->pod_by_name) + sl_index_bytes(&st->pod_by_ip) +
		     sl_index_bytes(&st->pol_by_name) + sl_index_bytes(&st->group_by_name);
}

bool pol_pod_addressed(const struct sl_kpod_spec *p)
{
	return p->ip.af == AF_INET && !p->host_network;
}

const struct sl_labels *pol_ns_labels(const struct pol_group *g, struct sl_labels *tmp,
				      struct sl_label *tmp_label)
{
	if (g->ns)
		return &g->ns->spec->labels;
	tmp_label->key = (char *)SL_LABEL_NS_NAME;
	tmp_label->value = (char *)g->name;
	tmp->v = tmp_label;
	tmp->n = 1;
	return tmp;
}

bool pol_peer_selects(const struct sl_pol_store *st, const struct sl_np_peer *pe,
		      const char *ns, const struct pol_group *g, const struct sl_kpod_spec *s)
{
	(void)st;
	if (pe->kind != SL_PEER_PODS)
		return false;
	if (pe->has_ns_sel) {
		struct sl_labels tmp;
		struct sl_label tl;
		if (!sl_selector_match(&pe->ns_sel, pol_ns_labels(g, &tmp, &tl)))
			return false;
	} else if (strcmp(s->namespace, ns)) {
		return false;
	}
	return !pe->has_pod_sel || sl_selector_match(&pe->pod_sel, &s->labels);
}

/* Groups: created with their first member, freed with their last. */

static struct pol_group *group_get(struct sl_pol_store *st, const char *name)
{
	struct pol_group *g = pol_group_find(st, name);
	if (g)
		return g;
	if (!(g = calloc(1, sizeof(*g))))
		return NULL;
	if (slot_take(&st->groups, &g->id) < 0) {
		free(g);
		return NULL;
	}
	snprintf(g->name, sizeof(g->name), "%s", name);
	st->groups.obj[g->id] = g;
	if (sl_index_add(&st->group_by_name, sl_hash_str(name, 0), g->id) < 0) {
		slot_put(&st->groups, g->id);
		free(g);
		return NULL;
	}
	return g;
}

static void group_gc(struct sl_pol_store *st, struct pol_group *g)
{
	if (g->n_pods || g->n_pols || g->ns)
		return;
	sl_index_del(&st->group_by_name, sl_hash_str(g->name, 0), g->id);
	slot_put(&st->groups, g->id);
	free(g->pods);
	free(g->pols);
	free(g);
}

/* Dirty marks. */

static void mark(struct sl_pol_store *st, struct pol *p)
{
	st->changed = true;
	if (p->dirty)
		return;
	p->dirty = true;
	if (arr_push(&st->dirty, &st->n_dirty, &st->cap_dirty, p->pub.id) < 0)
		p->dirty = false; /* out of memory: compiled again at the next mark */
}

static bool rule_named_port(const struct sl_np_rule *r)
{
	for (unsigned i = 0; i < r->n_ports; i++)
		if (r->ports[i].name[0])
			return true;
	return false;
}

static uint64_t key_bit(const char *key)
{
	return 1ull << (sl_hash_str(key, 0) & 63);
}

/* The keys whose values differ between two label sets (sorted by key). */
static uint64_t labels_diff(const struct sl_labels *a, const struct sl_labels *b)
{
	uint64_t m = 0;
	unsigned i = 0, k = 0;
	while (i < a->n || k < b->n) {
		int c = i == a->n ? 1 : k == b->n ? -1 : strcmp(a->v[i].key, b->v[k].key);
		if (c < 0) {
			m |= key_bit(a->v[i++].key);
		} else if (c > 0) {
			m |= key_bit(b->v[k++].key);
		} else {
			if (strcmp(a->v[i].value, b->v[k].value))
				m |= key_bit(a->v[i].key);
			i++;
			k++;
		}
	}
	return m;
}

/* Whether the policy's compiled part depends on pods of other namespaces. */
static bool spec_global(const struct sl_np_spec *s)
{
	for (int d = 0; d < SL_POL_NDIRS; d++)
		for (unsigned i = 0; i < s->n_rules[d]; i++) {
			const struct sl_np_rule *r = &s->rules[d][i];
			bool named = d == SL_POL_EGRESS && rule_named_port(r);
			if (named && !r->n_peers)
				return true;
			for (unsigned k = 0; k < r->n_peers; k++)
				if (r->peers[k].has_ns_sel ||
				    (named && r->peers[k].kind == SL_PEER_IPBLOCK))
					return true;
		}
	return false;
}

/* The selector index: which policies a pod change can touch, without looking at the others.
 * Each selector a policy's compiled part depends on for pods is entered under a scope: its
 * namespace's group for the podSelector and the peers without namespaceSelector (they select
 * pods of that namespace only), SCOPE_ANY for the pod selectors of namespaceSelector peers.
 * A selector is entered under (scope, key, value) for each matchLabels entry and each value of
 * an In expression, and (scope, key, *) for each Exists, NotIn and DoesNotExist expression. A
 * selector without a positive term (empty, or only NotIn/DoesNotExist) can select a pod that has
 * none of its keys, so it is also entered under (scope, ALWAYS); so are the policies whose
 * named-port egress rules resolve ports of pods by address (SCOPE_ANY). Then:
 *  - a pod with labels L (added, deleted, new address or ports) can be selected only by the
 *    entries of (k, v) and (k, *) for (k, v) in L, and ALWAYS;
 *  - a label change of the keys K can change a selection only where a selector mentions a key of
 *    K with its old value, its new value, or any value (k, *).
 * Both in the pod's group and SCOPE_ANY. Hash collisions only add candidates: each is checked
 * exactly (pol_touches_pod, pol_selection_differs), as before. */

#define SCOPE_ANY UINT32_MAX

uint64_t pol_label_hash(uint32_t scope, const char *key, const char *value)
{
	uint64_t h = sl_hash_str(key ? key : "", 0x9e3779b97f4a7c15ull * ((uint64_t)scope + 1));
	if (!key)
		return h ^ 0x2545f4914f6cdd1dull; /* ALWAYS */
	return value ? sl_hash_str(value, h ^ 0xff51afd7ed558ccdull) : h ^ 0xc4ceb9fe1a85ec53ull;
}
#define sel_hash pol_label_hash

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

static int bucket_add(struct sl_pol_store *st, struct pol_bidx *ix, uint64_t h, uint32_t id)
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
	if (arr_push(&b->ids, &b->n, &b->cap, id) < 0)
		return -ENOMEM;
	return 0;
}

/* Remove one entry of id (buckets stay, emptied: a key seen once is likely seen again). */
static void bucket_del(struct pol_bidx *ix, uint64_t h, uint32_t id)
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

static void bidx_free(struct pol_bidx *ix)
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
		if (bucket_add(w->st, &w->st->sel_ix, h, w->pol) < 0)
			return -ENOMEM;
		w->left++;
		return 0;
	}
	if (!w->left)
		return -1; /* undoing a partial add: done */
	w->left--;
	bucket_del(&w->st->sel_ix, h, w->pol);
	return 0;
}

static int sel_entries(struct sel_walk *w, uint32_t scope, const struct sl_selector *s)
{
	bool positive = s->match.n > 0;
	for (unsigned i = 0; i < s->match.n; i++)
		if (sel_entry(w, sel_hash(scope, s->match.v[i].key, s->match.v[i].value)) < 0)
			return -1;
	for (unsigned i = 0; i < s->n_exprs; i++) {
		const struct sl_sel_expr *e = &s->exprs[i];
		if (e->op == SL_SEL_IN) {
			for (unsigned v = 0; v < e->n_values; v++)
				if (sel_entry(w, sel_hash(scope, e->key, e->values[v])) < 0)
					return -1;
		} else if (sel_entry(w, sel_hash(scope, e->key, NULL)) < 0) {
			return -1;
		}
		positive |= e->op == SL_SEL_IN || e->op == SL_SEL_EXISTS;
	}
	if (!positive && sel_entry(w, sel_hash(scope, NULL, NULL)) < 0)
		return -1;
	return 0;
}

static int pol_entries(struct sel_walk *w, const struct pol *p)
{
	const struct sl_np_spec *sp = p->pub.spec;
	if (sel_entries(w, p->group, &sp->pod_sel) < 0)
		return -1;
	for (int d = 0; d < SL_POL_NDIRS; d++)
		for (unsigned i = 0; i < sp->n_rules[d]; i++) {
			const struct sl_np_rule *r = &sp->rules[d][i];
			bool named = d == SL_POL_EGRESS && rule_named_port(r);
			if (named && !r->n_peers &&
			    sel_entry(w, sel_hash(SCOPE_ANY, NULL, NULL)) < 0)
				return -1;
			for (unsigned k = 0; k < r->n_peers; k++) {
				const struct sl_np_peer *pe = &r->peers[k];
				int rc = 0;
				if (pe->kind == SL_PEER_IPBLOCK)
					rc = named ? sel_entry(w, sel_hash(SCOPE_ANY, NULL, NULL)) : 0;
				else if (pe->has_ns_sel)
					rc = pe->has_pod_sel
						     ? sel_entries(w, SCOPE_ANY, &pe->pod_sel)
						     : sel_entry(w, sel_hash(SCOPE_ANY, NULL, NULL));
				else if (pe->has_pod_sel)
					rc = sel_entries(w, p->group, &pe->pod_sel);
				else
					rc = sel_entry(w, sel_hash(p->group, NULL, NULL));
				if (rc < 0)
					return -1;
			}
		}
	return 0;
}

/* Enter p (its group set) in the index: 0 or -ENOMEM (then nothing of it is entered). */
static int pol_index(struct sl_pol_store *st, const struct pol *p)
{
	struct sel_walk w = { .st = st, .pol = p->pub.id, .add = true };
	if (pol_entries(&w, p) == 0)
		return 0;
	w.add = false;
	pol_entries(&w, p);
	return -ENOMEM;
}

static void pol_unindex(struct sl_pol_store *st, const struct pol *p)
{
	struct sel_walk w = { .st = st, .pol = p->pub.id, .add = false, .left = UINT_MAX };
	pol_entries(&w, p);
}


/* Whether pod s (of group g) can change p's compiled part. */
static bool pol_touches_pod(const struct sl_pol_store *st, const struct pol *p,
			    const struct pol_group *g, const struct sl_kpod_spec *s)
{
	const struct sl_np_spec *sp = p->pub.spec;
	if (!s || !pol_pod_addressed(s))
		return false;
	if (p->group == g->id && sl_selector_match(&sp->pod_sel, &s->labels))
		return true;
	for (int d = 0; d < SL_POL_NDIRS; d++)
		for (unsigned i = 0; i < sp->n_rules[d]; i++) {
			const struct sl_np_rule *r = &sp->rules[d][i];
			bool named = d == SL_POL_EGRESS && rule_named_port(r);
			if (named && !r->n_peers)
				return true;
			for (unsigned k = 0; k < r->n_peers; k++) {
				const struct sl_np_peer *pe = &r->peers[k];
				if (pe->kind == SL_PEER_IPBLOCK ? named && !pe->v6 &&
								     sl_cidr_contains(pe->cidr, s->ip)
								 : pol_peer_selects(st, pe, sp->namespace,
										    g, s))
					return true;
			}
		}
	return false;
}

/* Whether a pod's address or container ports differ (what the rules carry of it). */
static bool pod_addr_differs(const struct sl_kpod_spec *a, const struct sl_kpod_spec *b)
{
	return !a || !b || pol_pod_addressed(a) != pol_pod_addressed(b) || !sl_ip_eq(a->ip, b->ip) ||
	       a->n_ports != b->n_ports ||
	       (a->n_ports && memcmp(a->ports, b->ports, a->n_ports * sizeof(*a->ports)));
}

/* With the same address and ports: whether p selects the pod differently (as its target,
 * or by any peer) before and after a label change. */
static bool pol_selection_differs(const struct sl_pol_store *st, const struct pol *p,
				  const struct pol_group *g, const struct sl_kpod_spec *a,
				  const struct sl_kpod_spec *b)
{
	const struct sl_np_spec *sp = p->pub.spec;
	bool same_ns = p->group == g->id;
	if (!pol_pod_addressed(a))
		return false;
	if (same_ns &&
	    sl_selector_match(&sp->pod_sel, &a->labels) != sl_selector_match(&sp->pod_sel, &b->labels))
		return true;
	for (int d = 0; d < SL_POL_NDIRS; d++)
		for (unsigned i = 0; i < sp->n_rules[d]; i++)
			for (unsigned k = 0; k < sp->rules[d][i].n_peers; k++) {
				const struct sl_np_peer *pe = &sp->rules[d][i].peers[k];
				/* The namespace part is the same for both: only the pod
				 * selector can differ, and matters if the namespace matches. */
				if (pe->kind != SL_PEER_PODS || !pe->has_pod_sel ||
				    (!pe->has_ns_sel && !same_ns) ||
				    sl_selector_match(&pe->pod_sel, &a->labels) ==
					    sl_selector_match(&pe->pod_sel, &b->labels))
					continue;
				if (pol_peer_selects(st, pe, sp->namespace, g, a) !=
				    pol_peer_selects(st, pe, sp->namespace, g, b))
					return true;
			}
	return false;
}

/* A new visit stamp (every policy unvisited). */
static void visit_next(struct sl_pol_store *st)
{
	if (++st->visit == 0) { /* wrapped: forget the old stamps */
		void *o;
		for (uint32_t i = 0; (o = slot_next(&st->pols, &i));)
			((struct pol *)o)->visit = 0;
		st->visit = 1;
	}
}

/* Check p for a pod change (see pod_changed) and mark it when touched. */
static void pod_check(struct sl_pol_store *st, struct pol *p, const struct pol_group *g,
		      const struct sl_kpod_spec *old, const struct sl_kpod_spec *new, bool addr)
{
	if (p->dirty || p->visit == st->visit)
		return;
	p->visit = st->visit;
	if (p->group != g->id && !p->global)
		return; /* selects pods of its own namespace only */
	if (st->coarse) { /* a large batch: a candidate is marked (see SL_POL_COARSE_PODS) */
		mark(st, p);
		return;
	}
	if (addr ? pol_touches_pod(st, p, g, old) || pol_touches_pod(st, p, g, new)
		 : pol_selection_differs(st, p, g, old, new))
		mark(st, p);
}

static void bucket_check(struct sl_pol_store *st, uint64_t h, const struct pol_group *g,
			 const struct sl_kpod_spec *old, const struct sl_kpod_spec *new, bool addr)
{
	const struct pol_bucket *b = pol_bucket_find(&st->sel_ix, h);
	for (uint32_t i = 0; b && i < b->n; i++)
		pod_check(st, st->pols.obj[b->ids[i]], g, old, new, addr);
}

/* The candidates of key k with value v (NULL: absent) in both scopes. */
static void key_check(struct sl_pol_store *st, const char *k, const char *v,
		      const struct pol_group *g, const struct sl_kpod_spec *old,
		      const struct sl_kpod_spec *new, bool addr)
{
	for (int sc = 0; sc < 2; sc++) {
		uint32_t scope = sc ? SCOPE_ANY : g->id;
		if (v)
			bucket_check(st, sel_hash(scope, k, v), g, old, new, addr);
		bucket_check(st, sel_hash(scope, k, NULL), g, old, new, addr);
	}
}

/* Mark the policies a pod change (old -> new, either NULL) touches: with a new address or
 * ports, every policy selecting it before or after; else (labels only) those whose
 * selection of it changes. Only the policies the selector index names are looked at (all of
 * the namespace's and the global ones with index_off). */
static void pod_changed(struct sl_pol_store *st, const struct pol_group *g,
			const struct sl_kpod_spec *old, const struct sl_kpod_spec *new)
{
	bool addr = pod_addr_differs(old, new);
	if (!addr && !labels_diff(&old->labels, &new->labels))
		return; /* the same address, ports and labels */
	visit_next(st);
	if (st->index_off) {
		for (uint32_t i = 0; i < g->n_pols; i++)
			pod_check(st, st->pols.obj[g->pols[i]], g, old, new, addr);
		for (uint32_t i = 0; i < st->n_global; i++)
			pod_check(st, st->pols.obj[st->global[i]], g, old, new, addr);
		return;
	}
	if (addr) {
		for (int sc = 0; sc < 2; sc++)
			bucket_check(st, sel_hash(sc ? SCOPE_ANY : g->id, NULL, NULL), g, old, new,
				     addr);
		for (int side = 0; side < 2; side++) {
			const struct sl_kpod_spec *s = side ? new : old;
			for (unsigned i = 0; s && i < s->labels.n; i++)
				key_check(st, s->labels.v[i].key, s->labels.v[i].value, g, old, new,
					  addr);
		}
		return;
	}
	/* Labels only: each key whose value differs, with its old and new values. */
	const struct sl_labels *a = &old->labels, *b = &new->labels;
	unsigned i = 0, k = 0;
	while (i < a->n || k < b->n) {
		int c = i == a->n ? 1 : k == b->n ? -1 : strcmp(a->v[i].key, b->v[k].key);
		if (c < 0) {
			key_check(st, a->v[i].key, a->v[i].value, g, old, new, addr);
			i++;
		} else if (c > 0) {
			key_check(st, b->v[k].key, b->v[k].value, g, old, new, addr);
			k++;
		} else {
			if (strcmp(a->v[i].value, b->v[k].value)) {
				key_check(st, a->v[i].key, a->v[i].value, g, old, new, addr);
				for (int sc = 0; sc < 2; sc++)
					bucket_check(st, sel_hash(sc ? SCOPE_ANY : g->id,
								  b->v[k].key, b->v[k].value),
						     g, old, new, addr);
			}
			i++;
			k++;
		}
	}
}

/* Mark the global policies whose namespaceSelectors match labels a or b. */
static void ns_changed(struct sl_pol_store *st, const struct sl_labels *a,
		       const struct sl_labels *b)
{
	for (uint32_t i = 0; i < st->n_global; i++) {
		struct pol *p = st->pols.obj[st->global[i]];
		const struct sl_np_spec *sp = p->pub.spec;
		if (p->dirty)
			continue;
		for (int d = 0; d < SL_POL_NDIRS; d++)
			for (unsigned r = 0; r < sp->n_rules[d]; r++)
				for (unsigned k = 0; k < sp->rules[d][r].n_peers; k++) {
					const struct sl_np_peer *pe = &sp->rules[d][r].peers[k];
					if (!p->dirty && pe->has_ns_sel &&
					    ((a && sl_selector_match(&pe->ns_sel, a)) ||
					     (b && sl_selector_match(&pe->ns_sel, b))))
						mark(st, p);
				}
	}
}

void sl_pol_local_changed(struct sl_model *m, struct sl_ip ip)
{
	struct sl_pol_store *st = sl_model_pols(m);
	struct kpod *k;
	if (!st || !(k = (struct kpod *)sl_model_kpod_by_ip(m, ip)))
		return;
	struct pol_group *g = st->groups.obj[k->group];
	const struct sl_labels *l = &k->pub.spec->labels;
	if (st->index_off) {
		for (uint32_t i = 0; i < g->n_pols; i++) {
			struct pol *p = st->pols.obj[g->pols[i]];
			if (sl_selector_match(&p->pub.spec->pod_sel, l))
				mark(st, p);
		}
	} else {
		/* Its namespace's policies whose podSelector can select it: the selector index
		 * under its labels and ALWAYS (see pod_changed). */
		visit_next(st);
		for (unsigned j = 0; j <= 2 * l->n; j++) {
			uint64_t h = j == 2 * l->n ? sel_hash(g->id, NULL, NULL)
				     : sel_hash(g->id, l->v[j / 2].key, j & 1 ? NULL : l->v[j / 2].value);
			const struct pol_bucket *b = pol_bucket_find(&st->sel_ix, h);
			for (uint32_t i = 0; b && i < b->n; i++) {
				struct pol *p = st->pols.obj[b->ids[i]];
				if (p->visit == st->visit)
					continue;
				p->visit = st->visit;
				if (p->group == g->id && sl_selector_match(&p->pub.spec->pod_sel, l))
					mark(st, p);
			}
		}
	}
	if (st->changed && st->notify)
		st->notify(st->notify_ctx, ++st->generation);
}

/* Storage of one change and its undo (specs are swapped, never copied). */

struct undo {
	enum sl_k8s_kind kind;
	void *obj;
	void *old_spec;
	bool created, deleted;
};

static size_t labels_bytes(const struct sl_labels *l)
{
	size_t b = l->n * sizeof(*l->v);
	for (unsigned i = 0; i < l->n; i++)
		b += strlen(l->v[i].key) + strlen(l->v[i].value) + 2;
	return b;
}

static size_t kpod_bytes(const struct sl_kpod_spec *s)
{
	return sizeof(*s) + labels_bytes(&s->labels) + s->n_ports * sizeof(*s->ports);
}

/* Namespaces. */

static void ns_link(struct sl_pol_store *st, struct sl_model_ns *n, struct pol_group *g)
{
	g->ns = n;
	ns_changed(st, NULL, &n->spec->labels);
}

static void ns_unlink(struct sl_pol_store *st, struct sl_model_ns *n)
{
	struct pol_group *g = pol_group_find(st, n->spec->name);
	struct sl_labels tmp;
	struct sl_label tl;
	ns_changed(st, &n->spec->labels, NULL);
	g->ns = NULL;
	ns_changed(st, pol_ns_labels(g, &tmp, &tl), NULL); /* its pods now have implied labels */
	group_gc(st, g);
}

static int ns_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		    struct undo *u, char *err, size_t errlen)
{
	const char *name = op->del ? op->name : op->ns->name;
	struct sl_model_ns *n = sl_model_ns_find(m, name);
	struct pol_group *g;
	*u = (struct undo){ .kind = SL_K8S_NAMESPACE, .obj = n };
	if (op->del) {
		if (!n)
			return ERR("namespace %s not found", name), -ENOENT;
		ns_unlink(st, n);
		sl_index_del(&st->ns_by_name, sl_hash_str(name, 0), n->id);
		slot_put(&st->nss, n->id);
		u->deleted = true;
		return 0;
	}
	if (n) {
		ns_changed(st, &n->spec->labels, &op->ns->labels);
		u->old_spec = n->spec;
		n->spec = op->ns;
		return 0;
	}
	if (!(n = calloc(1, sizeof(*n))))
		return ERR("out of memory"), -ENOMEM;
	int rc = slot_take(&st->nss, &n->id);
	if (rc < 0) {
		free(n);
		return rc == -ENOSPC ? ERR("namespace limit reached (%u)", st->nss.limit)
				     : ERR("out of memory"), rc;
	}
	n->spec = op->ns;
	st->nss.obj[n->id] = n;
	if (!(g = group_get(st, name)) ||
	    sl_index_add(&st->ns_by_name, sl_hash_str(name, 0), n->id) < 0) {
		if (g)
			group_gc(st, g);
		slot_put(&st->nss, n->id);
		free(n);
		return ERR("out of memory"), -ENOMEM;
	}
	struct sl_labels tmp;
	struct sl_label tl;
	ns_changed(st, pol_ns_labels(g, &tmp, &tl), NULL); /* implied labels before */
	ns_link(st, n, g);
	u->obj = n;
	u->created = true;
	return 0;
}

static void ns_unstore(struct sl_pol_store *st, struct undo *u)
{
	struct sl_model_ns *n = u->obj;
	uint64_t h = sl_hash_str(n->spec->name, 0);
	if (u->deleted) {
		slot_restore(&st->nss, n->id);
		st->nss.obj[n->id] = n;
		sl_index_add(&st->ns_by_name, h, n->id);
		ns_link(st, n, group_get(st, n->spec->name)); /* a group: no new memory */
	} else if (u->created) {
		ns_unlink(st, n);
		sl_index_del(&st->ns_by_name, h, n->id);
		slot_put(&st->nss, n->id);
		free(n);
	} else {
		ns_changed(st, &n->spec->labels, &((struct sl_ns_spec *)u->old_spec)->labels);
		n->spec = u->old_spec;
	}
}

/* Cluster pods. */

static int pod_link(struct sl_pol_store *st, struct kpod *k)
{
	const struct sl_kpod_spec *s = k->pub.spec;
	struct pol_group *g = group_get(st, s->namespace);
	if (!g)
		return -ENOMEM;
	if (arr_push(&g->pods, &g->n_pods, &g->cap_pods, k->pub.id) < 0) {
		group_gc(st, g);
		return -ENOMEM;
	}
	k->group = g->id;
	k->group_pos = g->n_pods - 1;
	if (s->ip.af && sl_index_add(&st->pod_by_ip, sl_ip_hash(s->ip), k->pub.id) < 0) {
		g->n_pods--;
		group_gc(st, g);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < s->labels.n; i++)
		if (bucket_add(st, &st->pod_ix, sel_hash(g->id, s->labels.v[i].key,
							 s->labels.v[i].value), k->pub.id) < 0) {
			while (i-- > 0)
				bucket_del(&st->pod_ix, sel_hash(g->id, s->labels.v[i].key,
								 s->labels.v[i].value), k->pub.id);
			if (s->ip.af)
				sl_index_del(&st->pod_by_ip, sl_ip_hash(s->ip), k->pub.id);
			g->n_pods--;
			group_gc(st, g);
			return -ENOMEM;
		}
	st->bytes += kpod_bytes(s);
	return 0;
}

static void pod_unlink(struct sl_pol_store *st, struct kpod *k)
{
	const struct sl_kpod_spec *s = k->pub.spec;
	struct pol_group *g = st->groups.obj[k->group];
	uint32_t moved = arr_remove(g->pods, &g->n_pods, k->group_pos);
	if (moved != UINT32_MAX)
		((struct kpod *)st->pods.obj[moved])->group_pos = k->group_pos;
	if (s->ip.af)
		sl_index_del(&st->pod_by_ip, sl_ip_hash(s->ip), k->pub.id);
	for (unsigned i = 0; i < s->labels.n; i++)
		bucket_del(&st->pod_ix, sel_hash(g->id, s->labels.v[i].key, s->labels.v[i].value),
			   k->pub.id);
	st->bytes -= kpod_bytes(s);
	group_gc(st, g);
}

static int pod_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		     struct undo *u, char *err, size_t errlen)
{
	const char *ns = op->del ? op->namespace : op->pod->namespace;
	const char *name = op->del ? op->name : op->pod->name;
	struct kpod *k = (struct kpod *)sl_model_kpod_find(m, ns, name);
	*u = (struct undo){ .kind = SL_K8S_POD, .obj = k };
	if (op->del) {
		if (!k)
			return ERR("pod %s/%s not found", ns, name), -ENOENT;
		pod_changed(st, st->groups.obj[k->group], k->pub.spec, NULL);
		pod_unlink(st, k);
		sl_index_del(&st->pod_by_name, name_hash(ns, name), k->pub.id);
		slot_put(&st->pods, k->pub.id);
		u->deleted = true;
		return 0;
	}
	if (k) {
		struct sl_kpod_spec *old = k->pub.spec;
		pod_unlink(st, k);
		k->pub.spec = op->pod;
		if (pod_link(st, k) < 0) {
			k->pub.spec = old;
			pod_link(st, k); /* back: nothing grows */
			return ERR("out of memory"), -ENOMEM;
		}
		pod_changed(st, st->groups.obj[k->group], old, op->pod);
		u->old_spec = old;
		return 0;
	}
	if (!(k = calloc(1, sizeof(*k))))
		return ERR("out of memory"), -ENOMEM;
	int rc = slot_take(&st->pods, &k->pub.id);
	if (rc < 0) {
		free(k);
		return rc == -ENOSPC ? ERR("pod limit reached (%u)", st->pods.limit)
				     : ERR("out of memory"), rc;
	}
	k->pub.spec = op->pod;
	st->pods.obj[k->pub.id] = k;
	if (sl_index_add(&st->pod_by_name, name_hash(ns, name), k->pub.id) < 0) {
		slot_put(&st->pods, k->pub.id);
		free(k);
		return ERR("out of memory"), -ENOMEM;
	}
	if (pod_link(st, k) < 0) {
		sl_index_del(&st->pod_by_name, name_hash(ns, name), k->pub.id);
		slot_put(&st->pods, k->pub.id);
		free(k);
		return ERR("out of memory"), -ENOMEM;
	}
	pod_changed(st, st->groups.obj[k->group], NULL, op->pod);
	u->obj = k;
	u->created = true;
	return 0;
}

static void pod_unstore(struct sl_pol_store *st, struct undo *u)
{
	struct kpod *k = u->obj;
	const struct sl_kpod_spec *s = k->pub.spec;
	uint64_t h = name_hash(s->namespace, s->name);
	if (u->deleted) {
		slot_restore(&st->pods, k->pub.id);
		st->pods.obj[k->pub.id] = k;
		sl_index_add(&st->pod_by_name, h, k->pub.id);
		pod_link(st, k);
		pod_changed(st, st->groups.obj[k->group], NULL, s);
	} else if (u->created) {
		pod_changed(st, st->groups.obj[k->group], s, NULL);
		pod_unlink(st, k);
		sl_index_del(&st->pod_by_name, h, k->pub.id);
		slot_put(&st->pods, k->pub.id);
		free(k);
	} else {
		pod_changed(st, st->groups.obj[k->group], s, u->old_spec);
		pod_unlink(st, k);
		k->pub.spec = u->old_spec;
		pod_link(st, k);
	}
}

/* Policies. */

static int pol_link(struct sl_pol_store *st, struct pol *p)
{
	const struct sl_np_spec *s = p->pub.spec;
	struct pol_group *g = group_get(st, s->namespace);
	if (!g)
		return -ENOMEM;
	if (arr_push(&g->pols, &g->n_pols, &g->cap_pols, p->pub.id) < 0) {
		group_gc(st, g);
		return -ENOMEM;
	}
	p->group = g->id;
	p->group_pos = g->n_pols - 1;
	p->global = spec_global(s);
	if (p->global) {
		if (arr_push(&st->global, &st->n_global, &st->cap_global, p->pub.id) < 0) {
			g->n_pols--;
			group_gc(st, g);
			return -ENOMEM;
		}
		p->global_pos = st->n_global - 1;
	}
	st->names_stale = true;
	if (pol_index(st, p) < 0) {
		if (p->global)
			st->n_global--;
		p->global = false;
		g->n_pols--;
		group_gc(st, g);
		return -ENOMEM;
	}
	mark(st, p);
	return 0;
}

static void pol_unlink(struct sl_pol_store *st, struct pol *p)
{
	struct pol_group *g = st->groups.obj[p->group];
	pol_unindex(st, p);
	st->names_stale = true;
	uint32_t moved = arr_remove(g->pols, &g->n_pols, p->group_pos);
	if (moved != UINT32_MAX)
		((struct pol *)st->pols.obj[moved])->group_pos = p->group_pos;
	if (p->global) {
		moved = arr_remove(st->global, &st->n_global, p->global_pos);
		if (moved != UINT32_MAX)
			((struct pol *)st->pols.obj[moved])->global_pos = p->global_pos;
		p->global = false;
	}
	st->changed = true;
	group_gc(st, g);
}

static int pol_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		     struct undo *u, char *err, size_t errlen)
{
	const char *ns = op->del ? op->namespace : op->policy->namespace;
	const char *name = op->del ? op->name : op->policy->name;
	struct pol *p = (struct pol *)sl_model_policy_find(m, ns, name);
	*u = (struct undo){ .kind = SL_K8S_POLICY, .obj = p };
	if (op->del) {
		if (!p)
			return ERR("networkpolicy %s/%s not found", ns, name), -ENOENT;
		pol_unlink(st, p);
		sl_index_del(&st->pol_by_name, name_hash(ns, name), p->pub.id);
		slot_put(&st->pols, p->pub.id);
		u->deleted = true;
		return 0;
	}
	if (p) {
		struct sl_np_spec *old = p->pub.spec;
		pol_unlink(st, p);
		p->pub.spec = op->policy;
		if (pol_link(st, p) < 0) {
			p->pub.spec = old;
			pol_link(st, p);
			return ERR("out of memory"), -ENOMEM;
		}
		u->old_spec = old;
		return 0;
	}
	if (!(p = calloc(1, sizeof(*p))))
		return ERR("out of memory"), -ENOMEM;
	int rc = slot_take(&st->pols, &p->pub.id);
	if (rc < 0) {
		free(p);
		return rc == -ENOSPC ? ERR("networkpolicy limit reached (%u)", st->pols.limit)
				     : ERR("out of memory"), rc;
	}
	p->pub.spec = op->policy;
	st->pols.obj[p->pub.id] = p;
	if (sl_index_add(&st->pol_by_name, name_hash(ns, name), p->pub.id) < 0) {
		slot_put(&st->pols, p->pub.id);
		free(p);
		return ERR("out of memory"), -ENOMEM;
	}
	if (pol_link(st, p) < 0) {
		sl_index_del(&st->pol_by_name, name_hash(ns, name), p->pub.id);
		slot_put(&st->pols, p->pub.id);
		free(p);
		return ERR("out of memory"), -ENOMEM;
	}
	u->obj = p;
	u->created = true;
	return 0;
}

static void pol_unstore(struct sl_pol_store *st, struct undo *u)
{
	struct pol *p = u->obj;
	uint64_t h = name_hash(p->pub.spec->namespace, p->pub.spec->name);
	if (u->deleted) {
		slot_restore(&st->pols, p->pub.id);
		st->pols.obj[p->pub.id] = p;
		sl_index_add(&st->pol_by_name, h, p->pub.id);
		pol_link(st, p);
	} else if (u->created) {
		pol_unlink(st, p);
		sl_index_del(&st->pol_by_name, h, p->pub.id);
		slot_put(&st->pols, p->pub.id);
		pol_part_free(p);
		free(p);
	} else {
		pol_unlink(st, p);
		p->pub.spec = u->old_spec;
		pol_link(st, p);
	}
}

static void undo_all(struct sl_pol_store *st, struct undo *u, unsigned n)
{
	while (n--) {
		if (u[n].kind == SL_K8S_NAMESPACE)
			ns_unstore(st, &u[n]);
		else if (u[n].kind == SL_K8S_POD)
			pod_unstore(st, &u[n]);
		else if (u[n].kind == SL_K8S_POLICY)
			pol_unstore(st, &u[n]);
	}
}

static bool is_pol_kind(enum sl_k8s_kind k)
{
	return k == SL_K8S_NAMESPACE || k == SL_K8S_POD || k == SL_K8S_POLICY;
}

static void *op_spec(const struct sl_k8s_op *op)
{
	return op->kind == SL_K8S_NAMESPACE ? (void *)op->ns
	       : op->kind == SL_K8S_POD     ? (void *)op->pod
					    : (void *)op->policy;
}

/* The batch: policy objects stored first (undone if the Services' part fails), then the
 * Services and slices through sl_model_svc_apply, then the policy part committed. */
int sl_model_k8s_apply(struct sl_model *m, struct sl_k8s_op *ops, unsigned n, char *err,
		       size_t errlen)
{
	struct sl_pol_store *st = sl_model_pols(m);
	unsigned npol = 0, nsvc = 0, i, k;
	char why[400];
	int rc = 0;
	unsigned npods = 0;
	for (i = 0; i < n; i++) {
		npol += is_pol_kind(ops[i].kind);
		npods += ops[i].kind == SL_K8S_POD;
	}
	if (!npol)
		return sl_model_svc_apply(m, ops, n, err, errlen);
	nsvc = n - npol;
	struct undo *u = calloc(npol, sizeof(*u));
	struct sl_k8s_op *svc = nsvc ? calloc(nsvc, sizeof(*svc)) : NULL;
	if (!u || (nsvc && !svc)) {
		free(u);
		free(svc);
		return ERR("out of memory"), -ENOMEM;
	}
	st->coarse = npods >= SL_POL_COARSE_PODS;
	for (i = 0, k = 0; i < n; i++) {
		struct sl_k8s_op *op = &ops[i];
		if (!is_pol_kind(op->kind))
			continue;
		if (!op->del && !op_spec(op)) {
			snprintf(why, sizeof(why), "nothing to apply");
			rc = -EINVAL;
		} else {
			rc = op->kind == SL_K8S_NAMESPACE ? ns_store(st, m, op, &u[k], why, sizeof(why))
			     : op->kind == SL_K8S_POD     ? pod_store(st, m, op, &u[k], why, sizeof(why))
							  : pol_store(st, m, op, &u[k], why, sizeof(why));
		}
		if (rc < 0) {
			undo_all(st, u, k);
			sl_model_err_path(err, errlen, op->path[0] ? op->path : "object", why, false);
			goto out;
		}
		k++;
	}
	if (nsvc) {
		for (i = 0, k = 0; i < n; i++)
			if (!is_pol_kind(ops[i].kind))
				svc[k++] = ops[i];
		if ((rc = sl_model_svc_apply(m, svc, nsvc, err, errlen)) < 0) {
			undo_all(st, u, npol);
			goto out;
		}
		for (i = 0, k = 0; i < n; i++)
			if (!is_pol_kind(ops[i].kind)) {
				ops[i].svc = svc[k].svc;
				ops[i].slice = svc[k++].slice;
			}
	}
	/* Commit: the model owns the applied specs; free what was replaced or deleted. */
	for (i = 0, k = 0; i < n; i++) {
		if (!is_pol_kind(ops[i].kind))
			continue;
		struct undo *x = &u[k++];
		if (x->kind == SL_K8S_NAMESPACE) {
			sl_ns_spec_free(x->old_spec);
			if (x->deleted) {
				sl_ns_spec_free(((struct sl_model_ns *)x->obj)->spec);
				free(x->obj);
			}
		} else if (x->kind == SL_K8S_POD) {
			sl_kpod_spec_free(x->old_spec);
			if (x->deleted) {
				sl_kpod_spec_free(((struct kpod *)x->obj)->pub.spec);
				free(x->obj);
			}
		} else {
			sl_np_spec_free(x->old_spec);
			if (x->deleted) {
				pol_part_free(x->obj);
				sl_np_spec_free(((struct pol *)x->obj)->pub.spec);
				free(x->obj);
			}
		}
		ops[i].ns = NULL;
		ops[i].pod = NULL;
		ops[i].policy = NULL;
	}
	if (st->changed) {
		st->generation++;
		if (st->notify)
			st->notify(st->notify_ctx, st->generation);
	}
out:
	st->coarse = false;
	free(u);
	free(svc);
	return rc;
}

static int del_one(struct sl_model *m, enum sl_k8s_kind kind, const char *ns, const char *name,
		   char *err, size_t errlen)
{
	struct sl_k8s_op op = { .kind = kind, .del = true };
	snprintf(op.namespace, sizeof(op.namespace), "%s", ns);
	snprintf(op.name, sizeof(op.name), "%s", name);
	char why[320];
	int rc = sl_model_k8s_apply(m, &op, 1, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "%s", strncmp(why, "object: ", 8) ? why : why + 8);
	return rc;
}

int sl_model_ns_del(struct sl_model *m, const char *name, char *err, size_t errlen)
{
	return del_one(m, SL_K8S_NAMESPACE, "", name, err, errlen);
}

int sl_model_kpod_del(struct sl_model *m, const char *ns, const char *name, char *err,
		      size_t errlen)
{
	return del_one(m, SL_K8S_POD, ns, name, err, errlen);
}

int sl_model_policy_del(struct sl_model *m, const char *ns, const char *name, char *err,
			size_t errlen)
{
	return del_one(m, SL_K8S_POLICY, ns, name, err, errlen);
}

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
		const struct pol *p = st->pols.obj[st->dirty[i]];
		if (p && p->dirty)
			fn(ctx, p->pub.spec->namespace, p->pub.spec->name);
	}
}
