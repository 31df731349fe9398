/* Trust checks: who may send what into the graph. Pod sources (anti-spoofing), the uplink's
 * reverse path, which VXLAN peers and inner sources are accepted, what decapsulated packets
 * may be answered, ARP learning on the uplink, and frag-needed's own ICMP budget. Each frame
 * is built field by field, run through the real graph, and the drop reason or the frame sent
 * is checked. Topology: see harness.h. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "harness.h"
#include "pktbuild.h"

static struct rte_mbuf *out[64];

static struct pb_ip4 from_pod_a(const char *src, const char *dst)
{
	return (struct pb_ip4){ .src_mac = th_pod_a_mac, .dst_mac = th_gw_mac, .src = src,
				.dst = dst, .sport = 1234, .dport = 5001, .payload = 18 };
}

/* Inject m (if not NULL) on port and return how many frames any port sent (freed). */
static unsigned run_count_all(unsigned port, struct rte_mbuf *m)
{
	unsigned n = 0, k;
	for (unsigned p = 0; p < TH_PORTS; p++) {
		k = th_run(p == 0 ? port : 0, p == 0 ? m : NULL, p, out, 64);
		rte_pktmbuf_free_bulk(out, k);
		n += k;
	}
	return n;
}

static uint64_t rx_spoofed(unsigned port)
{
	return sl_port_get((uint16_t)port)->stats[0].rx_spoofed;
}

/* A frame from pod A that carries another source is dropped and counted, whatever it is
 * addressed to; pod A's own source still goes through. */
static void test_pod_spoofed_ip(void **s)
{
	const char *fake[] = { "10.244.1.3", "198.18.0.1", "10.244.2.5", "10.244.1.1",
			       "203.0.113.9" };
	const char *dst[] = { "10.244.2.2", "10.244.1.3", "10.244.1.1", "8.8.8.8" };
	for (unsigned i = 0; i < RTE_DIM(fake); i++) {
		for (unsigned j = 0; j < RTE_DIM(dst); j++) {
			th_reset();
			uint64_t spoofed0 = rx_spoofed(TH_POD_A);
			struct pb_ip4 p = from_pod_a(fake[i], dst[j]);
			assert_int_equal(run_count_all(TH_POD_A, pb_ip4(sl_dp.pool, &p)), 0);
			assert_int_equal(th_drops(SL_DROP_POD_SPOOFED_SOURCE), 1);
			assert_int_equal(rx_spoofed(TH_POD_A), spoofed0 + 1);
		}
	}
	th_reset();
	struct pb_ip4 p = from_pod_a("10.244.1.2", "10.244.2.2");
	assert_int_equal(th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8), 1);
	rte_pktmbuf_free_bulk(out, 1);
	assert_int_equal(th_drops(SL_DROP_POD_SPOOFED_SOURCE), 0);
}

/* Pod A's address with another Ethernet source: dropped too (IPv4 and anything else). */
static void test_pod_spoofed_mac(void **s)
{
	th_reset();
	uint64_t spoofed0 = rx_spoofed(TH_POD_A);
	struct pb_ip4 p = from_pod_a("10.244.1.2", "10.244.1.3");
	p.src_mac = th_pod_b_mac;
	assert_int_equal(run_count_all(TH_POD_A, pb_ip4(sl_dp.pool, &p)), 0);
	struct rte_mbuf *m = pb_arp_request(sl_dp.pool, th_pod_b_mac, "10.244.1.2", "10.244.1.1");
	assert_int_equal(run_count_all(TH_POD_A, m), 0);
	assert_int_equal(th_drops(SL_DROP_POD_SPOOFED_SOURCE), 2);
	assert_int_equal(rx_spoofed(TH_POD_A), spoofed0 + 2);
}

/* ARP from a pod: a sender address or MAC not its own is neither answered nor learned; a
 * probe (sender 0.0.0.0, RFC 5227) is legitimate but not answered. */
