/* Internal to the configuration parser (see sl_config.h): the field readers
 * (sl_config_field.c) and the sections' parsers (sl_config_node.c, sl_config_uplink.c,
 * sl_config_daemon.c, sl_config_k8s.c), called in order by sl_config.c.
 *
 * A field reader reads o[key] (path names o: "node", "pods[1]") and returns 0 when it is
 * absent and optional, -EINVAL with err set to "path.key: reason" otherwise. A section
 * parser sets its defaults in c, then reads its section of the config's root object.
 * No DPDK; any thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sl_config.h"

/* Return x when it is not 0. */
#define TRY(x)                                                                         \
	do {                                                                           \
		int rc_ = (x);                                                         \
		if (rc_)                                                               \
			return rc_;                                                    \
	} while (0)

/* Write "path: reason" into err (n bytes); returns -EINVAL. */
int sl_cfg_fail(char *err, size_t n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* 0 when o is an object whose fields are all named in known (NULL-terminated). */
int sl_cfg_fields(const cJSON *o, const char *path, const char *const *known, char *err,
		  size_t n);
/* The section key of root into *ret, its fields checked against known: 1 when present, 0
 * when absent and not required, else -EINVAL ("key: missing"). */
int sl_cfg_section(const cJSON *root, const char *key, bool required,
		   const char *const *known, const cJSON **ret, char *err, size_t n);

/* A non-empty string of under max bytes into out. */
int sl_cfg_str(const cJSON *o, const char *path, const char *key, bool required, char *out,
	       size_t max, char *err, size_t n);
/* An IPv4 address, an IPv4 prefix without host bits, a unicast MAC. */
int sl_cfg_ip(const cJSON *o, const char *path, const char *key, bool required,
	      struct sl_ip *out, char *err, size_t n);
int sl_cfg_cidr(const cJSON *o, const char *path, const char *key, bool required,
		struct sl_cidr *out, char *err, size_t n);
int sl_cfg_mac(const cJSON *o, const char *path, const char *key, bool required,
	       uint8_t out[6], char *err, size_t n);
/* An optional "vtep_mac": a unicast MAC, not 00:00:00:00:00:00 (the dataplane's "none");
 * *ret_has whether it is there. */
int sl_cfg_vtep_mac(const cJSON *o, const char *path, uint8_t out[6], bool *ret_has,
		    char *err, size_t n);
/* A required "a.b.c.d:port" listen address (IPv4, port 1-65535). */
int sl_cfg_listen(const cJSON *o, const char *path, const char *key, uint32_t *ret_addr,
		  uint16_t *ret_port, char *err, size_t n);
/* An optional "LO-HI" port range (min <= LO <= HI, at least size ports); absent: *lo and
 * *hi unchanged. */
int sl_cfg_port_range(const cJSON *o, const char *path, const char *key, unsigned min,
		      unsigned size, uint16_t *lo, uint16_t *hi, char *err, size_t n);
/* An integer in [min, max]; *out unchanged when absent. */
int sl_cfg_uint(const cJSON *o, const char *path, const char *key, unsigned min,
		unsigned max, unsigned *out, char *err, size_t n);
/* true or false; *out unchanged when absent. */
int sl_cfg_bool(const cJSON *o, const char *path, const char *key, bool *out, char *err,
		size_t n);
/* An interface name (sl_cfg_str, then sl_ifname_invalid). */
int sl_cfg_ifname(const cJSON *o, const char *path, const char *key, bool required,
		  char *out, size_t max, char *err, size_t n);

/* The sections, in the order sl_config.c parses them; each takes the root object. */
int sl_cfg_parse_node(const cJSON *root, struct sl_config *c, char *err, size_t n);
/* uplink, af_xdp and tap, then the pod MTU (node.pod_mtu) they bound. */
int sl_cfg_parse_uplink(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_host(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_vxlan(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_workers(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_icmp(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_limits(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_conntrack(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_proxy(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_metrics(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_policy(const cJSON *root, struct sl_config *c, char *err, size_t n);
int sl_cfg_parse_kubernetes(const cJSON *root, struct sl_config *c, char *err, size_t n);
/* The Kubernetes lists ("services", ..., "networkpolicies"): arrays within their limits;
 * c->k8s set to root when there is one (decoded by sl_config_load_objects). */
int sl_cfg_keep_k8s(const cJSON *root, struct sl_config *c, char *err, size_t n);
/* Cross-object checks: c's objects loaded into a model of its own, so that --check
 * catches what the daemon would refuse at start (sl_config_model.c). */
int sl_cfg_check_lists(const struct sl_config *c, char *err, size_t n);
