/* Model and reconciler (see sl_state.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "dataplane/core/sl_dp.h"
#include "dataplane/core/sl_worker.h"
#include "drivers/sl_ethport.h"
#include "drivers/sl_vhost.h"
#include "drivers/sl_xsk.h"
#include "core/sl_cmd.h"
#include "sl_netlink.h"
#include "sl_state.h"

#define PORT_UPLINK 0
#define PORT_HOST 1
#define POD_TX_RING 1024
#define NEIGH_RETRY_S 1      /* unresolved: ask again every second */
#define NEIGH_REFRESH_S 30   /* resolved: refresh after this long without a reply */
#define NEIGH_EXPIRE_S 90    /* resolved: forget after this long without a reply */

struct pod {
	bool used;
	struct sl_pod_spec spec;
	uint16_t port;
	int nh;
};

struct rnode {
	bool used;
	struct sl_node_spec spec;
	int nh_vxlan; /* pod CIDR -> VXLAN to the node */
	int nh_ip;    /* node address -> plain IP on the uplink */
	int neigh;
};

struct route {
	bool used;
	struct sl_route_spec spec;
	int nh;
	int neigh;
};

static struct {
	struct sl_config conf; /* without the pod/node/route lists */
	struct pod pods[SL_MAX_PODS];
	struct rnode nodes[SL_MAX_NODES];
	struct route routes[SL_MAX_ROUTES];
	unsigned n_pods;
	int nh_pod_cidr, nh_gateway, nh_node;
} st;

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static uint32_t mask_of(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

static bool overlaps(struct sl_cidr a, struct sl_cidr b)
{
	uint32_t m = mask_of(RTE_MIN(a.len, b.len));
	return (a.addr & m) == (b.addr & m);
}

static int fib_set(uint32_t prefix_net, uint8_t len, int64_t nh)
{
	return sl_fib_set(ntohl(prefix_net), len, nh);
}

/* Ports and worker receive queues. */

static struct sl_port *port_new(uint16_t id, enum sl_port_kind kind, const char *name)
{
	struct sl_port *p = rte_zmalloc("sl_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
	if (!p)
		return NULL;
	p->id = id;
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

/* The worker that polls receive queue q of the uplink (RSS queues spread round-robin). */
static unsigned uplink_queue_worker(uint16_t q)
{
	return q % sl_dp.n_workers;
}

/* Rebuild worker w's receive-queue list from the port table and publish it. */
static int publish_rxqs(unsigned w)
{
	struct sl_worker *wk = &sl_dp.workers[w];
	struct sl_rxq_list *l = rte_zmalloc("sl_rxqs", sizeof(*l) + SL_MAX_RXQ * sizeof(l->q[0]),
					    RTE_CACHE_LINE_SIZE);
	if (!l)
		return -ENOMEM;
	for (unsigned i = 0; i < SL_MAX_PORTS && l->n < SL_MAX_RXQ; i++) {
		struct sl_port *p = sl_dp.ports[i];
		if (!p)
			continue;
		if (p->kind == SL_PORT_UPLINK) {
			uint16_t nq = st.conf.uplink_rx_queues;
			for (uint16_t q = 0; q < nq; q++)
				if (uplink_queue_worker(q) == w)
					l->q[l->n++] = (struct sl_rxq){ p->id, q };
		} else if (p->vhost) {
			/* Worker owner + r polls the guest's queue pairs r, r + n_workers, ... */
			unsigned r = (w + sl_dp.n_workers - p->owner) % sl_dp.n_workers;
			if (r < SL_VHOST_MAX_QP)
				l->q[l->n++] = (struct sl_rxq){ p->id, (uint16_t)r };
		} else if (p->owner == w) {
			l->q[l->n++] = (struct sl_rxq){ p->id, 0 };
		}
	}
	sl_dp_defer_free(atomic_exchange(&wk->rxqs, l));
	return 0;
}

/* Republish the lists of every worker that polls p. */
static void publish_rxqs_of(const struct sl_port *p)
{
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		if (w == p->owner || p->vhost)
			publish_rxqs(w);
}

static void port_unpublish(struct sl_port *p)
{
	atomic_store(&sl_dp.ports[p->id], NULL);
	publish_rxqs_of(p);
	sl_dp_sync(); /* even if publish_rxqs failed: nobody may hold p after this */
}

/* Ports with fewer TX queues than workers get a handoff ring (dataplane/port/port_send.h). */
static int setup_tx(struct sl_port *p, uint16_t n_txq)
{
	char name[RTE_RING_NAMESIZE];
	if (n_txq >= sl_dp.n_workers)
		return 0;
	snprintf(name, sizeof(name), "sl_txr_%u", p->id);
	p->tx_ring = rte_ring_create(name, POD_TX_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	return p->tx_ring ? 0 : -ENOMEM;
}

static int open_uplink(char *err, size_t errlen)
{
	uint16_t eth, nrx = st.conf.uplink_rx_queues, ntx = (uint16_t)sl_dp.n_workers;
	char msg[256];
	int rc = sl_ethport_open(st.conf.uplink_devargs, &nrx, &ntx, st.conf.uplink_mtu,
				 sl_dp.pool, &eth, msg, sizeof(msg));
	if (rc < 0)
		return ERR("uplink.devargs: %s", msg), rc;
	st.conf.uplink_rx_queues = nrx;
	struct sl_port *p = port_new(PORT_UPLINK, SL_PORT_UPLINK, "uplink");
	if (!p || setup_tx(p, ntx) < 0)
		return -ENOMEM;
	p->eth_port = eth;
	p->mtu = st.conf.uplink_mtu;
	p->owner = 0; /* sends when TX is shared; receive queues are spread (publish_rxqs) */
	rte_eth_macaddr_get(eth, &p->mac);
	atomic_store(&sl_dp.ports[PORT_UPLINK], p);
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

static int open_host(char *err, size_t errlen)
{
	char devargs[128], msg[256];
	/* One queue pair: net_tap wants as many RX as TX queues, and the kernel would spread
	 * packets over RX queues that only worker 0 polls. Other workers hand off (port_send.h). */
	uint16_t eth, nrx = 1, ntx = 1;
	snprintf(devargs, sizeof(devargs), "net_tap_sl,iface=%s", st.conf.host_ifname);
	int rc = sl_ethport_open(devargs, &nrx, &ntx, 0, sl_dp.pool, &eth, msg, sizeof(msg));
	if (rc < 0)
		return ERR("host: %s", msg), rc;
	struct sl_port *p = port_new(PORT_HOST, SL_PORT_HOST, "host");
	if (!p || setup_tx(p, ntx) < 0)
		return -ENOMEM;
	p->eth_port = eth;
	p->mtu = st.conf.pod_mtu;
	p->owner = 0;
	rte_eth_macaddr_get(eth, &p->mac);
	atomic_store(&sl_dp.ports[PORT_HOST], p);
	const char *ifn = st.conf.host_ifname;
	disable_ipv6(ifn);
	if ((rc = sl_nl_link_up(ifn, st.conf.pod_mtu)) < 0 ||
	    (rc = sl_nl_addr_add(ifn, st.conf.node_ip, 32)) < 0 ||
	    (rc = sl_nl_route_add(ifn, st.conf.cluster_cidr.addr, st.conf.cluster_cidr.len)) < 0)
		return ERR("host: cannot configure %s: %s", ifn, strerror(-rc)), rc;
	return 0;
}

static int add_nh(const struct sl_nh *nh, char *err, size_t errlen)
{
	int idx = sl_nh_alloc(nh);
	if (idx < 0)
		ERR("no free next-hop slot (limit %d)", SL_MAX_NH);
	return idx;
}

int sl_state_init(const struct sl_config *c, char *err, size_t errlen)
{
	int rc;
	memset(&st, 0, sizeof(st));
	st.conf = *c;
	st.conf.pods = NULL;
	st.conf.nodes = NULL;
	st.conf.routes = NULL;
	if (st.conf.uplink_rx_queues == 0)
		st.conf.uplink_rx_queues = (uint16_t)sl_dp.n_workers;

	if ((rc = open_uplink(err, errlen)) < 0)
		return rc;
	if (c->host_enabled && (rc = open_host(err, errlen)) < 0)
		return rc;
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		publish_rxqs(w);

	st.nh_pod_cidr = add_nh(&(struct sl_nh){ .type = SL_NH_UNREACH_HOST }, err, errlen);
	st.nh_gateway = add_nh(&(struct sl_nh){ .type = SL_NH_LOCAL }, err, errlen);
	st.nh_node = add_nh(&(struct sl_nh){ .type = c->host_enabled ? SL_NH_HOST : SL_NH_LOCAL,
					     .port = PORT_HOST, .mtu = c->pod_mtu },
			    err, errlen);
	if (st.nh_pod_cidr < 0 || st.nh_gateway < 0 || st.nh_node < 0)
		return -ENOSPC;
	if ((rc = fib_set(c->pod_cidr.addr, c->pod_cidr.len, st.nh_pod_cidr)) < 0 ||
	    (rc = fib_set(c->gateway_ip, 32, st.nh_gateway)) < 0 ||
	    (rc = fib_set(c->node_ip, 32, st.nh_node)) < 0)
		return ERR("cannot install base routes: %s", strerror(-rc)), rc;

	for (unsigned i = 0; i < c->n_nodes; i++)
		if ((rc = sl_state_node_add(&c->nodes[i], err, errlen)) < 0)
			return rc;
	for (unsigned i = 0; i < c->n_routes; i++)
		if ((rc = sl_state_route_add(&c->routes[i], err, errlen)) < 0)
			return rc;
	for (unsigned i = 0; i < c->n_pods; i++)
		if ((rc = sl_state_pod_add(&c->pods[i], err, errlen)) < 0)
			return rc;
	return 0;
}

/* Pods. */

static struct pod *pod_find(const char *ns, const char *name)
{
	for (unsigned i = 0; i < SL_MAX_PODS; i++)
		if (st.pods[i].used && !strcmp(st.pods[i].spec.namespace, ns) &&
		    !strcmp(st.pods[i].spec.name, name))
			return &st.pods[i];
	return NULL;
}

/* Whether the uplink's devargs name this interface (iface=NAME). */
static bool uplink_iface_is(const char *ifname)
{
	const char *at = strstr(st.conf.uplink_devargs, "iface=");
	if (!at)
		return false;
	at += strlen("iface=");
	size_t n = strcspn(at, ",");
	return strlen(ifname) == n && !strncmp(at, ifname, n);
}

static unsigned least_loaded_worker(void)
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

static void port_free(struct sl_port *p)
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
	rte_free(p);
}

int sl_state_pod_add(const struct sl_pod_spec *s, char *err, size_t errlen)
{
	struct pod *slot = NULL;
	char ipb[16];
	int rc;

	if ((s->ip & mask_of(st.conf.pod_cidr.len)) != st.conf.pod_cidr.addr ||
	    s->ip == st.conf.gateway_ip || s->ip == st.conf.pod_cidr.addr)
		return ERR("pod.ip: %s is not a pod address of this node", sl_fmt_ip4(s->ip, ipb)),
		       -EINVAL;
	if (!s->vhost && (!strcmp(s->ifname, st.conf.host_ifname) || !strcmp(s->ifname, "lo") ||
			  uplink_iface_is(s->ifname)))
		return ERR("pod.ifname: %s is not a pod interface (uplink, host or loopback)",
			   s->ifname), -EINVAL;
	if (pod_find(s->namespace, s->name))
		return ERR("pod %s/%s already exists", s->namespace, s->name), -EEXIST;
	for (unsigned i = 0; i < SL_MAX_PODS; i++) {
		struct pod *p = &st.pods[i];
		if (p->used && p->spec.ip == s->ip)
			return ERR("pod.ip: %s is already used by %s/%s", sl_fmt_ip4(s->ip, ipb),
				   p->spec.namespace, p->spec.name), -EEXIST;
		if (p->used && !s->vhost && !p->spec.vhost && !strcmp(p->spec.ifname, s->ifname))
			return ERR("pod.ifname: %s is already attached", s->ifname), -EEXIST;
		if (p->used && s->vhost && p->spec.vhost && !strcmp(p->spec.socket, s->socket))
			return ERR("pod.socket: %s is already attached", s->socket), -EEXIST;
		if (!p->used && !slot)
			slot = p;
	}
	uint16_t id = 0;
	for (uint16_t i = 2; i < SL_MAX_PORTS && !id; i++)
		if (!sl_dp.ports[i])
			id = i;
	if (!slot || !id)
		return ERR("pod limit reached (%d)", SL_MAX_PODS), -ENOSPC;

	struct sl_port *port = port_new(id, s->vhost ? SL_PORT_VHOST : SL_PORT_XSK, s->ifname);
	if (!port)
		return ERR("out of memory"), -ENOMEM;
	const char *why = "";
	if (s->vhost && (rc = sl_vhost_open(s->socket, !s->vhost_server, &port->vhost, &why)) < 0) {
		ERR("pod.socket: cannot open %s: %s (%s)", s->socket, why, strerror(-rc));
		port_free(port);
		return rc;
	}
	if (!s->vhost && (rc = sl_xsk_open(s->ifname, &port->xsk, &why)) < 0) {
		ERR("pod.ifname: cannot attach %s: %s (%s)", s->ifname, why, strerror(-rc));
		port_free(port);
		return rc;
	}
	char rname[RTE_RING_NAMESIZE];
	snprintf(rname, sizeof(rname), "sl_txr_%u", id);
	port->tx_ring = rte_ring_create(rname, POD_TX_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (!port->tx_ring) {
		port_free(port);
		return ERR("cannot create TX ring"), -ENOMEM;
	}
	if (port->xsk)
		sl_xsk_mac(port->xsk, &port->mac);
	else
		memcpy(&port->mac, s->mac, 6); /* the pod's own virtio MAC */
	port->mtu = st.conf.pod_mtu;
	port->owner = least_loaded_worker();
	port->pod_ip = s->ip; /* anti-spoofing: the only source the pod may use */
	memcpy(&port->pod_mac, s->mac, 6);

	struct sl_nh nh = { .type = SL_NH_POD, .port = id, .mtu = st.conf.pod_mtu };
	memcpy(&nh.mac, s->mac, 6);
	int nhi = add_nh(&nh, err, errlen);
	if (nhi < 0) {
		port_free(port);
		return nhi;
	}
	atomic_store(&sl_dp.ports[id], port);
	publish_rxqs_of(port);
	if ((rc = fib_set(s->ip, 32, nhi)) < 0) {
		ERR("cannot route pod: %s", strerror(-rc));
		port_unpublish(port);
		port_free(port);
		sl_nh_free((uint32_t)nhi);
		return rc;
	}
	*slot = (struct pod){ .used = true, .spec = *s, .port = id, .nh = nhi };
	st.n_pods++;
	return 0;
}

int sl_state_pod_del(const char *ns, const char *name, char *err, size_t errlen)
{
	struct pod *p = pod_find(ns, name);
	if (!p)
		return ERR("pod %s/%s not found", ns, name), -ENOENT;
	fib_set(p->spec.ip, 32, -1); /* falls back to "no such pod" */
	struct sl_port *port = sl_dp.ports[p->port];
	port_unpublish(port); /* includes a grace period */
	port_free(port);
	sl_nh_free((uint32_t)p->nh);
	memset(p, 0, sizeof(*p));
	st.n_pods--;
	return 0;
}

/* Who already routes exactly this prefix: a description, or NULL. */
static const char *prefix_owner(struct sl_cidr c)
{
	static char who[160];
	const struct sl_config *k = &st.conf;
#define SAME(a, l) ((a) == c.addr && (l) == c.len)
	if (SAME(k->pod_cidr.addr, k->pod_cidr.len))
		return "this node's pod CIDR";
	if (SAME(k->gateway_ip, 32))
		return "the pod gateway";
	if (SAME(k->node_ip, 32))
		return "this node's address";
	for (unsigned i = 0; i < SL_MAX_PODS; i++)
		if (st.pods[i].used && SAME(st.pods[i].spec.ip, 32))
			return snprintf(who, sizeof(who), "pod %s/%s", st.pods[i].spec.namespace,
					st.pods[i].spec.name), who;
	for (unsigned i = 0; i < SL_MAX_NODES; i++)
		if (st.nodes[i].used && (SAME(st.nodes[i].spec.ip, 32) ||
					 SAME(st.nodes[i].spec.pod_cidr.addr,
					      st.nodes[i].spec.pod_cidr.len)))
			return snprintf(who, sizeof(who), "node %s", st.nodes[i].spec.name), who;
	for (unsigned i = 0; i < SL_MAX_ROUTES; i++)
		if (st.routes[i].used && SAME(st.routes[i].spec.prefix.addr,
					      st.routes[i].spec.prefix.len))
			return "a static route";
#undef SAME
	return NULL;
}

/* Remote nodes. */

static struct rnode *node_find(const char *name)
{
	for (unsigned i = 0; i < SL_MAX_NODES; i++)
		if (st.nodes[i].used && !strcmp(st.nodes[i].spec.name, name))
			return &st.nodes[i];
	return NULL;
}

int sl_state_node_add(const struct sl_node_spec *s, char *err, size_t errlen)
{
	struct rnode *slot = NULL;
	char b[16];
	if (s->ip == st.conf.node_ip)
		return ERR("node.ip: %s is this node's own address", sl_fmt_ip4(s->ip, b)), -EINVAL;
	if (overlaps(s->pod_cidr, st.conf.pod_cidr))
		return ERR("node.pod_cidr: overlaps this node's pod CIDR"), -EINVAL;
	if (overlaps((struct sl_cidr){ s->ip, 32 }, st.conf.pod_cidr))
		return ERR("node.ip: %s is inside this node's pod CIDR", sl_fmt_ip4(s->ip, b)),
		       -EINVAL;
	const char *owner = prefix_owner((struct sl_cidr){ s->ip, 32 });
	if (!owner)
		owner = prefix_owner(s->pod_cidr);
	if (owner)
		return ERR("node %s: its address or pod CIDR is already routed to %s", s->name,
			   owner), -EEXIST;
	if (node_find(s->name))
		return ERR("node %s already exists", s->name), -EEXIST;
	for (unsigned i = 0; i < SL_MAX_NODES; i++) {
		struct rnode *n = &st.nodes[i];
		if (n->used && (n->spec.ip == s->ip || overlaps(n->spec.pod_cidr, s->pod_cidr)))
			return ERR("node %s: address or pod CIDR already used by node %s", s->name,
				   n->spec.name), -EEXIST;
		if (!n->used && !slot)
			slot = n;
	}
	if (!slot)
		return ERR("node limit reached (%d)", SL_MAX_NODES), -ENOSPC;
	int neigh = sl_neigh_get(s->ip);
	if (neigh < 0)
		return ERR("neighbour table full (%d)", SL_MAX_NEIGH), neigh;
	if (s->has_mac) {
		uint64_t mac = 0;
		memcpy(&mac, s->mac, 6);
		atomic_store(&sl_dp.neigh[neigh].mac_state, mac | SL_NEIGH_VALID | SL_NEIGH_STATIC);
	}
	struct sl_nh vx = { .type = SL_NH_VXLAN, .port = PORT_UPLINK, .ip = s->ip,
			    .neigh = (uint32_t)neigh, .mtu = (uint16_t)(st.conf.uplink_mtu - 50) };
	struct sl_nh ip = vx;
	ip.type = SL_NH_UPLINK;
	ip.mtu = st.conf.uplink_mtu;
	int a = add_nh(&vx, err, errlen), b2 = a < 0 ? a : add_nh(&ip, err, errlen);
	int rc = b2 < 0 ? b2 : fib_set(s->pod_cidr.addr, s->pod_cidr.len, a);
	if (rc >= 0)
		rc = fib_set(s->ip, 32, b2);
	if (rc < 0) {
		if (a >= 0)
			fib_set(s->pod_cidr.addr, s->pod_cidr.len, -1), sl_nh_free((uint32_t)a);
		if (b2 >= 0)
			sl_nh_free((uint32_t)b2);
		sl_neigh_put((uint32_t)neigh);
		if (!err[0])
			ERR("cannot route node: %s", strerror(-rc));
		return rc;
	}
	*slot = (struct rnode){ .used = true, .spec = *s, .nh_vxlan = a, .nh_ip = b2,
				.neigh = neigh };
	return 0;
}

int sl_state_node_del(const char *name, char *err, size_t errlen)
{
	struct rnode *n = node_find(name);
	if (!n)
		return ERR("node %s not found", name), -ENOENT;
	fib_set(n->spec.pod_cidr.addr, n->spec.pod_cidr.len, -1);
	fib_set(n->spec.ip, 32, -1); /* grace period passed inside */
	sl_nh_free((uint32_t)n->nh_vxlan);
	sl_nh_free((uint32_t)n->nh_ip);
	sl_neigh_put((uint32_t)n->neigh);
	memset(n, 0, sizeof(*n));
	return 0;
}

/* Static routes. */

static struct route *route_find(const struct sl_cidr *p)
{
	for (unsigned i = 0; i < SL_MAX_ROUTES; i++)
		if (st.routes[i].used && st.routes[i].spec.prefix.addr == p->addr &&
		    st.routes[i].spec.prefix.len == p->len)
			return &st.routes[i];
	return NULL;
}

int sl_state_route_add(const struct sl_route_spec *s, char *err, size_t errlen)
{
	struct route *slot = NULL;
	const char *owner = prefix_owner(s->prefix);
	if (owner)
		return ERR("route.prefix: already routed to %s", owner), -EEXIST;
	if (overlaps(s->prefix, st.conf.pod_cidr) && s->prefix.len >= st.conf.pod_cidr.len)
		return ERR("route.prefix: inside this node's pod CIDR"), -EINVAL;
	for (unsigned i = 0; i < SL_MAX_ROUTES && !slot; i++)
		if (!st.routes[i].used)
			slot = &st.routes[i];
	if (!slot)
		return ERR("route limit reached (%d)", SL_MAX_ROUTES), -ENOSPC;
	int neigh = sl_neigh_get(s->via);
	if (neigh < 0)
		return ERR("neighbour table full (%d)", SL_MAX_NEIGH), neigh;
	int nh = add_nh(&(struct sl_nh){ .type = SL_NH_UPLINK, .port = PORT_UPLINK, .ip = s->via,
					 .neigh = (uint32_t)neigh, .mtu = st.conf.uplink_mtu },
			err, errlen);
	int rc = nh < 0 ? nh : fib_set(s->prefix.addr, s->prefix.len, nh);
	if (rc < 0) {
		if (nh >= 0)
			sl_nh_free((uint32_t)nh);
		sl_neigh_put((uint32_t)neigh);
		if (!err[0])
			ERR("cannot add route: %s", strerror(-rc));
		return rc;
	}
	*slot = (struct route){ .used = true, .spec = *s, .nh = nh, .neigh = neigh };
	return 0;
}

int sl_state_route_del(const struct sl_cidr *prefix, char *err, size_t errlen)
{
	struct route *r = route_find(prefix);
	if (!r)
		return ERR("route not found"), -ENOENT;
	fib_set(r->spec.prefix.addr, r->spec.prefix.len, -1);
	sl_nh_free((uint32_t)r->nh);
	sl_neigh_put((uint32_t)r->neigh);
	memset(r, 0, sizeof(*r));
	return 0;
}

void sl_state_fini(void)
{
	char err[256];
	for (unsigned i = 0; i < SL_MAX_PODS; i++)
		if (st.pods[i].used)
			sl_state_pod_del(st.pods[i].spec.namespace, st.pods[i].spec.name, err,
					 sizeof(err));
	for (uint16_t i = 0; i < 2; i++) {
		struct sl_port *p = sl_dp.ports[i];
		if (!p)
			continue;
		atomic_store(&sl_dp.ports[i], NULL);
		sl_ethport_close(p->eth_port);
		port_free(p);
	}
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		rte_free(atomic_exchange(&sl_dp.workers[w].rxqs, NULL));
}

/* Neighbours: the control thread asks, workers learn the answers (arp-input). */

static void send_arp_request(uint32_t ip)
{
	struct sl_port *up = sl_dp.ports[PORT_UPLINK];
	struct rte_mbuf *m = up ? rte_pktmbuf_alloc(sl_dp.pool) : NULL;
	if (!m)
		return;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = up->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	*arp = (struct rte_arp_hdr){
		.arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER),
		.arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4),
		.arp_hlen = RTE_ETHER_ADDR_LEN,
		.arp_plen = 4,
		.arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST),
	};
	arp->arp_data.arp_sha = up->mac;
	arp->arp_data.arp_sip = st.conf.node_ip;
	arp->arp_data.arp_tip = ip;
	sl_priv(m)->out_port = up->id;
	sl_priv(m)->flags = 0;
	if (rte_ring_mp_enqueue(sl_dp.ctrl_tx, m) != 0)
		rte_pktmbuf_free(m);
}

void sl_state_tick(void)
{
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	for (unsigned i = 0; i < SL_MAX_NEIGH; i++) {
		struct sl_neigh *n = &sl_dp.neigh[i];
		if (!n->refs)
			continue;
		uint64_t ms = atomic_load(&n->mac_state);
		uint64_t age = now - atomic_load(&n->updated_tsc);
		bool ask;
		if (ms & SL_NEIGH_STATIC)
			continue;
		if (!(ms & SL_NEIGH_VALID)) {
			ask = now - n->requested_tsc > NEIGH_RETRY_S * hz || !n->requested_tsc;
		} else if (age > NEIGH_EXPIRE_S * hz) {
			atomic_store(&n->mac_state, 0);
			ask = true;
		} else {
			ask = age > NEIGH_REFRESH_S * hz && now - n->requested_tsc > 5 * hz;
		}
		if (ask) {
			send_arp_request(n->ip);
			n->requested_tsc = now;
		}
	}
}

static void add_ip(cJSON *o, const char *k, uint32_t ip);
static void add_mac(cJSON *o, const char *k, const void *mac);
static void add_cidr(cJSON *o, const char *k, struct sl_cidr c);

cJSON *sl_state_export(void)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *pods = cJSON_AddArrayToObject(doc, "pods");
	cJSON *nodes = cJSON_AddArrayToObject(doc, "nodes");
	cJSON *routes = cJSON_AddArrayToObject(doc, "routes");
	for (unsigned i = 0; i < SL_MAX_PODS; i++) {
		const struct sl_pod_spec *p = &st.pods[i].spec;
		if (!st.pods[i].used)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "namespace", p->namespace);
		if (p->vhost) {
			cJSON_AddStringToObject(o, "interface", "vhost-user");
			cJSON_AddStringToObject(o, "socket", p->socket);
			cJSON_AddStringToObject(o, "vhost_mode", p->vhost_server ? "server" : "client");
		} else {
			cJSON_AddStringToObject(o, "ifname", p->ifname);
		}
		add_ip(o, "ip", p->ip);
		add_mac(o, "mac", p->mac);
		cJSON_AddItemToArray(pods, o);
	}
	for (unsigned i = 0; i < SL_MAX_NODES; i++) {
		const struct sl_node_spec *d = &st.nodes[i].spec;
		if (!st.nodes[i].used)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", d->name);
		add_ip(o, "ip", d->ip);
		add_cidr(o, "pod_cidr", d->pod_cidr);
		if (d->has_mac)
			add_mac(o, "mac", d->mac);
		cJSON_AddItemToArray(nodes, o);
	}
	for (unsigned i = 0; i < SL_MAX_ROUTES; i++) {
		if (!st.routes[i].used)
			continue;
		cJSON *o = cJSON_CreateObject();
		add_cidr(o, "prefix", st.routes[i].spec.prefix);
		add_ip(o, "via", st.routes[i].spec.via);
		cJSON_AddItemToArray(routes, o);
	}
	return doc;
}

