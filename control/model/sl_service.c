/* Services and EndpointSlices in the control model: storage, indexes and all-or-nothing
 * batches (see sl_service.h). The resolved view is in sl_svc_select.c. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_model_int.h"
#include "sl_named.h"

#define NONE UINT32_MAX

struct sl_svc_store {
	struct sl_named svcs, slices;   /* Services and slices by id and by ns/name */
	struct sl_index slice_by_owner; /* ns/service-name -> one slice of its ring */
	struct sl_index svc_by_frontend; /* ip:port/proto and node port/proto -> Service */
	uint64_t batch;                 /* batch counter, for sl_model_svc.mark */
	size_t bytes;                   /* objects and specs */
};

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__))

void sl_svc_spec_free(struct sl_svc_spec *s)
{
	if (!s)
		return;
	free(s->cluster_ips);
	free(s->external_ips);
	free(s->lb_ips);
	free(s->source_ranges);
	free(s->ports);
	free(s);
}

void sl_slice_spec_free(struct sl_slice_spec *s)
{
	if (!s)
		return;
	free(s->eps); /* with the endpoints' strings */
	free(s->ports);
	free(s);
}

void sl_k8s_ops_free(struct sl_k8s_op *ops, unsigned n)
{
	for (unsigned i = 0; ops && i < n; i++) {
		sl_svc_spec_free(ops[i].svc);
		sl_slice_spec_free(ops[i].slice);
		sl_k8s_op_free_policy(&ops[i]);
	}
	free(ops);
}

bool sl_svc_proxied(const struct sl_svc_spec *s)
{
	return !s->headless && !s->other_proxy && s->type != SL_SVC_EXTERNAL_NAME;
}

/* Heap a spec holds, for the counts. */
static size_t svc_spec_bytes(const struct sl_svc_spec *s)
{
	return sizeof(*s) + s->n_cluster_ips * sizeof(struct sl_ip) +
	       s->n_external_ips * sizeof(struct sl_ip) + s->n_lb_ips * sizeof(struct sl_ip) +
	       s->n_source_ranges * sizeof(struct sl_cidr) + s->n_ports * sizeof(*s->ports);
}

static size_t slice_spec_bytes(const struct sl_slice_spec *s)
{
	size_t b = sizeof(*s) + s->n_eps * sizeof(*s->eps) + s->n_ports * sizeof(*s->ports);
	for (unsigned i = 0; i < s->n_eps; i++)
		b += (s->eps[i].node_name ? strlen(s->eps[i].node_name) + 1 : 0) +
		     (s->eps[i].zone ? strlen(s->eps[i].zone) + 1 : 0);
	return b;
}

/* Keys. */

struct key {
	const char *ns, *name;
};

static bool owner_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_svc_store *st = ctx;
	const struct sl_model_slice *s = st->slices.slots.obj[id];
	const struct key *key = k;
	return !strcmp(s->spec->service, key->name) && !strcmp(s->spec->namespace, key->ns);
}

/* Life cycle. */

static const struct sl_named svc_table, slice_table; /* below */

struct sl_svc_store *sl_svc_store_create(const struct sl_model_limits *l)
{
	struct sl_svc_store *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->svcs = svc_table;
	st->slices = slice_table;
	st->svcs.slots.limit = l && l->services ? l->services : SL_MODEL_MAX_SERVICES;
	st->slices.slots.limit = l && l->slices ? l->slices : SL_MODEL_MAX_SLICES;
	return st;
}

static void slice_free(void *obj)
{
	struct sl_model_slice *sl = obj;
	sl_slice_spec_free(sl->spec);
	free(sl);
}

void sl_svc_store_destroy(struct sl_model *m)
{
	struct sl_svc_store *st = sl_model_svcs(m);
	const struct sl_model_hooks *h = sl_model_hooks(m);
	struct sl_model_svc *s;
	for (uint32_t i = 0; (s = sl_named_next(&st->svcs, &i));) {
		if (s->hooked && h->svc_deleted)
			h->svc_deleted(h->ctx, s);
		sl_svc_spec_free(s->spec);
		free(s);
	}
	sl_named_free(&st->svcs, NULL);
	sl_named_free(&st->slices, slice_free);
	sl_index_free(&st->slice_by_owner);
	sl_index_free(&st->svc_by_frontend);
	free(st);
}

