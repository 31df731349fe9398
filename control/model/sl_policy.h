/* Kubernetes NetworkPolicy in the control model (issue 12): the objects it needs (v1
 * Namespace, v1 Pod as the cluster knows it, networking.k8s.io/v1 NetworkPolicy), their
 * storage, and the compiler from them to the node's compiled policy (sl_policy_set.h).
 * No DPDK; control thread only.
 *
 * Objects arrive as struct sl_k8s_op (sl_service.h) of kinds SL_K8S_NAMESPACE, SL_K8S_POD
 * and SL_K8S_POLICY, through sl_model_k8s_apply like Services: one batch is all or nothing.
 *
 * Cluster pods (SL_K8S_POD) are every pod of the cluster the node knows, local or remote,
 * keyed by namespace/name; they give selectors their labels and addresses, and named ports
 * their numbers. They are not the model's pods (sl_model.h: this node's attachments, keyed
 * by the CNI's container id): a cluster pod is local when its address is the address of an
 * attached pod of this node (sl_model_pod_by_ip). Only local pods are isolated and get
 * rules; peers are any cluster pod with an address. A pod without an IPv4 address, on the
 * host network, or finished (phase Succeeded/Failed) is never selected by address.
 *
 * Incremental compilation: every policy keeps its own compiled rules; a change marks dirty
 * only the policies it can touch (a pod: the policies of its namespace and those with a
 * namespaceSelector or a named port to an ipBlock; a namespace: the policies in it and
 * those with a namespaceSelector; a policy: itself; an attachment coming or going: the
 * policies of that pod's namespace and the global ones), and each candidate's selectors are
 * checked against the old and new labels before it is marked. sl_model_policy_set compiles
 * the dirty policies only and concatenates (batching: a burst of changes between two calls
 * costs one compile per touched policy). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_policy_set.h"
#include "sl_service.h"

/* Limits on what an outsider controls (per object, and objects). */
#define SL_POL_MAX_LABELS 64        /* labels of one object, matchLabels of one selector */
#define SL_POL_MAX_EXPRS 32         /* matchExpressions of one selector */
#define SL_POL_MAX_VALUES 64        /* values of one expression */
#define SL_POL_MAX_RULES 128        /* ingress (egress) rules of one policy */
#define SL_POL_MAX_PEERS 128        /* from (to) of one rule */
#define SL_POL_MAX_PORTS 128        /* ports of one rule */
#define SL_POL_MAX_EXCEPT 128       /* ipBlock.except */
#define SL_POD_MAX_PORTS 256        /* container ports of one pod, all containers */
#define SL_MODEL_MAX_NAMESPACES 20000
#define SL_MODEL_MAX_K8S_PODS 500000
#define SL_MODEL_MAX_POLICIES 100000
#define SL_LABEL_KEY_MAX 318        /* prefix (253) '/' name (63), NUL */
#define SL_LABEL_VALUE_MAX 64       /* 63, NUL */
#define SL_PORT_NAME_MAX 16         /* IANA_SVC_NAME: 15, NUL */

#define SL_LABEL_NS_NAME "kubernetes.io/metadata.name"

/* Labels: sorted by key, keys unique; strings on the heap (sl_labels_free). */
struct sl_label {
	char *key;
	char *value;
};
struct sl_labels {
	struct sl_label *v;
	unsigned n;
};

enum sl_sel_op { SL_SEL_IN, SL_SEL_NOT_IN, SL_SEL_EXISTS, SL_SEL_DOES_NOT_EXIST };
struct sl_sel_expr {
	char *key;
	enum sl_sel_op op;
	char **values; /* In, NotIn: 1 or more; Exists, DoesNotExist: none */
	unsigned n_values;
};
/* A LabelSelector: matchLabels AND every expression. Empty: matches everything. */
struct sl_selector {
	struct sl_labels match;
	struct sl_sel_expr *exprs;
	unsigned n_exprs;
};

struct sl_ns_spec {
	char name[SL_K8S_NS_MAX];
	struct sl_labels labels; /* kubernetes.io/metadata.name = name always present */
};

