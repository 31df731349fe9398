/* NetworkPolicy in the fast path (dataplane/policy): ip4-policy through the real graph, with
 * sets built by hand in the form the model compiles (control/model/sl_policy_set.h), and the
 * rte_acl classifier held to a plain linear scan of the same set on random sets and packets.
 *
 *   pod A 10.244.1.2 (port 2) --+                       +-- uplink, remote node 198.18.0.2
 *   pod B 10.244.1.3 (port 3) --+-- sluice (ip4-policy) +   pods 10.244.2.0/24 (VXLAN)
 *   host  198.18.0.1 (port 1) --+
 *   Services: harness.h (10.96.0.10:80/tcp -> pod B 10.244.1.3:8080)
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
#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/core/sl_worker.h"
#include "dataplane/ct/ct.h"
#include "dataplane/lb/lb_table.h"
#include "dataplane/policy/pol_table.h"
#include "harness.h"
#include "pktbuild.h"

#define A_IP 0x0af40102u  /* pod A, host order */
#define B_IP 0x0af40103u  /* pod B */
#define REMOTE_NET 0x0af40200u /* the remote node's pods */

static struct rte_mbuf *out[8];

/* A hand-built set: a few policies, rules and isolated pods per direction. */
enum { TS_RULES = 64, TS_ISO = 8, TS_POLS = 8 };
static struct {
	struct sl_pol_set s;
	struct sl_pol_rule rules[SL_POL_NDIRS][TS_RULES];
	uint32_t iso[SL_POL_NDIRS][TS_ISO], iso_by[SL_POL_NDIRS][TS_ISO];
	char names[TS_POLS][SL_POL_NAME_MAX + 1];
} ts;

static void ts_reset(uint64_t generation)
{
	memset(&ts, 0, sizeof(ts));
	for (unsigned d = 0; d < SL_POL_NDIRS; d++) {
		ts.s.dir[d].rules = ts.rules[d];
		ts.s.dir[d].isolated = ts.iso[d];
		ts.s.dir[d].isolated_by = ts.iso_by[d];
	}
	ts.s.names = ts.names;
	ts.s.generation = generation;
}

static uint32_t ts_policy(const char *name)
{
	snprintf(ts.names[ts.s.n_policies], sizeof(ts.names[0]), "%s", name);
	return ts.s.n_policies++;
}

/* Isolate pod ip (host order) in dir, by policy pol (sorted insert). */
static void ts_isolate(enum sl_pol_dir dir, uint32_t ip, uint32_t pol)
{
	struct sl_pol_dir_set *d = &ts.s.dir[dir];
	uint32_t i = d->n_isolated++;
	while (i > 0 && ts.iso[dir][i - 1] > ip) {
		ts.iso[dir][i] = ts.iso[dir][i - 1];
		ts.iso_by[dir][i] = ts.iso_by[dir][i - 1];
		i--;
	}
	ts.iso[dir][i] = ip;
	ts.iso_by[dir][i] = pol;
}

static void ts_rule(enum sl_pol_dir dir, uint32_t pod, uint32_t peer, uint8_t len, uint8_t proto,
		    uint16_t lo, uint16_t hi, uint32_t pol, uint32_t rule)
{
	struct sl_pol_dir_set *d = &ts.s.dir[dir];
	ts.rules[dir][d->n_rules++] = (struct sl_pol_rule){
		.pod_ip = pod, .peer_net = peer, .peer_len = len, .proto = proto,
		.port_lo = lo, .port_hi = hi, .policy = pol, .rule = rule };
}

static void ts_publish(void)
{
	assert_int_equal(sl_pol_publish(&ts.s), 0);
	sl_dp_drain();
}

static void ct_clear(void)
{
	sl_ct_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
	atomic_store(&sl_ct.insert_failed, 0);
}

/* No policy at all: ip4-policy off the path. */
static void pol_clear(void)
{
	ts_reset(1);
	ts_publish();
	assert_false(sl_pol_active());
}

static struct rte_mbuf *tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			    uint8_t flags, struct rte_ether_addr smac)
{
	struct pb_ip4 p = { .src_mac = smac, .dst_mac = th_gw_mac, .src = src, .dst = dst,
			    .proto = IPPROTO_TCP, .sport = sport, .dport = dport,
			    .payload = 12, .seq = 1000, .tcp_flags = flags };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	pb_l4_cksum(m);
	return m;
}

