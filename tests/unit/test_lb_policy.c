/* Services' traffic policies in the fast path: client affinity (sessionAffinity ClientIP,
 * dataplane/lb/lb_affinity.h), loadBalancerSourceRanges, and the TCP reset for flows whose
 * backend left (tcp-reset, conntrack's gone mark). Topology and Services: harness.h. */
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
#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/core/sl_worker.h"
#include "dataplane/lb/lb_affinity.h"
#include "dataplane/lb/lb_table.h"
#include "dataplane/lb/tcp_reset.h"
#include "harness.h"
#include "pktbuild.h"

static struct rte_mbuf *out[8];

static void ct_clear(void)
{
	sl_lb_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_lb_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
	assert_int_equal(sl_lb_affinity_count(), 0);
	atomic_store(&sl_ct.insert_failed, 0);
}

static int setup(void **st)
{
	if (th_setup(st) < 0 || th_lb_setup() < 0)
		return -1;
	return 0;
}

static struct rte_mbuf *tcp_seg(const char *src, const char *dst, uint16_t sport,
				uint16_t dport, uint8_t flags, struct rte_ether_addr smac,
				uint32_t seq, uint32_t ack, uint16_t payload)
{
	struct pb_ip4 p = { .src_mac = smac, .dst_mac = th_gw_mac, .src = src, .dst = dst,
			    .proto = IPPROTO_TCP, .sport = sport, .dport = dport,
			    .payload = payload, .seq = seq, .tcp_flags = flags };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	struct rte_tcp_hdr *t = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, 14 + 20);
	t->recv_ack = htonl(ack);
	pb_l4_cksum(m);
	return m;
}

static struct rte_mbuf *tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			    uint8_t flags, struct rte_ether_addr smac)
{
	return tcp_seg(src, dst, sport, dport, flags, smac, 1000, 0, 12);
}

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
}

/* Send one SYN from pod A (sport) to vip:80; returns 1 if pod B got it, 2 if the remote
 * pod (uplink) did, 0 if nothing came out. */
static int syn_lands(const char *vip, uint16_t sport)
{
	th_inject(TH_POD_A, tcp("10.244.1.2", vip, sport, 80, RTE_TCP_SYN_FLAG, th_pod_a_mac));
	unsigned nb = th_run(0, NULL, TH_POD_B, out, 8);
	unsigned nu = th_run(0, NULL, TH_UPLINK, out + nb, 8);
	assert_true(nb + nu <= 1);
	if (nb + nu)
		rte_pktmbuf_free(out[0]);
	return nb ? 1 : nu ? 2 : 0;
}

/* 10.96.0.50:80/tcp -> pod B and the remote pod, with affinity of secs (0: none). */
static struct sl_lb_frontend aff_service(uint32_t secs, uint8_t flags_b, uint8_t flags_r,
					 unsigned n)
{
	struct sl_lb_frontend fe = { pb_addr("10.96.0.50"), htons(80), IPPROTO_TCP, 0 };
	struct sl_lb_backend b[2] = {
		{ .ip = pb_addr("10.244.1.3"), .port = htons(8080), .flags = flags_b },
		{ .ip = pb_addr("10.244.2.2"), .port = htons(8080), .flags = flags_r },
	};
	struct sl_lb_service_opts o = { .affinity_s = secs };
	assert_int_equal(sl_lb_service_set_opts(&fe, n == 1 ? b + 1 : b, n, &o), 0);
	return fe;
}

/* ---- affinity ---- */

/* One client's new flows all land on one backend while the entry lives; without affinity
 * the same client's flows spread over both. */
static void test_affinity_same_client(void **st)
{
	th_reset();
	ct_clear();
	aff_service(0, 0, 0, 2);
	unsigned cnt[3] = { 0 };
	for (uint16_t f = 0; f < 30; f++)
		cnt[syn_lands("10.96.0.50", (uint16_t)(20000 + f))]++;
	printf("affinity off: pod B %u, remote %u\n", cnt[1], cnt[2]);
	assert_true(cnt[1] > 0 && cnt[2] > 0);

	ct_clear();
	aff_service(10800, 0, 0, 2);
	memset(cnt, 0, sizeof(cnt));
	for (uint16_t f = 0; f < 30; f++)
		cnt[syn_lands("10.96.0.50", (uint16_t)(21000 + f))]++;
	printf("affinity on: pod B %u, remote %u\n", cnt[1], cnt[2]);
	assert_true((cnt[1] == 30 && cnt[2] == 0) || (cnt[1] == 0 && cnt[2] == 30));
	assert_int_equal(sl_lb_affinity_count(), 1);
	assert_int_equal(atomic_load(&sl_lb_aff.hits), 29);
	/* The Service replaced (same backends): the entry still holds. */
	aff_service(10800, 0, 0, 2);
	unsigned want = cnt[1] ? 1 : 2;
	assert_int_equal(syn_lands("10.96.0.50", 22000), (int)want);
	ct_clear();
	atomic_store(&sl_lb_aff.hits, 0);
}

