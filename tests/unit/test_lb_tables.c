/* Services' tables: Maglev properties, the Service table (memory, wide slots, one table for
 * the same backends), conntrack (memory, TCP/UDP states and timeouts, the walk behind
 * `show conntrack` and `conntrack flush` and its jobs in slices), and the NAT checksum
 * rewrite. Helpers: lb_test.h.
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

#ifndef MAGLEV_GOLDEN
#define MAGLEV_GOLDEN 0xc9548ec
#endif

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
		TH_TEST(test_ct_walk_flush),
		TH_TEST(test_ct_jobs_in_slices),
		TH_TEST(test_lb_no_mbuf_leak),
	};
	return cmocka_run_group_tests_name("lb_tables", tests, lb_setup, NULL);
}
