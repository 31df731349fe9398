/* Tap pod port (issue 13): the pod's eth0 is a tap device whose file descriptor sluiced
 * holds, with virtio-net headers (IFF_VNET_HDR) and the offloads a virtio NIC offers
 * (TUNSETOFFLOAD: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN). The pod's stack then hands
 * sluice TCP frames of up to 64 KiB with a partial checksum and a gso_size (one frame where
 * a veth read through AF_XDP gives ~45), and takes such frames back the same way, so a pod
 * on this node receives one skb per 64 KiB too.
 *
 * Why a tap read with read(2)/write(2) and not DPDK: virtio_user's vhost-kernel backend
 * needs /dev/vhost-net (absent here: no kernel modules), and DPDK 22.11's net_tap opens the
 * tap without IFF_VNET_HDR (no GSO either way: the kernel segments before the tap, and
 * net_tap's TSO is software GSO). So each frame costs one readv or writev; with GSO frames
 * that is one system call per ~64 KiB, against one AF_XDP copy per 1,450 bytes.
 *
 * Life cycle: sluiced creates the device in its own network namespace under the pod's
 * ifname, sets its MAC (the pod's) and MTU, and leaves it down; whoever owns the pod
 * (sluice-cni, tests) moves it into the pod's namespace, renames it (eth0) and configures
 * it. Without a namespace recorded for the pod, the device exists while sluiced holds the
 * descriptor: closing the port (pod deleted, sluiced stopped) removes it from the pod. With
 * one ("netns", what sluice-cni sends), the device is persistent and outlives sluiced: see
 * "Surviving a restart" below. The tap has one queue (descriptor) per worker: the pod's
 * stack spreads its flows over the queues (by flow hash; the tap then keeps a flow's
 * frames on the queue its replies came in on), each worker polls and writes its own queue
 * only, so one pod's streams spread over the workers as the kernel's own path spreads
 * them over CPUs. A struct sl_tap is one queue, used by one worker (rx and tx are
 * single-threaded, like AF_XDP ports).
 *
 * Frames received (the pod sent them), checked in sl_tap_rx_burst:
 *  - a frame is an mbuf chain of up to SL_TAP_RX_SEGS segments, headers in the first;
 *  - VIRTIO_NET_HDR_F_NEEDS_CSUM: ol_flags RTE_MBUF_F_RX_L4_CKSUM_NONE (the L4 checksum
 *    holds the pseudo-header sum only); DATA_VALID: RTE_MBUF_F_RX_L4_CKSUM_GOOD;
 *  - a GSO frame (VIRTIO_NET_HDR_GSO_TCPV4, ECN bit allowed) additionally
 *    RTE_MBUF_F_RX_LRO with tso_segsz = gso_size. Dropped and counted: another GSO type,
 *    gso_size 0 or outside [SL_TAP_MIN_MSS, 65535], no NEEDS_CSUM, csum_start/csum_offset
 *    not the TCP checksum field of the IPv4 header found, IPv4 total length not the frame's
 *    length less the Ethernet header, or a frame that is not IPv4/TCP;
 *  - a frame shorter than an Ethernet header or longer than SL_TAP_MAX_FRAME (truncated by
 *    the read) is dropped and counted. */
#pragma once
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define SL_TAP_MAX_FRAME (65535 + 14 + 4) /* an IPv4 packet of 64 KiB in Ethernet + VLAN */
#define SL_TAP_RX_SEGS 24                 /* mbufs a received frame may take (> 64 KiB in
					   * 3.7 KiB mbufs: sl_tap_open checks the pool) */
#define SL_TAP_TX_SEGS 64                 /* mbufs a frame sent may take (longer: dropped) */
#define SL_TAP_RX_BYTES (128 * 1024)      /* bytes one sl_tap_rx_burst reads at most: two GSO
					   * frames are ~94 segments towards VXLAN, what an
					   * uplink TX ring takes in one go */
#define SL_TAP_MIN_MSS 88                 /* Linux TCP_MIN_MSS: the smallest gso_size taken */

struct sl_tap;

/* Receive-side counters of frames sl_tap_rx_burst dropped itself; the caller adds them to
 * its drop counters and clears them. Owner worker. */
