/* The `show` tables and node facts for the API (see sl_show.h). */
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "core/sl_cmd.h"
#include "dataplane/core/sl_dp.h"
#include "dataplane/core/sl_worker.h"
#include "dataplane/lb/lb_affinity.h"
#include "policy/sl_policy_sync.h"
#include "dataplane/lb/lb_stats.h"
#include "dataplane/lb/lb_prebuild.h"
#include "dataplane/lb/lb_table.h"
#include "lb/sl_lbctl.h"
#include "drivers/sl_vhost.h"
#include "lb/sl_healthcheck.h"
#include "net/sl_net.h"
#include "net/sl_ports.h"
#include "sl_show.h"
#include "sl_cpus.h"
#include "k8s/sl_kube_sync.h"
#include "sl_show_svc.h"
#include "sl_show_pol.h"

static struct sl_model *model;

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

void sl_show_init(struct sl_model *m)
{
	model = m;
}

void sl_show_describe(cJSON *o)
{
	const struct sl_config *c = sl_net_conf();
	char b[SL_IP_STR_MAX], p[SL_CIDR_STR_MAX];
	struct sl_model_counts mc;
	sl_model_counts(model, &mc);
	cJSON_AddStringToObject(o, "node", c->node_name);
	cJSON_AddStringToObject(o, "pod_cidr", sl_cidr_fmt(c->pod_cidr, p));
	cJSON_AddStringToObject(o, "gateway", sl_ip_fmt(c->gateway_ip, b));
	cJSON_AddNumberToObject(o, "pod_mtu", c->pod_mtu);
	/* sluice-cni leaves the pods' checksum offload on in "skb" mode (cni/main.c). */
	cJSON_AddStringToObject(o, "af_xdp_mode", c->xsk_skb_mode ? "skb" : "native");
	/* sluice-cni's kernel pod interface when the pod's network names none. */
	cJSON_AddStringToObject(o, "pod_interface", c->pod_iface_tap ? "tap" : "veth");
	/* sluice-cni writes it to a tap pod's rps_cpus (drivers/sl_tap.h "Receive steering"). */
	if (CPU_COUNT(&c->tap_rps_cpus)) {
		char mask[SL_CPUS_MASK_MAX];
		cJSON_AddStringToObject(o, "tap_rps_cpus", sl_cpus_mask_fmt(&c->tap_rps_cpus, mask));
	}
	cJSON_AddNumberToObject(o, "pods", mc.pods);
}


static void add_mac(cJSON *o, const char *k, const void *mac)
{
	char b[18];
	rte_ether_format_addr(b, sizeof(b), (const struct rte_ether_addr *)mac);
	cJSON_AddStringToObject(o, k, b);
}

static void add_ip4(cJSON *o, const char *k, uint32_t ip)
{
	char b[16];
	cJSON_AddStringToObject(o, k, sl_fmt_ip4(ip, b));
}

static void add_ip(cJSON *o, const char *k, struct sl_ip ip)
{
	char b[SL_IP_STR_MAX];
	cJSON_AddStringToObject(o, k, sl_ip_fmt(ip, b));
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
	char b[SL_CIDR_STR_MAX];
	cJSON_AddStringToObject(o, k, sl_cidr_fmt(c, b));
}

