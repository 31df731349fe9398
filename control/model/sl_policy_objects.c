/* Changes of the policy store's objects (see sl_policy_int.h): a Namespace, cluster pod or
 * NetworkPolicy stored, replaced or deleted with what undoes it, and entered in (removed
 * from) its group, the global list, the address and label indexes, with the dirty marks of
 * what it touches (sl_policy_dirty.c). Batches are sl_policy_batch.c. Control thread. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_policy_int.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__))

static int pod_link(void *store, void *obj);
static void pod_unlink(void *store, void *obj);
static void pod_changed(void *store, void *obj, const void *old_spec, const void *new_spec);
static int pol_link(void *store, void *obj);
static void pol_unlink(void *store, void *obj);
static void pol_discard(void *obj);

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

/* sl_named.link, unlink, changed, discard of cluster pods: the pod's group, address and
 * label index entries, and the policies it touches. */

static int pod_link(void *store, void *obj)
{
	struct sl_pol_store *st = store;
	struct kpod *k = obj;
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

static void pod_unlink(void *store, void *obj)
{
	struct sl_pol_store *st = store;
	struct kpod *k = obj;
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

static void pod_changed(void *store, void *obj, const void *old_spec, const void *new_spec)
{
	struct sl_pol_store *st = store;
	pol_pod_changed(st, st->groups.slots.obj[((struct kpod *)obj)->group], old_spec, new_spec);
}

/* Policies. */

/* sl_named.link, unlink, discard of NetworkPolicies: the policy's group, the global list
 * and the selector index; a policy linked is marked dirty. */

static int pol_link(void *store, void *obj)
{
	struct sl_pol_store *st = store;
	struct pol *p = obj;
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

static void pol_unlink(void *store, void *obj)
{
	struct sl_pol_store *st = store;
	struct pol *p = obj;
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

static void pol_discard(void *obj)
{
	pol_part_free(obj);
	free(obj);
}

/* One change of any kind. */

int pol_obj_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		  struct sl_named_undo *u, char *err, size_t errlen)
{
	if (op->kind == SL_K8S_NAMESPACE)
		return ns_store(st, m, op, u, err, errlen);
	if (op->del)
		return sl_named_store(op->kind == SL_K8S_POD ? &st->pods : &st->pols, st, op->kind,
				      op->namespace, op->name, NULL, u, err, errlen);
	if (op->kind == SL_K8S_POD)
		return sl_named_store(&st->pods, st, op->kind, op->pod->namespace, op->pod->name,
				      op->pod, u, err, errlen);
	return sl_named_store(&st->pols, st, op->kind, op->policy->namespace, op->policy->name,
			      op->policy, u, err, errlen);
}

void pol_obj_unstore(struct sl_pol_store *st, struct sl_named_undo *u)
{
	if (u->kind == SL_K8S_NAMESPACE)
		ns_unstore(st, u);
	else if (u->kind == SL_K8S_POD)
		sl_named_unstore(&st->pods, st, u);
	else if (u->kind == SL_K8S_POLICY)
		sl_named_unstore(&st->pols, st, u);
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

/* The tables. */

static const char *ns_key(const void *obj, const char **ret_ns)
{
	*ret_ns = NULL;
	return ((const struct sl_model_ns *)obj)->spec->name;
}

static const char *group_key(const void *obj, const char **ret_ns)
{
	*ret_ns = NULL;
	return ((const struct pol_group *)obj)->name;
}

static const char *pod_key(const void *obj, const char **ret_ns)
{
	const struct sl_kpod_spec *s = ((const struct kpod *)obj)->pub.spec;
	*ret_ns = s->namespace;
	return s->name;
}

static const char *pol_key(const void *obj, const char **ret_ns)
{
	const struct sl_np_spec *s = ((const struct pol *)obj)->pub.spec;
	*ret_ns = s->namespace;
	return s->name;
}

void pol_obj_tables_init(struct sl_pol_store *st)
{
	st->nss = (struct sl_named){ .kind = "namespace", .key = ns_key };
	st->groups = (struct sl_named){ .kind = "namespace group", .key = group_key };
	st->pods = (struct sl_named){
		.kind = "pod", .key = pod_key, .size = sizeof(struct kpod),
		.id_off = offsetof(struct kpod, pub.id), .spec_off = offsetof(struct kpod, pub.spec),
		.link = pod_link, .unlink = pod_unlink, .changed = pod_changed, .discard = free,
	};
	st->pols = (struct sl_named){
		.kind = "networkpolicy", .key = pol_key, .size = sizeof(struct pol),
		.id_off = offsetof(struct pol, pub.id), .spec_off = offsetof(struct pol, pub.spec),
		.link = pol_link, .unlink = pol_unlink, .discard = pol_discard,
	};
}