void sl_state_describe(cJSON *o)
{
	char b[16], c[24];
	cJSON_AddStringToObject(o, "node", st.conf.node_name);
	snprintf(c, sizeof(c), "%s/%u", sl_fmt_ip4(st.conf.pod_cidr.addr, b), st.conf.pod_cidr.len);
	cJSON_AddStringToObject(o, "pod_cidr", c);
	cJSON_AddStringToObject(o, "gateway", sl_fmt_ip4(st.conf.gateway_ip, b));
	cJSON_AddNumberToObject(o, "pod_mtu", st.conf.pod_mtu);
	cJSON_AddNumberToObject(o, "pods", st.n_pods);
}

/* Tables for sluicectl. */

static void add_mac(cJSON *o, const char *k, const void *mac)
{
	char b[18];
	rte_ether_format_addr(b, sizeof(b), (const struct rte_ether_addr *)mac);
	cJSON_AddStringToObject(o, k, b);
}

static void add_ip(cJSON *o, const char *k, uint32_t ip)
{
	char b[16];
	cJSON_AddStringToObject(o, k, sl_fmt_ip4(ip, b));
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (*v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_cidr(cJSON *o, const char *k, struct sl_cidr c)
{
	char b[16], s[24];
	snprintf(s, sizeof(s), "%s/%u", sl_fmt_ip4(c.addr, b), c.len);
	cJSON_AddStringToObject(o, k, s);
}

static const char *kind_name(enum sl_port_kind k)
{
	return k == SL_PORT_UPLINK ? "uplink" : k == SL_PORT_HOST ? "host" :
	       k == SL_PORT_VHOST ? "vhost-user" : "af_xdp";
}

static cJSON *show_ports(void)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < SL_MAX_PORTS; i++) {
		struct sl_port *p = sl_dp.ports[i];
		if (!p)
			continue;
		struct sl_port_stats s = {0};
		for (unsigned w = 0; w < sl_dp.n_workers; w++) {
			s.rx_packets += p->stats[w].rx_packets;
			s.rx_bytes += p->stats[w].rx_bytes;
			s.tx_packets += p->stats[w].tx_packets;
			s.tx_bytes += p->stats[w].tx_bytes;
			s.tx_dropped += p->stats[w].tx_dropped;
			s.rx_spoofed += p->stats[w].rx_spoofed;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "kind", kind_name(p->kind));
		add_mac(o, "mac", &p->mac);
		cJSON_AddNumberToObject(o, "mtu", p->mtu);
		cJSON_AddNumberToObject(o, "worker", p->kind == SL_PORT_UPLINK ? -1 : (int)p->owner);
		cJSON_AddNumberToObject(o, "rx_packets", (double)s.rx_packets);
		cJSON_AddNumberToObject(o, "rx_bytes", (double)s.rx_bytes);
		cJSON_AddNumberToObject(o, "tx_packets", (double)s.tx_packets);
		cJSON_AddNumberToObject(o, "tx_bytes", (double)s.tx_bytes);
		cJSON_AddNumberToObject(o, "tx_dropped", (double)s.tx_dropped);
		cJSON_AddNumberToObject(o, "rx_spoofed", (double)s.rx_spoofed);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *show_pods(void)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < SL_MAX_PODS; i++) {
		struct pod *p = &st.pods[i];
		if (!p->used)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", p->spec.namespace);
		cJSON_AddStringToObject(o, "name", p->spec.name);
		add_ip(o, "ip", p->spec.ip);
		add_mac(o, "mac", p->spec.mac);
		cJSON_AddStringToObject(o, "ifname", p->spec.ifname);
		cJSON_AddNumberToObject(o, "port", p->port);
		struct sl_port *port = sl_dp.ports[p->port];
		bool vhost = port && port->vhost;
		struct sl_vhost_status vs = {0};
		if (vhost)
			sl_vhost_status(port->vhost, &vs);
		/* vhost-user: the queue pairs the guest enabled; AF_XDP: one socket. */
		cJSON_AddNumberToObject(o, "queues", vhost ? sl_vhost_queue_pairs(port->vhost) : 1);
		cJSON_AddStringToObject(o, "state", vhost ? vs.state : "attached");
		/* vhost-user: when and how the last connection ended; null until one has (and for
		 * AF_XDP pods: every row has the same columns). */
		add_str_or_null(o, "last_disconnect", vs.disconnect_at);
		add_str_or_null(o, "disconnect_cause", vs.disconnect_cause);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* One row per queue pair a vhost-user guest enabled: which worker polls it, and the packets
 * received from and sent to it (an NFV operator's check that traffic spreads). */
static cJSON *show_vhost(void)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < SL_MAX_PODS; i++) {
		struct pod *p = &st.pods[i];
		struct sl_port *port = p->used ? sl_dp.ports[p->port] : NULL;
		if (!port || !port->vhost)
			continue;
		for (unsigned qp = 0; qp < SL_VHOST_MAX_QP; qp++) {
			uint64_t rx, tx;
			if (!sl_vhost_qp_stats(port->vhost, qp, &rx, &tx))
				continue;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "namespace", p->spec.namespace);
			cJSON_AddStringToObject(o, "name", p->spec.name);
			cJSON_AddNumberToObject(o, "queue_pair", qp);
			cJSON_AddNumberToObject(o, "worker", (port->owner + qp) % sl_dp.n_workers);
			cJSON_AddNumberToObject(o, "rx_packets", (double)rx);
			cJSON_AddNumberToObject(o, "tx_packets", (double)tx);
			cJSON_AddItemToArray(a, o);
		}
	}
	return a;
}

