/* Internal to the policy store, control/model/sl_policy_*.c, and its unit tests:
 *   sl_policy_store.c    the tables (by id and name), life cycle, lookups, groups
 *   sl_policy_objects.c  one object stored, replaced or deleted, and its undo
 *   sl_policy_batch.c    sl_model_k8s_apply: all-or-nothing batches with the Services
 *   sl_policy_dirty.c    which policies a change touches (dirty marks), selection predicates
 *   sl_policy_index.c    the selector and pod label indexes
 *   sl_policy_compile.c  the compiler, the set
 *   sl_policy_check.c    sl_model_policy_check (`policy check`)
 * Everything here is control thread only. */
#pragma once
#include "sl_index.h"
#include "sl_model_int.h"
#include "sl_named.h"
#include "sl_policy.h"

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

/* The policies whose selectors mention one (scope, label key, value) (see the selector
 * index in sl_policy_index.c): an id once per mention. */
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
	struct sl_named nss;    /* struct sl_model_ns, by name */
	struct sl_named pods;   /* struct kpod, by namespace/name */
	struct sl_named pols;   /* struct pol, by namespace/name */
	struct sl_named groups; /* struct pol_group, by namespace name */
	struct sl_index pod_by_ip; /* kpods by address (any with ip.af set) */
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

/* The scope of the selector and pod indexes for selectors of any namespace (else a group
 * id). */
#define POL_SCOPE_ANY UINT32_MAX

/* sl_policy_store.c. */

/* Append id to the growable array *a (*n used, *cap allocated): 0 or -ENOMEM. */
int pol_ids_push(uint32_t **a, uint32_t *n, uint32_t *cap, uint32_t id);
/* Remove entry pos by moving the last one there; returns the moved id or UINT32_MAX. */
uint32_t pol_ids_remove(uint32_t *a, uint32_t *n, uint32_t pos);
/* The group of namespace name, or NULL. */
struct pol_group *pol_group_find(const struct sl_pol_store *st, const char *name);
/* The group of namespace name, created when missing (with its first member): NULL when
 * out of memory or at the limit. */
struct pol_group *pol_group_get(struct sl_pol_store *st, const char *name);
/* Free g when nothing is left in it (no pod, policy or Namespace object). */
void pol_group_gc(struct sl_pol_store *st, struct pol_group *g);
/* Free the arrays of a set (not the struct). */
void pol_set_free_arrays(struct sl_pol_set *s);
/* Tests: whether a pod change looks only at the policies the selector index names (the
 * default) or at all of them (off). The dirty sets must be the same. */
void sl_pol_index_enable(struct sl_model *m, bool on);
/* Tests: call fn for each policy marked dirty since the last assembly. */
void sl_pol_dirty_each(const struct sl_model *m, void (*fn)(void *ctx, const char *ns,
							      const char *name), void *ctx);

/* sl_policy_objects.c: one change (op of a policy kind, its spec set unless a delete) stored
 * with its undo record u; 0 or a negative errno with err set (then nothing is stored). */
int pol_obj_store(struct sl_pol_store *st, const struct sl_model *m, struct sl_k8s_op *op,
		  struct sl_named_undo *u, char *err, size_t errlen);
/* Undo a stored change (the later ones of the batch undone first): takes no new memory. */
void pol_obj_unstore(struct sl_pol_store *st, struct sl_named_undo *u);
/* Set up the store's tables (sl_named: kinds, keys, and how pods and policies are linked). */
void pol_obj_tables_init(struct sl_pol_store *st);
/* Commit a stored change: free the replaced spec, or the deleted object and its spec. */
void pol_obj_commit(struct sl_named_undo *u);

/* sl_policy_dirty.c. */

/* The labels a namespaceSelector sees for namespace g: its object's, or only
 * kubernetes.io/metadata.name when there is no object. tmp holds the latter. */
const struct sl_labels *pol_ns_labels(const struct pol_group *g, struct sl_labels *tmp,
				      struct sl_label *tmp_label);
/* Whether a cluster pod is selectable by address. */
bool pol_pod_addressed(const struct sl_kpod_spec *p);
/* Whether peer pe (of a policy in namespace ns) selects pod s of group g. */
bool pol_peer_selects(const struct sl_pol_store *st, const struct sl_np_peer *pe,
		      const char *ns, const struct pol_group *g, const struct sl_kpod_spec *s);
/* Whether rule r has a named port. */
bool pol_rule_named_port(const struct sl_np_rule *r);
/* Whether a policy's compiled part depends on pods of other namespaces (it then goes in
 * the global list). */
bool pol_spec_global(const struct sl_np_spec *s);
/* Mark p dirty (compiled again at the next sl_model_policy_set) and the set changed. */
void pol_mark(struct sl_pol_store *st, struct pol *p);
/* Mark the policies a pod change (old -> new, either NULL) of group g touches: with a new
 * address or ports, every policy selecting it before or after; else (labels only) those
 * whose selection of it changes. */
void pol_pod_changed(struct sl_pol_store *st, const struct pol_group *g,
		     const struct sl_kpod_spec *old, const struct sl_kpod_spec *new);
/* Mark the global policies whose namespaceSelectors match labels a or b (either NULL). */
void pol_ns_changed(struct sl_pol_store *st, const struct sl_labels *a,
		    const struct sl_labels *b);

/* sl_policy_index.c. */

/* The hash of (scope: a group id or POL_SCOPE_ANY, key (NULL: the ALWAYS entry), value
 * (NULL: any value)) in the selector and pod indexes. */
uint64_t pol_label_hash(uint32_t scope, const char *key, const char *value);
/* The bucket of hash h, or NULL. */
const struct pol_bucket *pol_bucket_find(const struct pol_bidx *ix, uint64_t h);
/* Add one entry of id under h: 0 or -ENOMEM. */
int pol_bucket_add(struct sl_pol_store *st, struct pol_bidx *ix, uint64_t h, uint32_t id);
/* Remove one entry of id under h (buckets stay, emptied: a key seen once is likely seen
 * again). */
void pol_bucket_del(struct pol_bidx *ix, uint64_t h, uint32_t id);
void pol_bidx_free(struct pol_bidx *ix);
/* Enter p (its group set) in the selector index: 0 or -ENOMEM (then nothing of it is
 * entered). */
int pol_index(struct sl_pol_store *st, const struct pol *p);
/* Remove p's entries from the selector index (its spec and group as when entered). */
void pol_unindex(struct sl_pol_store *st, const struct pol *p);

/* sl_policy_compile.c. */

/* Compile one policy's part. 0 or -ENOMEM (then its part is empty). */
int pol_compile(const struct sl_model *m, struct sl_pol_store *st, struct pol *p);
/* Free one policy's compiled part. */
void pol_part_free(struct pol *p);
