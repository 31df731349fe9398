/* Graph node tests: a frame built field by field goes into a port, the real graph runs, and
 * every field the dataplane rewrote is checked on the frame it sent (or the drop reason).
 * Topology: see harness.h. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "dataplane/ip4/ip4_ttl.h"
#include "drivers/sl_mbuf_pool.h"
#include "harness.h"
#include "pktbuild.h"

static struct rte_mbuf *out[8];

static struct pb_ip4 from_pod_a(const char *dst)
{
	return (struct pb_ip4){ .src_mac = th_pod_a_mac, .dst_mac = th_gw_mac,
				.src = "10.244.1.2", .dst = dst, .ttl = 64, .sport = 1234,
				.dport = 5001, .payload = 18 };
}

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m, size_t off)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, off);
}

static void free_out(unsigned n)
{
	rte_pktmbuf_free_bulk(out, n);
}

/* eth-input + ip4-lookup + eth-output: pod A -> pod B on the same node. */
static void test_pod_to_local_pod(void **s)
{
	th_reset();
	struct pb_ip4 p = from_pod_a("10.244.1.3");
	unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_POD_B, out, 8);
	assert_int_equal(n, 1);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &th_pod_b_mac, 6);
	assert_memory_equal(&eth->src_addr, &th_gw_mac, 6);
	struct rte_ipv4_hdr *ip = ip_of(out[0], sizeof(*eth));
	assert_int_equal(ip->time_to_live, 63);
	assert_true(pb_ip4_cksum_ok(ip));
	assert_int_equal(ip->src_addr, pb_addr("10.244.1.2"));
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.3"));
	free_out(n);
}

/* vxlan-encap: pod A -> remote pod, every outer field (RFC 7348 5). */
static void test_vxlan_encap_headers(void **s)
{
	th_reset();
	struct pb_ip4 p = from_pod_a("10.244.2.2");
	unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &th_remote_mac, 6);
	assert_memory_equal(&eth->src_addr, &th_uplink_mac, 6);
	assert_int_equal(eth->ether_type, htons(RTE_ETHER_TYPE_IPV4));
	struct rte_ipv4_hdr *oip = ip_of(out[0], sizeof(*eth));
	assert_int_equal(oip->src_addr, pb_addr("198.18.0.1"));
	assert_int_equal(oip->dst_addr, pb_addr("198.18.0.2"));
	assert_int_equal(oip->next_proto_id, IPPROTO_UDP);
	assert_int_equal(oip->fragment_offset, htons(RTE_IPV4_HDR_DF_FLAG));
	assert_int_equal(oip->time_to_live, 64);
	assert_true(pb_ip4_cksum_ok(oip));
	unsigned inner_len = sizeof(struct rte_ipv4_hdr) + 8 + 18;
	assert_int_equal(ntohs(oip->total_length), 20 + 8 + 8 + 14 + inner_len);
	assert_int_equal(rte_pktmbuf_pkt_len(out[0]), 14 + 20 + 8 + 8 + 14 + inner_len);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(oip + 1);
	assert_int_equal(ntohs(udp->dst_port), 4789);
	assert_true(ntohs(udp->src_port) >= 49152);
	assert_int_equal(ntohs(udp->dgram_len), 8 + 8 + 14 + inner_len);
	assert_int_equal(udp->dgram_cksum, 0);
	struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);
	assert_int_equal(ntohl(vx->vx_flags), 0x08000000);
	assert_int_equal(ntohl(vx->vx_vni), 42 << 8);
	struct rte_ether_hdr *ieth = (struct rte_ether_hdr *)(vx + 1);
	assert_int_equal(ieth->ether_type, htons(RTE_ETHER_TYPE_IPV4));
	/* Between sluice nodes: inner destination = the neighbour's MAC, source = ours. */
	assert_memory_equal(&ieth->dst_addr, &th_remote_mac, 6);
	assert_memory_equal(&ieth->src_addr, &th_uplink_mac, 6);
	struct rte_ipv4_hdr *iip = (struct rte_ipv4_hdr *)(ieth + 1);
	assert_int_equal(iip->time_to_live, 63);
	assert_true(pb_ip4_cksum_ok(iip));
	assert_int_equal(iip->dst_addr, pb_addr("10.244.2.2"));
	free_out(n);
}