static struct rte_mbuf *udp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			    struct rte_ether_addr smac)
{
	struct pb_ip4 p = { .src_mac = smac, .dst_mac = th_gw_mac, .src = src, .dst = dst,
			    .sport = sport, .dport = dport, .payload = 8 };
	return pb_ip4(sl_dp.pool, &p);
}

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
}

/* Run m from port `in`; the frames port `to` sent (freed), counted. */
static unsigned run(unsigned in, struct rte_mbuf *m, unsigned to)
{
	unsigned n = th_run(in, m, to, out, 8);
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(out[i]);
	return n;
}

static void fresh(void)
{
	th_reset();
	ct_clear();
	pol_clear();
}

/* Pod B isolated for ingress, allowed from pod A on TCP 80 only: A -> B:80 passes, A -> B:81
 * and UDP A -> B:80 are dropped as policy-denied-ingress and counted against the policy. */
static void test_ingress_allow_deny(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/allow-a-80");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_rule(SL_POL_INGRESS, B_IP, A_IP, 32, IPPROTO_TCP, 80, 80, p, 0);
	ts_publish();
	assert_true(sl_pol_active());

	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40001, 81,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 0);
	assert_int_equal(run(TH_POD_A, udp("10.244.1.2", "10.244.1.3", 40002, 80, th_pod_a_mac),
			     TH_POD_B), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 2);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_EGRESS), 0);
	struct sl_pol_totals *t;
	assert_int_equal(sl_pol_counters(&t), 1);
	assert_int_equal(t[0].denied, 2);
	assert_int_equal(t[0].allowed, 1);
	free(t);
}

/* Pod A isolated for egress, allowed to pod B TCP 80 and to the remote node's pods on UDP
 * 53: A -> B:80 passes, A -> B:22 is dropped as policy-denied-egress, A -> 10.244.2.2:53/udp
 * leaves through the tunnel and A -> 10.244.2.2:54/udp does not. */
static void test_egress_allow_deny(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/egress");
	ts_isolate(SL_POL_EGRESS, A_IP, p);
	ts_rule(SL_POL_EGRESS, A_IP, B_IP, 32, IPPROTO_TCP, 80, 80, p, 0);
	ts_rule(SL_POL_EGRESS, A_IP, REMOTE_NET, 24, IPPROTO_UDP, 53, 53, p, 1);
	ts_publish();
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40001, 22,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_EGRESS), 1);
	assert_int_equal(run(TH_POD_A, udp("10.244.1.2", "10.244.2.2", 40002, 53, th_pod_a_mac),
			     TH_UPLINK), 1);
	assert_int_equal(run(TH_POD_A, udp("10.244.1.2", "10.244.2.2", 40003, 54, th_pod_a_mac),
			     TH_UPLINK), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_EGRESS), 2);
}

/* Both ends on this node: A egress-isolated allowing B:80, B ingress-isolated allowing only
 * 10.244.2.0/24: A -> B:80 passes egress and is denied at B's ingress. */
static void test_both_directions_same_node(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t pe = ts_policy("x/a-egress"), pi = ts_policy("x/b-ingress");
	ts_isolate(SL_POL_EGRESS, A_IP, pe);
	ts_rule(SL_POL_EGRESS, A_IP, B_IP, 32, IPPROTO_TCP, 80, 80, pe, 0);
	ts_isolate(SL_POL_INGRESS, B_IP, pi);
	ts_rule(SL_POL_INGRESS, B_IP, REMOTE_NET, 24, 0, 0, 65535, pi, 0);
	ts_publish();
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 1);
	struct sl_pol_totals *t;
	assert_int_equal(sl_pol_counters(&t), 2);
	assert_int_equal(t[pi].denied, 1);
	assert_int_equal(t[pe].denied, 0);
	free(t);
	/* Now B allows A too: passes, a new flow counted for both policies. */
	ts_rule(SL_POL_INGRESS, B_IP, A_IP, 32, IPPROTO_TCP, 1, 1024, pi, 1);
	ts.s.generation = 3;
	ts_publish();
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40001, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(sl_pol_counters(&t), 2);
	assert_int_equal(t[pi].denied, 1); /* folded in from the replaced classifier */
	assert_int_equal(t[pi].allowed, 1);
	assert_int_equal(t[pe].allowed, 1);
	free(t);
}