static const char *neigh_state(const struct sl_neigh *n)
{
	uint64_t ms = atomic_load(&n->mac_state);
	return ms & SL_NEIGH_STATIC ? "static" : ms & SL_NEIGH_VALID ? "reachable" : "incomplete";
}

static cJSON *show_nodes(void)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < SL_MAX_NODES; i++) {
		struct rnode *n = &st.nodes[i];
		if (!n->used)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", n->spec.name);
		add_ip(o, "ip", n->spec.ip);
		add_cidr(o, "pod_cidr", n->spec.pod_cidr);
		cJSON_AddStringToObject(o, "vtep", neigh_state(&sl_dp.neigh[n->neigh]));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void route_row(cJSON *a, struct sl_cidr c, const char *type, const char *via)
{
	cJSON *o = cJSON_CreateObject();
	add_cidr(o, "prefix", c);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "via", via);
	cJSON_AddItemToArray(a, o);
}

static cJSON *show_routes(void)
{
	cJSON *a = cJSON_CreateArray();
	char b[64], ipb[16];
	route_row(a, st.conf.pod_cidr, "unreachable", "no such pod");
	route_row(a, (struct sl_cidr){ st.conf.gateway_ip, 32 }, "local", "pod gateway");
	route_row(a, (struct sl_cidr){ st.conf.node_ip, 32 },
		  st.conf.host_enabled ? "host" : "local", st.conf.host_ifname);
	for (unsigned i = 0; i < SL_MAX_PODS; i++)
		if (st.pods[i].used) {
			snprintf(b, sizeof(b), "%s/%s", st.pods[i].spec.namespace,
				 st.pods[i].spec.name);
			route_row(a, (struct sl_cidr){ st.pods[i].spec.ip, 32 }, "pod", b);
		}
	for (unsigned i = 0; i < SL_MAX_NODES; i++)
		if (st.nodes[i].used) {
			snprintf(b, sizeof(b), "vxlan %s vni %u", sl_fmt_ip4(st.nodes[i].spec.ip, ipb),
				 st.conf.vni);
			route_row(a, st.nodes[i].spec.pod_cidr, "vxlan", b);
			route_row(a, (struct sl_cidr){ st.nodes[i].spec.ip, 32 }, "uplink",
				  sl_fmt_ip4(st.nodes[i].spec.ip, ipb));
		}
	for (unsigned i = 0; i < SL_MAX_ROUTES; i++)
		if (st.routes[i].used)
			route_row(a, st.routes[i].spec.prefix, "uplink",
				  sl_fmt_ip4(st.routes[i].spec.via, ipb));
	return a;
}