/* A flannel-style node 3 (198.18.0.3, pods 10.244.3.0/24): its underlay neighbour has one
 * MAC, its VTEP (flannel.1) another.
 *
 *   pod A --- [ sluice node 1 ] === uplink ===> 198.18.0.3 underlay 02:f3:00:00:00:03
 *                                                   flannel.1 VtepMAC 02:f1:00:00:00:03 */
static const struct rte_ether_addr flannel_underlay_mac = { { 0x02, 0xf3, 0, 0, 0, 0x03 } };
static const struct rte_ether_addr flannel_vtep_mac = { { 0x02, 0xf1, 0, 0, 0, 0x03 } };
static const struct rte_ether_addr our_vtep_mac = { { 0x02, 0x5e, 0, 0, 0, 0x01 } };
static int flannel_neigh, flannel_nh[2];

static void flannel_node_add(void)
{
	flannel_neigh = sl_neigh_get(pb_addr("198.18.0.3"));
	uint64_t v = 0;
	memcpy(&v, &flannel_underlay_mac, 6);
	atomic_store(&sl_dp.neigh[flannel_neigh].mac_state, v | SL_NEIGH_VALID | SL_NEIGH_STATIC);
	struct sl_nh vx = { .type = SL_NH_VXLAN, .port = TH_UPLINK, .mtu = 1450,
			    .ip = pb_addr("198.18.0.3"), .neigh = (uint32_t)flannel_neigh,
			    .mac = flannel_vtep_mac };
	struct sl_nh ip = vx;
	ip.type = SL_NH_UPLINK;
	ip.mac = (struct rte_ether_addr){ { 0 } };
	flannel_nh[0] = sl_nh_alloc(&vx);
	flannel_nh[1] = sl_nh_alloc(&ip);
	assert_true(flannel_nh[0] >= 0 && flannel_nh[1] >= 0);
	assert_int_equal(sl_fib_set(0x0af40300, 24, flannel_nh[0]), 0);
	assert_int_equal(sl_fib_set(0xc6120003, 32, flannel_nh[1]), 0);
}

static int flannel_node_del(void **state)
{
	sl_fib_set(0x0af40300, 24, -1);
	sl_fib_set(0xc6120003, 32, -1);
	sl_nh_free((uint32_t)flannel_nh[0]);
	sl_nh_free((uint32_t)flannel_nh[1]);
	sl_neigh_put((uint32_t)flannel_neigh);
	sl_dp.conf.vtep_mac = (struct rte_ether_addr){ { 0 } };
	return th_test_teardown(state);
}

/* vxlan-encap to a node whose VTEP has its own MAC: the outer frame goes to the underlay
 * neighbour, the inner one to the VTEP's MAC (a kernel VXLAN device drops any other); the
 * inner source is our VTEP MAC (the uplink's, or vxlan.vtep_mac when set). */
static void test_vxlan_encap_vtep_mac(void **s)
{
	th_reset();
	flannel_node_add();
	for (int configured = 0; configured < 2; configured++) {
		if (configured)
			sl_dp.conf.vtep_mac = our_vtep_mac;
		struct pb_ip4 p = from_pod_a("10.244.3.2");
		unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8);
		assert_int_equal(n, 1);
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
		assert_memory_equal(&eth->dst_addr, &flannel_underlay_mac, 6);
		assert_memory_equal(&eth->src_addr, &th_uplink_mac, 6);
		struct rte_ipv4_hdr *oip = ip_of(out[0], sizeof(*eth));
		assert_int_equal(oip->dst_addr, pb_addr("198.18.0.3"));
		struct rte_ether_hdr *ieth = rte_pktmbuf_mtod_offset(out[0], struct rte_ether_hdr *,
								     14 + 20 + 8 + 8);
		assert_memory_equal(&ieth->dst_addr, &flannel_vtep_mac, 6);
		assert_memory_equal(&ieth->src_addr, configured ? &our_vtep_mac : &th_uplink_mac, 6);
		assert_int_equal(ip_of(out[0], 14 + 20 + 8 + 8 + 14)->dst_addr, pb_addr("10.244.3.2"));
		free_out(n);
	}
}

/* vxlan-decap of what a flannel node's kernel sends: inner source MAC its flannel.1, inner
 * destination our VTEP MAC (its permanent neighbour entry for us), inner source one of its
 * pods: delivered to pod B. */