void sl_svc_store_counts(const struct sl_svc_store *st, unsigned *ret_svcs,
			 unsigned *ret_slices, size_t *ret_bytes)
{
	*ret_svcs = st->svcs.slots.used;
	*ret_slices = st->slices.slots.used;
	*ret_bytes = sizeof(*st) + st->bytes +
		     (size_t)(st->svcs.slots.cap + st->slices.slots.cap) *
			     (sizeof(void *) + sizeof(uint32_t)) +
		     sl_index_bytes(&st->svcs.by_name) + sl_index_bytes(&st->slices.by_name) +
		     sl_index_bytes(&st->slice_by_owner) + sl_index_bytes(&st->svc_by_frontend);
}

/* Lookups. */

struct sl_model_svc *sl_model_svc_find(const struct sl_model *m, const char *ns,
				       const char *name)
{
	return sl_named_find(&sl_model_svcs(m)->svcs, ns, name);
}

struct sl_model_slice *sl_model_slice_find(const struct sl_model *m, const char *ns,
					   const char *name)
{
	return sl_named_find(&sl_model_svcs(m)->slices, ns, name);
}

struct sl_model_svc *sl_model_svc_next(const struct sl_model *m, uint32_t *id)
{
	return sl_named_next(&sl_model_svcs(m)->svcs, id);
}

struct sl_model_slice *sl_model_slice_next(const struct sl_model *m, uint32_t *id)
{
	return sl_named_next(&sl_model_svcs(m)->slices, id);
}

static int64_t owner_head(const struct sl_svc_store *st, const char *ns, const char *svc)
{
	struct key k = { ns, svc };
	return svc[0] ? sl_index_find(&st->slice_by_owner, sl_named_hash(ns, svc), owner_match, st,
				      &k)
		      : -1;
}

struct sl_model_slice *sl_model_svc_slice_next(const struct sl_model *m, const char *ns,
					       const char *svc, uint32_t *cursor)
{
	const struct sl_svc_store *st = sl_model_svcs(m);
	int64_t head = owner_head(st, ns, svc);
	if (head < 0)
		return NULL;
	/* The cursor is the last slice returned; the walk ends back at the head. */
	uint32_t next = *cursor == NONE ? (uint32_t)head
					: ((struct sl_model_slice *)st->slices.slots.obj[*cursor])->next;
	if (*cursor != NONE && next == (uint32_t)head)
		return NULL;
	*cursor = next;
	return st->slices.slots.obj[next];
}

/* Owner rings: the slices of one ns/service-name are a ring; the index holds one. */

static int ring_link(struct sl_svc_store *st, struct sl_model_slice *s)
{
	s->prev = s->next = s->id;
	if (!s->spec->service[0])
		return 0;
	int64_t head = owner_head(st, s->spec->namespace, s->spec->service);
	if (head < 0)
		return sl_index_add(&st->slice_by_owner,
				    sl_named_hash(s->spec->namespace, s->spec->service), s->id);
	struct sl_model_slice *h = st->slices.slots.obj[head], *n = st->slices.slots.obj[h->next];
	s->prev = h->id;
	s->next = n->id;
	h->next = s->id;
	n->prev = s->id;
	return 0;
}

static void ring_unlink(struct sl_svc_store *st, struct sl_model_slice *s)
{
	if (!s->spec->service[0])
		return;
	uint64_t h = sl_named_hash(s->spec->namespace, s->spec->service);
	int64_t head = owner_head(st, s->spec->namespace, s->spec->service);
	if (s->next == s->id) {
		sl_index_del(&st->slice_by_owner, h, s->id);
		return;
	}
	((struct sl_model_slice *)st->slices.slots.obj[s->prev])->next = s->next;
	((struct sl_model_slice *)st->slices.slots.obj[s->next])->prev = s->prev;
	if (head == s->id) { /* a delete then an add: never grows the index */
		sl_index_del(&st->slice_by_owner, h, s->id);
		sl_index_add(&st->slice_by_owner, h, s->next);
	}
	s->prev = s->next = s->id;
}

