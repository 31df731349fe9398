/* The Kubernetes sync: reflectors, their transport and their sinks (see sl_kube_sync.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/sl_service.h"
#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"
#include "sl_kube_http.h"
#include "sl_kube_reflector.h"
#include "sl_kube_sync.h"

/* kube-proxy's selector on Services and EndpointSlices (pkg/proxy/apis: LabelServiceProxyName;
 * v1.IsHeadlessService label): not another proxy's, not a headless Service's. */
#define PROXY_SELECTOR "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
#define LIST_TIMEOUT_S 60
#define PATCH_TIMEOUT_S 30
#define PATCH_MIN_GAP_MS 1000
#define APPLY_LOG 256  /* per resource: the last objects applied, in show sync */
#define WATCH_GRACE_S 60 /* the server ends a watch at timeoutSeconds; this bounds a silent one */

struct sync;
struct res;

/* One resource the sync follows. apply/del are its sink; the generic ones feed the document
 * decoder (sl_k8s_policy_decode) so a kind it learns needs one line here and nothing else.
 * Kinds applied through sl_model_k8s_apply (all but Nodes) are batched: apply decodes into
 * the resource's queue, the reflector's flush applies the queue as one model transaction (a
 * list page, a run of initial events: one commit, one policy notification, one publish). */
struct kind {
	const char *resource;    /* "services": the path's last segment, show's name */
	const char *kind;        /* "Service" */
	const char *api_version; /* "v1", "discovery.k8s.io/v1" */
	const char *path;        /* the cluster-wide collection */
	const char *selector;    /* labelSelector, or NULL */
	bool enabled;            /* followed (the decoder takes it) */
	enum sl_k8s_kind op_kind; /* doc_del's op (kinds through the document decoder) */
	int (*apply)(struct res *r, cJSON *obj, char *err, size_t errlen);
	void (*del)(struct res *r, const char *key, const cJSON *obj);
	bool batched;            /* apply queues (see above) */
};

static int svc_apply(struct res *r, cJSON *obj, char *err, size_t errlen);
static void svc_del(struct res *r, const char *key, const cJSON *obj);
static int slice_apply(struct res *r, cJSON *obj, char *err, size_t errlen);
static void slice_del(struct res *r, const char *key, const cJSON *obj);
static int node_apply(struct res *r, cJSON *obj, char *err, size_t errlen);
static void node_del(struct res *r, const char *key, const cJSON *obj);
static int doc_apply(struct res *r, cJSON *obj, char *err, size_t errlen);
static void doc_del(struct res *r, const char *key, const cJSON *obj);

