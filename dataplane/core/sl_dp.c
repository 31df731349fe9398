/* Dataplane tables: set-up and the control-thread writers (see sl_dp.h for RCU rules). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "sl_dp.h"
#include "drivers/sl_mbuf_pool.h"

struct sl_dp sl_dp;

static const char *const drop_names[SL_DROP_COUNT] = {
#define _(sym, str) [SL_DROP_##sym] = str,
	SL_FOREACH_DROP(_)
#undef _
};

const char *sl_drop_name(enum sl_drop_reason r)
{
	return r < SL_DROP_COUNT ? drop_names[r] : "?";
}

/* rte_lpm's own bounds: next hops are 24 bits, tbl8 groups at most 2^24. */
#define FIB_MAX_NH (1u << 24)

/* What sl_dp_init sizes the tables for (sl_dp_set_limits). */
static struct sl_dp_limits limits;

int sl_dp_set_limits(const struct sl_dp_limits *l)
{
	if (l->nh < 2 || l->nh > FIB_MAX_NH || l->neigh < 2 || l->neigh > FIB_MAX_NH ||
	    !l->fib_rules || l->fib_rules > FIB_MAX_NH || !l->fib_tbl8 || l->fib_tbl8 > FIB_MAX_NH)
		return -EINVAL;
	limits = *l;
	return 0;
}

/* The FIB: one DIR-24-8 table (rte_lpm) changed in place; the tbl8 groups a delete frees are
 * recycled through rte_lpm's own RCU defer queue, so a reader never sees a group reused. */
static struct rte_lpm *fib_create(void)
{
	struct rte_lpm_config conf = { .max_rules = limits.fib_rules,
				       .number_tbl8s = limits.fib_tbl8 };
	struct rte_lpm *lpm = rte_lpm_create("sl_fib", SOCKET_ID_ANY, &conf);
	struct rte_lpm_rcu_config rcu = { .v = sl_dp.qsbr, .mode = RTE_LPM_QSBR_MODE_DQ };
	if (lpm && rte_lpm_rcu_qsbr_add(lpm, &rcu) != 0) {
		rte_lpm_free(lpm);
		return NULL;
	}
	return lpm;
}

#define DEFER_Q_SIZE 4096
#define DEFER_Q_RECLAIM_AT 32 /* frees of past grace periods are tried from this many on */

struct deferred {
	void (*fn)(void *arg);
	void *arg;
};

/* rte_rcu_qsbr_dq's free callback: e holds n struct deferred. */
static void defer_q_free(void *unused, void *e, unsigned n)
{
	struct deferred *d = e;
	for (unsigned i = 0; i < n; i++)
		d[i].fn(d[i].arg);
	sl_dp.deferred_pending -= n;
}

struct rte_hash *sl_dp_hash_create(const char *name, uint32_t entries, uint32_t key_len,
				   bool multi_writer)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries,
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      (multi_writer ? RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD : 0),
	};
	struct rte_hash *h = rte_hash_create(&hp);
	if (!h)
		return NULL;
	/* A deleted key's slot is reused only after a grace period (deferred by rte_hash). */
	struct rte_hash_rcu_config rcu = { .v = sl_dp.qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };
	if (sl_dp.qsbr && rte_hash_rcu_qsbr_add(h, &rcu) != 0) {
		int e = rte_errno;
		rte_hash_free(h);
		rte_errno = e;
		return NULL;
	}
	return h;
}

/* The next-hop and neighbour arrays and their free-slot stacks, for limits. Slots are
 * handed out lowest first while none was given back. */
