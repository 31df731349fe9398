/* Dataplane tables: set-up and the control-thread writers (see sl_dp.h for RCU rules). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
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

static struct rte_fib *fib_create(const char *name)
{
	struct rte_fib_conf conf = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = SL_NH_UNREACH_NET, /* nh slot 0 is "no route" */
		.max_routes = 1 << 16,
		.dir24_8 = { .nh_sz = RTE_FIB_DIR24_8_4B, .num_tbl8 = 1 << 12 },
	};
	return rte_fib_create(name, SOCKET_ID_ANY, &conf);
}

#define DEFER_Q_SIZE 1024
#define DEFER_Q_RECLAIM_AT 16 /* frees of past grace periods are tried from this many on */

/* rte_rcu_qsbr_dq's free callback: e holds n pointers from rte_malloc. */
static void defer_q_free(void *unused, void *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_free(((void **)e)[i]);
}

int sl_dp_init(unsigned n_workers, unsigned pool_size)
{
	if (n_workers == 0 || n_workers > SL_MAX_WORKERS)
		return -EINVAL;
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
		.esize = sizeof(void *),
		.trigger_reclaim_limit = DEFER_Q_RECLAIM_AT,
		.max_reclaim_size = DEFER_Q_SIZE,
		.free_fn = defer_q_free,
		.v = sl_dp.qsbr,
	};
	sl_dp.defer_q = rte_rcu_qsbr_dq_create(&dq);
	if (!sl_dp.defer_q)
		return -rte_errno ? -rte_errno : -ENOMEM;

	sl_dp.fib[0] = fib_create("sl_fib0");
	sl_dp.fib[1] = fib_create("sl_fib1");
	if (!sl_dp.fib[0] || !sl_dp.fib[1])
		return -rte_errno ? -rte_errno : -ENOMEM;

	struct rte_hash_parameters hp = {
		.name = "sl_neigh",
		.entries = SL_MAX_NEIGH * 2,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	sl_dp.neigh_hash = rte_hash_create(&hp);
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
	}
	return 0;
}

void sl_dp_fini(void)
{
	struct rte_mbuf *m;
	while (sl_dp.ctrl_tx && rte_ring_dequeue(sl_dp.ctrl_tx, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(sl_dp.ctrl_tx);
	sl_dp.ctrl_tx = NULL;
	rte_hash_free(sl_dp.neigh_hash);
	rte_fib_free(sl_dp.fib[0]);
	rte_fib_free(sl_dp.fib[1]);
	/* Workers have stopped (and left the QSBR), so every deferred free is due. */
	if (sl_dp.defer_q && rte_rcu_qsbr_dq_delete(sl_dp.defer_q) != 0)
		RTE_LOG(WARNING, USER1, "rcu defer queue: not every deferred free was done\n");
	sl_dp.defer_q = NULL;
	rte_free(sl_dp.qsbr);
	rte_mempool_free(sl_dp.pool);
	sl_dp.neigh_hash = NULL;
	sl_dp.fib[0] = sl_dp.fib[1] = NULL;
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

void sl_dp_defer_free(void *p)
{
	if (!p)
		return;
	if (!sl_dp.defer_q || rte_rcu_qsbr_dq_enqueue(sl_dp.defer_q, &p) != 0) {
		sl_dp_sync(); /* queue full (or none yet): the slow, safe way */
		rte_free(p);
	}
}

static int fib_apply(struct rte_fib *fib, uint32_t prefix, uint8_t depth, int64_t nh)
{
	if (nh < 0) {
		int rc = rte_fib_delete(fib, prefix, depth);
		return rc == -ENOENT ? 0 : rc;
	}
	return rte_fib_add(fib, prefix, depth, (uint64_t)nh);
}

int sl_fib_set(uint32_t prefix, uint8_t depth, int64_t nh)
{
	int active = atomic_load(&sl_dp.fib_active);
	int spare = !active;
	int rc = fib_apply(sl_dp.fib[spare], prefix, depth, nh);
	if (rc < 0)
		return rc;
	atomic_store_explicit(&sl_dp.fib_active, spare, memory_order_release);
	sl_dp_sync(); /* no worker reads the old copy any more */
	rc = fib_apply(sl_dp.fib[active], prefix, depth, nh);
	return rc;
}

int sl_nh_alloc(const struct sl_nh *nh)
{
	/* Slot 0 is "no route" and never handed out. */
	for (unsigned i = 1; i < SL_MAX_NH; i++) {
		if (sl_dp.nh[i].type == SL_NH_UNREACH_NET && sl_dp.nh[i].mtu == 0) {
			sl_dp.nh[i] = *nh;
			if (sl_dp.nh[i].mtu == 0)
				sl_dp.nh[i].mtu = UINT16_MAX;
			return (int)i;
		}
	}
	return -ENOSPC;
}

void sl_nh_free(uint32_t idx)
{
	if (idx > 0 && idx < SL_MAX_NH)
		memset(&sl_dp.nh[idx], 0, sizeof(sl_dp.nh[idx]));
}

int sl_neigh_get(uint32_t ip)
{
	int idx = sl_neigh_find(ip);
	if (idx >= 0) {
		sl_dp.neigh[idx].refs++;
		return idx;
	}
	for (unsigned i = 0; i < SL_MAX_NEIGH; i++) {
		struct sl_neigh *n = &sl_dp.neigh[i];
		if (n->refs)
			continue;
		n->ip = ip;
		atomic_store(&n->mac_state, 0);
		atomic_store(&n->updated_tsc, 0);
		n->requested_tsc = 0;
		n->refs = 1;
		int rc = rte_hash_add_key_data(sl_dp.neigh_hash, &ip, (void *)(uintptr_t)i);
		if (rc < 0) {
			n->refs = 0;
			return rc;
		}
		return (int)i;
	}
	return -ENOSPC;
}

void sl_neigh_put(uint32_t idx)
{
	struct sl_neigh *n = &sl_dp.neigh[idx];
	if (idx >= SL_MAX_NEIGH || n->refs == 0 || --n->refs > 0)
		return;
	/* With lock-free readers a deleted key's slot is only reusable once no reader can hold
	 * it: free it explicitly after a grace period. */
	int32_t pos = rte_hash_del_key(sl_dp.neigh_hash, &n->ip);
	sl_dp_sync();
	if (pos >= 0)
		rte_hash_free_key_with_position(sl_dp.neigh_hash, pos);
	n->ip = 0;
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