/* Replies pass: B is isolated both ways with no egress rule (default deny egress) and an
 * ingress rule for A; A's SYN reaches B, B's SYN-ACK reaches A (conntrack), but a new flow
 * B opens to A is denied (egress). */
static void test_replies_pass(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/b");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_isolate(SL_POL_EGRESS, B_IP, p);
	ts_rule(SL_POL_INGRESS, B_IP, A_IP, 32, IPPROTO_TCP, 80, 80, p, 0);
	ts_publish();
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(sl_ct_count(), 1);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 80, 40000,
					   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac),
			     TH_POD_A), 1);
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B), 1);
	struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.244.1.3"), htons(40000),
			       htons(80), IPPROTO_TCP };
	enum sl_ct_dir dir;
	struct sl_ct_entry *e = sl_ct_lookup(&k, &dir);
	assert_non_null(e);
	assert_int_equal(atomic_load(&e->state), SL_CT_ESTABLISHED);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_b_mac), TH_POD_A), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_EGRESS), 1);
	/* Through the tunnel too: a remote pod's UDP to B:53 is allowed, B's reply goes back
	 * (B allows no egress), B's own new flow to it does not. */
	ts_rule(SL_POL_INGRESS, B_IP, REMOTE_NET, 24, IPPROTO_UDP, 53, 53, p, 1);
	ts.s.generation = 3;
	ts_publish();
	struct rte_mbuf *inner = udp("10.244.2.2", "10.244.1.3", 5000, 53, th_remote_mac);
	struct rte_mbuf *m = pb_vxlan(sl_dp.pool, th_uplink_mac, "198.18.0.2", "198.18.0.1", 4789,
				      42, 0x08, inner);
	rte_pktmbuf_free(inner);
	assert_int_equal(run(TH_UPLINK, m, TH_POD_B), 1);
	assert_int_equal(run(TH_POD_B, udp("10.244.1.3", "10.244.2.2", 53, 5000, th_pod_b_mac),
			     TH_UPLINK), 1);
	assert_int_equal(run(TH_POD_B, udp("10.244.1.3", "10.244.2.2", 53, 5001, th_pod_b_mac),
			     TH_UPLINK), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_EGRESS), 2);
}

/* A pod isolated in one direction only still gets its replies: A under default-deny
 * ingress opens a connection to B (nothing to check on the way out): B's SYN-ACK reaches A
 * (tracked for its replies), a new flow B opens to A is denied, and so is a connection B
 * opened before the policy, while one A opened goes on; B under default-deny egress
 * answers A's UDP, and may not open its own flow to A. */
static void test_replies_of_one_way_isolation(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/deny-in");
	ts_isolate(SL_POL_INGRESS, A_IP, p);
	ts_publish();
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(sl_ct_count(), 1);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 80, 40000,
					   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac),
			     TH_POD_A), 1);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 40001, 80,
					   RTE_TCP_SYN_FLAG, th_pod_b_mac), TH_POD_A), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 1);
	/* Connections opened before the policy (untracked, no SYN seen; the lower port taken
	 * for the server's): B's to A:8080 is denied both ways, A's own packet included (it
	 * does not make B's packets replies); A's to B:80 goes on both ways, B's packet first. */
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 8080, 40002,
					   RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B), 0);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 40002, 8080,
					   RTE_TCP_ACK_FLAG, th_pod_b_mac), TH_POD_A), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 3);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 80, 40003,
					   RTE_TCP_ACK_FLAG, th_pod_b_mac), TH_POD_A), 1);
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40003, 80,
					   RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 3);

	ct_clear();
	ts_reset(3);
	p = ts_policy("x/deny-out");
	ts_isolate(SL_POL_EGRESS, B_IP, p);
	ts_publish();
	assert_int_equal(run(TH_POD_A, udp("10.244.1.2", "10.244.1.3", 5000, 53, th_pod_a_mac),
			     TH_POD_B), 1);
	assert_int_equal(run(TH_POD_B, udp("10.244.1.3", "10.244.1.2", 53, 5000, th_pod_b_mac),
			     TH_POD_A), 1);
	assert_int_equal(run(TH_POD_B, udp("10.244.1.3", "10.244.1.2", 53, 5001, th_pod_b_mac),
			     TH_POD_A), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_EGRESS), 1);
}

