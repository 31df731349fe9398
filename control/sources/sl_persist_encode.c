/* The state file's text: the model's objects encoded (as the config writes them) and the
 * snapshot printed one object at a time; the journal line (sl_persist_journal.c) prints its
 * objects with the same helpers. No state of its own: safe in the snapshot child. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_config.h"
#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"
#include "sl_persist.h"
#include "sl_persist_int.h"

const char *const sl_persist_list_name[K_COUNT] = { "nodes", "routes", "pods", "services",
						    "endpointslices", "namespaces", "k8s_pods",
						    "networkpolicies" };
const enum sl_k8s_kind sl_persist_k8s_kind[K_COUNT] = {
	[K_SVC] = SL_K8S_SERVICE, [K_SLICE] = SL_K8S_SLICE, [K_NS] = SL_K8S_NAMESPACE,
	[K_KPOD] = SL_K8S_POD, [K_POLICY] = SL_K8S_POLICY,
};

static void add_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddStringToObject(o, k, v);
}

static void add_ip(cJSON *o, const char *k, struct sl_ip ip)
{
	char b[SL_IP_STR_MAX];
	add_str(o, k, sl_ip_fmt(ip, b));
}

static void add_cidr(cJSON *o, const char *k, struct sl_cidr c)
{
	char b[SL_CIDR_STR_MAX];
	add_str(o, k, sl_cidr_fmt(c, b));
}

static void add_mac(cJSON *o, const char *k, const uint8_t *m)
{
	char b[18];
	snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	add_str(o, k, b);
}

static cJSON *enc_pod(const struct sl_pod_spec *p)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "name", p->name);
	add_str(o, "namespace", p->namespace);
	if (p->vhost) {
		add_str(o, "interface", "vhost-user");
		add_str(o, "socket", p->socket);
		add_str(o, "vhost_mode", p->vhost_server ? "server" : "client");
	} else {
		if (p->tap)
			add_str(o, "interface", "tap");
		add_str(o, "ifname", p->ifname);
		if (p->netns[0])
			add_str(o, "netns", p->netns);
		if (p->tap_ifindex) {
			char c[24];
			snprintf(c, sizeof(c), "%" PRIu64, p->netns_cookie);
			add_str(o, "netns_cookie", c);
			cJSON_AddNumberToObject(o, "tap_ifindex", p->tap_ifindex);
		}
	}
	add_ip(o, "ip", p->ip);
	add_mac(o, "mac", p->mac);
	cJSON *hps = p->n_host_ports ? cJSON_AddArrayToObject(o, "host_ports") : NULL;
	for (unsigned k = 0; hps && k < p->n_host_ports; k++) {
		const struct sl_host_port *h = &p->host_ports[k];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "host_port", h->host_port);
		cJSON_AddNumberToObject(e, "container_port", h->container_port);
		add_str(e, "protocol", sl_host_proto_name(h->protocol));
		if (h->host_ip)
			add_ip(e, "host_ip", sl_ip4(h->host_ip));
		cJSON_AddItemToArray(hps, e);
	}
	return o;
}

static cJSON *enc_node(const struct sl_node_spec *d)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "name", d->name);
	add_ip(o, "ip", d->ip);
	add_cidr(o, "pod_cidr", d->pod_cidr);
	if (d->has_mac)
		add_mac(o, "mac", d->mac);
	if (d->has_vtep_mac)
		add_mac(o, "vtep_mac", d->vtep_mac);
	return o;
}

static cJSON *enc_route(const struct sl_route_spec *r)
{
	cJSON *o = cJSON_CreateObject();
	add_cidr(o, "prefix", r->prefix);
	add_ip(o, "via", r->via);
	return o;
}

cJSON *sl_persist_export(const struct sl_model *m)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *pods = cJSON_AddArrayToObject(doc, "pods");
	cJSON *nodes = cJSON_AddArrayToObject(doc, "nodes");
	cJSON *routes = cJSON_AddArrayToObject(doc, "routes");
	struct sl_model_pod *mp;
	for (uint32_t i = 0; (mp = sl_model_pod_next(m, &i));)
		cJSON_AddItemToArray(pods, enc_pod(&mp->spec));
	struct sl_model_node *mn;
	for (uint32_t i = 0; (mn = sl_model_node_next(m, &i));)
		cJSON_AddItemToArray(nodes, enc_node(&mn->spec));
	struct sl_model_route *mr;
	for (uint32_t i = 0; (mr = sl_model_route_next(m, &i));)
		cJSON_AddItemToArray(routes, enc_route(&mr->spec));
	cJSON *svcs = cJSON_AddArrayToObject(doc, "services");
	struct sl_model_svc *ms;
	for (uint32_t i = 0; (ms = sl_model_svc_next(m, &i));)
		cJSON_AddItemToArray(svcs, sl_k8s_encode_service(ms->spec));
	cJSON *slices = cJSON_AddArrayToObject(doc, "endpointslices");
	struct sl_model_slice *ml;
	for (uint32_t i = 0; (ml = sl_model_slice_next(m, &i));)
		cJSON_AddItemToArray(slices, sl_k8s_encode_slice(ml->spec));
	cJSON *a = cJSON_AddArrayToObject(doc, "namespaces");
	struct sl_model_ns *mns;
	for (uint32_t i = 0; (mns = sl_model_ns_next(m, &i));)
		cJSON_AddItemToArray(a, sl_k8s_encode_namespace(mns->spec));
	a = cJSON_AddArrayToObject(doc, "k8s_pods");
	struct sl_model_kpod *mkp;
	for (uint32_t i = 0; (mkp = sl_model_kpod_next(m, &i));)
		cJSON_AddItemToArray(a, sl_k8s_encode_pod(mkp->spec));
	a = cJSON_AddArrayToObject(doc, "networkpolicies");
	struct sl_model_policy *mpol;
	for (uint32_t i = 0; (mpol = sl_model_policy_next(m, &i));)
		cJSON_AddItemToArray(a, sl_k8s_encode_policy(mpol->spec));
	return doc;
}

bool sl_persist_item_key(enum kind k, const cJSON *o, char *buf, size_t n)
{
	const cJSON *md = k >= K_SVC ? cJSON_GetObjectItemCaseSensitive(o, "metadata") : o;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, k == K_ROUTE ? "prefix" : "name");
	if (!cJSON_IsString(name))
		return false;
	if (k == K_NODE || k == K_ROUTE || k == K_NS)
		return (size_t)snprintf(buf, n, "%s", name->valuestring) < n;
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	return (size_t)snprintf(buf, n, "%s/%s", cJSON_IsString(ns) ? ns->valuestring : "default",
				name->valuestring) < n;
}

/* ---- The text ------------------------------------------------------------------------
 * The snapshot and the journal lines are what cJSON_PrintUnformatted prints of the trees
 * sl_persist_export and the journal's records would be, made one object at a time: its
 * tree built in an arena (by the encoders), printed at once (sl_json_print), the arena's
 * memory reused for the next. The whole state as one tree was ~5 million nodes at 100,000
 * Services, and printing it with cJSON (sprintf and sscanf per number, strlen of what it
 * printed) took longer than building it; a snapshot is written to its file as it is made,
 * FLUSH_BYTES at a time. */