/* Different clients spread over the backends (Maglev), each keeping its own. */
static void test_affinity_clients_spread(void **st)
{
	ct_clear();
	struct sl_lb_frontend fe = aff_service(600, 0, 0, 2);
	const struct sl_lb_service *s = sl_lb_service_find(&fe);
	uint64_t now = rte_rdtsc();
	uint32_t first[64];
	unsigned local = 0;
	for (uint32_t c = 0; c < 64; c++) {
		struct sl_ct_key k = { htonl(0x0af40100 + c), fe.vip, htons(30000), fe.port,
				       IPPROTO_TCP };
		uint32_t ref;
		const struct sl_lb_backend *be =
			sl_lb_affinity_pick(s, &k, rte_hash_crc(&k, sizeof(k), 0), now, &ref);
		assert_true(ref > 0);
		first[c] = be->ip;
		local += be->ip == pb_addr("10.244.1.3");
	}
	assert_true(local > 8 && local < 56);
	for (uint32_t c = 0; c < 64; c++)
		for (uint16_t p = 1; p < 8; p++) {
			struct sl_ct_key k = { htonl(0x0af40100 + c), fe.vip, htons(30000 + p),
					       fe.port, IPPROTO_TCP };
			uint32_t ref;
			assert_int_equal(sl_lb_affinity_pick(s, &k, rte_hash_crc(&k, sizeof(k), 0),
							     now, &ref)->ip, first[c]);
		}
	assert_int_equal(sl_lb_affinity_count(), 64);
	ct_clear();
}

/* Two frontends of one affinity group (a Service port's cluster IP and another of its
 * addresses): a client's flows through either land on one backend, through one entry, and
 * the established traffic through the second frontend keeps that entry alive. A frontend
 * without a group keeps its own entries. */
