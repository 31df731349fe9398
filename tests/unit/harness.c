/* Dataplane test harness (see harness.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/core/sl_worker.h"
#include "dataplane/lb/lb_table.h"
#include "harness.h"
#include "pktbuild.h"

struct rte_ether_addr th_gw_mac = { { 0x02, 0x5c, 0, 0, 0, 0x01 } };
struct rte_ether_addr th_uplink_mac = { { 0x02, 0xaa, 0, 0, 0, 0x01 } };
struct rte_ether_addr th_host_mac = { { 0x02, 0xaa, 0, 0, 0, 0x02 } };
struct rte_ether_addr th_pod_a_mac = { { 0x02, 0xbb, 0, 0, 0, 0x02 } };
struct rte_ether_addr th_pod_b_mac = { { 0x02, 0xbb, 0, 0, 0, 0x03 } };
struct rte_ether_addr th_remote_mac = { { 0x02, 0xcc, 0, 0, 0, 0x02 } };
struct rte_ether_addr th_gw254_mac = { { 0x02, 0xcc, 0, 0, 0, 0xfe } };

static struct rte_ring *rx_ring[TH_PORTS], *tx_ring[TH_PORTS];
static int neigh_remote, neigh_gw;

static void add_port(unsigned id, enum sl_port_kind kind, const char *name,
		     struct rte_ether_addr mac, uint16_t mtu)
{
	char n[32];
	snprintf(n, sizeof(n), "th_rx%u", id);
	rx_ring[id] = rte_ring_create(n, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(n, sizeof(n), "th_tx%u", id);
	tx_ring[id] = rte_ring_create(n, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(n, sizeof(n), "th_port%u", id);
	int eth = rte_eth_from_rings(n, &rx_ring[id], 1, &tx_ring[id], 1, SOCKET_ID_ANY);
	struct rte_eth_conf conf = {0};
	if (eth < 0 || rte_eth_dev_configure((uint16_t)eth, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup((uint16_t)eth, 0, 1024, SOCKET_ID_ANY, NULL, sl_dp.pool) < 0 ||
	    rte_eth_tx_queue_setup((uint16_t)eth, 0, 1024, SOCKET_ID_ANY, NULL) < 0 ||
	    rte_eth_dev_start((uint16_t)eth) < 0)
		fprintf(stderr, "harness: cannot start ring port %u\n", id);
	struct sl_port *p = rte_zmalloc("p", sizeof(*p), RTE_CACHE_LINE_SIZE);
	p->id = (uint16_t)id;
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->mac = mac;
	p->mtu = mtu;
	p->eth_port = (uint16_t)eth;
	sl_dp.ports[id] = p;
}

static int nh(struct sl_nh n)
{
	return sl_nh_alloc(&n);
}

int th_setup(void **state)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=sl-unit-%d", getpid());
	char *argv[] = { "unit", "--no-huge", "-m", "256", "--no-pci", "-l", "0",
			 "--log-level=*:error", prefix };
	if (rte_eal_init(sizeof(argv) / sizeof(argv[0]), argv) < 0)
		return -1;
	if (sl_dp_init(1, 4095) < 0)
		return -1;
	struct sl_dp_conf *c = &sl_dp.conf;
	c->node_ip = pb_addr("198.18.0.1");
	c->gateway_ip = pb_addr("10.244.1.1");
	c->pod_cidr = pb_addr("10.244.1.0");
	c->pod_cidr_mask = htonl(0xffffff00);
	c->gw_mac = th_gw_mac;
	c->vni = 42;
	c->vxlan_port = 4789;
	c->uplink_port = TH_UPLINK;
	c->icmp_rate = 1000000;
	add_port(TH_UPLINK, SL_PORT_UPLINK, "uplink", th_uplink_mac, 1500);
	add_port(TH_HOST, SL_PORT_HOST, "host", th_host_mac, 1450);
	add_port(TH_POD_A, SL_PORT_XSK, "podA", th_uplink_mac, 1450);
	add_port(TH_POD_B, SL_PORT_XSK, "podB", th_uplink_mac, 1450);
	/* The sources the pods may use (control sets them from the pod spec). */
	sl_dp.ports[TH_POD_A]->pod_ip = pb_addr("10.244.1.2");
	sl_dp.ports[TH_POD_A]->pod_mac = th_pod_a_mac;
	sl_dp.ports[TH_POD_B]->pod_ip = pb_addr("10.244.1.3");
	sl_dp.ports[TH_POD_B]->pod_mac = th_pod_b_mac;

	struct sl_rxq_list *l = rte_zmalloc("l", sizeof(*l) + TH_PORTS * sizeof(l->q[0]), 64);
	for (unsigned i = 0; i < TH_PORTS; i++)
		l->q[l->n++] = (struct sl_rxq){ (uint16_t)i, 0 };
	sl_dp.workers[0].rxqs = l;
	sl_dp.workers[0].lcore = rte_lcore_id();
	sl_dp.worker_of_lcore[rte_lcore_id()] = 0;
	if (sl_worker_graph_create(&sl_dp.workers[0]) < 0)
		return -1;

	neigh_remote = sl_neigh_get(pb_addr("198.18.0.2"));
	neigh_gw = sl_neigh_get(pb_addr("198.18.0.254"));
	struct sl_nh pa = { .type = SL_NH_POD, .port = TH_POD_A, .mtu = 1450, .mac = th_pod_a_mac };
	struct sl_nh pbn = { .type = SL_NH_POD, .port = TH_POD_B, .mtu = 1450, .mac = th_pod_b_mac };
	sl_fib_set(0x0af40100, 24, nh((struct sl_nh){ .type = SL_NH_UNREACH_HOST }));
	sl_fib_set(0x0af40101, 32, nh((struct sl_nh){ .type = SL_NH_LOCAL }));
	sl_fib_set(0xc6120001, 32, nh((struct sl_nh){ .type = SL_NH_HOST, .port = TH_HOST,
						      .mtu = 1450 }));
	sl_fib_set(0x0af40102, 32, nh(pa));
	sl_fib_set(0x0af40103, 32, nh(pbn));
	sl_fib_set(0x0af40200, 24, nh((struct sl_nh){ .type = SL_NH_VXLAN, .port = TH_UPLINK,
						      .mtu = 1450, .ip = pb_addr("198.18.0.2"),
						      .neigh = (uint32_t)neigh_remote }));
	/* The remote node's own address, as sl_state_node_add routes it. */
	sl_fib_set(0xc6120002, 32, nh((struct sl_nh){ .type = SL_NH_UPLINK, .port = TH_UPLINK,
						      .mtu = 1500, .ip = pb_addr("198.18.0.2"),
						      .neigh = (uint32_t)neigh_remote }));
	sl_fib_set(0, 0, nh((struct sl_nh){ .type = SL_NH_UPLINK, .port = TH_UPLINK, .mtu = 1500,
					    .ip = pb_addr("198.18.0.254"),
					    .neigh = (uint32_t)neigh_gw }));
	th_neigh_resolved(true);
	return 0;
}