/* The node's own traffic (kubelet probes through the host port) reaches an isolated pod
 * whose policies allow nothing, and its replies go back. */
static void test_host_allowed(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/deny-all");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_isolate(SL_POL_EGRESS, B_IP, p);
	ts_publish();
	assert_int_equal(run(TH_HOST, tcp("198.18.0.1", "10.244.1.3", 50000, 8080,
					  RTE_TCP_SYN_FLAG, th_host_mac), TH_POD_B), 1);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "198.18.0.1", 8080, 50000,
					   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac),
			     TH_HOST), 1);
	/* Pod A, not isolated, is denied by B's ingress. */
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 8080,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 1);
}

/* Traffic between pods no policy selects passes without a conntrack entry (a node with
 * policies elsewhere pays no conntrack for them). */
static void test_not_isolated_no_ct(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/other");
	ts_isolate(SL_POL_INGRESS, 0x0af40109u, p); /* some other local pod */
	ts_publish();
	assert_true(sl_pol_active());
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 80, 40000,
					   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac),
			     TH_POD_A), 1);
	assert_int_equal(sl_ct_count(), 0);
}

/* A generation change: a flow the new set still allows goes on (its entry is stamped with
 * the new generation); a flow it denies is cut at once: A's next packet gets a RST back and
 * nothing reaches B, B's next packet (a reply) is dropped too. */
static void test_generation_cuts_denied_keeps_allowed(void **st)
{
	fresh();
	ts_reset(10);
	uint32_t p = ts_policy("x/b-in");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_rule(SL_POL_INGRESS, B_IP, A_IP, 32, IPPROTO_TCP, 80, 81, p, 0);
	ts_publish();
	for (uint16_t port = 80; port <= 81; port++) {
		assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, port,
						   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
		assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", port, 40000,
						   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG,
						   th_pod_b_mac), TH_POD_A), 1);
		assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, port,
						   RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B), 1);
	}
	/* Tighten: port 80 only. */
	ts.rules[SL_POL_INGRESS][0].port_hi = 80;
	ts.s.generation = 11;
	ts_publish();
	/* The flow to 80 goes on, both ways. */
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 80,
					   RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B), 1);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 80, 40000,
					   RTE_TCP_ACK_FLAG, th_pod_b_mac), TH_POD_A), 1);
	struct sl_ct_key k80 = { pb_addr("10.244.1.2"), pb_addr("10.244.1.3"), htons(40000),
				 htons(80), IPPROTO_TCP };
	enum sl_ct_dir dir;
	struct sl_ct_entry *e80 = sl_ct_lookup(&k80, &dir);
	assert_non_null(e80);
	assert_int_equal(atomic_load(&e80->pol_stamp), 11);
	assert_int_equal(atomic_load(&e80->state), SL_CT_ESTABLISHED);
	/* The flow to 81 is cut: A's segment is answered with a RST from B's address. */
	unsigned n = th_run(TH_POD_A, tcp("10.244.1.2", "10.244.1.3", 40000, 81, RTE_TCP_ACK_FLAG,
					  th_pod_a_mac), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);
	assert_int_equal(ip->src_addr, pb_addr("10.244.1.3"));
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	assert_true(t->tcp_flags & RTE_TCP_RST_FLAG);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(run(TH_POD_A, NULL, TH_POD_B), 0);
	assert_int_equal(run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 81, 40000,
					   RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG, th_pod_b_mac),
			     TH_POD_A), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 1); /* B's RST */
	struct sl_ct_key k81 = k80;
	k81.dport = htons(81);
	struct sl_ct_entry *e81 = sl_ct_lookup(&k81, &dir);
	assert_non_null(e81);
	assert_int_equal(atomic_load(&e81->state), SL_CT_CLOSED);
}

/* A Service flow: policy sees the backend after DNAT. B allows A on TCP 8080 (the backend's
 * port): A -> 10.96.0.10:80 reaches B:8080; with the rule on port 80 (the frontend's) it is
 * denied. */