static void test_affinity_shared_by_group(void **st)
{
	th_reset();
	ct_clear();
	atomic_store(&sl_lb_aff.hits, 0);
	struct sl_lb_frontend fa = aff_service(100, 0, 0, 2), fb = fa, fc = fa;
	fb.vip = pb_addr("10.96.0.51");
	fc.vip = pb_addr("10.96.0.52");
	struct sl_lb_backend b[2] = {
		{ .ip = pb_addr("10.244.1.3"), .port = htons(8080) },
		{ .ip = pb_addr("10.244.2.2"), .port = htons(8080) },
	};
	struct sl_lb_service_opts o = { .affinity_s = 100, .aff_vip = fa.vip,
					.aff_port = fa.port };
	assert_int_equal(sl_lb_service_set_opts(&fb, b, 2, &o), 0);
	o.aff_vip = 0;
	assert_int_equal(sl_lb_service_set_opts(&fc, b, 2, &o), 0);
	assert_int_equal(sl_lb_service_find(&fb)->aff_vip, fa.vip);
	assert_int_equal(sl_lb_service_find(&fc)->aff_vip, fc.vip);
	int where = syn_lands("10.96.0.50", 24000);
	assert_true(where > 0);
	for (uint16_t f = 1; f < 30; f++)
		assert_int_equal(syn_lands(f & 1 ? "10.96.0.51" : "10.96.0.50",
					   (uint16_t)(24000 + f)), where);
	assert_int_equal(sl_lb_affinity_count(), 1);
	assert_int_equal(atomic_load(&sl_lb_aff.hits), 29);
	syn_lands("10.96.0.52", 24100);
	assert_int_equal(sl_lb_affinity_count(), 2); /* no group: its own entry */
	/* An established packet through 10.96.0.51 refreshes the group's entry. */
	struct sl_lb_aff_key ak = { pb_addr("10.244.1.2"), fa.vip, fa.port, IPPROTO_TCP };
	int pos = rte_hash_lookup(sl_lb_aff.hash, &ak);
	assert_true(pos >= 0);
	struct sl_lb_aff_entry *a = &sl_lb_aff.entries[pos];
	uint64_t hz = rte_get_tsc_hz(), old = rte_rdtsc() - 90 * hz;
	atomic_store(&a->last_tsc, old);
	th_inject(TH_POD_A, tcp("10.244.1.2", "10.96.0.51", 24001, 80, RTE_TCP_ACK_FLAG,
				th_pod_a_mac));
	unsigned n = th_run(0, NULL, where == 1 ? TH_POD_B : TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	rte_pktmbuf_free(out[0]);
	assert_true(atomic_load(&a->last_tsc) > old + 80 * hz);
	assert_int_equal(sl_lb_service_del(&fb), 0);
	assert_int_equal(sl_lb_service_del(&fc), 0);
	ct_clear();
	atomic_store(&sl_lb_aff.hits, 0);
}

/* Find a client port whose Maglev pick is not backend ip, so a re-pick is visible. */
static void key_picking_other(const struct sl_lb_service *s, uint32_t client, uint32_t ip,
			      struct sl_ct_key *k)
{
	for (uint16_t p = 1;; p++) {
		memset(k, 0, sizeof(*k));
		k->src = client;
		k->dst = s->fe.vip;
		k->sport = htons(p);
		k->dport = s->fe.port;
		k->proto = IPPROTO_TCP;
		if (sl_lb_pick(s, rte_hash_crc(k, sizeof(*k), 0))->ip != ip)
			return;
	}
}

/* The entry expires timeout seconds after its last use (fake clock): before, the client's
 * backend holds; after, Maglev picks again; the ager removes it only after the timeout, and
 * each use pushes the expiry out. */
static void test_affinity_expiry(void **st)
{
	ct_clear();
	struct sl_lb_frontend fe = aff_service(100, 0, 0, 2);
	const struct sl_lb_service *s = sl_lb_service_find(&fe);
	uint64_t t0 = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint32_t client = pb_addr("10.244.7.7"), ref;
	struct sl_ct_key k1 = { client, fe.vip, htons(1), fe.port, IPPROTO_TCP };
	uint32_t got = sl_lb_affinity_pick(s, &k1, rte_hash_crc(&k1, sizeof(k1), 0), t0, &ref)->ip;
	struct sl_ct_key k2;
	key_picking_other(s, client, got, &k2);
	uint32_t h2 = rte_hash_crc(&k2, sizeof(k2), 0);
	/* 99 s later: still got (and that use refreshes it). */
	assert_int_equal(sl_lb_affinity_pick(s, &k2, h2, t0 + 99 * hz, &ref)->ip, got);
	/* The ager at t0 + 150 s: 51 s since the last use, kept. */
	assert_int_equal(sl_lb_affinity_age(t0 + 150 * hz, UINT32_MAX), 0);
	/* 101 s after the last use: expired, Maglev's pick, which the entry now holds. */
	assert_int_not_equal(sl_lb_affinity_pick(s, &k2, h2, t0 + 200 * hz, &ref)->ip, got);
	assert_int_not_equal(sl_lb_affinity_pick(s, &k1, rte_hash_crc(&k1, sizeof(k1), 0),
						 t0 + 201 * hz, &ref)->ip, got);
	/* The ager removes it once 100 s have passed since the last use (t0 + 201 s). */
	assert_int_equal(sl_lb_affinity_age(t0 + 300 * hz, UINT32_MAX), 0);
	assert_int_equal(sl_lb_affinity_count(), 1);
	assert_int_equal(sl_lb_affinity_age(t0 + 302 * hz, UINT32_MAX), 1);
	assert_int_equal(sl_lb_affinity_count(), 0);
	sl_dp_drain();
	ct_clear();
}

/* The traffic of a flow the entry placed keeps it alive (established packets touch it). */
static void test_affinity_refreshed_by_traffic(void **st)
{
	th_reset();
	ct_clear();
	aff_service(100, 0, 0, 2);
	int where = syn_lands("10.96.0.50", 23000);
	assert_true(where > 0);
	struct sl_lb_aff_key ak = { pb_addr("10.244.1.2"), pb_addr("10.96.0.50"), htons(80),
				    IPPROTO_TCP };
	int pos = rte_hash_lookup(sl_lb_aff.hash, &ak);
	assert_true(pos >= 0);
	struct sl_lb_aff_entry *a = &sl_lb_aff.entries[pos];
	uint64_t hz = rte_get_tsc_hz(), old = rte_rdtsc() - 90 * hz;
	atomic_store(&a->last_tsc, old);
	th_inject(TH_POD_A, tcp("10.244.1.2", "10.96.0.50", 23000, 80, RTE_TCP_ACK_FLAG,
				th_pod_a_mac));
	unsigned n = th_run(0, NULL, where == 1 ? TH_POD_B : TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	rte_pktmbuf_free(out[0]);
	assert_true(atomic_load(&a->last_tsc) > old + 80 * hz);
	ct_clear();
}

/* The client's backend removed, or terminating: picked again (the other backend) and the
 * entry overwritten, so the client stays there even once the first is back. */
static void test_affinity_backend_removed(void **st)
{
	th_reset();
	ct_clear();
	aff_service(10800, 0, 0, 2);
	int first = syn_lands("10.96.0.50", 24000);
	assert_true(first > 0);
	/* Terminating: no new flows to it, even with affinity. */
	if (first == 1)
		aff_service(10800, SL_LB_BACKEND_TERMINATING, 0, 2);
	else
		aff_service(10800, 0, SL_LB_BACKEND_TERMINATING, 2);
	assert_int_equal(syn_lands("10.96.0.50", 24001), 3 - first);
	aff_service(10800, 0, 0, 2); /* both active again: the entry says the other one */
	for (uint16_t f = 0; f < 16; f++)
		assert_int_equal(syn_lands("10.96.0.50", (uint16_t)(24002 + f)), 3 - first);
	/* Removed: only the remote pod left. */
	aff_service(10800, 0, 0, 1);
	assert_int_equal(syn_lands("10.96.0.50", 24100), 2);
	ct_clear();
}

/* Full: the new flow gets Maglev's pick, counted; flows go on. */
static void test_affinity_full(void **st)
{
	th_reset();
	ct_clear();
	sl_lb_fini();
	struct sl_lb_conf c = { .max_services = 64, .affinity_size = 64,
				.ct = { .size = TH_CT_SIZE } };
	assert_int_equal(sl_lb_init(&c), 0);
	assert_int_equal(th_lb_setup_services(), 0);
	struct sl_lb_frontend fe = aff_service(600, 0, 0, 2);
	const struct sl_lb_service *s = sl_lb_service_find(&fe);
	uint64_t now = rte_rdtsc();
	unsigned full_at = 0;
	for (uint32_t c = 0; c < 20000 && !full_at; c++) {
		struct sl_ct_key k = { htonl(0x0a000000 + c), fe.vip, htons(1), fe.port,
				       IPPROTO_TCP };
		uint32_t h = rte_hash_crc(&k, sizeof(k), 0), ref;
		const struct sl_lb_backend *be = sl_lb_affinity_pick(s, &k, h, now, &ref);
		assert_non_null(be);
		if (ref == 0) {
			full_at = c;
			assert_ptr_equal(be, sl_lb_pick(s, h));
		}
	}
	printf("affinity table sized 64: full after %u clients\n", full_at);
	assert_true(full_at >= 64);
	assert_int_equal(atomic_load(&sl_lb_aff.full), 1);
	/* Through the graph too: a new client still gets a flow. */
	assert_true(syn_lands("10.96.0.50", 25000) > 0);
	assert_int_equal(atomic_load(&sl_lb_aff.full), 1 + (sl_lb_affinity_count() >= full_at));
	ct_clear();
	sl_lb_fini();
	assert_int_equal(th_lb_setup(), 0);
}

/* Bad options are refused, naming the field. */
static void test_service_opts_refused(void **st)
{
	struct sl_lb_frontend fe = { pb_addr("10.96.0.51"), htons(80), IPPROTO_TCP, 0 };
	struct sl_lb_backend b = { .ip = pb_addr("10.244.1.3"), .port = htons(8080) };
	struct sl_lb_service_opts o = { .affinity_s = SL_LB_AFFINITY_MAX_S + 1 };
	uint64_t rejects = sl_lb.rejects;
	assert_int_equal(sl_lb_service_set_opts(&fe, &b, 1, &o), -EINVAL);
	struct sl_lb_cidr r = { pb_addr("10.0.0.1"), 24 };
	o = (struct sl_lb_service_opts){ .flags = SL_LB_SVC_SOURCE_RANGES, .ranges = &r,
					 .n_ranges = 1 };
	assert_int_equal(sl_lb_service_set_opts(&fe, &b, 1, &o), -EINVAL);
	r = (struct sl_lb_cidr){ pb_addr("10.0.0.0"), 33 };
	assert_int_equal(sl_lb_service_set_opts(&fe, &b, 1, &o), -EINVAL);
	o.n_ranges = SL_LB_MAX_SOURCE_RANGES + 1;
	assert_int_equal(sl_lb_service_set_opts(&fe, &b, 1, &o), -EINVAL);
	assert_int_equal(sl_lb.rejects, rejects + 4);
	assert_null(sl_lb_service_find(&fe));
}

/* ---- source ranges ---- */

static void ranges_service(const char *vip, uint32_t flags, const struct sl_lb_cidr *r,
			   unsigned n)
{
	struct sl_lb_frontend fe = { pb_addr(vip), htons(80), IPPROTO_TCP, 0 };
	struct sl_lb_backend b = { .ip = pb_addr("10.244.1.3"), .port = htons(8080) };
	struct sl_lb_service_opts o = { .flags = flags, .ranges = r, .n_ranges = n };
	assert_int_equal(sl_lb_service_set_opts(&fe, &b, 1, &o), 0);
}

static void test_source_ranges_match(void **st)
{
	struct sl_lb_cidr r[] = { { pb_addr("192.0.2.0"), 24 }, { pb_addr("10.244.1.2"), 32 },
				  { pb_addr("172.16.0.0"), 12 } };
	ranges_service("10.96.0.60", SL_LB_SVC_SOURCE_RANGES, r, 3);
	struct sl_lb_frontend fe = { pb_addr("10.96.0.60"), htons(80), IPPROTO_TCP, 0 };
	const struct sl_lb_service *s = sl_lb_service_find(&fe);
	assert_int_equal(s->n_ranges, 3);
	const char *in[] = { "192.0.2.0", "192.0.2.255", "10.244.1.2", "172.31.255.255",
			     "172.16.0.1" };
	const char *outs[] = { "192.0.3.0", "10.244.1.3", "172.32.0.0", "172.15.255.255",
			       "0.0.0.0" };
	for (unsigned i = 0; i < RTE_DIM(in); i++)
		assert_true(sl_lb_source_allowed(s, pb_addr(in[i])));
	for (unsigned i = 0; i < RTE_DIM(outs); i++)
		assert_false(sl_lb_source_allowed(s, pb_addr(outs[i])));
	struct sl_lb_cidr all = { 0, 0 };
	ranges_service("10.96.0.60", SL_LB_SVC_SOURCE_RANGES, &all, 1);
	s = sl_lb_service_find(&fe);
	assert_true(sl_lb_source_allowed(s, pb_addr("203.0.113.9")));
	/* Without the flag (a cluster IP, an external IP) ranges are not even stored. */
	ranges_service("10.96.0.60", 0, r, 3);
	s = sl_lb_service_find(&fe);
	assert_int_equal(s->n_ranges, 0);
	assert_true(sl_lb_source_allowed(s, pb_addr("203.0.113.9")));
	assert_int_equal(sl_lb_service_del(&fe), 0);
}

/* In the graph: in range, the flow opens; out of range, the SYN is dropped
 * (lb-source-range) and no flow is created; an established flow is untouched when the
 * ranges change under it. */
static void test_source_ranges_graph(void **st)
{
	th_reset();
	ct_clear();
	struct sl_lb_cidr in = { pb_addr("10.244.1.0"), 24 }, other = { pb_addr("10.244.9.0"), 24 };
	ranges_service("10.96.0.61", SL_LB_SVC_SOURCE_RANGES, &in, 1);
	assert_int_equal(syn_lands("10.96.0.61", 26000), 1);
	ranges_service("10.96.0.61", SL_LB_SVC_SOURCE_RANGES, &other, 1);
	assert_int_equal(syn_lands("10.96.0.61", 26001), 0);
	assert_int_equal(th_drops(SL_DROP_LB_SOURCE_RANGE), 1);
	assert_int_equal(sl_ct_count(), 1);
	th_inject(TH_POD_A, tcp("10.244.1.2", "10.96.0.61", 26000, 80, RTE_TCP_ACK_FLAG,
				th_pod_a_mac));
	assert_int_equal(th_run(0, NULL, TH_POD_B, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	struct sl_lb_frontend fe = { pb_addr("10.96.0.61"), htons(80), IPPROTO_TCP, 0 };
	assert_int_equal(sl_lb_service_del(&fe), 0);
	ct_clear();
}

/* ---- TCP reset ---- */

/* Checksums of the IPv4 packet at ip: header and TCP, recomputed in full. */
static void rst_checks(struct rte_ipv4_hdr *ip)
{
	assert_int_equal(rte_raw_cksum(ip, 20), 0xffff);
	assert_true(pb_l4_cksum_ok(ip));
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
	assert_int_equal(ip->version_ihl, 0x45);
	assert_int_equal(ntohs(ip->total_length), 40);
	assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
}

/* sl_tcp_reset_build on its own: a segment with ACK and data, one without ACK (a SYN),
 * one with FIN and data, and one with IP options; every field and checksum. */
static void test_rst_build(void **st)
{
	struct rte_mbuf *m = tcp_seg("10.244.1.2", "10.96.0.10", 40000, 80,
				     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, th_pod_a_mac, 5000,
				     0xfffffff0u, 100);
	rte_pktmbuf_adj(m, 14);
	sl_tcp_reset_build(m);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);
	rst_checks(ip);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 40);
	assert_int_equal(ip->src_addr, pb_addr("10.96.0.10"));
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	assert_int_equal(ntohs(t->src_port), 80);
	assert_int_equal(ntohs(t->dst_port), 40000);
	assert_int_equal(ntohl(t->sent_seq), 0xfffffff0u); /* its ACK */
	assert_int_equal(t->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(t->recv_ack, 0);
	assert_int_equal(t->data_off, 0x50);
	assert_int_equal(t->rx_win, 0);
	rte_pktmbuf_free(m);

	/* No ACK (a SYN): seq 0, ACK = its seq + 1 (+ data), wrapping. */
	m = tcp_seg("10.244.1.2", "10.96.0.10", 40001, 80, RTE_TCP_SYN_FLAG, th_pod_a_mac,
		    0xffffffffu, 0, 0);
	rte_pktmbuf_adj(m, 14);
	sl_tcp_reset_build(m);
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	t = (struct rte_tcp_hdr *)(ip + 1);
	rst_checks(ip);
	assert_int_equal(t->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(t->sent_seq, 0);
	assert_int_equal(ntohl(t->recv_ack), 0);
	rte_pktmbuf_free(m);

	/* FIN with 10 bytes and no ACK: ack = seq + 11. */
	m = tcp_seg("10.244.1.2", "10.96.0.10", 40002, 80, RTE_TCP_FIN_FLAG, th_pod_a_mac, 7000,
		    0, 10);
	rte_pktmbuf_adj(m, 14);
	sl_tcp_reset_build(m);
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	t = (struct rte_tcp_hdr *)(ip + 1);
	rst_checks(ip);
	assert_int_equal(ntohl(t->recv_ack), 7011);

	/* IP options (24-byte header) and TCP options (data offset 8): the RST has neither. */
	rte_pktmbuf_reset(m);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 24 + 32 + 5);
	if (!p)
		fail();
	for (unsigned i = 0; i < 24 + 32 + 5; i++)
		p[i] = 0;
	struct rte_ipv4_hdr *o = (struct rte_ipv4_hdr *)p;
	o->version_ihl = 0x46;
	o->total_length = htons(24 + 32 + 5);
	o->time_to_live = 9;
	o->next_proto_id = IPPROTO_TCP;
	o->src_addr = pb_addr("198.51.100.7");
	o->dst_addr = pb_addr("10.96.0.10");
	struct rte_tcp_hdr *ot = (struct rte_tcp_hdr *)(p + 24);
	ot->src_port = htons(5555);
	ot->dst_port = htons(443);
	ot->sent_seq = htonl(100);
	ot->recv_ack = htonl(0x12345678);
	ot->data_off = 8 << 4;
	ot->tcp_flags = RTE_TCP_ACK_FLAG;
	sl_tcp_reset_build(m);
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	t = (struct rte_tcp_hdr *)(ip + 1);
	rst_checks(ip);
	assert_int_equal(ip->dst_addr, pb_addr("198.51.100.7"));
	assert_int_equal(ntohs(t->src_port), 443);
	assert_int_equal(ntohs(t->dst_port), 5555);
	assert_int_equal(ntohl(t->sent_seq), 0x12345678);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 40);
	rte_pktmbuf_free(m);
}

/* A flow through 10.96.0.10:80 (pod B) whose backend is removed: marked gone; the
 * client's next segment gets a RST from the VIP (seq = its ACK, checksums valid) on pod
 * A's port and the flow is CLOSED; the backend's packets are dropped (lb-backend-gone); a
 * client RST gets no answer; a SYN on the same 5-tuple is a new flow to the backend left;
 * ageing frees the old entry. */
static void test_rst_backend_gone(void **st)
{
	th_reset();
	ct_clear();
	struct sl_lb_frontend fe = { pb_addr("10.96.0.10"), htons(80), IPPROTO_TCP, 0 };
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 27000, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	/* Another flow through another frontend to the same backend: not touched. */
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.12", 27001, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B, out, 8) +
			 th_run(0, NULL, TH_UPLINK, out + 1, 7), 1);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(th_run(TH_POD_B, tcp_seg("10.244.1.3", "10.244.1.2", 8080, 27000,
						  RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG,
						  th_pod_b_mac, 9000, 1001, 0), TH_POD_A, out, 8), 1);
	rte_pktmbuf_free(out[0]);

	/* The backend leaves: the reconciler installs the new set and marks its flows. */
	struct sl_lb_backend nb = { .ip = pb_addr("10.244.2.2"), .port = htons(8080) };
	assert_int_equal(sl_lb_service_set(&fe, &nb, 1, 0), 0);
	assert_int_equal(sl_ct_mark_gone(fe.vip, fe.port, pb_addr("10.244.1.3"), htons(8080)), 1);

	unsigned n = th_run(TH_POD_A, tcp_seg("10.244.1.2", "10.96.0.10", 27000, 80,
					      RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, th_pod_a_mac,
					      1001, 9001, 30), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(th_run(0, NULL, TH_POD_B, out + 1, 7), 0);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);
	rst_checks(ip);
	assert_int_equal(ip->src_addr, pb_addr("10.96.0.10"));
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	assert_int_equal(ip->time_to_live, 64); /* sluiced's own: not decremented */
	assert_int_equal(ntohs(t->src_port), 80);
	assert_int_equal(ntohs(t->dst_port), 27000);
	assert_int_equal(ntohl(t->sent_seq), 9001);
	assert_int_equal(t->tcp_flags, RTE_TCP_RST_FLAG);
	rte_pktmbuf_free(out[0]);
	struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.96.0.10"), htons(27000),
			       htons(80), IPPROTO_TCP };
	enum sl_ct_dir dir;
	struct sl_ct_entry *e = sl_ct_lookup(&k, &dir);
	assert_non_null(e);
	assert_int_equal(atomic_load(&e->state), SL_CT_CLOSED);

	/* The gone backend's packets: dropped. */
	assert_int_equal(th_run(TH_POD_B, tcp_seg("10.244.1.3", "10.244.1.2", 8080, 27000,
						  RTE_TCP_ACK_FLAG, th_pod_b_mac, 9001, 1031, 5),
				TH_POD_A, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_LB_BACKEND_GONE), 1);
	/* A RST from the client: no answer. */
	assert_int_equal(th_run(TH_POD_A, tcp_seg("10.244.1.2", "10.96.0.10", 27000, 80,
						  RTE_TCP_RST_FLAG, th_pod_a_mac, 1031, 0, 0),
				TH_POD_A, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_LB_BACKEND_GONE), 2);

	/* A new SYN on the same 5-tuple: a new flow, to the backend left (remote pod). */
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 27000, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_UPLINK, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	struct sl_ct_entry *e2 = sl_ct_lookup(&k, &dir);
	assert_ptr_not_equal(e2, e);
	assert_int_equal(e2->rev.src, pb_addr("10.244.2.2"));
	assert_int_equal(atomic_load(&e2->state), SL_CT_SYN_SENT);
	assert_int_equal(atomic_load(&e->mark), SL_CT_GONE | SL_CT_REPLACED);
	/* Its next packet goes there too. */
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 27000, 80,
					      RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_UPLINK, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	/* Three entries (the replaced one waits for ageing); one pass frees it, the new flow
	 * and the other frontend's stay. */
	assert_int_equal(sl_ct_count(), 3);
	uint64_t now = rte_rdtsc();
	assert_int_equal(sl_ct_age(now, UINT32_MAX) + sl_ct_age(now, UINT32_MAX), 1);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 2);
	assert_ptr_equal(sl_ct_lookup(&k, &dir), e2);
	assert_int_equal(th_lb_setup_services(), 0);
	ct_clear();
}