struct sl_tap_rx_drops {
	uint32_t bad_length; /* shorter than an Ethernet header, or longer than SL_TAP_MAX_FRAME */
	uint32_t bad_gso;    /* a GSO header that does not describe the frame (see above) */
	uint32_t bad_tunnel_gso; /* uplink: a tunnel GSO header that does not describe the
				  * frame, or a partial checksum outside it (sl_tap_rx_meta_tnl) */
};

#define SL_TAP_MAX_QUEUES 16 /* queues of one pod tap: one per worker (SL_MAX_WORKERS) */

/* Create tap device ifname in the calling thread's network namespace with virtio-net
 * headers; when offload, TUNSETOFFLOAD CSUM | TSO4 | TSO_ECN (else the kernel hands over
 * plain frames with full checksums). Set its MAC to mac and its MTU to mtu. The device is
 * not brought up. It is multi-queue (IFF_MULTI_QUEUE), with n_queues (1..SL_TAP_MAX_QUEUES)
 * queues in ret_taps[0..n_queues): one per worker, each receiving what the pod's stack
 * sends on its queue (the pod picks one per flow) and sending into the pod. pool: where
 * received frames' mbufs come from (its data room bounds a frame to SL_TAP_RX_SEGS mbufs:
 * checked here). Control thread. Returns 0 or -errno with *ret_err_msg naming the failing
 * step. */
int sl_tap_open(const char *ifname, bool offload, const uint8_t mac[6], uint16_t mtu,
		unsigned n_queues, struct rte_mempool *pool, struct sl_tap **ret_taps,
		const char **ret_err_msg);
/* A descriptor attached to tap ifname in the calling thread's namespace (TUNSETIFF: a
 * device is made if there is none), with virtio-net headers and flags (IFF_MULTI_QUEUE or
 * 0), or -errno with *ret_err_msg. -EINVAL: a device of that name that is not a tap, or a
 * tap of the other kind (multi-queue or not); -EBUSY: a single-queue tap another
 * descriptor holds. Control thread (drivers/sl_tap*.c). */
int sl_tap_tun_open(const char *ifname, short flags, const char **ret_err_msg);
/* The tap's descriptor (for the owner worker's epoll set). Any thread. */
int sl_tap_fd(const struct sl_tap *t);
/* Whether the port has TSO/checksum offloads on (sends and takes GSO frames). Any thread. */
bool sl_tap_offload(const struct sl_tap *t);
/* Close the descriptor (the device goes away unless persistent) and free the port's spare
 * mbufs. Control thread, after workers stopped using it (RCU grace period). */
void sl_tap_close(struct sl_tap *t);
/* The tap's ifindex, read when sl_tap_open created it (in sluiced's namespace; moving it to
 * the pod keeps it unless the pod's namespace has that index taken). Any thread. */
uint32_t sl_tap_ifindex(const struct sl_tap *t);

/* ---- Receive steering (config tap.rps_cpus; cni/tap_rps.c) ----
 *
 * A frame sluice writes to a pod's tap enters the pod's stack inside that write: the pod's
 * whole TCP receive (tcp_v4_rcv, its ACKs) runs on the worker's core, 20-30 % of a worker
 * moving TCP to tap pods (docs/performance.md). With receive packet steering on the tap's
 * queue (rps_cpus), the write only queues the skb to another CPU's backlog and that CPU
 * runs the pod's receive. sluiced names the CPUs in its version reply ("tap_rps_cpus", an
 * rps_cpus mask) and sluice-cni writes them to the pod's eth0 queue after moving the tap
 * there:
 *  - "auto" (the default): every online CPU that runs no worker, when that leaves two or
 *    more. With one (a 2-core node with one worker), the pods' applications fill it already,
 *    and steering there measured slower (0.64 vs 0.73 of the kernel, one stream), so none;
 *  - "off": none (the kernel's default: the pod's receive runs in the worker's write);
 *  - a CPU list ("0-3,8"): those.
 * The setting belongs to the device and stays with it across a sluiced restart. */