static const struct kind kinds[] = {
	{ "nodes", "Node", "v1", "/api/v1/nodes", NULL, true, 0, node_apply, node_del, false },
	{ "services", "Service", "v1", "/api/v1/services", PROXY_SELECTOR, true, SL_K8S_SERVICE,
	  svc_apply, svc_del, true },
	{ "endpointslices", "EndpointSlice", "discovery.k8s.io/v1",
	  "/apis/discovery.k8s.io/v1/endpointslices", PROXY_SELECTOR, true, SL_K8S_SLICE,
	  slice_apply, slice_del, true },
	/* NetworkPolicy's view of the cluster, through the document decoder. */
	{ "namespaces", "Namespace", "v1", "/api/v1/namespaces", NULL, true, SL_K8S_NAMESPACE,
	  doc_apply, doc_del, true },
	{ "pods", "Pod", "v1", "/api/v1/pods", NULL, true, SL_K8S_POD, doc_apply, doc_del, true },
	{ "networkpolicies", "NetworkPolicy", "networking.k8s.io/v1",
	  "/apis/networking.k8s.io/v1/networkpolicies", NULL, true, SL_K8S_POLICY, doc_apply,
	  doc_del, true },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

struct res {
	struct sl_kube_reflector r;
	const struct kind *k;
	struct sync *s;
	struct sl_kube_req *req;    /* the list page or watch in flight */
	struct sl_loop_timer retry;
	/* the last APPLY_LOG objects applied: resourceVersion and wall-clock time, for the scale
	 * benchmark's event-to-fast-path latency (perf/k8s_scale_bench.sh) */
	struct { uint64_t rv, t_us; } applied_log[APPLY_LOG];
	uint64_t applied_n;
	/* the batch: ops decoded by apply, not yet applied (flush), with their resourceVersions */
	struct sl_k8s_op *q;
	uint64_t *q_rv;
	unsigned qn, qcap;
	uint64_t batches, batch_splits; /* flushes; batches refused whole, then applied one by one */
	unsigned batch_max;
	struct sl_json_arena arena;    /* list pages and watch events are parsed here */
};

struct sync {
	struct sl_loop *loop;
	struct sl_model *m;
	struct sl_kube_auth auth;
	struct sl_kube_http *http;
	struct sl_kube_sync_conf conf;
	char node_name[SL_NAME_MAX];
	struct res res[N_KINDS];
	/* this node's Node */
	bool self_seen, has_pod_cidr;
	struct sl_cidr pod_cidr;
	struct sl_kube_req *patch_req;
	bool patch_again;           /* the Node changed while a PATCH was in flight */
	bool published;             /* the Node carries our annotations */
	uint64_t patches, patch_errors;
	uint64_t last_patch_ns;     /* when the last PATCH started */
	struct sl_kube_backoff patch_backoff;
	struct sl_loop_timer patch_timer;
	char patch_error[160];
};

static struct sync *S;

static uint64_t now_ns(void)
{
	return sl_loop_now_ns();
}

/* "ns/name" into its parts. */
static bool split_key(const char *key, char *ns, size_t nsl, char *name, size_t nl)
{
	const char *sl = strchr(key, '/');
	if (!sl || (size_t)(sl - key) >= nsl || strlen(sl + 1) >= nl)
		return false;
	memcpy(ns, key, (size_t)(sl - key));
	ns[sl - key] = '\0';
	strcpy(name, sl + 1);
	return true;
}

/* The next free op of the batch (zeroed), or NULL when out of memory. */
static struct sl_k8s_op *q_slot(struct res *r, char *err, size_t errlen)
{
	if (r->qn == r->qcap) {
		unsigned cap = r->qcap ? r->qcap * 2 : 64;
		struct sl_k8s_op *q = realloc(r->q, cap * sizeof(*q));
		uint64_t *rv = q ? realloc(r->q_rv, cap * sizeof(*rv)) : NULL;
		if (q)
			r->q = q;
		if (!q || !rv) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		r->q_rv = rv;
		r->qcap = cap;
	}
	memset(&r->q[r->qn], 0, sizeof(r->q[0]));
	return &r->q[r->qn];
}

static uint64_t obj_rv(const cJSON *obj)
{
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
	return cJSON_IsString(rv) ? strtoull(rv->valuestring, NULL, 10) : 0;
}

/* Free what an op still owns (not the op). */
static void op_clear(struct sl_k8s_op *op)
{
	sl_svc_spec_free(op->svc);
	sl_slice_spec_free(op->slice);
	sl_ns_spec_free(op->ns);
	sl_kpod_spec_free(op->pod);
	sl_np_spec_free(op->policy);
	op->svc = NULL;
	op->slice = NULL;
	op->ns = NULL;
	op->pod = NULL;
	op->policy = NULL;
}

/* Decode obj as the resource's kind into the batch (applied at the reflector's flush). */
static int q_take(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	struct sl_k8s_op *op = q_slot(r, err, errlen);
	int rc;
	if (!op)
		return -ENOMEM;
	switch (r->k->op_kind) {
	case SL_K8S_SERVICE:
		op->kind = SL_K8S_SERVICE;
		rc = sl_k8s_parse_service(obj, "", &op->svc, err, errlen);
		break;
	case SL_K8S_SLICE:
		op->kind = SL_K8S_SLICE;
		rc = sl_k8s_parse_slice(obj, "", &op->slice, err, errlen);
		break;
	default:
		rc = sl_k8s_policy_decode(obj, "", r->k->kind, op, err, errlen);
		break;
	}
	if (rc < 0) {
		op_clear(op);
		return rc;
	}
	r->q_rv[r->qn++] = obj_rv(obj);
	return 0;
}

static int svc_apply(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	return q_take(r, obj, err, errlen);
}

static int slice_apply(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	return q_take(r, obj, err, errlen);
}

static void svc_del(struct res *r, const char *key, const cJSON *obj)
{
	char ns[SL_K8S_NS_MAX], name[SL_K8S_NAME_MAX], err[256];
	if (split_key(key, ns, sizeof(ns), name, sizeof(name)) && strlen(name) < SL_K8S_NS_MAX)
		sl_model_svc_del(r->s->m, ns, name, err, sizeof(err)); /* -ENOENT: refused before */
}

static void slice_del(struct res *r, const char *key, const cJSON *obj)
{
	char ns[SL_K8S_NS_MAX], name[SL_K8S_NAME_MAX], err[256];
	if (split_key(key, ns, sizeof(ns), name, sizeof(name)))
		sl_model_slice_del(r->s->m, ns, name, err, sizeof(err));
}

/* The generic hook: the object through the document decoder (sl_k8s_policy_decode for the
 * kinds it takes, by the resource's kind), into the batch. */
static int doc_apply(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	return q_take(r, obj, err, errlen);
}

/* A delete of the object at key ("ns/name", or "name" for a Namespace): one delete op of
 * the kind, so even a relist's bare key (no object left) is enough. */
static void doc_del(struct res *r, const char *key, const cJSON *obj)
{
	struct sl_k8s_op op = { .kind = r->k->op_kind, .del = true };
	char err[256];
	if (!split_key(key, op.namespace, sizeof(op.namespace), op.name, sizeof(op.name)))
		snprintf(op.name, sizeof(op.name), "%s", key);
	int rc = sl_model_k8s_apply(r->s->m, &op, 1, err, sizeof(err));
	if (rc < 0 && rc != -ENOENT) { /* not applied (a refused object): nothing to delete */
		r->r.st.errors++;
		snprintf(r->r.st.last_error, sizeof(r->r.st.last_error), "%s %s: delete: %s",
			 r->k->resource, key, err);
	}
}

/* This node's Node: publish our VTEP unless it already says so. */
static void patch_start(struct sync *s);

static void patch_done(void *arg, long status, const char *body, size_t len, const char *why)
{
	struct sync *s = arg;
	s->patch_req = NULL;
	if (status == 200) {
		s->published = true;
		s->patch_error[0] = '\0';
		if (s->patch_again) {
			s->patch_again = false;
			patch_start(s);
		}
		return;
	}
	s->patch_errors++;
	if (status)
		snprintf(s->patch_error, sizeof(s->patch_error), "PATCH node %s: HTTP %ld",
			 s->node_name, status);
	else
		snprintf(s->patch_error, sizeof(s->patch_error), "PATCH node %s: %s", s->node_name,
			 why ? why : "failed");
	fprintf(stderr, "sluiced: k8s: %s\n", s->patch_error);
	sl_loop_timer_arm(s->loop, &s->patch_timer,
			  sl_kube_backoff_next(&s->patch_backoff, now_ns()));
}

static void patch_start(struct sync *s)
{
	char path[512], err[256], esc[3 * SL_NAME_MAX + 1];
	if (s->patch_req) {
		s->patch_again = true;
		return;
	}
	char *body = sl_kube_node_patch(&s->conf.pub);
	if (!body || !sl_kube_http_escape(s->node_name, esc, sizeof(esc))) {
		free(body);
		return;
	}
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", esc);
	s->patches++;
	s->last_patch_ns = now_ns();
	s->patch_req = sl_kube_http_request(s->http, "PATCH", path, "application/merge-patch+json",
					    body, false, PATCH_TIMEOUT_S, NULL, patch_done, s, err,
					    sizeof(err));
	free(body);
	if (!s->patch_req)
		patch_done(s, 0, "", 0, err);
}

static void on_patch_timer(struct sl_loop_timer *t, void *arg)
{
	patch_start(arg);
}

static bool node_same(const struct sl_node_spec *a, const struct sl_node_spec *b)
{
	return sl_ip_eq(a->ip, b->ip) && sl_cidr_eq(a->pod_cidr, b->pod_cidr) &&
	       a->has_vtep_mac == b->has_vtep_mac &&
	       (!a->has_vtep_mac || !memcmp(a->vtep_mac, b->vtep_mac, 6));
}

static int node_apply(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	struct sync *s = r->s;
	struct sl_kube_node n;
	int rc = sl_kube_node_decode(obj, &n, err, errlen);
	if (rc < 0)
		return rc;
	if (!strcmp(n.spec.name, s->node_name)) {
		s->self_seen = true;
		if (n.has_pod_cidr && (!s->has_pod_cidr || !sl_cidr_eq(s->pod_cidr, n.spec.pod_cidr))) {
			char b[SL_CIDR_STR_MAX];
			const struct sl_model_self *self = sl_model_self(s->m);
			s->pod_cidr = n.spec.pod_cidr;
			s->has_pod_cidr = true;
			if (!sl_cidr_eq(self->pod_cidr, n.spec.pod_cidr))
				fprintf(stderr, "sluiced: k8s: warning: Node %s has podCIDR %s but "
						"the configuration says %s\n", s->node_name,
					sl_cidr_fmt(n.spec.pod_cidr, b),
					sl_cidr_fmt(self->pod_cidr, (char[SL_CIDR_STR_MAX]){ 0 }));
		}
		s->published = sl_kube_node_published(obj, &s->conf.pub);
		if (!s->conf.publish || s->published || sl_loop_timer_armed(&s->patch_timer))
			return 0;
		/* Someone else keeps rewriting them: not more than one PATCH a second. */
		uint64_t since = now_ns() - s->last_patch_ns;
		if (s->last_patch_ns && since < PATCH_MIN_GAP_MS * 1000000ull)
			sl_loop_timer_arm(s->loop, &s->patch_timer, PATCH_MIN_GAP_MS);
		else
			patch_start(s);
		return 0;
	}
	struct sl_model_node *cur = sl_model_node_find(s->m, n.spec.name);
	if (!n.has_ip || !n.has_pod_cidr) { /* not routable yet (no podCIDR assigned) */
		if (cur)
			sl_model_node_del(s->m, n.spec.name, err, errlen);
		return 0;
	}
	if (cur && node_same(&cur->spec, &n.spec))
		return 0;
	if (cur)
		sl_model_node_del(s->m, n.spec.name, err, errlen);
	return sl_model_node_add(s->m, &n.spec, err, errlen);
}

static void node_del(struct res *r, const char *key, const cJSON *obj)
{
	char err[256];
	if (strcmp(key, r->s->node_name))
		sl_model_node_del(r->s->m, key, err, sizeof(err));
}

/* Transport: list pages and watches of one resource. Responses and events are parsed into
 * the resource's arena (sl_json.h: no malloc per node, freed at once); the reflector and the
 * sinks only read them. */
static void list_done(void *arg, long status, const char *body, size_t len, const char *why)
{
	struct res *r = arg;
	r->req = NULL;
	cJSON *doc = len ? sl_json_parse(&r->arena, body, len, NULL) : NULL;
	if (status == 200 && !doc) {
		status = 0;
		why = "response is not JSON";
	}
	sl_kube_reflector_list_done(&r->r, now_ns(), status, doc, why);
	sl_json_arena_free(&r->arena);
}

static bool watch_line(void *arg, char *line, size_t len)
{
	struct res *r = arg;
	cJSON *ev = sl_json_parse(&r->arena, line, len, NULL);
	if (!ev) {
		sl_json_arena_free(&r->arena);
		r->r.st.errors++;
		snprintf(r->r.st.last_error, sizeof(r->r.st.last_error),
			 "watch %s: event is not JSON", r->k->resource);
		return true;
	}
	bool more = sl_kube_reflector_event(&r->r, now_ns(), ev);
	sl_json_arena_free(&r->arena);
	return more;
}

static void watch_done(void *arg, long status, const char *body, size_t len, const char *why)
{
	struct res *r = arg;
	r->req = NULL;
	cJSON *doc = status != 200 && len ? sl_json_parse(&r->arena, body, len, NULL) : NULL;
	sl_kube_reflector_watch_done(&r->r, now_ns(), status, doc, why);
	sl_json_arena_free(&r->arena);
}

static int query(const struct kind *k, char *buf, size_t len, const char *extra)
{
	char sel[512];
	int n;
	if (k->selector) {
		if (!sl_kube_http_escape(k->selector, sel, sizeof(sel)))
			return -E2BIG;
		n = snprintf(buf, len, "%s?labelSelector=%s&%s", k->path, sel, extra);
	} else {
		n = snprintf(buf, len, "%s?%s", k->path, extra);
	}
	return n < 0 || (size_t)n >= len ? -E2BIG : 0;
}

static int op_list(void *ctx, struct sl_kube_reflector *rf, const char *cont, unsigned limit)
{
	struct res *r = ctx;
	char path[8192], extra[6144], esc[6000], err[256];
	if (cont && !sl_kube_http_escape(cont, esc, sizeof(esc)))
		return -E2BIG;
	if (limit)
		snprintf(extra, sizeof(extra), "limit=%u%s%s", limit, cont ? "&continue=" : "",
			 cont ? esc : "");
	else
		snprintf(extra, sizeof(extra), "%s%s", cont ? "continue=" : "", cont ? esc : "");
	if (query(r->k, path, sizeof(path), extra) < 0)
		return -E2BIG;
	r->req = sl_kube_http_request(r->s->http, "GET", path, NULL, NULL, false, LIST_TIMEOUT_S,
				      NULL, list_done, r, err, sizeof(err));
	if (!r->req) {
		snprintf(rf->st.last_error, sizeof(rf->st.last_error), "list %s: %s",
			 r->k->resource, err);
		return -EIO;
	}
	return 0;
}

/* Open r's watch stream with the query parameters extra (what: the request's name in the
 * reflector's last error). */
static int start_watch(struct res *r, struct sl_kube_reflector *rf, const char *extra,
		       unsigned timeout_s, const char *what)
{
	char path[2048], err[256];
	if (query(r->k, path, sizeof(path), extra) < 0)
		return -E2BIG;
	r->req = sl_kube_http_request(r->s->http, "GET", path, NULL, NULL, true,
				      (long)timeout_s + WATCH_GRACE_S, watch_line, watch_done, r,
				      err, sizeof(err));
	if (!r->req) {
		snprintf(rf->st.last_error, sizeof(rf->st.last_error), "%s %s: %s", what,
			 r->k->resource, err);
		return -EIO;
	}
	return 0;
}

static int op_watch(void *ctx, struct sl_kube_reflector *rf, const char *rv, unsigned timeout_s)
{
	char extra[512], esc[3 * SL_KUBE_RV_MAX + 1];
	if (!sl_kube_http_escape(rv, esc, sizeof(esc)))
		return -E2BIG;
	snprintf(extra, sizeof(extra), "watch=1&allowWatchBookmarks=true&resourceVersion=%s"
		 "&timeoutSeconds=%u", esc, timeout_s);
	return start_watch(ctx, rf, extra, timeout_s, "watch");
}

/* A streaming list (KEP-3157): the initial events, then the end bookmark, then the watch. */
static int op_watch_list(void *ctx, struct sl_kube_reflector *rf, unsigned timeout_s)
{
	char extra[512];
	snprintf(extra, sizeof(extra), "watch=1&sendInitialEvents=true&resourceVersionMatch="
		 "NotOlderThan&allowWatchBookmarks=true&resourceVersion=&timeoutSeconds=%u",
		 timeout_s);
	return start_watch(ctx, rf, extra, timeout_s, "watch-list");
}

static void op_cancel(void *ctx, struct sl_kube_reflector *rf)
{
	struct res *r = ctx;
	sl_kube_http_cancel(r->req);
	r->req = NULL;
}

static void on_retry(struct sl_loop_timer *t, void *arg)
{
	struct res *r = arg;
	sl_kube_reflector_retry(&r->r, now_ns());
}

static void op_retry_in(void *ctx, struct sl_kube_reflector *rf, uint64_t ms)
{
	struct res *r = ctx;
	sl_loop_timer_arm(r->s->loop, &r->retry, ms);
}

/* applied: the model's hooks have programmed the dataplane tables (the scale benchmark's
 * event -> fast path latency) */
static void log_applied(struct res *r, uint64_t rv, uint64_t t_us)
{
	r->applied_log[r->applied_n % APPLY_LOG].rv = rv;
	r->applied_log[r->applied_n % APPLY_LOG].t_us = t_us;
	r->applied_n++;
}

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int op_apply(void *ctx, struct sl_kube_reflector *rf, cJSON *obj, char *err,
		    size_t errlen)
{
	struct res *r = ctx;
	int rc = r->k->apply(r, obj, err, errlen);
	if (rc >= 0 && !r->k->batched)
		log_applied(r, obj_rv(obj), wall_us());
	if (rc < 0) { /* per object, once per resourceVersion: the reflector does not retry it */
		char key[512];
		fprintf(stderr, "sluiced: k8s: %s %s refused: %s\n", r->k->resource,
			sl_kube_obj_key(obj, key, sizeof(key)) ? key : "?", err);
	}
	return rc;
}

/* The store key of a queued op ("ns/name", or "name"). */
static const char *op_key(const struct sl_k8s_op *op, char *buf, size_t len)
{
	const char *ns = "", *name = "";
	if (op->svc) {
		ns = op->svc->namespace;
		name = op->svc->name;
	} else if (op->slice) {
		ns = op->slice->namespace;
		name = op->slice->name;
	} else if (op->ns) {
		name = op->ns->name;
	} else if (op->pod) {
		ns = op->pod->namespace;
		name = op->pod->name;
	} else if (op->policy) {
		ns = op->policy->namespace;
		name = op->policy->name;
	}
	snprintf(buf, len, "%s%s%s", ns, ns[0] ? "/" : "", name);
	return buf;
}

/* The batch as one model transaction; when the model refuses it (all or nothing), each op
 * on its own so that only the bad ones are refused (and reported to the reflector). */
static void op_flush(void *ctx, struct sl_kube_reflector *rf)
{
	struct res *r = ctx;
	unsigned n = r->qn;
	char err[512], key[SL_K8S_NS_MAX + SL_K8S_NAME_MAX + 2];
	if (!n)
		return;
	r->qn = 0;
	r->batches++;
	if (n > r->batch_max)
		r->batch_max = n;
	int rc = sl_model_k8s_apply(r->s->m, r->q, n, err, sizeof(err));
	uint64_t t = wall_us();
	if (rc >= 0) {
		for (unsigned i = 0; i < n; i++)
			log_applied(r, r->q_rv[i], t);
	} else {
		r->batch_splits++;
		for (unsigned i = 0; i < n; i++) {
			if (sl_model_k8s_apply(r->s->m, &r->q[i], 1, err, sizeof(err)) >= 0) {
				log_applied(r, r->q_rv[i], wall_us());
				continue;
			}
			op_key(&r->q[i], key, sizeof(key));
			fprintf(stderr, "sluiced: k8s: %s %s refused: %s\n", r->k->resource, key,
				err);
			sl_kube_reflector_refused(rf, key, err);
		}
	}
	for (unsigned i = 0; i < n; i++)
		op_clear(&r->q[i]);
}

static void op_del(void *ctx, struct sl_kube_reflector *rf, const char *key, const cJSON *obj)
{
	struct res *r = ctx;
	r->k->del(r, key, obj);
}

static const struct sl_kube_reflector_ops ops = {
	.list = op_list, .watch = op_watch, .cancel = op_cancel, .retry_in = op_retry_in,
	.apply = op_apply, .del = op_del, .watch_list = op_watch_list, .flush = op_flush,
};

/* What the model already holds of a kind (restored from the state file, or the config's)
 * goes into the reflector's store at no resourceVersion: the first list replaces what it
 * lists and its sweep deletes the rest, so the API server is the truth for these kinds even
 * about what changed while sluiced was down. */
static void seed(struct res *r)
{
	char key[SL_K8S_NS_MAX + SL_K8S_NAME_MAX + 2];
	struct sl_model *m = r->s->m;
	struct sl_kube_store *st = &r->r.store;
	if (r->k->apply == svc_apply) {
		struct sl_model_svc *v;
		for (uint32_t i = 0; (v = sl_model_svc_next(m, &i));) {
			snprintf(key, sizeof(key), "%s/%s", v->spec->namespace, v->spec->name);
			sl_kube_store_set(st, key, "");
		}
	} else if (r->k->apply == slice_apply) {
		struct sl_model_slice *v;
		for (uint32_t i = 0; (v = sl_model_slice_next(m, &i));) {
			snprintf(key, sizeof(key), "%s/%s", v->spec->namespace, v->spec->name);
			sl_kube_store_set(st, key, "");
		}
	} else if (r->k->apply == node_apply) {
		struct sl_model_node *v;
		for (uint32_t i = 0; (v = sl_model_node_next(m, &i));)
			sl_kube_store_set(st, v->spec.name, "");
	}
}

int sl_kube_sync_start(struct sl_loop *loop, struct sl_model *m,
		       const struct sl_kube_sync_conf *conf, char *err, size_t errlen)
{
	struct sync *s = calloc(1, sizeof(*s));
	int rc;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->m = m;
	s->conf = *conf;
	if (!conf->node_name || !conf->node_name[0] ||
	    strlen(conf->node_name) >= sizeof(s->node_name)) {
		free(s);
		snprintf(err, errlen, "node name: required (--node-name or NODE_NAME), at most %zu "
			 "bytes", sizeof(s->node_name) - 1);
		return -EINVAL;
	}
	strcpy(s->node_name, conf->node_name);
	s->conf.node_name = s->node_name;
	rc = conf->kubeconfig ? sl_kube_auth_kubeconfig(conf->kubeconfig, &s->auth, err, errlen)
			      : sl_kube_auth_incluster(conf->sa_dir ? conf->sa_dir : SL_KUBE_SA_DIR,
						       &s->auth, err, errlen);
	if (rc < 0) {
		free(s);
		return rc;
	}
	if (!(s->http = sl_kube_http_create(loop, &s->auth, err, errlen))) {
		sl_kube_auth_free(&s->auth);
		free(s);
		return -ENOMEM;
	}
	s->conf.kubeconfig = NULL;
	s->conf.sa_dir = NULL;
	sl_kube_backoff_init(&s->patch_backoff, (uint64_t)time(NULL));
	sl_loop_timer_init(&s->patch_timer, on_patch_timer, s);
	S = s;
	for (unsigned i = 0; i < N_KINDS; i++) {
		struct res *r = &s->res[i];
		r->k = &kinds[i];
		r->s = s;
		sl_loop_timer_init(&r->retry, on_retry, r);
		sl_kube_reflector_init(&r->r, r->k->resource, r->k->kind, r->k->api_version, &ops, r,
				       now_ns() ^ ((uint64_t)i << 32) ^ (uint64_t)getpid());
		r->r.wl_mode = conf->watch_list;
		if (!r->k->enabled)
			continue;
		seed(r);
		sl_kube_reflector_start(&r->r, now_ns());
	}
	return 0;
}

void sl_kube_sync_stop(void)
{
	struct sync *s = S;
	if (!s)
		return;
	for (unsigned i = 0; i < N_KINDS; i++) {
		struct res *r = &s->res[i];
		sl_loop_timer_cancel(s->loop, &r->retry);
		sl_kube_reflector_fini(&r->r);
		for (unsigned j = 0; j < r->qn; j++)
			op_clear(&r->q[j]);
		free(r->q);
		free(r->q_rv);
		sl_json_arena_free(&r->arena);
	}
	sl_loop_timer_cancel(s->loop, &s->patch_timer);
	sl_kube_http_destroy(s->http); /* drops the PATCH in flight too */
	sl_kube_auth_free(&s->auth);
	free(s);
	S = NULL;
}

bool sl_kube_sync_pod_cidr(struct sl_cidr *ret)
{
	if (!S || !S->has_pod_cidr)
		return false;
	*ret = S->pod_cidr;
	return true;
}

cJSON *sl_kube_sync_show(void)
{
	cJSON *top = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(top, "resources");
	struct sync *s = S;
	cJSON_AddBoolToObject(top, "enabled", s != NULL);
	if (!s)
		return top;
	uint64_t now = now_ns();
	for (unsigned i = 0; i < N_KINDS; i++) {
		const struct res *r = &s->res[i];
		const struct sl_kube_reflector_stats *st = &r->r.st;
		if (!r->k->enabled)
			continue;
		cJSON *o = cJSON_CreateObject();
		enum sl_kube_state state = r->r.state;
		bool listing = state == SL_KUBE_LISTING || r->r.initial;
		const char *name = listing ? (r->r.listed ? "relisting" : "listing")
				   : sl_kube_state_name(state);
		cJSON_AddStringToObject(o, "resource", r->k->resource);
		cJSON_AddStringToObject(o, "state", name);
		cJSON_AddBoolToObject(o, "listed", r->r.listed);
		cJSON_AddStringToObject(o, "resource_version", r->r.rv);
		cJSON_AddNumberToObject(o, "objects", (double)r->r.store.n);
		cJSON_AddNumberToObject(o, "events", (double)st->events);
		cJSON_AddNumberToObject(o, "applied", (double)st->applied);
		cJSON_AddNumberToObject(o, "deleted", (double)st->deleted);
		cJSON_AddNumberToObject(o, "refused", (double)st->refused);
		cJSON_AddNumberToObject(o, "errors", (double)st->errors);
		cJSON_AddNumberToObject(o, "lists", (double)st->lists);
		cJSON_AddNumberToObject(o, "relists", (double)st->relists);
		cJSON_AddNumberToObject(o, "watches", (double)st->watches);
		cJSON_AddNumberToObject(o, "bookmarks", (double)st->bookmarks);
		cJSON_AddNumberToObject(o, "expired", (double)st->expired);
		/* list_mode: how lists are made now ("watch-list": streaming, KEP-3157; "list":
		 * list + watch, by configuration or after the server refused streaming) */
		cJSON_AddStringToObject(o, "list_mode", r->r.ops->watch_list &&
					r->r.wl_mode != SL_KUBE_WL_OFF && !(r->r.wl_mode ==
					SL_KUBE_WL_AUTO && r->r.wl_unsupported) ? "watch-list" : "list");
		cJSON_AddStringToObject(o, "last_list", !r->r.listed ? ""
					: r->r.last_streamed ? "watch-list" : "list");
		cJSON_AddNumberToObject(o, "streamed", (double)st->streamed);
		cJSON_AddNumberToObject(o, "watch_list_fallbacks", (double)st->wl_fallbacks);
		/* batches: model transactions (a list page, a run of initial events, an event) */
		cJSON_AddNumberToObject(o, "batches", (double)r->batches);
		cJSON_AddNumberToObject(o, "batch_max", r->batch_max);
		cJSON_AddNumberToObject(o, "batch_splits", (double)r->batch_splits);
		/* lag: how long since the server last told us anything (an event, a bookmark,
		 * a list): how stale the model may be. */
		cJSON_AddNumberToObject(o, "lag_ms", st->last_event_ns ?
					(double)((now - st->last_event_ns) / 1000000u) : -1);
		cJSON_AddNumberToObject(o, "retry_ms", (double)st->retry_ms);
		cJSON_AddStringToObject(o, "last_error", st->last_error);
		/* applied_log: [[resourceVersion, wall-clock us], ...] of the last objects applied,
		 * oldest first */
		cJSON *log = cJSON_AddArrayToObject(o, "applied_log");
		uint64_t first = r->applied_n > APPLY_LOG ? r->applied_n - APPLY_LOG : 0;
		for (uint64_t j = first; j < r->applied_n; j++) {
			cJSON *e = cJSON_CreateArray();
			const __typeof__(r->applied_log[0]) *l = &r->applied_log[j % APPLY_LOG];
			cJSON_AddItemToArray(e, cJSON_CreateNumber((double)l->rv));
			cJSON_AddItemToArray(e, cJSON_CreateNumber((double)l->t_us));
			cJSON_AddItemToArray(log, e);
		}
		cJSON_AddItemToArray(a, o);
	}
	/* This node's Node. */
	cJSON *o = cJSON_AddObjectToObject(top, "node");
	char b[SL_CIDR_STR_MAX];
	cJSON_AddStringToObject(o, "server", s->auth.server);
	cJSON_AddStringToObject(o, "state", !s->self_seen ? "not-seen" : s->published ? "published"
					    : s->conf.publish ? "publishing" : "seen");
	cJSON_AddStringToObject(o, "node", s->node_name);
	cJSON_AddStringToObject(o, "pod_cidr", s->has_pod_cidr ? sl_cidr_fmt(s->pod_cidr, b) : "");
	cJSON_AddNumberToObject(o, "patches", (double)s->patches);
	cJSON_AddNumberToObject(o, "errors", (double)s->patch_errors);
	cJSON_AddNumberToObject(o, "token_reads", s->auth.token_reads);
	cJSON_AddStringToObject(o, "last_error", s->patch_error);
	return top;
}
