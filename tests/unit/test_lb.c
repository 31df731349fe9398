/* Services: Maglev properties, and ip4-lb through the real graph: DNAT to a backend, reverse
 * NAT of replies (from a local pod and through VXLAN), the same backend for a flow's later
 * packets, conntrack full, no backends (ICMP port unreachable), UDP, and nothing changed for
 * other traffic. Every rewritten packet has its checksums recomputed in full here.
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
#include "pktbuild.h"

#ifndef MAGLEV_GOLDEN
#define MAGLEV_GOLDEN 0xc9548ec
#endif

static struct rte_mbuf *out[8];

/* ---- Maglev ---- */

static void backends(struct sl_maglev_backend *b, unsigned n, uint32_t base)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (struct sl_maglev_backend){ .ip = htonl(base + i * 7), .port = htons(8080) };
}

static unsigned moved(const uint16_t *a, const struct sl_maglev_backend *ba, const uint16_t *b,
		      const struct sl_maglev_backend *bb, uint32_t m)
{
	unsigned n = 0;
	for (uint32_t s = 0; s < m; s++)
		n += ba[a[s]].ip != bb[b[s]].ip || ba[a[s]].port != bb[b[s]].port;
	return n;
}

static void test_maglev_size(void **st)
{
	assert_int_equal(sl_maglev_size(1), 251);
	assert_int_equal(sl_maglev_size(3), 509);
	assert_int_equal(sl_maglev_size(10), 1021);
	assert_int_equal(sl_maglev_size(11), 2039);
	assert_int_equal(sl_maglev_size(100), 16381);
	assert_int_equal(sl_maglev_size(1000), 131071);
	assert_int_equal(sl_maglev_size(4096), 131071);
	struct sl_maglev_backend b[2];
	uint16_t t[8];
	backends(b, 2, 1);
	assert_int_equal(sl_maglev_build(b, 0, 251, t), -EINVAL);
	assert_int_equal(sl_maglev_build(b, 2, 2, t), -EINVAL);
}

/* The same backends in any order give the same table, and the same table as every other
 * build of sluice (fixed seeds: the slots below are pinned). */
static void test_maglev_order_independent(void **st)
{
	enum { N = 10 };
	uint32_t m = sl_maglev_size(N);
	struct sl_maglev_backend b[N], r[N];
	uint16_t t1[1021], t2[1021];
	backends(b, N, 0x0af40000);
	for (unsigned i = 0; i < N; i++)
		r[i] = b[(i * 3 + 5) % N]; /* a permutation */
	assert_int_equal(sl_maglev_build(b, N, m, t1), 0);
	assert_int_equal(sl_maglev_build(r, N, m, t2), 0);
	assert_int_equal(moved(t1, b, t2, r, m), 0);
	uint32_t sum = 0;
	for (uint32_t s = 0; s < m; s++)
		sum = sum * 31 + ntohl(b[t1[s]].ip);
	printf("maglev: golden sum %#x, first slots %u %u %u %u\n", sum, t1[0], t1[1], t1[2], t1[3]);
	assert_int_equal(sum, MAGLEV_GOLDEN);
}

/* Removing 1 of N backends moves its own ~M/N slots and only a few others (Maglev paper:
 * close to minimal disruption); adding one back moves about as many. */
static void test_maglev_disruption(void **st)
{
	enum { N = 10 };
	uint32_t m = sl_maglev_size(N);
	assert_int_equal(m, sl_maglev_size(N - 1)); /* same size: the disruption Maglev has */
	struct sl_maglev_backend b[N], c[N];
	uint16_t t1[1021], t2[1021];
	backends(b, N, 0x0af40000);
	assert_int_equal(sl_maglev_build(b, N, m, t1), 0);
	for (unsigned gone = 0; gone < N; gone++) {
		unsigned k = 0;
		for (unsigned i = 0; i < N; i++)
			if (i != gone)
				c[k++] = b[i];
		assert_int_equal(sl_maglev_build(c, N - 1, m, t2), 0);
		unsigned own = 0;
		for (uint32_t s = 0; s < m; s++)
			own += t1[s] == gone;
		unsigned mv = moved(t1, b, t2, c, m);
		/* The removed backend's slots must move; others: at most 5% of the table. */
		assert_true(mv >= own);
		assert_true(mv - own <= m / 20);
		assert_true(mv <= m / N + m / 20);
		if (gone == 0)
			printf("maglev: remove 1 of %u (M %u): %u slots moved (%u were its own)\n", N,
			       m, mv, own);
	}
}

/* Equal weights: every backend owns floor(M/N) or ceil(M/N) slots. Weights: shares follow. */
static void test_maglev_spread(void **st)
{
	static uint16_t t[131071];
	static struct sl_maglev_backend b[1000];
	unsigned ns[] = { 1, 2, 7, 10, 100, 1000 };
	for (unsigned k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		unsigned n = ns[k];
		uint32_t m = sl_maglev_size(n);
		backends(b, n, 0x0af40000);
		assert_int_equal(sl_maglev_build(b, n, m, t), 0);
		unsigned cnt[1000] = { 0 };
		for (uint32_t s = 0; s < m; s++)
			cnt[t[s]]++;
		for (unsigned i = 0; i < n; i++)
			assert_true(cnt[i] == m / n || cnt[i] == m / n + 1);
	}
	backends(b, 4, 0x0af40000);
	b[0].weight = 1, b[1].weight = 2, b[2].weight = 3, b[3].weight = 4;
	uint32_t m = sl_maglev_size(4);
	assert_int_equal(sl_maglev_build(b, 4, m, t), 0);
	unsigned cnt[4] = { 0 };
	for (uint32_t s = 0; s < m; s++)
		cnt[t[s]]++;
	for (unsigned i = 0; i < 4; i++) {
		double want = m * (i + 1) / 10.0;
		assert_true(cnt[i] >= want * 0.95 && cnt[i] <= want * 1.05);
	}
}

/* The backend each slot of s picks, as an address (network order). */
static void picks(const struct sl_lb_service *s, uint32_t *ip)
{
	for (uint32_t h = 0; h < s->m; h++)
		ip[h] = sl_lb_pick(s, h)->ip;
}

/* Frontends set one after the other with the same backends reuse the last Maglev table
 * (lb_table.c): every entry must still be exactly the table its own backends give, also
 * when the set changes in between (one backend more, one terminating, other weights) and
 * when an earlier set comes back. */
static void test_lb_same_backends_same_table(void **st)
{
	struct sl_lb_backend b[12];
	for (unsigned i = 0; i < 12; i++)
		b[i] = (struct sl_lb_backend){ .ip = htonl(0x0af40100 + i * 3), .port = htons(8080) };
	struct sl_lb_backend term[10], heavy[10];
	memcpy(term, b, sizeof(term));
	term[4].flags = SL_LB_BACKEND_TERMINATING;
	memcpy(heavy, b, sizeof(heavy));
	heavy[2].weight = 5;
	const struct { const struct sl_lb_backend *b; unsigned n; } sets[] = {
		{ b, 10 }, { b, 10 }, { b, 11 }, { b, 10 }, { term, 10 }, { heavy, 10 }, { b, 10 },
	};
	static uint32_t got[2039], want[2039];
	static uint16_t t[2039];
	for (unsigned k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		struct sl_lb_frontend fe = { htonl(0x0a600a00 + k), htons(80), IPPROTO_TCP, 0 };
		assert_int_equal(sl_lb_service_set(&fe, sets[k].b, sets[k].n, 0), 0);
		const struct sl_lb_service *s = sl_lb_service_find(&fe);
		assert_non_null(s);
		picks(s, got);
		/* The reference: Maglev over the active backends, in address order. */
		struct sl_maglev_backend mb[12];
		uint32_t ip[12];
		unsigned n = 0;
		for (unsigned i = 0; i < sets[k].n; i++) {
			if (sets[k].b[i].flags & SL_LB_BACKEND_TERMINATING)
				continue;
			mb[n] = (struct sl_maglev_backend){ sets[k].b[i].ip, sets[k].b[i].port,
							    sets[k].b[i].weight };
			ip[n++] = sets[k].b[i].ip;
		}
		assert_int_equal(s->m, sl_maglev_size(n));
		assert_int_equal(sl_maglev_build(mb, n, s->m, t), 0);
		for (uint32_t h = 0; h < s->m; h++)
			want[h] = ip[t[h]];
		if (memcmp(got, want, s->m * sizeof(*got)))
			fail_msg("frontend %u: its table is not its backends' Maglev table", k);
	}
	for (unsigned k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		struct sl_lb_frontend fe = { htonl(0x0a600a00 + k), htons(80), IPPROTO_TCP, 0 };
		assert_int_equal(sl_lb_service_del(&fe), 0);
	}
	sl_dp_drain();
}