static void test_vxlan_decap_from_flannel(void **s)
{
	th_reset();
	flannel_node_add();
	sl_dp.conf.vtep_mac = our_vtep_mac;
	struct pb_ip4 p = { .src_mac = flannel_vtep_mac, .dst_mac = our_vtep_mac,
			    .src = "10.244.3.2", .dst = "10.244.1.3", .ttl = 63, .payload = 10 };
	struct rte_mbuf *inner = pb_ip4(sl_dp.pool, &p);
	struct rte_mbuf *m = pb_vxlan(sl_dp.pool, th_uplink_mac, "198.18.0.3", "198.18.0.1",
				      4789, 42, 0x08, inner);
	rte_pktmbuf_free(inner);
	unsigned n = th_run(TH_UPLINK, m, TH_POD_B, out, 8);
	assert_int_equal(n, 1);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &th_pod_b_mac, 6);
	assert_int_equal(ip_of(out[0], 14)->src_addr, pb_addr("10.244.3.2"));
	free_out(n);
}

static uint16_t encap_sport(uint16_t inner_sport)
{
	struct pb_ip4 p = from_pod_a("10.244.2.2");
	p.sport = inner_sport;
	unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	struct rte_udp_hdr *udp = rte_pktmbuf_mtod_offset(out[0], struct rte_udp_hdr *, 34);
	uint16_t sp = ntohs(udp->src_port);
	free_out(n);
	return sp;
}

/* RFC 7348 5: the outer source port follows the inner flow: same flow, same port;
 * different flows spread. */
static void test_vxlan_sport_hash(void **s)
{
	th_reset();
	assert_int_equal(encap_sport(1000), encap_sport(1000));
	unsigned distinct = 0;
	uint16_t first = encap_sport(1);
	for (uint16_t i = 2; i < 34; i++)
		distinct += encap_sport(i) != first;
	assert_true(distinct >= 28);
}

/* vxlan-decap: a tunnelled packet for pod B is delivered to pod B, outer headers gone. */
static void test_vxlan_decap_to_pod(void **s)
{
	th_reset();
	struct pb_ip4 p = { .src_mac = th_remote_mac, .dst_mac = th_uplink_mac,
			    .src = "10.244.2.2", .dst = "10.244.1.3", .ttl = 63, .payload = 10 };
	struct rte_mbuf *inner = pb_ip4(sl_dp.pool, &p);
	struct rte_mbuf *m = pb_vxlan(sl_dp.pool, th_uplink_mac, "198.18.0.2", "198.18.0.1",
				      4789, 42, 0x08, inner);
	rte_pktmbuf_free(inner);
	unsigned n = th_run(TH_UPLINK, m, TH_POD_B, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(out[0]), 14 + 20 + 8 + 10);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &th_pod_b_mac, 6);
	assert_memory_equal(&eth->src_addr, &th_gw_mac, 6);
	struct rte_ipv4_hdr *ip = ip_of(out[0], 14);
	assert_int_equal(ip->time_to_live, 62);
	assert_true(pb_ip4_cksum_ok(ip));
	free_out(n);
}

static void decap_expect_drop(const char *src, const char *dst, uint16_t dport, uint32_t vni,
			      uint8_t flags, const char *inner_dst, enum sl_drop_reason why)
{
	th_reset();
	struct pb_ip4 p = { .src_mac = th_remote_mac, .dst_mac = th_uplink_mac,
			    .src = "10.244.2.2", .dst = inner_dst, .payload = 10 };
	struct rte_mbuf *inner = pb_ip4(sl_dp.pool, &p);
	struct rte_mbuf *m = pb_vxlan(sl_dp.pool, th_uplink_mac, src, dst, dport, vni, flags, inner);
	rte_pktmbuf_free(inner);
	unsigned n = 0;
	for (unsigned port = 0; port < TH_PORTS; port++)
		n += th_run(port == 0 ? TH_UPLINK : 0, port == 0 ? m : NULL, port, out, 8);
	assert_int_equal(n, 0);
	assert_int_equal(th_drops(why), 1);
}

static void test_vxlan_decap_drops(void **s)
{
	decap_expect_drop("198.18.0.2", "198.18.0.1", 4789, 43, 0x08, "10.244.1.3",
			  SL_DROP_VXLAN_BAD_VNI);
	decap_expect_drop("198.18.0.2", "198.18.0.1", 4789, 42, 0x00, "10.244.1.3",
			  SL_DROP_VXLAN_BAD_FLAGS);
	decap_expect_drop("198.18.0.9", "198.18.0.1", 4789, 42, 0x08, "10.244.1.3",
			  SL_DROP_VXLAN_INNER_SPOOFED);
	decap_expect_drop("198.18.0.2", "198.18.0.1", 4789, 42, 0x08, "10.244.3.3",
			  SL_DROP_VXLAN_INNER_NOT_LOCAL);
}