static void set_neigh(int idx, struct rte_ether_addr mac, bool yes)
{
	uint64_t v = 0;
	memcpy(&v, &mac, 6);
	atomic_store(&sl_dp.neigh[idx].mac_state, yes ? v | SL_NEIGH_VALID : 0);
}

void th_neigh_resolved(bool yes)
{
	set_neigh(neigh_remote, th_remote_mac, yes);
	set_neigh(neigh_gw, th_gw254_mac, yes);
}

void th_inject(unsigned port, struct rte_mbuf *m)
{
	rte_ring_enqueue(rx_ring[port], m);
}

unsigned th_run(unsigned port, struct rte_mbuf *m, unsigned out, struct rte_mbuf **ret,
		unsigned n)
{
	if (m)
		rte_ring_enqueue(rx_ring[port], m);
	for (int i = 0; i < 4; i++) /* ICMP errors loop back through ip4-lookup */
		rte_graph_walk(sl_dp.workers[0].graph);
	return rte_ring_dequeue_burst(tx_ring[out], (void **)ret, n, NULL);
}

void th_drain(void)
{
	struct rte_mbuf *m;
	for (unsigned i = 0; i < TH_PORTS; i++) {
		while (rte_ring_dequeue(tx_ring[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (rte_ring_dequeue(rx_ring[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
}

void th_reset(void)
{
	th_drain();
	memset(sl_dp.workers[0].drops, 0, sizeof(sl_dp.workers[0].drops));
	th_neigh_resolved(true);
}

uint64_t th_drops(enum sl_drop_reason r)
{
	return sl_dp.workers[0].drops[r];
}

static int th_service(const char *vip, uint16_t port, uint8_t proto, const char *b1,
		      uint16_t p1, const char *b2, uint16_t p2)
{
	struct sl_lb_frontend fe = { .vip = pb_addr(vip), .port = htons(port), .proto = proto };
	struct sl_lb_backend b[2] = {
		{ .ip = b1 ? pb_addr(b1) : 0, .port = htons(p1) },
		{ .ip = b2 ? pb_addr(b2) : 0, .port = htons(p2) },
	};
	return sl_lb_service_set(&fe, b, b2 ? 2 : b1 ? 1 : 0, 0);
}

int th_lb_setup(void)
{
	struct sl_lb_conf c = { .max_services = 64, .ct = { .size = TH_CT_SIZE } };
	if (sl_lb_init(&c) < 0)
		return -1;
	return th_lb_setup_services();
}

int th_lb_setup_services(void)
{
	if (th_service("10.96.0.10", 80, IPPROTO_TCP, "10.244.1.3", 8080, NULL, 0) < 0 ||
	    th_service("10.96.0.10", 53, IPPROTO_UDP, "10.244.1.3", 5353, NULL, 0) < 0 ||
	    th_service("10.96.0.11", 80, IPPROTO_TCP, NULL, 0, NULL, 0) < 0 ||
	    th_service("10.96.0.12", 80, IPPROTO_TCP, "10.244.1.3", 8080, "10.244.2.2", 8080) < 0 ||
	    th_service("10.96.0.13", 80, IPPROTO_TCP, "10.244.2.2", 8080, NULL, 0) < 0 ||
	    th_service("10.96.0.10", 9000, IPPROTO_SCTP, "10.244.1.3", 9001, NULL, 0) < 0)
		return -1;
	return 0;
}

unsigned th_pool_avail(void)
{
	return rte_mempool_avail_count(sl_dp.pool);
}

static unsigned test_avail;

int th_test_setup(void **state)
{
	th_drain();
	test_avail = th_pool_avail();
	return 0;
}

int th_test_teardown(void **state)
{
	th_drain();
	unsigned now = th_pool_avail();
	if (now == test_avail)
		return 0;
	fprintf(stderr, "harness: %u free mbufs before the test, %u after: %s\n", test_avail,
		now, now < test_avail ? "leaked" : "freed twice");
	return -1;
}
