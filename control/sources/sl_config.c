/* sluiced configuration parsing and validation (see sl_config.h): the whole document, its
 * sections in order (sl_config_node.c, sl_config_uplink.c, sl_config_daemon.c,
 * sl_config_k8s.c) and its lists of objects (sl_config_objects.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_config_int.h"
#include "sl_json.h"

const char sl_config_default[] =
	"{\n"
	"  \"node\": {\"name\": \"node1\", \"ip\": \"198.18.0.1\",\n"
	"           \"pod_cidr\": \"10.244.1.0/24\", \"cluster_cidr\": \"10.244.0.0/16\"},\n"
	"  \"uplink\": {\"devargs\": \"net_af_xdp0,iface=sl-up0\", \"mtu\": 1500},\n"
	"  \"host\": {\"enabled\": true, \"ifname\": \"sl-host\"},\n"
	"  \"vxlan\": {\"vni\": 1, \"port\": 4789},\n"
	"  \"workers\": {\"idle_backoff\": true, \"idle_sleep_max_us\": 200},\n"
	"  \"pods\": [], \"nodes\": [], \"routes\": []\n"
	"}\n";

static int parse_list(const cJSON *root, const char *key, unsigned max, size_t elem,
		      void **ret, unsigned *ret_n,
		      int (*parse)(const cJSON *, const char *, void *, char *, size_t), char *err,
		      size_t n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return sl_cfg_fail(err, n, key, "must be an array");
	unsigned count = (unsigned)cJSON_GetArraySize(a);
	if (count > max)
		return sl_cfg_fail(err, n, key, "more than %u entries", max);
	*ret = calloc(count ? count : 1, elem);
	if (!*ret)
		return -ENOMEM;
	unsigned i = 0;
	for (const cJSON *e = a->child; e; e = e->next, i++) {
		char path[64];
		snprintf(path, sizeof(path), "%s[%u]", key, i);
		TRY(parse(e, path, (char *)*ret + i * elem, err, n));
	}
	*ret_n = count;
	return 0;
}

static int parse_root(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "node", "uplink", "host", "vxlan", "workers",
					     "icmp", "conntrack", "proxy", "pods", "nodes", "routes",
					     "services", "endpointslices", "af_xdp", "namespaces",
					     "k8s_pods", "networkpolicies", "metrics", "policy",
					     "kubernetes", "limits", "tap", NULL };
	/* In this order: the first error is the one reported. */
	static int (*const sections[])(const cJSON *, struct sl_config *, char *, size_t) = {
		sl_cfg_parse_node, sl_cfg_parse_uplink, sl_cfg_parse_host,
		sl_cfg_parse_vxlan, sl_cfg_parse_workers, sl_cfg_parse_icmp,
		sl_cfg_parse_limits, sl_cfg_parse_conntrack, sl_cfg_parse_proxy,
		sl_cfg_parse_metrics, sl_cfg_parse_policy, sl_cfg_parse_kubernetes,
	};
	TRY(sl_cfg_fields(root, "config", known, err, n));
	for (unsigned i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		TRY(sections[i](root, c, err, n));
	TRY(parse_list(root, "pods", SL_CONFIG_MAX_PODS, sizeof(struct sl_pod_spec),
		       (void **)&c->pods, &c->n_pods, (void *)sl_pod_parse, err, n));
	/* A static pod is made anew at every start, while a tap pod with a namespace must be
	 * re-attached from what the state file keeps (drivers/sl_tap.h): API pods only. */
	for (unsigned i = 0; i < c->n_pods; i++)
		if (c->pods[i].netns[0]) {
			char fp[48];
			snprintf(fp, sizeof(fp), "pods[%u].netns", i);
			return sl_cfg_fail(err, n, fp, "only in pod.add (API, sluice-cni): a static "
					   "pod is made anew at every start");
		}
	TRY(parse_list(root, "nodes", SL_CONFIG_MAX_NODES, sizeof(struct sl_node_spec),
		       (void **)&c->nodes, &c->n_nodes, (void *)sl_node_parse, err, n));
	TRY(parse_list(root, "routes", SL_CONFIG_MAX_ROUTES, sizeof(struct sl_route_spec),
		       (void **)&c->routes, &c->n_routes, (void *)sl_route_parse, err, n));
	TRY(sl_cfg_keep_k8s(root, c, err, n));
	return sl_cfg_check_lists(c, err, n);
}

int sl_config_parse(const char *text, size_t len, struct sl_config *c, char *err, size_t n)
{
	memset(c, 0, sizeof(*c));
	if (len > SL_CONFIG_MAX_BYTES)
		return sl_cfg_fail(err, n, "config", "larger than %d bytes", SL_CONFIG_MAX_BYTES);
	const char *end = NULL;
	struct sl_json_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	cJSON *root = sl_json_parse(a, text, len, &end);
	size_t off = end ? (size_t)(end - text) : 0;
	while (root && off < len && (text[off] == ' ' || text[off] == '\n' || text[off] == '\t' ||
				     text[off] == '\r'))
		off++;
	if (!root || (off < len && text[off] != '\0')) {
		sl_json_arena_free(a);
		free(a);
		return sl_cfg_fail(err, n, "config", "invalid JSON near byte %zu", off);
	}
	c->json = a; /* the tree c->k8s points into */
	int rc = parse_root(root, c, err, n);
	if (!c->k8s) {
		sl_json_arena_free(a);
		free(a);
		c->json = NULL;
	}
	if (rc)
		sl_config_free(c);
	return rc;
}

int sl_config_load(const char *path, struct sl_config *c, char *err, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return -errno;
	}
	char *buf = malloc(SL_CONFIG_MAX_BYTES + 1);
	size_t len = buf ? fread(buf, 1, SL_CONFIG_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	int rc = sl_config_parse(buf, len, c, err, n);
	free(buf);
	return rc;
}

void sl_config_free(struct sl_config *c)
{
	free(c->pods);
	free(c->nodes);
	free(c->routes);
	if (c->json) {
		sl_json_arena_free(c->json);
		free(c->json);
	}
	c->json = NULL;
	c->k8s = NULL;
	c->pods = NULL;
	c->nodes = NULL;
	c->routes = NULL;
	c->n_pods = c->n_nodes = c->n_routes = 0;
}
