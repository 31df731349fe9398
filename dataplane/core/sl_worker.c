/* Worker lcores (see sl_worker.h). */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <rte_graph_worker.h>
#include <rte_lcore.h>
#include <rte_errno.h>
#include <rte_pause.h>

#include "sl_worker.h"

#define IDLE_SPIN_LOOPS 512 /* empty polls before the first sleep */
#define IDLE_SLEEP_MIN_US 10

int sl_worker_graph_create(struct sl_worker *w)
{
	static const char *patterns[] = { "port-rx" };
	struct rte_graph_param prm = {
		.socket_id = (int)rte_lcore_to_socket_id(w->lcore),
		.nb_node_patterns = 1,
		.node_patterns = patterns,
	};
	snprintf(w->graph_name, sizeof(w->graph_name), "sl-worker-%u", w->id);
	if (rte_graph_create(w->graph_name, &prm) == RTE_GRAPH_ID_INVALID)
		return -rte_errno ? -rte_errno : -EINVAL;
	w->graph = rte_graph_lookup(w->graph_name);
	return w->graph ? 0 : -ENOENT;
}

/* Sleep up to us microseconds; when the worker's queues allow (sl_rxq_list.wait_on_taps:
 * taps and the host port only), in its tap epoll set, so a frame reaching a tap ends the
 * sleep at once instead of waiting it out: a quiet tap node answers the first packet in
 * tens of microseconds, not up to idle_sleep_max_us later. Loaded, nothing changes (the
 * worker sleeps only after IDLE_SPIN_LOOPS empty polls). */
static void idle_wait(struct sl_worker *w, unsigned us)
{
	static _Atomic bool no_pwait2; /* epoll_pwait2 (Linux 5.11+) missing: sleep instead */
	struct sl_rxq_list *l = atomic_load_explicit(&w->rxqs, memory_order_acquire);
	if (l && l->wait_on_taps && !atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
		struct epoll_event ev;
		struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
		if (epoll_pwait2(w->tap_epfd, &ev, 1, &ts, NULL) >= 0 || errno == EINTR)
			return;
		if (errno == ENOSYS)
			atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
	}
	usleep(us);
}

int sl_worker_main(void *arg)
{
	struct sl_worker *w = arg;
	unsigned idle = 0, sleep_us = IDLE_SLEEP_MIN_US;

	rte_rcu_qsbr_thread_register(sl_dp.qsbr, w->id);
	rte_rcu_qsbr_thread_online(sl_dp.qsbr, w->id);
	while (!sl_dp.quit) {
		sl_worker_poll(w);
		if (w->last_rx || !sl_dp.conf.idle_backoff) {
			idle = 0;
			sleep_us = IDLE_SLEEP_MIN_US;
			continue;
		}
		w->idle_loops++;
		if (++idle < IDLE_SPIN_LOOPS) {
			rte_pause();
			continue;
		}
		/* Quiet: sleep, doubling up to the configured maximum. Stay online in RCU terms
		 * (a sleep is bounded), so writers wait at most one sleep. */
		idle_wait(w, sleep_us);
		w->sleeps++;
		if (sleep_us < sl_dp.conf.idle_sleep_max_us)
			sleep_us = RTE_MIN(sleep_us * 2, sl_dp.conf.idle_sleep_max_us);
	}
	rte_rcu_qsbr_thread_offline(sl_dp.qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(sl_dp.qsbr, w->id);
	return 0;
}

struct stats_cookie {
	struct sl_node_stats *out;
	unsigned max, n;
};

static int stats_cb(bool first, bool last, void *cookie,
		    const struct rte_graph_cluster_node_stats *st)
{
	struct stats_cookie *c = cookie;
	if (c->n >= c->max || !st)
		return 0;
	struct sl_node_stats *o = &c->out[c->n++];
	snprintf(o->name, sizeof(o->name), "%s", st->name);
	o->objs = st->objs;
	o->calls = st->calls;
	o->cycles = st->cycles;
	return 0;
}

int sl_worker_graph_stats(struct sl_worker *w, struct sl_node_stats *ret, unsigned max)
{
	const char *patterns[] = { w->graph_name };
	struct stats_cookie c = { .out = ret, .max = max };
	struct rte_graph_cluster_stats_param prm = {
		.socket_id = SOCKET_ID_ANY,
		.fn = stats_cb,
		.nb_graph_patterns = 1,
		.graph_patterns = patterns,
		.cookie = &c,
	};
	struct rte_graph_cluster_stats *st = rte_graph_cluster_stats_create(&prm);
	if (!st)
		return -ENOMEM;
	rte_graph_cluster_stats_get(st, false);
	rte_graph_cluster_stats_destroy(st);
	return (int)c.n;
}
