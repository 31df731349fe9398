/* The control thread's model of the node (pods, remote nodes, routes) and the reconciler
 * that turns each change into dataplane table changes (ports, next hops, FIB, worker queue
 * lists), published without stopping workers. Every function here runs on the control
 * thread only; each returns 0 or -errno and, on error, a message in err. */
#pragma once
#include <stddef.h>

#include <cjson/cJSON.h>

#include "sl_config.h"

#define SL_MAX_PODS 1000
#define SL_MAX_NODES 1000
#define SL_MAX_ROUTES 1000

/* Open the uplink and host ports and install the node's base routes, then every pod, node
 * and route of the configuration. Workers must be set up (sl_dp_init) but may run. */
int sl_state_init(const struct sl_config *c, char *err, size_t errlen);
/* Detach every pod and close every port. Workers must have stopped. */
void sl_state_fini(void);

int sl_state_pod_add(const struct sl_pod_spec *p, char *err, size_t errlen);
int sl_state_pod_del(const char *namespace, const char *name, char *err, size_t errlen);
int sl_state_node_add(const struct sl_node_spec *n, char *err, size_t errlen);
int sl_state_node_del(const char *name, char *err, size_t errlen);
int sl_state_route_add(const struct sl_route_spec *r, char *err, size_t errlen);
int sl_state_route_del(const struct sl_cidr *prefix, char *err, size_t errlen);

/* Every pod, node and route as JSON lists {"pods":[...],"nodes":[...],"routes":[...]} in
 * the config's format (what sl_persist saves). */
cJSON *sl_state_export(void);

/* Node facts a client needs (node name, pod CIDR, gateway, pod MTU) into o. */
void sl_state_describe(cJSON *o);

/* Periodic work: ARP requests for unresolved neighbours, refresh and ageing. */
void sl_state_tick(void);

/* Show a table, one of SL_FOREACH_SHOW (core/sl_cmd.h). Returns a new cJSON value or NULL
 * with err set. */
cJSON *sl_state_show(const char *what, char *err, size_t errlen);
