/* Kubernetes Services and EndpointSlices in the control model (issue 10), as the API
 * objects v1 Service and discovery.k8s.io/v1 EndpointSlice, and the view a reconciler
 * programs the dataplane from: per Service port, the backends kube-proxy would use after
 * endpoint selection (sl_svc_view_build, sl_svc_select.c). No DPDK; control thread only.
 *
 * Objects come in batches (one `sluicectl apply`, the config's lists, the persisted state,
 * later one Kubernetes watch event): sl_model_k8s_apply changes all of a batch or nothing.
 * It first stores every object (limits, memory), then calls the hooks once per Service the
 * batch touched (a Service, or a Service whose slices changed); when a hook fails, every
 * change is undone and the hooks told again of the restored state.
 *
 * Like kube-proxy, the model keeps but never hands to the hooks: headless Services
 * (clusterIP None), ExternalName Services and Services labelled
 * service.kubernetes.io/service-proxy-name (another proxy's). Addresses: IPv4 only, as
 * the tables (sl_addr.h); IPv6 entries of a dual-stack Service (clusterIPs, externalIPs,
 * ingress) are ignored, as a single-stack IPv4 kube-proxy ignores them, and IPv6/FQDN
 * slices are kept but give no backends. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_model.h"

/* Limits (every resource an outsider controls has one). The per-slice limits are the API
 * server's own (EndpointSlice validation: 1,000 endpoints, 100 ports). */
#define SL_MODEL_MAX_SERVICES 200000
#define SL_MODEL_MAX_SLICES 400000
#define SL_SVC_MAX_PORTS 100        /* spec.ports of one Service */
#define SL_SVC_MAX_IPS 32           /* clusterIPs, externalIPs, ingress IPs (each) */
#define SL_SVC_MAX_SOURCE_RANGES 256 /* loadBalancerSourceRanges */
#define SL_SLICE_MAX_ENDPOINTS 1000
#define SL_SLICE_MAX_PORTS 100
#define SL_SVC_AFFINITY_DEFAULT_S 10800 /* sessionAffinityConfig.clientIP.timeoutSeconds */
#define SL_SVC_AFFINITY_MAX_S 86400

#define SL_K8S_NS_MAX 64     /* namespace, Service name: DNS-1123/1035 labels, <= 63 */
#define SL_K8S_NAME_MAX 254  /* EndpointSlice name: DNS-1123 subdomain, <= 253 */
#define SL_K8S_PORT_NAME_MAX 64

enum sl_svc_type {
	SL_SVC_CLUSTER_IP,
	SL_SVC_NODE_PORT,
	SL_SVC_LOAD_BALANCER,
	SL_SVC_EXTERNAL_NAME,
};

/* One entry of spec.ports. */
struct sl_svc_port {
	char name[SL_K8S_PORT_NAME_MAX]; /* "" allowed only when it is the only port */
	uint8_t protocol;                /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t port;                   /* on every frontend */
	uint16_t target_port;            /* numeric targetPort; 0 when named */
	char target_name[16];            /* named targetPort (IANA_SVC_NAME); "" when numeric */
	uint16_t node_port;              /* 0 = none */
};

/* A v1 Service as the model keeps it. Arrays are heap-allocated (sl_svc_spec_free). */
struct sl_svc_spec {
	char namespace[SL_K8S_NS_MAX];
	char name[SL_K8S_NS_MAX];
	enum sl_svc_type type;
	bool headless;               /* spec.clusterIP "None" */
	bool other_proxy;            /* label service.kubernetes.io/service-proxy-name set */
	struct sl_ip *cluster_ips;   /* spec.clusterIPs (or clusterIP), IPv4 ones */
	unsigned n_cluster_ips;
	struct sl_ip *external_ips;  /* spec.externalIPs, IPv4 ones */
	unsigned n_external_ips;
	struct sl_ip *lb_ips;        /* status.loadBalancer.ingress[].ip, IPv4 ones */
	unsigned n_lb_ips;
	struct sl_cidr *source_ranges; /* spec.loadBalancerSourceRanges (host bits cleared) */
	unsigned n_source_ranges;
	struct sl_svc_port *ports;   /* spec.ports */
	unsigned n_ports;
	bool affinity_client_ip;     /* spec.sessionAffinity ClientIP */
	uint32_t affinity_timeout_s; /* 1..SL_SVC_AFFINITY_MAX_S, default 10800 */
	bool external_local;         /* spec.externalTrafficPolicy Local (default Cluster) */
	bool internal_local;         /* spec.internalTrafficPolicy Local (default Cluster) */
	uint16_t health_check_node_port; /* spec.healthCheckNodePort, 0 = none */
};