#define FLUSH_BYTES (1u << 20)

/* The objects of kind k in m, from *it (0 first): the next one encoded (in the arena of
 * sl_json_build_begin), or NULL at the end; *ret_oom when it could not be encoded. */
static cJSON *next_obj(const struct sl_model *m, enum kind k, uint32_t *it, bool *ret_oom)
{
	cJSON *o = NULL;
	bool end = false;
	switch (k) {
	case K_POD: {
		struct sl_model_pod *x = sl_model_pod_next(m, it);
		end = !x, o = x ? enc_pod(&x->spec) : NULL;
		break;
	}
	case K_NODE: {
		struct sl_model_node *x = sl_model_node_next(m, it);
		end = !x, o = x ? enc_node(&x->spec) : NULL;
		break;
	}
	case K_ROUTE: {
		struct sl_model_route *x = sl_model_route_next(m, it);
		end = !x, o = x ? enc_route(&x->spec) : NULL;
		break;
	}
	case K_SVC: {
		struct sl_model_svc *x = sl_model_svc_next(m, it);
		end = !x, o = x ? sl_k8s_encode_service(x->spec) : NULL;
		break;
	}
	case K_SLICE: {
		struct sl_model_slice *x = sl_model_slice_next(m, it);
		end = !x, o = x ? sl_k8s_encode_slice(x->spec) : NULL;
		break;
	}
	case K_NS: {
		struct sl_model_ns *x = sl_model_ns_next(m, it);
		end = !x, o = x ? sl_k8s_encode_namespace(x->spec) : NULL;
		break;
	}
	case K_KPOD: {
		struct sl_model_kpod *x = sl_model_kpod_next(m, it);
		end = !x, o = x ? sl_k8s_encode_pod(x->spec) : NULL;
		break;
	}
	case K_POLICY: {
		struct sl_model_policy *x = sl_model_policy_next(m, it);
		end = !x, o = x ? sl_k8s_encode_policy(x->spec) : NULL;
		break;
	}
	default:
		end = true;
		break;
	}
	*ret_oom = !end && !o;
	return o;
}