/* Frontends: every ip:port/protocol (cluster, external and ingress IPs) and node
 * port/protocol (node ports, the health-check node port) of a proxied Service, indexed so
 * that two Services never claim the same one. */

struct fe_key {
	bool node_port;     /* a port on every node address; ip unset */
	struct sl_ip ip;
	uint16_t port;
	uint8_t proto;
	int port_idx;       /* spec.ports index, -1 for the health-check node port */
	uint32_t not_id;    /* lookups: ignore this Service */
};

static uint64_t fe_hash(const struct fe_key *k)
{
	uint64_t h = k->node_port ? 0x6e6f6465706f7274ull : sl_ip_hash(k->ip);
	return (h ^ ((uint64_t)k->port << 8 | k->proto)) * 0x9e3779b97f4a7c15ull;
}

static bool fe_same(const struct fe_key *a, const struct fe_key *b)
{
	return a->node_port == b->node_port && a->port == b->port && a->proto == b->proto &&
	       (a->node_port || sl_ip_eq(a->ip, b->ip));
}

/* Call fn for each frontend of sp (a proxied spec) until it returns non-zero. */
static int fe_each(const struct sl_svc_spec *sp, int (*fn)(void *, const struct fe_key *),
		   void *arg)
{
	const struct sl_ip *lists[] = { sp->cluster_ips, sp->external_ips, sp->lb_ips };
	unsigned counts[] = { sp->n_cluster_ips, sp->n_external_ips, sp->n_lb_ips };
	int rc;
	for (unsigned p = 0; p < sp->n_ports; p++) {
		const struct sl_svc_port *pt = &sp->ports[p];
		struct fe_key k = { .port = pt->port, .proto = pt->protocol, .port_idx = (int)p };
		for (unsigned l = 0; l < 3; l++)
			for (unsigned i = 0; i < counts[l]; i++) {
				k.ip = lists[l][i];
				if ((rc = fn(arg, &k)))
					return rc;
			}
		if (pt->node_port) {
			struct fe_key n = { .node_port = true, .port = pt->node_port,
					    .proto = pt->protocol, .port_idx = (int)p };
			if ((rc = fn(arg, &n)))
				return rc;
		}
	}
	if (sp->health_check_node_port) {
		struct fe_key n = { .node_port = true, .port = sp->health_check_node_port,
				    .proto = IPPROTO_TCP, .port_idx = -1 };
		return fn(arg, &n);
	}
	return 0;
}

static int fe_has_one(void *arg, const struct fe_key *k)
{
	return fe_same(arg, k);
}

static bool fe_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_svc_store *st = ctx;
	const struct sl_model_svc *s = st->svcs.slots.obj[id];
	const struct fe_key *k = key;
	return id != k->not_id && s && fe_each(s->spec, fe_has_one, (void *)k);
}

struct fe_ctx {
	struct sl_svc_store *st;
	uint32_t id;
	unsigned done; /* adds so far, to undo a failed fe_add */
};

static int fe_add_one(void *arg, const struct fe_key *k)
{
	struct fe_ctx *c = arg;
	if (sl_index_add(&c->st->svc_by_frontend, fe_hash(k), c->id) < 0)
		return -ENOMEM;
	c->done++;
	return 0;
}

static int fe_del_one(void *arg, const struct fe_key *k)
{
	struct fe_ctx *c = arg;
	if (c->done == 0)
		return 1;
	sl_index_del(&c->st->svc_by_frontend, fe_hash(k), c->id);
	c->done--;
	return 0;
}

/* Index (or unindex) the frontends of s with spec sp. fe_add returns 0 or -ENOMEM (then
 * nothing of it stays). */
static void fe_del(struct sl_svc_store *st, uint32_t id, const struct sl_svc_spec *sp)
{
	struct fe_ctx c = { st, id, UINT32_MAX };
	if (sl_svc_proxied(sp))
		fe_each(sp, fe_del_one, &c);
}

