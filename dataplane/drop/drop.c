/* drop-<reason>: one sink node per drop reason (sl_drop.h). Counts and frees. Having a node
 * per reason makes each reason visible in `sluicectl show graph` and in traces. */
#include <rte_graph_worker.h>

#include "dataplane/core/sl_dp.h"

const struct sl_drop_node_names sl_drop_nodes = {
#define _(sym, str) .sym = "drop-" str,
	SL_FOREACH_DROP(_)
#undef _
};

static inline uint16_t drop_process(struct rte_node *node, void **objs, uint16_t nb,
				    enum sl_drop_reason why)
{
	struct sl_worker *w = sl_worker_self();
	for (uint16_t i = 0; i < nb; i++)
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "dropped: %s", sl_drop_name(why));
	w->drops[why] += nb;
	rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, nb);
	return nb;
}

#define _(sym, str)                                                                  \
	static uint16_t drop_##sym##_process(struct rte_graph *g, struct rte_node *node, \
					     void **objs, uint16_t nb)              \
	{                                                                            \
		return drop_process(node, objs, nb, SL_DROP_##sym);                 \
	}                                                                            \
	static struct rte_node_register drop_##sym##_node = {                        \
		.name = "drop-" str,                                                 \
		.process = drop_##sym##_process,                                     \
	};                                                                           \
	RTE_NODE_REGISTER(drop_##sym##_node);
SL_FOREACH_DROP(_)
#undef _