/* ---- Surviving a restart (drivers/sl_tap_attach.c) ----
 *
 * A tap pod whose pod.add names its network namespace ("netns": CNI_NETNS, e.g.
 * /var/run/netns/cni-...) keeps its eth0 while sluiced is down:
 *  - at the add, sluiced opens that path, checks it is a network namespace and records its
 *    cookie (SO_NETNS_COOKIE, never reused while the machine runs; the path's inode number
 *    is reused), creates the tap, records its ifindex and sets it persistent
 *    (TUNSETPERSIST): closing the descriptor (sluiced stopped, killed, crashed) leaves it;
 *  - pod.del clears TUNSETPERSIST first, so the device goes with the descriptor;
 *  - a restarted sluiced re-adds the pod from its state file with the cookie and ifindex;
 *    a thread enters the namespace by the recorded path, checks the cookie (the path may
 *    name another namespace by now: /proc/PID reused, a bind mount replaced), and attaches
 *    to the device with that ifindex there (or, when the CNI never moved it, in sluiced's
 *    own namespace) if it is the pod's tap: a tap, persistent, the recorded ifindex under
 *    its current name, the pod's MAC. The pod owns its namespace and may rename, replace
 *    or re-address its eth0: names are never trusted, and anything else is refused.
 * The descriptor opened inside the pod's namespace holds that namespace until the pod is
 * deleted (as the tap device itself does not). */

/* The cookie of the network namespace at path netns (a thread enters it; a path that is
 * not a namespace file, e.g. a FIFO or a device, is never opened). Control thread.
 * Returns 0, or -errno with *ret_err_msg: -ENOENT "the namespace is gone", -EINVAL "not a
 * network namespace". */
int sl_tap_netns_cookie(const char *netns, uint64_t *ret_cookie, const char **ret_err_msg);
/* Set (persist) or clear TUNSETPERSIST on the tap. Any thread. Returns 0 or -errno. */
int sl_tap_set_persist(struct sl_tap *t, bool persist);
/* Find the pod's tap (see above) and return descriptors attached to it in ret_fds[0..*n):
 * in the namespace at netns (with that cookie), or else (not there, the namespace gone or
 * another one) in the caller's (sluiced's) under host_name, the name sluiced made it with
 * (the CNI had not moved it yet). netns NULL: the caller's only. *n: in, the queues wanted
 * (1..SL_TAP_MAX_QUEUES); out, those attached: as many for a multi-queue tap, 1 for a
 * single-queue one (made before taps were multi-queue). *ret_in_pod: found in the pod's
 * namespace. Control thread. Returns 0, or
 * -errno with *ret_err_msg: -ENOENT the namespace is gone, -ESTALE the path names another
 * namespace, -ENODEV the tap is gone, -EPERM the device there is not the pod's tap, -EBUSY
 * another process holds it. */
int sl_tap_find(const char *netns, uint64_t cookie, uint32_t ifindex, const char *host_name,
		const uint8_t mac[6], int *ret_fds, unsigned *n, bool *ret_in_pod,
		const char **ret_err_msg);
/* sl_tap_find, then the queues as sl_tap_open makes them (offloads, pool) in
 * ret_taps[0..*ret_n) (*ret_n: n_queues, or 1 for a single-queue tap), the device left as
 * it is (name, MAC, MTU: the pod's). Errors as sl_tap_find's, or sl_tap_open's. */
int sl_tap_reattach(const char *netns, uint64_t cookie, uint32_t ifindex, const char *host_name,
		    const uint8_t mac[6], bool offload, unsigned n_queues,
		    struct rte_mempool *pool, struct sl_tap **ret_taps, unsigned *ret_n,
		    bool *ret_in_pod, const char **ret_err_msg);
/* The receive mbufs a worker keeps between tap reads: a readv needs room for the largest
 * frame before it knows the frame's size, and what a frame did not take stays for the
 * next read. One per worker, whatever tap it reads, so what is kept does not grow with the
 * number of tap pods or their queues (SL_TAP_RX_SEGS mbufs a worker). */
struct sl_tap_spare {
	unsigned n; /* m[0..n) */
	struct rte_mbuf *m[SL_TAP_RX_SEGS];
};
/* Free what sp keeps. After its worker stopped. */
static inline void sl_tap_spare_free(struct sl_tap_spare *sp)
{
	while (sp->n > 0)
		rte_pktmbuf_free(sp->m[--sp->n]);
}
/* Receive up to n frames and SL_TAP_RX_BYTES (one readv each, until the tap has no more)
 * into mbuf chains from pool, through the worker's spare mbufs sp (see the file comment for
 * ol_flags). Malformed frames are dropped and counted in *drops. The queue's worker. */
uint16_t sl_tap_rx_burst(struct sl_tap *t, struct rte_mempool *pool, struct sl_tap_spare *sp,
			 struct rte_mbuf **pkts, uint16_t n, struct sl_tap_rx_drops *drops);