static int fe_add(struct sl_svc_store *st, uint32_t id, const struct sl_svc_spec *sp)
{
	struct fe_ctx c = { st, id, 0 };
	if (!sl_svc_proxied(sp) || fe_each(sp, fe_add_one, &c) == 0)
		return 0;
	fe_each(sp, fe_del_one, &c); /* the first c.done keys */
	return -ENOMEM;
}

/* The first frontend of s that another Service holds: 0, or 1 with err set. */
struct fe_check {
	const struct sl_svc_store *st;
	const struct sl_model_svc *s;
	char *err;
	size_t errlen;
};

static int fe_check_one(void *arg, const struct fe_key *k)
{
	struct fe_check *c = arg;
	struct fe_key q = *k;
	q.not_id = c->s->id;
	int64_t o = sl_index_find(&c->st->svc_by_frontend, fe_hash(&q), fe_match, c->st, &q);
	if (o < 0)
		return 0;
	const struct sl_svc_spec *os = ((struct sl_model_svc *)c->st->svcs.slots.obj[o])->spec;
	const char *proto = k->proto == IPPROTO_UDP ? "UDP" : k->proto == IPPROTO_SCTP ? "SCTP"
											: "TCP";
	char ip[SL_IP_STR_MAX], field[48];
	if (k->port_idx < 0)
		snprintf(field, sizeof(field), "spec.healthCheckNodePort");
	else
		snprintf(field, sizeof(field), "spec.ports[%d]%s", k->port_idx,
			 k->node_port ? ".nodePort" : "");
	if (k->node_port)
		snprintf(c->err, c->errlen, "%s: node port %u/%s is already used by service %s/%s",
			 field, k->port, proto, os->namespace, os->name);
	else
		snprintf(c->err, c->errlen, "%s: %s:%u/%s is already a frontend of service %s/%s",
			 field, sl_ip_fmt(k->ip, ip), k->port, proto, os->namespace, os->name);
	return 1;
}

/* Storage of one change, and its undo (sl_named_store). Specs are swapped, never copied. */

static const char *svc_key(const void *obj, const char **ret_ns)
{
	const struct sl_model_svc *s = obj;
	*ret_ns = s->spec->namespace;
	return s->spec->name;
}

static const char *slice_key(const void *obj, const char **ret_ns)
{
	const struct sl_model_slice *s = obj;
	*ret_ns = s->spec->namespace;
	return s->spec->name;
}

static int svc_link(void *store, void *obj)
{
	struct sl_model_svc *s = obj;
	return fe_add(store, s->id, s->spec);
}

static void svc_unlink(void *store, void *obj)
{
	struct sl_model_svc *s = obj;
	fe_del(store, s->id, s->spec);
}

static int slice_link(void *store, void *obj)
{
	return ring_link(store, obj);
}

static void slice_unlink(void *store, void *obj)
{
	ring_unlink(store, obj);
}

/* The bytes counted for an object (obj_size) and its spec going from old to new. */
static void count_bytes(struct sl_svc_store *st, size_t obj_size, size_t old, size_t new,
			bool created, bool deleted)
{
	st->bytes += new + (created ? obj_size : 0);
	st->bytes -= old + (deleted ? obj_size : 0);
}

static void svc_changed(void *store, void *obj, const void *old, const void *new)
{
	count_bytes(store, sizeof(struct sl_model_svc), old ? svc_spec_bytes(old) : 0,
		    new ? svc_spec_bytes(new) : 0, !old, !new);
}

static void slice_changed(void *store, void *obj, const void *old, const void *new)
{
	count_bytes(store, sizeof(struct sl_model_slice), old ? slice_spec_bytes(old) : 0,
		    new ? slice_spec_bytes(new) : 0, !old, !new);
}

static const struct sl_named svc_table = {
	.kind = "service",
	.key = svc_key,
	.size = sizeof(struct sl_model_svc),
	.id_off = offsetof(struct sl_model_svc, id),
	.spec_off = offsetof(struct sl_model_svc, spec),
	.link = svc_link,
	.unlink = svc_unlink,
	.changed = svc_changed,
	.discard = free, /* its spec stays the op's */
};