/* Memory per Service: the entry (Maglev table of uint16_t + backends). */
static void test_lb_service_memory(void **st)
{
	size_t one = sl_lb_service_size(1, 1), ten = sl_lb_service_size(10, 10);
	size_t hundred = sl_lb_service_size(100, 100);
	printf("memory per Service: 1 backend %zu B, 10 backends %zu B, 100 backends %zu B; "
	       "100,000 Services of 10: %.1f MiB\n",
	       one, ten, hundred, 100000.0 * ten / (1 << 20));
	assert_true(ten < 1300);
}

/* Slots are 1 byte up to 256 backends, 2 above: both pick every backend, about evenly, and
 * the terminating ones never. */
static void test_lb_service_wide(void **st)
{
	static struct sl_lb_backend b[300];
	unsigned ns[] = { 256, 300 };
	for (unsigned t = 0; t < 2; t++) {
		unsigned n = ns[t];
		for (unsigned i = 0; i < n; i++)
			b[i] = (struct sl_lb_backend){ .ip = htonl(0x0af40000 + i), .port = htons(80),
						       .flags = i % 10 == 9 ? SL_LB_BACKEND_TERMINATING
									    : 0 };
		struct sl_lb_frontend fe = { pb_addr("10.96.1.1"), htons(80), IPPROTO_TCP, 0 };
		assert_int_equal(sl_lb_service_set(&fe, b, n, 0), 0);
		const struct sl_lb_service *s = sl_lb_service_find(&fe);
		assert_non_null(s);
		assert_int_equal(s->wide, n > 256);
		assert_int_equal(s->n_backends, n);
		assert_int_equal(s->n_active, n - n / 10);
		static unsigned cnt[300];
		memset(cnt, 0, sizeof(cnt));
		for (uint32_t h = 0; h < s->m; h++) {
			const struct sl_lb_backend *be = sl_lb_pick(s, h);
			unsigned i = ntohl(be->ip) - 0x0af40000;
			assert_true(i < n);
			cnt[i]++;
		}
		for (unsigned i = 0; i < n; i++) {
			if (i % 10 == 9)
				assert_int_equal(cnt[i], 0);
			else
				assert_true(cnt[i] == s->m / s->n_active || cnt[i] == s->m / s->n_active + 1);
		}
		assert_int_equal(sl_lb_service_del(&fe), 0);
	}
	sl_dp_drain();
}

/* Memory per conntrack entry, measured by creating a table (hash with two keys per flow,
 * key store, entry pool). */
static void test_ct_memory(void **st)
{
	size_t small = sl_ct_memsize(1 << 16);
	assert_true(small > 0);
	printf("conntrack: 65,536 flows take %.1f MiB (%zu B per flow)\n", small / 1048576.0,
	       small >> 16);
	assert_true((small >> 16) < 300);
}

/* The TCP state machine (per direction's flags) and each state's timeout; UDP. */
static void test_ct_states(void **st)
{
	uint64_t t0 = rte_rdtsc(), hz = rte_get_tsc_hz();
	struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.96.0.99"), htons(1), htons(80),
			       IPPROTO_TCP };
	sl_ct_age(t0 + 1000000 * hz, UINT32_MAX);
	sl_dp_drain();
	struct sl_ct_entry *e = sl_ct_create(&k, pb_addr("10.244.1.3"), htons(8080),
					     RTE_TCP_SYN_FLAG, t0);
	assert_non_null(e);
	const struct {
		enum sl_ct_dir dir;
		uint8_t flags;
		enum sl_ct_state want;
	} steps[] = {
		{ SL_CT_FWD, RTE_TCP_SYN_FLAG, SL_CT_SYN_SENT }, /* retransmitted */
		{ SL_CT_REV, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, SL_CT_SYN_RECV },
		{ SL_CT_FWD, RTE_TCP_ACK_FLAG, SL_CT_ESTABLISHED },
		{ SL_CT_REV, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, SL_CT_ESTABLISHED },
		{ SL_CT_FWD, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, SL_CT_FIN_WAIT },
		{ SL_CT_REV, RTE_TCP_ACK_FLAG, SL_CT_FIN_WAIT },
		{ SL_CT_REV, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, SL_CT_CLOSED },
		{ SL_CT_FWD, RTE_TCP_SYN_FLAG, SL_CT_SYN_SENT }, /* port reused */
		{ SL_CT_REV, RTE_TCP_RST_FLAG, SL_CT_CLOSED },
	};
	for (unsigned i = 0; i < RTE_DIM(steps); i++) {
		sl_ct_update(e, steps[i].dir, steps[i].flags, t0);
		assert_int_equal(atomic_load(&e->state), steps[i].want);
	}
	/* Each state's timeout: kept just before it, removed just after. */
	const struct {
		enum sl_ct_state s;
		uint32_t secs;
	} to[] = { { SL_CT_SYN_SENT, 60 }, { SL_CT_ESTABLISHED, 21600 }, { SL_CT_FIN_WAIT, 120 },
		   { SL_CT_CLOSED, 10 } };
	for (unsigned i = 0; i < RTE_DIM(to); i++) {
		if (i > 0) {
			k.sport = htons((uint16_t)(100 + i));
			e = sl_ct_create(&k, pb_addr("10.244.1.3"), htons(8080), RTE_TCP_SYN_FLAG,
					 t0);
			assert_non_null(e);
		}
		atomic_store(&e->state, to[i].s);
		/* Two calls: a pass goes on from where the last one stopped, to the end. */
		uint64_t before = t0 + (to[i].secs - 1) * hz, after = t0 + (to[i].secs + 1) * hz;
		assert_int_equal(sl_ct_age(before, UINT32_MAX) + sl_ct_age(before, UINT32_MAX), 0);
		assert_int_equal(sl_ct_age(after, UINT32_MAX) + sl_ct_age(after, UINT32_MAX), 1);
		sl_dp_drain();
		assert_int_equal(sl_ct_count(), 0);
	}

	/* UDP: NEW until the backend answers; 60 s either way. A flushed backend loses it. */
	k.proto = IPPROTO_UDP;
	e = sl_ct_create(&k, pb_addr("10.244.1.3"), htons(5353), 0, t0);
	assert_int_equal(atomic_load(&e->state), SL_CT_NEW);
	sl_ct_update(e, SL_CT_FWD, 0, t0);
	assert_int_equal(atomic_load(&e->state), SL_CT_NEW);
	sl_ct_update(e, SL_CT_REV, 0, t0);
	assert_int_equal(atomic_load(&e->state), SL_CT_REPLIED);
	assert_int_equal(sl_ct_age(t0 + 59 * hz, UINT32_MAX), 0);
	assert_int_equal(sl_ct_flush_backend(pb_addr("10.244.1.4"), 0), 0);
	assert_int_equal(sl_ct_flush_backend(pb_addr("10.244.1.3"), htons(5353)), 1);
	enum sl_ct_dir dir;
	assert_null(sl_ct_lookup(&k, &dir));
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
}

