/* Services' source translation (SNAT) through the real graph: node ports reached from the
 * underlay (backend remote: SNAT; local: the client's address kept), hairpin, SNAT ports
 * running out, and pod egress masquerade (TCP, ICMP echo). Helpers: lb_test.h.
 *
 *   pod A 10.244.1.2 (client) --+                     +-- uplink, remote node 198.18.0.2
 *   pod B 10.244.1.3 (backend) -+-- sluice (ip4-lb) --+   with pod 10.244.2.2 (backend)
 *   Services: see th_lb_setup() in harness.h
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/core/sl_worker.h"
#include "control/core/sl_show_ct.h"
#include "dataplane/ct/ct_walk.h"
#include "dataplane/lb/lb_nat.h"
#include "dataplane/lb/lb_stats.h"
#include "dataplane/lb/lb_table.h"
#include "dataplane/lb/maglev.h"
#include "harness.h"
#include "lb_test.h"
#include "pktbuild.h"

static struct rte_mbuf *out[8];

/* TCP from an underlay client (plain IPv4 on the uplink). */
static struct rte_mbuf *tcp_from_uplink(const char *src, const char *dst, uint16_t sport,
					uint16_t dport, uint8_t flags)
{
	struct pb_ip4 p = { .src_mac = th_remote_mac, .dst_mac = th_uplink_mac, .src = src,
			    .dst = dst, .proto = IPPROTO_TCP, .sport = sport, .dport = dport,
			    .payload = 12, .seq = 1000, .tcp_flags = flags };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	pb_l4_cksum(m);
	return m;
}

static int service1(const char *vip, uint16_t port, const char *b, uint16_t bport)
{
	struct sl_lb_frontend fe = { .vip = pb_addr(vip), .port = htons(port),
				     .proto = IPPROTO_TCP };
	struct sl_lb_backend be = { .ip = pb_addr(b), .port = htons(bport) };
	return sl_lb_service_set(&fe, &be, 1, 0);
}

/* The inner IPv4 header of a VXLAN frame as th_run returns it. */
static struct rte_ipv4_hdr *inner_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14 + 20 + 8 + 8 + 14);
}

/* A client outside the cluster reaches a node port whose backend is on another node
 * (externalTrafficPolicy Cluster): the request leaves through VXLAN from the node address
 * and a port of the SNAT range, so the backend answers us; its reply (plain IPv4 from the
 * other node, to the node address) goes back to the client from the node port. The flow's
 * later packets keep the same port. */