static const struct sl_named slice_table = {
	.kind = "endpointslice",
	.key = slice_key,
	.size = sizeof(struct sl_model_slice),
	.id_off = offsetof(struct sl_model_slice, id),
	.spec_off = offsetof(struct sl_model_slice, spec),
	.link = slice_link,
	.unlink = slice_unlink,
	.changed = slice_changed,
	.discard = free,
};

static int op_store(struct sl_svc_store *st, struct sl_k8s_op *op, struct sl_named_undo *u,
		    char *err, size_t errlen)
{
	bool svc = op->kind == SL_K8S_SERVICE;
	const char *ns = op->del ? op->namespace : svc ? op->svc->namespace : op->slice->namespace;
	const char *name = op->del ? op->name : svc ? op->svc->name : op->slice->name;
	void *spec = op->del ? NULL : svc ? (void *)op->svc : (void *)op->slice;
	int rc = sl_named_store(svc ? &st->svcs : &st->slices, st, op->kind, ns, name, spec, u,
				err, errlen);
	if (rc == 0 && svc && u->created)
		((struct sl_model_svc *)u->obj)->born = st->batch;
	return rc;
}

/* Hooks. */

/* Tell the hooks s's current state, with its view v when built already (else NULL).
 * Returns 0 or the hook's error. */
static int svc_sync(struct sl_model *m, struct sl_model_svc *s, bool gone,
		    struct sl_svc_view *v, char *err, size_t errlen)
{
	const struct sl_model_hooks *h = sl_model_hooks(m);
	if (gone || !sl_svc_proxied(s->spec)) {
		if (s->hooked && h->svc_deleted)
			h->svc_deleted(h->ctx, s);
		s->hooked = false;
		return 0;
	}
	if (!h->svc_changed) {
		s->hooked = true;
		return 0;
	}
	struct sl_svc_view *own = NULL;
	if (!v && sl_svc_view_build(m, s, &own) < 0)
		return ERR("out of memory"), -ENOMEM;
	int rc = h->svc_changed(h->ctx, v ? v : own, err, errlen);
	sl_svc_view_free(own);
	if (rc < 0)
		return rc;
	s->hooked = true;
	return 0;
}

/* The slices of s, looked up by its view from the owner index, asked for ahead. */
static void owner_prefetch(const struct sl_svc_store *st, const struct sl_model_svc *s)
{
	sl_index_prefetch(&st->slice_by_owner, sl_named_hash(s->spec->namespace, s->spec->name));
}

/* The index slots op's store will look at, asked for ahead (a batch's lookups land all
 * over indexes of 100,000s of entries: a cache miss each). */
static void prefetch_op(const struct sl_svc_store *st, const struct sl_k8s_op *op)
{
	if (op->del)
		return;
	if (op->kind == SL_K8S_SERVICE && op->svc) {
		sl_index_prefetch(&st->svcs.by_name, sl_named_hash(op->svc->namespace, op->svc->name));
	} else if (op->kind == SL_K8S_SLICE && op->slice) {
		const struct sl_slice_spec *sp = op->slice;
		sl_index_prefetch(&st->slices.by_name, sl_named_hash(sp->namespace, sp->name));
		if (sp->service[0])
			sl_index_prefetch(&st->slice_by_owner, sl_named_hash(sp->namespace, sp->service));
	}
}

/* The Services a batch touched: each once (by mark), deleted ones flagged. */
struct touched {
	struct sl_model_svc *s;
	bool gone;    /* deleted by the batch */
	bool created; /* created by the batch */
	bool synced;  /* the hooks were told */
};

/* The views of the n Services t[0..n-1] will tell the hooks of: NULL for one deleted or
 * not proxied (and when out of memory: svc_sync tries again and says so). */
static void views_build(struct sl_model *m, const struct sl_svc_store *st,
			const struct touched *t, unsigned n, struct sl_svc_view **v)
{
	for (unsigned k = 0; k < n; k++) {
		if (k + 2 < n)
			owner_prefetch(st, t[k + 2].s);
		v[k] = NULL;
		if (!t[k].gone && sl_svc_proxied(t[k].s->spec) && sl_svc_view_build(m, t[k].s, &v[k]) < 0)
			v[k] = NULL;
	}
}