/* A gone flow that nobody touches ages with the FIN timeout (120 s), not the established
 * one (6 h). */
static void test_gone_ages_fast(void **st)
{
	ct_clear();
	uint64_t t0 = rte_rdtsc(), hz = rte_get_tsc_hz();
	struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.96.0.10"), htons(28000),
			       htons(80), IPPROTO_TCP };
	struct sl_ct_entry *e = sl_ct_create(&k, pb_addr("10.244.1.3"), htons(8080),
					     RTE_TCP_ACK_FLAG, t0);
	assert_non_null(e);
	assert_int_equal(atomic_load(&e->state), SL_CT_ESTABLISHED);
	assert_int_equal(sl_ct_mark_gone(k.dst, k.dport, pb_addr("10.244.1.3"), htons(8081)), 0);
	assert_int_equal(sl_ct_mark_gone(k.dst, k.dport, pb_addr("10.244.1.3"), htons(8080)), 1);
	assert_int_equal(sl_ct_age(t0 + 119 * hz, UINT32_MAX) + sl_ct_age(t0 + 119 * hz, UINT32_MAX), 0);
	assert_int_equal(sl_ct_age(t0 + 121 * hz, UINT32_MAX) + sl_ct_age(t0 + 121 * hz, UINT32_MAX), 1);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
}

