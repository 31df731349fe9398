/* The bench node (see gb.h): ports on net_ring ethdevs, and the tables control/net/sl_net.c
 * would build for the same node.
 *
 *   this node 198.18.0.1, pods 10.244.1.0/24, gateway 10.244.1.1, VNI 1, UDP 4789
 *     pod i:    10.244.1.(2 + i), MAC 02:bb:00:00:00:i, port 2 + i, owner worker i % W
 *     uplink:   MAC 02:aa:00:00:00:01, port 0, RX and TX queue w for worker w
 *   remote node r: VTEP 198.18.0.(2 + r), MAC 02:cc:00:00:00:r, pods 10.244.(2 + r).0/24
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "dataplane/core/sl_worker.h"
#include "gb.h"

#define TX_RING_SIZE 1024 /* one walk sends at most RTE_GRAPH_BURST_SIZE per worker */
#define UPLINK_MTU 1500
#define POD_MTU (UPLINK_MTU - GB_VXLAN_OVERHEAD)

const struct rte_ether_addr gb_uplink_mac = { { 0x02, 0xaa, 0, 0, 0, 0x01 } };

void gb_pod_mac(unsigned pod, struct rte_ether_addr *ret)
{
	*ret = (struct rte_ether_addr){ { 0x02, 0xbb, 0, 0, 0, (uint8_t)pod } };
}

void gb_remote_mac(unsigned remote, struct rte_ether_addr *ret)
{
	*ret = (struct rte_ether_addr){ { 0x02, 0xcc, 0, 0, 0, (uint8_t)remote } };
}

uint32_t gb_pod_ip(unsigned pod)
{
	return htonl(0x0af40100u + 2 + pod);
}

uint32_t gb_remote_vtep(unsigned remote)
{
	return htonl(0xc6120000u + 2 + remote);
}

uint32_t gb_remote_pod_ip(unsigned remote, unsigned host)
{
	return htonl(0x0af40000u + ((2 + remote) << 8) + 2 + host % 250);
}

static struct rte_ring *ring_new(const char *kind, unsigned port, unsigned q, unsigned size)
{
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "slg_%s%u_%u", kind, port, q);
	struct rte_ring *r = rte_ring_create(name, size, SOCKET_ID_ANY,
					     RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (!r)
		fprintf(stderr, "graph-bench: cannot create ring %s: %s\n", name,
			rte_strerror(rte_errno));
	return r;
}

/* A sluice port on a net_ring ethdev with n_rx receive and n_tx transmit queues; its rings
 * are returned in rx[] and tx[]. */
