/* Dataplane ports from the control side (see sl_ports.h). */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "drivers/sl_ethport.h"
#include "drivers/sl_tap.h"
#include "drivers/sl_vhost.h"
#include "drivers/sl_xsk.h"
#include "sl_netlink.h"
#include "sl_ports.h"

#define POD_TX_RING 1024

static uint16_t uplink_rx_queues;
/* Ids of published ports and of withdrawn ones still waiting for their grace period: a
 * worker's old receive-queue list may name the id until then, so it is not reused. */
static bool id_taken[SL_MAX_PORTS];
/* Withdrawn vhost-user ports whose close (which unregisters their socket path) waits. */
static unsigned vhost_closing;

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

struct sl_port *sl_port_new(uint16_t id, enum sl_port_kind kind, const char *name)
{
	struct sl_port *p = rte_zmalloc("sl_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
	if (!p)
		return NULL;
	p->id = id;
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

void sl_port_free(struct sl_port *p)
{
	if (!p)
		return;
	if (p->tx_ring) {
		struct rte_mbuf *m;
		while (rte_ring_dequeue(p->tx_ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(p->tx_ring);
	}
	sl_xsk_close(p->xsk);
	sl_vhost_close(p->vhost);
	if (p->tap_queue) {
		for (unsigned q = 0; q < sl_dp.n_workers; q++)
			sl_tap_close(p->tap_queue[q]);
		free(p->tap_queue);
	} else {
		sl_tap_close(p->tap);
	}
	rte_free(p);
}

static void port_free_cb(void *arg)
{
	struct sl_port *p = arg;
	id_taken[p->id] = false;
	vhost_closing -= p->vhost != NULL;
	sl_port_free(p);
}

unsigned sl_port_uplink_queue_worker(uint16_t q)
{
	return q % sl_dp.n_workers;
}

uint16_t sl_port_uplink_rx_queues(void)
{
	return uplink_rx_queues;
}

/* Rebuild worker w's receive-queue list from the port table and publish it. */
static int publish_rxqs(unsigned w)
{
	struct sl_worker *wk = &sl_dp.workers[w];
	struct sl_rxq_list *l = rte_zmalloc("sl_rxqs", sizeof(*l) + SL_MAX_RXQ * sizeof(l->q[0]),
					    RTE_CACHE_LINE_SIZE);
	if (!l)
		return -ENOMEM;
	bool taps = false, others = false;
	for (unsigned i = 0; i < SL_MAX_PORTS && l->n < SL_MAX_RXQ; i++) {
		struct sl_port *p = sl_dp.ports[i];
		if (!p)
			continue;
		unsigned before = l->n;
		if (p->kind == SL_PORT_UPLINK) {
			for (uint16_t q = 0; q < uplink_rx_queues; q++)
				if (sl_port_uplink_queue_worker(q) == w)
					l->q[l->n++] = (struct sl_rxq){ p->id, q };
		} else if (p->vhost) {
			/* Worker owner + r polls the guest's queue pairs r, r + n_workers, ... */
			unsigned r = (w + sl_dp.n_workers - p->owner) % sl_dp.n_workers;
			if (r < SL_VHOST_MAX_QP)
				l->q[l->n++] = (struct sl_rxq){ p->id, (uint16_t)r };
		} else if (p->tap_queue) { /* a tap pod: queue w is worker w's */
			l->q[l->n++] = (struct sl_rxq){ p->id, (uint16_t)w };
		} else if (p->owner == w) {
			l->q[l->n++] = (struct sl_rxq){ p->id, 0 };
		}
		if (l->n > before) {
			taps |= p->tap != NULL;
			others |= !p->tap && p->kind != SL_PORT_HOST;
		}
	}
	l->wait_on_taps = taps && !others;
	sl_dp_defer_free(atomic_exchange(&wk->rxqs, l));
	return 0;
}

/* Republish the lists of every worker that polls p. */
static int publish_rxqs_of(const struct sl_port *p)
{
	int rc = 0;
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		if (w == p->owner || p->vhost || p->tap_queue || p->kind == SL_PORT_UPLINK)
			rc = publish_rxqs(w) ?: rc;
	return rc;
}

int sl_port_publish(struct sl_port *p)
{
	id_taken[p->id] = true;
	atomic_store(&sl_dp.ports[p->id], p);
	return publish_rxqs_of(p);
}

void sl_port_unpublish(struct sl_port *p)
{
	vhost_closing += p->vhost != NULL;
	atomic_store(&sl_dp.ports[p->id], NULL);
	if (publish_rxqs_of(p) < 0) {
		/* Out of memory for a new list: the old one may still name p. Wait instead. */
		sl_dp_sync();
		port_free_cb(p);
		return;
	}
	sl_dp_defer(port_free_cb, p);
}

unsigned sl_port_vhost_closing(void)
{
	return vhost_closing;
}

uint16_t sl_port_free_id(void)
{
	for (uint16_t i = 2; i < SL_MAX_PORTS; i++)
		if (!id_taken[i])
			return i;
	return 0;
}

unsigned sl_port_least_loaded_worker(void)
{
	unsigned load[SL_MAX_WORKERS] = {0}, best = 0;
	for (unsigned i = 2; i < SL_MAX_PORTS; i++)
		if (sl_dp.ports[i])
			load[sl_dp.ports[i]->owner]++;
	for (unsigned w = 1; w < sl_dp.n_workers; w++)
		if (load[w] < load[best])
			best = w;
	return best;
}

int sl_port_add_tx_ring(struct sl_port *p)
{
	static unsigned serial; /* names stay unique while a freed port waits for its grace */
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "sl_txr_%u", serial++);
	p->tx_ring = rte_ring_create(name, POD_TX_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	return p->tx_ring ? 0 : -ENOMEM;
}

/* Ports with fewer TX queues than workers get a handoff ring (dataplane/port/port_send.h). */
static int setup_tx(struct sl_port *p, uint16_t n_txq)
{
	return n_txq >= sl_dp.n_workers ? 0 : sl_port_add_tx_ring(p);
}

static_assert(SL_TAP_MAX_QUEUES >= SL_MAX_WORKERS, "a tap queue per worker");

int sl_port_set_tap(struct sl_port *p, struct sl_tap **q, unsigned n)
{
	p->tap = q[0];
	if (n < 2)
		return 0;
	if (!(p->tap_queue = malloc(n * sizeof(*q)))) {
		for (unsigned k = 0; k < n; k++)
			sl_tap_close(q[k]);
		p->tap = NULL;
		return -ENOMEM;
	}
	memcpy(p->tap_queue, q, n * sizeof(*q));
	return 0;
}

/* Add tap port p's queue of worker w to (add) or remove it from w's epoll set. Returns 0
 * or -errno. */
static int tap_poll_queue(const struct sl_port *p, unsigned w, bool add)
{
	struct sl_worker *wk = &sl_dp.workers[w];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = p->id };
	const struct sl_tap *t = p->tap_queue ? p->tap_queue[w] : p->tap;
	if (epoll_ctl(wk->tap_epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, sl_tap_fd(t), &ev) < 0)
		return -errno;
	atomic_fetch_add(&wk->n_taps, add ? 1u : (unsigned)-1);
	return 0;
}

int sl_port_tap_poll(const struct sl_port *p, bool add)
{
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		int rc = p->tap_queue || w == p->owner ? tap_poll_queue(p, w, add) : 0;
		if (rc < 0 && add) {
			while (w-- > 0)
				if (p->tap_queue || w == p->owner)
					tap_poll_queue(p, w, false);
			return rc;
		}
	}
	return 0;
}

static void disable_ipv6(const char *ifname);

/* uplink.kind "tap" (drivers/sl_tap.h, "Tap uplink"): one queue per worker, each in its
 * worker's tap epoll set; a worker receives and sends on its own (with one worker, the
 * plain tap it polls alone). */
static int open_uplink_tap(struct sl_config *c, char *err, size_t errlen)
{
	const char *why = "", *note = NULL;
	struct rte_ether_addr mac;
	unsigned n = sl_dp.n_workers;
	struct sl_tap *q[SL_TAP_MAX_QUEUES];
	struct sl_port *p = sl_port_new(SL_PORT_UPLINK_ID, SL_PORT_UPLINK, "uplink");
	if (!p)
		return ERR("out of memory"), -ENOMEM;
	int rc = sl_tap_open_uplink(c->uplink_tap_ifname, c->uplink_tunnel_gso, c->uplink_mtu,
				    c->node_ip.v4, c->vxlan_port, n, sl_dp.pool, &mac, q, &why,
				    &note);
	if (rc < 0 || (rc = sl_port_set_tap(p, q, n)) < 0) {
		sl_port_free(p);
		return ERR("uplink.ifname: cannot create tap %s: %s (%s)", c->uplink_tap_ifname, why,
			   strerror(-rc)), rc;
	}
	if (note)
		fprintf(stderr, "sluiced: uplink tap %s: %s\n", c->uplink_tap_ifname, note);
	else
		fprintf(stderr, "sluiced: uplink tap %s: UDP tunnel GSO on: VXLAN frames carrying "
			"TCP cross it whole\n", c->uplink_tap_ifname);
	c->uplink_rx_queues = uplink_rx_queues = (uint16_t)n;
	p->mac = mac;
	p->mtu = c->uplink_mtu;
	p->owner = 0;
	p->whole_chains = true;
	p->gso_tx = sl_tap_tunnel(p->tap);
	disable_ipv6(c->uplink_tap_ifname);
	if ((rc = sl_nl_link_up(c->uplink_tap_ifname, c->uplink_mtu)) < 0) {
		sl_port_free(p);
		return ERR("uplink.ifname: cannot bring up %s: %s", c->uplink_tap_ifname,
			   strerror(-rc)), rc;
	}
	/* Queue w: worker w (sl_port_uplink_queue_worker); one queue: worker 0, the owner. */
	if ((rc = sl_port_tap_poll(p, true)) < 0) {
		sl_port_free(p);
		return ERR("uplink.ifname: %s: epoll: %s", c->uplink_tap_ifname, strerror(-rc)), rc;
	}
	atomic_store(&sl_dp.ports[SL_PORT_UPLINK_ID], p);
	return 0;
}

static int open_uplink(struct sl_config *c, char *err, size_t errlen)
{
	if (c->uplink_tap)
		return open_uplink_tap(c, err, errlen);
	uint16_t eth, nrx = c->uplink_rx_queues, ntx = (uint16_t)sl_dp.n_workers;
	char msg[256];
	int rc = sl_ethport_open(c->uplink_devargs, &nrx, &ntx, c->uplink_mtu, sl_dp.pool, &eth,
				 msg, sizeof(msg));
	if (rc < 0)
		return ERR("uplink.devargs: %s", msg), rc;
	c->uplink_rx_queues = uplink_rx_queues = nrx;
	struct sl_port *p = sl_port_new(SL_PORT_UPLINK_ID, SL_PORT_UPLINK, "uplink");
	if (!p || setup_tx(p, ntx) < 0) {
		sl_port_free(p);
		return ERR("out of memory"), -ENOMEM;
	}
	p->eth_port = eth;
	p->mtu = c->uplink_mtu;
	p->owner = 0; /* sends when TX is shared; receive queues are spread (publish_rxqs) */
	rte_eth_macaddr_get(eth, &p->mac);
	atomic_store(&sl_dp.ports[SL_PORT_UPLINK_ID], p);
	return 0;
}

static void disable_ipv6(const char *ifname)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
}

static int open_host(const struct sl_config *c, char *err, size_t errlen)
{
	char devargs[128], msg[256];
	/* One queue pair: net_tap wants as many RX as TX queues, and the kernel would spread
	 * packets over RX queues that only worker 0 polls. Other workers hand off (port_send.h). */
	uint16_t eth, nrx = 1, ntx = 1;
	snprintf(devargs, sizeof(devargs), "net_tap_sl,iface=%s", c->host_ifname);
	int rc = sl_ethport_open(devargs, &nrx, &ntx, 0, sl_dp.pool, &eth, msg, sizeof(msg));
	if (rc < 0)
		return ERR("host: %s", msg), rc;
	struct sl_port *p = sl_port_new(SL_PORT_HOST_ID, SL_PORT_HOST, "host");
	if (!p || setup_tx(p, ntx) < 0) {
		sl_port_free(p);
		return ERR("out of memory"), -ENOMEM;
	}
	p->eth_port = eth;
	p->mtu = RTE_MIN(c->pod_mtu, SL_POD_MTU_MAX); /* the tap takes single mbufs */
	p->owner = 0;
	rte_eth_macaddr_get(eth, &p->mac);
	atomic_store(&sl_dp.ports[SL_PORT_HOST_ID], p);
	const char *ifn = c->host_ifname;
	disable_ipv6(ifn);
	if ((rc = sl_nl_link_up(ifn, p->mtu)) < 0 ||
	    (rc = sl_nl_addr_add(ifn, c->node_ip.v4, 32)) < 0 ||
	    (rc = sl_nl_route_add(ifn, c->cluster_cidr.addr.v4, c->cluster_cidr.len)) < 0 ||
	    (c->service_cidr.len &&
	     (rc = sl_nl_route_add(ifn, c->service_cidr.addr.v4, c->service_cidr.len)) < 0))
		return ERR("host: cannot configure %s: %s", ifn, strerror(-rc)), rc;
	return 0;
}

int sl_ports_open(struct sl_config *c, char *err, size_t errlen)
{
	int rc;
	if (c->uplink_rx_queues == 0)
		c->uplink_rx_queues = (uint16_t)sl_dp.n_workers;
	if ((rc = open_uplink(c, err, errlen)) < 0)
		return rc;
	if (c->host_enabled && (rc = open_host(c, err, errlen)) < 0)
		return rc;
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		if ((rc = publish_rxqs(w)) < 0)
			return ERR("out of memory"), rc;
	return 0;
}

void sl_ports_close(void)
{
	for (uint16_t i = 0; i < SL_MAX_PORTS; i++) {
		struct sl_port *p = sl_dp.ports[i];
		if (!p)
			continue;
		atomic_store(&sl_dp.ports[i], NULL);
		id_taken[i] = false;
		if (!p->xsk && !p->vhost && !p->tap)
			sl_ethport_close(p->eth_port);
		sl_port_free(p);
	}
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		rte_free(atomic_exchange(&sl_dp.workers[w].rxqs, NULL));
}
