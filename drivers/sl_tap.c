/* Tap pod port (see sl_tap.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include <rte_branch_prediction.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "sl_tap.h"

struct sl_tap {
	int fd;
	bool offload;
	bool tunnel;          /* uplink with UDP tunnel GSO (24-byte headers) */
	bool uplink;          /* the uplink tap: partial checksums completed here */
	uint8_t hdr_sz;       /* virtio-net header bytes per frame: 10, or 24 with tunnel */
	uint16_t vxlan_port;  /* uplink: a tunnel GSO frame's UDP destination */
	uint32_t node_ip;     /* uplink: its outer IPv4 destination (network order) */
	uint32_t ifindex;     /* when created here (sl_tap_ifindex) */
	uint16_t seg_room;    /* bytes of data one receive mbuf takes (its tailroom) */
	char ifname[IFNAMSIZ];
};

static int set_link(const char *ifname, const uint8_t mac[6], uint16_t mtu, const char **err)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
	if (s < 0)
		return *err = "socket(AF_INET)", -errno;
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
		rc = -errno, *err = "SIOCSIFHWADDR (the pod's MAC)";
	} else if (mtu) {
		ifr.ifr_mtu = mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			rc = -errno, *err = "SIOCSIFMTU";
	}
	close(s);
	return rc;
}

/* Wrap fd, attached to tap ifname, in a port with hdr_sz-byte virtio-net headers and
 * offloads off (TUNSETOFFLOAD); *ret then holds the descriptor. fd is the port's (closed
 * on failure). Returns 0 or -errno with *err; -EINVAL from TUNSETOFFLOAD (offloads this
 * kernel lacks) with *err "TUNSETOFFLOAD". */
static int tap_wrap(int fd, const char *ifname, int hdr_sz, unsigned off,
		    struct rte_mempool *pool, struct sl_tap **ret, const char **err)
{
	int rc;
	uint16_t room = (uint16_t)(rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM);
	struct sl_tap *t = NULL;
	if ((size_t)room * SL_TAP_RX_SEGS < SL_TAP_MAX_FRAME) {
		rc = -EINVAL, *err = "mbufs too small for a 64 KiB frame";
		goto fail;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		rc = -ENOMEM, *err = "out of memory";
		goto fail;
	}
	t->fd = fd;
	t->seg_room = room;
	t->hdr_sz = (uint8_t)hdr_sz;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_sz) < 0) {
		rc = -errno, *err = "TUNSETVNETHDRSZ";
		goto fail;
	}
	if (ioctl(t->fd, TUNSETOFFLOAD, off) < 0) {
		rc = -errno, *err = "TUNSETOFFLOAD";
		goto fail;
	}
	*ret = t;
	return 0;
fail:
	close(fd);
	free(t);
	return rc;
}

int sl_tap_tun_open(const char *ifname, short flags, const char **err)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), rc;
	if (fd < 0)
		return *err = "open /dev/net/tun", -errno;
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | flags);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno, *err = "TUNSETIFF";
		close(fd);
		return rc;
	}
	return fd;
}

/* Create tap ifname in the calling thread's namespace (see tap_wrap); with multi_queue, as
 * the first queue of a multi-queue tap (IFF_MULTI_QUEUE; tap_add_queue adds the others). */
static int tap_create(const char *ifname, int hdr_sz, unsigned off, bool multi_queue,
		      struct rte_mempool *pool, struct sl_tap **ret, const char **err)
{
	int rc;
	if (strlen(ifname) >= IFNAMSIZ)
		return *err = "name too long", -ENAMETOOLONG;
	/* TUNSETIFF on an existing device attaches to it: refuse a name already taken (a veth
	 * of that name, another pod's tap) rather than share it. */
	if (if_nametoindex(ifname) != 0)
		return *err = "an interface of that name exists", -EEXIST;
	int fd = sl_tap_tun_open(ifname, multi_queue ? IFF_MULTI_QUEUE : 0, err);
	if (fd < 0)
		return fd;
	if ((rc = tap_wrap(fd, ifname, hdr_sz, off, pool, ret, err)) < 0)
		return rc;
	(*ret)->ifindex = if_nametoindex(ifname); /* just made: nobody renamed it yet */
	return 0;
}

