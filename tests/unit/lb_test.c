/* Helpers of the Service unit tests through the graph (see lb_test.h). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_cycles.h>

#include "dataplane/core/sl_worker.h"
#include "dataplane/lb/lb_table.h"
#include "harness.h"
#include "lb_test.h"
#include "pktbuild.h"

void ct_clear(void)
{
	sl_ct_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
	atomic_store(&sl_ct.insert_failed, 0);
}

int lb_setup(void **st)
{
	if (th_setup(st) < 0 || th_lb_setup() < 0)
		return -1;
	return 0;
}

struct rte_mbuf *tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
		     uint8_t flags, struct rte_ether_addr smac)
{
	struct pb_ip4 p = { .src_mac = smac, .dst_mac = th_gw_mac, .src = src, .dst = dst,
			    .proto = IPPROTO_TCP, .sport = sport, .dport = dport,
			    .payload = 12, .seq = 1000, .tcp_flags = flags };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &p);
	pb_l4_cksum(m);
	return m;
}

struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
}

uint16_t *ports_of(struct rte_ipv4_hdr *ip)
{
	return (uint16_t *)((uint8_t *)ip + rte_ipv4_hdr_len(ip));
}

void expect(struct rte_mbuf *m, const char *src, uint16_t sport, const char *dst,
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

void test_lb_no_mbuf_leak(void **st)
{
	th_reset();
	assert_int_equal(rte_mempool_in_use_count(sl_dp.pool), 0);
}