/* Endpoint conditions (discovery.k8s.io/v1 EndpointConditions, defaults applied as
 * kube-proxy does: ready nil = ready, serving nil = ready's value, terminating nil =
 * false). */
#define SL_EP_READY 1u
#define SL_EP_SERVING 2u
#define SL_EP_TERMINATING 4u

/* One entry of endpoints[]: its first address (kube-proxy uses only addresses[0]). */
struct sl_slice_ep {
	struct sl_ip ip;   /* unset (af 0) in FQDN slices */
	uint8_t cond;      /* SL_EP_* */
	char *node_name;   /* nodeName, NULL when absent */
	char *zone;        /* zone, NULL when absent (both in eps' block, after the array) */
};

/* One entry of ports[]. */
struct sl_slice_port {
	char name[SL_K8S_PORT_NAME_MAX]; /* "" when absent */
	uint8_t protocol;                /* IPPROTO_*; default TCP */
	uint16_t port;                   /* 0: port null ("all ports"), never matched */
};

/* A discovery.k8s.io/v1 EndpointSlice as the model keeps it (sl_slice_spec_free). */
struct sl_slice_spec {
	char namespace[SL_K8S_NS_MAX];
	char name[SL_K8S_NAME_MAX];
	char service[SL_K8S_NS_MAX]; /* label kubernetes.io/service-name; "" = owned by none */
	uint8_t af;                  /* addressType: AF_INET, AF_INET6, 0 for FQDN */
	struct sl_slice_ep *eps;
	unsigned n_eps;
	struct sl_slice_port *ports;
	unsigned n_ports;
};

void sl_svc_spec_free(struct sl_svc_spec *s);
void sl_slice_spec_free(struct sl_slice_spec *s);

/* The objects as stored. id is stable while the object lives; dp is the hooks' to use. */
struct sl_model_svc {
	uint32_t id;
	struct sl_svc_spec *spec;
	bool hooked;    /* the hooks were last told it exists (svc_changed succeeded) */
	uint64_t mark;  /* internal: the last batch that touched it */
	uint64_t born;  /* internal: the batch that created it */
	void *dp;
};
struct sl_model_slice {
	uint32_t id;
	struct sl_slice_spec *spec;
	uint32_t prev, next; /* internal: ring of the slices with the same owning Service */
};

/* Whether kube-proxy would program this Service: not headless, not ExternalName, not
 * another proxy's. */
bool sl_svc_proxied(const struct sl_svc_spec *s);

/* One change of a batch: apply (create or replace) a Service or a slice, or delete one. */
/* NAMESPACE, POD (a cluster pod) and POLICY: NetworkPolicy (sl_policy.h); a namespace's
 * key is its name (namespace ""). */
enum sl_k8s_kind { SL_K8S_SERVICE, SL_K8S_SLICE, SL_K8S_NAMESPACE, SL_K8S_POD, SL_K8S_POLICY };
struct sl_ns_spec;
struct sl_kpod_spec;
struct sl_np_spec;
struct sl_k8s_op {
	enum sl_k8s_kind kind;
	bool del;
	char namespace[SL_K8S_NS_MAX];  /* delete: the object's key */
	char name[SL_K8S_NAME_MAX];
	struct sl_svc_spec *svc;        /* apply: the new object (heap) */
	struct sl_slice_spec *slice;
	struct sl_ns_spec *ns;
	struct sl_kpod_spec *pod;
	struct sl_np_spec *policy;
	char path[48];                  /* where it came from, for errors ("items[3]") */
};
/* Free what ops still own, and the array. */
void sl_k8s_ops_free(struct sl_k8s_op *ops, unsigned n);

/* Apply n changes, in order, all or nothing. On success the model owns every applied spec
 * (the ops' svc/slice pointers are set to NULL); on failure nothing changed (the ops keep
 * them) and err says which op failed and why ("items[3]: service limit reached (10)",
 * "items[2]: endpointslice default/x not found", "items[1].spec.ports[0]: 10.96.0.10:80/TCP
 * is already a frontend of service default/web"). Returns 0, -ENOENT (delete of an unknown
 * object), -ENOSPC (limit), -EEXIST (a frontend, or node port, of another Service: no two
 * proxied Services share an ip:port/protocol or a node port/protocol), -ENOMEM, or a hook's
 * error. Control thread. */