/* The offloads (TUNSETOFFLOAD) of a queue of t's device. */
static unsigned tap_offloads(const struct sl_tap *t)
{
	return !t->offload ? 0 : TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN |
				 (t->tunnel ? TUN_F_UDP_TUNNEL_GSO : 0);
}

/* Another queue of the multi-queue tap first's device, on descriptor fd (attached to it;
 * closed on failure), set up as first is. */
static int tap_wrap_queue(const struct sl_tap *first, int fd, struct rte_mempool *pool,
			  struct sl_tap **ret, const char **err)
{
	int rc = tap_wrap(fd, first->ifname, first->hdr_sz, tap_offloads(first), pool, ret, err);
	if (rc < 0)
		return rc;
	**ret = *first; /* a queue of the same device: all but the descriptor */
	(*ret)->fd = fd;
	return 0;
}

/* Queues q[1..n) of the multi-queue tap q[0]'s device (named q[0]->ifname in the calling
 * thread's namespace). On failure the ones made are closed (q[0] is left). */
static int tap_add_queues(struct sl_tap **q, unsigned n, struct rte_mempool *pool,
			  const char **err)
{
	int rc = 0;
	for (unsigned k = 1; k < n && rc == 0; k++) {
		int fd = sl_tap_tun_open(q[0]->ifname, IFF_MULTI_QUEUE, err);
		rc = fd < 0 ? fd : tap_wrap_queue(q[0], fd, pool, &q[k], err);
		if (rc < 0)
			while (--k > 0)
				sl_tap_close(q[k]);
	}
	return rc;
}

int sl_tap_open(const char *ifname, bool offload, const uint8_t mac[6], uint16_t mtu,
		unsigned n_queues, struct rte_mempool *pool, struct sl_tap **ret, const char **err)
{
	unsigned off = offload ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN : 0;
	/* Always multi-queue: a sluiced restarted with more workers can add queues. */
	int rc = tap_create(ifname, sizeof(struct virtio_net_hdr), off, true, pool, &ret[0], err);
	if (rc < 0)
		return rc;
	ret[0]->offload = offload;
	if ((rc = tap_add_queues(ret, n_queues, pool, err)) < 0) {
		sl_tap_close(ret[0]);
		return rc;
	}
	if ((rc = set_link(ifname, mac, mtu, err)) < 0)
		for (unsigned q = 0; q < n_queues; q++)
			sl_tap_close(ret[q]);
	return rc;
}

int sl_tap_open_uplink(const char *ifname, bool tunnel_gso, uint16_t mtu, uint32_t node_ip,
		       uint16_t vxlan_port, unsigned n_queues, struct rte_mempool *pool,
		       struct rte_ether_addr *ret_mac, struct sl_tap **ret, const char **err,
		       const char **note)
{
	struct sl_tap *t = NULL;
	bool mq = n_queues > 1;
	int rc = -EINVAL;
	*note = NULL;
	if (tunnel_gso) {
		rc = tap_create(ifname, sizeof(struct sl_tap_vnet_tnl),
				TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN | TUN_F_UDP_TUNNEL_GSO, mq,
				pool, &t, err);
		if (rc == -EINVAL && !strcmp(*err, "TUNSETOFFLOAD"))
			*note = "this kernel's tap lacks UDP tunnel GSO (TUN_F_UDP_TUNNEL_GSO, "
				"Linux 6.17+): TCP towards other nodes is cut to the underlay MTU "
				"before the uplink, throughput lower";
		else if (rc < 0)
			return rc;
	} else {
		*note = "uplink.tunnel_gso is false: TCP towards other nodes is cut to the "
			"underlay MTU before the uplink, throughput lower";
	}
	if (!t && (rc = tap_create(ifname, sizeof(struct virtio_net_hdr), 0, mq, pool, &t,
				   err)) < 0)
		return rc;
	t->tunnel = t->offload = t->hdr_sz == sizeof(struct sl_tap_vnet_tnl);
	t->uplink = true;
	t->node_ip = node_ip;
	t->vxlan_port = vxlan_port;
	ret[0] = t;
	if ((rc = tap_add_queues(ret, n_queues, pool, err)) < 0) {
		sl_tap_close(t);
		return rc;
	}
	/* Sluice's underlay MAC: the kernel's random one for the tap; the kernel side then
	 * gets another (byte 1's lowest bit flipped; byte 0, unicast and local, unchanged). */
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		rc = -errno, *err = "SIOCGIFHWADDR";
		if (s >= 0)
			close(s);
	} else {
		close(s);
		uint8_t mac[6];
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		memcpy(ret_mac->addr_bytes, mac, 6);
		mac[1] ^= 0x01;
		rc = set_link(ifname, mac, mtu, err);
	}
	if (rc < 0)
		for (unsigned q = 0; q < n_queues; q++)
			sl_tap_close(ret[q]);
	return rc < 0 ? rc : 0;
}

