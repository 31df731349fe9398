/* Persisted run-time state (see sl_persist.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_config.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"
#include "sl_persist.h"

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

cJSON *sl_persist_export(const struct sl_model *m)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *pods = cJSON_AddArrayToObject(doc, "pods");
	cJSON *nodes = cJSON_AddArrayToObject(doc, "nodes");
	cJSON *routes = cJSON_AddArrayToObject(doc, "routes");
	struct sl_model_pod *mp;
	for (uint32_t i = 0; (mp = sl_model_pod_next(m, &i));) {
		const struct sl_pod_spec *p = &mp->spec;
		cJSON *o = cJSON_CreateObject();
		add_str(o, "name", p->name);
		add_str(o, "namespace", p->namespace);
		if (p->vhost) {
			add_str(o, "interface", "vhost-user");
			add_str(o, "socket", p->socket);
			add_str(o, "vhost_mode", p->vhost_server ? "server" : "client");
		} else {
			add_str(o, "ifname", p->ifname);
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
		cJSON_AddItemToArray(pods, o);
	}
	struct sl_model_node *mn;
	for (uint32_t i = 0; (mn = sl_model_node_next(m, &i));) {
		const struct sl_node_spec *d = &mn->spec;
		cJSON *o = cJSON_CreateObject();
		add_str(o, "name", d->name);
		add_ip(o, "ip", d->ip);
		add_cidr(o, "pod_cidr", d->pod_cidr);
		if (d->has_mac)
			add_mac(o, "mac", d->mac);
		cJSON_AddItemToArray(nodes, o);
	}
	struct sl_model_route *mr;
	for (uint32_t i = 0; (mr = sl_model_route_next(m, &i));) {
		cJSON *o = cJSON_CreateObject();
		add_cidr(o, "prefix", mr->spec.prefix);
		add_ip(o, "via", mr->spec.via);
		cJSON_AddItemToArray(routes, o);
	}
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

int sl_persist_save(const char *path, const struct sl_model *m)
{
	cJSON *doc = sl_persist_export(m);
	char *text = doc ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	int rc = sl_persist_write(path, text);
	free(text);
	return rc;
}

/* The persisted Services and EndpointSlices: one batch; if it fails, object by object (the
 * ones that fail are logged and skipped). Returns how many were restored. */
static int load_k8s(const cJSON *doc, struct sl_model *m, const char *path)
{
	static const char *const lists[] = { "services", "endpointslices", "namespaces",
					     "k8s_pods", "networkpolicies" };
	unsigned count = 0, k = 0;
	for (unsigned l = 0; l < 5; l++)
		count += (unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, lists[l]));
	struct sl_k8s_op *ops = calloc(count ? count : 1, sizeof(*ops));
	char why[400] = "";
	if (!ops)
		return 0;
	for (unsigned l = 0; l < 5; l++) {
		const cJSON *e;
		unsigned i = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, lists[l]))
		{
			struct sl_k8s_op *op = &ops[k];
			snprintf(op->path, sizeof(op->path), "%s[%u]", lists[l], i++);
			static const enum sl_k8s_kind kinds[] = { SL_K8S_SERVICE, SL_K8S_SLICE,
								  SL_K8S_NAMESPACE, SL_K8S_POD,
								  SL_K8S_POLICY };
			op->kind = kinds[l];
			int rc = l == 0 ? sl_k8s_parse_service(e, op->path, &op->svc, why, sizeof(why))
				 : l == 1 ? sl_k8s_parse_slice(e, op->path, &op->slice, why, sizeof(why))
				 : l == 2 ? sl_k8s_parse_namespace(e, op->path, &op->ns, why, sizeof(why))
				 : l == 3 ? sl_k8s_parse_pod(e, op->path, &op->pod, why, sizeof(why))
					  : sl_k8s_parse_policy(e, op->path, &op->policy, why, sizeof(why));
			if (rc == 0)
				k++;
			else
				fprintf(stderr, "sluiced: state %s %s not restored: %s\n", path,
					op->path, why);
		}
	}
	int restored = 0;
	if (sl_model_k8s_apply(m, ops, k, why, sizeof(why)) == 0) {
		restored = (int)k;
	} else {
		for (unsigned i = 0; i < k; i++) {
			if (sl_model_k8s_apply(m, &ops[i], 1, why, sizeof(why)) == 0)
				restored++;
			else
				fprintf(stderr, "sluiced: state %s %s not restored: %s\n", path,
					ops[i].path, why);
		}
	}
	sl_k8s_ops_free(ops, count);
	return restored;
}

int sl_persist_load(const char *path, struct sl_model *m, char *err, size_t n)
{
	char *buf;
	size_t len;
	int rc = sl_persist_read(path, &buf, &len, SL_PERSIST_MAX_BYTES);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		snprintf(err, n, "%s: %s", path, rc == -ELOOP ? "is a symbolic link (never followed)"
			 : rc == -EINVAL ? "not a regular file" : strerror(-rc));
		return rc;
	}
	cJSON *doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!doc) {
		snprintf(err, n, "%s: not valid JSON", path);
		return -EINVAL;
	}
	int restored = 0;
	static const char *const lists[] = { "nodes", "routes", "pods" };
	for (unsigned l = 0; l < 3; l++) {
		const cJSON *e;
		unsigned i = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, lists[l]))
		{
			char p[48], why[320] = "";
			int rc;
			snprintf(p, sizeof(p), "%s[%u]", lists[l], i++);
			if (l == 0) {
				struct sl_node_spec s;
				rc = sl_node_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_model_node_add(m, &s, why, sizeof(why));
			} else if (l == 1) {
				struct sl_route_spec s;
				rc = sl_route_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_model_route_add(m, &s, why, sizeof(why));
			} else {
				struct sl_pod_spec s;
				rc = sl_pod_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_model_pod_add(m, &s, why, sizeof(why));
			}
			if (rc == 0)
				restored++;
			else if (rc != -EEXIST)
				fprintf(stderr, "sluiced: state %s %s not restored: %s\n", path, p, why);
		}
	}
	restored += load_k8s(doc, m, path);
	cJSON_Delete(doc);
	return restored;
}