int sl_model_k8s_apply(struct sl_model *m, struct sl_k8s_op *ops, unsigned n, char *err,
		       size_t errlen);
/* One delete (a batch of one). */
int sl_model_svc_del(struct sl_model *m, const char *ns, const char *name, char *err,
		     size_t errlen);
int sl_model_slice_del(struct sl_model *m, const char *ns, const char *name, char *err,
		       size_t errlen);

/* Lookups and iteration (in id order, as sl_model_pod_next). */
struct sl_model_svc *sl_model_svc_find(const struct sl_model *m, const char *ns,
				       const char *name);
struct sl_model_slice *sl_model_slice_find(const struct sl_model *m, const char *ns,
					   const char *name);
struct sl_model_svc *sl_model_svc_next(const struct sl_model *m, uint32_t *id);
struct sl_model_slice *sl_model_slice_next(const struct sl_model *m, uint32_t *id);
/* The slices labelled for Service ns/name: call with *cursor = UINT32_MAX first; NULL at
 * the end. Cost: one index lookup, then one step per slice. */
struct sl_model_slice *sl_model_svc_slice_next(const struct sl_model *m, const char *ns,
					       const char *svc, uint32_t *cursor);

/* The resolved view of one Service: per Service port, every endpoint of its slices merged
 * (per port name and protocol, IPv4 slices), duplicates (same address and port) removed
 * keeping the non-terminating copy (then the local one), sorted by address and port, each
 * marked with kube-proxy's selection (pkg/proxy/topology.go CategorizeEndpoints):
 * - SL_BE_INTERNAL: used for traffic to the cluster IPs (internalTrafficPolicy);
 * - SL_BE_EXTERNAL: used for traffic to node ports, external and ingress IPs
 *   (externalTrafficPolicy); never set on a port without any of those;
 * - SL_BE_CLUSTER: in kube-proxy's cluster endpoints (set when the port uses them): what
 *   traffic from inside the cluster to an external frontend of an externalTrafficPolicy
 *   Local Service uses (kube-proxy's short circuit), as it does for Cluster policy.
 * Cluster policy uses the ready endpoints, or if none is ready the serving+terminating
 * ones; Local uses this node's (nodeName == sl_model_self()->node_name) ready endpoints,
 * or if none the local serving+terminating ones, never remote ones. Topology hints are
 * not applied (zone is kept for show). */
#define SL_BE_INTERNAL 8u
#define SL_BE_EXTERNAL 16u
#define SL_BE_LOCAL 32u
#define SL_BE_CLUSTER 64u
struct sl_svc_backend {
	struct sl_ip ip;
	uint16_t port;          /* the slice's port number (a named targetPort resolved there) */
	uint8_t flags;          /* SL_EP_* conditions | SL_BE_* */
	const char *node_name;  /* into the slice; NULL when absent; valid until the next change */
	const char *zone;
};
struct sl_svc_view_port {
	const struct sl_svc_port *port; /* the Service port (into the spec) */
	struct sl_svc_backend *be;      /* every merged endpoint, selected or not */
	unsigned n_be;
	unsigned n_internal, n_external;/* how many carry SL_BE_INTERNAL / SL_BE_EXTERNAL */
	unsigned n_ready;               /* ready endpoints */
	unsigned n_local;               /* local endpoints Local policy uses (health check) */
	bool has_any;   /* kube-proxy's hasAnyEndpoints: a usable endpoint exists somewhere;
			 * false: reject (ICMP unreachable); true with none selected: drop */
};
struct sl_svc_view {
	const struct sl_model_svc *svc;
	const struct sl_svc_spec *spec;
	bool external;                  /* has node ports, external or ingress IPs (any port) */
	struct sl_svc_view_port *ports; /* one per spec.ports entry, same order */
	unsigned n_ports;
};
/* Build the view of s (one allocation; cost proportional to its slices' endpoints).
 * Returns 0 or -ENOMEM. Free with sl_svc_view_free. Control thread. */
int sl_svc_view_build(const struct sl_model *m, const struct sl_model_svc *s,
		      struct sl_svc_view **ret);
void sl_svc_view_free(struct sl_svc_view *v);
