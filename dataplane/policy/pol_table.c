/* The NetworkPolicy classifier: build, publish, counters, deny log (see pol_table.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "pol_table.h"

struct sl_pol sl_pol;
unsigned sl_pol_build_groups = SL_POL_GROUPS;

/* The rte_acl fields of struct sl_pol_key: protocol (byte 0), pod (4-7), peer (8-11),
 * destination port (12-13, with pad2 filling the last 4-byte input group). */
enum { F_PROTO, F_POD, F_PEER, F_DPORT, F_PAD, F_COUNT };
RTE_ACL_RULE_DEF(pol_acl_rule, F_COUNT);

static const struct rte_acl_field_def pol_fields[F_COUNT] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = F_PROTO,
	  .input_index = 0, .offset = offsetof(struct sl_pol_key, proto) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_POD, .input_index = 1,
	  .offset = offsetof(struct sl_pol_key, pod) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_PEER, .input_index = 2,
	  .offset = offsetof(struct sl_pol_key, peer) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_DPORT,
	  .input_index = 3, .offset = offsetof(struct sl_pol_key, dport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_PAD, .input_index = 3,
	  .offset = offsetof(struct sl_pol_key, pad2) },
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sl_pol_init(const struct sl_pol_conf *conf)
{
	struct sl_pol_conf c = conf ? *conf : (struct sl_pol_conf){ 0 };
	memset(&sl_pol, 0, sizeof(sl_pol));
	sl_pol.log_rate = c.log_rate ? c.log_rate : 10;
	unsigned nw = sl_dp.n_workers ? sl_dp.n_workers : 1;
	for (unsigned w = 0; w < nw; w++) {
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "sl_pol_deny%u", w);
		sl_pol.deny_ring[w] = rte_ring_create_elem(name, sizeof(struct sl_pol_deny_rec), 256,
							   SOCKET_ID_ANY,
							   RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!sl_pol.deny_ring[w]) {
			sl_pol_fini();
			return rte_errno ? -rte_errno : -ENOMEM;
		}
	}
	atomic_store(&sl_pol.deny_log, c.deny_log);
	return 0;
}

void sl_pol_dp_free(struct sl_pol_dp *d)
{
	if (!d)
		return;
	for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++) {
		for (unsigned g = 0; g < SL_POL_GROUPS; g++) {
			if (d->acl_owned[dir][g])
				rte_acl_free(d->acl[dir][g]);
			free(d->grp_global[dir][g]);
			free(d->grp_rules[dir][g]);
		}
		free(d->rule_policy[dir]);
		free(d->rule_index[dir]);
		free(d->isolated[dir]);
		free(d->isolated_by[dir]);
	}
	for (unsigned w = 0; w < SL_MAX_WORKERS; w++)
		rte_free(d->counts[w]);
	free(d->iso_bits);
	free(d->names);
	free(d->base);
	free(d);
}

