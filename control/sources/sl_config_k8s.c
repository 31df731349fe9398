/* The config's sections on sluice's Kubernetes roles: "proxy" (Services), "policy"
 * (NetworkPolicy), "kubernetes" (the API client), and the Kubernetes lists (see
 * sl_config.h). */
#include <string.h>

#include "model/sl_policy.h"
#include "sl_config_int.h"

int sl_cfg_parse_proxy(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "node_port_range", "snat_port_range", "masquerade",
					     "node_local", "maglev_threads", NULL };
	const cJSON *o;
	c->node_port_lo = 30000; /* the API server's default --service-node-port-range */
	c->node_port_hi = 32767;
	c->snat_port_lo = c->snat_port_hi = 0; /* the default (dataplane/lb/lb_table.h) */
	c->masquerade = false;
	c->node_local = true;
	c->maglev_threads = -1;
	int rc = sl_cfg_section(root, "proxy", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_port_range(o, "proxy", "node_port_range", 1, 64, &c->node_port_lo,
			      &c->node_port_hi, err, n));
	TRY(sl_cfg_port_range(o, "proxy", "snat_port_range", 1024, 256, &c->snat_port_lo,
			      &c->snat_port_hi, err, n));
	TRY(sl_cfg_bool(o, "proxy", "masquerade", &c->masquerade, err, n));
	TRY(sl_cfg_bool(o, "proxy", "node_local", &c->node_local, err, n));
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "maglev_threads");
	if (cJSON_IsString(mt) && !strcmp(mt->valuestring, "auto"))
		return 0;
	unsigned t;
	if (cJSON_IsString(mt))
		return sl_cfg_fail(err, n, "proxy.maglev_threads", "must be \"auto\" or an integer");
	TRY(sl_cfg_uint(o, "proxy", "maglev_threads", 0, SL_CONFIG_MAGLEV_THREADS_MAX, &t, err, n));
	if (mt)
		c->maglev_threads = (int)t;
	return 0;
}

int sl_cfg_parse_policy(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "deny_log", "deny_log_rate", NULL };
	const cJSON *o;
	int rc = sl_cfg_section(root, "policy", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_bool(o, "policy", "deny_log", &c->policy_deny_log, err, n));
	return sl_cfg_uint(o, "policy", "deny_log_rate", 1, 10000, &c->policy_deny_log_rate, err,
			   n);
}

int sl_cfg_parse_kubernetes(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "watch_list", NULL };
	const cJSON *o;
	char wl[8] = "";
	c->k8s_watch_list = 0; /* auto */
	int rc = sl_cfg_section(root, "kubernetes", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_str(o, "kubernetes", "watch_list", false, wl, sizeof(wl), err, n));
	if (wl[0] && strcmp(wl, "auto") && strcmp(wl, "on") && strcmp(wl, "off"))
		return sl_cfg_fail(err, n, "kubernetes.watch_list",
				   "must be \"auto\", \"on\" or \"off\"");
	c->k8s_watch_list = !strcmp(wl, "on") ? 1 : !strcmp(wl, "off") ? 2 : 0;
	return 0;
}

/* Check the Kubernetes lists; sl_config_parse keeps the tree they are in for
 * sl_config_load_objects (decoded there: sl_cfg_check_lists). */
int sl_cfg_keep_k8s(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const struct {
		const char *key;
		int max;
	} lists[] = { { "services", SL_CONFIG_MAX_SERVICES },
		      { "endpointslices", SL_CONFIG_MAX_SLICES },
		      { "namespaces", SL_MODEL_MAX_NAMESPACES },
		      { "k8s_pods", SL_MODEL_MAX_K8S_PODS },
		      { "networkpolicies", SL_MODEL_MAX_POLICIES } };
	for (unsigned l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, lists[l].key);
		if (!a)
			continue;
		if (!cJSON_IsArray(a))
			return sl_cfg_fail(err, n, lists[l].key, "must be an array");
		if (cJSON_GetArraySize(a) > lists[l].max)
			return sl_cfg_fail(err, n, lists[l].key, "more than %d entries",
					   lists[l].max);
		c->k8s = root;
	}
	return 0;
}
