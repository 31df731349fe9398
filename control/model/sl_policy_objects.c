/* Changes of the policy store's objects (see sl_policy_int.h): a Namespace, cluster pod or
 * NetworkPolicy stored, replaced or deleted with what undoes it, and entered in (removed
 * from) its group, the global list, the address and label indexes, with the dirty marks of
 * what it touches (sl_policy_dirty.c). Batches are sl_policy_batch.c. Control thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_policy_int.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__))

/* Heap a spec holds, for the counts. */

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
	pol_ns_changed(st, NULL, &n->spec->labels);
}

static void ns_unlink(struct sl_pol_store *st, struct sl_model_ns *n)
{
	struct pol_group *g = pol_group_find(st, n->spec->name);
	struct sl_labels tmp;
	struct sl_label tl;
	pol_ns_changed(st, &n->spec->labels, NULL);
	g->ns = NULL;
	pol_ns_changed(st, pol_ns_labels(g, &tmp, &tl), NULL); /* its pods now have implied labels */
	pol_group_gc(st, g);
}

static int ns_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		    struct sl_named_undo *u, char *err, size_t errlen)
{
	const char *name = op->del ? op->name : op->ns->name;
	struct sl_model_ns *n = sl_model_ns_find(m, name);
	struct pol_group *g;
	*u = (struct sl_named_undo){ .kind = SL_K8S_NAMESPACE, .obj = n };
	if (op->del) {
		if (!n)
			return ERR("namespace %s not found", name), -ENOENT;
		ns_unlink(st, n);
		sl_named_del(&st->nss, n->id);
		u->deleted = true;
		return 0;
	}
	if (n) {
		pol_ns_changed(st, &n->spec->labels, &op->ns->labels);
		u->old_spec = n->spec;
		n->spec = op->ns;
		return 0;
	}
	if (!(n = calloc(1, sizeof(*n))))
		return ERR("out of memory"), -ENOMEM;
	n->spec = op->ns;
	int rc = sl_named_add(&st->nss, n, &n->id, err, errlen);
	if (rc < 0) {
		free(n);
		return rc;
	}
	if (!(g = pol_group_get(st, name))) {
		sl_named_del(&st->nss, n->id);
		free(n);
		return ERR("out of memory"), -ENOMEM;
	}
	struct sl_labels tmp;
	struct sl_label tl;
	pol_ns_changed(st, pol_ns_labels(g, &tmp, &tl), NULL); /* implied labels before */
	ns_link(st, n, g);
	u->obj = n;
	u->created = true;
	return 0;
}

static void ns_unstore(struct sl_pol_store *st, struct sl_named_undo *u)
{
	struct sl_model_ns *n = u->obj;
	if (u->deleted) {
		sl_named_restore(&st->nss, n->id, n);
		ns_link(st, n, pol_group_get(st, n->spec->name)); /* a group: no new memory */
	} else if (u->created) {
		ns_unlink(st, n);
		sl_named_del(&st->nss, n->id);
		free(n);
	} else {
		pol_ns_changed(st, &n->spec->labels, &((struct sl_ns_spec *)u->old_spec)->labels);
		n->spec = u->old_spec;
	}
}

/* Cluster pods. */

/* The pod index's hash of label l of a pod of group g. */
static uint64_t label_hash(const struct pol_group *g, const struct sl_label *l)
{
	return pol_label_hash(g->id, l->key, l->value);
}