struct sl_pod_port {
	char name[SL_PORT_NAME_MAX]; /* "" when unnamed */
	uint16_t port;               /* containerPort */
	uint8_t proto;               /* IPPROTO_TCP/UDP/SCTP */
};

/* A v1 Pod as policy needs it. */
struct sl_kpod_spec {
	char namespace[SL_K8S_NS_MAX];
	char name[SL_K8S_NAME_MAX];
	char node_name[SL_K8S_NAME_MAX]; /* spec.nodeName, "" when not scheduled */
	struct sl_labels labels;
	struct sl_ip ip;          /* status.podIP(s): the first IPv4; af 0 = none/not selectable */
	bool host_network;        /* spec.hostNetwork (then ip is unset) */
	struct sl_pod_port *ports; /* spec.containers[].ports[] */
	unsigned n_ports;
};

/* One entry of a rule's ports. */
struct sl_np_port {
	uint8_t proto;                /* default TCP */
	uint16_t port, end_port;      /* port 0 and no name: every port; end_port 0: port only */
	char name[SL_PORT_NAME_MAX];  /* a named port ("" = numeric) */
};

enum sl_np_peer_kind { SL_PEER_PODS, SL_PEER_IPBLOCK };
/* One entry of from/to. PODS: has_pod_sel/has_ns_sel say which selectors are present
 * (podSelector alone: pods of the policy's namespace; namespaceSelector alone: every pod of
 * the namespaces selected; both: those pods of those namespaces). */
struct sl_np_peer {
	enum sl_np_peer_kind kind;
	bool has_pod_sel, has_ns_sel;
	struct sl_selector pod_sel, ns_sel;
	bool v6;                 /* IPBLOCK: an IPv6 cidr (kept, matches no IPv4 address) */
	struct sl_cidr cidr;     /* IPBLOCK, host bits cleared */
	struct sl_cidr *except;  /* IPv4 ones, host bits cleared */
	unsigned n_except;
};

/* One ingress (egress) rule: n_peers 0 = every peer (from/to absent or empty); n_ports 0 =
 * every port and protocol (ports absent or empty). */
struct sl_np_rule {
	struct sl_np_peer *peers;
	unsigned n_peers;
	struct sl_np_port *ports;
	unsigned n_ports;
};

struct sl_np_spec {
	char namespace[SL_K8S_NS_MAX];
	char name[SL_K8S_NAME_MAX];
	struct sl_selector pod_sel;      /* spec.podSelector (empty: every pod of the namespace) */
	bool types[SL_POL_NDIRS];        /* policyTypes, defaulted: Ingress; Egress when egress
					  * has rules (len != 0), as the API server defaults */
	struct sl_np_rule *rules[SL_POL_NDIRS];
	unsigned n_rules[SL_POL_NDIRS];
};

void sl_labels_free(struct sl_labels *l);
void sl_selector_free(struct sl_selector *s);
void sl_ns_spec_free(struct sl_ns_spec *s);
void sl_kpod_spec_free(struct sl_kpod_spec *s);
void sl_np_spec_free(struct sl_np_spec *s);

/* Label matching (sl_label.c). The value of key in l, or NULL. */
const char *sl_labels_get(const struct sl_labels *l, const char *key);
/* Whether sel matches labels l (matchLabels and every expression). */
bool sl_selector_match(const struct sl_selector *sel, const struct sl_labels *l);
/* Sort l by key; -EEXIST when a key repeats. */
int sl_labels_sort(struct sl_labels *l);

/* Stored objects. */
struct sl_model_ns {
	uint32_t id;
	struct sl_ns_spec *spec;
};
struct sl_model_kpod {
	uint32_t id;
	struct sl_kpod_spec *spec;
};
struct sl_model_policy {
	uint32_t id;   /* = the policy index of sl_pol_rule.policy and sl_pol_set.names */
	struct sl_np_spec *spec;
};

struct sl_model_ns *sl_model_ns_find(const struct sl_model *m, const char *name);
struct sl_model_kpod *sl_model_kpod_find(const struct sl_model *m, const char *ns,
					 const char *name);