static void views_free(struct sl_svc_view **v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		sl_svc_view_free(v[k]);
}

static void touch(struct sl_svc_store *st, struct touched *t, unsigned *n,
		  struct sl_model_svc *s, bool gone)
{
	if (!s || s->mark == st->batch)
		return;
	s->mark = st->batch;
	t[(*n)++] = (struct touched){ s, gone, s->born == st->batch, false };
}

static void touch_owner(struct sl_svc_store *st, const struct sl_model *m, struct touched *t,
			unsigned *n, const struct sl_slice_spec *sp)
{
	if (sp && sp->service[0])
		touch(st, t, n, sl_model_svc_find(m, sp->namespace, sp->service), false);
}

static void undo_all(struct sl_svc_store *st, struct sl_named_undo *u, unsigned n)
{
	while (n--)
		sl_named_unstore(u[n].kind == SL_K8S_SERVICE ? &st->svcs : &st->slices, st, &u[n]);
}

int sl_model_svc_apply(struct sl_model *m, struct sl_k8s_op *ops, unsigned n, char *err,
		       size_t errlen)
{
	struct sl_svc_store *st = sl_model_svcs(m);
	char why[400];
	int rc = 0;
	if (n == 0)
		return 0;
	struct sl_named_undo *u = calloc(n, sizeof(*u));
	struct touched *t = calloc(2 * (size_t)n, sizeof(*t)); /* a slice touches <= 2 */
	if (!u || !t) {
		free(u);
		free(t);
		return ERR("out of memory"), -ENOMEM;
	}
	/* 1. Store every change; a failure undoes the ones before (no hook was called). */
	st->batch++;
	unsigned i, nt = 0;
	for (i = 0; i < n; i++) {
		if (i + 4 < n && ops[i + 4].kind <= SL_K8S_SLICE)
			prefetch_op(st, &ops[i + 4]);
		if (!ops[i].del && !(ops[i].kind == SL_K8S_SERVICE ? (void *)ops[i].svc
								   : (void *)ops[i].slice)) {
			undo_all(st, u, i); /* an op already applied (its spec taken) */
			snprintf(why, sizeof(why), "nothing to apply");
			sl_model_err_path(err, errlen, ops[i].path[0] ? ops[i].path : "object", why,
					  false);
			rc = -EINVAL;
			goto out;
		}
		rc = op_store(st, &ops[i], &u[i], why, sizeof(why));
		if (rc < 0) {
			undo_all(st, u, i);
			sl_model_err_path(err, errlen, ops[i].path[0] ? ops[i].path : "object", why,
					  false);
			goto out;
		}
	}
	/* 2. No two Services on one frontend (checked once all is stored: a batch may move a
	 * cluster IP from one Service to another). */
	for (i = 0; i < n; i++) {
		struct sl_model_svc *s = u[i].obj;
		if (u[i].kind != SL_K8S_SERVICE || u[i].deleted || st->svcs.slots.obj[s->id] != s ||
		    !sl_svc_proxied(s->spec))
			continue;
		struct fe_check c = { st, s, why, sizeof(why) };
		if (fe_each(s->spec, fe_check_one, &c)) {
			undo_all(st, u, n);
			snprintf(err, errlen, "%s%s%s", ops[i].path, ops[i].path[0] ? "." : "", why);
			rc = -EEXIST;
			goto out;
		}
	}
	/* 3. The Services touched: deleted ones first (frees frontends before others take
	 * them), then the Services applied, then the owners of the slices changed. */
	for (i = 0; i < n; i++)
		if (u[i].kind == SL_K8S_SERVICE && u[i].deleted)
			touch(st, t, &nt, u[i].obj, true);
	for (i = 0; i < n; i++)
		if (u[i].kind == SL_K8S_SERVICE)
			touch(st, t, &nt, u[i].obj, false);
	for (i = 0; i < n; i++) {
		if (i + 4 < n && u[i + 4].kind == SL_K8S_SLICE) {
			const struct sl_slice_spec *sp = ((struct sl_model_slice *)u[i + 4].obj)->spec;
			if (sp->service[0])
				sl_index_prefetch(&st->svcs.by_name, sl_named_hash(sp->namespace, sp->service));
		}
		if (u[i].kind == SL_K8S_SLICE) {
			struct sl_model_slice *s = u[i].obj;
			touch_owner(st, m, t, &nt, u[i].old_spec);
			touch_owner(st, m, t, &nt, s->spec);
		}
	}
	/* 4. Tell the hooks; a large batch a chunk at a time, its views built first and shown to
	 * svc_prepare (the reconciler builds Maglev tables ahead on other cores). */
	const struct sl_model_hooks *h = sl_model_hooks(m);
	struct sl_svc_view **views = NULL;
	unsigned n_views = 0;
	if (h->svc_prepare && nt >= SL_MODEL_PREPARE_MIN)
		views = calloc(SL_MODEL_PREPARE_CHUNK, sizeof(*views));
	for (i = 0; i < nt; i++) {
		if (views && i % SL_MODEL_PREPARE_CHUNK == 0) {
			views_free(views, n_views);
			n_views = nt - i < SL_MODEL_PREPARE_CHUNK ? nt - i : SL_MODEL_PREPARE_CHUNK;
			views_build(m, st, &t[i], n_views, views);
			h->svc_prepare(h->ctx, (const struct sl_svc_view *const *)views, n_views);
		} else if (!views && i + 2 < nt) {
			owner_prefetch(st, t[i + 2].s);
		}
		rc = svc_sync(m, t[i].s, t[i].gone, views ? views[i % SL_MODEL_PREPARE_CHUNK] : NULL,
			      why, sizeof(why));
		if (rc < 0)
			break;
		t[i].synced = true;
	}
	if (views) {
		views_free(views, n_views);
		free(views);
		h->svc_prepare(h->ctx, NULL, 0);
	}
	if (rc < 0) {
		char path[160];
		snprintf(path, sizeof(path), "service %s/%s", t[i].s->spec->namespace,
			 t[i].s->spec->name);
		sl_model_err_path(err, errlen, path, why, false);
		/* Undo: created Services leave the tables, then the model is restored, then the
		 * others are told their restored state. */
		for (unsigned k = 0; k < i; k++)
			if (t[k].created)
				svc_sync(m, t[k].s, true, NULL, why, sizeof(why));
		undo_all(st, u, n);
		for (unsigned k = 0; k < i; k++)
			if (!t[k].created && svc_sync(m, t[k].s, false, NULL, why, sizeof(why)) < 0)
				fprintf(stderr, "sluiced: service %s/%s: restoring after a failed "
					"batch: %s\n", t[k].s->spec->namespace, t[k].s->spec->name, why);
		goto out;
	}
	/* 5. Commit: the model owns the applied specs; free what was replaced or deleted (its
	 * bytes left the count when it was stored). */
	for (i = 0; i < n; i++) {
		if (u[i].kind == SL_K8S_SERVICE) {
			struct sl_model_svc *s = u[i].obj;
			sl_svc_spec_free(u[i].old_spec);
			if (u[i].deleted) {
				sl_svc_spec_free(s->spec);
				free(s);
			}
		} else {
			sl_slice_spec_free(u[i].old_spec);
			if (u[i].deleted)
				slice_free(u[i].obj);
		}
		ops[i].svc = NULL;
		ops[i].slice = NULL;
	}
out:
	free(u);
	free(t);
	return rc;
}

int sl_model_svc_del(struct sl_model *m, const char *ns, const char *name, char *err,
		     size_t errlen)
{
	return sl_model_k8s_del_one(m, SL_K8S_SERVICE, ns, name, err, errlen);
}

int sl_model_slice_del(struct sl_model *m, const char *ns, const char *name, char *err,
		       size_t errlen)
{
	return sl_model_k8s_del_one(m, SL_K8S_SLICE, ns, name, err, errlen);
}
