/* Worker lcores: graph creation, the poll loop with idle back-off, and graph statistics. */
#pragma once
#include "sl_dp.h"

/* Create worker w's graph (rooted at port-rx). Control thread, before launch. */
int sl_worker_graph_create(struct sl_worker *w);
/* The worker loop; arg is the struct sl_worker. Runs until sl_dp.quit. Worker lcore. */
int sl_worker_main(void *arg);

/* One pass of the worker loop: walk the graph once, then report a quiescent state. The
 * worker must be registered and online in sl_dp.qsbr. sl_worker_main wraps it in the idle
 * back-off; perf/graph-bench runs it back to back. Worker lcore. */
static inline void sl_worker_poll(struct sl_worker *w)
{
	rte_graph_walk(w->graph);
	rte_rcu_qsbr_quiescent(sl_dp.qsbr, w->id);
	w->loops++;
}

/* One graph node's statistics on one worker. */
struct sl_node_stats {
	char name[RTE_NODE_NAMESIZE];
	uint64_t objs, calls, cycles;
};
/* Fill up to max node statistics of worker w; returns the count or -errno. Control. */
int sl_worker_graph_stats(struct sl_worker *w, struct sl_node_stats *ret, unsigned max);