void sl_pol_fini(void)
{
	atomic_store(&sl_pol.active, false);
	sl_pol_dp_free(atomic_exchange(&sl_pol.cur, NULL));
	for (unsigned w = 0; w < SL_MAX_WORKERS; w++)
		rte_ring_free(sl_pol.deny_ring[w]);
	memset(&sl_pol, 0, sizeof(sl_pol));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* -EINVAL with the field named, for the first bad rule of set. */
static int pol_validate(const struct sl_pol_set *set)
{
	if (set->n_policies > SL_POL_DP_MAX_POLICIES) {
		RTE_LOG(ERR, USER1, "policy: n_policies: %u, more than %u\n", set->n_policies,
			SL_POL_DP_MAX_POLICIES);
		return -E2BIG;
	}
	for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++) {
		const struct sl_pol_dir_set *ds = &set->dir[dir];
		if (ds->n_rules > SL_POL_DP_MAX_RULES) {
			RTE_LOG(ERR, USER1, "policy: dir[%u].n_rules: %u, more than %u\n", dir,
				ds->n_rules, SL_POL_DP_MAX_RULES);
			return -E2BIG;
		}
		for (uint32_t i = 0; i < ds->n_rules; i++) {
			const struct sl_pol_rule *r = &ds->rules[i];
			const char *field = NULL;
			if (r->peer_len > 32)
				field = "peer_len";
			else if (r->peer_len < 32 && (r->peer_net & (UINT32_MAX >> r->peer_len)))
				field = "peer_net"; /* host bits set */
			else if (r->port_lo > r->port_hi)
				field = "port_lo";
			else if (r->policy >= set->n_policies)
				field = "policy";
			if (field) {
				RTE_LOG(ERR, USER1, "policy: dir[%u].rules[%u].%s: invalid\n", dir, i,
					field);
				return -EINVAL;
			}
		}
		for (uint32_t i = 0; ds->isolated_by && i < ds->n_isolated; i++)
			if (ds->isolated_by[i] >= set->n_policies && ds->isolated_by[i] != SL_POL_NONE) {
				RTE_LOG(ERR, USER1, "policy: dir[%u].isolated_by[%u]: invalid\n", dir, i);
				return -EINVAL;
			}
	}
	return 0;
}

static unsigned acl_seq;

/* The rte_acl context of one group's rules (ds: its rules only). */
static int acl_build(const struct sl_pol_dir_set *ds, unsigned dir, struct rte_acl_ctx **ret)
{
	char name[RTE_ACL_NAMESIZE];
	snprintf(name, sizeof(name), "slpol%u%c", acl_seq++, dir ? 'e' : 'i');
	struct rte_acl_param p = { .name = name, .socket_id = SOCKET_ID_ANY,
				   .rule_size = RTE_ACL_RULE_SZ(F_COUNT),
				   .max_rule_num = ds->n_rules };
	struct rte_acl_ctx *ctx = rte_acl_create(&p);
	if (!ctx)
		return rte_errno ? -rte_errno : -ENOMEM;
	enum { CHUNK = 4096 };
	struct pol_acl_rule *rules = malloc(CHUNK * sizeof(*rules));
	int rc = rules ? 0 : -ENOMEM;
	for (uint32_t off = 0; rc == 0 && off < ds->n_rules; off += CHUNK) {
		uint32_t n = RTE_MIN((uint32_t)CHUNK, ds->n_rules - off);
		for (uint32_t j = 0; j < n; j++) {
			const struct sl_pol_rule *r = &ds->rules[off + j];
			struct pol_acl_rule *a = &rules[j];
			uint32_t idx = off + j;
			memset(a, 0, sizeof(*a));
			a->data.category_mask = 1;
			/* The lowest rule index wins among several that match. */
			a->data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - idx);
			a->data.userdata = idx + 1;
			a->field[F_PROTO].value.u8 = r->proto;
			a->field[F_PROTO].mask_range.u8 = r->proto ? 0xff : 0;
			a->field[F_POD].value.u32 = r->pod_ip;
			a->field[F_POD].mask_range.u32 = 32;
			a->field[F_PEER].value.u32 = r->peer_net;
			a->field[F_PEER].mask_range.u32 = r->peer_len;
			a->field[F_DPORT].value.u16 = r->proto ? r->port_lo : 0;
			a->field[F_DPORT].mask_range.u16 = r->proto ? r->port_hi : 0xffff;
			a->field[F_PAD].value.u16 = 0;
			a->field[F_PAD].mask_range.u16 = 0xffff;
		}
		rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)rules, n);
	}
	free(rules);
	if (rc == 0) {
		struct rte_acl_config cfg = { .num_categories = 1, .num_fields = F_COUNT };
		memcpy(cfg.defs, pol_fields, sizeof(pol_fields));
		rc = rte_acl_build(ctx, &cfg);
	}
	if (rc < 0) {
		RTE_LOG(ERR, USER1, "policy: rte_acl build of %u %s rules: %s\n", ds->n_rules,
			dir ? "egress" : "ingress", strerror(-rc));
		rte_acl_free(ctx);
		return rc;
	}
	/* The rules were copied into the runtime tries: drop the rule table's contents. */
	rte_acl_reset_rules(ctx);
	*ret = ctx;
	return 0;
}

