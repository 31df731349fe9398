/* Dataplane test harness: a real EAL (--no-huge, in memory), the real graph on worker 0
 * (walked by the test thread), and ports backed by net_ring ethdevs so a test injects frames
 * into a port's receive ring and reads what the graph sent from its transmit ring.
 *
 *   pod A 10.244.1.2 (port 2) --+                       +-- uplink 198.18.0.1 (port 0)
 *   pod B 10.244.1.3 (port 3) --+-- gateway 10.244.1.1 -+     remote node 198.18.0.2,
 *   host (port 1, 198.18.0.1) --+                       |     pods 10.244.2.0/24, VNI 42
 *                                                       +-- default via 198.18.0.254
 */
#pragma once
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/core/sl_dp.h"

enum { TH_UPLINK = 0, TH_HOST = 1, TH_POD_A = 2, TH_POD_B = 3, TH_PORTS = 4 };

extern struct rte_ether_addr th_gw_mac, th_uplink_mac, th_host_mac, th_pod_a_mac,
	th_pod_b_mac, th_remote_mac, th_gw254_mac;

/* Bring everything up once per process (cmocka group setup). Returns 0. */
int th_setup(void **state);
/* Mark the remote VTEP and the gateway neighbour resolved (or not). */
void th_neigh_resolved(bool yes);
/* Queue m on port's receive ring without walking the graph. */
void th_inject(unsigned port, struct rte_mbuf *m);
/* Inject m (if not NULL) on port, walk the graph, return how many packets port `out` sent into ret (max n). */
unsigned th_run(unsigned port, struct rte_mbuf *m, unsigned out, struct rte_mbuf **ret,
		unsigned n);
/* Drain every port's TX ring (freeing) and zero the drop counters. */
void th_reset(void);
/* Services (tests of ip4-lb and the packet fuzzer), on top of th_setup: Service and
 * conntrack tables sized for tests (TH_CT_SIZE flows), and
 *   10.96.0.10:80/tcp  -> pod B 10.244.1.3:8080
 *   10.96.0.10:53/udp  -> pod B 10.244.1.3:5353
 *   10.96.0.11:80/tcp  -> no backend (rejected)
 *   10.96.0.12:80/tcp  -> pod B 10.244.1.3:8080 and remote pod 10.244.2.2:8080
 *   10.96.0.13:80/tcp  -> remote pod 10.244.2.2:8080
 *   10.96.0.10:9000/sctp -> pod B 10.244.1.3:9001
 * Returns 0. */
#define TH_CT_SIZE 64
int th_lb_setup(void);
/* (Re)install those Services only. Returns 0. */
int th_lb_setup_services(void);
/* Packets worker 0 counted for a drop reason. */
uint64_t th_drops(enum sl_drop_reason r);
/* Free whatever is left on every port's receive and transmit ring. */
void th_drain(void);
/* Free mbufs of the harness pool (ring and per-lcore caches counted). */
unsigned th_pool_avail(void);
/* Per-test setup/teardown (cmocka): the teardown drains the rings and fails the test when
 * the pool has fewer free mbufs than before it (an mbuf leaked) or more (freed twice). */
int th_test_setup(void **state);
int th_test_teardown(void **state);
/* A cmocka test with the mbuf-leak check around it. */
#define TH_TEST(f) cmocka_unit_test_setup_teardown(f, th_test_setup, th_test_teardown)