static int pod_link(struct sl_pol_store *st, struct kpod *k)
{
	const struct sl_kpod_spec *s = k->pub.spec;
	struct pol_group *g = pol_group_get(st, s->namespace);
	if (!g)
		return -ENOMEM;
	if (pol_ids_push(&g->pods, &g->n_pods, &g->cap_pods, k->pub.id) < 0) {
		pol_group_gc(st, g);
		return -ENOMEM;
	}
	k->group = g->id;
	k->group_pos = g->n_pods - 1;
	if (s->ip.af && sl_index_add(&st->pod_by_ip, sl_ip_hash(s->ip), k->pub.id) < 0) {
		g->n_pods--;
		pol_group_gc(st, g);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < s->labels.n; i++)
		if (pol_bucket_add(st, &st->pod_ix, label_hash(g, &s->labels.v[i]), k->pub.id) < 0) {
			while (i-- > 0)
				pol_bucket_del(&st->pod_ix, label_hash(g, &s->labels.v[i]), k->pub.id);
			if (s->ip.af)
				sl_index_del(&st->pod_by_ip, sl_ip_hash(s->ip), k->pub.id);
			g->n_pods--;
			pol_group_gc(st, g);
			return -ENOMEM;
		}
	st->bytes += kpod_bytes(s);
	return 0;
}

static void pod_unlink(struct sl_pol_store *st, struct kpod *k)
{
	const struct sl_kpod_spec *s = k->pub.spec;
	struct pol_group *g = st->groups.slots.obj[k->group];
	uint32_t moved = pol_ids_remove(g->pods, &g->n_pods, k->group_pos);
	if (moved != UINT32_MAX)
		((struct kpod *)st->pods.slots.obj[moved])->group_pos = k->group_pos;
	if (s->ip.af)
		sl_index_del(&st->pod_by_ip, sl_ip_hash(s->ip), k->pub.id);
	for (unsigned i = 0; i < s->labels.n; i++)
		pol_bucket_del(&st->pod_ix, label_hash(g, &s->labels.v[i]), k->pub.id);
	st->bytes -= kpod_bytes(s);
	pol_group_gc(st, g);
}

static int pod_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		     struct sl_named_undo *u, char *err, size_t errlen)
{
	const char *ns = op->del ? op->namespace : op->pod->namespace;
	const char *name = op->del ? op->name : op->pod->name;
	struct kpod *k = (struct kpod *)sl_model_kpod_find(m, ns, name);
	*u = (struct sl_named_undo){ .kind = SL_K8S_POD, .obj = k };
	if (op->del) {
		if (!k)
			return ERR("pod %s/%s not found", ns, name), -ENOENT;
		pol_pod_changed(st, st->groups.slots.obj[k->group], k->pub.spec, NULL);
		pod_unlink(st, k);
		sl_named_del(&st->pods, k->pub.id);
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
		pol_pod_changed(st, st->groups.slots.obj[k->group], old, op->pod);
		u->old_spec = old;
		return 0;
	}
	if (!(k = calloc(1, sizeof(*k))))
		return ERR("out of memory"), -ENOMEM;
	k->pub.spec = op->pod;
	int rc = sl_named_add(&st->pods, k, &k->pub.id, err, errlen);
	if (rc < 0) {
		free(k);
		return rc;
	}
	if (pod_link(st, k) < 0) {
		sl_named_del(&st->pods, k->pub.id);
		free(k);
		return ERR("out of memory"), -ENOMEM;
	}
	pol_pod_changed(st, st->groups.slots.obj[k->group], NULL, op->pod);
	u->obj = k;
	u->created = true;
	return 0;
}

static void pod_unstore(struct sl_pol_store *st, struct sl_named_undo *u)
{
	struct kpod *k = u->obj;
	const struct sl_kpod_spec *s = k->pub.spec;
	if (u->deleted) {
		sl_named_restore(&st->pods, k->pub.id, k);
		pod_link(st, k);
		pol_pod_changed(st, st->groups.slots.obj[k->group], NULL, s);
	} else if (u->created) {
		pol_pod_changed(st, st->groups.slots.obj[k->group], s, NULL);
		pod_unlink(st, k);
		sl_named_del(&st->pods, k->pub.id);
		free(k);
	} else {
		pol_pod_changed(st, st->groups.slots.obj[k->group], s, u->old_spec);
		pod_unlink(st, k);
		k->pub.spec = u->old_spec;
		pod_link(st, k);
	}
}

/* Policies. */