/* ip4-lb's cycles and packets so far (rte_graph's node statistics). */
static void lb_node_stats(uint64_t *ret_cycles, uint64_t *ret_objs)
{
	static struct sl_node_stats sts[64];
	int n = sl_worker_graph_stats(&sl_dp.workers[0], sts, 64);
	*ret_cycles = *ret_objs = 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(sts[i].name, "ip4-lb")) {
			*ret_cycles = sts[i].cycles;
			*ret_objs = sts[i].objs;
		}
}

/* 32 flows (sports from sport0) from pod A to vip:80, 32 packets a graph walk, rounds
 * times; all must come out (pod B or the uplink). ip4-lb's cycles per packet. */
static double lb_cycles(const char *vip, uint16_t sport0, uint8_t flags, unsigned rounds)
{
	struct rte_mbuf *got[64];
	uint64_t c0, o0, c1, o1;
	lb_node_stats(&c0, &o0);
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned j = 0; j < 32; j++)
			th_inject(TH_POD_A, tcp("10.244.1.2", vip, (uint16_t)(sport0 + j), 80, flags,
						th_pod_a_mac));
		unsigned n = th_run(0, NULL, TH_POD_B, got, 64);
		n += th_run(0, NULL, TH_UPLINK, got + n, (unsigned)(64 - n));
		assert_int_equal(n, 32);
		rte_pktmbuf_free_bulk(got, n);
	}
	lb_node_stats(&c1, &o1);
	assert_int_equal(o1 - o0, 32 * rounds);
	return (double)(c1 - c0) / (double)(o1 - o0);
}