static int port_new(uint16_t id, enum sl_port_kind kind, const char *name,
		    const struct rte_ether_addr *mac, uint16_t mtu, unsigned owner, unsigned n_rx,
		    unsigned n_tx, unsigned rx_size, struct rte_ring **rx, struct rte_ring **tx)
{
	for (unsigned q = 0; q < n_rx; q++)
		if (!(rx[q] = ring_new("rx", id, q, rx_size)))
			return -ENOMEM;
	for (unsigned q = 0; q < n_tx; q++)
		if (!(tx[q] = ring_new("tx", id, q, TX_RING_SIZE)))
			return -ENOMEM;
	char dev[32];
	snprintf(dev, sizeof(dev), "slg_%s", name);
	int eth = rte_eth_from_rings(dev, rx, n_rx, tx, n_tx, SOCKET_ID_ANY);
	struct rte_eth_conf conf = {0};
	int rc = eth < 0 ? -rte_errno : rte_eth_dev_configure((uint16_t)eth, (uint16_t)n_rx,
							      (uint16_t)n_tx, &conf);
	for (unsigned q = 0; rc >= 0 && q < n_rx; q++)
		rc = rte_eth_rx_queue_setup((uint16_t)eth, (uint16_t)q, 1024, SOCKET_ID_ANY, NULL,
					    sl_dp.pool);
	for (unsigned q = 0; rc >= 0 && q < n_tx; q++)
		rc = rte_eth_tx_queue_setup((uint16_t)eth, (uint16_t)q, 1024, SOCKET_ID_ANY, NULL);
	if (rc >= 0)
		rc = rte_eth_dev_start((uint16_t)eth);
	if (rc < 0) {
		fprintf(stderr, "graph-bench: port %s: %s\n", name, strerror(-rc));
		return rc;
	}
	struct sl_port *p = rte_zmalloc("slg_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
	if (!p)
		return -ENOMEM;
	p->id = id;
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->mac = *mac;
	p->mtu = mtu;
	p->eth_port = (uint16_t)eth;
	p->owner = owner;
	/* No tx_ring: every worker has its own TX queue (port_send.h, first case). */
	atomic_store(&sl_dp.ports[id], p);
	return 0;
}

static int route(uint32_t prefix_net, uint8_t depth, const struct sl_nh *nh)
{
	int idx = sl_nh_alloc(nh);
	if (idx < 0)
		return idx;
	return sl_fib_set(ntohl(prefix_net), depth, idx);
}

/* Base routes, remote nodes and pods, as the reconciler (control/net/sl_net.c) installs
 * them (host port disabled). */
static int tables(const struct gb_args *a)
{
	const struct sl_dp_conf *c = &sl_dp.conf;
	int rc;
	if ((rc = route(c->pod_cidr, 24, &(struct sl_nh){ .type = SL_NH_UNREACH_HOST })) < 0 ||
	    (rc = route(c->gateway_ip, 32, &(struct sl_nh){ .type = SL_NH_LOCAL })) < 0 ||
	    (rc = route(c->node_ip, 32, &(struct sl_nh){ .type = SL_NH_LOCAL, .mtu = POD_MTU })) < 0)
		return rc;
	for (unsigned r = 0; r < a->remotes; r++) {
		uint32_t vtep = gb_remote_vtep(r);
		int neigh = sl_neigh_get(vtep);
		if (neigh < 0)
			return neigh;
		struct rte_ether_addr mac;
		uint64_t ms = 0;
		gb_remote_mac(r, &mac);
		memcpy(&ms, &mac, RTE_ETHER_ADDR_LEN);
		atomic_store(&sl_dp.neigh[neigh].mac_state, ms | SL_NEIGH_VALID | SL_NEIGH_STATIC);
		struct sl_nh vx = { .type = SL_NH_VXLAN, .port = GB_PORT_UPLINK, .ip = vtep,
				    .neigh = (uint32_t)neigh, .mtu = POD_MTU };
		struct sl_nh ip = vx;
		ip.type = SL_NH_UPLINK;
		ip.mtu = UPLINK_MTU;
		uint32_t cidr = gb_remote_pod_ip(r, 0) & htonl(0xffffff00);
		if ((rc = route(cidr, 24, &vx)) < 0 || (rc = route(vtep, 32, &ip)) < 0)
			return rc;
	}
	for (unsigned i = 0; i < a->pods; i++) {
		struct sl_nh nh = { .type = SL_NH_POD, .port = (uint16_t)(GB_PORT_POD0 + i),
				    .mtu = POD_MTU };
		gb_pod_mac(i, &nh.mac);
		if ((rc = route(gb_pod_ip(i), 32, &nh)) < 0)
			return rc;
	}
	return 0;
}

/* Worker w's receive-queue list, in port order as publish_rxqs (control/net/sl_ports.c) makes
 * it: its uplink queue, then the pods it owns. */
static int rxqs(unsigned w)
{
	struct sl_rxq_list *l = rte_zmalloc("slg_rxqs", sizeof(*l) + (GB_MAX_PODS + 1) *
					    sizeof(l->q[0]), RTE_CACHE_LINE_SIZE);
	if (!l)
		return -ENOMEM;
	l->q[l->n++] = (struct sl_rxq){ GB_PORT_UPLINK, (uint16_t)w };
	for (unsigned i = 0; i < SL_MAX_PORTS; i++) {
		struct sl_port *p = sl_dp.ports[i];
		if (p && p->kind != SL_PORT_UPLINK && p->owner == w)
			l->q[l->n++] = (struct sl_rxq){ p->id, 0 };
	}
	atomic_store(&sl_dp.workers[w].rxqs, l);
	return 0;
}

int gb_topo_setup(const struct gb_args *a, struct gb_worker *gbw)
{
	unsigned nw = sl_dp.n_workers;
	struct rte_ring *rx[SL_MAX_WORKERS], *tx[SL_MAX_WORKERS];
	int rc = port_new(GB_PORT_UPLINK, SL_PORT_UPLINK, "uplink", &gb_uplink_mac, UPLINK_MTU,
			  0, nw, nw, a->inflight, rx, tx);
	if (rc < 0)
		return rc;
	for (unsigned w = 0; w < nw; w++) {
		gbw[w].rx[gbw[w].n_rx++] = rx[w];
		gbw[w].tx[gbw[w].n_tx++] = (struct gb_txq){ tx[w], GB_PORT_UPLINK };
	}
	for (unsigned i = 0; i < a->pods; i++) {
		char name[16];
		struct rte_ether_addr mac;
		unsigned owner = i % nw; /* what least_loaded_worker() gives pods added in order */
		uint16_t id = (uint16_t)(GB_PORT_POD0 + i);
		snprintf(name, sizeof(name), "pod%u", i);
		gb_pod_mac(i, &mac);
		if ((rc = port_new(id, SL_PORT_XSK, name, &mac, POD_MTU, owner, 1, nw, a->inflight,
				   rx, tx)) < 0)
			return rc;
		sl_dp.ports[id]->pod_ip = gb_pod_ip(i); /* as sl_state_pod_add: anti-spoofing */
		sl_dp.ports[id]->pod_mac = mac;
		gbw[owner].rx[gbw[owner].n_rx++] = rx[0];
		for (unsigned w = 0; w < nw; w++)
			gbw[w].tx[gbw[w].n_tx++] = (struct gb_txq){ tx[w], id };
	}
	if ((rc = tables(a)) < 0) {
		fprintf(stderr, "graph-bench: cannot install routes: %s\n", strerror(-rc));
		return rc;
	}
	for (unsigned w = 0; w < nw; w++) {
		if ((rc = rxqs(w)) < 0)
			return rc;
		if ((rc = sl_worker_graph_create(&sl_dp.workers[w])) < 0) {
			fprintf(stderr, "graph-bench: cannot create graph: %s\n", strerror(-rc));
			return rc;
		}
		gbw[w].w = &sl_dp.workers[w];
		gbw[w].verify_every = a->verify_every;
	}
	return 0;
}