static int pol_link(struct sl_pol_store *st, struct pol *p)
{
	const struct sl_np_spec *s = p->pub.spec;
	struct pol_group *g = pol_group_get(st, s->namespace);
	if (!g)
		return -ENOMEM;
	if (pol_ids_push(&g->pols, &g->n_pols, &g->cap_pols, p->pub.id) < 0) {
		pol_group_gc(st, g);
		return -ENOMEM;
	}
	p->group = g->id;
	p->group_pos = g->n_pols - 1;
	p->global = pol_spec_global(s);
	if (p->global) {
		if (pol_ids_push(&st->global, &st->n_global, &st->cap_global, p->pub.id) < 0) {
			g->n_pols--;
			pol_group_gc(st, g);
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
		pol_group_gc(st, g);
		return -ENOMEM;
	}
	pol_mark(st, p);
	return 0;
}

static void pol_unlink(struct sl_pol_store *st, struct pol *p)
{
	struct pol_group *g = st->groups.slots.obj[p->group];
	pol_unindex(st, p);
	st->names_stale = true;
	uint32_t moved = pol_ids_remove(g->pols, &g->n_pols, p->group_pos);
	if (moved != UINT32_MAX)
		((struct pol *)st->pols.slots.obj[moved])->group_pos = p->group_pos;
	if (p->global) {
		moved = pol_ids_remove(st->global, &st->n_global, p->global_pos);
		if (moved != UINT32_MAX)
			((struct pol *)st->pols.slots.obj[moved])->global_pos = p->global_pos;
		p->global = false;
	}
	st->changed = true;
	pol_group_gc(st, g);
}

static int pol_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		     struct sl_named_undo *u, char *err, size_t errlen)
{
	const char *ns = op->del ? op->namespace : op->policy->namespace;
	const char *name = op->del ? op->name : op->policy->name;
	struct pol *p = (struct pol *)sl_model_policy_find(m, ns, name);
	*u = (struct sl_named_undo){ .kind = SL_K8S_POLICY, .obj = p };
	if (op->del) {
		if (!p)
			return ERR("networkpolicy %s/%s not found", ns, name), -ENOENT;
		pol_unlink(st, p);
		sl_named_del(&st->pols, p->pub.id);
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
	p->pub.spec = op->policy;
	int rc = sl_named_add(&st->pols, p, &p->pub.id, err, errlen);
	if (rc < 0) {
		free(p);
		return rc;
	}
	if (pol_link(st, p) < 0) {
		sl_named_del(&st->pols, p->pub.id);
		free(p);
		return ERR("out of memory"), -ENOMEM;
	}
	u->obj = p;
	u->created = true;
	return 0;
}

static void pol_unstore(struct sl_pol_store *st, struct sl_named_undo *u)
{
	struct pol *p = u->obj;
	if (u->deleted) {
		sl_named_restore(&st->pols, p->pub.id, p);
		pol_link(st, p);
	} else if (u->created) {
		pol_unlink(st, p);
		sl_named_del(&st->pols, p->pub.id);
		pol_part_free(p);
		free(p);
	} else {
		pol_unlink(st, p);
		p->pub.spec = u->old_spec;
		pol_link(st, p);
	}
}

/* One change of any kind. */

int pol_obj_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		  struct sl_named_undo *u, char *err, size_t errlen)
{
	return op->kind == SL_K8S_NAMESPACE ? ns_store(st, m, op, u, err, errlen)
	       : op->kind == SL_K8S_POD     ? pod_store(st, m, op, u, err, errlen)
					    : pol_store(st, m, op, u, err, errlen);
}

void pol_obj_unstore(struct sl_pol_store *st, struct sl_named_undo *u)
{
	if (u->kind == SL_K8S_NAMESPACE)
		ns_unstore(st, u);
	else if (u->kind == SL_K8S_POD)
		pod_unstore(st, u);
	else if (u->kind == SL_K8S_POLICY)
		pol_unstore(st, u);
}

void pol_obj_commit(struct sl_named_undo *x)
{
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
}
