/* The NetworkPolicy classifier: what ip4-policy reads, built from the model's compiled set
 * (control/model/sl_policy_set.h) off the fast path and published by RCU.
 *
 * One published object (struct sl_pol_dp) holds, per direction, SL_POL_GROUPS rte_acl
 * contexts, a rule going to the group of its local pod (a hash of the pod address); fields:
 * protocol, the local pod, the peer prefix, the destination port range. Groups, not one
 * context per direction, by measurement (perf/policy-bench, docs/policy-dataplane.md): the
 * same build time and memory in all, and a republish rebuilds only the groups whose rules
 * changed (a group's context is handed over to the new object when its rules are the same),
 * a tenth of a full build or less; classifying costs about twice as much, but only a flow's
 * first packet is classified. Besides: the set of local pods isolated in each direction (a
 * bitmap over this node's pod CIDR, binary search for the rest), the rule -> policy map and
 * the policy names. A rule's userdata is its index in its group + 1; its priority falls with
 * that index, so when several rules allow a packet the first one of the set (lowest policy,
 * then rule, index) is reported.
 *
 * RCU rules: an object is immutable once published except its counters (below). The control
 * thread is the only writer: sl_pol_publish builds a whole new object and swaps the pointer
 * (release store); the old one is freed through sl_dp_defer() after a grace period, once its
 * counters were added to the newest object's (by policy name). Workers load the pointer once
 * per burst and may use the object until their next quiescent state.
 *
 * Counters: per worker and per policy of the object (denied, new flows allowed), written by
 * that worker only (no atomics, one worker's counters never share a line with another's);
 * summed by the control thread (sl_pol_counters). */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>

#include <rte_acl.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "control/model/sl_policy_set.h"
#include "dataplane/core/sl_dp.h"

/* Rules one direction may hold (rte_acl's rule table is sized from it). */
#define SL_POL_DP_MAX_RULES (1u << 20)
/* Policies one set may name. */
#define SL_POL_DP_MAX_POLICIES (1u << 18)
/* rte_acl contexts per direction (a power of two, at most 64): 64 by measurement (docs/
 * policy-dataplane.md). */
#define SL_POL_GROUPS 64
/* No policy: deny counters of pods isolated by a policy the set does not name
 * (sl_pol_dir_set.isolated_by absent). */
#define SL_POL_NONE UINT32_MAX

/* What rte_acl classifies: one direction's view of a packet, built by ip4-policy. Network
 * order (rte_acl reads its input most significant byte first). */
struct sl_pol_key {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t pod;    /* the local pod: ingress the destination, egress the source */
	uint32_t peer;   /* the other end */
	uint16_t dport;  /* the destination port; 0 when the protocol has none */
	uint16_t pad2;
};

/* Counters of one policy on one worker. */
struct sl_pol_count {
	uint64_t denied;     /* packets denied where this policy isolated the pod */
	uint64_t allowed;    /* new flows (or packets, for protocols without conntrack) allowed
			      * by one of its rules */
};

/* One policy's totals (sl_pol_counters). */
struct sl_pol_totals {
	uint64_t denied, allowed;
};

struct sl_pol_dp {
	/* Immutable once published. */
	uint64_t generation;       /* the set's */
	uint32_t stamp;            /* the generation as conntrack stores it (never 0) */
	struct rte_acl_ctx *acl[SL_POL_NDIRS][SL_POL_GROUPS]; /* NULL: no rule in the group */
	uint32_t *grp_global[SL_POL_NDIRS][SL_POL_GROUPS];  /* group rule -> set rule index */
	uint32_t grp_n[SL_POL_NDIRS][SL_POL_GROUPS];
	uint8_t group_shift;       /* sl_pol_group: 32 - log2(groups) */
	uint32_t n_rules[SL_POL_NDIRS];
	uint32_t *rule_policy[SL_POL_NDIRS];     /* per rule: policy index */
	uint32_t *rule_index[SL_POL_NDIRS];      /* per rule: its index within the policy */
	uint32_t *isolated[SL_POL_NDIRS];        /* sorted pod IPs, host order */
	uint32_t *isolated_by[SL_POL_NDIRS];     /* per isolated pod: its first policy, or
						  * SL_POL_NONE */
	uint32_t n_isolated[SL_POL_NDIRS];
	uint64_t *iso_bits;        /* 2 bits per address of the pod CIDR: bit 2i+dir */
	uint32_t cidr_net, cidr_bits; /* host order; cidr_bits = 32 - prefix length, 0: none */
	uint32_t n_policies;
	char (*names)[SL_POL_NAME_MAX + 1];
	/* Mutable: counters, [worker][policy], written by that worker. */
	struct sl_pol_count *counts[SL_MAX_WORKERS];
	/* Control only. */
	struct sl_pol_rule *grp_rules[SL_POL_NDIRS][SL_POL_GROUPS]; /* what each context was
						  * built from (to reuse it when unchanged) */
	bool acl_owned[SL_POL_NDIRS][SL_POL_GROUPS]; /* false once handed to a newer object */
	unsigned groups_built;     /* contexts built (not taken over from the last object) */
	size_t acl_bytes;          /* rte_acl_ctx memory of the contexts it built */
	uint64_t build_ns;         /* time sl_pol_publish took to build it */
	struct sl_pol_totals *base; /* counts folded in from objects it replaced */
};