/* ---- checksums ---- */

/* RFC 1624 rewrite equals a full recompute (TCP and UDP), over random packets. */
static void test_nat_checksums_random(void **st)
{
	uint8_t buf[20 + 20 + 64];
	uint32_t seed = 99;
	for (int i = 0; i < 20000; i++) {
		for (size_t k = 0; k < sizeof(buf); k++) {
			seed = seed * 1103515245 + 12345;
			buf[k] = (uint8_t)(seed >> 16);
		}
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
		ip->version_ihl = 0x45;
		ip->total_length = htons(sizeof(buf));
		ip->next_proto_id = (i & 1) ? IPPROTO_TCP : IPPROTO_UDP;
		uint8_t *l4 = buf + 20;
		if (!(i & 1))
			((struct rte_udp_hdr *)l4)->dgram_len = htons(sizeof(buf) - 20);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		uint16_t *ck = (uint16_t *)(l4 + ((i & 1) ? 16 : 6)); /* TCP, UDP checksum */
		*ck = 0;
		*ck = rte_ipv4_udptcp_cksum(ip, l4);
		sl_nat_rewrite(ip, l4, sizeof(buf) - 20, i & 2, seed, (uint16_t)(seed >> 7));
		assert_int_equal(rte_raw_cksum(ip, 20), 0xffff);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, l4), 0);
	}
}

/* ---- packets ---- */

/* Forget every flow: age everything, run the deferred frees. */
static void ct_clear(void)
{
	sl_ct_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
	atomic_store(&sl_ct.insert_failed, 0);
}

static int setup(void **st)
{
	if (th_setup(st) < 0 || th_lb_setup() < 0)
		return -1;
	return 0;
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

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
}

static uint16_t *ports_of(struct rte_ipv4_hdr *ip)
{
	return (uint16_t *)((uint8_t *)ip + rte_ipv4_hdr_len(ip));
}

/* Check the one frame out[0]: addresses, ports and every checksum. */
static void expect(struct rte_mbuf *m, const char *src, uint16_t sport, const char *dst,
		   uint16_t dport)
{
	struct rte_ipv4_hdr *ip = ip_of(m);
	assert_int_equal(ip->src_addr, pb_addr(src));
	assert_int_equal(ip->dst_addr, pb_addr(dst));
	assert_int_equal(ntohs(ports_of(ip)[0]), sport);
	assert_int_equal(ntohs(ports_of(ip)[1]), dport);
	assert_true(pb_ip4_cksum_ok(ip));
	assert_true(pb_l4_cksum_ok(ip));
}

/* A TCP handshake to 10.96.0.10:80 from pod A: the SYN reaches pod B at 10.244.1.3:8080, the
 * SYN-ACK reaches pod A from the VIP, the ACK and data reach pod B; the entry is
 * ESTABLISHED. */
static void test_lb_tcp_handshake(void **st)
{
	th_reset();
	ct_clear();
	unsigned n = th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 40000, 80, RTE_TCP_SYN_FLAG,
					  th_pod_a_mac), TH_POD_B, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "10.244.1.2", 40000, "10.244.1.3", 8080);
	assert_int_equal(ip_of(out[0])->time_to_live, 63);
	rte_pktmbuf_free(out[0]);

	n = th_run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 8080, 40000,
				 RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "10.96.0.10", 80, "10.244.1.2", 40000);
	rte_pktmbuf_free(out[0]);

	for (int i = 0; i < 3; i++) {
		n = th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 40000, 80, RTE_TCP_ACK_FLAG,
					 th_pod_a_mac), TH_POD_B, out, 8);
		assert_int_equal(n, 1);
		expect(out[0], "10.244.1.2", 40000, "10.244.1.3", 8080);
		rte_pktmbuf_free(out[0]);
	}
	struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.96.0.10"), htons(40000),
			       htons(80), IPPROTO_TCP };
	enum sl_ct_dir dir;
	struct sl_ct_entry *e = sl_ct_lookup(&k, &dir);
	assert_non_null(e);
	assert_int_equal(dir, SL_CT_FWD);
	assert_int_equal(atomic_load(&e->state), SL_CT_ESTABLISHED);
	assert_int_equal(sl_ct_count(), 1);
}

/* Two backends (pod B, remote pod): each flow's later packets reach the backend its first
 * packet reached, and both backends get flows. */
static void test_lb_flow_keeps_backend(void **st)
{
	th_reset();
	ct_clear();
	unsigned local = 0, remote = 0;
	for (uint16_t f = 0; f < 32; f++) {
		int first = -1;
		for (int i = 0; i < 3; i++) {
			uint8_t fl = i ? RTE_TCP_ACK_FLAG : RTE_TCP_SYN_FLAG;
			th_inject(TH_POD_A, tcp("10.244.1.2", "10.96.0.12", (uint16_t)(41000 + f),
						80, fl, th_pod_a_mac));
			unsigned nb = th_run(0, NULL, TH_POD_B, out, 8);
			unsigned nu = th_run(0, NULL, TH_UPLINK, out + nb, 8);
			assert_int_equal(nb + nu, 1);
			if (nb) {
				expect(out[0], "10.244.1.2", (uint16_t)(41000 + f), "10.244.1.3", 8080);
			} else {
				struct rte_ipv4_hdr *in = rte_pktmbuf_mtod_offset(
					out[0], struct rte_ipv4_hdr *, 14 + 20 + 8 + 8 + 14);
				assert_int_equal(in->dst_addr, pb_addr("10.244.2.2"));
				assert_int_equal(ntohs(ports_of(in)[1]), 8080);
				assert_true(pb_ip4_cksum_ok(in));
				assert_true(pb_l4_cksum_ok(in));
			}
			rte_pktmbuf_free(out[0]);
			if (first < 0)
				first = (int)nb;
			assert_int_equal(first, (int)nb);
		}
		local += first == 1;
		remote += first == 0;
	}
	printf("lb: 32 flows: %u to pod B, %u to the remote pod\n", local, remote);
	assert_true(local >= 4 && remote >= 4);
}

/* A remote backend's reply arrives through VXLAN and is reverse-NAT'ed on its way to pod A. */
static void test_lb_reply_through_vxlan(void **st)
{
	th_reset();
	ct_clear();
	unsigned n = th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.13", 42000, 80, RTE_TCP_SYN_FLAG,
					  th_pod_a_mac), TH_UPLINK, out, 8);
	assert_int_equal(n, 1);
	rte_pktmbuf_free(out[0]);
	struct rte_mbuf *inner = tcp("10.244.2.2", "10.244.1.2", 8080, 42000,
				     RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_remote_mac);
	struct rte_mbuf *m = pb_vxlan(sl_dp.pool, th_uplink_mac, "198.18.0.2", "198.18.0.1", 4789,
				      42, 0x08, inner);
	rte_pktmbuf_free(inner);
	n = th_run(TH_UPLINK, m, TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	expect(out[0], "10.96.0.13", 80, "10.244.1.2", 42000);
	rte_pktmbuf_free(out[0]);
}