static int tables_create(void)
{
	sl_dp.nh_max = limits.nh;
	sl_dp.neigh_max = limits.neigh;
	sl_dp.nh = rte_zmalloc("sl_nh", sizeof(*sl_dp.nh) * limits.nh, RTE_CACHE_LINE_SIZE);
	sl_dp.neigh = rte_zmalloc("sl_neigh", sizeof(*sl_dp.neigh) * limits.neigh,
				  RTE_CACHE_LINE_SIZE);
	sl_dp.nh_used = calloc(limits.nh, sizeof(*sl_dp.nh_used));
	sl_dp.nh_free = malloc(sizeof(*sl_dp.nh_free) * limits.nh);
	sl_dp.neigh_free = malloc(sizeof(*sl_dp.neigh_free) * limits.neigh);
	if (!sl_dp.nh || !sl_dp.neigh || !sl_dp.nh_used || !sl_dp.nh_free || !sl_dp.neigh_free)
		return -ENOMEM;
	sl_dp.nh_n_free = sl_dp.neigh_n_free = 0;
	for (uint32_t i = limits.nh - 1; i >= 1; i--) /* slot 0 is "no route", never handed out */
		sl_dp.nh_free[sl_dp.nh_n_free++] = i;
	for (uint32_t i = limits.neigh; i-- > 0;)
		sl_dp.neigh_free[sl_dp.neigh_n_free++] = i;
	sl_dp.nh_in_use = sl_dp.neigh_in_use = 0;
	sl_dp.nh_refused = sl_dp.neigh_refused = 0;
	return 0;
}

static void tables_free(void)
{
	rte_free(sl_dp.nh);
	rte_free(sl_dp.neigh);
	free(sl_dp.nh_used);
	free(sl_dp.nh_free);
	free(sl_dp.neigh_free);
	sl_dp.nh = NULL;
	sl_dp.neigh = NULL;
	sl_dp.nh_used = NULL;
	sl_dp.nh_free = sl_dp.neigh_free = NULL;
	sl_dp.nh_max = sl_dp.neigh_max = sl_dp.neigh_hwm = 0;
	sl_dp.nh_n_free = sl_dp.neigh_n_free = 0;
}

