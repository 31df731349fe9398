/* Internal to sl_policy.c (storage) and sl_policy_compile.c (compiler, check). Control
 * thread. */
#pragma once
#include "sl_index.h"
#include "sl_model_int.h"
#include "sl_policy.h"
#include "sl_slots.h"

/* The pods and policies of one namespace name (whether or not a Namespace object exists):
 * what a pod change or a podSelector walks instead of every pod. */
struct pol_group {
	uint32_t id;
	char name[SL_K8S_NS_MAX];
	struct sl_model_ns *ns;  /* the Namespace object, or NULL */
	uint32_t *pods, n_pods, cap_pods;   /* kpod ids */
	uint32_t *pols, n_pols, cap_pols;   /* policy ids */
};

struct kpod {
	struct sl_model_kpod pub;
	uint32_t group, group_pos;
};

/* One policy's compiled part: its rules and the local pods it isolates, per direction. */
struct pol {
	struct sl_model_policy pub;
	uint32_t group, group_pos;
	bool global;            /* in the global list: peers by namespaceSelector, or named
				 * ports to addresses (depends on pods of any namespace) */
	uint32_t global_pos;
	bool dirty;             /* compiled part out of date */
	uint32_t visit;         /* the pod change that last looked at it (sl_pol_store.visit) */
	bool in_set;            /* the set's rules at set_off are its current rules (not
				 * compiled again since the last assembly) */
	uint32_t set_off[SL_POL_NDIRS];
	struct sl_pol_rule *rules[SL_POL_NDIRS];
	uint32_t n_rules[SL_POL_NDIRS];
	uint32_t *isolated[SL_POL_NDIRS]; /* host order, sorted */
	uint32_t n_isolated[SL_POL_NDIRS];
};

/* The policies whose selectors mention one (scope, label key, value) (see sel_index in
 * sl_policy.c): an id once per mention. */
struct pol_bucket {
	uint64_t hash;
	uint32_t *ids, n, cap;
};

/* Buckets by hash. */
struct pol_bidx {
	struct pol_bucket *b;
	uint32_t n, cap;
	struct sl_index by_hash;
};

/* A batch (sl_model_k8s_apply) with this many cluster pod changes or more marks every
 * policy the selector index names for a pod, without checking that the pod changes what the
 * policy selects: in a batch that large (a list page, a run of initial events) most of them
 * are touched anyway, and the exact check per pod and candidate was most of the cost of an
 * initial sync (a marked policy is compiled again once per publish, whatever marked it). */
#define SL_POL_COARSE_PODS 32

struct sl_pol_store {
	struct slots nss, pods, pols, groups;
	struct sl_index ns_by_name, pod_by_name, pod_by_ip, pol_by_name, group_by_name;
	uint32_t *global, n_global, cap_global; /* policy ids with pol.global */
	uint32_t *dirty, n_dirty, cap_dirty;    /* policy ids with pol.dirty */
	bool changed;           /* the set must be assembled again */
	struct pol_bidx sel_ix; /* the selector index: policies by pol_label_hash() */
	struct pol_bidx pod_ix; /* the pods of each (group, label key, value) */
	uint32_t visit;         /* stamp of the current pod change */
	bool names_stale;       /* a policy came or went: the set's names are written again */
	bool index_off;         /* tests: a pod change checks every policy of its namespace
				 * and the global ones (the reference for the index) */
	bool coarse;            /* this batch has SL_POL_COARSE_PODS pod changes or more: the
				 * index's candidates are marked without the exact check */
	uint64_t generation;    /* of the last change */
	struct sl_pol_set set;  /* the last assembled set; its arrays only grow (reused) */
	size_t cap_rules[SL_POL_NDIRS], cap_iso[SL_POL_NDIRS], cap_iso_by[SL_POL_NDIRS], cap_names;
	void (*notify)(void *ctx, uint64_t generation);
	void *notify_ctx;
	size_t bytes;
};

/* The labels a namespaceSelector sees for namespace g: its object's, or only
 * kubernetes.io/metadata.name when there is no object. tmp holds the latter. */
const struct sl_labels *pol_ns_labels(const struct pol_group *g, struct sl_labels *tmp,
				      struct sl_label *tmp_label);
struct pol_group *pol_group_find(const struct sl_pol_store *st, const char *name);
/* Whether a cluster pod is selectable by address / attached to this node. */
bool pol_pod_addressed(const struct sl_kpod_spec *p);
/* Compile one policy's part (sl_policy_compile.c). 0 or -ENOMEM (then its part is empty). */
int pol_compile(const struct sl_model *m, struct sl_pol_store *st, struct pol *p);
void pol_part_free(struct pol *p);
/* Whether peer pe (of a policy in namespace ns) selects pod s of group g. */
bool pol_peer_selects(const struct sl_pol_store *st, const struct sl_np_peer *pe,
		      const char *ns, const struct pol_group *g, const struct sl_kpod_spec *s);
/* Free the arrays of a set (not the struct). */
void pol_set_free_arrays(struct sl_pol_set *s);
/* Tests: whether a pod change looks only at the policies the selector index names (the
 * default) or at all of them (off). The dirty sets must be the same. */
void sl_pol_index_enable(struct sl_model *m, bool on);
/* Tests: call fn for each policy marked dirty since the last assembly. */
void sl_pol_dirty_each(const struct sl_model *m, void (*fn)(void *ctx, const char *ns,
							      const char *name), void *ctx);
/* The hash of (scope: a group id or UINT32_MAX, key (NULL: the ALWAYS entry), value (NULL:
 * any value)) in the selector and pod indexes. */
uint64_t pol_label_hash(uint32_t scope, const char *key, const char *value);
/* The bucket of hash h, or NULL. */
const struct pol_bucket *pol_bucket_find(const struct pol_bidx *ix, uint64_t h);