static cJSON *show_neighbors(void)
{
	cJSON *a = cJSON_CreateArray();
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	for (unsigned i = 0; i < SL_MAX_NEIGH; i++) {
		struct sl_neigh *n = &sl_dp.neigh[i];
		if (!n->refs)
			continue;
		uint64_t ms = atomic_load(&n->mac_state), up = atomic_load(&n->updated_tsc);
		cJSON *o = cJSON_CreateObject();
		add_ip(o, "ip", n->ip);
		if (ms & SL_NEIGH_VALID)
			add_mac(o, "mac", &ms);
		else
			cJSON_AddStringToObject(o, "mac", "-");
		cJSON_AddStringToObject(o, "state", neigh_state(n));
		cJSON_AddNumberToObject(o, "age_s", up ? (double)((now - up) / hz) : -1);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *show_workers(void)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		struct sl_worker *wk = &sl_dp.workers[w];
		struct sl_rxq_list *l = atomic_load(&wk->rxqs);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", w);
		cJSON_AddNumberToObject(o, "lcore", wk->lcore);
		cJSON_AddNumberToObject(o, "rx_queues", l ? l->n : 0);
		uint64_t rx = 0, tx = 0; /* this worker's share of every port's traffic */
		for (unsigned i = 0; i < SL_MAX_PORTS; i++) {
			const struct sl_port *p = sl_dp.ports[i];
			if (p) {
				rx += p->stats[w].rx_packets;
				tx += p->stats[w].tx_packets;
			}
		}
		cJSON_AddNumberToObject(o, "rx_packets", (double)rx);
		cJSON_AddNumberToObject(o, "tx_packets", (double)tx);
		cJSON_AddNumberToObject(o, "loops", (double)wk->loops);
		cJSON_AddNumberToObject(o, "idle_loops", (double)wk->idle_loops);
		cJSON_AddNumberToObject(o, "sleeps", (double)wk->sleeps);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* One row per receive queue of an ethdev port (the uplink's RSS queues, the host port): the
 * worker that polls it and the packets the device counted on it. */
static cJSON *show_queues(void)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < SL_MAX_PORTS; i++) {
		const struct sl_port *p = sl_dp.ports[i];
		struct rte_eth_stats es;
		if (!p || p->xsk || p->vhost || rte_eth_stats_get(p->eth_port, &es) != 0)
			continue;
		uint16_t nq = p->kind == SL_PORT_UPLINK ? st.conf.uplink_rx_queues : 1;
		for (uint16_t q = 0; q < nq && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "port", p->name);
			cJSON_AddNumberToObject(o, "queue", q);
			cJSON_AddNumberToObject(o, "worker", uplink_queue_worker(q));
			cJSON_AddNumberToObject(o, "rx_packets", (double)es.q_ipackets[q]);
			cJSON_AddItemToArray(a, o);
		}
	}
	return a;
}