int sl_dp_init(unsigned n_workers, unsigned pool_size)
{
	if (n_workers == 0 || n_workers > SL_MAX_WORKERS)
		return -EINVAL;
	if (!limits.nh)
		limits = sl_dp_limits_for(SL_DP_DEFAULT_NODES, SL_DP_DEFAULT_PODS,
					  SL_DP_DEFAULT_ROUTES);
	if (tables_create() < 0)
		return -ENOMEM;
	sl_dp.n_workers = n_workers;
	memset(sl_dp.worker_of_lcore, -1, sizeof(sl_dp.worker_of_lcore));

	/* Laid out so that net_af_xdp's zero-copy UMEM covers every mbuf (sl_mbuf_pool.h). */
	sl_dp.pool = sl_mbuf_pool_create("sl_pool", pool_size, 256, SL_MBUF_PRIV_SIZE);
	if (!sl_dp.pool)
		return -rte_errno;

	size_t sz = rte_rcu_qsbr_get_memsize(n_workers);
	sl_dp.qsbr = rte_zmalloc("sl_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (!sl_dp.qsbr || rte_rcu_qsbr_init(sl_dp.qsbr, n_workers) < 0)
		return -ENOMEM;

	struct rte_rcu_qsbr_dq_parameters dq = {
		.name = "sl_defer",
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE, /* the control thread only */
		.size = DEFER_Q_SIZE,
		.esize = sizeof(struct deferred),
		.trigger_reclaim_limit = DEFER_Q_RECLAIM_AT,
		.max_reclaim_size = DEFER_Q_SIZE,
		.free_fn = defer_q_free,
		.v = sl_dp.qsbr,
	};
	sl_dp.defer_q = rte_rcu_qsbr_dq_create(&dq);
	if (!sl_dp.defer_q)
		return -rte_errno ? -rte_errno : -ENOMEM;

	sl_dp.fib = fib_create();
	if (!sl_dp.fib)
		return -rte_errno ? -rte_errno : -ENOMEM;

	sl_dp.neigh_hash = sl_dp_hash_create("sl_neigh", sl_dp.neigh_max * 2, sizeof(uint32_t),
					     false);
	if (!sl_dp.neigh_hash)
		return -rte_errno ? -rte_errno : -ENOMEM;

	sl_dp.ctrl_tx = rte_ring_create("sl_ctrl_tx", 256, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (!sl_dp.ctrl_tx)
		return -rte_errno ? -rte_errno : -ENOMEM;

	/* Fixed next hops: 0 = no route. */
	sl_dp.nh[0].type = SL_NH_UNREACH_NET;
	sl_dp.nh[0].mtu = UINT16_MAX;
	for (unsigned i = 0; i < n_workers; i++) {
		sl_dp.workers[i].id = i;
		sl_dp.workers[i].icmp_tokens = 10;
		sl_dp.workers[i].icmp_fn_tokens = 10;
		sl_dp.workers[i].tap_epfd = epoll_create1(EPOLL_CLOEXEC);
		if (sl_dp.workers[i].tap_epfd < 0)
			return -errno;
	}
	return 0;
}

void sl_dp_fini(void)
{
	for (unsigned i = 0; i < SL_MAX_WORKERS; i++) {
		if (sl_dp.workers[i].tap_epfd > 0)
			close(sl_dp.workers[i].tap_epfd), sl_dp.workers[i].tap_epfd = -1;
		sl_tap_spare_free(&sl_dp.workers[i].tap_spare);
	}
	struct rte_mbuf *m;
	while (sl_dp.ctrl_tx && rte_ring_dequeue(sl_dp.ctrl_tx, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(sl_dp.ctrl_tx);
	sl_dp.ctrl_tx = NULL;
	/* Workers have stopped (and left the QSBR), so every deferred free is due. */
	if (sl_dp.defer_q && rte_rcu_qsbr_dq_delete(sl_dp.defer_q) != 0)
		RTE_LOG(WARNING, USER1, "rcu defer queue: not every deferred free was done\n");
	sl_dp.defer_q = NULL;
	rte_hash_free(sl_dp.neigh_hash);
	rte_lpm_free(sl_dp.fib);
	rte_free(sl_dp.qsbr);
	rte_mempool_free(sl_dp.pool);
	sl_dp.neigh_hash = NULL;
	sl_dp.fib = NULL;
	sl_dp.fib_default = 0;
	sl_dp.deferred_pending = 0;
	tables_free();
	sl_dp.qsbr = NULL;
	sl_dp.pool = NULL;
}

void sl_dp_sync(void)
{
	if (!sl_dp.qsbr)
		return;
	uint64_t t0 = rte_rdtsc();
	rte_rcu_qsbr_synchronize(sl_dp.qsbr, RTE_QSBR_THRID_INVALID);
	sl_dp.grace_wait_cycles += rte_rdtsc() - t0;
	sl_dp.grace_periods++;
}

void sl_dp_defer(void (*fn)(void *arg), void *arg)
{
	struct deferred d = { fn, arg };
	if (!sl_dp.defer_q || rte_rcu_qsbr_dq_enqueue(sl_dp.defer_q, &d) != 0) {
		sl_dp_sync(); /* queue full (or none yet): the slow, safe way */
		fn(arg);
		return;
	}
	sl_dp.deferred_pending++;
}

static void free_cb(void *p)
{
	rte_free(p);
}

void sl_dp_defer_free(void *p)
{
	if (p)
		sl_dp_defer(free_cb, p);
}

unsigned sl_dp_reclaim(void)
{
	unsigned freed = 0, pending = 0, avail;
	if (sl_dp.defer_q && sl_dp.deferred_pending)
		rte_rcu_qsbr_dq_reclaim(sl_dp.defer_q, DEFER_Q_SIZE, &freed, &pending, &avail);
	return sl_dp.deferred_pending;
}

void sl_dp_drain(void)
{
	if (!sl_dp.deferred_pending)
		return;
	sl_dp_sync();
	sl_dp_reclaim();
}

int sl_fib_set(uint32_t prefix, uint8_t depth, int64_t nh)
{
	if (depth == 0) {
		atomic_store_explicit(&sl_dp.fib_default, nh < 0 ? 0 : (uint32_t)nh,
				      memory_order_release);
		return 0;
	}
	if (nh < 0) {
		int rc = rte_lpm_delete(sl_dp.fib, prefix, depth);
		return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
	}
	return rte_lpm_add(sl_dp.fib, prefix, depth, (uint32_t)nh);
}

/* A table is full: what waits for a grace period may free a slot (a delete just before an
 * add, at the limit), so wait for one grace period once. Returns whether slots came back. */
static bool reclaim_full(uint32_t *n_free)
{
	if (!sl_dp.deferred_pending)
		return false;
	sl_dp_drain();
	return *n_free > 0;
}

int sl_nh_alloc(const struct sl_nh *nh)
{
	if (!sl_dp.nh_n_free && !reclaim_full(&sl_dp.nh_n_free)) {
		sl_dp.nh_refused++;
		return -ENOSPC;
	}
	uint32_t i = sl_dp.nh_free[--sl_dp.nh_n_free];
	sl_dp.nh_used[i] = SL_NH_SLOT_USED;
	sl_dp.nh_in_use++;
	sl_dp.nh[i] = *nh;
	if (sl_dp.nh[i].mtu == 0)
		sl_dp.nh[i].mtu = UINT16_MAX;
	return (int)i;
}

static void nh_release(void *arg)
{
	uint32_t idx = (uint32_t)(uintptr_t)arg;
	memset(&sl_dp.nh[idx], 0, sizeof(sl_dp.nh[idx]));
	sl_dp.nh_used[idx] = SL_NH_SLOT_FREE;
	sl_dp.nh_in_use--;
	sl_dp.nh_free[sl_dp.nh_n_free++] = idx;
}

void sl_nh_free(uint32_t idx)
{
	if (idx > 0 && idx < sl_dp.nh_max && sl_dp.nh_used[idx] == SL_NH_SLOT_USED) {
		sl_dp.nh_used[idx] = SL_NH_SLOT_RELEASING;
		sl_dp_defer(nh_release, (void *)(uintptr_t)idx);
	}
}

int sl_neigh_get(uint32_t ip)
{
	int idx = sl_neigh_find(ip);
	if (idx >= 0) {
		sl_dp.neigh[idx].refs++;
		return idx;
	}
	if (!sl_dp.neigh_n_free && !reclaim_full(&sl_dp.neigh_n_free)) {
		sl_dp.neigh_refused++;
		return -ENOSPC;
	}
	uint32_t i = sl_dp.neigh_free[sl_dp.neigh_n_free - 1];
	struct sl_neigh *n = &sl_dp.neigh[i];
	n->ip = ip;
	atomic_store(&n->mac_state, 0);
	atomic_store(&n->updated_tsc, 0);
	n->requested_tsc = 0;
	n->tries = 0;
	n->refs = 1;
	int rc = rte_hash_add_key_data(sl_dp.neigh_hash, &ip, (void *)(uintptr_t)i);
	if (rc < 0) {
		n->refs = 0;
		if (rc == -ENOSPC)
			sl_dp.neigh_refused++;
		return rc;
	}
	sl_dp.neigh_n_free--;
	sl_dp.neigh_in_use++;
	if (i >= sl_dp.neigh_hwm)
		sl_dp.neigh_hwm = i + 1;
	return (int)i;
}

static void neigh_release(void *arg)
{
	struct sl_neigh *n = arg;
	n->ip = 0;
	n->releasing = false;
	sl_dp.neigh_in_use--;
	sl_dp.neigh_free[sl_dp.neigh_n_free++] = (uint32_t)(n - sl_dp.neigh);
}

void sl_neigh_put(uint32_t idx)
{
	if (idx >= sl_dp.neigh_max)
		return;
	struct sl_neigh *n = &sl_dp.neigh[idx];
	if (n->refs == 0 || --n->refs > 0)
		return;
	/* rte_hash defers reuse of the key's slot itself; the entry waits here likewise. */
	rte_hash_del_key(sl_dp.neigh_hash, &n->ip);
	n->releasing = true;
	sl_dp_defer(neigh_release, n);
}

void sl_trace_add(const struct rte_node *node, struct rte_mbuf *m, const char *fmt, ...)
{
	struct sl_worker *w = sl_worker_self();
	unsigned i = atomic_load_explicit(&w->trace_n, memory_order_relaxed);
	if (i >= SL_TRACE_MAX)
		return;
	struct sl_trace_rec *r = &w->trace[i];
	r->trace_id = sl_priv(m)->trace_id;
	snprintf(r->node, sizeof(r->node), "%.23s", node ? node->name : "port-rx");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
	atomic_store_explicit(&w->trace_n, i + 1, memory_order_release);
}