/* UDP with a checksum, and without (0 stays 0). */
static void test_lb_udp(void **st)
{
	th_reset();
	ct_clear();
	for (int with_ck = 1; with_ck >= 0; with_ck--) {
		struct pb_ip4 p = { .src_mac = th_pod_a_mac, .dst_mac = th_gw_mac,
				    .src = "10.244.1.2", .dst = "10.96.0.10", .sport = 33000,
				    .dport = 53, .payload = 30 };
		struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
		if (with_ck)
			pb_l4_cksum(m);
		assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 8), 1);
		expect(out[0], "10.244.1.2", 33000, "10.244.1.3", 5353);
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip_of(out[0]) + 1);
		assert_true(with_ck ? u->dgram_cksum != 0 : u->dgram_cksum == 0);
		rte_pktmbuf_free(out[0]);
		p = (struct pb_ip4){ .src_mac = th_pod_b_mac, .dst_mac = th_gw_mac,
				     .src = "10.244.1.3", .dst = "10.244.1.2", .sport = 5353,
				     .dport = 33000, .payload = 60 };
		m = pb_ip4(sl_dp.pool, &p);
		if (with_ck)
			pb_l4_cksum(m);
		assert_int_equal(th_run(TH_POD_B, m, TH_POD_A, out, 8), 1);
		expect(out[0], "10.96.0.10", 53, "10.244.1.2", 33000);
		rte_pktmbuf_free(out[0]);
	}
	assert_int_equal(sl_ct_count(), 1);
}

/* CRC32c bit by bit (RFC 4960 appendix B), independent of sluice's. */
static uint32_t crc32c_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
	}
	return ~c;
}

/* The SCTP checksum field of the SCTP packet at l4 (len bytes) is right. */
static bool sctp_ok(uint8_t *l4, size_t len)
{
	uint8_t tmp[256];
	memcpy(tmp, l4, len);
	memset(tmp + 8, 0, 4);
	uint32_t c = crc32c_ref(tmp, len);
	uint8_t want[4] = { c & 0xff, c >> 8 & 0xff, c >> 16 & 0xff, c >> 24 }; /* as Linux */
	return !memcmp(l4 + 8, want, 4);
}

static struct rte_mbuf *sctp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			     struct rte_ether_addr smac)
{
	/* Built as UDP (ports first in both), then made SCTP: common header + 20 bytes. */
	struct pb_ip4 p = { .src_mac = smac, .dst_mac = th_gw_mac, .src = src, .dst = dst,
			    .sport = sport, .dport = dport, .payload = 24 };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	struct rte_ipv4_hdr *ip = ip_of(m);
	ip->next_proto_id = IPPROTO_SCTP;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	uint8_t *l4 = (uint8_t *)(ip + 1);
	memcpy(l4 + 4, "\x12\x34\x56\x78", 4); /* verification tag */
	memset(l4 + 8, 0, 4);
	uint32_t c = crc32c_ref(l4, 32);
	uint8_t le[4] = { c & 0xff, c >> 8 & 0xff, c >> 16 & 0xff, c >> 24 };
	memcpy(l4 + 8, le, 4);
	assert_true(sctp_ok(l4, 32));
	return m;
}

/* SCTP: the CRC32c is recomputed after the rewrite (it covers no pseudo-header, but the
 * ports); checked bit by bit against RFC 4960's CRC. */
static void test_lb_sctp(void **st)
{
	th_reset();
	ct_clear();
	static const uint8_t kat[] = "123456789";
	assert_int_equal(crc32c_ref(kat, 9), 0xe3069283); /* the CRC32c check value */
	assert_int_equal(rte_le_to_cpu_32(~sl_sctp_cksum(kat, 9)), ~0xe3069283u);
	assert_int_equal(th_run(TH_POD_A, sctp("10.244.1.2", "10.96.0.10", 7000, 9000, th_pod_a_mac),
				TH_POD_B, out, 8), 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.3"));
	assert_int_equal(ntohs(ports_of(ip)[1]), 9001);
	assert_true(pb_ip4_cksum_ok(ip));
	assert_true(sctp_ok((uint8_t *)(ip + 1), 32));
	rte_pktmbuf_free(out[0]);
	assert_int_equal(th_run(TH_POD_B, sctp("10.244.1.3", "10.244.1.2", 9001, 7000, th_pod_b_mac),
				TH_POD_A, out, 8), 1);
	ip = ip_of(out[0]);
	assert_int_equal(ip->src_addr, pb_addr("10.96.0.10"));
	assert_int_equal(ntohs(ports_of(ip)[0]), 9000);
	assert_true(pb_ip4_cksum_ok(ip));
	assert_true(sctp_ok((uint8_t *)(ip + 1), 32));
	rte_pktmbuf_free(out[0]);
}

/* An ICMP error quoting ip's first hdr + 8 bytes, from src to dst, type/code, as a frame
 * arriving from smac. */
static struct rte_mbuf *icmp_error_about(const struct rte_ipv4_hdr *ip, const char *src,
					 const char *dst, uint8_t type, uint8_t code,
					 struct rte_ether_addr smac)
{
	struct pb_ip4 p = { .src_mac = smac, .dst_mac = th_gw_mac, .src = src, .dst = dst,
			    .proto = IPPROTO_ICMP, .payload = 28 };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip_of(m) + 1);
	icmp->icmp_type = type;
	icmp->icmp_code = code;
	icmp->icmp_ident = icmp->icmp_seq_nb = 0;
	memcpy(icmp + 1, ip, 28);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + 28);
	return m;
}

/* ICMP errors about a translated flow reach the client about the frontend: the one sluiced
 * sends itself (fragmentation needed towards a remote backend, RFC 1191) and one a backend
 * sends (UDP port unreachable); every checksum is recomputed, and the quoted UDP checksum is
 * the one the client sent. */
static void test_lb_icmp_errors(void **st)
{
	th_reset();
	ct_clear();
	struct rte_mbuf *m = tcp("10.244.1.2", "10.96.0.13", 49000, 80, RTE_TCP_SYN_FLAG,
				 th_pod_a_mac);
	assert_int_equal(th_run(TH_POD_A, m, TH_UPLINK, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	struct pb_ip4 p = { .src_mac = th_pod_a_mac, .dst_mac = th_gw_mac, .src = "10.244.1.2",
			    .dst = "10.96.0.13", .proto = IPPROTO_TCP, .sport = 49000, .dport = 80,
			    .payload = 1430, .tcp_flags = RTE_TCP_ACK_FLAG, .df = true };
	m = pb_ip4(sl_dp.pool, &p);
	pb_l4_cksum(m);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_A, out, 8), 1);
	assert_int_equal(th_drops(SL_DROP_DF_TOO_BIG), 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	assert_true(pb_ip4_cksum_ok(ip));
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(icmp->icmp_code, SL_ICMP_UNREACH_NEEDFRAG);
	assert_int_equal(rte_raw_cksum(icmp, ntohs(ip->total_length) - 20), 0xffff);
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(q->dst_addr, pb_addr("10.96.0.13"));
	assert_int_equal(ntohs(ports_of(q)[1]), 80);
	assert_true(pb_ip4_cksum_ok(q));
	rte_pktmbuf_free(out[0]);

	/* UDP to 10.96.0.10:53 reaches pod B; pod B answers port unreachable. */
	p = (struct pb_ip4){ .src_mac = th_pod_a_mac, .dst_mac = th_gw_mac, .src = "10.244.1.2",
			     .dst = "10.96.0.10", .sport = 33100, .dport = 53, .payload = 20 };
	m = pb_ip4(sl_dp.pool, &p);
	pb_l4_cksum(m);
	uint16_t sent_ck = ((struct rte_udp_hdr *)(ip_of(m) + 1))->dgram_cksum;
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 8), 1);
	struct rte_mbuf *err = icmp_error_about(ip_of(out[0]), "10.244.1.3", "10.244.1.2",
						SL_ICMP_DEST_UNREACH, SL_ICMP_UNREACH_PORT,
						th_pod_b_mac);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(th_run(TH_POD_B, err, TH_POD_A, out, 8), 1);
	ip = ip_of(out[0]);
	assert_int_equal(ip->src_addr, pb_addr("10.96.0.10"));
	assert_true(pb_ip4_cksum_ok(ip));
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(rte_raw_cksum(icmp, ntohs(ip->total_length) - 20), 0xffff);
	q = (struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(q->dst_addr, pb_addr("10.96.0.10"));
	assert_int_equal(ntohs(ports_of(q)[1]), 53);
	assert_true(pb_ip4_cksum_ok(q));
	assert_int_equal(((struct rte_udp_hdr *)(q + 1))->dgram_cksum, sent_ck);
	rte_pktmbuf_free(out[0]);
}

