/* A 5,000-node cluster's remote nodes on one node (issue 11): the next-hop and neighbour
 * tables sized for "limits.nodes" (default 10,000) and "limits.routes", refusals at that cap
 * (an error naming the limit, a counter), O(1) slot allocation, and ARP requests for
 * thousands of unresolved VTEPs bounded per tick and taking turns (control/net/sl_arp.c).
 * The real model, reconciler hooks (control/net/sl_net.c) and tables (harness.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_arp.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "harness.h"
#include "th_model.h"
#include "model/sl_model.h"
#include "net/sl_net.h"
#include "sl_config.h"

static struct sl_model *model;
static struct sl_model_limits limits;

static int setup(void **st)
{
	if (th_setup(st) < 0)
		return -1;
	struct sl_config conf = { 0 };
	sl_config_model_limits(&conf, &limits); /* sluiced's defaults */
	if (!(model = th_model_create(&limits)))
		return -1;
	struct sl_model_hooks h = { 0 };
	sl_net_hooks(&h);
	sl_model_set_hooks(model, &h);
	return 0;
}

/* Remote node i: 198.19.(i / 250).(i % 250 + 1), pods 10.(i / 256).(i % 256).0/24. */
static struct sl_node_spec node(unsigned i)
{
	struct sl_node_spec s = { 0 };
	char ip[32], cidr[32];
	snprintf(s.name, sizeof(s.name), "node-%05u", i);
	snprintf(ip, sizeof(ip), "198.19.%u.%u", i / 250, i % 250 + 1);
	snprintf(cidr, sizeof(cidr), "10.%u.%u.0/24", i / 256, i % 256);
	assert_int_equal(sl_ip_parse(ip, false, &s.ip), 0);
	assert_int_equal(sl_cidr_parse(cidr, false, &s.pod_cidr), 0);
	return s;
}

static void del_nodes(unsigned n)
{
	char name[SL_NAME_MAX];
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "node-%05u", i);
		assert_int_equal(sl_model_node_del(model, name, (char[320]){ 0 }, 320), 0);
	}
	sl_dp_drain();
}

/* The defaults take the Kubernetes limit with room: 10,000 remote nodes (two next hops and
 * a neighbour each) besides the pods and routes; node 10,001 is refused by the model with an
 * error naming limits.nodes, and no table is ever what refuses. */