static void test_pod_arp_spoofed(void **s)
{
	th_reset();
	uint64_t spoofed0 = rx_spoofed(TH_POD_A);
	struct rte_mbuf *m = pb_arp_request(sl_dp.pool, th_pod_a_mac, "10.244.1.3", "10.244.1.1");
	assert_int_equal(run_count_all(TH_POD_A, m), 0);
	assert_int_equal(th_drops(SL_DROP_POD_SPOOFED_SOURCE), 1);

	/* Ethernet source right, ARP sender MAC pod B's. */
	m = pb_arp_request(sl_dp.pool, th_pod_a_mac, "10.244.1.2", "10.244.1.1");
	rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, 14)->arp_data.arp_sha = th_pod_b_mac;
	assert_int_equal(run_count_all(TH_POD_A, m), 0);
	assert_int_equal(th_drops(SL_DROP_POD_SPOOFED_SOURCE), 2);
	assert_int_equal(rx_spoofed(TH_POD_A), spoofed0 + 2);

	m = pb_arp_request(sl_dp.pool, th_pod_a_mac, "0.0.0.0", "10.244.1.2");
	assert_int_equal(run_count_all(TH_POD_A, m), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_NOT_FOR_US), 1);
	assert_int_equal(th_drops(SL_DROP_POD_SPOOFED_SOURCE), 2);

	m = pb_arp_request(sl_dp.pool, th_pod_a_mac, "10.244.1.2", "10.244.1.1");
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_A, out, 8), 1);
	rte_pktmbuf_free_bulk(out, 1);
}

/* Reverse path: plain IPv4 on the uplink claiming a local pod or the node is dropped; other
 * sources are routed. */
static void test_uplink_spoofed_source(void **s)
{
	const char *fake[] = { "10.244.1.2", "10.244.1.77", "198.18.0.1" };
	for (unsigned i = 0; i < RTE_DIM(fake); i++) {
		th_reset();
		struct pb_ip4 p = { .src_mac = th_gw254_mac, .dst_mac = th_uplink_mac,
				    .src = fake[i], .dst = "10.244.1.3", .payload = 10 };
		assert_int_equal(run_count_all(TH_UPLINK, pb_ip4(sl_dp.pool, &p)), 0);
		assert_int_equal(th_drops(SL_DROP_UPLINK_SPOOFED_SOURCE), 1);
	}
	th_reset();
	struct pb_ip4 p = { .src_mac = th_gw254_mac, .dst_mac = th_uplink_mac,
			    .src = "198.18.0.77", .dst = "10.244.1.3", .payload = 10 };
	assert_int_equal(th_run(TH_UPLINK, pb_ip4(sl_dp.pool, &p), TH_POD_B, out, 8), 1);
	rte_pktmbuf_free_bulk(out, 1);
	assert_int_equal(th_drops(SL_DROP_UPLINK_SPOOFED_SOURCE), 0);
}

/* A VXLAN packet from outer source vtep carrying inner_src -> inner_dst (ICMP echo when
 * icmp), as a whole frame on the uplink. */
static struct rte_mbuf *tunnelled(const char *vtep, const char *inner_src, const char *inner_dst,
				  bool icmp, uint8_t ttl)
{
	struct pb_ip4 p = { .src_mac = th_remote_mac, .dst_mac = th_uplink_mac, .src = inner_src,
			    .dst = inner_dst, .ttl = ttl, .payload = 10,
			    .proto = icmp ? IPPROTO_ICMP : 0 };
	struct rte_mbuf *inner = pb_ip4(sl_dp.pool, &p);
	struct rte_mbuf *m = pb_vxlan(sl_dp.pool, th_uplink_mac, vtep, "198.18.0.1", 4789, 42,
				      0x08, inner);
	rte_pktmbuf_free(inner);
	return m;
}

/* Only a configured node's VTEP, and only with an inner source in that node's pod CIDR or
 * the node's own address. */