static const char *kind_name(enum sl_port_kind k)
{
	return k == SL_PORT_UPLINK ? "uplink" : k == SL_PORT_HOST ? "host" :
	       k == SL_PORT_VHOST ? "vhost-user" : k == SL_PORT_TAP ? "tap" : "af_xdp";
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
	struct sl_model_pod *p;
	for (uint32_t i = 0; (p = sl_model_pod_next(model, &i));) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", p->spec.namespace);
		cJSON_AddStringToObject(o, "name", p->spec.name);
		add_ip(o, "ip", p->spec.ip);
		add_mac(o, "mac", p->spec.mac);
		cJSON_AddStringToObject(o, "ifname", p->spec.ifname);
		struct sl_port *port = sl_net_pod_port(p);
		cJSON_AddNumberToObject(o, "port", port ? port->id : -1);
		bool vhost = port && port->vhost;
		struct sl_vhost_status vs = {0};
		if (vhost)
			sl_vhost_status(port->vhost, &vs);
		/* vhost-user: the queue pairs the guest enabled; tap: one per worker (or one);
		 * AF_XDP: one socket. */
		cJSON_AddNumberToObject(o, "queues", vhost ? sl_vhost_queue_pairs(port->vhost)
						     : port && port->tap_queue ? sl_dp.n_workers : 1);
		/* vhost-user: connections refused because the port already had one (a pod trying
		 * to take over another's attachment). */
		cJSON_AddNumberToObject(o, "refused", vhost ? (double)sl_vhost_refused(port->vhost) : 0);
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
	struct sl_model_pod *p;
	for (uint32_t i = 0; (p = sl_model_pod_next(model, &i));) {
		struct sl_port *port = sl_net_pod_port(p);
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
	struct sl_model_node *n;
	for (uint32_t i = 0; (n = sl_model_node_next(model, &i));) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", n->spec.name);
		add_ip(o, "ip", n->spec.ip);
		add_cidr(o, "pod_cidr", n->spec.pod_cidr);
		cJSON_AddStringToObject(o, "vtep", neigh_state(&sl_dp.neigh[sl_net_node_neigh(n)]));
		if (n->spec.has_vtep_mac) /* a VTEP with a MAC of its own (flannel) */
			add_mac(o, "vtep_mac", n->spec.vtep_mac);
		else /* every row has the column (tables are positional) */
			cJSON_AddStringToObject(o, "vtep_mac", "-");
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
	const struct sl_config *c = sl_net_conf();
	cJSON *a = cJSON_CreateArray();
	char b[SL_NAME_MAX * 2 + 2], ipb[SL_IP_STR_MAX];
	route_row(a, c->pod_cidr, "unreachable", "no such pod");
	route_row(a, sl_cidr_host(c->gateway_ip), "local", "pod gateway");
	route_row(a, sl_cidr_host(c->node_ip), c->host_enabled ? "host" : "local", c->host_ifname);
	struct sl_model_pod *p;
	for (uint32_t i = 0; (p = sl_model_pod_next(model, &i));) {
		snprintf(b, sizeof(b), "%s/%s", p->spec.namespace, p->spec.name);
		route_row(a, sl_cidr_host(p->spec.ip), "pod", b);
	}
	struct sl_model_node *n;
	for (uint32_t i = 0; (n = sl_model_node_next(model, &i));) {
		snprintf(b, sizeof(b), "vxlan %s vni %u", sl_ip_fmt(n->spec.ip, ipb), c->vni);
		route_row(a, n->spec.pod_cidr, "vxlan", b);
		route_row(a, sl_cidr_host(n->spec.ip), "uplink", sl_ip_fmt(n->spec.ip, ipb));
	}
	struct sl_model_route *r;
	for (uint32_t i = 0; (r = sl_model_route_next(model, &i));)
		route_row(a, r->spec.prefix, "uplink", sl_ip_fmt(r->spec.via, ipb));
	return a;
}

static cJSON *show_neighbors(void)
{
	cJSON *a = cJSON_CreateArray();
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	for (unsigned i = 0; i < sl_dp.neigh_hwm; i++) {
		struct sl_neigh *n = &sl_dp.neigh[i];
		if (!n->refs)
			continue;
		uint64_t ms = atomic_load(&n->mac_state), up = atomic_load(&n->updated_tsc);
		cJSON *o = cJSON_CreateObject();
		add_ip4(o, "ip", n->ip);
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
		/* How an idle worker sleeps (dataplane/core/sl_worker.c idle_wait). */
		cJSON_AddStringToObject(o, "idle_wait", l && l->wait_on_taps ? "taps" : "sleep");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void add_queue(cJSON *a, const char *port, uint16_t q, double rx_packets)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "port", port);
	cJSON_AddNumberToObject(o, "queue", q);
	cJSON_AddNumberToObject(o, "worker", sl_port_uplink_queue_worker(q));
	cJSON_AddNumberToObject(o, "rx_packets", rx_packets);
	cJSON_AddItemToArray(a, o);
}

/* One row per receive queue of an ethdev port (the uplink's RSS queues, the host port) or
 * of a tap with a queue per worker (the uplink, pods): the worker that polls it and the
 * packets the device counted on it (a tap's: what its worker received there). */
static cJSON *show_queues(void)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < SL_MAX_PORTS; i++) {
		const struct sl_port *p = sl_dp.ports[i];
		struct rte_eth_stats es;
		if (p && p->tap && (p->kind == SL_PORT_UPLINK || p->tap_queue)) {
			uint16_t nq = p->kind == SL_PORT_UPLINK ? sl_port_uplink_rx_queues()
								: (uint16_t)sl_dp.n_workers;
			for (uint16_t q = 0; q < nq; q++)
				add_queue(a, p->name, q, (double)p->stats[q].rx_packets);
			continue;
		}
		if (!p || p->xsk || p->vhost || p->tap || rte_eth_stats_get(p->eth_port, &es) != 0)
			continue;
		uint16_t nq = p->kind == SL_PORT_UPLINK ? sl_port_uplink_rx_queues() : 1;
		for (uint16_t q = 0; q < nq && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
			add_queue(a, p->name, q, (double)es.q_ipackets[q]);
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

/* The model's view of the Services (sl_show_services) with each one's traffic: its
 * frontends' counters summed (dataplane/lb/lb_stats.h). */
static cJSON *show_services(void)
{
	cJSON *a = sl_show_services(model), *row;
	cJSON_ArrayForEach(row, a)
	{
		const cJSON *ns = cJSON_GetObjectItem(row, "namespace");
		const cJSON *nm = cJSON_GetObjectItem(row, "name");
		struct sl_model_svc *ms = sl_model_svc_find(model, ns->valuestring, nm->valuestring);
		struct sl_lb_counters c = { 0 };
		if (ms)
			sl_lbctl_svc_counters(ms, &c);
		cJSON_AddNumberToObject(row, "fwd_packets", (double)c.fwd_packets);
		cJSON_AddNumberToObject(row, "fwd_bytes", (double)c.fwd_bytes);
		cJSON_AddNumberToObject(row, "rev_packets", (double)c.rev_packets);
		cJSON_AddNumberToObject(row, "rev_bytes", (double)c.rev_bytes);
		cJSON_AddNumberToObject(row, "new_flows", (double)c.new_flows);
		cJSON_AddNumberToObject(row, "rejects", (double)c.rejects);
		cJSON_AddNumberToObject(row, "drop_none", (double)c.drop_none);
		cJSON_AddNumberToObject(row, "drop_ct_full", (double)c.drop_ct_full);
	}
	return a;
}

cJSON *sl_show(const char *what, char *err, size_t errlen)
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
	if (!strcmp(what, "services"))
		return show_services();
	if (!strcmp(what, "backends"))
		return sl_show_backends(model);
	if (!strcmp(what, "policies"))
		return sl_policy_sync_add_counters(sl_show_policies(model));
	if (!strcmp(what, "sync")) /* the Kubernetes sync; [] when it is off */
		return sl_kube_sync_show();
	if (!strcmp(what, "stats")) {
		cJSON *o = cJSON_CreateObject();
		struct sl_model_counts mc;
		sl_model_counts(model, &mc);
		cJSON_AddStringToObject(o, "node", sl_net_conf()->node_name);
		cJSON_AddNumberToObject(o, "pods", mc.pods);
		cJSON *mb = cJSON_AddObjectToObject(o, "mbufs");
		cJSON_AddNumberToObject(mb, "total", sl_dp.pool->size);
		cJSON_AddNumberToObject(mb, "available", rte_mempool_avail_count(sl_dp.pool));
		/* the DPDK heap (every socket): the tables' and pools' memory */
		struct rte_malloc_socket_stats ms;
		uint64_t heap_alloc = 0, heap_total = 0;
		for (unsigned i = 0; i < rte_socket_count(); i++)
			if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &ms) == 0) {
				heap_alloc += ms.heap_allocsz_bytes;
				heap_total += ms.heap_totalsz_bytes;
			}
		cJSON *mem = cJSON_AddObjectToObject(o, "memory");
		cJSON_AddNumberToObject(mem, "dpdk_heap_alloc_bytes", (double)heap_alloc);
		cJSON_AddNumberToObject(mem, "dpdk_heap_total_bytes", (double)heap_total);
		if (sl_lb.services) { /* created with the first Service */
			cJSON *ct = cJSON_AddObjectToObject(o, "conntrack");
			cJSON_AddNumberToObject(ct, "entries", sl_ct_count());
			cJSON_AddNumberToObject(ct, "size", sl_ct.conf.size);
			cJSON_AddNumberToObject(ct, "insert_failed", (double)atomic_load(&sl_ct.insert_failed));
			cJSON_AddNumberToObject(ct, "aged", (double)sl_ct.aged);
			cJSON_AddNumberToObject(ct, "flushed", (double)sl_ct.flushed);
			cJSON_AddNumberToObject(ct, "frontends", sl_lb.n_services);
			cJSON_AddNumberToObject(ct, "marked_gone", (double)sl_ct.marked_gone);
			cJSON *af = cJSON_AddObjectToObject(o, "affinity");
			cJSON_AddNumberToObject(af, "size", sl_lb_aff.size);
			cJSON_AddNumberToObject(af, "hits", (double)atomic_load(&sl_lb_aff.hits));
			cJSON_AddNumberToObject(af, "full", (double)atomic_load(&sl_lb_aff.full));
			cJSON_AddNumberToObject(af, "aged", (double)sl_lb_aff.aged);
			cJSON_AddNumberToObject(ct, "occupancy_pct",
						(double)(int)((double)sl_ct_count() * 1e4 /
							      sl_ct.conf.size) / 100);
			cJSON *lb = cJSON_AddObjectToObject(o, "lb");
			cJSON_AddNumberToObject(lb, "frontends", sl_lb.n_services);
			cJSON_AddNumberToObject(lb, "max_frontends", sl_lb.max_services);
			cJSON_AddNumberToObject(lb, "sets", (double)sl_lb.sets);
			cJSON_AddNumberToObject(lb, "dels", (double)sl_lb.dels);
			cJSON_AddNumberToObject(lb, "rejects", (double)sl_lb.rejects);
			cJSON_AddNumberToObject(lb, "counter_bytes", (double)sl_lb_stats_memsize());
			struct sl_lb_prebuild_stats ps;
			sl_lb_prebuild_get_stats(&ps);
			/* Maglev tables built ahead (lb_prebuild.h) */
			cJSON_AddNumberToObject(lb, "maglev_builders", sl_lb_prebuild_thread_count());
			cJSON_AddNumberToObject(lb, "maglev_ahead", (double)ps.noted);
			cJSON_AddNumberToObject(lb, "maglev_ahead_by_builders", (double)ps.by_builders);
			cJSON_AddNumberToObject(lb, "maglev_ahead_used", (double)ps.used);
			cJSON_AddNumberToObject(lb, "maglev_ahead_late", (double)ps.late);
		}
		struct sl_healthcheck_stats hs;
		sl_healthcheck_get_stats(&hs);
		if (hs.services || hs.bind_failed) { /* health-check NodePorts (Local policy) */
			cJSON *h = cJSON_AddObjectToObject(o, "healthcheck");
			cJSON_AddNumberToObject(h, "services", hs.services);
			cJSON_AddNumberToObject(h, "listening", hs.listening);
			cJSON_AddNumberToObject(h, "bind_failed", (double)hs.bind_failed);
			cJSON_AddNumberToObject(h, "requests", (double)hs.requests);
		}
		struct sl_tap_attach_stats ta; /* tap pods re-added from the state file */
		sl_net_tap_attach_stats(&ta);
		cJSON *tj = cJSON_AddObjectToObject(o, "tap_reattach");
		cJSON_AddNumberToObject(tj, "reattached", (double)ta.reattached);
		cJSON_AddNumberToObject(tj, "gone", (double)ta.gone);
		cJSON_AddNumberToObject(tj, "refused", (double)ta.refused);
		cJSON *vx = cJSON_AddObjectToObject(o, "vxlan"); /* what peers need to reach us */
		uint8_t vm[6];
		char bd[96];
		sl_net_vtep_mac(vm);
		sl_net_flannel_backend_data(bd, sizeof(bd));
		cJSON_AddNumberToObject(vx, "vni", sl_net_conf()->vni);
		cJSON_AddNumberToObject(vx, "port", sl_net_conf()->vxlan_port);
		add_mac(vx, "vtep_mac", vm);
		cJSON_AddStringToObject(vx, "flannel_backend_data", bd);
		sl_policy_sync_show(o);
		cJSON *rcu = cJSON_AddObjectToObject(o, "rcu");
		cJSON_AddNumberToObject(rcu, "grace_periods", (double)sl_dp.grace_periods);
		cJSON_AddNumberToObject(rcu, "wait_ms",
					(double)sl_dp.grace_wait_cycles * 1e3 / (double)rte_get_tsc_hz());
		cJSON_AddNumberToObject(rcu, "deferred", sl_dp.deferred_pending);
		cJSON *tb = cJSON_AddObjectToObject(o, "tables"); /* sized by "limits" */
		cJSON *t = cJSON_AddObjectToObject(tb, "next_hops");
		cJSON_AddNumberToObject(t, "used", sl_dp.nh_in_use);
		cJSON_AddNumberToObject(t, "max", sl_dp.nh_max);
		cJSON_AddNumberToObject(t, "refused", (double)sl_dp.nh_refused);
		t = cJSON_AddObjectToObject(tb, "neighbours");
		cJSON_AddNumberToObject(t, "used", sl_dp.neigh_in_use);
		cJSON_AddNumberToObject(t, "max", sl_dp.neigh_max);
		cJSON_AddNumberToObject(t, "refused", (double)sl_dp.neigh_refused);
		struct sl_arp_stats as;
		sl_net_arp_stats(&as);
		cJSON *arp = cJSON_AddObjectToObject(o, "arp"); /* requests control sent */
		cJSON_AddNumberToObject(arp, "requests", (double)as.requests);
		cJSON_AddNumberToObject(arp, "deferred", (double)as.deferred);
		cJSON_AddNumberToObject(arp, "failed", (double)as.failed);
		cJSON *mo = cJSON_AddObjectToObject(o, "model");
		cJSON_AddNumberToObject(mo, "pods", mc.pods);
		cJSON_AddNumberToObject(mo, "nodes", mc.nodes);
		cJSON_AddNumberToObject(mo, "routes", mc.routes);
		cJSON_AddNumberToObject(mo, "services", mc.services);
		cJSON_AddNumberToObject(mo, "endpointslices", mc.slices);
		cJSON_AddNumberToObject(mo, "bytes", (double)mc.bytes);
		cJSON_AddItemToObject(o, "ports", show_ports());
		cJSON_AddItemToObject(o, "drops", show_drops(false));
		return o;
	}
	ERR("what: unknown table '%.32s' (%s)", what, SL_SHOW_LIST);
	return NULL;
}
