/* AF_XDP pod port over libxdp xsk rings and sluice's XDP program (see sl_xsk.h). */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <rte_branch_prediction.h>
#include <rte_memcpy.h>

#include "sl_xsk.h"
#include "sl_xsk_prog.h"

/* Linux 6.6 (include/uapi/linux/if_xdp.h); older headers lack them. */
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif
_Static_assert(sizeof(struct sl_xsk_desc) == sizeof(struct xdp_desc), "xdp_desc layout");
_Static_assert(SL_XSK_PKT_CONTD == XDP_PKT_CONTD, "XDP_PKT_CONTD");

#define FRAME_SIZE SL_XSK_FRAME_SIZE /* 4 MiB of UMEM per port */
#define NUM_FRAMES 1024
#define RING_SIZE 512
#define RX_FRAMES RING_SIZE /* frames 0..RX_FRAMES-1 cycle through fill/rx */


struct sl_xsk {
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_prod tx;
	struct xsk_ring_cons rx;
	struct xsk_umem *umem;
	struct xsk_socket *sock;
	void *area;
	int fd;
	int ifindex;
	bool detached; /* XDP program removed (sl_xsk_detach) */
	bool sg;       /* bound with XDP_USE_SG, frags-aware program */
	bool skb_mode; /* program attached in generic (SKB) mode, not native */
	bool skipping; /* dropping the rest of a frame with too many descriptors */
	struct bpf_object *prog;
	uint32_t tx_free[NUM_FRAMES - RX_FRAMES]; /* free TX frame addresses */
	uint32_t n_tx_free;
	struct rte_ether_addr mac;
	char ifname[IF_NAMESIZE];
};

static void read_mac(struct sl_xsk *x)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", x->ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(&x->mac, ifr.ifr_hwaddr.sa_data, RTE_ETHER_ADDR_LEN);
	close(s);
}

/* Whether the running kernel's generic XDP hands a frags-aware program multi-buffer frames
 * (Linux 6.8: skb_cow_data_for_xdp); before, it linearizes every GSO frame first. */
static bool generic_xdp_multi_buffer(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 8);
}