static size_t heap_bytes(void)
{
	struct rte_malloc_socket_stats s;
	size_t sum = 0;
	for (unsigned i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx((int)i), &s) == 0)
			sum += s.heap_allocsz_bytes;
	return sum;
}

/* Whether two rule lists build the same context (the fields rte_acl sees, in order). */
static bool same_rules(const struct sl_pol_rule *a, const struct sl_pol_rule *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].pod_ip != b[i].pod_ip || a[i].peer_net != b[i].peer_net ||
		    a[i].peer_len != b[i].peer_len || a[i].proto != b[i].proto ||
		    a[i].port_lo != b[i].port_lo || a[i].port_hi != b[i].port_hi)
			return false;
	return true;
}

/* Split direction dir's rules of set into d's groups and build (or take over from prev)
 * each group's context. */
static int groups_build(struct sl_pol_dp *d, const struct sl_pol_set *set, unsigned dir,
			const struct sl_pol_dp *prev)
{
	const struct sl_pol_dir_set *ds = &set->dir[dir];
	uint32_t cnt[SL_POL_GROUPS] = { 0 };
	for (uint32_t i = 0; i < ds->n_rules; i++)
		cnt[sl_pol_group(d, ds->rules[i].pod_ip)]++;
	for (unsigned g = 0; g < SL_POL_GROUPS; g++) {
		d->grp_global[dir][g] = malloc(RTE_MAX(cnt[g], 1u) * sizeof(uint32_t));
		d->grp_rules[dir][g] = malloc(RTE_MAX(cnt[g], 1u) * sizeof(struct sl_pol_rule));
		if (!d->grp_global[dir][g] || !d->grp_rules[dir][g])
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < ds->n_rules; i++) {
		unsigned g = sl_pol_group(d, ds->rules[i].pod_ip);
		d->grp_global[dir][g][d->grp_n[dir][g]] = i;
		d->grp_rules[dir][g][d->grp_n[dir][g]++] = ds->rules[i];
	}
	for (unsigned g = 0; g < SL_POL_GROUPS; g++) {
		uint32_t n = d->grp_n[dir][g];
		if (!n)
			continue;
		if (prev && prev->group_shift == d->group_shift && prev->acl[dir][g] &&
		    prev->grp_n[dir][g] == n &&
		    same_rules(prev->grp_rules[dir][g], d->grp_rules[dir][g], n)) {
			d->acl[dir][g] = prev->acl[dir][g]; /* owned once the build succeeds */
			continue;
		}
		struct sl_pol_dir_set gs = { .rules = d->grp_rules[dir][g], .n_rules = n };
		size_t before = heap_bytes();
		int rc = acl_build(&gs, dir, &d->acl[dir][g]);
		if (rc < 0)
			return rc;
		d->acl_owned[dir][g] = true;
		d->acl_bytes += heap_bytes() - before;
		d->groups_built++;
	}
	return 0;
}