static void test_lb_nodeport_snat(void **st)
{
	th_reset();
	ct_clear();
	assert_int_equal(service1("198.18.0.1", 30080, "10.244.2.2", 8080), 0);
	unsigned n = th_run(TH_UPLINK, tcp_from_uplink("198.18.0.100", "198.18.0.1", 50000,
							30080, RTE_TCP_SYN_FLAG), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	struct rte_ipv4_hdr *in = inner_of(out[0]);
	assert_int_equal(in->src_addr, pb_addr("198.18.0.1"));
	assert_int_equal(in->dst_addr, pb_addr("10.244.2.2"));
	uint16_t sport = ntohs(ports_of(in)[0]);
	assert_true(sport >= SL_LB_SNAT_PORT_LO);
	assert_int_equal(ntohs(ports_of(in)[1]), 8080);
	assert_true(pb_ip4_cksum_ok(in));
	assert_true(pb_l4_cksum_ok(in));
	rte_pktmbuf_free(out[0]);

	n = th_run(TH_UPLINK, tcp_from_uplink("10.244.2.2", "198.18.0.1", 8080, sport,
					      RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "198.18.0.1", 30080, "198.18.0.100", 50000);
	rte_pktmbuf_free(out[0]);

	n = th_run(TH_UPLINK, tcp_from_uplink("198.18.0.100", "198.18.0.1", 50000, 30080,
					      RTE_TCP_ACK_FLAG), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	in = inner_of(out[0]);
	assert_int_equal(in->src_addr, pb_addr("198.18.0.1"));
	assert_int_equal(ntohs(ports_of(in)[0]), sport);
	assert_true(pb_l4_cksum_ok(in));
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_ct_count(), 1);
	assert_int_equal(sl_lb_service_del(&(struct sl_lb_frontend){
		.vip = pb_addr("198.18.0.1"), .port = htons(30080), .proto = IPPROTO_TCP }), 0);
}

/* A node port whose backend is on this node keeps the client's address (what
 * externalTrafficPolicy Local relies on): no SNAT, the reply leaves from the node port. */
static void test_lb_nodeport_local_keeps_client(void **st)
{
	th_reset();
	ct_clear();
	assert_int_equal(service1("198.18.0.1", 30081, "10.244.1.3", 8080), 0);
	unsigned n = th_run(TH_UPLINK, tcp_from_uplink("198.18.0.100", "198.18.0.1", 50001,
							30081, RTE_TCP_SYN_FLAG), TH_POD_B, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "198.18.0.100", 50001, "10.244.1.3", 8080);
	rte_pktmbuf_free(out[0]);
	n = th_run(TH_POD_B, tcp("10.244.1.3", "198.18.0.100", 8080, 50001,
				 RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "198.18.0.1", 30081, "198.18.0.100", 50001);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_lb_service_del(&(struct sl_lb_frontend){
		.vip = pb_addr("198.18.0.1"), .port = htons(30081), .proto = IPPROTO_TCP }), 0);
}

/* Hairpin: pod A reaches a Service whose backend is pod A itself; it sees the connection
 * come from the node address (not from itself, a martian), and its reply goes back to it
 * from the Service. */
static void test_lb_hairpin(void **st)
{
	th_reset();
	ct_clear();
	assert_int_equal(service1("10.96.0.14", 80, "10.244.1.2", 8080), 0);
	unsigned n = th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.14", 40100, 80, RTE_TCP_SYN_FLAG,
					  th_pod_a_mac), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	assert_int_equal(ip->src_addr, pb_addr("198.18.0.1"));
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	uint16_t sport = ntohs(ports_of(ip)[0]);
	assert_true(sport >= SL_LB_SNAT_PORT_LO);
	assert_true(pb_ip4_cksum_ok(ip) && pb_l4_cksum_ok(ip));
	rte_pktmbuf_free(out[0]);
	n = th_run(TH_POD_A, tcp("10.244.1.2", "198.18.0.1", 8080, sport,
				 RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "10.96.0.14", 80, "10.244.1.2", 40100);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_lb_service_del(&(struct sl_lb_frontend){
		.vip = pb_addr("10.96.0.14"), .port = htons(80), .proto = IPPROTO_TCP }), 0);
}

/* Every SNAT'ed flow to one backend gets its own port; when the worker's ports to that
 * backend are all taken, a new flow is dropped as snat-no-port (counted) and the others go
 * on. A 32-port range here (the smallest sl_lb_init takes for one worker). */
static void test_lb_snat_ports_exhausted(void **st)
{
	th_reset();
	ct_clear();
	sl_dp_drain();
	sl_lb_fini();
	struct sl_lb_conf c = { .max_services = 64, .snat_port_lo = 61000,
				.snat_port_hi = 61000 + SL_CT_SNAT_TRIES - 1,
				.ct = { .size = TH_CT_SIZE } };
	assert_int_equal(sl_lb_init(&c), 0);
	assert_int_equal(service1("198.18.0.1", 30082, "10.244.2.2", 8080), 0);
	bool used[SL_CT_SNAT_TRIES] = { false };
	for (unsigned i = 0; i < SL_CT_SNAT_TRIES; i++) {
		unsigned n = th_run(TH_UPLINK, tcp_from_uplink("198.18.0.100", "198.18.0.1",
							       (uint16_t)(51000 + i), 30082,
							       RTE_TCP_SYN_FLAG), TH_UPLINK, out, 8);
		assert_int_equal(n, 1);
		uint16_t p = ntohs(ports_of(inner_of(out[0]))[0]);
		assert_true(p >= 61000 && p < 61000 + SL_CT_SNAT_TRIES);
		assert_false(used[p - 61000]);
		used[p - 61000] = true;
		rte_pktmbuf_free(out[0]);
	}
	unsigned n = th_run(TH_UPLINK, tcp_from_uplink("198.18.0.100", "198.18.0.1", 52000, 30082,
						       RTE_TCP_SYN_FLAG), TH_UPLINK, out, 8);
	assert_int_equal(n, 0);
	assert_int_equal(th_drops(SL_DROP_SNAT_NO_PORT), 1);
	assert_int_equal(atomic_load(&sl_ct.snat_no_port), 1);
	assert_int_equal(sl_ct_count(), SL_CT_SNAT_TRIES);
	/* A range smaller than the probe count is refused. */
	ct_clear();
	sl_dp_drain();
	sl_lb_fini();
	c.snat_port_hi = 61000 + SL_CT_SNAT_TRIES - 2;
	assert_int_equal(sl_lb_init(&c), -EINVAL);
	assert_int_equal(th_lb_setup(), 0);
}

/* Pod egress masquerade: a TCP connection pod A opens to an address outside the cluster
 * (through the gateway) leaves from the node address and a port of ours; the reply reaches
 * pod A from that address. Pod-to-pod traffic, traffic to a node's own address and TCP that
 * does not start with a SYN (a reply to someone who reached the pod) are untouched. */
static void test_lb_masquerade(void **st)
{
	th_reset();
	ct_clear();
	sl_dp_drain();
	sl_lb_fini();
	struct sl_lb_conf c = { .max_services = 64, .masquerade = true,
				.cluster_net = pb_addr("10.244.0.0"),
				.cluster_mask = htonl(0xffff0000), .ct = { .size = TH_CT_SIZE } };
	assert_int_equal(sl_lb_init(&c), 0);
	assert_true(sl_lb_active());

	unsigned n = th_run(TH_POD_A, tcp("10.244.1.2", "198.18.1.2", 40200, 443, RTE_TCP_SYN_FLAG,
					  th_pod_a_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	assert_int_equal(ip->src_addr, pb_addr("198.18.0.1"));
	uint16_t sport = ntohs(ports_of(ip)[0]);
	assert_true(sport >= SL_LB_SNAT_PORT_LO);
	expect(out[0], "198.18.0.1", sport, "198.18.1.2", 443);
	rte_pktmbuf_free(out[0]);
	n = th_run(TH_UPLINK, tcp_from_uplink("198.18.1.2", "198.18.0.1", 443, sport,
					      RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "198.18.1.2", 443, "10.244.1.2", 40200);
	rte_pktmbuf_free(out[0]);

	/* Untouched: to a pod of another node, to a node address, TCP without a SYN. */
	n = th_run(TH_POD_A, tcp("10.244.1.2", "10.244.2.2", 40201, 80, RTE_TCP_SYN_FLAG,
				 th_pod_a_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(inner_of(out[0])->src_addr, pb_addr("10.244.1.2"));
	rte_pktmbuf_free(out[0]);
	n = th_run(TH_POD_A, tcp("10.244.1.2", "198.18.0.2", 40202, 80, RTE_TCP_SYN_FLAG,
				 th_pod_a_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "10.244.1.2", 40202, "198.18.0.2", 80);
	rte_pktmbuf_free(out[0]);
	n = th_run(TH_POD_A, tcp("10.244.1.2", "198.18.1.2", 8080, 50000,
				 RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "10.244.1.2", 8080, "198.18.1.2", 50000);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_ct_count(), 1);

	ct_clear();
	sl_dp_drain();
	sl_lb_fini();
	assert_int_equal(th_lb_setup(), 0);
}

/* An ICMP echo (type 0 or 8) from the given MAC, identifier id, checksum set. */
static struct rte_mbuf *echo(const char *src, const char *dst, uint8_t type, uint16_t id,
			     struct rte_ether_addr smac, struct rte_ether_addr dmac)
{
	struct pb_ip4 p = { .src_mac = smac, .dst_mac = dmac, .src = src, .dst = dst,
			    .proto = IPPROTO_ICMP, .payload = 16 };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip_of(m) + 1);
	ic->icmp_type = type;
	ic->icmp_ident = htons(id);
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, sizeof(*ic) + 16);
	return m;
}

/* The echo's addresses, identifier and checksums. */
static void expect_echo(struct rte_mbuf *m, const char *src, const char *dst, uint16_t id)
{
	struct rte_ipv4_hdr *ip = ip_of(m);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(ip->src_addr, pb_addr(src));
	assert_int_equal(ip->dst_addr, pb_addr(dst));
	assert_int_equal(ntohs(ic->icmp_ident), id);
	assert_true(pb_ip4_cksum_ok(ip));
	assert_int_equal(rte_raw_cksum(ic, sizeof(*ic) + 16), 0xffff);
}

/* Masquerade of ping (RFC 5508 3.1: the identifier is the query's port): pod A's echo
 * request to outside leaves from the node address with an identifier of ours, the reply
 * comes back to pod A with its own; an echo reply of pod A's (someone outside pinged it)
 * is untouched. */
static void test_lb_masquerade_icmp(void **st)
{
	th_reset();
	ct_clear();
	sl_dp_drain();
	sl_lb_fini();
	struct sl_lb_conf c = { .max_services = 64, .masquerade = true,
				.cluster_net = pb_addr("10.244.0.0"),
				.cluster_mask = htonl(0xffff0000), .ct = { .size = TH_CT_SIZE } };
	assert_int_equal(sl_lb_init(&c), 0);

	unsigned n = th_run(TH_POD_A, echo("10.244.1.2", "198.18.1.2", RTE_IP_ICMP_ECHO_REQUEST,
					   0x1234, th_pod_a_mac, th_gw_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip_of(out[0]) + 1);
	uint16_t id = ntohs(ic->icmp_ident);
	assert_true(id >= SL_LB_SNAT_PORT_LO);
	expect_echo(out[0], "198.18.0.1", "198.18.1.2", id);
	rte_pktmbuf_free(out[0]);
	n = th_run(TH_UPLINK, echo("198.18.1.2", "198.18.0.1", RTE_IP_ICMP_ECHO_REPLY, id,
				   th_remote_mac, th_uplink_mac), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	expect_echo(out[0], "198.18.1.2", "10.244.1.2", 0x1234);
	rte_pktmbuf_free(out[0]);

	n = th_run(TH_POD_A, echo("10.244.1.2", "198.18.1.2", RTE_IP_ICMP_ECHO_REPLY, 0x4321,
				  th_pod_a_mac, th_gw_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	expect_echo(out[0], "10.244.1.2", "198.18.1.2", 0x4321);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_ct_count(), 1);

	ct_clear();
	sl_dp_drain();
	sl_lb_fini();
	assert_int_equal(th_lb_setup(), 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_lb_nodeport_snat),
		TH_TEST(test_lb_nodeport_local_keeps_client),
		TH_TEST(test_lb_hairpin),
		TH_TEST(test_lb_snat_ports_exhausted),
		TH_TEST(test_lb_masquerade),
		TH_TEST(test_lb_masquerade_icmp),
		TH_TEST(test_lb_no_mbuf_leak),
	};
	return cmocka_run_group_tests_name("lb_snat", tests, lb_setup, NULL);
}
