/* Graph node building blocks: a node's edges from one X-macro, and chunked processing.
 *
 * A node declares its edges once, as a list taking two macros (VPP's foreach_*_next style):
 *
 *	#define VXLAN_ENCAP_EDGES(NEXT, DROP)   \
 *		NEXT(TX, "port-tx")             \
 *		DROP(NEIGH_UNRESOLVED)          \
 *		DROP(NO_HEADROOM)
 *	SL_NODE_EDGES(VXLAN_ENCAP_EDGES)
 *	...
 *	.nb_edges = EDGE_COUNT,
 *	.next_nodes = { SL_NEXT_NODES(VXLAN_ENCAP_EDGES) },
 *
 * NEXT(sym, "node") is an edge to another node, EDGE_<sym>. DROP(REASON) is an edge to the
 * drop node of SL_DROP_<REASON> (sl_drop.h), EDGE_DROP_<REASON>; its node name comes from
 * sl_drop_nodes.<REASON>, so an edge, its drop reason and its next node cannot disagree, and
 * a reason that does not exist does not compile. One node per file (STYLE.md), so the names
 * are file-local: SL_NODE_EDGES declares, in list order,
 *	enum edges { EDGE_<sym> | EDGE_DROP_<REASON> ..., EDGE_COUNT };
 *	edge_drop_reason[edge]	the drop reason of a drop edge, SL_DROP_COUNT for the others;
 *	edge_of_drop(reason)	the edge of a drop reason, EDGE_COUNT when the node has none. */
#pragma once
#include <assert.h>

#include <rte_common.h>
#include <rte_graph.h>

#include "sl_dp.h"
#include "sl_drop.h"

static_assert(SL_DROP_COUNT <= UINT8_MAX, "edge_drop_reason[] holds a drop reason in a byte");

#define SL_EDGE_ENUM_NEXT_(sym, name) EDGE_##sym,
#define SL_EDGE_ENUM_DROP_(reason) EDGE_DROP_##reason,
#define SL_EDGE_REASON_NEXT_(sym, name) [EDGE_##sym] = SL_DROP_COUNT,
#define SL_EDGE_REASON_DROP_(reason) [EDGE_DROP_##reason] = SL_DROP_##reason,
#define SL_EDGE_CASE_NEXT_(sym, name)
#define SL_EDGE_CASE_DROP_(reason)                                                       \
	case SL_DROP_##reason:                                                             \
		return EDGE_DROP_##reason;
#define SL_EDGE_INIT_NEXT_(sym, name) [EDGE_##sym] = name,
#define SL_EDGE_INIT_DROP_(reason) [EDGE_DROP_##reason] = sl_drop_nodes.reason,

/* Declare this file's edge enum and drop maps from the edge list (see the file comment). */
#define SL_NODE_EDGES(list)                                                              \
	enum edges { list(SL_EDGE_ENUM_NEXT_, SL_EDGE_ENUM_DROP_) EDGE_COUNT };            \
	static const uint8_t edge_drop_reason[EDGE_COUNT] __rte_unused = {                \
		list(SL_EDGE_REASON_NEXT_, SL_EDGE_REASON_DROP_)                           \
	};                                                                                 \
	static inline uint16_t __rte_unused edge_of_drop(enum sl_drop_reason r)            \
	{                                                                                  \
		switch (r) {                                                               \
			list(SL_EDGE_CASE_NEXT_, SL_EDGE_CASE_DROP_)                       \
		default:                                                                   \
			return EDGE_COUNT;                                                 \
		}                                                                          \
	}

/* The designated initialisers of a node's .next_nodes, from the same edge list. */
#define SL_NEXT_NODES(list) list(SL_EDGE_INIT_NEXT_, SL_EDGE_INIT_DROP_)

/* A node's process function that hands its objects to chunk_fn at most
 * RTE_GRAPH_BURST_SIZE at a time. A stream can hold more than that (guest-offload turns one
 * TSO frame into dozens of segments) and nodes keep per-packet arrays of that size. */
#define SL_NODE_PROCESS_CHUNKED(name, chunk_fn)                                          \
	static uint16_t name(struct rte_graph *graph, struct rte_node *node, void **objs,  \
			     uint16_t nb)                                                  \
	{                                                                                  \
		for (uint16_t off = 0; off < nb; off += RTE_GRAPH_BURST_SIZE)              \
			chunk_fn(graph, node, objs + off,                                  \
				 (uint16_t)RTE_MIN(nb - off, RTE_GRAPH_BURST_SIZE));       \
		return nb;                                                                 \
	}