/* A figure: ip4-lb's cycles per packet for established flows and new flows, affinity off
 * and on (best of 5; the harness's graph on net_ring ports). */
static void test_affinity_cycles(void **st)
{
	double est[2] = { 1e12, 1e12 }, nw[2] = { 1e12, 1e12 };
	for (int aff = 0; aff < 2; aff++)
		for (int r = 0; r < 5; r++) {
			th_reset();
			ct_clear();
			aff_service(aff ? 10800 : 0, 0, 0, 2);
			nw[aff] = RTE_MIN(nw[aff], lb_cycles("10.96.0.50", 31000, RTE_TCP_SYN_FLAG, 1));
			est[aff] = RTE_MIN(est[aff],
					   lb_cycles("10.96.0.50", 31000, RTE_TCP_ACK_FLAG, 50));
		}
	printf("ip4-lb cycles/packet: established %.0f (affinity off) %.0f (on); new flow %.0f "
	       "(off) %.0f (on)\n", est[0], est[1], nw[0], nw[1]);
	ct_clear();
}

static void test_no_mbuf_leak(void **st)
{
	th_reset();
	assert_int_equal(rte_mempool_in_use_count(sl_dp.pool), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_affinity_same_client),
		TH_TEST(test_affinity_clients_spread),
		TH_TEST(test_affinity_shared_by_group),
		TH_TEST(test_affinity_expiry),
		TH_TEST(test_affinity_refreshed_by_traffic),
		TH_TEST(test_affinity_backend_removed),
		TH_TEST(test_affinity_full),
		TH_TEST(test_service_opts_refused),
		TH_TEST(test_source_ranges_match),
		TH_TEST(test_source_ranges_graph),
		TH_TEST(test_rst_build),
		TH_TEST(test_rst_backend_gone),
		TH_TEST(test_gone_ages_fast),
		TH_TEST(test_affinity_cycles),
		TH_TEST(test_no_mbuf_leak),
	};
	return cmocka_run_group_tests_name("lb_policy", tests, setup, NULL);
}