void sl_persist_put_key(struct sl_json_buf *b, const char *key)
{
	cJSON k = { .type = cJSON_String, .valuestring = (char *)key };
	sl_json_print(b, &k);
	sl_json_buf_put(b, ":", 1);
}

void sl_persist_put_tree(struct sl_json_buf *b, struct sl_json_arena *a, const cJSON *o)
{
	sl_json_print(b, o);
	sl_json_arena_free(a);
}

size_t sl_persist_snapshot_text(struct sl_persist_out *o, const struct sl_model *m,
				const char *gen)
{
	static const enum kind order[] = { K_POD, K_NODE, K_ROUTE, K_SVC, K_SLICE, K_NS,
					   K_KPOD, K_POLICY };
	struct sl_json_buf b = { 0 };
	struct sl_json_arena a = { 0 };
	size_t len = 0;
	bool oom = false;
	sl_json_build_begin(&a);
	sl_json_buf_put(&b, "{", 1);
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]) && !oom && !b.oom; i++) {
		sl_persist_put_key(&b, sl_persist_list_name[order[i]]);
		sl_json_buf_put(&b, "[", 1);
		cJSON *e;
		for (uint32_t it = 0, n = 0; (e = next_obj(m, order[i], &it, &oom)) || oom; n++) {
			if (n)
				sl_json_buf_put(&b, ",", 1);
			sl_persist_put_tree(&b, &a, e);
			if (b.oom)
				break;
			if (b.len >= FLUSH_BYTES) {
				sl_persist_write_chunk(o, b.p, b.len);
				len += b.len;
				b.len = 0;
			}
		}
		sl_json_buf_put(&b, "],", 2);
	}
	sl_json_build_end();
	sl_json_arena_free(&a);
	sl_persist_put_key(&b, "journal");
	cJSON g = { .type = cJSON_String, .valuestring = (char *)gen };
	sl_json_print(&b, &g);
	sl_json_buf_put(&b, "}", 1);
	if (!b.oom && !oom) {
		sl_persist_write_chunk(o, b.p, b.len);
		len += b.len;
	} else {
		len = 0;
	}
	sl_json_buf_free(&b);
	return len;
}

cJSON *sl_persist_model_obj(const struct sl_model *m, const struct note *t)
{
	switch ((enum kind)t->kind) {
	case K_POD: {
		struct sl_model_pod *p = sl_model_pod_find(m, t->ns, t->name);
		return p ? enc_pod(&p->spec) : NULL;
	}
	case K_NODE: {
		struct sl_model_node *d = sl_model_node_find(m, t->name);
		return d ? enc_node(&d->spec) : NULL;
	}
	case K_ROUTE: {
		struct sl_model_route *r = sl_model_route_find(m, t->prefix);
		return r ? enc_route(&r->spec) : NULL;
	}
	case K_SVC: {
		struct sl_model_svc *s = sl_model_svc_find(m, t->ns, t->name);
		return s ? sl_k8s_encode_service(s->spec) : NULL;
	}
	case K_SLICE: {
		struct sl_model_slice *s = sl_model_slice_find(m, t->ns, t->name);
		return s ? sl_k8s_encode_slice(s->spec) : NULL;
	}
	case K_NS: {
		struct sl_model_ns *n = sl_model_ns_find(m, t->name);
		return n ? sl_k8s_encode_namespace(n->spec) : NULL;
	}
	case K_KPOD: {
		struct sl_model_kpod *p = sl_model_kpod_find(m, t->ns, t->name);
		return p ? sl_k8s_encode_pod(p->spec) : NULL;
	}
	case K_POLICY: {
		struct sl_model_policy *p = sl_model_policy_find(m, t->ns, t->name);
		return p ? sl_k8s_encode_policy(p->spec) : NULL;
	}
	default:
		return NULL;
	}
}
