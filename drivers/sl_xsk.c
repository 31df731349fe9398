/* AF_XDP pod port over libxdp xsk (see sl_xsk.h). */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>
#include <bpf/libbpf.h>

#include <rte_branch_prediction.h>
#include <rte_memcpy.h>

#include "sl_xsk.h"

#define FRAME_SIZE 2048 /* = the mbuf data room: frames are at most 2048 bytes (2 MiB UMEM) */
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

int sl_xsk_open(const char *ifname, struct sl_xsk **ret_xsk, const char **ret_err_msg)
{
	struct sl_xsk *x = calloc(1, sizeof(*x));
	int rc;
	if (!x)
		return -ENOMEM;
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
	struct xsk_socket_config scfg = {
		.rx_size = RING_SIZE,
		.tx_size = RING_SIZE,
		.xdp_flags = XDP_FLAGS_DRV_MODE,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	rc = xsk_socket__create(&x->sock, ifname, 0, x->umem, &x->rx, &x->tx, &scfg);
	if (rc) {
		*ret_err_msg = "xsk_socket__create failed (XDP program or socket)";
		goto err;
	}
	x->fd = xsk_socket__fd(x->sock);

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

void sl_xsk_detach(struct sl_xsk *x)
{
	if (x && x->ifindex > 0 && x->sock && !x->detached) {
		bpf_xdp_detach(x->ifindex, XDP_FLAGS_DRV_MODE, NULL);
		x->detached = true;
	}
}

void sl_xsk_close(struct sl_xsk *x)
{
	if (!x)
		return;
	if (x->sock)
		xsk_socket__delete(x->sock);
	if (x->umem)
		xsk_umem__delete(x->umem);
	/* libxdp leaves its program when it fell back to a single program; remove ours. */
	sl_xsk_detach(x);
	if (x->area)
		munmap(x->area, (size_t)NUM_FRAMES * FRAME_SIZE);
	free(x);
}

static void kick_fill(struct sl_xsk *x)
{
	if (xsk_ring_prod__needs_wakeup(&x->fill))
		recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

uint16_t sl_xsk_rx_burst(struct sl_xsk *x, struct rte_mempool *pool, struct rte_mbuf **pkts,
			 uint16_t n)
{
	uint32_t idx_rx, idx_fill;
	uint32_t got = xsk_ring_cons__peek(&x->rx, n, &idx_rx);
	if (got == 0) {
		kick_fill(x);
		return 0;
	}
	if (rte_pktmbuf_alloc_bulk(pool, pkts, got) != 0) {
		xsk_ring_cons__cancel(&x->rx, got); /* pool empty: retry on the next call */
		return 0;
	}
	/* Every consumed frame goes straight back to the fill ring. */
	while (xsk_ring_prod__reserve(&x->fill, got, &idx_fill) != got)
		;
	for (uint32_t i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx_rx + i);
		void *data = xsk_umem__get_data(x->area, d->addr);
		struct rte_mbuf *m = pkts[i];
		uint32_t len = d->len;
		if (unlikely(len > rte_pktmbuf_tailroom(m)))
			len = rte_pktmbuf_tailroom(m);
		rte_memcpy(rte_pktmbuf_mtod(m, void *), data, len);
		m->data_len = m->pkt_len = len;
		*xsk_ring_prod__fill_addr(&x->fill, idx_fill + i) =
			xsk_umem__extract_addr(d->addr);
	}
	xsk_ring_cons__release(&x->rx, got);
	xsk_ring_prod__submit(&x->fill, got);
	kick_fill(x);
	return (uint16_t)got;
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
 * wait, so kick up to max_calls times until the ring is empty. EAGAIN also means the
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
	uint32_t idx;
	complete_tx(x);
	if (n > x->n_tx_free)
		n = (uint16_t)x->n_tx_free;
	n = (uint16_t)xsk_ring_prod__reserve(&x->tx, n, &idx);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t addr = x->tx_free[--x->n_tx_free];
		uint32_t len = rte_pktmbuf_pkt_len(m);
		if (unlikely(len > FRAME_SIZE))
			len = FRAME_SIZE;
		void *dst = xsk_umem__get_data(x->area, addr);
		/* rte_pktmbuf_read copies only when the data is not contiguous. */
		const void *src = rte_pktmbuf_read(m, 0, len, dst);
		if (src != dst)
			rte_memcpy(dst, src, len);
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + i);
		d->addr = addr;
		d->len = len;
	}
	if (n) {
		xsk_ring_prod__submit(&x->tx, n);
		kick_tx(x, RING_SIZE / 32);
		rte_pktmbuf_free_bulk(pkts, n);
	}
	return n;
}

void sl_xsk_mac(const struct sl_xsk *x, struct rte_ether_addr *ret_mac)
{
	*ret_mac = x->mac;
}
