/* The config's sections on the daemon's own resources: "workers", "icmp" (the ICMP error
 * rate), "limits" (remote nodes and routes), "conntrack" (its size) and "metrics" (the
 * HTTP server) (see sl_config.h). */
#include "sl_config_int.h"

int sl_cfg_parse_workers(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "count", "idle_backoff", "idle_sleep_max_us",
					     NULL };
	const cJSON *o;
	c->idle_backoff = true;
	c->idle_sleep_max_us = 200;
	int rc = sl_cfg_section(root, "workers", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_uint(o, "workers", "count", 1, 16, &c->workers, err, n));
	TRY(sl_cfg_bool(o, "workers", "idle_backoff", &c->idle_backoff, err, n));
	return sl_cfg_uint(o, "workers", "idle_sleep_max_us", 10, 100000, &c->idle_sleep_max_us,
			   err, n);
}

int sl_cfg_parse_icmp(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "rate_per_sec", NULL };
	const cJSON *o;
	c->icmp_rate = 1000;
	int rc = sl_cfg_section(root, "icmp", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	return sl_cfg_uint(o, "icmp", "rate_per_sec", 1, 1000000, &c->icmp_rate, err, n);
}

int sl_cfg_parse_limits(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "nodes", "routes", NULL };
	const cJSON *o;
	c->limit_nodes = SL_CONFIG_DEFAULT_NODE_LIMIT;
	c->limit_routes = SL_CONFIG_DEFAULT_ROUTE_LIMIT;
	int rc = sl_cfg_section(root, "limits", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_uint(o, "limits", "nodes", 1, SL_CONFIG_MAX_LIMIT, &c->limit_nodes, err, n));
	return sl_cfg_uint(o, "limits", "routes", 1, SL_CONFIG_MAX_LIMIT, &c->limit_routes, err,
			   n);
}

int sl_cfg_parse_conntrack(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "size", NULL };
	const cJSON *o;
	c->ct_size = 0; /* the default (dataplane/ct/ct.h) */
	int rc = sl_cfg_section(root, "conntrack", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	return sl_cfg_uint(o, "conntrack", "size", 1024, 1u << 24, &c->ct_size, err, n);
}

int sl_cfg_parse_metrics(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "listen", NULL };
	const cJSON *o;
	c->metrics_enabled = false; /* no HTTP server unless asked for */
	int rc = sl_cfg_section(root, "metrics", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_listen(o, "metrics", "listen", &c->metrics_addr, &c->metrics_port, err, n));
	c->metrics_enabled = true;
	return 0;
}