/* arp-input: proxy ARP for the gateway on a pod port. */
static void test_arp_gateway_reply(void **s)
{
	th_reset();
	struct rte_mbuf *m = pb_arp_request(sl_dp.pool, th_pod_a_mac, "10.244.1.2", "10.244.1.1");
	unsigned n = th_run(TH_POD_A, m, TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	assert_memory_equal(&eth->dst_addr, &th_pod_a_mac, 6);
	assert_memory_equal(&eth->src_addr, &th_gw_mac, 6);
	assert_int_equal(ntohs(arp->arp_opcode), RTE_ARP_OP_REPLY);
	assert_memory_equal(&arp->arp_data.arp_sha, &th_gw_mac, 6);
	assert_int_equal(arp->arp_data.arp_sip, pb_addr("10.244.1.1"));
	assert_memory_equal(&arp->arp_data.arp_tha, &th_pod_a_mac, 6);
	assert_int_equal(arp->arp_data.arp_tip, pb_addr("10.244.1.2"));
	free_out(n);
}

/* arp-input on the uplink: answer for the node address only (learning: test_trust.c). */
static void test_arp_uplink(void **s)
{
	th_reset();
	struct rte_mbuf *m = pb_arp_request(sl_dp.pool, th_remote_mac, "198.18.0.2", "198.18.0.1");
	unsigned n = th_run(TH_UPLINK, m, TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(out[0], struct rte_arp_hdr *, 14);
	assert_int_equal(ntohs(arp->arp_opcode), RTE_ARP_OP_REPLY);
	assert_memory_equal(&arp->arp_data.arp_sha, &th_uplink_mac, 6);
	assert_int_equal(arp->arp_data.arp_sip, pb_addr("198.18.0.1"));
	assert_memory_equal(&arp->arp_data.arp_tha, &th_remote_mac, 6);
	assert_int_equal(arp->arp_data.arp_tip, pb_addr("198.18.0.2"));
	free_out(n);
	m = pb_arp_request(sl_dp.pool, th_remote_mac, "198.18.0.2", "198.18.0.77");
	assert_int_equal(th_run(TH_UPLINK, m, TH_UPLINK, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_ARP_NOT_FOR_US), 1);
}

/* ip4-local: echo reply from the gateway address. */
static void test_icmp_echo_gateway(void **s)
{
	th_reset();
	struct pb_ip4 p = from_pod_a("10.244.1.1");
	p.proto = IPPROTO_ICMP;
	unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0], 14);
	assert_int_equal(ip->src_addr, pb_addr("10.244.1.1"));
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	assert_true(pb_ip4_cksum_ok(ip));
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_raw_cksum(icmp, ntohs(ip->total_length) - 20), 0xffff);
	free_out(n);
}

/* icmp-error: check the error that comes back to pod A for a packet to dst. */
static struct rte_icmp_hdr *expect_icmp_error(struct pb_ip4 *p, uint8_t type, uint8_t code,
					      enum sl_drop_reason why)
{
	th_reset();
	unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, p), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(th_drops(why), 1);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &th_pod_a_mac, 6);
	struct rte_ipv4_hdr *ip = ip_of(out[0], 14);
	assert_int_equal(ip->src_addr, pb_addr("10.244.1.1"));
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
	assert_true(pb_ip4_cksum_ok(ip));
	/* RFC 792: IP header + 8 bytes of the original are quoted. */
	assert_int_equal(ntohs(ip->total_length), 20 + 8 + 20 + 8);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(icmp->icmp_type, type);
	assert_int_equal(icmp->icmp_code, code);
	assert_int_equal(rte_raw_cksum(icmp, 8 + 28), 0xffff);
	struct rte_ipv4_hdr *quoted = (struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(quoted->src_addr, pb_addr("10.244.1.2"));
	return icmp;
}

static void test_icmp_ttl_exceeded(void **s)
{
	struct pb_ip4 p = from_pod_a("10.244.2.2");
	p.ttl = 1;
	expect_icmp_error(&p, SL_ICMP_TIME_EXCEEDED, 0, SL_DROP_TTL_EXCEEDED);
	free_out(1);
}

