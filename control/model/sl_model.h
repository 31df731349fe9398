/* The control model: this node's objects (pods, remote nodes, static routes; Services and
 * EndpointSlices in sl_service.h) with their
 * validation and hash indexes. Sources (static config, persisted state, API socket, later
 * the Kubernetes sync) change the model only; a reconciler registered as hooks turns each
 * change into table changes (control/net/). No DPDK: unit-tested and fuzzed without EAL.
 * Control thread only.
 *
 * Every change is checked against the whole model first (addresses, names, overlaps),
 * then stored, then handed to the hook; when the hook fails the change is undone and its
 * error returned, so the model always equals what the tables carry. Errors are
 * "field: reason" relative to the object ("ip: 10.9.9.9 is not a pod address of this
 * node"); callers prefix the object's path ("pod.", "pods[3]."). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_spec.h"

/* Defaults for struct sl_model_limits: far above one node's needs, yet bounded (every
 * resource an outsider controls has a limit). */
#define SL_MODEL_MAX_PODS 250000
#define SL_MODEL_MAX_NODES 10000
#define SL_MODEL_MAX_ROUTES 10000

/* The node's own facts the checks need. */
struct sl_model_self {
	char node_name[SL_NAME_MAX]; /* endpoints with this nodeName are local */
	struct sl_ip node_ip;
	struct sl_cidr pod_cidr;
	struct sl_ip gateway_ip;
	char host_ifname[SL_IFNAME_MAX];   /* "" when there is no host port */
	char uplink_ifname[SL_IFNAME_MAX]; /* the uplink's kernel interface, "" if none */
};

struct sl_model_limits {
	unsigned pods, nodes, routes;
	unsigned services, slices; /* 0 = the default (sl_service.h) */
	unsigned namespaces, k8s_pods, policies; /* 0 = the default (sl_policy.h) */
};

/* Objects as stored. id is stable while the object lives (an index for the hooks' own
 * arrays); dp is the hook's to use. */
struct sl_model_pod {
	uint32_t id;
	struct sl_pod_spec spec;
	void *dp;
};
struct sl_model_node {
	uint32_t id;
	struct sl_node_spec spec;
	void *dp;
};
struct sl_model_route {
	uint32_t id;
	struct sl_route_spec spec;
	void *dp;
};

struct sl_svc_view;
struct sl_model_svc;

/* The reconciler. An *_add hook returns 0 or -errno with err set; a *_del hook cannot
 * fail. Any hook may be NULL (a model alone, as --check and the tests use it).
 * svc_changed: a Service kube-proxy would program was created or changed, or the slices
 * it owns changed; v is its resolved view (sl_service.h), valid during the call only.
 * Failing (-errno, err set) undoes the whole batch the change came in. svc_deleted: the
 * Service is gone or no longer proxied (headless, another proxy's); called only for a
 * Service whose last svc_changed succeeded. svc_prepare: the changes of v[0..n-1] are about
 * to be told, svc_changed for each in this order (v[i] NULL: one deleted or not proxied,
 * or out of memory; whatever svc_changed is then given is what counts); the reconciler may
 * start work ahead (Maglev tables on other cores). Called with n = 0 once they are all told;
 * only for batches of SL_MODEL_PREPARE_MIN Services or more, SL_MODEL_PREPARE_CHUNK at a
 * time. */
#define SL_MODEL_PREPARE_MIN 16
#define SL_MODEL_PREPARE_CHUNK 1024
struct sl_model_hooks {
	void *ctx;
	int (*pod_add)(void *ctx, struct sl_model_pod *p, char *err, size_t errlen);
	void (*pod_del)(void *ctx, struct sl_model_pod *p);
	int (*node_add)(void *ctx, struct sl_model_node *n, char *err, size_t errlen);
	void (*node_del)(void *ctx, struct sl_model_node *n);
	int (*route_add)(void *ctx, struct sl_model_route *r, char *err, size_t errlen);
	void (*route_del)(void *ctx, struct sl_model_route *r);
	int (*svc_changed)(void *ctx, const struct sl_svc_view *v, char *err, size_t errlen);
	void (*svc_deleted)(void *ctx, struct sl_model_svc *s);
	void (*svc_prepare)(void *ctx, const struct sl_svc_view *const *v, unsigned n);
};

struct sl_model;

/* A new empty model; limits NULL means the defaults. NULL when out of memory. */
struct sl_model *sl_model_create(const struct sl_model_self *self,
				 const struct sl_model_limits *limits);
/* Delete every object (calling the del hooks: Services, routes, pods, nodes) and free the
 * model. */
void sl_model_destroy(struct sl_model *m);
void sl_model_set_hooks(struct sl_model *m, const struct sl_model_hooks *hooks);
const struct sl_model_self *sl_model_self(const struct sl_model *m);

/* Add or delete one object. Return 0 or -errno: -EINVAL (bad field), -EEXIST (name,
 * address or interface taken), -ENOSPC (limit), -ENOENT (delete of an unknown object),
 * or the hook's error. */
int sl_model_pod_add(struct sl_model *m, const struct sl_pod_spec *s, char *err, size_t errlen);
int sl_model_pod_del(struct sl_model *m, const char *ns, const char *name, char *err,
		     size_t errlen);
int sl_model_node_add(struct sl_model *m, const struct sl_node_spec *s, char *err,
		      size_t errlen);
int sl_model_node_del(struct sl_model *m, const char *name, char *err, size_t errlen);
int sl_model_route_add(struct sl_model *m, const struct sl_route_spec *s, char *err,
		       size_t errlen);
int sl_model_route_del(struct sl_model *m, struct sl_cidr prefix, char *err, size_t errlen);

/* Lookups: the object or NULL. */
struct sl_model_pod *sl_model_pod_find(const struct sl_model *m, const char *ns,
				       const char *name);
struct sl_model_pod *sl_model_pod_by_ip(const struct sl_model *m, struct sl_ip ip);
struct sl_model_node *sl_model_node_find(const struct sl_model *m, const char *name);
struct sl_model_route *sl_model_route_find(const struct sl_model *m, struct sl_cidr prefix);

/* Iteration in id order: start with id 0; each returns the next object at or after *id
 * and advances *id past it, or NULL at the end.
 *   for (uint32_t i = 0; (p = sl_model_pod_next(m, &i));) ... */
struct sl_model_pod *sl_model_pod_next(const struct sl_model *m, uint32_t *id);
struct sl_model_node *sl_model_node_next(const struct sl_model *m, uint32_t *id);
struct sl_model_route *sl_model_route_next(const struct sl_model *m, uint32_t *id);

struct sl_model_counts {
	unsigned pods, nodes, routes;
	unsigned services, slices;
	size_t bytes; /* heap the model holds: objects, slot arrays, indexes */
};
void sl_model_counts(const struct sl_model *m, struct sl_model_counts *ret);

/* Write why (a model error) into err under the object's path: "pod" + "ip: x" gives
 * "pod.ip: x"; a message without a leading field ("pod limit reached (1000)") gives
 * "pod: ..." unless bare is set, then it is copied as it is. */
void sl_model_err_path(char *err, size_t errlen, const char *path, const char *why, bool bare);