static cJSON *show_drops(bool all)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned r = 0; r < SL_DROP_COUNT; r++) {
		uint64_t sum = 0;
		for (unsigned w = 0; w < sl_dp.n_workers; w++)
			sum += sl_dp.workers[w].drops[r];
		if (!sum && !all)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "reason", sl_drop_name(r));
		cJSON_AddNumberToObject(o, "packets", (double)sum);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *show_graph(void)
{
	static struct sl_node_stats ns[128];
	cJSON *a = cJSON_CreateArray();
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		int n = sl_worker_graph_stats(&sl_dp.workers[w], ns, 128);
		for (int i = 0; i < n; i++) {
			if (!ns[i].calls)
				continue;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "worker", w);
			cJSON_AddStringToObject(o, "node", ns[i].name);
			cJSON_AddNumberToObject(o, "packets", (double)ns[i].objs);
			cJSON_AddNumberToObject(o, "calls", (double)ns[i].calls);
			double vpc = ns[i].calls ? (double)ns[i].objs / (double)ns[i].calls : 0;
			double cpp = ns[i].objs ? (double)ns[i].cycles / (double)ns[i].objs : 0;
			cJSON_AddNumberToObject(o, "vectors_per_call", (double)(int)(vpc * 10) / 10);
			cJSON_AddNumberToObject(o, "cycles_per_packet", (double)(int)(cpp * 10) / 10);
			cJSON_AddItemToArray(a, o);
		}
	}
	return a;
}