static void test_icmp_frag_needed(void **s)
{
	struct pb_ip4 p = from_pod_a("10.244.2.2");
	p.df = true;
	p.payload = 1500 - 28;
	struct rte_icmp_hdr *icmp = expect_icmp_error(&p, SL_ICMP_DEST_UNREACH,
						      SL_ICMP_UNREACH_NEEDFRAG, SL_DROP_DF_TOO_BIG);
	assert_int_equal(ntohs(icmp->icmp_seq_nb), 1450); /* RFC 1191 next-hop MTU */
	free_out(1);
	/* Without DF the packet is dropped (sluiced does not fragment). */
	th_reset();
	p.df = false;
	assert_int_equal(th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_IP4_NEEDS_FRAGMENT), 1);
}

static int64_t saved_default_nh = -1;

static void test_icmp_unreachable(void **s)
{
	saved_default_nh = sl_route_lookup(pb_addr("10.99.0.1"));
	sl_fib_set(0, 0, -1); /* no default route for this test (its teardown puts it back) */
	struct pb_ip4 p = from_pod_a("10.99.0.1");
	expect_icmp_error(&p, SL_ICMP_DEST_UNREACH, SL_ICMP_UNREACH_NET, SL_DROP_NO_ROUTE);
	free_out(1);
	p = from_pod_a("10.244.1.99");
	expect_icmp_error(&p, SL_ICMP_DEST_UNREACH, SL_ICMP_UNREACH_HOST, SL_DROP_NO_SUCH_POD);
	free_out(1);
}

/* Teardown of test_icmp_unreachable: the default route back, then the leak check. */
static int restore_default_route(void **s)
{
	if (saved_default_nh >= 0)
		sl_fib_set(0, 0, saved_default_nh);
	saved_default_nh = -1;
	return th_test_teardown(s);
}

/* The default route is back after test_icmp_unreachable: 10.99.0.1 goes out the uplink. */
static void test_default_route_restored(void **s)
{
	th_reset();
	struct pb_ip4 p = from_pod_a("10.99.0.1");
	unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &th_gw254_mac, 6);
	free_out(n);
}

/* Send n TTL=1 packets from pod A; return how many ICMP errors came back to it. */
static unsigned ttl1_errors(unsigned n)
{
	struct pb_ip4 p = from_pod_a("10.244.1.3");
	p.ttl = 1;
	unsigned got = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned k = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_POD_A, out, 8);
		free_out(k);
		got += k;
	}
	return got;
}

static uint32_t saved_icmp_rate;

/* Teardown of test_icmp_rate_limit: the harness's rate back, then the leak check. */
static int restore_icmp_rate(void **s)
{
	sl_dp.conf.icmp_rate = saved_icmp_rate;
	return th_test_teardown(s);
}

/* icmp-error's token bucket (RFC 1812 4.3.2.8; 50 tokens deep): with 1 error/s, a burst of
 * 200 gets what the bucket holds (49: full at the harness's 10^6/s, less the one the
 * warm-up took; plus at most one token per second the burst takes), the rest are counted
 * as icmp-rate-limited; at 20/s, ~250 ms later about 5 more go out, bounded by the time
 * that really passed. */
static void test_icmp_rate_limit(void **s)
{
	saved_icmp_rate = sl_dp.conf.icmp_rate;
	th_reset();
	ttl1_errors(1); /* refills the bucket (to 50, less this one) at 10^6/s */
	th_reset();
	sl_dp.conf.icmp_rate = 1;
	uint64_t t0 = rte_rdtsc();
	unsigned got = ttl1_errors(200);
	unsigned secs = (unsigned)((rte_rdtsc() - t0) / rte_get_tsc_hz());
	assert_in_range(got, 49, 49 + secs + 1);
	assert_int_equal(th_drops(SL_DROP_ICMP_RATE_LIMITED), 200 - got);
	assert_int_equal(th_drops(SL_DROP_TTL_EXCEEDED), 200);

	sl_dp.conf.icmp_rate = 20;
	ttl1_errors(60); /* empty the bucket (what 1/s left plus what 20/s refills) */
	th_reset();
	t0 = rte_rdtsc();
	rte_delay_us_sleep(250 * 1000);
	got = ttl1_errors(100);
	double el = (double)(rte_rdtsc() - t0) / (double)rte_get_tsc_hz();
	assert_in_range(got, 4, (unsigned)(el * 20) + 2);
	assert_int_equal(th_drops(SL_DROP_ICMP_RATE_LIMITED), 100 - got);
}