/* A Service without backends: the client gets ICMP port unreachable quoting its packet. */
static void test_lb_no_backends(void **st)
{
	th_reset();
	ct_clear();
	unsigned n = th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.11", 43000, 80, RTE_TCP_SYN_FLAG,
					  th_pod_a_mac), TH_POD_A, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(th_drops(SL_DROP_LB_NO_BACKEND), 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	assert_int_equal(ip->dst_addr, pb_addr("10.244.1.2"));
	assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
	assert_true(pb_ip4_cksum_ok(ip));
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(icmp->icmp_type, SL_ICMP_DEST_UNREACH);
	assert_int_equal(icmp->icmp_code, SL_ICMP_UNREACH_PORT);
	assert_int_equal(rte_raw_cksum(icmp, ntohs(ip->total_length) - 20), 0xffff);
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(q->dst_addr, pb_addr("10.96.0.11"));
	assert_int_equal(ntohs(ports_of(q)[1]), 80);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_ct_count(), 0);
}

/* A Service whose endpoints are all elsewhere for this traffic (SL_LB_SVC_DROP_EMPTY):
 * new flows are dropped and counted, no ICMP error goes back (kube-proxy drops them). */
static void test_lb_none_selected_drops(void **st)
{
	th_reset();
	ct_clear();
	struct sl_lb_frontend fe = { .vip = pb_addr("10.96.0.14"), .port = htons(80),
				     .proto = IPPROTO_TCP };
	assert_int_equal(sl_lb_service_set(&fe, NULL, 0, SL_LB_SVC_DROP_EMPTY), 0);
	unsigned n = th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.14", 43001, 80, RTE_TCP_SYN_FLAG,
					  th_pod_a_mac), TH_POD_A, out, 8);
	assert_int_equal(n, 0);
	assert_int_equal(th_drops(SL_DROP_LB_NONE_SELECTED), 1);
	assert_int_equal(th_drops(SL_DROP_LB_NO_BACKEND), 0);
	assert_int_equal(sl_ct_count(), 0);
	assert_int_equal(sl_lb_service_del(&fe), 0);
}

/* Conntrack full: the next new flow is dropped and counted, existing flows still pass; once
 * aged, new flows get in again. */
static void test_lb_ct_full(void **st)
{
	th_reset();
	ct_clear();
	for (uint16_t f = 0; f < TH_CT_SIZE; f++) {
		assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", (uint16_t)(44000 + f),
						      80, RTE_TCP_SYN_FLAG, th_pod_a_mac),
					TH_POD_B, out, 8), 1);
		rte_pktmbuf_free(out[0]);
	}
	assert_int_equal(sl_ct_count(), TH_CT_SIZE);
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 45000, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B, out, 8), 0);
	assert_int_equal(th_drops(SL_DROP_CT_FULL), 1);
	assert_int_equal(atomic_load(&sl_ct.insert_failed), 1);
	/* An existing flow is untouched. */
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 44005, 80,
					      RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B, out, 8), 1);
	expect(out[0], "10.244.1.2", 44005, "10.244.1.3", 8080);
	rte_pktmbuf_free(out[0]);
	/* Ageing: nothing before the SYN timeout, everything after. */
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	assert_int_equal(sl_ct_age(now + 30 * hz, UINT32_MAX), 0);
	unsigned a = sl_ct_age(now + 61 * hz, 16); /* budget: 16 keys looked at, 2 per flow */
	assert_true(a > 0 && a <= 16);
	/* On from where it stopped to the end of the table, then from the start. */
	a += sl_ct_age(now + 61 * hz, UINT32_MAX);
	a += sl_ct_age(now + 61 * hz, UINT32_MAX);
	assert_int_equal(a, TH_CT_SIZE);
	sl_dp_drain();
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 45000, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B, out, 8), 1);
	rte_pktmbuf_free(out[0]);
}

/* Traffic that is not for a Service passes untouched; with no Service and no flow left,
 * ip4-lb is off the path. */
static void test_lb_others_untouched(void **st)
{
	th_reset();
	ct_clear();
	struct rte_mbuf *m = tcp("10.244.1.2", "10.244.1.3", 46000, 80, RTE_TCP_SYN_FLAG,
				 th_pod_a_mac);
	uint8_t want[128];
	size_t len = rte_pktmbuf_pkt_len(m);
	memcpy(want, rte_pktmbuf_mtod(m, void *), len);
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 8), 1);
	struct rte_ipv4_hdr *ip = ip_of(out[0]);
	assert_memory_equal((uint8_t *)ip + 12, want + 14 + 12, len - 14 - 12); /* past TTL */
	rte_pktmbuf_free(out[0]);
	assert_int_equal(sl_ct_count(), 0);
}

/* Trace: ip4-lb says what it decided. */
static void test_lb_trace(void **st)
{
	th_reset();
	ct_clear();
	struct sl_worker *w = &sl_dp.workers[0];
	atomic_store(&w->trace_n, 0);
	atomic_store(&w->trace_budget, 1);
	th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 47000, 80, RTE_TCP_SYN_FLAG, th_pod_a_mac),
	       TH_POD_B, out, 8);
	rte_pktmbuf_free(out[0]);
	unsigned n = atomic_load(&w->trace_n);
	bool found = false;
	/* Why that backend: the Maglev slot of the flow's hash, of the table's m. */
	struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.96.0.10"), htons(47000),
			       htons(80), IPPROTO_TCP };
	struct sl_lb_frontend fe = { pb_addr("10.96.0.10"), htons(80), IPPROTO_TCP };
	const struct sl_lb_service *s = sl_lb_service_find(&fe);
	assert_non_null(s);
	char want[96];
	snprintf(want, sizeof(want), "new svc 10.96.0.10:80/tcp -> 10.244.1.3:8080 maglev slot %u/%u",
		 rte_hash_crc(&k, sizeof(k), 0) % s->m, s->m);
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(w->trace[i].node, "ip4-lb")) {
			assert_string_equal(w->trace[i].note, want);
			found = true;
		}
	assert_true(found);
	atomic_store(&w->trace_n, 0);
}

/* The counters of frontend vip:port/proto, summed over the workers. */
static struct sl_lb_counters counters(const char *vip, uint16_t port, uint8_t proto)
{
	struct sl_lb_frontend fe = { pb_addr(vip), htons(port), proto };
	const struct sl_lb_service *s = sl_lb_service_find(&fe);
	assert_non_null(s);
	assert_true(s->stats_slot > 0);
	struct sl_lb_counters c;
	sl_lb_stats_sum(s->stats_slot, &c);
	return c;
}