/* Send-side counters: frames sl_tap_tx_burst dropped (freed), and merged into others. */
struct sl_tap_tx_drops {
	uint32_t too_many_segs; /* a chain of more than SL_TAP_TX_SEGS segments */
	uint32_t refused;       /* the tap refused the write (device down, bad header) */
	uint32_t coalesced;     /* frames appended to the frame before them (not drops) */
};

/* Write frames pkts[0..n) to the tap, one writev per frame, and free them: all are taken
 * (a tap does not push back: the frame goes to the pod's backlog, which drops on its own
 * when full). On an offload port, runs of TCP segments of one flow are first merged into
 * GSO frames (sl_tap_coalesce). A frame with RTE_MBUF_F_TX_TCP_SEG and tso_segsz set (a
 * TCP/IPv4 frame with a partial checksum, headers in its first segment) goes, on an
 * offload port, with a GSO header (gso_size = tso_segsz) and its TCP checksum field set to
 * the pseudo-header sum: the pod's stack takes it as one skb. Others go with an empty
 * header (full checksums). Returns n. Owner worker. */
uint16_t sl_tap_tx_burst(struct sl_tap *t, struct rte_mbuf **pkts, uint16_t n,
			 struct sl_tap_tx_drops *drops);

/* Merge runs of consecutive TCP/IPv4 segments of one flow in pkts[0..n) into mbuf chains
 * flagged RTE_MBUF_F_TX_TCP_SEG with tso_segsz = the run's MSS, as Linux's GRO would (rules
 * and checksum verification in sl_tap_gro.c); other frames stay as they are, in order.
 * Returns the number of frames left at the front of pkts; adds the frames merged into
 * others to *ret_merged. Any thread (unit tests). */
uint16_t sl_tap_coalesce(struct rte_mbuf **pkts, uint16_t n, uint32_t *ret_merged);

/* The virtio-net header a frame came with, parsed for checking (separated for unit tests).
 * outer_th/inner_nh: the tunnel extension (uplink taps only, see below). */
struct sl_tap_vnet {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
	uint16_t outer_th, inner_nh;
};
/* Check received frame m (Ethernet, headers in its first segment) against its virtio-net
 * header h and set its ol_flags and tso_segsz. Returns 0, or 1 when the GSO header does
 * not describe the frame (drop as bad_gso). Any thread. */
int sl_tap_rx_meta(struct rte_mbuf *m, const struct sl_tap_vnet *h);

/* ---- Tap uplink with UDP tunnel GSO (issue 13; drivers/sl_tap_tnl.c) ----
 *
 * The uplink may be a tap too (uplink.kind "tap"): sluiced creates it in the node's
 * namespace and the node bridges it with the underlay (a Linux bridge with the tap and the
 * underlay interface as ports). Linux 6.17 added UDP tunnel GSO to tun/tap
 * (TUN_F_UDP_TUNNEL_GSO, and a 24-byte virtio-net header, struct virtio_net_hdr_v1_hash_tunnel,
 * set with TUNSETVNETHDRSZ): a VXLAN frame whose inner packet is a TCP GSO frame then
 * crosses the tap whole, both ways, and the kernel segments it only where it must (a NIC
 * without tunnel TSO; never between veths and bridges, where it stays whole to the other
 * node's tap). Header fields of such a frame, offsets from the outer Ethernet header:
 *   gso_type = VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO_TCPV4 (| ECN);
 *   flags = NEEDS_CSUM (no UDP_TUNNEL_CSUM: sluice's outer UDP checksum is 0, RFC 7348);
 *   csum_start/csum_offset = the INNER TCP checksum (which holds the inner pseudo-header
 *   sum); gso_size = the inner MSS; hdr_len = all headers up to the inner TCP header's end;
 *   outer_th_offset = the outer UDP header; inner_nh_offset = the inner IPv4 header.
 * Frames from the underlay are less trusted than sluice: sl_tap_rx_meta_tnl checks the
 * header against the frame and refuses (drop uplink-bad-tunnel-gso) anything else. */
