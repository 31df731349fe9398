/* The Kubernetes sync: one reflector (sl_kube_reflector.h) per resource, all on one libcurl
 * multi handle on the control thread's loop (sl_kube_http.h), feeding the model:
 *   services        v1 Service through sl_k8s_parse_service + sl_model_k8s_apply, with
 *                   kube-proxy's label selector (not another proxy's, not headless)
 *   endpointslices  discovery.k8s.io/v1 EndpointSlice, the same selector
 *   nodes           v1 Node (sl_kube_node.h): other Nodes become the model's remote nodes;
 *                   this node's own Node gives its pod CIDR, and gets this node's VTEP
 *                   address and MAC as flannel's annotations (a PATCH of that Node only)
 *   pods, namespaces, networkpolicies  NetworkPolicy's view of the cluster, through the
 *                   policy decoder (sl_k8s_policy_decode) by the kind table in sl_kube_sync.c
 * Lists are streaming lists where the server takes them (conf.watch_list; see
 * sl_kube_reflector.h). Every kind but Nodes is batched: a list page or a run of initial
 * events is decoded into a queue and applied as one sl_model_k8s_apply (one commit, one
 * policy notification), object by object only when the model refuses the batch.
 * While the API server is away the model (and so the dataplane) keeps the last state; when
 * it comes back the reflectors resume or relist and the model converges. Control thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/sl_loop.h"
#include "model/sl_model.h"
#include "sl_kube_node.h"
#include "sl_kube_reflector.h"

struct sl_kube_sync_conf {
	const char *kubeconfig; /* a kubeconfig file, or NULL for in-cluster credentials */
	const char *sa_dir;     /* in-cluster: the service account folder (NULL: the default) */
	const char *node_name;  /* this node's Node */
	bool publish;           /* PATCH this node's Node with pub */
	enum sl_kube_wl watch_list; /* streaming lists (config kubernetes.watch_list; AUTO) */
	struct sl_kube_node_pub pub;
};

/* Read the credentials and start every enabled reflector on loop. Returns 0 or -errno with
 * err set (bad kubeconfig, no in-cluster environment). */
int sl_kube_sync_start(struct sl_loop *loop, struct sl_model *m,
		       const struct sl_kube_sync_conf *conf, char *err, size_t errlen);
/* Stop every request and free (objects stay in the model). Harmless when not started. */
void sl_kube_sync_stop(void);
/* `show sync`: {"enabled", "resources": [one row per resource], "node": {this node's Node:
 * state, pod_cidr, patches, errors, token_reads, last_error}}. */
cJSON *sl_kube_sync_show(void);
/* This node's pod CIDR from its Node (spec.podCIDR(s)); false until the Node has one. */
bool sl_kube_sync_pod_cidr(struct sl_cidr *ret);

/* Read this node's Node once, before the loop runs (sluiced --pod-cidr-from-node): GET
 * /api/v1/nodes/NAME with the sync's credentials, again every second until the Node has a
 * pod CIDR or wait_s seconds pass (the node IPAM controller assigns it shortly after the
 * node registers; flannel waits the same way). Blocks: call only at start, before the loop.
 * Returns 0 with *ret set (has_pod_cidr true), or -errno with err saying what was last seen
 * (-ETIMEDOUT: no pod CIDR in time). */
int sl_kube_node_fetch(const struct sl_kube_sync_conf *conf, unsigned wait_s,
		       struct sl_kube_node *ret, char *err, size_t errlen);