bool sl_tap_tunnel(const struct sl_tap *t)
{
	return t->tunnel;
}

int sl_tap_fd(const struct sl_tap *t)
{
	return t->fd;
}

bool sl_tap_offload(const struct sl_tap *t)
{
	return t->offload;
}

uint32_t sl_tap_ifindex(const struct sl_tap *t)
{
	return t->ifindex;
}

int sl_tap_set_persist(struct sl_tap *t, bool persist)
{
	return ioctl(t->fd, TUNSETPERSIST, (unsigned long)persist) < 0 ? -errno : 0;
}

int sl_tap_reattach(const char *netns, uint64_t cookie, uint32_t ifindex, const char *host_name,
		    const uint8_t mac[6], bool offload, unsigned n_queues,
		    struct rte_mempool *pool, struct sl_tap **ret, unsigned *ret_n,
		    bool *ret_in_pod, const char **err)
{
	int fds[SL_TAP_MAX_QUEUES];
	unsigned n = RTE_MIN(n_queues, (unsigned)SL_TAP_MAX_QUEUES);
	int rc = sl_tap_find(netns, cookie, ifindex, host_name, mac, fds, &n, ret_in_pod, err);
	if (rc < 0)
		return rc;
	unsigned off = offload ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN : 0;
	char name[IFNAMSIZ];
	snprintf(name, sizeof(name), "if%u", ifindex); /* the pod may rename it: not kept */
	/* A failed wrap closes its descriptor; the tap stays (persistent). */
	rc = tap_wrap(fds[0], name, sizeof(struct virtio_net_hdr), off, pool, &ret[0], err);
	if (rc == 0) {
		ret[0]->offload = offload;
		ret[0]->ifindex = ifindex;
	}
	unsigned k = 1;
	for (; k < n && rc == 0; k++)
		rc = tap_wrap_queue(ret[0], fds[k], pool, &ret[k], err);
	if (rc < 0) {
		for (unsigned i = k; i < n; i++)
			close(fds[i]);
		for (unsigned i = 0; i + 1 < k; i++)
			sl_tap_close(ret[i]);
		return rc;
	}
	*ret_n = n;
	return 0;
}

void sl_tap_close(struct sl_tap *t)
{
	if (!t)
		return;
	close(t->fd);
	free(t);
}

int sl_tap_rx_meta(struct rte_mbuf *m, const struct sl_tap_vnet *h)
{
	uint64_t ol = (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ? RTE_MBUF_F_RX_L4_CKSUM_NONE
		      : (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) ? RTE_MBUF_F_RX_L4_CKSUM_GOOD
								  : 0;
	m->tso_segsz = 0;
	m->ol_flags = ol;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	/* A GSO frame: IPv4 TCP only (TUNSETOFFLOAD offered TSO4), its checksum partial at
	 * the TCP checksum field, its lengths those of the frame. */
	if ((h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_TCPV4 ||
	    !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->gso_size < SL_TAP_MIN_MSS)
		return 1;
	const unsigned l3 = sizeof(struct rte_ether_hdr);
	uint16_t dlen = rte_pktmbuf_data_len(m);
	if (dlen < l3 + sizeof(struct rte_ipv4_hdr) ||
	    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return 1;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3);
	unsigned ihl = rte_ipv4_hdr_len(ip);
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || ip->next_proto_id != IPPROTO_TCP ||
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) ||
	    dlen < l3 + ihl + sizeof(struct rte_tcp_hdr))
		return 1;
	const struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l3 + ihl);
	unsigned thl = (unsigned)(tcp->data_off >> 4) * 4;
	if (thl < sizeof(*tcp) || dlen < l3 + ihl + thl ||
	    h->csum_start != l3 + ihl || h->csum_offset != offsetof(struct rte_tcp_hdr, cksum) ||
	    l3 + rte_be_to_cpu_16(ip->total_length) != rte_pktmbuf_pkt_len(m) ||
	    rte_pktmbuf_pkt_len(m) <= l3 + ihl + thl)
		return 1;
	m->ol_flags = ol | RTE_MBUF_F_RX_LRO;
	m->tso_segsz = h->gso_size;
	return 0;
}