/* Malformed input: each frame is dropped with its own reason, nothing is sent. */
static void expect_drop(struct rte_mbuf *m, unsigned port, enum sl_drop_reason why)
{
	th_reset();
	unsigned n = th_run(port, m, TH_UPLINK, out, 8);
	for (unsigned p = 1; p < TH_PORTS; p++)
		n += th_run(p, NULL, p, out + n, 8 - n);
	assert_int_equal(n, 0);
	assert_int_equal(th_drops(why), 1);
}

static void test_malformed_drops(void **s)
{
	struct pb_ip4 p = from_pod_a("10.244.1.3");
	struct rte_mbuf *m;

	m = pb_ip4(sl_dp.pool, &p);
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - 10);
	expect_drop(m, TH_POD_A, SL_DROP_ETH_TRUNCATED);

	m = pb_ip4(sl_dp.pool, &p);
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - 24);
	expect_drop(m, TH_POD_A, SL_DROP_IP4_TRUNCATED);

	m = pb_ip4(sl_dp.pool, &p);
	ip_of(m, 14)->version_ihl = 0x44;
	expect_drop(m, TH_POD_A, SL_DROP_IP4_BAD_IHL);

	m = pb_ip4(sl_dp.pool, &p);
	ip_of(m, 14)->version_ihl = 0x65;
	expect_drop(m, TH_POD_A, SL_DROP_IP4_BAD_VERSION);

	m = pb_ip4(sl_dp.pool, &p);
	ip_of(m, 14)->hdr_checksum ^= 0x0101;
	expect_drop(m, TH_POD_A, SL_DROP_IP4_BAD_CHECKSUM);

	m = pb_ip4(sl_dp.pool, &p);
	struct rte_ipv4_hdr *ip = ip_of(m, 14);
	ip->total_length = htons(1400);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	expect_drop(m, TH_POD_A, SL_DROP_IP4_BAD_LENGTH);

	m = pb_ip4(sl_dp.pool, &p);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = htons(0x86dd);
	expect_drop(m, TH_POD_A, SL_DROP_ETH_UNSUPPORTED);

	m = pb_ip4(sl_dp.pool, &p);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = th_pod_b_mac;
	expect_drop(m, TH_POD_A, SL_DROP_ETH_NOT_FOR_US);

	m = pb_arp_request(sl_dp.pool, th_pod_a_mac, "10.244.1.2", "10.244.1.1");
	rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, 14)->arp_plen = 16;
	expect_drop(m, TH_POD_A, SL_DROP_ARP_MALFORMED);

	/* RFC 1812 5.3.4/5.3.5: no routing of broadcast or multicast. */
	struct pb_ip4 b = from_pod_a("255.255.255.255");
	expect_drop(pb_ip4(sl_dp.pool, &b), TH_POD_A, SL_DROP_IP4_BAD_DESTINATION);
	b = from_pod_a("224.0.0.251");
	expect_drop(pb_ip4(sl_dp.pool, &b), TH_POD_A, SL_DROP_IP4_BAD_DESTINATION);
	b = from_pod_a("10.244.1.3");
	memset(&b.dst_mac, 0xff, 6);
	expect_drop(pb_ip4(sl_dp.pool, &b), TH_POD_A, SL_DROP_IP4_L2_BROADCAST);
}

/* Neighbour slots come back after delete (lock-free hash: freed after a grace period). */
static void test_neigh_slots_reused(void **s)
{
	for (unsigned i = 0; i < 3 * sl_dp.neigh_max; i++) {
		int idx = sl_neigh_get(htonl(0xcb007100 + (i % 200)));
		assert_true(idx >= 0);
		sl_neigh_put((uint32_t)idx);
	}
}

static void test_neigh_unresolved(void **s)
{
	th_reset();
	th_neigh_resolved(false);
	struct pb_ip4 p = from_pod_a("10.244.2.2");
	assert_int_equal(th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_NEIGH_UNRESOLVED), 1);
	th_neigh_resolved(true);
}

/* Move m's frame to start headroom bytes into its buffer, as a port whose mbufs carry
 * little headroom would deliver it. Keep headroom even: the Ethernet header is 2-aligned. */
static struct rte_mbuf *with_headroom(struct rte_mbuf *m, uint16_t headroom)
{
	memmove((uint8_t *)m->buf_addr + headroom, rte_pktmbuf_mtod(m, void *),
		rte_pktmbuf_data_len(m));
	m->data_off = headroom;
	return m;
}