/* Per-frontend counters: a TCP flow's packets and bytes each way and its creation, a reject,
 * a none-selected drop and a conntrack-full drop, each on its own frontend; the counts
 * survive the entry's replacement (an endpoint change); a slot given to another frontend
 * starts from zero. */
static void test_lb_counters(void **st)
{
	th_reset();
	ct_clear();
	struct sl_lb_counters c0 = counters("10.96.0.10", 80, IPPROTO_TCP);
	struct sl_lb_counters r0 = counters("10.96.0.11", 80, IPPROTO_TCP);
	struct rte_mbuf *m = tcp("10.244.1.2", "10.96.0.10", 48000, 80, RTE_TCP_SYN_FLAG,
				 th_pod_a_mac);
	uint32_t len = rte_pktmbuf_pkt_len(m) - 14; /* IP bytes */
	assert_int_equal(th_run(TH_POD_A, m, TH_POD_B, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(th_run(TH_POD_B, tcp("10.244.1.3", "10.244.1.2", 8080, 48000,
					      RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, th_pod_b_mac),
				TH_POD_A, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 48000, 80,
						      RTE_TCP_ACK_FLAG, th_pod_a_mac),
					TH_POD_B, out, 8), 1);
		rte_pktmbuf_free(out[0]);
	}
	struct sl_lb_counters c = counters("10.96.0.10", 80, IPPROTO_TCP);
	assert_int_equal(c.new_flows - c0.new_flows, 1);
	assert_int_equal(c.fwd_packets - c0.fwd_packets, 3);
	assert_int_equal(c.fwd_bytes - c0.fwd_bytes, 3 * len);
	assert_int_equal(c.rev_packets - c0.rev_packets, 1);
	assert_int_equal(c.rev_bytes - c0.rev_bytes, len);
	assert_int_equal(c.rejects + c.drop_none + c.drop_ct_full,
			 c0.rejects + c0.drop_none + c0.drop_ct_full);
	/* The flow's entry carries the frontend's slot, for the replies. */
	struct sl_lb_frontend fe = { pb_addr("10.96.0.10"), htons(80), IPPROTO_TCP };
	uint32_t slot = sl_lb_service_find(&fe)->stats_slot;
	struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.96.0.10"), htons(48000),
			       htons(80), IPPROTO_TCP };
	enum sl_ct_dir dir;
	assert_int_equal(sl_ct_lookup(&k, &dir)->lb_slot, slot);

	/* A reject on 10.96.0.11 (no backend) counts there, not on 10.96.0.10. */
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.11", 48001, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_A, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	struct sl_lb_counters r = counters("10.96.0.11", 80, IPPROTO_TCP);
	assert_int_equal(r.rejects - r0.rejects, 1);
	assert_int_equal(r.new_flows - r0.new_flows, 0);
	assert_int_equal(counters("10.96.0.10", 80, IPPROTO_TCP).rejects, c.rejects);

	/* None selected (a Local policy without local endpoints). */
	struct sl_lb_frontend fl = { pb_addr("10.96.0.15"), htons(80), IPPROTO_TCP };
	assert_int_equal(sl_lb_service_set(&fl, NULL, 0, SL_LB_SVC_DROP_EMPTY), 0);
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.15", 48002, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_A, out, 8), 0);
	struct sl_lb_counters d = counters("10.96.0.15", 80, IPPROTO_TCP);
	assert_int_equal(d.drop_none, 1);
	assert_int_equal(d.fwd_packets + d.rejects + d.new_flows, 0);

	/* An endpoint change replaces the entry: same slot, the counts go on. */
	struct sl_lb_backend b = { .ip = pb_addr("10.244.1.3"), .port = htons(8080) };
	assert_int_equal(sl_lb_service_set(&fe, &b, 1, 0), 0);
	assert_int_equal(sl_lb_service_find(&fe)->stats_slot, slot);
	assert_int_equal(counters("10.96.0.10", 80, IPPROTO_TCP).fwd_packets, c.fwd_packets);
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 48000, 80,
					      RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(counters("10.96.0.10", 80, IPPROTO_TCP).fwd_packets, c.fwd_packets + 1);

	/* Conntrack full: the new flow's drop is counted on its frontend. */
	ct_clear();
	for (uint16_t f = 0; f < TH_CT_SIZE; f++) {
		assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.13", (uint16_t)(49000 + f),
						      80, RTE_TCP_SYN_FLAG, th_pod_a_mac),
					TH_UPLINK, out, 8), 1);
		rte_pktmbuf_free(out[0]);
	}
	struct sl_lb_counters f0 = counters("10.96.0.13", 80, IPPROTO_TCP);
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.13", 49999, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_UPLINK, out, 8), 0);
	struct sl_lb_counters f = counters("10.96.0.13", 80, IPPROTO_TCP);
	assert_int_equal(f.drop_ct_full - f0.drop_ct_full, 1);
	assert_int_equal(f.new_flows, f0.new_flows);
	ct_clear();

	/* A deleted frontend's slot, once every never-used one is handed out, goes to the next
	 * new frontend, zeroed. */
	uint32_t fslot = sl_lb_service_find(&fl)->stats_slot;
	assert_int_equal(sl_lb_service_del(&fl), 0);
	sl_dp_drain(); /* the release waits for a grace period */
	uint32_t got[80], n = 0;
	while (n < 80 && (got[n] = sl_lb_stats_slot_alloc()) != 0 && got[n] != fslot)
		n++;
	assert_true(n < 80);
	assert_int_equal(got[n], fslot); /* last: the only released slot */
	sl_lb_stats_sum(fslot, &d);
	assert_int_equal(d.drop_none, 0);
	assert_int_equal(sl_lb_stats_slot_alloc(), 0); /* none left (max_services 64) */
	for (uint32_t i = 0; i <= n; i++)
		sl_lb_stats_slot_release(got[i]);
	sl_dp_drain();
}

static bool count_match(struct sl_ct_entry *e, void *arg)
{
	const struct sl_ct_filter *f = ((const void **)arg)[0];
	unsigned *n = ((void **)arg)[1];
	*n += sl_ct_match(f, e);
	return true;
}

/* Flows f matches, by a walk. */
static unsigned matching(const struct sl_ct_filter *f)
{
	unsigned n = 0;
	const void *arg[2] = { f, &n };
	sl_ct_walk(count_match, arg);
	return n;
}

/* The walk behind `show conntrack` and `conntrack flush`: each flow visited once, filters
 * count exactly their flows, a flush removes exactly those (both keys) and counts them. */