static void test_service_post_dnat(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/b-8080");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_isolate(SL_POL_EGRESS, B_IP, p); /* replies need the conntrack entry */
	ts_rule(SL_POL_INGRESS, B_IP, A_IP, 32, IPPROTO_TCP, 8080, 8080, p, 0);
	ts_publish();
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 40000, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 1);
	unsigned n = th_run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 8080, 40000,
					  RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac),
			    TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(ip_of(out[0])->src_addr, pb_addr("10.96.0.10"));
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_ct_count(), 1); /* the Service's entry, no second one */

	ts.rules[SL_POL_INGRESS][0].port_lo = ts.rules[SL_POL_INGRESS][0].port_hi = 80;
	ts.s.generation = 3;
	ts_publish();
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 40001, 80,
					   RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 1);
	/* The established Service flow is now denied too: dropped, no RST from the backend's
	 * address (the client talks to the frontend). */
	assert_int_equal(run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 40000, 80,
					   RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B), 0);
	assert_int_equal(run(TH_POD_A, NULL, TH_POD_A), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 2);
}

/* The conntrack table full: new flows of isolated pods are dropped and counted
 * (policy-ct-full); flows of pods no policy selects still pass. */
static void test_ct_full(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/b");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_rule(SL_POL_INGRESS, B_IP, A_IP, 32, 0, 0, 65535, p, 0);
	ts_publish();
	unsigned passed = 0;
	for (unsigned i = 0; i < TH_CT_SIZE + 8; i++)
		passed += run(TH_POD_A, udp("10.244.1.2", "10.244.1.3", (uint16_t)(20000 + i), 53,
					    th_pod_a_mac), TH_POD_B);
	assert_int_equal(passed, TH_CT_SIZE);
	assert_int_equal(th_drops(SL_DROP_POLICY_CT_FULL), 8);
	/* B -> A (A not isolated, B not egress-isolated): no entry needed, passes. */
	assert_int_equal(run(TH_POD_B, udp("10.244.1.3", "10.244.1.2", 999, 53, th_pod_b_mac),
			     TH_POD_A), 1);
	ct_clear();
}

/* The deny log: off, nothing is queued; on, a denied flow is queued by the worker and logged
 * by the control thread's drain, within its rate. */
static void test_deny_log(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/deny");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_publish();
	sl_pol_deny_log_set(false);
	assert_int_equal(run(TH_POD_A, udp("10.244.1.2", "10.244.1.3", 1, 2, th_pod_a_mac),
			     TH_POD_B), 0);
	assert_int_equal(sl_pol_deny_log_drain(1000000000ull), 0);
	sl_pol_deny_log_set(true);
	for (int i = 0; i < 30; i++)
		assert_int_equal(run(TH_POD_A, udp("10.244.1.2", "10.244.1.3", 1, 2, th_pod_a_mac),
				     TH_POD_B), 0);
	uint64_t logged = sl_pol.logged;
	assert_int_equal(sl_pol_deny_log_drain(2000000000ull), 30);
	assert_int_equal(sl_pol.logged - logged, sl_pol.log_rate); /* the rest suppressed */
	sl_pol_deny_log_set(false);
}

/* Bad sets are refused, naming the field, and the classifier in place stays. */
static void test_bad_set(void **st)
{
	fresh();
	ts_reset(2);
	uint32_t p = ts_policy("x/b");
	ts_isolate(SL_POL_INGRESS, B_IP, p);
	ts_rule(SL_POL_INGRESS, B_IP, 0x0af40201u, 24, 0, 0, 65535, p, 0); /* host bits set */
	assert_int_equal(sl_pol_publish(&ts.s), -EINVAL);
	ts.rules[SL_POL_INGRESS][0].peer_net = REMOTE_NET;
	ts.rules[SL_POL_INGRESS][0].policy = 5;
	assert_int_equal(sl_pol_publish(&ts.s), -EINVAL);
	assert_false(sl_pol_active());
}

/* rte_acl against the linear scan on random sets and packets (fixed seed): the same rule
 * (the first that matches) or none, for thousands of packets. */
