/* The NetworkPolicy reconciler: the model's compiled set (control/model/sl_policy.h,
 * sl_model_policy_set) -> the dataplane's classifier (dataplane/policy/pol_table.h).
 *
 * The model calls sl_policy_sync_changed (its notify hook) after every committed change that
 * can change the compiled set. Changes are coalesced: the first one arms a timer of
 * coalesce_ms, and the set is compiled and published once when it fires, with whatever
 * changed meanwhile; a publish is never started sooner after the last one than that one
 * took (so rebuilding takes at most half of the control thread, however fast changes come:
 * 1,000 pod changes per second become a few publishes). The conntrack table is created with
 * the first set that isolates a pod (sl_lbctl_tables_up): ip4-policy is stateful. A timer
 * drains the deny log (sl_pol_deny_log_drain). Control thread only. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/sl_loop.h"
#include "model/sl_model.h"

struct sl_policy_sync_conf {
	unsigned coalesce_ms;   /* [5] */
	bool deny_log;          /* log denied flows (rate-limited, control thread) */
	unsigned deny_log_rate; /* lines per second [10] */
};

/* What the reconciler did (`show stats`, the bench). */
struct sl_policy_sync_stats {
	uint64_t changes;       /* notifications */
	uint64_t publishes;     /* sets published */
	uint64_t failures;      /* compile or publish failures (the old classifier stays) */
	uint64_t generation;    /* of the last set published */
	uint64_t last_compile_ns, last_publish_ns; /* model compile; dataplane build + swap */
	uint64_t max_publish_ns;
	unsigned last_groups_built; /* rte_acl contexts the last publish built */
};

/* Set up the classifier (sl_pol_init) and register on m's notify hook; the first compile
 * runs on loop once sl_policy_sync_start is called. Returns 0 or -errno. Control thread. */
int sl_policy_sync_init(struct sl_model *m, const struct sl_policy_sync_conf *conf);
/* Start the timers on loop (and publish what changed before). Returns 0 or -errno. */
int sl_policy_sync_start(struct sl_loop *loop);
/* The model's notify hook (also callable by hand: a change happened). */
void sl_policy_sync_changed(void *ctx, uint64_t generation);
/* Compile and publish now if anything changed (tests, shutdown). Returns 0 or -errno. */
int sl_policy_sync_flush(void);
/* Counters. */
void sl_policy_sync_get_stats(struct sl_policy_sync_stats *ret);
/* Add "policy" (the reconciler's and the classifier's counters) to a `show stats` object o,
 * once a set was published. Control thread. */
struct cJSON;
void sl_policy_sync_show(struct cJSON *o);
/* Add the dataplane's counters to each row of `show policies` (rows with "namespace" and
 * "name"): "denied" (packets dropped where the policy isolates the pod; 0 until the model
 * gives sl_pol_dir_set.isolated_by) and "allowed_flows" (new flows one of its rules allowed),
 * from the published classifier. Returns rows. Control thread. */
struct cJSON *sl_policy_sync_add_counters(struct cJSON *rows);
/* Stop the timers (before the loop is destroyed); later changes are only noted. */
void sl_policy_sync_stop(void);
/* Free the classifier (after sl_policy_sync_stop; workers stopped; the model may be gone
 * already: it is not touched). */
void sl_policy_sync_fini(void);