#ifndef TUN_F_UDP_TUNNEL_GSO
#define TUN_F_UDP_TUNNEL_GSO 0x080 /* Linux 6.17 uapi/linux/if_tun.h */
#endif
#ifndef TUN_F_UDP_TUNNEL_GSO_CSUM
#define TUN_F_UDP_TUNNEL_GSO_CSUM 0x100
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4
#define VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 0x20 /* Linux 6.17 uapi/linux/virtio_net.h */
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6
#define VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6 0x40
#endif
#ifndef VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM
#define VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM 8
#endif
#define SL_TAP_GSO_TUNNEL (VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6)

/* struct virtio_net_hdr_v1_hash_tunnel as the tap reads and writes it (little endian, the
 * host's order on the machines sluice runs on, as for the 10-byte header above). */
struct sl_tap_vnet_tnl {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
	uint16_t num_buffers;
	uint32_t hash_value;
	uint16_t hash_report, padding;
	uint16_t outer_th_offset, inner_nh_offset;
};
static_assert(sizeof(struct sl_tap_vnet_tnl) == 24, "virtio_net_hdr_v1_hash_tunnel is 24 bytes");

/* Create the uplink tap ifname in the calling thread's namespace, MTU mtu. tunnel_gso: ask
 * for UDP tunnel GSO (TUNSETOFFLOAD CSUM | TSO4 | TSO_ECN | UDP_TUNNEL_GSO, 24-byte headers);
 * a kernel without it (EINVAL, before 6.17) gets a plain tap (no offloads: GSO frames are
 * cut before the uplink) and *ret_note says why. Without tunnel_gso: the plain tap, with a
 * note too. node_ip (network order) and vxlan_port: what a tunnel GSO frame from the
 * underlay must be addressed to. *ret_mac: the MAC sluice uses on the underlay (the tap's
 * own, the kernel side then gets another: a bridge delivers frames for a port's own MAC to
 * itself). n_queues (one per worker): that many queues, ret_taps[0..n_queues), each a
 * descriptor of its own (IFF_MULTI_QUEUE when more than one); the kernel spreads what it
 * hands the tap over them by flow hash, and vxlan-encap puts the inner flow's hash in the
 * outer UDP source port, so one flow stays on one queue. Not brought up. Control thread.
 * Returns 0 or -errno with *ret_err_msg (nothing left open). */
int sl_tap_open_uplink(const char *ifname, bool tunnel_gso, uint16_t mtu, uint32_t node_ip,
		       uint16_t vxlan_port, unsigned n_queues, struct rte_mempool *pool,
		       struct rte_ether_addr *ret_mac, struct sl_tap **ret_taps,
		       const char **ret_err_msg, const char **ret_note);
/* Whether the tap has UDP tunnel GSO on (sends and takes whole VXLAN GSO frames). Any thread. */
bool sl_tap_tunnel(const struct sl_tap *t);

/* Fill *vh for frame m: outer Ethernet/IPv4/UDP/VXLAN, inner Ethernet/IPv4/TCP, all in
 * the first segment, flagged RTE_MBUF_F_TX_TCP_SEG with tso_segsz (vxlan-encap of a GSO
 * frame). Sets the inner TCP checksum field to the inner pseudo-header sum. Returns 0, or
 * -1 when m is not such a frame (then *vh is left for a plain frame). Any thread. */
int sl_tap_tnl_hdr(struct rte_mbuf *m, struct sl_tap_vnet_tnl *vh);
/* Check frame m from the underlay against its tunnel GSO header h (gso_type with a tunnel
 * bit): IPv4 outer to node_ip (network order), UDP to vxlan_port, VXLAN, inner IPv4/TCP with
 * every length and offset of h matching the frame, headers in the first segment. Sets
 * ol_flags RTE_MBUF_F_RX_LRO (with RX_L4_CKSUM_NONE: the inner TCP checksum is partial) and
 * tso_segsz. Returns 0, or 1 (drop as uplink-bad-tunnel-gso). Any thread. */
int sl_tap_rx_meta_tnl(struct rte_mbuf *m, const struct sl_tap_vnet *h, uint32_t node_ip,
		       uint16_t vxlan_port);
/* Complete the partial checksum of non-GSO frame m in place: the 16-bit ones' complement
 * sum from csum_start to the frame's end, stored at csum_start + csum_offset (any layer:
 * an uplink frame's partial checksum may be an inner one). Returns 0, or 1 when the
 * offsets are outside the first segment. Any thread. */
int sl_tap_csum_complete(struct rte_mbuf *m, uint16_t csum_start, uint16_t csum_offset);
