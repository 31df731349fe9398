/* AF_XDP pod port: the host end of a pod's veth, opened as an XDP socket with libxdp's xsk
 * rings and sluice's own XDP program (drivers/xsk_redirect.bpf.c).
 *
 * Each port has its own UMEM of page-sized frames (veth has no zero-copy, so frames are
 * copied between UMEM and mbufs either way). Half the frames feed the fill ring, half serve
 * transmission. One socket is used by one worker at a time: rx and tx of a port are
 * single-threaded.
 *
 * Multi-buffer (Linux 6.6+): when asked and the kernel allows it, the socket is bound with
 * XDP_USE_SG and the program is frags-aware, so a frame longer than one UMEM frame (a pod
 * MTU above ~3,500 bytes) arrives as several descriptors, which sl_xsk_rx_burst chains into
 * one mbuf chain, and a chained mbuf leaves as several descriptors. Without it a frame must
 * fit one UMEM frame (and veth refuses a peer MTU above one page). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#define SL_XSK_FRAME_SIZE 4096 /* one UMEM frame: a page */
#define SL_XSK_MAX_FRAGS 17    /* descriptors per frame: 17 x 4 KiB > 64 KiB + headers; the
				* kernel's copy-mode TX takes at most MAX_SKB_FRAGS + 1 */
#define SL_XSK_MAX_FRAME (65535 + 14 + 4) /* an IPv4 packet of 64 KiB in Ethernet + VLAN */

struct sl_xsk;

/* Receive-side counters of frames sl_xsk_rx_burst dropped itself (malformed multi-buffer
 * frames); the caller adds them to its drop counters and clears them. Owner worker. */
struct sl_xsk_rx_drops {
	uint32_t too_many_frags; /* more than SL_XSK_MAX_FRAGS descriptors */
	uint32_t bad_length;     /* a descriptor or frame length out of bounds */
};

/* Open an XDP socket on ifname (queue 0), attaching sluice's redirect program in native
 * mode, or in generic mode when skb_mode (XDP_FLAGS_SKB_MODE: veth then keeps the pod's GSO
 * and the pod's TCP frames arrive as ~64 KiB GSO frames with partial checksums, see
 * docs/performance.md). multi_buffer: try XDP_USE_SG and the frags-aware program; when the
 * kernel refuses, fall back to single-buffer and set *ret_note to why (for the log; NULL
 * otherwise). Control thread. Returns 0 or -errno; *ret_err_msg names the failing step. */
int sl_xsk_open(const char *ifname, bool multi_buffer, bool skb_mode, struct sl_xsk **ret_xsk,
		const char **ret_err_msg, const char **ret_note);
/* Whether the socket is multi-buffer (XDP_USE_SG). Any thread. */
bool sl_xsk_multi_buffer(const struct sl_xsk *xsk);
/* Whether the program is attached in generic (SKB) mode. Any thread. */
bool sl_xsk_skb_mode(const struct sl_xsk *xsk);
/* Close the socket, remove the XDP program and free the UMEM. Control, after workers
 * stopped using it (RCU grace period). */
void sl_xsk_close(struct sl_xsk *xsk);
/* Remove the socket's XDP program from its interface now: no packet reaches the socket any
 * more, while a worker may still poll it until sl_xsk_close (after a grace period). */
void sl_xsk_detach(struct sl_xsk *xsk);
/* Receive up to n frames into mbufs (chains for multi-buffer frames) from pool. Malformed
 * frames are dropped and counted in *drops. Owner worker. */
uint16_t sl_xsk_rx_burst(struct sl_xsk *xsk, struct rte_mempool *pool, struct rte_mbuf **pkts,
			 uint16_t n, struct sl_xsk_rx_drops *drops);
/* Copy up to n mbufs to the TX ring and kick the kernel; the mbufs accepted are freed. A
 * frame longer than one UMEM frame takes several descriptors (multi-buffer sockets only; on
 * others it is truncated: callers keep frames within the port's MTU). Returns how many were
 * accepted. Owner worker. */
uint16_t sl_xsk_tx_burst(struct sl_xsk *xsk, struct rte_mbuf **pkts, uint16_t n);
/* Kick the kernel again for frames an earlier sl_xsk_tx_burst left on the TX ring. Owner
 * worker, once per loop. */
void sl_xsk_tx_flush(struct sl_xsk *xsk);
/* The MAC address of the interface (host end). */
void sl_xsk_mac(const struct sl_xsk *xsk, struct rte_ether_addr *ret_mac);

/* One received descriptor, as the RX ring holds it (struct xdp_desc). */
struct sl_xsk_desc {
	uint64_t addr;
	uint32_t len;
	uint32_t options; /* SL_XSK_PKT_CONTD: more descriptors of this frame follow */
};
#define SL_XSK_PKT_CONTD 1u

/* Frame assembly, separated for unit tests: how many of the n descriptors d[] the first
 * frame spans. Returns that count (> 0) with *ret_bad 0 when the frame is whole and valid;
 * the count with *ret_bad set to a reason (1 too many frags, 2 bad length) when it is to be
 * dropped (a too-long chain is cut at SL_XSK_MAX_FRAGS + 1 descriptors: the caller skips
 * the rest of it, see *ret_skip); 0 when d[] ends inside the frame (wait for more).
 * *ret_skip: the frame continues past what is returned (drop the descriptors until one
 * without SL_XSK_PKT_CONTD). umem_size bounds addresses. Any thread. */
uint32_t sl_xsk_frame_span(const struct sl_xsk_desc *d, uint32_t n, uint64_t umem_size,
			   int *ret_bad, bool *ret_skip);
/* Copy the frame in descriptors d[0..nd) of the UMEM at area into a new mbuf chain from
 * pool. Returns NULL when the pool is empty. Any thread. */
struct rte_mbuf *sl_xsk_copy_in(struct rte_mempool *pool, const void *area,
				const struct sl_xsk_desc *d, uint32_t nd);