/* A denied flow, for the deny log (sl_pol_conf.deny_log): what a worker hands the control
 * thread. 16 bytes. */
struct sl_pol_deny_rec {
	uint32_t src, dst;         /* network order, the flow's originator direction */
	uint16_t dport;            /* network order */
	uint8_t proto;
	uint8_t dir;               /* enum sl_pol_dir that denied */
	uint32_t policy;           /* isolating policy (index in the set it was denied under) */
};

struct sl_pol {
	struct sl_pol_dp *_Atomic cur;  /* NULL: no policy; ip4-policy is off the path */
	/* Read by ip4-input, vxlan-decap, ip4-lb per burst: send packets through ip4-policy. */
	_Atomic bool active;
	/* Deny log: workers enqueue (single producer each), the control thread drains at a
	 * limited rate. NULL entries: off. */
	struct rte_ring *deny_ring[SL_MAX_WORKERS];
	_Atomic bool deny_log;          /* on/off (config switch) */
	unsigned log_rate;              /* lines per second, control */
	uint64_t log_tokens_ts_ns;      /* control */
	double log_tokens;              /* control */
	_Atomic uint64_t deny_ring_full;/* workers: records lost, ring full */
	uint64_t log_suppressed;        /* control: records not logged, rate limit */
	uint64_t logged;                /* control */
	/* Control only: what publishing cost (`show stats`, the bench). */
	uint64_t publishes;
	uint64_t last_build_ns;
	size_t last_acl_bytes;
};

extern struct sl_pol sl_pol;

/* Whether packets must go through ip4-policy (some policy isolates some pod). Worker. */
static inline bool sl_pol_active(void)
{
	return atomic_load_explicit(&sl_pol.active, memory_order_relaxed);
}