/* vxlan-encap needs 64 bytes in front of the inner IP packet (outer Ethernet, IPv4, UDP,
 * VXLAN, inner Ethernet); eth-input gives back 14. With 50 bytes of headroom the frame is
 * encapsulated; with 48 it is dropped as no-headroom (it was counted as neigh-unresolved). */
static void test_vxlan_encap_no_headroom(void **s)
{
	th_reset();
	struct pb_ip4 p = from_pod_a("10.244.2.2");
	struct rte_mbuf *m = with_headroom(pb_ip4(sl_dp.pool, &p), 50);
	assert_int_equal(th_run(TH_POD_A, m, TH_UPLINK, out, 8), 1);
	assert_int_equal(rte_pktmbuf_headroom(out[0]), 0);
	free_out(1);

	m = with_headroom(pb_ip4(sl_dp.pool, &p), 48);
	assert_int_equal(th_run(TH_POD_A, m, TH_UPLINK, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_NO_HEADROOM), 1);
	assert_int_equal(th_drops(SL_DROP_NEIGH_UNRESOLVED), 0);
}

/* eth-output cannot prepend the Ethernet header: here an ICMP error built in a frame that
 * arrived with 26 bytes of headroom (eth-input gives back 14, icmp-error takes 28, 12 are
 * left) is dropped as no-headroom (it was counted as port-gone). */
static void test_eth_output_no_headroom(void **s)
{
	th_reset();
	struct pb_ip4 p = from_pod_a("10.244.1.3");
	p.ttl = 1;
	struct rte_mbuf *m = with_headroom(pb_ip4(sl_dp.pool, &p), 26);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_A, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_TTL_EXCEEDED), 1);
	assert_int_equal(th_drops(SL_DROP_NO_HEADROOM), 1);
	assert_int_equal(th_drops(SL_DROP_PORT_GONE), 0);

	/* With 28 bytes the error goes out, with no headroom left. */
	th_reset();
	m = with_headroom(pb_ip4(sl_dp.pool, &p), 28);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_A, out, 8), 1);
	assert_int_equal(rte_pktmbuf_headroom(out[0]), 0);
	free_out(1);
	assert_int_equal(th_drops(SL_DROP_NO_HEADROOM), 0);
}

/* icmp-error cannot prepend its IP and ICMP headers (28 bytes; 12 + 14 from eth-input):
 * no-headroom (it was counted as icmp-no-error-for-error). */
static void test_icmp_error_no_headroom(void **s)
{
	th_reset();
	struct pb_ip4 p = from_pod_a("10.244.1.3");
	p.ttl = 1;
	struct rte_mbuf *m = with_headroom(pb_ip4(sl_dp.pool, &p), 12);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_A, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_TTL_EXCEEDED), 1);
	assert_int_equal(th_drops(SL_DROP_NO_HEADROOM), 1);
	assert_int_equal(th_drops(SL_DROP_ICMP_NO_ERROR_FOR_ERROR), 0);
}

/* Every drop reason has its drop node, and a node's edges are the ones its X-macro lists,
 * in order, drop edges named from the reason. */
static void test_drop_nodes_and_edges(void **s)
{
	for (unsigned r = 0; r < SL_DROP_COUNT; r++) {
		char name[RTE_NODE_NAMESIZE];
		snprintf(name, sizeof(name), "drop-%s", sl_drop_name(r));
		assert_int_not_equal(rte_node_from_name(name), RTE_NODE_ID_INVALID);
	}
	assert_string_equal(sl_drop_name(SL_DROP_NO_HEADROOM), "no-headroom");
	assert_string_equal(sl_drop_nodes.NO_HEADROOM, "drop-no-headroom");

	const char *want[] = { "port-tx", "drop-neigh-unresolved", "drop-port-gone",
			       "drop-no-headroom" };
	rte_node_t id = rte_node_from_name("vxlan-encap");
	char *names[8];
	assert_int_equal(rte_node_edge_get(id, NULL), 4 * sizeof(char *));
	assert_int_equal(rte_node_edge_count(id), 4);
	rte_node_edge_get(id, names);
	for (unsigned i = 0; i < 4; i++)
		assert_string_equal(names[i], want[i]);
}

/* The metadata area is what the pool reserves. */
static void test_mbuf_priv_size(void **s)
{
	assert_int_equal(rte_pktmbuf_priv_size(sl_dp.pool), SL_MBUF_PRIV_SIZE);
	assert_true(sizeof(struct sl_mbuf_priv) <= SL_MBUF_PRIV_SIZE);
}