static void test_acl_matches_linear(void **st)
{
	srand(12345);
	enum { POLS = 50, RULES = 3000, PKTS = 20000 };
	static struct sl_pol_rule rules[SL_POL_NDIRS][RULES];
	static char names[POLS][SL_POL_NAME_MAX + 1];
	enum { NPODS = 64 };
	uint32_t pods[NPODS];
	for (unsigned i = 0; i < NPODS; i++)
		pods[i] = 0x0af40100u + 2 + i;
	struct sl_pol_set s = { .names = names, .n_policies = POLS, .generation = 7 };
	for (unsigned i = 0; i < POLS; i++)
		snprintf(names[i], sizeof(names[i]), "ns/p%u", i);
	static const uint8_t protos[] = { 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	for (unsigned d = 0; d < SL_POL_NDIRS; d++) {
		for (unsigned i = 0; i < RULES; i++) {
			struct sl_pol_rule *r = &rules[d][i];
			uint8_t len = (uint8_t)(rand() % 100 == 0 ? 0 : 8 + rand() % 25);
			uint32_t net = 0x0a000000u | (uint32_t)(rand() & 0xffffff);
			uint16_t lo = (uint16_t)(rand() % 2000), hi = (uint16_t)(lo + rand() % 20);
			*r = (struct sl_pol_rule){
				.pod_ip = pods[rand() % NPODS],
				.peer_net = len ? net & (UINT32_MAX << (32 - len)) : 0,
				.peer_len = len, .proto = protos[rand() % 10 ? 1 + rand() % 3 : 0],
				.port_lo = lo, .port_hi = hi,
				.policy = (uint32_t)(i * POLS / RULES), .rule = i };
			if (r->proto == 0)
				r->port_lo = 0, r->port_hi = 65535;
		}
		s.dir[d].rules = rules[d];
		s.dir[d].n_rules = RULES;
	}
	int err = 0;
	struct sl_pol_dp *dp = sl_pol_build(&s, NULL, &err);
	assert_non_null(dp);
	/* Calls of 1 to 256 keys (ip4-policy hands a whole graph burst to one call). */
	unsigned matched = 0, done = 0;
	for (unsigned b = 0; done < PKTS; b++) {
		static struct sl_pol_key keys[256];
		const struct sl_pol_key *kp[256];
		uint32_t res[256];
		unsigned nb = 1 + (unsigned)rand() % 256;
		enum sl_pol_dir d = (enum sl_pol_dir)(b & 1);
		for (unsigned i = 0; i < nb; i++) {
			/* Peers near the rules' prefixes, so many packets match. */
			uint32_t peer = rand() % 2 ? rules[d][rand() % RULES].peer_net |
							      (uint32_t)(rand() & 0xff)
						   : 0x0a000000u | (uint32_t)(rand() & 0xffffff);
			keys[i] = (struct sl_pol_key){
				.proto = protos[1 + rand() % 3],
				.pod = htonl(pods[rand() % NPODS] + (rand() % 50 == 0 ? 200 : 0)),
				.peer = htonl(peer),
				.dport = htons((uint16_t)(rand() % 2100)) };
			if (rand() % 20 == 0)
				keys[i].proto = IPPROTO_ICMP, keys[i].dport = 0;
			kp[i] = &keys[i];
		}
		sl_pol_classify(dp, d, kp, res, nb);
		for (unsigned i = 0; i < nb; i++) {
			uint32_t want = sl_pol_match_linear(&s, d, &keys[i]);
			if (res[i] != want)
				fail_msg("call %u (%u keys) key %u dir %u: rte_acl %u, linear %u", b,
					 nb, i, d, res[i], want);
			matched += want != 0;
		}
		done += nb;
	}
	printf("acl vs linear: %u packets, %u matched a rule\n", done, matched);
	assert_true(matched > done / 10 && matched < done - done / 10);
	sl_pol_dp_free(dp);
}

static int setup(void **st)
{
	if (th_setup(st) < 0 || th_lb_setup() < 0 || sl_pol_init(NULL) < 0)
		return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_ingress_allow_deny),
		TH_TEST(test_egress_allow_deny),
		TH_TEST(test_both_directions_same_node),
		TH_TEST(test_replies_pass),
		TH_TEST(test_replies_of_one_way_isolation),
		TH_TEST(test_host_allowed),
		TH_TEST(test_not_isolated_no_ct),
		TH_TEST(test_generation_cuts_denied_keeps_allowed),
		TH_TEST(test_service_post_dnat),
		TH_TEST(test_ct_full),
		TH_TEST(test_deny_log),
		TH_TEST(test_bad_set),
		TH_TEST(test_acl_matches_linear),
	};
	return cmocka_run_group_tests_name("policy_dp", tests, setup, NULL);
}