struct sl_pol_dp *sl_pol_build(const struct sl_pol_set *set, struct sl_pol_dp *prev,
			       int *ret_err)
{
	uint64_t t0 = now_ns();
	int rc = pol_validate(set);
	struct sl_pol_dp *d = NULL;
	if (rc < 0)
		goto fail;
	rc = -ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto fail;
	d->generation = set->generation;
	unsigned groups = sl_pol_build_groups >= 1 && sl_pol_build_groups <= SL_POL_GROUPS &&
				  !(sl_pol_build_groups & (sl_pol_build_groups - 1))
			  ? sl_pol_build_groups : SL_POL_GROUPS;
	d->group_shift = (uint8_t)(32 - __builtin_ctz(groups));
	d->stamp = (uint32_t)set->generation ? (uint32_t)set->generation : 1;
	d->n_policies = set->n_policies;
	if (set->n_policies) {
		d->names = malloc(set->n_policies * sizeof(*d->names));
		if (!d->names)
			goto fail;
		memcpy(d->names, set->names, set->n_policies * sizeof(*d->names));
	}
	unsigned nw = sl_dp.n_workers ? sl_dp.n_workers : 1;
	for (unsigned w = 0; w < nw; w++) {
		d->counts[w] = rte_zmalloc("sl_pol_counts",
					   RTE_MAX(set->n_policies, 1u) * sizeof(struct sl_pol_count),
					   RTE_CACHE_LINE_SIZE);
		if (!d->counts[w])
			goto fail;
	}
	d->base = calloc(RTE_MAX(set->n_policies, 1u), sizeof(*d->base));
	if (!d->base)
		goto fail;
	/* Isolated pods: a bitmap over this node's pod CIDR (when it is /12 or longer), a
	 * sorted array for all. */
	uint32_t mask = rte_be_to_cpu_32(sl_dp.conf.pod_cidr_mask);
	unsigned plen = (unsigned)__builtin_popcount(mask);
	if (plen >= 12 && plen < 32) {
		d->cidr_bits = 32 - plen;
		d->cidr_net = rte_be_to_cpu_32(sl_dp.conf.pod_cidr) & mask;
		d->iso_bits = calloc(((2ull << d->cidr_bits) + 63) / 64, sizeof(uint64_t));
		if (!d->iso_bits)
			goto fail;
	}
	for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++) {
		const struct sl_pol_dir_set *ds = &set->dir[dir];
		uint32_t n = ds->n_isolated;
		d->isolated[dir] = malloc(RTE_MAX(n, 1u) * sizeof(uint32_t));
		d->isolated_by[dir] = malloc(RTE_MAX(n, 1u) * sizeof(uint32_t));
		d->rule_policy[dir] = malloc(RTE_MAX(ds->n_rules, 1u) * sizeof(uint32_t));
		d->rule_index[dir] = malloc(RTE_MAX(ds->n_rules, 1u) * sizeof(uint32_t));
		if (!d->isolated[dir] || !d->isolated_by[dir] || !d->rule_policy[dir] ||
		    !d->rule_index[dir])
			goto fail;
		/* Sorted with their policies (the contract says sorted; do not rely on it). */
		uint64_t *pairs = malloc(RTE_MAX(n, 1u) * sizeof(uint64_t));
		if (!pairs)
			goto fail;
		for (uint32_t i = 0; i < n; i++)
			pairs[i] = (uint64_t)ds->isolated[i] << 32 |
				   (ds->isolated_by ? ds->isolated_by[i] : SL_POL_NONE);
		qsort(pairs, n, sizeof(uint64_t), cmp_u64);
		uint32_t k = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t ip = (uint32_t)(pairs[i] >> 32);
			if (k && d->isolated[dir][k - 1] == ip)
				continue; /* the first (lowest) policy stays */
			d->isolated[dir][k] = ip;
			d->isolated_by[dir][k++] = (uint32_t)pairs[i];
			if (d->cidr_bits && (ip >> d->cidr_bits) == (d->cidr_net >> d->cidr_bits)) {
				uint64_t bit = (uint64_t)(ip & ((1u << d->cidr_bits) - 1)) * 2 + dir;
				d->iso_bits[bit >> 6] |= 1ull << (bit & 63);
			}
		}
		d->n_isolated[dir] = k;
		free(pairs);
		for (uint32_t i = 0; i < ds->n_rules; i++) {
			d->rule_policy[dir][i] = ds->rules[i].policy;
			d->rule_index[dir][i] = ds->rules[i].rule;
		}
		d->n_rules[dir] = ds->n_rules;
		rc = groups_build(d, set, dir, prev);
		if (rc < 0)
			goto fail;
	}
	/* Built: the contexts taken over from prev are ours now. */
	for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++)
		for (unsigned g = 0; g < SL_POL_GROUPS; g++)
			if (d->acl[dir][g] && !d->acl_owned[dir][g]) {
				d->acl_owned[dir][g] = true;
				prev->acl_owned[dir][g] = false;
			}
	d->build_ns = now_ns() - t0;
	return d;