cJSON *sl_state_show(const char *what, char *err, size_t errlen)
{
	if (!strcmp(what, "ports"))
		return show_ports();
	if (!strcmp(what, "pods"))
		return show_pods();
	if (!strcmp(what, "nodes"))
		return show_nodes();
	if (!strcmp(what, "routes"))
		return show_routes();
	if (!strcmp(what, "neighbors"))
		return show_neighbors();
	if (!strcmp(what, "workers"))
		return show_workers();
	if (!strcmp(what, "vhost"))
		return show_vhost();
	if (!strcmp(what, "queues"))
		return show_queues();
	if (!strcmp(what, "drops"))
		return show_drops(true);
	if (!strcmp(what, "graph"))
		return show_graph();
	if (!strcmp(what, "stats")) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "node", st.conf.node_name);
		cJSON_AddNumberToObject(o, "pods", st.n_pods);
		cJSON *mb = cJSON_AddObjectToObject(o, "mbufs");
		cJSON_AddNumberToObject(mb, "total", sl_dp.pool->size);
		cJSON_AddNumberToObject(mb, "available", rte_mempool_avail_count(sl_dp.pool));
		cJSON *rcu = cJSON_AddObjectToObject(o, "rcu");
		cJSON_AddNumberToObject(rcu, "grace_periods", (double)sl_dp.grace_periods);
		cJSON_AddNumberToObject(rcu, "wait_ms",
					(double)sl_dp.grace_wait_cycles * 1e3 / (double)rte_get_tsc_hz());
		cJSON_AddItemToObject(o, "ports", show_ports());
		cJSON_AddItemToObject(o, "drops", show_drops(false));
		return o;
	}
	ERR("what: unknown table '%.32s' (%s)", what, SL_SHOW_LIST);
	return NULL;
}