static void test_vxlan_trusted_peers(void **s)
{
	struct {
		const char *vtep, *inner_src;
		enum sl_drop_reason why;
	} bad[] = {
		/* the default gateway is a neighbour, not a node */
		{ "198.18.0.254", "10.244.2.2", SL_DROP_VXLAN_INNER_SPOOFED },
		{ "198.18.0.254", "8.8.8.8", SL_DROP_VXLAN_UNTRUSTED_PEER },
		{ "198.18.0.9", "10.244.2.2", SL_DROP_VXLAN_INNER_SPOOFED },
		/* the right node, but an inner source it does not own */
		{ "198.18.0.2", "10.244.1.2", SL_DROP_VXLAN_UNTRUSTED_PEER },
		{ "198.18.0.2", "10.96.0.10", SL_DROP_VXLAN_UNTRUSTED_PEER },
		{ "198.18.0.2", "198.18.0.77", SL_DROP_VXLAN_UNTRUSTED_PEER },
		/* an underlay host tunnelling its own address: not a node */
		{ "198.18.0.9", "198.18.0.9", SL_DROP_VXLAN_UNTRUSTED_PEER },
		{ "198.18.0.2", "198.18.0.1", SL_DROP_VXLAN_UNTRUSTED_PEER },
	};
	for (unsigned i = 0; i < RTE_DIM(bad); i++) {
		th_reset();
		struct rte_mbuf *m = tunnelled(bad[i].vtep, bad[i].inner_src, "10.244.1.3", false, 0);
		assert_int_equal(run_count_all(TH_UPLINK, m), 0);
		if (th_drops(bad[i].why) != 1)
			fail_msg("vtep %s inner %s: not dropped as %s", bad[i].vtep,
				 bad[i].inner_src, sl_drop_name(bad[i].why));
	}
	/* Accepted: a pod of the sending node, and the sending node's own address (its kernel
	 * through its host port). */
	const char *good[] = { "10.244.2.200", "198.18.0.2" };
	for (unsigned i = 0; i < RTE_DIM(good); i++) {
		th_reset();
		struct rte_mbuf *m = tunnelled("198.18.0.2", good[i], "10.244.1.3", false, 0);
		assert_int_equal(th_run(TH_UPLINK, m, TH_POD_B, out, 8), 1);
		rte_pktmbuf_free_bulk(out, 1);
	}
}

/* The ICMP message sluiced sent back through the tunnel to 198.18.0.2 for m: its type. */
static uint8_t tunnelled_icmp_back(struct rte_mbuf *m, enum sl_drop_reason why)
{
	th_reset();
	assert_int_equal(th_run(TH_UPLINK, m, TH_UPLINK, out, 8), 1);
	assert_int_equal(th_drops(why), 1);
	struct rte_ipv4_hdr *oip = rte_pktmbuf_mtod_offset(out[0], struct rte_ipv4_hdr *, 14);
	assert_int_equal(oip->dst_addr, pb_addr("198.18.0.2"));
	struct rte_ipv4_hdr *iip = rte_pktmbuf_mtod_offset(out[0], struct rte_ipv4_hdr *,
							    14 + 20 + 8 + 8 + 14);
	assert_int_equal(iip->src_addr, pb_addr("10.244.1.1"));
	assert_int_equal(iip->dst_addr, pb_addr("10.244.2.2"));
	uint8_t type = ((struct rte_icmp_hdr *)(iip + 1))->icmp_type;
	rte_pktmbuf_free_bulk(out, 1);
	return type;
}

/* Decapsulated packets concern local pods only, checked before anything answers them: no
 * echo reply from the gateway address. Errors about a pod address still go back through
 * the tunnel: "host unreachable" for a pod that is gone, "time exceeded" on the way to one. */
