/* The configuration's objects loaded into a model (see sl_config.h): node facts, limits,
 * the "pods", "nodes" and "routes" lists, and the Kubernetes lists as one batch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sl_model.h"
#include "sl_config_int.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"

void sl_config_self(const struct sl_config *c, struct sl_model_self *ret)
{
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->node_name, sizeof(ret->node_name), "%s", c->node_name);
	ret->node_ip = c->node_ip;
	ret->pod_cidr = c->pod_cidr;
	ret->gateway_ip = c->gateway_ip;
	if (c->host_enabled)
		snprintf(ret->host_ifname, sizeof(ret->host_ifname), "%s", c->host_ifname);
	const char *at = strstr(c->uplink_devargs, "iface=");
	if (c->uplink_tap)
		snprintf(ret->uplink_ifname, sizeof(ret->uplink_ifname), "%s",
			 c->uplink_tap_ifname);
	else if (at) {
		at += strlen("iface=");
		snprintf(ret->uplink_ifname, sizeof(ret->uplink_ifname), "%.*s",
			 (int)strcspn(at, ","), at);
	}
}

/* Add one list's objects to m; errors get the entry's path ("pods[1]."). */
#define LOAD_LIST(list, count, add, what)                                                   \
	for (unsigned i = 0; i < (count); i++) {                                            \
		char why[320] = "";                                                         \
		int rc_ = add(m, &(list)[i], why, sizeof(why));                             \
		if (rc_ < 0) {                                                              \
			char path_[32];                                                     \
			snprintf(path_, sizeof(path_), "%s[%u]", what, i);                  \
			sl_model_err_path(err, n, path_, why, false);                       \
			return rc_;                                                         \
		}                                                                           \
	}

/* The config's Kubernetes lists, applied as one batch: Services, EndpointSlices, and for
 * NetworkPolicy "namespaces", "k8s_pods" (cluster pods) and "networkpolicies". */
static int load_k8s(const cJSON *k8s, struct sl_model *m, char *err, size_t n)
{
	static const struct {
		const char *key;
		enum sl_k8s_kind kind;
	} lists[] = { { "services", SL_K8S_SERVICE },   { "endpointslices", SL_K8S_SLICE },
		      { "namespaces", SL_K8S_NAMESPACE }, { "k8s_pods", SL_K8S_POD },
		      { "networkpolicies", SL_K8S_POLICY } };
	unsigned count = 0, i = 0;
	for (unsigned l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		count += (unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(k8s, lists[l].key));
	struct sl_k8s_op *ops = calloc(count ? count : 1, sizeof(*ops));
	const cJSON *e;
	int rc = 0;
	if (!ops)
		return -ENOMEM;
	for (unsigned l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		unsigned k = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(k8s, lists[l].key))
		{
			struct sl_k8s_op *op = &ops[i++];
			snprintf(op->path, sizeof(op->path), "%s[%u]", lists[l].key, k++);
			op->kind = lists[l].kind;
			switch (lists[l].kind) {
			case SL_K8S_SERVICE:
				rc = sl_k8s_parse_service(e, op->path, &op->svc, err, n);
				break;
			case SL_K8S_SLICE:
				rc = sl_k8s_parse_slice(e, op->path, &op->slice, err, n);
				break;
			case SL_K8S_NAMESPACE:
				rc = sl_k8s_parse_namespace(e, op->path, &op->ns, err, n);
				break;
			case SL_K8S_POD:
				rc = sl_k8s_parse_pod(e, op->path, &op->pod, err, n);
				break;
			case SL_K8S_POLICY:
				rc = sl_k8s_parse_policy(e, op->path, &op->policy, err, n);
				break;
			}
			if (rc < 0)
				goto out;
		}
	}
	rc = sl_model_k8s_apply(m, ops, count, err, n);
out:
	sl_k8s_ops_free(ops, count);
	return rc;
}

int sl_config_load_objects(const struct sl_config *c, struct sl_model *m, char *err, size_t n)
{
	LOAD_LIST(c->nodes, c->n_nodes, sl_model_node_add, "nodes");
	LOAD_LIST(c->routes, c->n_routes, sl_model_route_add, "routes");
	LOAD_LIST(c->pods, c->n_pods, sl_model_pod_add, "pods");
	return c->k8s ? load_k8s(c->k8s, m, err, n) : 0;
}

void sl_config_model_limits(const struct sl_config *c, struct sl_model_limits *ret)
{
	memset(ret, 0, sizeof(*ret)); /* 0: the default */
	ret->pods = SL_MODEL_MAX_PODS;
	ret->nodes = c->limit_nodes ? c->limit_nodes : SL_CONFIG_DEFAULT_NODE_LIMIT;
	ret->routes = c->limit_routes ? c->limit_routes : SL_CONFIG_DEFAULT_ROUTE_LIMIT;
}

/* Cross-object checks, so that --check catches what the daemon would refuse at start. */
int sl_cfg_check_lists(const struct sl_config *c, char *err, size_t n)
{
	struct sl_model_self self;
	struct sl_model_limits lim;
	sl_config_self(c, &self);
	sl_config_model_limits(c, &lim);
	struct sl_model *m = sl_model_create(&self, &lim);
	if (!m)
		return -ENOMEM;
	int rc = sl_config_load_objects(c, m, err, n);
	sl_model_destroy(m);
	return rc == -ENOMEM ? rc : rc < 0 ? -EINVAL : 0; /* a bad config, whatever the cause */
}