/* Whether pod ip (host order) is isolated in direction dir under d. Worker or control. */
static inline bool sl_pol_isolated(const struct sl_pol_dp *d, uint32_t ip, enum sl_pol_dir dir)
{
	if (d->cidr_bits && (ip >> d->cidr_bits) == (d->cidr_net >> d->cidr_bits)) {
		uint32_t off = ip & ((1u << d->cidr_bits) - 1);
		uint64_t bit = (uint64_t)off * 2 + dir;
		return d->iso_bits[bit >> 6] >> (bit & 63) & 1;
	}
	const uint32_t *a = d->isolated[dir];
	uint32_t lo = 0, hi = d->n_isolated[dir];
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (a[mid] == ip)
			return true;
		if (a[mid] < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The isolating policy of pod ip (host order, isolated in dir): the first policy selecting
 * it, or SL_POL_NONE. Worker or control. */
uint32_t sl_pol_isolated_by(const struct sl_pol_dp *d, uint32_t ip, enum sl_pol_dir dir);

/* This worker's counter row of d. Worker. */
static inline struct sl_pol_count *sl_pol_counts_here(const struct sl_pol_dp *d)
{
	int w = sl_dp.worker_of_lcore[rte_lcore_id()];
	return d->counts[w > 0 ? w : 0];
}

/* Groups the next build uses (1 or SL_POL_GROUPS; a power of two): the bench compares.
 * Control thread. */
extern unsigned sl_pol_build_groups;

/* Configuration; zero picks the defaults. */
struct sl_pol_conf {
	bool deny_log;        /* log denied flows from the control thread */
	unsigned log_rate;    /* at most this many lines per second [10] */
};

/* Set up (after sl_dp_init, and sl_lb_init for conntrack). Returns 0 or -errno. Control. */
int sl_pol_init(const struct sl_pol_conf *conf);
/* Free everything (workers stopped, after sl_dp_drain). Control. */
void sl_pol_fini(void);

/* Build the classifier of set (validated: -EINVAL naming the field, e.g.
 * "dir[0].rules[3].peer_len", logged) and publish it; the old one is freed after a grace
 * period. A set without isolated pods takes ip4-policy off the path. Flows allowed under an
 * older generation are checked again on their next packet when set->generation changed.
 * Returns 0 or -errno (-E2BIG: too many rules or policies; -ENOMEM; rte_acl's build
 * errors); on error the old classifier stays. Control thread. */
int sl_pol_publish(const struct sl_pol_set *set);

/* Build the classifier of set without publishing it (the bench; sl_pol_publish). With prev
 * (may be NULL), a group whose rules are the same as in prev takes prev's context over
 * instead of building it (prev stops owning it: free prev only after the result). NULL with
 * *ret_err on error (prev untouched). Control thread. */
struct sl_pol_dp *sl_pol_build(const struct sl_pol_set *set, struct sl_pol_dp *prev,
			       int *ret_err);
/* Free an object that was never published. Control thread. */
void sl_pol_dp_free(struct sl_pol_dp *d);

/* The group of local pod ip (host order) in d. Worker or control. */
static inline unsigned sl_pol_group(const struct sl_pol_dp *d, uint32_t ip)
{
	return (unsigned)((uint64_t)(uint32_t)(ip * 2654435761u) >> d->group_shift);
}

/* sl_pol_classify for n <= 64 keys. */
static inline void sl_pol_classify64(const struct sl_pol_dp *d, enum sl_pol_dir dir,
				     const struct sl_pol_key *const *keys, uint32_t *ret_rule,
				     uint32_t n)
{
	const struct sl_pol_key *kp[64];
	uint8_t grp[64], at[64];
	uint32_t res[64], cnt[SL_POL_GROUPS + 1];
	uint64_t present = 0;
	if (n == 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		grp[i] = (uint8_t)sl_pol_group(d, rte_be_to_cpu_32(keys[i]->pod));
		ret_rule[i] = 0;
		present |= 1ull << grp[i];
	}
	if (!(present & (present - 1))) { /* one group: no sorting */
		unsigned g = grp[0];
		if (d->acl[dir][g]) {
			rte_acl_classify(d->acl[dir][g], (const uint8_t **)keys, res, n, 1);
			for (uint32_t i = 0; i < n; i++)
				ret_rule[i] = res[i] ? d->grp_global[dir][g][res[i] - 1] + 1 : 0;
		}
		return;
	}
	/* Counting sort by group: cnt[g] = where group g starts. */
	memset(cnt, 0, sizeof(cnt));
	for (uint32_t i = 0; i < n; i++)
		cnt[grp[i] + 1]++;
	for (unsigned g = 0; g < SL_POL_GROUPS; g++)
		cnt[g + 1] += cnt[g];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = cnt[grp[i]]++;
		kp[k] = keys[i];
		at[k] = (uint8_t)i;
	}
	uint32_t start = 0;
	while (present) {
		unsigned g = (unsigned)__builtin_ctzll(present);
		present &= present - 1;
		uint32_t end = cnt[g]; /* moved to the end of group g by the scatter */
		if (d->acl[dir][g]) {
			rte_acl_classify(d->acl[dir][g], (const uint8_t **)&kp[start], &res[start],
					 end - start, 1);
			for (uint32_t j = start; j < end; j++)
				ret_rule[at[j]] = res[j] ? d->grp_global[dir][g][res[j] - 1] + 1 : 0;
		}
		start = end;
	}
}

/* Classify n keys of direction dir under d, 64 at a time, one rte_acl call per group present
 * (the keys sorted by group first): ret_rule[i] = index + 1 of the set's rule that allows
 * keys[i], 0 when none does. Worker or control. */
static inline void sl_pol_classify(const struct sl_pol_dp *d, enum sl_pol_dir dir,
				   const struct sl_pol_key *const *keys, uint32_t *ret_rule,
				   uint32_t n)
{
	for (uint32_t off = 0; off < n; off += 64)
		sl_pol_classify64(d, dir, keys + off, ret_rule + off, RTE_MIN(n - off, 64u));
}

/* The first rule of set (lowest index) allowing key in dir, + 1, or 0: the plain reference
 * evaluator the unit tests hold the classifier to. Any thread. */
uint32_t sl_pol_match_linear(const struct sl_pol_set *set, enum sl_pol_dir dir,
			     const struct sl_pol_key *key);

/* Totals per policy of the published object (n = its n_policies, in its order): the
 * workers' counts plus what was folded in from replaced objects. Returns n, or -ENOMEM.
 * *ret is malloc'd (the caller frees). Control thread. */
int sl_pol_counters(struct sl_pol_totals **ret);

/* Log up to the rate limit the denied flows workers queued (sl_pol_conf.deny_log); call it
 * from a control timer. Returns the records taken. Control thread. */
unsigned sl_pol_deny_log_drain(uint64_t now_ns);
/* Turn the deny log on or off. Control thread. */
void sl_pol_deny_log_set(bool on);