/* A selectable cluster pod with address ip (one of them if several), or NULL. */
struct sl_model_kpod *sl_model_kpod_by_ip(const struct sl_model *m, struct sl_ip ip);
struct sl_model_policy *sl_model_policy_find(const struct sl_model *m, const char *ns,
					     const char *name);
struct sl_model_ns *sl_model_ns_next(const struct sl_model *m, uint32_t *id);
struct sl_model_kpod *sl_model_kpod_next(const struct sl_model *m, uint32_t *id);
struct sl_model_policy *sl_model_policy_next(const struct sl_model *m, uint32_t *id);
void sl_model_policy_counts(const struct sl_model *m, unsigned *ret_ns, unsigned *ret_pods,
			    unsigned *ret_policies, size_t *ret_bytes);

/* One delete (a batch of one), as sl_model_svc_del. */
int sl_model_ns_del(struct sl_model *m, const char *name, char *err, size_t errlen);
int sl_model_kpod_del(struct sl_model *m, const char *ns, const char *name, char *err,
		      size_t errlen);
int sl_model_policy_del(struct sl_model *m, const char *ns, const char *name, char *err,
			size_t errlen);

/* The compiled policy of this node (sl_policy_set.h), compiling what changed since the last
 * call. Owned by the model: valid until the next change of the model (any object, and
 * attachments). NULL when out of memory (the previous set is then kept by the caller).
 * generation is bumped by every change of the compiled form (always, not only when it may
 * deny more: simpler, and a recheck of an established flow that is still allowed costs one
 * lookup). policy indexes are the policies' ids (stable while the policy lives; names of
 * unused indexes are ""). */
const struct sl_pol_set *sl_model_policy_set(struct sl_model *m);
/* A deep copy (for a consumer that keeps it past the next change), and its free. */
struct sl_pol_set *sl_pol_set_copy(const struct sl_pol_set *s);
void sl_pol_set_free(struct sl_pol_set *s);

/* Called (control thread) after every committed change that can change the compiled set,
 * at most once per batch: the reconciler then calls sl_model_policy_set (now, or batched on
 * a timer). One listener; fn NULL removes it. */
void sl_model_policy_set_notify(struct sl_model *m, void (*fn)(void *ctx, uint64_t generation),
				void *ctx);

/* Why a packet is allowed or denied, from the model (`sluicectl policy check`). Evaluates
 * the policies directly (any two pods or addresses, local or not), as the API documents. */
#define SL_POL_CHECK_MAX 16
struct sl_pol_check_dir {
	bool applies;          /* the pod is known (ingress: dst, egress: src) */
	bool isolated;         /* some policy of this direction selects it */
	uint32_t isolating[SL_POL_CHECK_MAX]; /* policy ids selecting it (first ones) */
	unsigned n_isolating;  /* how many select it (may exceed SL_POL_CHECK_MAX) */
	bool allowed;
	uint32_t policy, rule; /* the first rule allowing it, when isolated and allowed */
};
struct sl_pol_check {
	struct sl_model_kpod *src, *dst; /* the cluster pods at each end, or NULL */
	bool src_local, dst_local;       /* attached to this node */
	struct sl_pol_check_dir dir[SL_POL_NDIRS]; /* ingress at dst, egress at src */
	bool allowed;                    /* both directions allow */
};
void sl_model_policy_check(const struct sl_model *m, struct sl_ip src, struct sl_ip dst,
			   uint8_t proto, uint16_t port, struct sl_pol_check *ret);

/* Internal to control/model: hooks of the other stores. */
struct sl_pol_store;
struct sl_pol_store *sl_pol_store_create(const struct sl_model_limits *limits);
void sl_pol_store_destroy(struct sl_model *m);
/* An attachment with address ip came or went (sl_model.c). */
void sl_pol_local_changed(struct sl_model *m, struct sl_ip ip);

/* What policy p (compiled by the last sl_model_policy_set) gives this node: the local pods
 * it isolates in either direction and its compiled rules. Control thread. */
void sl_model_policy_stats(const struct sl_model *m, const struct sl_model_policy *p,
			   unsigned *ret_local_pods, unsigned *ret_rules);
