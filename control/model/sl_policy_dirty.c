/* Which policies a change touches (see sl_policy.h, incremental compilation): the dirty
 * marks, the selection predicates they and the compiler share, and the walks that find the
 * candidates of a pod, namespace or attachment change through the selector index
 * (sl_policy_index.c). Control thread. */
#include <netinet/in.h>
#include <string.h>

#include "sl_policy_int.h"

/* Selection. */

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

/* Dirty marks. */

void pol_mark(struct sl_pol_store *st, struct pol *p)
{
	st->changed = true;
	if (p->dirty)
		return;
	p->dirty = true;
	if (pol_ids_push(&st->dirty, &st->n_dirty, &st->cap_dirty, p->pub.id) < 0)
		p->dirty = false; /* out of memory: compiled again at the next mark */
}

bool pol_rule_named_port(const struct sl_np_rule *r)
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

bool pol_spec_global(const struct sl_np_spec *s)
{
	for (int d = 0; d < SL_POL_NDIRS; d++)
		for (unsigned i = 0; i < s->n_rules[d]; i++) {
			const struct sl_np_rule *r = &s->rules[d][i];
			bool named = d == SL_POL_EGRESS && pol_rule_named_port(r);
			if (named && !r->n_peers)
				return true;
			for (unsigned k = 0; k < r->n_peers; k++)
				if (r->peers[k].has_ns_sel ||
				    (named && r->peers[k].kind == SL_PEER_IPBLOCK))
					return true;
		}
	return false;
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
			bool named = d == SL_POL_EGRESS && pol_rule_named_port(r);
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
		for (uint32_t i = 0; (o = sl_named_next(&st->pols, &i));)
			((struct pol *)o)->visit = 0;
		st->visit = 1;
	}
}

/* Check p for a pod change (see pol_pod_changed) and mark it when touched. */
static void pod_check(struct sl_pol_store *st, struct pol *p, const struct pol_group *g,
		      const struct sl_kpod_spec *old, const struct sl_kpod_spec *new, bool addr)
{
	if (p->dirty || p->visit == st->visit)
		return;
	p->visit = st->visit;
	if (p->group != g->id && !p->global)
		return; /* selects pods of its own namespace only */
	if (st->coarse) { /* a large batch: a candidate is marked (see SL_POL_COARSE_PODS) */
		pol_mark(st, p);
		return;
	}
	if (addr ? pol_touches_pod(st, p, g, old) || pol_touches_pod(st, p, g, new)
		 : pol_selection_differs(st, p, g, old, new))
		pol_mark(st, p);
}

static void bucket_check(struct sl_pol_store *st, uint64_t h, const struct pol_group *g,
			 const struct sl_kpod_spec *old, const struct sl_kpod_spec *new, bool addr)
{
	const struct pol_bucket *b = pol_bucket_find(&st->sel_ix, h);
	for (uint32_t i = 0; b && i < b->n; i++)
		pod_check(st, st->pols.slots.obj[b->ids[i]], g, old, new, addr);
}

/* The candidates of key k with value v (NULL: absent) in both scopes. */
static void key_check(struct sl_pol_store *st, const char *k, const char *v,
		      const struct pol_group *g, const struct sl_kpod_spec *old,
		      const struct sl_kpod_spec *new, bool addr)
{
	for (int sc = 0; sc < 2; sc++) {
		uint32_t scope = sc ? POL_SCOPE_ANY : g->id;
		if (v)
			bucket_check(st, pol_label_hash(scope, k, v), g, old, new, addr);
		bucket_check(st, pol_label_hash(scope, k, NULL), g, old, new, addr);
	}
}

/* Mark the policies a pod change (old -> new, either NULL) touches: with a new address or
 * ports, every policy selecting it before or after; else (labels only) those whose
 * selection of it changes. Only the policies the selector index names are looked at (all of
 * the namespace's and the global ones with index_off). */
void pol_pod_changed(struct sl_pol_store *st, const struct pol_group *g,
		     const struct sl_kpod_spec *old, const struct sl_kpod_spec *new)
{
	bool addr = pod_addr_differs(old, new);
	if (!addr && !labels_diff(&old->labels, &new->labels))
		return; /* the same address, ports and labels */
	visit_next(st);
	if (st->index_off) {
		for (uint32_t i = 0; i < g->n_pols; i++)
			pod_check(st, st->pols.slots.obj[g->pols[i]], g, old, new, addr);
		for (uint32_t i = 0; i < st->n_global; i++)
			pod_check(st, st->pols.slots.obj[st->global[i]], g, old, new, addr);
		return;
	}
	if (addr) {
		for (int sc = 0; sc < 2; sc++)
			bucket_check(st, pol_label_hash(sc ? POL_SCOPE_ANY : g->id, NULL, NULL), g,
				     old, new, addr);
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
					bucket_check(st, pol_label_hash(sc ? POL_SCOPE_ANY : g->id,
								  b->v[k].key, b->v[k].value),
						     g, old, new, addr);
			}
			i++;
			k++;
		}
	}
}

void pol_ns_changed(struct sl_pol_store *st, const struct sl_labels *a,
		    const struct sl_labels *b)
{
	for (uint32_t i = 0; i < st->n_global; i++) {
		struct pol *p = st->pols.slots.obj[st->global[i]];
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
						pol_mark(st, p);
				}
	}
}

void sl_pol_local_changed(struct sl_model *m, struct sl_ip ip)
{
	struct sl_pol_store *st = sl_model_pols(m);
	struct kpod *k;
	if (!st || !(k = (struct kpod *)sl_model_kpod_by_ip(m, ip)))
		return;
	struct pol_group *g = st->groups.slots.obj[k->group];
	const struct sl_labels *l = &k->pub.spec->labels;
	if (st->index_off) {
		for (uint32_t i = 0; i < g->n_pols; i++) {
			struct pol *p = st->pols.slots.obj[g->pols[i]];
			if (sl_selector_match(&p->pub.spec->pod_sel, l))
				pol_mark(st, p);
		}
	} else {
		/* Its namespace's policies whose podSelector can select it: the selector index
		 * under its labels and ALWAYS (see pol_pod_changed). */
		visit_next(st);
		for (unsigned j = 0; j <= 2 * l->n; j++) {
			const struct sl_label *lb = j < 2 * l->n ? &l->v[j / 2] : NULL;
			uint64_t h = !lb ? pol_label_hash(g->id, NULL, NULL)
				     : pol_label_hash(g->id, lb->key, j & 1 ? NULL : lb->value);
			const struct pol_bucket *b = pol_bucket_find(&st->sel_ix, h);
			for (uint32_t i = 0; b && i < b->n; i++) {
				struct pol *p = st->pols.slots.obj[b->ids[i]];
				if (p->visit == st->visit)
					continue;
				p->visit = st->visit;
				if (p->group == g->id && sl_selector_match(&p->pub.spec->pod_sel, l))
					pol_mark(st, p);
			}
		}
	}
	if (st->changed && st->notify)
		st->notify(st->notify_ctx, ++st->generation);
}
