/* libFuzzer target: the packet input path. The first byte picks the port the frame arrives
 * on (uplink, host, pod), the rest is the frame; the real graph runs it (eth, ARP, IPv4,
 * ICMP, VXLAN decap/encap) and whatever it sends is freed. Byte 1 = 0xff wraps the frame as
 * VXLAN from the known remote VTEP so the inner path is reached too; 0xfe marks the L4
 * checksum partial and 0xfd makes a TSO frame (MSS from byte 0, split in two segments), as
 * a virtio guest can, so guest-offload is reached. Pod B's port takes chains whole, as an
 * AF_XDP multi-buffer pod port does (issue 13), and 0xfc splits the frame into a chain with
 * no offload flags, so whole chains reach the graph and ip4-segment (TCP above an MTU).
 * Pod B's port is also in af_xdp.mode "skb" (csum_partial): port-rx completes the L4
 * checksum of every frame from it and flags TCP above its MTU as GSO, cut by ip4-segment
 * whatever the next hop (offload/l4_csum.h). Pod A's port takes GSO frames whole, as a tap
 * pod port with offloads does (gso_tx; the 0xfc chains carry a tso_segsz from byte 0), so
 * ip4-lookup's whole-GSO branch is reached. 0xfb feeds the tap driver's own parsing
 * (drivers/sl_tap.h): bytes 2-11 are a virtio-net header checked against the frame
 * (sl_tap_rx_meta), and the frame, cut into up to four frames, goes through the
 * coalescing of segments bound for a tap pod (sl_tap_coalesce); the same header is also
 * checked as a tap uplink's UDP tunnel GSO header (sl_tap_rx_meta_tnl, sl_tap_tnl_hdr,
 * sl_tap_csum_complete).
 * The harness's Services (th_lb_setup) are installed so ip4-lb, conntrack and NAT are
 * reached (seeds: svc_*.bin), with 10.96.0.12:80 given client affinity and a source range
 * (10.244.1.0/24) so lb_affinity and the range check are too; byte 0's high bit marks the
 * flows of 10.96.0.10:80's backend gone before the frame runs, so tcp-reset and the gone
 * paths are reached (svc_gone_ack.bin); conntrack is emptied whenever half full so new flows
 * keep being created. Each input must give back
 * every mbuf it took: the pool's free count (per-lcore caches included) is compared before
 * and after, and a difference aborts (a leak, or an mbuf freed twice). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "dataplane/lb/lb_table.h"
#include "drivers/sl_tap.h"
#include "tests/unit/harness.h"
#include "tests/unit/pktbuild.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (th_setup(NULL) < 0 || th_lb_setup() < 0)
		return -1;
	sl_port_get(TH_POD_B)->whole_chains = true;
	sl_port_get(TH_POD_B)->csum_partial = true;
	sl_port_get(TH_POD_A)->gso_tx = true;
	struct sl_lb_frontend fe = { pb_addr("10.96.0.12"), rte_cpu_to_be_16(80), IPPROTO_TCP, 0 };
	struct sl_lb_backend b[2] = {
		{ .ip = pb_addr("10.244.1.3"), .port = rte_cpu_to_be_16(8080) },
		{ .ip = pb_addr("10.244.2.2"), .port = rte_cpu_to_be_16(8080) },
	};
	struct sl_lb_cidr r = { pb_addr("10.244.1.0"), 24 };
	struct sl_lb_service_opts o = { .flags = SL_LB_SVC_SOURCE_RANGES, .affinity_s = 60,
					.ranges = &r, .n_ranges = 1 };
	return sl_lb_service_set_opts(&fe, b, 2, &o);
}

/* The 0xfb input (see the file comment): d = 10-byte virtio-net header, then the frame. */
static void fuzz_tap(const uint8_t *d, size_t n)
{
	if (n < 10)
		return;
	struct sl_tap_vnet h = { d[0], d[1], (uint16_t)(d[2] | d[3] << 8), (uint16_t)(d[4] | d[5] << 8),
				 (uint16_t)(d[6] | d[7] << 8), (uint16_t)(d[8] | d[9] << 8) };
	d += 10;
	n -= 10;
	struct rte_mbuf *f[4];
	unsigned nf = 0;
	/* Frames as long as the first one's IPv4 total length says (a seed of equal segments
	 * merges), else quarters. */
	size_t part = n >= 18 ? 14 + (size_t)(d[16] << 8 | d[17]) : 0;
	if (part < 54 || part > n)
		part = n / 4 + 1;
	for (size_t off = 0; off < n && nf < 4; off += part) {
		size_t len = RTE_MIN(part, n - off);
		struct rte_mbuf *m = rte_pktmbuf_alloc(sl_dp.pool);
		if (!m)
			break;
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), d + off, len);
		f[nf++] = m;
	}
	if (nf) {
		(void)sl_tap_rx_meta(f[0], &h);
		/* The tap uplink's checks too: the same header read as a tunnel GSO header
		 * (outer_th from hdr_len, inner_nh 20 bytes before csum_start), the tunnel
		 * header built back, and a partial checksum completed at its offsets. */
		struct sl_tap_vnet t = h;
		struct sl_tap_vnet_tnl v;
		t.outer_th = h.hdr_len;
		t.inner_nh = (uint16_t)(h.csum_start - 20);
		(void)sl_tap_rx_meta_tnl(f[0], &t, pb_addr("198.18.0.1"), 4789);
		f[0]->tso_segsz = h.gso_size;
		(void)sl_tap_tnl_hdr(f[0], &v);
		(void)sl_tap_csum_complete(f[0], h.csum_start, h.csum_offset);
	}
	for (unsigned i = 0; i < nf; i++)
		f[i]->ol_flags = 0;
	uint32_t merged = 0;
	unsigned left = sl_tap_coalesce(f, (uint16_t)nf, &merged);
	if (left + merged != nf)
		abort();
	for (unsigned i = 0; i < left; i++)
		rte_pktmbuf_free(f[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *out[32];
	if (size < 2 || size > 2000)
		return 0;
	if (sl_ct_count() >= TH_CT_SIZE / 2) {
		sl_lb_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
		sl_dp_drain();
	}
	if (data[0] & 0x80)
		sl_ct_mark_gone(pb_addr("10.96.0.10"), rte_cpu_to_be_16(80), pb_addr("10.244.1.3"),
				rte_cpu_to_be_16(8080));
	unsigned avail = th_pool_avail();
	if (data[1] == 0xfb) {
		fuzz_tap(data + 2, size - 2);
		if (th_pool_avail() != avail) {
			fprintf(stderr, "fuzz_packet: tap: %u free mbufs before, %u after\n", avail,
				th_pool_avail());
			abort();
		}
		return 0;
	}
	unsigned port = data[0] % TH_PORTS;
	struct rte_mbuf *m = rte_pktmbuf_alloc(sl_dp.pool);
	if (!m)
		return 0;
	char *p = rte_pktmbuf_append(m, (uint16_t)(size - 2));
	if (!p) {
		rte_pktmbuf_free(m);
		return 0;
	}
	memcpy(p, data + 2, size - 2);
	if (data[1] == 0xff) {
		struct rte_mbuf *v = pb_vxlan(sl_dp.pool, th_uplink_mac, "198.18.0.2", "198.18.0.1",
					      4789, 42, 0x08, m);
		rte_pktmbuf_free(m);
		m = v;
		port = TH_UPLINK;
	}
	if (data[1] == 0xfe)
		m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	if (data[1] == 0xfd || data[1] == 0xfc) {
		if (data[1] == 0xfd) {
			m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
			m->tso_segsz = (uint16_t)(64 + data[0] * 16);
		} else {
			port = TH_POD_B;
			m->tso_segsz = (uint16_t)(data[0] * 8);
		}
		uint16_t head = 80; /* the rest moves to a second segment */
		struct rte_mbuf *tail = rte_pktmbuf_alloc(sl_dp.pool);
		if (tail && rte_pktmbuf_data_len(m) > head) {
			uint16_t rest = (uint16_t)(rte_pktmbuf_data_len(m) - head);
			memcpy(rte_pktmbuf_append(tail, rest), p + head, rest);
			rte_pktmbuf_trim(m, rest);
			rte_pktmbuf_chain(m, tail);
		} else {
			rte_pktmbuf_free(tail);
		}
	}
	th_run(port, m, 0, out, 0);
	for (unsigned i = 0; i < TH_PORTS; i++) {
		unsigned n;
		while ((n = th_run(i, NULL, i, out, 32)) > 0)
			rte_pktmbuf_free_bulk(out, n);
	}
	th_drain();
	unsigned now = th_pool_avail();
	if (now != avail) {
		fprintf(stderr, "fuzz_packet: %u free mbufs before this input, %u after (%s)\n",
			avail, now, now < avail ? "leaked" : "freed twice");
		abort();
	}
	return 0;
}