/* The XDP attach mode of x: generic (SKB) or native (driver). */
static uint32_t xdp_mode(const struct sl_xsk *x)
{
	return x->skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* Load sluice's XDP program (frags-aware or not) and attach it to x's interface in its
 * mode (xdp_mode); the socket x->fd goes into its XSKMAP at queue 0. Returns 0 or -errno. */
static int attach_prog(struct sl_xsk *x, bool frags, const char **ret_err_msg)
{
	struct bpf_object *obj = bpf_object__open_mem(sl_xsk_prog_obj, sl_xsk_prog_obj_len, NULL);
	int rc = libbpf_get_error(obj);
	if (rc) {
		*ret_err_msg = "cannot open the XDP program object";
		return rc < 0 ? rc : -rc;
	}
	struct bpf_program *use = bpf_object__find_program_by_name(
		obj, frags ? "xsk_redirect_frags" : "xsk_redirect");
	struct bpf_program *other = bpf_object__find_program_by_name(
		obj, frags ? "xsk_redirect" : "xsk_redirect_frags");
	if (!use || !other) {
		bpf_object__close(obj);
		*ret_err_msg = "XDP program object lacks its programs";
		return -ENOENT;
	}
	bpf_program__set_autoload(other, false);
	if ((rc = bpf_object__load(obj)) < 0) {
		bpf_object__close(obj);
		*ret_err_msg = frags ? "cannot load the multi-buffer XDP program"
				     : "cannot load the XDP program";
		return rc;
	}
	int map_fd = bpf_object__find_map_fd_by_name(obj, "xsks_map");
	uint32_t key = 0, fd = (uint32_t)x->fd;
	if (map_fd < 0 || bpf_map_update_elem(map_fd, &key, &fd, 0) < 0) {
		rc = -errno;
		bpf_object__close(obj);
		*ret_err_msg = "cannot put the socket into the XSKMAP";
		return rc ? rc : -EIO;
	}
	rc = bpf_xdp_attach(x->ifindex, bpf_program__fd(use), xdp_mode(x), NULL);
	if (rc == -EEXIST) {
		/* A program of the other mode is still there (a sluiced of the other af_xdp.mode
		 * that did not exit cleanly): the kernel allows one mode at a time. */
		bpf_xdp_detach(x->ifindex, x->skb_mode ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE,
			       NULL);
		rc = bpf_xdp_attach(x->ifindex, bpf_program__fd(use), xdp_mode(x), NULL);
	}
	if (rc < 0) {
		bpf_object__close(obj);
		*ret_err_msg = rc == -ERANGE ? "cannot attach the XDP program: the pod MTU is too large "
					       "for XDP without multi-buffer"
				     : x->skb_mode ? "cannot attach the XDP program (SKB mode)"
						   : "cannot attach the XDP program (native mode)";
		return rc;
	}
	x->prog = obj;
	return 0;
}

static int create_socket(struct sl_xsk *x, bool sg)
{
	struct xsk_socket_config scfg = {
		.rx_size = RING_SIZE,
		.tx_size = RING_SIZE,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* attach_prog does it */
		.xdp_flags = xdp_mode(x),
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP | (sg ? XDP_USE_SG : 0),
	};
	return xsk_socket__create(&x->sock, x->ifname, 0, x->umem, &x->rx, &x->tx, &scfg);
}

int sl_xsk_open(const char *ifname, bool multi_buffer, bool skb_mode, struct sl_xsk **ret_xsk,
		const char **ret_err_msg, const char **ret_note)
{
	struct sl_xsk *x = calloc(1, sizeof(*x));
	int rc;
	*ret_note = NULL;
	if (!x)
		return -ENOMEM;
	x->skb_mode = skb_mode;
	if (strlen(ifname) >= IF_NAMESIZE) {
		*ret_err_msg = "interface name too long";
		rc = -EINVAL;
		goto err;
	}
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	x->ifindex = (int)if_nametoindex(ifname);
	if (x->ifindex == 0) {
		*ret_err_msg = "no such interface";
		rc = -ENODEV;
		goto err;
	}
	size_t size = (size_t)NUM_FRAMES * FRAME_SIZE;
	x->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		*ret_err_msg = "cannot map UMEM";
		rc = -ENOMEM;
		goto err;
	}
	struct xsk_umem_config ucfg = {
		.fill_size = RING_SIZE,
		.comp_size = RING_SIZE,
		.frame_size = FRAME_SIZE,
		.frame_headroom = 0,
	};
	rc = xsk_umem__create(&x->umem, x->area, size, &x->fill, &x->comp, &ucfg);
	if (rc) {
		*ret_err_msg = "xsk_umem__create failed";
		goto err;
	}
	x->sg = multi_buffer;
	if (x->skb_mode && !generic_xdp_multi_buffer()) {
		/* Generic XDP would linearize every 64 KiB GSO frame, then copy it again. */
		*ret_note = "af_xdp.mode skb needs Linux 6.8 or later (generic XDP multi-buffer): "
			    "native mode instead, where veth makes the pod cut its TCP to the MTU "
			    "(lower throughput)";
		x->skb_mode = false;
	}
	rc = create_socket(x, x->sg);
	if (rc && x->sg) {
		/* Before Linux 6.6 bind() refuses the unknown flag (EINVAL). */
		*ret_note = "the kernel refused XDP_USE_SG (AF_XDP multi-buffer needs Linux 6.6 or "
			    "later): single-buffer frames only, so the pod MTU must stay within one "
			    "page and large TCP frames cannot reach sluice whole, and native mode "
			    "instead of skb (lower throughput)";
		x->sg = false;
		x->skb_mode = false; /* generic XDP would drop every GSO frame */
		rc = create_socket(x, false);
	}
	if (rc) {
		*ret_err_msg = "xsk_socket__create failed (socket or bind)";
		goto err;
	}
	x->fd = xsk_socket__fd(x->sock);
	rc = attach_prog(x, x->sg, ret_err_msg);
	if (rc < 0 && x->sg && rc != -ERANGE) {
		*ret_note = "the kernel refused the frags-aware XDP program (BPF_F_XDP_HAS_FRAGS, "
			    "Linux 5.18 or later): single-buffer frames only, so the pod MTU must "
			    "stay within one page and large TCP frames cannot reach sluice whole, "
			    "and native mode instead of skb (lower throughput)";
		xsk_socket__delete(x->sock);
		x->sock = NULL;
		x->sg = false;
		x->skb_mode = false;
		if ((rc = create_socket(x, false))) {
			*ret_err_msg = "xsk_socket__create failed (socket or bind)";
			goto err;
		}
		x->fd = xsk_socket__fd(x->sock);
		rc = attach_prog(x, false, ret_err_msg);
	}
	if (rc < 0)
		goto err;

	uint32_t idx;
	if (xsk_ring_prod__reserve(&x->fill, RX_FRAMES, &idx) != RX_FRAMES) {
		*ret_err_msg = "cannot fill the fill ring";
		rc = -EIO;
		goto err;
	}
	for (uint32_t i = 0; i < RX_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * FRAME_SIZE;
	xsk_ring_prod__submit(&x->fill, RX_FRAMES);
	for (uint32_t i = RX_FRAMES; i < NUM_FRAMES; i++)
		x->tx_free[x->n_tx_free++] = i * FRAME_SIZE;
	read_mac(x);
	*ret_xsk = x;
	return 0;
err:
	sl_xsk_close(x);
	return rc < 0 ? rc : -rc;
}

bool sl_xsk_multi_buffer(const struct sl_xsk *x)
{
	return x->sg;
}

bool sl_xsk_skb_mode(const struct sl_xsk *x)
{
	return x->skb_mode;
}

void sl_xsk_detach(struct sl_xsk *x)
{
	if (x && x->ifindex > 0 && x->prog && !x->detached) {
		bpf_xdp_detach(x->ifindex, xdp_mode(x), NULL);
		x->detached = true;
	}
}

void sl_xsk_close(struct sl_xsk *x)
{
	if (!x)
		return;
	sl_xsk_detach(x);
	if (x->sock)
		xsk_socket__delete(x->sock);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->prog)
		bpf_object__close(x->prog);
	if (x->area)
		munmap(x->area, (size_t)NUM_FRAMES * FRAME_SIZE);
	free(x);
}