fail:
	sl_pol_dp_free(d);
	*ret_err = rc;
	return NULL;
}

uint32_t sl_pol_isolated_by(const struct sl_pol_dp *d, uint32_t ip, enum sl_pol_dir dir)
{
	const uint32_t *a = d->isolated[dir];
	uint32_t lo = 0, hi = d->n_isolated[dir];
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (a[mid] == ip)
			return d->isolated_by[dir][mid];
		if (a[mid] < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SL_POL_NONE;
}

uint32_t sl_pol_match_linear(const struct sl_pol_set *set, enum sl_pol_dir dir,
			     const struct sl_pol_key *key)
{
	const struct sl_pol_dir_set *ds = &set->dir[dir];
	uint32_t pod = rte_be_to_cpu_32(key->pod), peer = rte_be_to_cpu_32(key->peer);
	uint16_t port = rte_be_to_cpu_16(key->dport);
	for (uint32_t i = 0; i < ds->n_rules; i++) {
		const struct sl_pol_rule *r = &ds->rules[i];
		uint32_t m = r->peer_len ? UINT32_MAX << (32 - r->peer_len) : 0;
		if (r->pod_ip != pod || (peer & m) != r->peer_net)
			continue;
		if (r->proto && (r->proto != key->proto || port < r->port_lo || port > r->port_hi))
			continue;
		return i + 1;
	}
	return 0;
}

/* A name's slot in an open-addressing table of n_slots (a power of two) over names. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Add what old counted (its workers and its base) to cur's base, policy by policy name. */
static void counts_fold(const struct sl_pol_dp *old, struct sl_pol_dp *cur)
{
	if (!old->n_policies || !cur || !cur->n_policies)
		return;
	uint32_t n_slots = 1;
	while (n_slots < cur->n_policies * 2)
		n_slots <<= 1;
	uint32_t *slot = malloc(n_slots * sizeof(uint32_t));
	if (!slot)
		return;
	memset(slot, 0xff, n_slots * sizeof(uint32_t));
	for (uint32_t i = 0; i < cur->n_policies; i++) {
		if (!cur->names[i][0])
			continue; /* an unused index (the model's ids) */
		uint32_t h = name_hash(cur->names[i]) & (n_slots - 1);
		while (slot[h] != UINT32_MAX)
			h = (h + 1) & (n_slots - 1);
		slot[h] = i;
	}
	for (uint32_t i = 0; i < old->n_policies; i++) {
		if (!old->names[i][0])
			continue;
		uint32_t h = name_hash(old->names[i]) & (n_slots - 1);
		while (slot[h] != UINT32_MAX && strcmp(cur->names[slot[h]], old->names[i]) != 0)
			h = (h + 1) & (n_slots - 1);
		if (slot[h] == UINT32_MAX)
			continue; /* the policy is gone: so are its counts */
		struct sl_pol_totals *t = &cur->base[slot[h]];
		t->denied += old->base[i].denied;
		t->allowed += old->base[i].allowed;
		for (unsigned w = 0; w < SL_MAX_WORKERS; w++) {
			if (!old->counts[w])
				continue;
			t->denied += old->counts[w][i].denied;
			t->allowed += old->counts[w][i].allowed;
		}
	}
	free(slot);
}

/* Deferred: old's grace period has passed; its counts go to the newest object. */
static void dp_retire(void *arg)
{
	struct sl_pol_dp *old = arg;
	counts_fold(old, atomic_load_explicit(&sl_pol.cur, memory_order_relaxed));
	sl_pol_dp_free(old);
}

int sl_pol_publish(const struct sl_pol_set *set)
{
	int rc = 0;
	struct sl_pol_dp *cur = atomic_load_explicit(&sl_pol.cur, memory_order_relaxed);
	struct sl_pol_dp *d = sl_pol_build(set, cur, &rc);
	if (!d)
		return rc;
	sl_pol.publishes++;
	sl_pol.last_build_ns = d->build_ns;
	sl_pol.last_acl_bytes = d->acl_bytes;
	bool any = d->n_isolated[SL_POL_INGRESS] || d->n_isolated[SL_POL_EGRESS];
	struct sl_pol_dp *old = atomic_exchange_explicit(&sl_pol.cur, d, memory_order_acq_rel);
	/* On the path while some pod is isolated (a node without policies pays nothing). A
	 * worker that still sees the old flag for a burst reads the new object or NULL. */
	atomic_store_explicit(&sl_pol.active, any, memory_order_release);
	if (old)
		sl_dp_defer(dp_retire, old);
	return 0;
}

int sl_pol_counters(struct sl_pol_totals **ret)
{
	const struct sl_pol_dp *d = atomic_load_explicit(&sl_pol.cur, memory_order_acquire);
	uint32_t n = d ? d->n_policies : 0;
	struct sl_pol_totals *t = calloc(RTE_MAX(n, 1u), sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		t[i] = d->base[i];
		for (unsigned w = 0; w < SL_MAX_WORKERS; w++) {
			if (!d->counts[w])
				continue;
			t[i].denied += d->counts[w][i].denied;
			t[i].allowed += d->counts[w][i].allowed;
		}
	}
	*ret = t;
	return (int)n;
}

void sl_pol_deny_log_set(bool on)
{
	atomic_store_explicit(&sl_pol.deny_log, on, memory_order_relaxed);
}

unsigned sl_pol_deny_log_drain(uint64_t now)
{
	unsigned taken = 0;
	/* Token bucket: log_rate lines per second, a burst of one second's worth. */
	if (sl_pol.log_tokens_ts_ns) {
		double add = (double)(now - sl_pol.log_tokens_ts_ns) * 1e-9 * sl_pol.log_rate;
		sl_pol.log_tokens = RTE_MIN(sl_pol.log_tokens + add, (double)sl_pol.log_rate);
	} else {
		sl_pol.log_tokens = sl_pol.log_rate;
	}
	sl_pol.log_tokens_ts_ns = now;
	const struct sl_pol_dp *d = atomic_load_explicit(&sl_pol.cur, memory_order_acquire);
	for (unsigned w = 0; w < SL_MAX_WORKERS; w++) {
		struct sl_pol_deny_rec r;
		while (sl_pol.deny_ring[w] &&
		       rte_ring_sc_dequeue_elem(sl_pol.deny_ring[w], &r, sizeof(r)) == 0) {
			taken++;
			if (sl_pol.log_tokens < 1) {
				sl_pol.log_suppressed++;
				continue;
			}
			sl_pol.log_tokens -= 1;
			sl_pol.logged++;
			uint32_t s = rte_be_to_cpu_32(r.src), t = rte_be_to_cpu_32(r.dst);
			/* The index names a policy of the set the flow was denied under; the
			 * name is right unless the set changed since (then it says so). */
			const char *name = d && r.policy < d->n_policies ? d->names[r.policy]
									 : "(default deny)";
			RTE_LOG(NOTICE, USER1,
				"policy: denied %s %u.%u.%u.%u -> %u.%u.%u.%u:%u proto %u (%s)\n",
				r.dir == SL_POL_INGRESS ? "ingress" : "egress", s >> 24,
				(s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff, t >> 24,
				(t >> 16) & 0xff, (t >> 8) & 0xff, t & 0xff,
				rte_be_to_cpu_16(r.dport), r.proto, name);
		}
	}
	return taken;
}
