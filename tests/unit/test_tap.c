/* Tap pod port (drivers/sl_tap.h): the virtio-net header checks on frames from a pod
 * (sl_tap_rx_meta: GSO frames whose header does not describe them are refused) and the
 * coalescing of TCP segments bound for a pod into GSO frames (sl_tap_coalesce). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <linux/virtio_net.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "drivers/sl_tap.h"
#include "harness.h"
#include "pktbuild.h"

#define L3 14u

/* A TCP segment of flow 10.244.1.2:40000 -> 10.244.1.3:5201 with payload bytes at seq. */
static struct rte_mbuf *seg(uint32_t seq, uint16_t payload, uint8_t flags)
{
	struct pb_ip4 s = { .src = "10.244.1.2", .dst = "10.244.1.3", .proto = IPPROTO_TCP,
			    .df = true, .sport = 40000, .dport = 5201, .payload = payload,
			    .seq = seq, .tcp_flags = flags };
	struct rte_mbuf *m = pb_ip4(sl_dp.pool, &s);
	assert_non_null(m);
	pb_l4_cksum(m);
	return m;
}

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, L3);
}

static void test_rx_meta(void **state)
{
	struct rte_mbuf *m = seg(1000, 3000, RTE_TCP_ACK_FLAG);
	struct sl_tap_vnet ok = { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448,
				  L3 + 20, 16 };
	assert_int_equal(sl_tap_rx_meta(m, &ok), 0);
	assert_true(m->ol_flags & RTE_MBUF_F_RX_LRO);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_NONE);
	assert_int_equal(m->tso_segsz, 1448);

	struct sl_tap_vnet h = ok;
	h.gso_size = 0; /* gso size 0 */
	assert_int_equal(sl_tap_rx_meta(m, &h), 1);
	h = ok;
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP; /* not what was offered */
	assert_int_equal(sl_tap_rx_meta(m, &h), 1);
	h = ok;
	h.csum_start = L3 + 24; /* not the TCP header */
	assert_int_equal(sl_tap_rx_meta(m, &h), 1);
	h = ok;
	h.flags = 0; /* GSO without a partial checksum */
	assert_int_equal(sl_tap_rx_meta(m, &h), 1);
	/* Lengths that do not add up: IPv4 total length longer than the frame. */
	ip_of(m)->total_length = rte_cpu_to_be_16(3040 + 100);
	assert_int_equal(sl_tap_rx_meta(m, &ok), 1);
	/* No GSO: only the checksum state. */
	h = (struct sl_tap_vnet){ VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0 };
	assert_int_equal(sl_tap_rx_meta(m, &h), 0);
	assert_int_equal(m->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	rte_pktmbuf_free(m);
}

static void test_coalesce_run(void **state)
{
	struct rte_mbuf *p[5];
	p[0] = seg(1000, 1000, RTE_TCP_ACK_FLAG);
	p[1] = seg(2000, 1000, RTE_TCP_ACK_FLAG);
	p[2] = seg(3000, 500, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
	p[3] = seg(3500, 1000, RTE_TCP_ACK_FLAG); /* after PSH: a new run */
	p[4] = seg(9000, 1000, RTE_TCP_ACK_FLAG); /* a gap: a new run */
	uint32_t merged = 0;
	assert_int_equal(sl_tap_coalesce(p, 5, &merged), 3);
	assert_int_equal(merged, 2);
	struct rte_mbuf *m = p[0];
	assert_int_equal(m->nb_segs, 3);
	assert_int_equal(rte_pktmbuf_pkt_len(m), L3 + 40 + 2500);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
	assert_int_equal(m->tso_segsz, 1000);
	assert_int_equal(rte_be_to_cpu_16(ip_of(m)->total_length), 40 + 2500);
	assert_true(pb_ip4_cksum_ok(ip_of(m)));
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip_of(m) + 1);
	assert_true(tcp->tcp_flags & RTE_TCP_PSH_FLAG);
	/* The payload of each segment, in order, after the one header. */
	for (uint32_t off = 0; off < 2500; off++) {
		uint8_t b, *q = (uint8_t *)rte_pktmbuf_read(m, L3 + 40 + off, 1, &b);
		assert_int_equal(*q, (uint8_t)((off % 1000) & 0xff));
	}
	assert_int_equal(p[1]->nb_segs, 1);
	assert_false(p[1]->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
	assert_int_equal(rte_be_to_cpu_32(((struct rte_tcp_hdr *)(ip_of(p[2]) + 1))->sent_seq), 9000);
	for (unsigned i = 0; i < 3; i++)
		rte_pktmbuf_free(p[i]);
}

static void test_coalesce_refuses(void **state)
{
	struct rte_mbuf *p[4];
	p[0] = seg(1000, 1000, RTE_TCP_ACK_FLAG);
	p[1] = seg(2000, 1000, RTE_TCP_ACK_FLAG);
	/* A bad TCP checksum is never merged: the pod's stack must see (and drop) it. */
	((struct rte_tcp_hdr *)(ip_of(p[1]) + 1))->cksum ^= 0x1234;
	p[2] = seg(2000, 1000, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG); /* FIN: never */
	p[3] = seg(3000, 1000, RTE_TCP_ACK_FLAG);
	ip_of(p[3])->src_addr ^= RTE_BE32(1); /* another flow */
	pb_l4_cksum(p[3]);
	uint32_t merged = 0;
	assert_int_equal(sl_tap_coalesce(p, 4, &merged), 4);
	assert_int_equal(merged, 0);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(p[i]->nb_segs, 1);
		rte_pktmbuf_free(p[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_rx_meta),
		TH_TEST(test_coalesce_run),
		TH_TEST(test_coalesce_refuses),
	};
	return cmocka_run_group_tests(tests, th_setup, NULL);
}