/* Frame m from the uplink tap: a tunnel GSO frame is checked (sl_tap_rx_meta_tnl), a plain
 * TCP GSO frame as a pod's; another partial checksum is completed here (it may be an inner
 * one, which port-rx's completion would not find). Returns 0, or 1 after counting the drop. */
static int uplink_rx_meta(const struct sl_tap *t, struct rte_mbuf *m, const struct sl_tap_vnet *h,
			  struct sl_tap_rx_drops *drops)
{
	if (h->gso_type & SL_TAP_GSO_TUNNEL) {
		if (!t->tunnel ||
		    sl_tap_rx_meta_tnl(m, h, t->node_ip, t->vxlan_port) != 0) {
			drops->bad_tunnel_gso++;
			return 1;
		}
		return 0;
	}
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (sl_tap_rx_meta(m, h) != 0) {
			drops->bad_gso++;
			return 1;
		}
		return 0;
	}
	m->tso_segsz = 0;
	m->ol_flags = (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    sl_tap_csum_complete(m, h->csum_start, h->csum_offset) != 0) {
		drops->bad_tunnel_gso++;
		return 1;
	}
	return 0;
}

uint16_t sl_tap_rx_burst(struct sl_tap *t, struct rte_mempool *pool, struct sl_tap_spare *sp,
			 struct rte_mbuf **pkts, uint16_t n, struct sl_tap_rx_drops *drops)
{
	uint16_t got = 0;
	size_t bytes = 0;
	struct iovec iov[1 + SL_TAP_RX_SEGS];
	struct sl_tap_vnet_tnl vh; /* the 10-byte header is its start */
	iov[0] = (struct iovec){ &vh, t->hdr_sz };
	while (got < n && bytes < SL_TAP_RX_BYTES) {
		if (sp->n < SL_TAP_RX_SEGS) {
			if (rte_pktmbuf_alloc_bulk(pool, sp->m + sp->n, SL_TAP_RX_SEGS - sp->n) < 0)
				break; /* the pool is short: leave the frames in the tap */
			sp->n = SL_TAP_RX_SEGS;
		}
		for (unsigned k = 0; k < SL_TAP_RX_SEGS; k++)
			iov[1 + k] = (struct iovec){ rte_pktmbuf_mtod(sp->m[k], void *),
						     t->seg_room };
		ssize_t r = readv(t->fd, iov, 1 + SL_TAP_RX_SEGS);
		if (r < 0)
			break; /* EAGAIN: nothing more; EIO etc.: the device is going */
		size_t len = (size_t)r - RTE_MIN((size_t)r, (size_t)t->hdr_sz);
		if (unlikely(len < RTE_ETHER_HDR_LEN || len > SL_TAP_MAX_FRAME)) {
			drops->bad_length++; /* the mbufs stay spare */
			continue;
		}
		unsigned nseg = (unsigned)((len + t->seg_room - 1) / t->seg_room);
		struct rte_mbuf *head = sp->m[0];
		size_t left = len;
		for (unsigned k = 0; k < nseg; k++) {
			struct rte_mbuf *s = sp->m[k];
			s->data_len = (uint16_t)RTE_MIN(left, (size_t)t->seg_room);
			left -= s->data_len;
			s->next = k + 1 < nseg ? sp->m[k + 1] : NULL;
		}
		head->nb_segs = (uint16_t)nseg;
		head->pkt_len = (uint32_t)len;
		sp->n -= nseg;
		memmove(sp->m, sp->m + nseg, sp->n * sizeof(sp->m[0]));
		struct sl_tap_vnet h = { vh.flags, vh.gso_type, vh.hdr_len, vh.gso_size,
					 vh.csum_start, vh.csum_offset, 0, 0 };
		if (t->tunnel) {
			h.outer_th = vh.outer_th_offset;
			h.inner_nh = vh.inner_nh_offset;
		}
		if (unlikely(t->uplink) && uplink_rx_meta(t, head, &h, drops) != 0) {
			rte_pktmbuf_free(head);
			continue;
		} else if (!t->uplink && unlikely(sl_tap_rx_meta(head, &h) != 0)) {
			drops->bad_gso++;
			rte_pktmbuf_free(head);
			continue;
		}
		pkts[got++] = head;
		bytes += len;
	}
	return got;
}

