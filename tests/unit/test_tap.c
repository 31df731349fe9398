/* Tap pod port (drivers/sl_tap.h): the virtio-net header checks on frames from a pod
 * (sl_tap_rx_meta: GSO frames whose header does not describe them are refused) and the
 * coalescing of TCP segments bound for a pod into GSO frames (sl_tap_coalesce); the UDP
 * tunnel GSO header of the tap uplink, built (sl_tap_tnl_hdr) and checked on frames from
 * the underlay (sl_tap_rx_meta_tnl), and partial checksums completed at any offset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
	/* A fragment (more fragments, or an offset) is not a TCP segment to cut. */
	ip_of(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	assert_int_equal(sl_tap_rx_meta(m, &ok), 1);
	ip_of(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG | 100);
	assert_int_equal(sl_tap_rx_meta(m, &ok), 1);
	ip_of(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	assert_int_equal(sl_tap_rx_meta(m, &ok), 0);
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

/* A VXLAN frame from node 198.18.0.2 to 198.18.0.1:4789 carrying seg(1000, 3000) as a GSO
 * frame of MSS 1000 (what vxlan-encap hands a tap uplink). Offsets: outer IPv4 at 14, UDP
 * at 34, inner IPv4 at 64, inner TCP at 84. */
static struct rte_mbuf *tnl_frame(void)
{
	struct rte_mbuf *in = seg(1000, 3000, RTE_TCP_ACK_FLAG);
	struct rte_ether_addr mac = { { 2, 0, 0, 0, 0, 1 } };
	struct rte_mbuf *m = pb_vxlan(sl_dp.pool, mac, "198.18.0.2", "198.18.0.1", 4789, 1, 0x08, in);
	rte_pktmbuf_free(in);
	assert_non_null(m);
	assert_int_equal(m->nb_segs, 1);
	m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TUNNEL_VXLAN;
	m->tso_segsz = 1000;
	return m;
}

static struct sl_tap_vnet vnet_of(const struct sl_tap_vnet_tnl *v)
{
	return (struct sl_tap_vnet){ v->flags, v->gso_type, v->hdr_len, v->gso_size,
				     v->csum_start, v->csum_offset, v->outer_th_offset,
				     v->inner_nh_offset };
}

static void test_tnl_hdr(void **state)
{
	struct rte_mbuf *m = tnl_frame();
	struct sl_tap_vnet_tnl v;
	uint32_t node = pb_addr("198.18.0.1");
	assert_int_equal(sl_tap_tnl_hdr(m, &v), 0);
	assert_int_equal(v.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(v.gso_type, VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(v.outer_th_offset, 34);
	assert_int_equal(v.inner_nh_offset, 64);
	assert_int_equal(v.csum_start, 84);
	assert_int_equal(v.csum_offset, 16);
	assert_int_equal(v.hdr_len, 104);
	assert_int_equal(v.gso_size, 1000);
	/* The inner TCP checksum field holds the inner pseudo-header sum. */
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 64);
	assert_int_equal(((struct rte_tcp_hdr *)(ip + 1))->cksum, rte_ipv4_phdr_cksum(ip, 0));

	/* What the tap hands back from the underlay: the same header, accepted. */
	struct sl_tap_vnet ok = vnet_of(&v);
	assert_int_equal(sl_tap_rx_meta_tnl(m, &ok, node, 4789), 0);
	assert_true(m->ol_flags & RTE_MBUF_F_RX_LRO);
	assert_int_equal(m->tso_segsz, 1000);
	/* Malformed or unexpected headers from the underlay: refused. */
	struct sl_tap_vnet h;
#define REFUSED(change)                                                          \
	do {                                                                     \
		h = ok;                                                          \
		change;                                                          \
		assert_int_equal(sl_tap_rx_meta_tnl(m, &h, node, 4789), 1);      \
		assert_int_equal(m->ol_flags, 0);                                \
	} while (0)
	REFUSED(h.inner_nh = 56);           /* not after VXLAN + inner Ethernet */
	REFUSED(h.outer_th = 30);           /* not the outer UDP header */
	REFUSED(h.csum_start = 80);         /* not the inner TCP header */
	REFUSED(h.csum_offset = 6);         /* not the TCP checksum field */
	REFUSED(h.gso_size = 40);           /* below the smallest MSS */
	REFUSED(h.gso_type = VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6 | VIRTIO_NET_HDR_GSO_TCPV4);
	REFUSED(h.gso_type = VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | 5); /* USO */
	REFUSED(h.flags |= VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM); /* not offered */
	REFUSED(h.flags = 0);               /* GSO without a partial checksum */
#undef REFUSED
	/* Not addressed to our VTEP, or lengths that do not add up. */
	assert_int_equal(sl_tap_rx_meta_tnl(m, &ok, pb_addr("198.18.0.3"), 4789), 1);
	assert_int_equal(sl_tap_rx_meta_tnl(m, &ok, node, 8472), 1);
	ip->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->total_length) - 100);
	assert_int_equal(sl_tap_rx_meta_tnl(m, &ok, node, 4789), 1);
	rte_pktmbuf_free(m);

	/* A frame that is not VXLAN-over-IPv4 carrying TCP gets no tunnel header. */
	m = seg(1000, 3000, RTE_TCP_ACK_FLAG);
	m->tso_segsz = 1000;
	assert_int_equal(sl_tap_tnl_hdr(m, &v), -1);
	rte_pktmbuf_free(m);
}

static void test_csum_complete(void **state)
{
	struct rte_mbuf *m = tnl_frame();
	struct sl_tap_vnet_tnl v;
	assert_int_equal(sl_tap_tnl_hdr(m, &v), 0); /* inner TCP checksum now partial */
	const uint8_t *inner = rte_pktmbuf_mtod_offset(m, uint8_t *, 64);
	assert_false(pb_l4_cksum_ok(inner));
	assert_int_equal(sl_tap_csum_complete(m, v.csum_start, v.csum_offset), 0);
	assert_true(pb_l4_cksum_ok(inner));
	/* Offsets beyond the frame's first segment: refused. */
	assert_int_equal(sl_tap_csum_complete(m, (uint16_t)rte_pktmbuf_data_len(m), 16), 1);
	rte_pktmbuf_free(m);
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* A tap pod's "netns" path (sl_tap_netns_cookie, drivers/sl_tap_attach.c): only a namespace
 * file is opened; a FIFO (whose open would block the control thread for good), a regular
 * file or another kind of namespace is "not a network namespace", a missing one "gone". */
static void test_netns_paths(void **state)
{
	(void)state;
	char fifo[64], file[64];
	snprintf(fifo, sizeof(fifo), "/tmp/sl-unit-fifo-%d", getpid());
	snprintf(file, sizeof(file), "/tmp/sl-unit-file-%d", getpid());
	assert_int_equal(mkfifo(fifo, 0600), 0);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	uint64_t cookie = 0, here = 0;
	const char *why = "";
	int rc = sl_tap_netns_cookie(fifo, &cookie, &why);
	unlink(fifo);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(why, "not a network namespace");
	rc = sl_tap_netns_cookie(file, &cookie, &why);
	unlink(file);
	assert_int_equal(rc, -EINVAL);
	assert_int_equal(sl_tap_netns_cookie("/proc/self/ns/mnt", &cookie, &why), -EINVAL);
	assert_string_equal(why, "not a network namespace");
	assert_int_equal(sl_tap_netns_cookie("/tmp/sl-unit-none", &cookie, &why), -ENOENT);
	assert_string_equal(why, "the namespace is gone");
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	socklen_t len = sizeof(here);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &here, &len), 0);
	close(s);
	assert_int_equal(sl_tap_netns_cookie("/proc/self/ns/net", &cookie, &why), 0);
	assert_true(cookie == here);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_rx_meta),
		TH_TEST(test_coalesce_run),
		TH_TEST(test_coalesce_refuses),
		TH_TEST(test_tnl_hdr),
		TH_TEST(test_csum_complete),
		cmocka_unit_test(test_netns_paths),
	};
	return cmocka_run_group_tests(tests, th_setup, NULL);
}
