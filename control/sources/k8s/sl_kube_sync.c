/* The Kubernetes sync: reflectors, their transport and their sinks (see sl_kube_sync.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/sl_service.h"
#include "sl_k8s.h"
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
 * decoder (sl_k8s_decode) so a kind it learns needs one line here and nothing else. */
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
	{ "nodes", "Node", "v1", "/api/v1/nodes", NULL, true, 0, node_apply, node_del },
	{ "services", "Service", "v1", "/api/v1/services", PROXY_SELECTOR, true, SL_K8S_SERVICE,
	  svc_apply, svc_del },
	{ "endpointslices", "EndpointSlice", "discovery.k8s.io/v1",
	  "/apis/discovery.k8s.io/v1/endpointslices", PROXY_SELECTOR, true, SL_K8S_SLICE,
	  slice_apply, slice_del },
	/* NetworkPolicy's view of the cluster, through the document decoder. */
	{ "namespaces", "Namespace", "v1", "/api/v1/namespaces", NULL, true, SL_K8S_NAMESPACE,
	  doc_apply, doc_del },
	{ "pods", "Pod", "v1", "/api/v1/pods", NULL, true, SL_K8S_POD, doc_apply, doc_del },
	{ "networkpolicies", "NetworkPolicy", "networking.k8s.io/v1",
	  "/apis/networking.k8s.io/v1/networkpolicies", NULL, true, SL_K8S_POLICY, doc_apply,
	  doc_del },
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

/* Services and EndpointSlices: one op, through the model's batch apply. */
static int apply_op(struct res *r, struct sl_k8s_op *op, char *err, size_t errlen)
{
	struct sl_k8s_op *ops = calloc(1, sizeof(*ops));
	if (!ops) {
		sl_k8s_ops_free(op, 0);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*ops = *op;
	int rc = sl_model_k8s_apply(r->s->m, ops, 1, err, errlen);
	sl_k8s_ops_free(ops, 1);
	return rc;
}

static int svc_apply(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	struct sl_k8s_op op = { .kind = SL_K8S_SERVICE };
	int rc = sl_k8s_parse_service(obj, "", &op.svc, err, errlen);
	return rc < 0 ? rc : apply_op(r, &op, err, errlen);
}

static int slice_apply(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	struct sl_k8s_op op = { .kind = SL_K8S_SLICE };
	int rc = sl_k8s_parse_slice(obj, "", &op.slice, err, errlen);
	return rc < 0 ? rc : apply_op(r, &op, err, errlen);
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

/* The generic hook: the object (kind and apiVersion set) through the document decoder. */
static int doc_apply(struct res *r, cJSON *obj, char *err, size_t errlen)
{
	struct sl_k8s_op *ops;
	unsigned n;
	int rc = sl_k8s_decode(obj, &ops, &n, err, errlen);
	if (rc < 0)
		return rc;
	rc = sl_model_k8s_apply(r->s->m, ops, n, err, errlen);
	sl_k8s_ops_free(ops, n);
	return rc;
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

/* Transport: list pages and watches of one resource. */
static void list_done(void *arg, long status, const char *body, size_t len, const char *why)
{
	struct res *r = arg;
	r->req = NULL;
	cJSON *doc = len ? cJSON_ParseWithLength(body, len) : NULL;
	if (status == 200 && !doc) {
		status = 0;
		why = "response is not JSON";
	}
	sl_kube_reflector_list_done(&r->r, now_ns(), status, doc, why);
	cJSON_Delete(doc);
}

static bool watch_line(void *arg, char *line, size_t len)
{
	struct res *r = arg;
	cJSON *ev = cJSON_ParseWithLength(line, len);
	if (!ev) {
		r->r.st.errors++;
		snprintf(r->r.st.last_error, sizeof(r->r.st.last_error),
			 "watch %s: event is not JSON", r->k->resource);
		return true;
	}
	bool more = sl_kube_reflector_event(&r->r, now_ns(), ev);
	cJSON_Delete(ev);
	return more;
}

static void watch_done(void *arg, long status, const char *body, size_t len, const char *why)
{
	struct res *r = arg;
	r->req = NULL;
	cJSON *doc = status != 200 && len ? cJSON_ParseWithLength(body, len) : NULL;
	sl_kube_reflector_watch_done(&r->r, now_ns(), status, doc, why);
	cJSON_Delete(doc);
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

static int op_watch(void *ctx, struct sl_kube_reflector *rf, const char *rv, unsigned timeout_s)
{
	struct res *r = ctx;
	char path[2048], extra[512], esc[3 * SL_KUBE_RV_MAX + 1], err[256];
	if (!sl_kube_http_escape(rv, esc, sizeof(esc)))
		return -E2BIG;
	snprintf(extra, sizeof(extra), "watch=1&allowWatchBookmarks=true&resourceVersion=%s"
		 "&timeoutSeconds=%u", esc, timeout_s);
	if (query(r->k, path, sizeof(path), extra) < 0)
		return -E2BIG;
	r->req = sl_kube_http_request(r->s->http, "GET", path, NULL, NULL, true,
				      (long)timeout_s + WATCH_GRACE_S, watch_line, watch_done, r,
				      err, sizeof(err));
	if (!r->req) {
		snprintf(rf->st.last_error, sizeof(rf->st.last_error), "watch %s: %s",
			 r->k->resource, err);
		return -EIO;
	}
	return 0;
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

static int op_apply(void *ctx, struct sl_kube_reflector *rf, cJSON *obj, char *err,
		    size_t errlen)
{
	struct res *r = ctx;
	int rc = r->k->apply(r, obj, err, errlen);
	if (rc >= 0) { /* applied: the model's hooks have programmed the dataplane tables */
		const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r->applied_log[r->applied_n % APPLY_LOG].rv =
			cJSON_IsString(rv) ? strtoull(rv->valuestring, NULL, 10) : 0;
		r->applied_log[r->applied_n % APPLY_LOG].t_us =
			(uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
		r->applied_n++;
	}
	if (rc < 0) { /* per object, once per resourceVersion: the reflector does not retry it */
		char key[512];
		fprintf(stderr, "sluiced: k8s: %s %s refused: %s\n", r->k->resource,
			sl_kube_obj_key(obj, key, sizeof(key)) ? key : "?", err);
	}
	return rc;
}

static void op_del(void *ctx, struct sl_kube_reflector *rf, const char *key, const cJSON *obj)
{
	struct res *r = ctx;
	r->k->del(r, key, obj);
}

static const struct sl_kube_reflector_ops ops = {
	.list = op_list, .watch = op_watch, .cancel = op_cancel, .retry_in = op_retry_in,
	.apply = op_apply, .del = op_del,
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
		const char *name = state == SL_KUBE_LISTING && r->r.listed ? "relisting"
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