static void test_ct_walk_flush(void **st)
{
	th_reset();
	ct_clear();
	uint64_t now = rte_rdtsc();
	/* 10 TCP flows from pod A to 10.96.0.12:80: even ones on pod B, odd ones on the remote
	 * pod; 3 UDP flows to 10.96.0.10:53 from another client; one in ESTABLISHED. */
	for (uint16_t i = 0; i < 10; i++) {
		struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr("10.96.0.12"), htons(50000 + i),
				       htons(80), IPPROTO_TCP };
		assert_non_null(sl_ct_create_ex(&k, pb_addr(i & 1 ? "10.244.2.2" : "10.244.1.3"),
						htons(8080), i == 4 ? RTE_TCP_ACK_FLAG : RTE_TCP_SYN_FLAG,
						now, 0));
	}
	for (uint16_t i = 0; i < 3; i++) {
		struct sl_ct_key k = { pb_addr("10.244.1.9"), pb_addr("10.96.0.10"), htons(51000 + i),
				       htons(53), IPPROTO_UDP };
		assert_non_null(sl_ct_create_ex(&k, pb_addr("10.244.1.3"), htons(5353), 0, now, 0));
	}
	struct sl_ct_filter all = { 0 };
	assert_int_equal(matching(&all), 13);
	struct sl_ct_filter svc = { .flags = SL_CTF_SERVICE, .svc_ip = pb_addr("10.96.0.12"),
				    .svc_port = htons(80) };
	assert_int_equal(matching(&svc), 10);
	struct sl_ct_filter vip = { .flags = SL_CTF_SERVICE, .svc_ip = pb_addr("10.96.0.10") };
	assert_int_equal(matching(&vip), 3);
	struct sl_ct_filter cl = { .flags = SL_CTF_CLIENT, .client_ip = pb_addr("10.244.1.9") };
	assert_int_equal(matching(&cl), 3);
	struct sl_ct_filter udp = { .flags = SL_CTF_PROTO, .proto = IPPROTO_UDP };
	assert_int_equal(matching(&udp), 3);
	struct sl_ct_filter est = { .flags = SL_CTF_STATE, .state = SL_CT_ESTABLISHED };
	assert_int_equal(matching(&est), 1);
	struct sl_ct_filter be = { .flags = SL_CTF_BACKEND, .be_ip = pb_addr("10.244.2.2"),
				   .be_port = htons(8080) };
	assert_int_equal(matching(&be), 5);

	/* Flush the remote backend's flows: exactly those 5 go, both keys. */
	uint64_t flushed = sl_ct.flushed;
	assert_int_equal(sl_ct_flush(&be), 5);
	assert_int_equal(sl_ct.flushed - flushed, 5);
	assert_int_equal(matching(&be), 0);
	assert_int_equal(matching(&all), 8);
	struct sl_ct_key rk = { pb_addr("10.244.2.2"), pb_addr("10.244.1.2"), htons(8080),
				htons(50001), IPPROTO_TCP };
	enum sl_ct_dir dir;
	assert_null(sl_ct_lookup(&rk, &dir));
	struct sl_ct_key fk = { pb_addr("10.244.1.2"), pb_addr("10.96.0.12"), htons(50000),
				htons(80), IPPROTO_TCP };
	assert_non_null(sl_ct_lookup(&fk, &dir)); /* pod B's flows stay */
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 8);
	/* Several fields at once: UDP from 10.244.1.9 to 10.96.0.10:53. */
	struct sl_ct_filter many = { .flags = SL_CTF_SERVICE | SL_CTF_CLIENT | SL_CTF_PROTO,
				     .svc_ip = pb_addr("10.96.0.10"), .svc_port = htons(53),
				     .client_ip = pb_addr("10.244.1.9"), .proto = IPPROTO_UDP };
	assert_int_equal(sl_ct_flush(&many), 3);
	assert_int_equal(sl_ct_flush(&all), 5);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
}

/* Run job j to its end in slices of max_us; *ret_slices: how many calls it took. */
static cJSON *job_run(struct sl_ct_job *j, uint64_t max_us, unsigned *ret_slices)
{
	cJSON *r = NULL;
	for (*ret_slices = 0; !r; (*ret_slices)++)
		r = sl_ct_job_run(j, max_us);
	return r;
}

static int jint(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);
	assert_non_null(v);
	return v->valueint;
}

/* `show conntrack` and `conntrack flush` as sluiced runs them, in slices (sl_ct_job_*): on
 * 16,384 flows (32,768 keys) a job given no time per slice takes one step of keys per call
 * and still counts, lists (bounded) and removes exactly what one full walk would. */
static void test_ct_jobs_in_slices(void **st)
{
	th_reset();
	ct_clear();
	sl_lb_fini();
	struct sl_lb_conf c = { .max_services = 64, .ct = { .size = 16384 } };
	assert_int_equal(sl_lb_init(&c), 0);
	uint64_t now = rte_rdtsc();
	for (uint32_t i = 0; i < 16000; i++) { /* a full cuckoo table refuses some keys */
		struct sl_ct_key k = { htonl(0x0af40100 + (i >> 12)), pb_addr("10.96.0.12"),
				       htons((uint16_t)(1024 + (i & 4095))), htons(80), IPPROTO_TCP };
		if (!sl_ct_create_ex(&k, pb_addr(i % 4 ? "10.244.1.3" : "10.244.2.2"), htons(8080),
				     RTE_TCP_SYN_FLAG, now, 0))
			fail_msg("flow %u not created (%u held)", i, sl_ct_count());
	}
	unsigned slices;
	struct sl_ct_filter sum = { .summary = true, .limit = 1000 };
	cJSON *r = job_run(sl_ct_job_start(&sum, false), 0, &slices);
	printf("summary of 16,000 flows: %u slices\n", slices);
	assert_true(slices >= 8); /* 4,096 keys a step */
	assert_int_equal(jint(r, "entries"), 16000);
	assert_int_equal(jint(r, "matched"), 16000);
	assert_int_equal(jint(r, "size"), 16384);
	assert_true(cJSON_GetObjectItem(r, "occupancy_pct")->valuedouble == 97.65);
	assert_int_equal(jint(cJSON_GetObjectItem(r, "states"), "SYN_SENT"), 16000);
	assert_int_equal(jint(cJSON_GetObjectItem(r, "protocols"), "tcp"), 16000);
	cJSON_Delete(r);

	struct sl_ct_filter be = { .flags = SL_CTF_BACKEND, .be_ip = pb_addr("10.244.2.2"),
				   .limit = 10 };
	r = job_run(sl_ct_job_start(&be, false), 0, &slices);
	assert_int_equal(jint(r, "matched"), 4000);
	assert_int_equal(jint(r, "shown"), 10);
	const cJSON *flows = cJSON_GetObjectItem(r, "flows"), *f;
	assert_int_equal(cJSON_GetArraySize(flows), 10);
	cJSON_ArrayForEach(f, flows)
	{
		assert_string_equal(cJSON_GetObjectItem(f, "backend")->valuestring, "10.244.2.2:8080");
		assert_string_equal(cJSON_GetObjectItem(f, "service")->valuestring, "10.96.0.12:80");
		assert_string_equal(cJSON_GetObjectItem(f, "state")->valuestring, "SYN_SENT");
		assert_string_equal(cJSON_GetObjectItem(f, "proto")->valuestring, "tcp");
	}
	cJSON_Delete(r);

	/* A flush in slices removes exactly the 4,000 flows of that backend. */
	uint64_t flushed = sl_ct.flushed;
	r = job_run(sl_ct_job_start(&be, true), 0, &slices);
	assert_int_equal(jint(r, "flushed"), 4000);
	assert_int_equal(sl_ct.flushed - flushed, 4000);
	cJSON_Delete(r);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 16000 - 4000);
	/* An abandoned job (its client hung up) counts what it removed and frees itself. */
	struct sl_ct_filter all = { .limit = 1000 };
	struct sl_ct_job *j = sl_ct_job_start(&all, true);
	assert_null(sl_ct_job_run(j, 0));
	sl_ct_job_free(j);
	assert_true(sl_ct.flushed - flushed > 4000);
	ct_clear();
	sl_lb_fini();
	assert_int_equal(th_lb_setup(), 0);
}

/* Replacing a Service keeps established flows on their backend; deleting every Service and
 * ageing the flows takes ip4-lb off the path (ip4-input goes straight to ip4-lookup). */