static void kick_fill(struct sl_xsk *x)
{
	if (xsk_ring_prod__needs_wakeup(&x->fill))
		recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/* The descriptors idx .. idx + n of the RX ring, copied out (the ring wraps). */
static uint32_t gather(const struct sl_xsk *x, uint32_t idx, uint32_t n, struct sl_xsk_desc *d)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *r = xsk_ring_cons__rx_desc(&x->rx, idx + i);
		d[i] = (struct sl_xsk_desc){ .addr = r->addr, .len = r->len, .options = r->options };
	}
	return n;
}

uint16_t sl_xsk_rx_burst(struct sl_xsk *x, struct rte_mempool *pool, struct rte_mbuf **pkts,
			 uint16_t n, struct sl_xsk_rx_drops *drops)
{
	uint32_t idx_rx, idx_fill;
	uint32_t avail = xsk_ring_cons__peek(&x->rx, RING_SIZE, &idx_rx);
	if (avail == 0) {
		kick_fill(x);
		return 0;
	}
	uint32_t used = 0;
	uint16_t got = 0;
	const uint64_t umem_size = (uint64_t)NUM_FRAMES * FRAME_SIZE;
	while (x->skipping && used < avail) /* the tail of a frame with too many descriptors */
		x->skipping = xsk_ring_cons__rx_desc(&x->rx, idx_rx + used++)->options & XDP_PKT_CONTD;
	while (got < n && used < avail) {
		const struct xdp_desc *r = xsk_ring_cons__rx_desc(&x->rx, idx_rx + used);
		struct rte_mbuf *m;
		if (likely(!(r->options & XDP_PKT_CONTD))) {
			/* One descriptor: the common case, and the only one without multi-buffer. */
			if (unlikely(r->len < RTE_ETHER_HDR_LEN || r->len > FRAME_SIZE ||
				     (r->addr % FRAME_SIZE) + r->len > FRAME_SIZE ||
				     r->addr + r->len > umem_size)) {
				drops->bad_length++;
				used++;
				continue;
			}
			m = rte_pktmbuf_alloc(pool);
			if (unlikely(!m))
				break; /* pool empty: retry on the next call */
			if (likely(r->len <= rte_pktmbuf_tailroom(m))) {
				rte_memcpy(rte_pktmbuf_mtod(m, void *),
					   xsk_umem__get_data(x->area, r->addr), r->len);
				m->data_len = (uint16_t)r->len;
				m->pkt_len = r->len;
			} else {
				rte_pktmbuf_free(m);
				struct sl_xsk_desc d = { r->addr, r->len, 0 };
				if (unlikely(!(m = sl_xsk_copy_in(pool, x->area, &d, 1))))
					break;
			}
			used++;
			pkts[got++] = m;
			continue;
		}
		struct sl_xsk_desc d[SL_XSK_MAX_FRAGS + 1];
		uint32_t k = avail - used < RTE_DIM(d) ? avail - used : RTE_DIM(d);
		int bad;
		bool skip;
		uint32_t span = sl_xsk_frame_span(d, gather(x, idx_rx + used, k, d), umem_size, &bad,
						  &skip);
		if (span == 0)
			break; /* the rest of the frame is not on the ring yet */
		if (bad) {
			if (bad == 1)
				drops->too_many_frags++;
			else
				drops->bad_length++;
			x->skipping = skip;
			used += span;
			while (x->skipping && used < avail)
				x->skipping = xsk_ring_cons__rx_desc(&x->rx, idx_rx + used++)->options &
					      XDP_PKT_CONTD;
			continue;
		}
		if (unlikely(!(m = sl_xsk_copy_in(pool, x->area, d, span))))
			break;
		used += span;
		pkts[got++] = m;
	}
	if (used) {
		/* Every consumed frame goes straight back to the fill ring. */
		while (xsk_ring_prod__reserve(&x->fill, used, &idx_fill) != used)
			;
		for (uint32_t i = 0; i < used; i++)
			*xsk_ring_prod__fill_addr(&x->fill, idx_fill + i) = xsk_umem__extract_addr(
				xsk_ring_cons__rx_desc(&x->rx, idx_rx + i)->addr);
	}
	xsk_ring_cons__cancel(&x->rx, avail - used);
	if (used) {
		xsk_ring_cons__release(&x->rx, used);
		xsk_ring_prod__submit(&x->fill, used);
	}
	kick_fill(x);
	return got;
}