/* Fill vh for GSO frame m (see sl_tap_tx_burst); the TCP checksum field gets the
 * pseudo-header sum (NAT may have changed the addresses since the pod wrote it). Returns 0,
 * or -1 when m's headers are not IPv4/TCP in its first segment (sent without GSO: the
 * receiving stack drops a bad checksum). */
static int tx_gso_hdr(struct rte_mbuf *m, struct virtio_net_hdr *vh)
{
	const unsigned l3 = sizeof(struct rte_ether_hdr);
	uint16_t dlen = rte_pktmbuf_data_len(m);
	if (dlen < l3 + sizeof(struct rte_ipv4_hdr))
		return -1;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3);
	unsigned ihl = rte_ipv4_hdr_len(ip);
	if (ip->next_proto_id != IPPROTO_TCP || ihl < sizeof(*ip) ||
	    dlen < l3 + ihl + sizeof(struct rte_tcp_hdr))
		return -1;
	struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l3 + ihl);
	unsigned thl = (unsigned)(tcp->data_off >> 4) * 4;
	if (thl < sizeof(*tcp) || dlen < l3 + ihl + thl)
		return -1;
	tcp->cksum = rte_ipv4_phdr_cksum(ip, 0);
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = (uint8_t)(VIRTIO_NET_HDR_GSO_TCPV4 |
				 ((tcp->tcp_flags & RTE_TCP_CWR_FLAG) ? VIRTIO_NET_HDR_GSO_ECN : 0));
	vh->hdr_len = (uint16_t)(l3 + ihl + thl);
	vh->gso_size = m->tso_segsz;
	vh->csum_start = (uint16_t)(l3 + ihl);
	vh->csum_offset = offsetof(struct rte_tcp_hdr, cksum);
	return 0;
}

uint16_t sl_tap_tx_burst(struct sl_tap *t, struct rte_mbuf **pkts, uint16_t n,
			 struct sl_tap_tx_drops *drops)
{
	struct iovec iov[1 + SL_TAP_TX_SEGS];
	uint16_t nf = t->offload && !t->uplink ? sl_tap_coalesce(pkts, n, &drops->coalesced) : n;
	for (uint16_t i = 0; i < nf; i++) {
		struct rte_mbuf *m = pkts[i];
		if (unlikely(m->nb_segs > SL_TAP_TX_SEGS)) {
			drops->too_many_segs++;
			rte_pktmbuf_free(m);
			continue;
		}
		struct sl_tap_vnet_tnl vh = { 0 }; /* the 10-byte header is its start */
		if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && t->offload && m->tso_segsz) {
			int rc = (m->ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK) == RTE_MBUF_F_TX_TUNNEL_VXLAN
					 ? (t->tunnel ? sl_tap_tnl_hdr(m, &vh) : -1)
					 : tx_gso_hdr(m, (struct virtio_net_hdr *)&vh);
			if (rc < 0)
				memset(&vh, 0, sizeof(vh));
		}
		iov[0] = (struct iovec){ &vh, t->hdr_sz };
		unsigned k = 1;
		for (struct rte_mbuf *s = m; s; s = s->next)
			iov[k++] = (struct iovec){ rte_pktmbuf_mtod(s, void *), s->data_len };
		/* The tap takes a frame into the pod's backlog (netif_rx), so it does not push
		 * back; a write that fails (the device down, a header refused, no memory) drops
		 * that frame. */
		if (unlikely(writev(t->fd, iov, (int)k) < 0))
			drops->refused++;
		rte_pktmbuf_free(m);
	}
	return n;
}