/* RFC 1624 incremental update equals a full recompute, over many headers. */
static void test_ttl_checksum_incremental(void **s)
{
	struct rte_ipv4_hdr ip;
	uint32_t seed = 12345;
	for (int i = 0; i < 100000; i++) {
		uint8_t *b = (uint8_t *)&ip;
		for (size_t k = 0; k < sizeof(ip); k++) {
			seed = seed * 1103515245 + 12345;
			b[k] = (uint8_t)(seed >> 16);
		}
		ip.version_ihl = 0x45;
		ip.time_to_live = (uint8_t)(ip.time_to_live | 2);
		ip.hdr_checksum = 0;
		ip.hdr_checksum = rte_ipv4_cksum(&ip);
		sl_ip4_ttl_dec(&ip);
		assert_int_equal(rte_raw_cksum(&ip, sizeof(ip)), 0xffff);
	}
}

/* Trace: an armed trace records each node a packet passes; off, nothing is recorded. */
/* The mbuf pool fits net_af_xdp's zero-copy UMEM whole, where DPDK's default layout does not
 * with 4 KiB pages (the multi-worker uplink stall, sl_mbuf_pool.h). */
static void test_mbuf_pool_fits_umem(void **s)
{
	assert_true(sl_mbuf_pool_fits_umem(sl_dp.pool));
	struct rte_mbuf *m = rte_pktmbuf_alloc(sl_dp.pool);
	assert_non_null(m);
	assert_true(rte_pktmbuf_tailroom(m) >= 2048);
	rte_pktmbuf_free(m);

	struct rte_mempool *def = rte_pktmbuf_pool_create("default_layout", 1024, 0, 0,
							  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(def);
	assert_false(sl_mbuf_pool_fits_umem(def));
	rte_mempool_free(def);
}

static void test_trace(void **s)
{
	th_reset();
	struct sl_worker *w = &sl_dp.workers[0];
	struct pb_ip4 p = from_pod_a("10.244.2.2");
	atomic_store(&w->trace_n, 0);
	unsigned n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	free_out(n);
	assert_int_equal(atomic_load(&w->trace_n), 0);
	atomic_store(&w->trace_budget, 1);
	n = th_run(TH_POD_A, pb_ip4(sl_dp.pool, &p), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	free_out(n);
	const char *want[] = { "port-rx", "eth-input", "ip4-input", "ip4-lookup", "vxlan-encap",
			       "port-tx" };
	assert_int_equal(atomic_load(&w->trace_n), 6);
	for (unsigned i = 0; i < 6; i++)
		assert_string_equal(w->trace[i].node, want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_pod_to_local_pod),
		TH_TEST(test_vxlan_encap_headers),
		TH_TEST(test_vxlan_sport_hash),
		TH_TEST(test_vxlan_decap_to_pod),
		TH_TEST(test_vxlan_decap_drops),
		cmocka_unit_test_setup_teardown(test_vxlan_encap_vtep_mac, th_test_setup,
						flannel_node_del),
		cmocka_unit_test_setup_teardown(test_vxlan_decap_from_flannel, th_test_setup,
						flannel_node_del),
		TH_TEST(test_arp_gateway_reply),
		TH_TEST(test_arp_uplink),
		TH_TEST(test_icmp_echo_gateway),
		TH_TEST(test_icmp_ttl_exceeded),
		TH_TEST(test_icmp_frag_needed),
		cmocka_unit_test_setup_teardown(test_icmp_unreachable, th_test_setup,
						restore_default_route),
		TH_TEST(test_default_route_restored),
		cmocka_unit_test_setup_teardown(test_icmp_rate_limit, th_test_setup,
						restore_icmp_rate),
		TH_TEST(test_malformed_drops),
		TH_TEST(test_neigh_unresolved),
		TH_TEST(test_neigh_slots_reused),
		TH_TEST(test_vxlan_encap_no_headroom),
		TH_TEST(test_eth_output_no_headroom),
		TH_TEST(test_icmp_error_no_headroom),
		TH_TEST(test_drop_nodes_and_edges),
		TH_TEST(test_mbuf_priv_size),
		TH_TEST(test_ttl_checksum_incremental),
		TH_TEST(test_trace),
		TH_TEST(test_mbuf_pool_fits_umem),
	};
	return cmocka_run_group_tests_name("dataplane", tests, th_setup, NULL);
}