static void test_decap_no_local_answers(void **s)
{
	th_reset();
	assert_int_equal(run_count_all(TH_UPLINK, tunnelled("198.18.0.2", "10.244.2.2",
							    "10.244.1.1", true, 0)), 0);
	assert_int_equal(th_drops(SL_DROP_VXLAN_INNER_NOT_LOCAL), 1);

	assert_int_equal(tunnelled_icmp_back(tunnelled("198.18.0.2", "10.244.2.2", "10.244.1.99",
						       false, 0), SL_DROP_NO_SUCH_POD),
			 SL_ICMP_DEST_UNREACH);
	assert_int_equal(tunnelled_icmp_back(tunnelled("198.18.0.2", "10.244.2.2", "10.244.1.3",
						       false, 1), SL_DROP_TTL_EXCEEDED),
			 SL_ICMP_TIME_EXCEEDED);
}

/* A TTL=1 flood empties the ICMP budget; a too-big DF packet still gets its frag-needed. */
static void test_frag_needed_own_budget(void **s)
{
	struct sl_worker *w = &sl_dp.workers[0];
	uint32_t rate = sl_dp.conf.icmp_rate;
	sl_dp.conf.icmp_rate = 1;
	th_reset();
	for (unsigned i = 0; i < 60; i++) {
		struct pb_ip4 p = from_pod_a("10.244.1.2", "10.244.2.2");
		p.ttl = 1;
		th_inject(TH_POD_A, pb_ip4(sl_dp.pool, &p));
	}
	unsigned n = th_run(TH_POD_A, NULL, TH_POD_A, out, 64);
	rte_pktmbuf_free_bulk(out, n);
	assert_true(n <= 50);
	assert_true(th_drops(SL_DROP_ICMP_RATE_LIMITED) >= 10);
	assert_true(w->icmp_tokens < 1.0);

	struct pb_ip4 p = from_pod_a("10.244.1.2", "10.244.2.2");
	p.df = true;
	p.payload = 1500 - 28;
	n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_POD_A, out, 8);
	sl_dp.conf.icmp_rate = rate;
	assert_int_equal(n, 1);
	struct rte_icmp_hdr *icmp = rte_pktmbuf_mtod_offset(out[0], struct rte_icmp_hdr *, 34);
	assert_int_equal(icmp->icmp_type, SL_ICMP_DEST_UNREACH);
	assert_int_equal(icmp->icmp_code, SL_ICMP_UNREACH_NEEDFRAG);
	rte_pktmbuf_free_bulk(out, 1);
}

/* --- ARP on the uplink --- */

static struct sl_neigh *remote_neigh(void)
{
	return &sl_dp.neigh[sl_neigh_find(pb_addr("198.18.0.2"))];
}

static uint64_t mac_bits(struct rte_ether_addr mac)
{
	uint64_t v = 0;
	memcpy(&v, &mac, 6);
	return v;
}

/* An ARP reply from 198.18.0.2 (sender MAC sha, Ethernet source eth_src) to the node. */
static struct rte_mbuf *arp_reply(struct rte_ether_addr sha, struct rte_ether_addr eth_src)
{
	struct rte_mbuf *m = pb_arp_request(sl_dp.pool, sha, "198.18.0.2", "198.18.0.1");
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	eth->dst_addr = th_uplink_mac;
	eth->src_addr = eth_src;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = th_uplink_mac;
	return m;
}

static const struct rte_ether_addr other_mac = { { 0x02, 0xee, 0, 0, 0, 0x66 } };

