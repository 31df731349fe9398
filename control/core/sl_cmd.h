/* The API commands and `show` tables, declared once. Everything else is generated from
 * these two lists: the request enum and parser table (sl_request.c), the handler table and
 * the decision to persist (sl_api.c), `sluicectl`'s help and the list of valid tables in
 * error messages. Header only, no DPDK: sluicectl and the fuzz targets include it.
 *
 * Adding a command: one X() line here, a parse_<ID>() in sl_request.c and an api_<ID>() in
 * sl_api.c; a missing one is a compile error. */
#pragma once

/* Bytes; larger requests are refused. 4 MiB: `apply` carries whole Lists of Services and
 * EndpointSlices (~1 KiB per object as kubectl prints them: a few thousand per request;
 * more go in several requests). */
#define SL_API_MAX_REQUEST (4 * 1024 * 1024)

/* Flags of a command. */
#define SL_CMD_F_PERSIST 1u /* a success changes the persisted state: save it before replying */
#define SL_CMD_F_HIDDEN 2u  /* not listed by sluicectl's help (used by another command) */

/* X(ID, wire name, flags, sluicectl usage, help) */
#define SL_FOREACH_CMD(X)                                                                    \
	X(SHOW, "show", 0, "show TABLE", "show a table; TABLE is one of:")                \
	X(POD_ADD, "pod.add", SL_CMD_F_PERSIST,                                              \
	  "pod add name=N [namespace=NS] ip=A.B.C.D mac=MAC ifname=IF", "attach a pod's veth") \
	X(POD_DEL, "pod.del", SL_CMD_F_PERSIST, "pod del name=N [namespace=NS]",             \
	  "detach a pod")                                                                    \
	X(NODE_ADD, "node.add", SL_CMD_F_PERSIST, "node add name=N ip=A.B.C.D pod_cidr=P/L", \
	  "add a remote node")                                                               \
	X(NODE_DEL, "node.del", SL_CMD_F_PERSIST, "node del name=N", "remove a remote node") \
	X(ROUTE_ADD, "route.add", SL_CMD_F_PERSIST, "route add prefix=P/L via=A.B.C.D",      \
	  "static route on the uplink")                                                      \
	X(ROUTE_DEL, "route.del", SL_CMD_F_PERSIST, "route del prefix=P/L",                  \
	  "remove a static route")                                                           \
	X(APPLY, "apply", SL_CMD_F_PERSIST, "apply -f FILE",                                  \
	  "apply Services/EndpointSlices (JSON: an object or a List, as kubectl prints)")    \
	X(SVC_DEL, "service.del", SL_CMD_F_PERSIST, "delete service [NS/]NAME",              \
	  "delete a Service")                                                                \
	X(SLICE_DEL, "endpointslice.del", SL_CMD_F_PERSIST, "delete endpointslice [NS/]NAME", \
	  "delete an EndpointSlice")                                                         \
	X(TRACE_START, "trace.start", 0, "trace N",                                          \
	  "record the next N packets' path through the graph (1-100)")                       \
	X(TRACE_SHOW, "trace.show", SL_CMD_F_HIDDEN, "", "the packets traced so far")        \
	X(VERSION, "version", 0, "version", "daemon version, workers and node facts")        \
	X(CT_SHOW, "conntrack.show", 0,                                                      \
	  "show conntrack [--summary] [--limit N] [FILTER...]",                              \
	  "conntrack flows (at most N, default 1000), or counts with --summary; FILTER: "    \
	  "--service VIP[:PORT] --backend IP[:PORT] --client IP --proto tcp|udp|sctp "       \
	  "--state NAME")                                                                    \
	X(CT_FLUSH, "conntrack.flush", 0, "conntrack flush [FILTER...]",                     \
	  "remove the conntrack flows FILTER matches (every flow without one)")              \
	X(K8S_DEL, "k8s.del", SL_CMD_F_PERSIST,                                              \
	  "delete namespace|k8spod|networkpolicy [NS/]NAME",                                 \
	  "delete a Namespace, a cluster Pod (policy's view) or a NetworkPolicy")           \
	X(POLICY_CHECK, "policy.check", 0, "policy check SRC DST PORT[/PROTO]",              \
	  "which NetworkPolicies isolate SRC and DST (addresses or NS/POD), which rule "     \
	  "allows, or why denied")

/* X(name) of every table `show` knows (core/sl_show.c). */
#define SL_FOREACH_SHOW(X)                                                                   \
	X("ports") X("pods") X("nodes") X("routes") X("neighbors") X("workers") X("vhost")     \
	X("queues") X("stats") X("drops") X("graph") X("services") X("backends") \
	X("policies")

/* The tables as one string literal: "ports, pods, ..." and "ports|pods|...". */
#define SL_SHOW_COMMA_(n) ", " n
#define SL_SHOW_BAR_(n) "|" n
#define SL_SHOW_LIST (SL_FOREACH_SHOW(SL_SHOW_COMMA_) + 2)
#define SL_SHOW_ALT (SL_FOREACH_SHOW(SL_SHOW_BAR_) + 1)

enum sl_cmd {
#define SL_CMD_ENUM_(id, name, flags, usage, help) SL_CMD_##id,
	SL_FOREACH_CMD(SL_CMD_ENUM_)
#undef SL_CMD_ENUM_
	SL_CMD_COUNT
};