static void test_default_limit_nodes(void **s)
{
	char err[320] = "";
	assert_int_equal(limits.nodes, 10000);
	assert_true(sl_dp.nh_max >= 2 * limits.nodes + SL_MAX_PODS + limits.routes);
	assert_true(sl_dp.neigh_max >= limits.nodes + limits.routes);
	uint32_t nh0 = sl_dp.nh_in_use, neigh0 = sl_dp.neigh_in_use;
	uint64_t nh_ref = sl_dp.nh_refused, neigh_ref = sl_dp.neigh_refused;
	for (unsigned i = 0; i < limits.nodes; i++) {
		struct sl_node_spec n = node(i);
		int rc = sl_model_node_add(model, &n, err, sizeof(err));
		if (rc != 0)
			fail_msg("node %u: %s", i, err);
	}
	assert_int_equal(sl_dp.nh_in_use, nh0 + 2 * limits.nodes);
	assert_int_equal(sl_dp.neigh_in_use, neigh0 + limits.nodes);
	struct sl_node_spec n = node(limits.nodes);
	assert_int_equal(sl_model_node_add(model, &n, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "node limit reached (limits.nodes: 10000)");
	assert_int_equal(sl_dp.nh_refused, nh_ref);
	assert_int_equal(sl_dp.neigh_refused, neigh_ref);
	/* A remote pod is reached through its node's VXLAN next hop, the last node's too. */
	const struct sl_nh *last = &sl_dp.nh[sl_route_lookup(htonl(0x0a000000 | (9999u << 8) | 5))];
	assert_int_equal(last->type, SL_NH_VXLAN);
	assert_int_equal(last->ip, node(9999).ip.v4);
	del_nodes(limits.nodes);
	assert_int_equal(sl_dp.nh_in_use, nh0);
	assert_int_equal(sl_dp.neigh_in_use, neigh0);
}

/* The dataplane's own refusal, should a table be full anyway: the node is refused with an
 * error naming the table and its size, the refusal counted, nothing half-installed. */
static void test_neigh_table_full(void **s)
{
	char err[320] = "", want[160];
	uint32_t free0 = sl_dp.neigh_max - sl_dp.neigh_in_use, taken = 0;
	uint64_t refused = sl_dp.neigh_refused;
	int *idx = calloc(free0, sizeof(*idx));
	for (; taken < free0; taken++) { /* gateways in 100.64.0.0/10 */
		idx[taken] = sl_neigh_get(htonl(0x64400000 + taken));
		assert_true(idx[taken] >= 0);
	}
	assert_int_equal(sl_neigh_get(htonl(0x64400000 + taken)), -ENOSPC);
	assert_int_equal(sl_dp.neigh_refused, refused + 1);
	uint32_t nh0 = sl_dp.nh_in_use;
	struct sl_node_spec n = node(0);
	assert_int_equal(sl_model_node_add(model, &n, err, sizeof(err)), -ENOSPC);
	snprintf(want, sizeof(want), "neighbour table full (%u, sized by limits.nodes and "
		 "limits.routes)", sl_dp.neigh_max);
	assert_string_equal(err, want);
	assert_int_equal(sl_dp.neigh_refused, refused + 2);
	assert_int_equal(sl_dp.nh_in_use, nh0);
	assert_null(sl_model_node_find(model, "node-00000"));
	/* One given back (its slot waits for a grace period): the next add gets it. */
	sl_neigh_put((uint32_t)idx[--taken]);
	assert_int_equal(sl_model_node_add(model, &n, err, sizeof(err)), 0);
	del_nodes(1);
	while (taken)
		sl_neigh_put((uint32_t)idx[--taken]);
	free(idx);
	sl_dp_drain();
}

/* Next hops: every free slot can be taken (O(1) each), the next is refused and counted,
 * and a freed slot is reused after its grace period. */
static void test_nh_table_full(void **s)
{
	sl_dp_drain();
	uint32_t free0 = sl_dp.nh_max - 1 - sl_dp.nh_in_use, taken = 0; /* 0: "no route" */
	uint64_t refused = sl_dp.nh_refused;
	int *idx = calloc(free0, sizeof(*idx));
	struct sl_nh nh = { .type = SL_NH_UNREACH_HOST };
	for (; taken < free0; taken++) {
		idx[taken] = sl_nh_alloc(&nh);
		assert_true(idx[taken] > 0 && (uint32_t)idx[taken] < sl_dp.nh_max);
	}
	assert_int_equal(sl_nh_alloc(&nh), -ENOSPC);
	assert_int_equal(sl_dp.nh_refused, refused + 1);
	sl_nh_free((uint32_t)idx[0]);
	int again = sl_nh_alloc(&nh); /* waits for the grace period once: table full */
	assert_int_equal(again, idx[0]);
	while (taken)
		sl_nh_free((uint32_t)idx[--taken]);
	free(idx);
	sl_dp_drain();
	assert_int_equal(sl_dp.nh_max - 1 - sl_dp.nh_in_use, free0);
	/* A slot freed twice within one grace period goes back on the free stack once: two
	 * allocations after it get two different slots. */
	int a = sl_nh_alloc(&nh);
	assert_true(a > 0);
	uint32_t n_free = sl_dp.nh_n_free;
	sl_nh_free((uint32_t)a);
	sl_nh_free((uint32_t)a);
	sl_dp_drain();
	assert_int_equal(sl_dp.nh_n_free, n_free + 1);
	int b = sl_nh_alloc(&nh), c = sl_nh_alloc(&nh);
	assert_true(b > 0 && c > 0 && b != c);
	sl_nh_free((uint32_t)b);
	sl_nh_free((uint32_t)c);
	sl_dp_drain();
	assert_int_equal(sl_dp.nh_max - 1 - sl_dp.nh_in_use, free0);
}

/* Free the ARP requests control queued; count those for 100.64.0.0 + i in seen[i]. Returns
 * how many there were; *mine: how many of them were for seen's addresses. */
static unsigned drain_ctrl_tx(uint32_t *seen, unsigned n_seen, unsigned *mine)
{
	struct rte_mbuf *m;
	unsigned n = 0;
	*mine = 0;
	while (rte_ring_dequeue(sl_dp.ctrl_tx, (void **)&m) == 0) {
		const struct rte_arp_hdr *a = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, 14);
		uint32_t i = ntohl(a->arp_data.arp_tip) - 0x64400000;
		if (i < n_seen)
			seen[i]++, (*mine)++;
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

/* 10,000 new unresolved VTEPs: at most 64 ARP requests a tick (the rest counted as
 * deferred), resuming where the last tick stopped, so every neighbour is asked once before
 * any is asked twice; none is lost to a full control ring. */
static void test_arp_bounded_fair(void **s)
{
	enum { N = 10000 };
	int *idx = calloc(N, sizeof(*idx));
	uint32_t *seen = calloc(N, sizeof(*seen));
	for (unsigned i = 0; i < N; i++)
		assert_true((idx[i] = sl_neigh_get(htonl(0x64400000 + i))) >= 0);
	struct sl_arp_stats a0, a1;
	sl_net_arp_stats(&a0);
	unsigned ticks = 0, sent = 0, mine = 0, m;
	for (; mine < N && ticks < 1000; ticks++) {
		sl_net_neigh_tick();
		unsigned n = drain_ctrl_tx(seen, N, &m);
		assert_true(n <= 64);
		sent += n;
		mine += m;
	}
	sl_net_arp_stats(&a1);
	for (unsigned i = 0; i < N; i++)
		if (seen[i] != 1)
			fail_msg("neighbour %u asked %u times", i, seen[i]);
	assert_true(ticks >= N / 64);
	assert_int_equal(a1.failed, a0.failed);
	assert_true(a1.deferred - a0.deferred >= ticks - 1);
	assert_int_equal(a1.requests - a0.requests, sent);
	for (unsigned i = 0; i < N; i++)
		sl_neigh_put((uint32_t)idx[i]);
	sl_dp_drain();
	free(idx);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_limit_nodes),
		cmocka_unit_test(test_neigh_table_full),
		cmocka_unit_test(test_nh_table_full),
		cmocka_unit_test(test_arp_bounded_fair),
	};
	return cmocka_run_group_tests_name("nodecap", tests, setup, NULL);
}