/* Requests, gratuitous ARP and unsolicited replies never set a neighbour's MAC. */
static void test_arp_learn_only_solicited(void **s)
{
	th_reset();
	struct sl_neigh *n = remote_neigh();
	th_neigh_resolved(false);
	atomic_store(&n->requested_tsc, 0);

	/* A request for the node address is answered, its sender not learned. */
	struct rte_mbuf *m = pb_arp_request(sl_dp.pool, th_remote_mac, "198.18.0.2", "198.18.0.1");
	assert_int_equal(th_run(TH_UPLINK, m, TH_UPLINK, out, 8), 1);
	rte_pktmbuf_free_bulk(out, 1);
	/* Gratuitous ARP (RFC 5227 announcement). */
	m = pb_arp_request(sl_dp.pool, other_mac, "198.18.0.2", "198.18.0.2");
	assert_int_equal(run_count_all(TH_UPLINK, m), 0);
	/* A reply nobody asked for. */
	assert_int_equal(run_count_all(TH_UPLINK, arp_reply(other_mac, other_mac)), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_UNSOLICITED), 1);
	/* A reply that comes too late. */
	atomic_store(&n->requested_tsc, rte_rdtsc() - (SL_ARP_REPLY_WINDOW_S + 1) * rte_get_tsc_hz());
	assert_int_equal(run_count_all(TH_UPLINK, arp_reply(other_mac, other_mac)), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_UNSOLICITED), 2);
	assert_int_equal(atomic_load(&n->mac_state), 0);

	/* The answer to our request: learned. */
	atomic_store(&n->requested_tsc, rte_rdtsc());
	assert_int_equal(run_count_all(TH_UPLINK, arp_reply(th_remote_mac, th_remote_mac)), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_REPLY_CONSUMED), 1);
	assert_int_equal(atomic_load(&n->mac_state), mac_bits(th_remote_mac) | SL_NEIGH_VALID);
	atomic_store(&n->requested_tsc, 0);
}

/* A reply whose Ethernet source is not its ARP sender MAC is not believed. */
static void test_arp_sender_mismatch(void **s)
{
	th_reset();
	struct sl_neigh *n = remote_neigh();
	th_neigh_resolved(false);
	atomic_store(&n->requested_tsc, rte_rdtsc());
	assert_int_equal(run_count_all(TH_UPLINK, arp_reply(other_mac, th_remote_mac)), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_SENDER_MISMATCH), 1);
	assert_int_equal(atomic_load(&n->mac_state), 0);
	atomic_store(&n->requested_tsc, 0);
}

/* Hold-down: a resolved MAC that keeps confirming is not replaced by another reply; once it
 * has gone SL_NEIGH_HOLD_S without confirming, the new MAC is taken. A static MAC never
 * changes. */
static void test_arp_hold_down_and_static(void **s)
{
	th_reset();
	struct sl_neigh *n = remote_neigh();
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	atomic_store(&n->updated_tsc, now);
	atomic_store(&n->requested_tsc, now);
	assert_int_equal(run_count_all(TH_UPLINK, arp_reply(other_mac, other_mac)), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_HELD_DOWN), 1);
	assert_int_equal(atomic_load(&n->mac_state), mac_bits(th_remote_mac) | SL_NEIGH_VALID);

	atomic_store(&n->updated_tsc, now - (SL_NEIGH_HOLD_S + 1) * hz);
	assert_int_equal(run_count_all(TH_UPLINK, arp_reply(other_mac, other_mac)), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_REPLY_CONSUMED), 1);
	assert_int_equal(atomic_load(&n->mac_state), mac_bits(other_mac) | SL_NEIGH_VALID);

	uint64_t st = mac_bits(th_remote_mac) | SL_NEIGH_VALID | SL_NEIGH_STATIC;
	atomic_store(&n->mac_state, st);
	atomic_store(&n->updated_tsc, 0);
	atomic_store(&n->requested_tsc, rte_rdtsc());
	assert_int_equal(run_count_all(TH_UPLINK, arp_reply(other_mac, other_mac)), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_STATIC_NEIGHBOUR), 1);
	assert_int_equal(atomic_load(&n->mac_state), st);
	atomic_store(&n->requested_tsc, 0);
	th_reset(); /* the harness's resolved, non-static state */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_pod_spoofed_ip),
		TH_TEST(test_pod_spoofed_mac),
		TH_TEST(test_pod_arp_spoofed),
		TH_TEST(test_uplink_spoofed_source),
		TH_TEST(test_vxlan_trusted_peers),
		TH_TEST(test_decap_no_local_answers),
		TH_TEST(test_frag_needed_own_budget),
		TH_TEST(test_arp_learn_only_solicited),
		TH_TEST(test_arp_sender_mismatch),
		TH_TEST(test_arp_hold_down_and_static),
	};
	return cmocka_run_group_tests_name("trust", tests, th_setup, NULL);
}