static void complete_tx(struct sl_xsk *x)
{
	uint32_t idx;
	uint32_t done = xsk_ring_cons__peek(&x->comp, RING_SIZE, &idx);
	for (uint32_t i = 0; i < done; i++)
		x->tx_free[x->n_tx_free++] = (uint32_t)*xsk_ring_cons__comp_addr(&x->comp, idx + i);
	xsk_ring_cons__release(&x->comp, done);
}

/* The AF_XDP kick: the one system call the fast path makes. In copy mode the kernel sends
 * at most 32 frames per call (TX_BATCH_SIZE, net/xdp/xsk.c) and answers EAGAIN while more
 * wait, so kick up to max_calls times until the ring is empty. (Linux 6.17's
 * XDP_MAX_TX_SKB_BUDGET raises the 32 to the ring size: measured, no visible gain: the 32
 * frames' skbs and the receiver's stack inside one kick cost ~100x the system call; see
 * docs/performance.md.) EAGAIN also means the
 * socket's send buffer is full; what stays is sent by sl_xsk_tx_flush, one call a loop. */
static void kick_tx(struct sl_xsk *x, unsigned max_calls)
{
	for (unsigned i = 0; i < max_calls; i++) {
		if (!xsk_ring_prod__needs_wakeup(&x->tx))
			return;
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 ||
		    (errno != EAGAIN && errno != EBUSY))
			return;
	}
}

void sl_xsk_tx_flush(struct sl_xsk *x)
{
	/* Frames wait while the kernel has not consumed all we produced. */
	if (__atomic_load_n(x->tx.consumer, __ATOMIC_RELAXED) != x->tx.cached_prod)
		kick_tx(x, 1);
}

uint16_t sl_xsk_tx_burst(struct sl_xsk *x, struct rte_mbuf **pkts, uint16_t n)
{
	uint32_t idx, descs = 0;
	uint16_t i;
	complete_tx(x);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_pkt_len(m);
		uint32_t k = len > FRAME_SIZE ? (len + FRAME_SIZE - 1) / FRAME_SIZE : 1;
		if (unlikely(k > 1 && (!x->sg || k > SL_XSK_MAX_FRAGS))) {
			k = 1; /* callers keep frames within the MTU: never here */
			len = FRAME_SIZE;
		}
		if (k > x->n_tx_free || xsk_ring_prod__reserve(&x->tx, k, &idx) != k)
			break;
		for (uint32_t j = 0, off = 0; j < k; j++) {
			uint32_t addr = x->tx_free[--x->n_tx_free];
			uint32_t c = len - off < FRAME_SIZE ? len - off : FRAME_SIZE;
			void *dst = xsk_umem__get_data(x->area, addr);
			/* rte_pktmbuf_read copies only when the data is not contiguous. */
			const void *src = rte_pktmbuf_read(m, off, c, dst);
			if (src != dst)
				rte_memcpy(dst, src, c);
			struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + j);
			d->addr = addr;
			d->len = c;
			d->options = j + 1 < k ? XDP_PKT_CONTD : 0;
			off += c;
		}
		descs += k;
	}
	if (i) {
		xsk_ring_prod__submit(&x->tx, descs);
		kick_tx(x, RING_SIZE / 32);
		rte_pktmbuf_free_bulk(pkts, i);
	}
	return i;
}

void sl_xsk_mac(const struct sl_xsk *x, struct rte_ether_addr *ret_mac)
{
	*ret_mac = x->mac;
}