static void test_lb_replace_and_remove(void **st)
{
	th_reset();
	ct_clear();
	struct sl_lb_frontend fe = { pb_addr("10.96.0.10"), htons(80), IPPROTO_TCP, 0 };
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 48000, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_POD_B, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	struct sl_lb_backend nb = { .ip = pb_addr("10.244.2.2"), .port = htons(8080) };
	assert_int_equal(sl_lb_service_set(&fe, &nb, 1, 0), 0);
	/* Established: still pod B. New: the remote pod. */
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 48000, 80,
					      RTE_TCP_ACK_FLAG, th_pod_a_mac), TH_POD_B, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 48001, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_UPLINK, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	/* Bad input is refused, naming the field; nothing changes. */
	struct sl_lb_frontend bad = fe;
	bad.proto = IPPROTO_ICMP;
	assert_int_equal(sl_lb_service_set(&bad, &nb, 1, 0), -EINVAL);
	nb.port = 0;
	assert_int_equal(sl_lb_service_set(&fe, &nb, 1, 0), -EINVAL);
	assert_int_equal(sl_lb_service_set(&fe, &nb, SL_LB_MAX_BACKENDS + 1, 0), -E2BIG);

	/* Every Service gone, flows aged: off the path. */
	struct sl_lb_frontend all[] = {
		fe,
		{ pb_addr("10.96.0.10"), htons(53), IPPROTO_UDP, 0 },
		{ pb_addr("10.96.0.11"), htons(80), IPPROTO_TCP, 0 },
		{ pb_addr("10.96.0.12"), htons(80), IPPROTO_TCP, 0 },
		{ pb_addr("10.96.0.13"), htons(80), IPPROTO_TCP, 0 },
		{ pb_addr("10.96.0.10"), htons(9000), IPPROTO_SCTP, 0 },
	};
	for (unsigned i = 0; i < RTE_DIM(all); i++)
		assert_int_equal(sl_lb_service_del(&all[i]), 0);
	assert_int_equal(sl_lb_service_del(&all[0]), -ENOENT);
	assert_true(sl_lb_active()); /* flows remain: replies still need reverse NAT */
	sl_lb_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_dp_drain(); /* the entries' grace period (the next timer tick, in sluiced) */
	sl_lb_age(rte_rdtsc(), UINT32_MAX);
	assert_false(sl_lb_active());
	struct sl_worker *w = &sl_dp.workers[0];
	atomic_store(&w->trace_n, 0);
	atomic_store(&w->trace_budget, 1);
	assert_int_equal(th_run(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", 48002, 80,
					      RTE_TCP_SYN_FLAG, th_pod_a_mac), TH_UPLINK, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	for (unsigned i = 0; i < atomic_load(&w->trace_n); i++)
		assert_string_not_equal(w->trace[i].node, "ip4-lb");
	atomic_store(&w->trace_n, 0);
	assert_int_equal(th_lb_setup_services(), 0);
}

/* ip4-lb's cycles and packets so far (rte_graph's node statistics). */
static void lb_node_stats(uint64_t *ret_cycles, uint64_t *ret_objs)
{
	static struct sl_node_stats st[64];
	int n = sl_worker_graph_stats(&sl_dp.workers[0], st, 64);
	*ret_cycles = *ret_objs = 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(st[i].name, "ip4-lb")) {
			*ret_cycles = st[i].cycles;
			*ret_objs = st[i].objs;
		}
}

/* Send flows TCP SYNs (ports from sport0) from pod A to 10.96.0.10:80, 32 a graph walk;
 * all must reach pod B. Returns ip4-lb's cycles per packet. */
static double syn_burst(unsigned flows, uint16_t sport0, uint8_t flags)
{
	struct rte_mbuf *got[64];
	uint64_t c0, o0, c1, o1;
	lb_node_stats(&c0, &o0);
	for (unsigned f = 0; f < flows; f += 32) {
		for (unsigned j = 0; j < 32; j++)
			th_inject(TH_POD_A, tcp("10.244.1.2", "10.96.0.10", (uint16_t)(sport0 + f + j),
						80, flags, th_pod_a_mac));
		unsigned n = th_run(0, NULL, TH_POD_B, got, 64);
		assert_int_equal(n, 32);
		rte_pktmbuf_free_bulk(got, n);
	}
	lb_node_stats(&c1, &o1);
	assert_int_equal(o1 - o0, flows);
	return (double)(c1 - c0) / (double)(o1 - o0);
}

/* New flows per second one worker's ip4-lb can create (Maglev pick, conntrack insert under
 * both keys, DNAT), measured in the graph on net_ring ports, against established packets of
 * the same flows. A figure, printed; the test asserts only that every packet got through. */
static void test_lb_new_flow_rate(void **st)
{
	th_reset();
	ct_clear();
	sl_lb_fini(); /* a bigger conntrack for this one */
	struct sl_lb_conf c = { .max_services = 64, .ct = { .size = 16384 } };
	assert_int_equal(sl_lb_init(&c), 0);
	assert_int_equal(th_lb_setup_services(), 0);
	/* Once to touch the table's memory (page faults without hugepages), then the best of
	 * 5 (node cycles are TSC time: a preempted worker's wait counts). */
	syn_burst(16384, 1024, RTE_TCP_SYN_FLAG);
	double cyc_new = 1e12, cyc_est = 1e12;
	for (int r = 0; r < 5; r++) {
		ct_clear();
		cyc_new = RTE_MIN(cyc_new, syn_burst(16384, 1024, RTE_TCP_SYN_FLAG));
		cyc_est = RTE_MIN(cyc_est, syn_burst(16384, 1024, RTE_TCP_ACK_FLAG));
	}
	double hz = (double)rte_get_tsc_hz();
	printf("ip4-lb: new flow %.0f cycles/packet (%.2f M new flows/s per worker), established "
	       "%.0f cycles/packet (16,384 flows, bursts of 32, best of 5)\n",
	       cyc_new, hz / cyc_new / 1e6, cyc_est);
	assert_int_equal(sl_ct_count(), 16384);
	ct_clear();
	sl_lb_fini();
	assert_int_equal(th_lb_setup(), 0);
}

/* Every mbuf is back in the pool. */
/* ---- Source translation (SNAT): node ports, hairpin ---- */

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

static void test_lb_no_mbuf_leak(void **st)
{
	th_reset();
	assert_int_equal(rte_mempool_in_use_count(sl_dp.pool), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_maglev_size),
		TH_TEST(test_maglev_order_independent),
		TH_TEST(test_maglev_disruption),
		TH_TEST(test_maglev_spread),
		TH_TEST(test_lb_service_memory),
		TH_TEST(test_lb_service_wide),
		TH_TEST(test_lb_same_backends_same_table),
		TH_TEST(test_ct_memory),
		TH_TEST(test_ct_states),
		TH_TEST(test_nat_checksums_random),
		TH_TEST(test_lb_tcp_handshake),
		TH_TEST(test_lb_flow_keeps_backend),
		TH_TEST(test_lb_reply_through_vxlan),
		TH_TEST(test_lb_udp),
		TH_TEST(test_lb_sctp),
		TH_TEST(test_lb_no_backends),
		TH_TEST(test_lb_none_selected_drops),
		TH_TEST(test_lb_icmp_errors),
		TH_TEST(test_lb_ct_full),
		TH_TEST(test_lb_others_untouched),
		TH_TEST(test_lb_trace),
		TH_TEST(test_lb_counters),
		TH_TEST(test_ct_walk_flush),
		TH_TEST(test_ct_jobs_in_slices),
		TH_TEST(test_lb_replace_and_remove),
		TH_TEST(test_lb_new_flow_rate),
		TH_TEST(test_lb_nodeport_snat),
		TH_TEST(test_lb_nodeport_local_keeps_client),
		TH_TEST(test_lb_hairpin),
		TH_TEST(test_lb_snat_ports_exhausted),
		TH_TEST(test_lb_masquerade),
		TH_TEST(test_lb_masquerade_icmp),
		TH_TEST(test_lb_no_mbuf_leak),
	};
	return cmocka_run_group_tests_name("lb", tests, setup, NULL);
}
