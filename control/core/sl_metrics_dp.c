/* The dataplane's metrics and the workers' health check (see sl_metrics_dp.h). */
#include <stdio.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "core/sl_metrics.h"
#include "dataplane/core/sl_dp.h"
#include "dataplane/core/sl_worker.h"
#include "dataplane/ct/ct.h"
#include "dataplane/lb/lb_table.h"
#include "net/sl_net.h"
#include "sl_config.h"
#include "sl_metrics_dp.h"

static struct sl_model *model;

static const char *kind_name(enum sl_port_kind k)
{
	return k == SL_PORT_UPLINK ? "uplink" : k == SL_PORT_HOST ? "host" :
	       k == SL_PORT_VHOST ? "vhost-user" : k == SL_PORT_TAP ? "tap" : "af_xdp";
}

static void collect_node(void *arg, struct sl_metrics_buf *b)
{
	const struct sl_config *c = sl_net_conf();
	char ip[16], mac[RTE_ETHER_ADDR_FMT_SIZE], vni[12], port[8];
	uint8_t m[6];
	sl_metrics_family(b, "sluice_up", SL_METRICS_GAUGE, "1 while sluiced serves metrics.");
	sl_metrics_sample(b, "sluice_up", NULL, 1);
	sl_net_vtep_mac(m);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]); /* lower case, as flannel (Go) writes VtepMAC */
	snprintf(vni, sizeof(vni), "%u", c->vni);
	snprintf(port, sizeof(port), "%u", c->vxlan_port);
	sl_metrics_family(b, "sluice_vxlan_info", SL_METRICS_GAUGE,
			  "This node's VTEP, as other nodes must address it (flannel backend-data).");
	sl_metrics_sample(b, "sluice_vxlan_info",
			  (const char *[]){ "vtep_ip", sl_fmt_ip4(c->node_ip.v4, ip), "vtep_mac",
					    mac, "vni", vni, "port", port, NULL },
			  1);
}

/* Port counters: one family per counter, every port in it. */
static void collect_ports(void *arg, struct sl_metrics_buf *b)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} f[] = {
		{ "sluice_port_rx_packets_total", "Packets received on the port.",
		  offsetof(struct sl_port_stats, rx_packets) },
		{ "sluice_port_rx_bytes_total", "Bytes received on the port.",
		  offsetof(struct sl_port_stats, rx_bytes) },
		{ "sluice_port_tx_packets_total", "Packets sent on the port.",
		  offsetof(struct sl_port_stats, tx_packets) },
		{ "sluice_port_tx_bytes_total", "Bytes sent on the port.",
		  offsetof(struct sl_port_stats, tx_bytes) },
		{ "sluice_port_tx_dropped_total", "Packets the port could not send (queue full).",
		  offsetof(struct sl_port_stats, tx_dropped) },
		{ "sluice_port_rx_spoofed_total",
		  "Pod frames not carrying the pod's own source IP/MAC (dropped).",
		  offsetof(struct sl_port_stats, rx_spoofed) },
	};
	for (unsigned k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
		sl_metrics_family(b, f[k].name, SL_METRICS_COUNTER, f[k].help);
		for (unsigned i = 0; i < SL_MAX_PORTS; i++) {
			const struct sl_port *p = sl_dp.ports[i];
			if (!p)
				continue;
			uint64_t sum = 0;
			for (unsigned w = 0; w < sl_dp.n_workers; w++)
				sum += *(const uint64_t *)((const char *)&p->stats[w] + f[k].off);
			sl_metrics_sample_u64(b, f[k].name,
					      (const char *[]){ "port", p->name, "kind",
								kind_name(p->kind), NULL },
					      sum);
		}
	}
}

static void collect_drops(void *arg, struct sl_metrics_buf *b)
{
	sl_metrics_family(b, "sluice_drops_total", SL_METRICS_COUNTER,
			  "Packets the dataplane dropped, by reason (sluicectl show drops).");
	for (unsigned r = 0; r < SL_DROP_COUNT; r++) {
		uint64_t sum = 0;
		for (unsigned w = 0; w < sl_dp.n_workers; w++)
			sum += sl_dp.workers[w].drops[r];
		sl_metrics_sample_u64(b, "sluice_drops_total",
				      (const char *[]){ "reason", sl_drop_name(r), NULL }, sum);
	}
}

/* Graph nodes and workers. The node statistics are read once per worker for all three
 * families (rte_graph cluster stats: a walk of the worker's graph). */
static void collect_graph(void *arg, struct sl_metrics_buf *b)
{
	static struct sl_node_stats ns[SL_MAX_WORKERS][128];
	static const char *const fam[3] = { "sluice_graph_node_packets_total",
					    "sluice_graph_node_calls_total",
					    "sluice_graph_node_cycles_total" };
	static const char *const help[3] = {
		"Packets the graph node processed.", "Times the graph node ran with packets.",
		"TSC cycles the graph node spent." };
	int n[SL_MAX_WORKERS];
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		n[w] = sl_worker_graph_stats(&sl_dp.workers[w], ns[w], 128);
	for (unsigned k = 0; k < 3; k++) {
		sl_metrics_family(b, fam[k], SL_METRICS_COUNTER, help[k]);
		for (unsigned w = 0; w < sl_dp.n_workers; w++) {
			char wid[8];
			snprintf(wid, sizeof(wid), "%u", w);
			for (int i = 0; i < n[w]; i++) {
				uint64_t v = k == 0 ? ns[w][i].objs : k == 1 ? ns[w][i].calls
									    : ns[w][i].cycles;
				sl_metrics_sample_u64(b, fam[k],
						      (const char *[]){ "worker", wid, "node",
									ns[w][i].name, NULL },
						      v);
			}
		}
	}
	sl_metrics_family(b, "sluice_worker_loops_total", SL_METRICS_COUNTER,
			  "Polling loops the worker ran.");
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		char wid[8];
		snprintf(wid, sizeof(wid), "%u", w);
		sl_metrics_sample_u64(b, "sluice_worker_loops_total",
				      (const char *[]){ "worker", wid, NULL }, sl_dp.workers[w].loops);
	}
	sl_metrics_family(b, "sluice_worker_idle_loops_total", SL_METRICS_COUNTER,
			  "Polling loops that received nothing.");
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		char wid[8];
		snprintf(wid, sizeof(wid), "%u", w);
		sl_metrics_sample_u64(b, "sluice_worker_idle_loops_total",
				      (const char *[]){ "worker", wid, NULL },
				      sl_dp.workers[w].idle_loops);
	}
}

static void collect_tables(void *arg, struct sl_metrics_buf *b)
{
	bool lb = sl_lb.services != NULL; /* conntrack exists once a Service does */
	struct sl_model_counts mc;
	sl_model_counts(model, &mc);
	sl_metrics_family(b, "sluice_conntrack_entries", SL_METRICS_GAUGE,
			  "Conntrack flows held (Services).");
	sl_metrics_sample(b, "sluice_conntrack_entries", NULL, lb ? sl_ct_count() : 0);
	sl_metrics_family(b, "sluice_conntrack_size", SL_METRICS_GAUGE,
			  "Conntrack flows the table can hold (0: no table yet).");
	sl_metrics_sample(b, "sluice_conntrack_size", NULL, lb ? sl_ct.conf.size : 0);
	sl_metrics_family(b, "sluice_conntrack_insert_failed_total", SL_METRICS_COUNTER,
			  "New flows refused because the conntrack table was full.");
	sl_metrics_sample_u64(b, "sluice_conntrack_insert_failed_total", NULL,
			      lb ? atomic_load(&sl_ct.insert_failed) : 0);
	sl_metrics_family(b, "sluice_services", SL_METRICS_GAUGE, "Services in the model.");
	sl_metrics_sample(b, "sluice_services", NULL, mc.services);
	sl_metrics_family(b, "sluice_lb_frontends", SL_METRICS_GAUGE,
			  "Service frontends (VIP, port, protocol) in the dataplane.");
	sl_metrics_sample(b, "sluice_lb_frontends", NULL, lb ? sl_lb.n_services : 0);
	sl_metrics_family(b, "sluice_model_objects", SL_METRICS_GAUGE,
			  "Objects in the model, by kind.");
	static const char *const kinds[] = { "pods", "nodes", "routes", "services",
					     "endpointslices" };
	unsigned v[] = { mc.pods, mc.nodes, mc.routes, mc.services, mc.slices };
	for (unsigned k = 0; k < 5; k++)
		sl_metrics_sample(b, "sluice_model_objects",
				  (const char *[]){ "kind", kinds[k], NULL }, v[k]);
	sl_metrics_family(b, "sluice_mbufs_available", SL_METRICS_GAUGE,
			  "Free packet buffers (pool and lcore caches).");
	sl_metrics_sample(b, "sluice_mbufs_available", NULL, rte_mempool_avail_count(sl_dp.pool));
	sl_metrics_family(b, "sluice_mbufs_total", SL_METRICS_GAUGE, "Packet buffers in all.");
	sl_metrics_sample(b, "sluice_mbufs_total", NULL, sl_dp.pool->size);
	sl_metrics_family(b, "sluice_rcu_grace_periods_total", SL_METRICS_COUNTER,
			  "Grace periods the control thread waited for.");
	sl_metrics_sample_u64(b, "sluice_rcu_grace_periods_total", NULL, sl_dp.grace_periods);
	/* The next-hop and neighbour tables ("limits"), and the ARP requests control sends. */
	static const char *const tables[] = { "next_hops", "neighbours" };
	uint64_t used[] = { sl_dp.nh_in_use, sl_dp.neigh_in_use },
		 size[] = { sl_dp.nh_max, sl_dp.neigh_max },
		 refused[] = { sl_dp.nh_refused, sl_dp.neigh_refused };
	sl_metrics_family(b, "sluice_table_entries", SL_METRICS_GAUGE,
			  "Entries taken in a dataplane table (sized by limits.nodes/routes).");
	for (unsigned t = 0; t < 2; t++)
		sl_metrics_sample_u64(b, "sluice_table_entries",
				      (const char *[]){ "table", tables[t], NULL }, used[t]);
	sl_metrics_family(b, "sluice_table_size", SL_METRICS_GAUGE,
			  "Capacity of a dataplane table.");
	for (unsigned t = 0; t < 2; t++)
		sl_metrics_sample_u64(b, "sluice_table_size",
				      (const char *[]){ "table", tables[t], NULL }, size[t]);
	sl_metrics_family(b, "sluice_table_refused_total", SL_METRICS_COUNTER,
			  "Entries refused because a dataplane table was full.");
	for (unsigned t = 0; t < 2; t++)
		sl_metrics_sample_u64(b, "sluice_table_refused_total",
				      (const char *[]){ "table", tables[t], NULL }, refused[t]);
	struct sl_arp_stats as;
	sl_net_arp_stats(&as);
	sl_metrics_family(b, "sluice_arp_requests_total", SL_METRICS_COUNTER,
			  "ARP requests control sent for uplink neighbours.");
	sl_metrics_sample_u64(b, "sluice_arp_requests_total", NULL, as.requests);
	sl_metrics_family(b, "sluice_arp_requests_deferred_total", SL_METRICS_COUNTER,
			  "Neighbour ticks that left due ARP requests for the next (rate limit).");
	sl_metrics_sample_u64(b, "sluice_arp_requests_deferred_total", NULL, as.deferred);
	struct sl_tap_attach_stats ta;
	sl_net_tap_attach_stats(&ta);
	sl_metrics_family(b, "sluice_tap_reattach_total", SL_METRICS_COUNTER,
			  "Tap pods re-added from the state file, by result (reattached, gone, "
			  "refused).");
	const uint64_t tv[3] = { ta.reattached, ta.gone, ta.refused };
	static const char *const tr[3] = { "reattached", "gone", "refused" };
	for (unsigned i = 0; i < 3; i++)
		sl_metrics_sample_u64(b, "sluice_tap_reattach_total",
				      (const char *[]){ "result", tr[i], NULL }, tv[i]);
}

/* A worker whose loop counter stands still for SL_METRICS_WORKER_STALL_S is stuck. */
static const char *workers_health(void *arg)
{
	static uint64_t last_loops[SL_MAX_WORKERS], last_change_ns[SL_MAX_WORKERS];
	static char why[96];
	uint64_t now = sl_loop_now_ns();
	const char *bad = NULL;
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		uint64_t l = sl_dp.workers[w].loops;
		if (l != last_loops[w] || !last_change_ns[w]) {
			last_loops[w] = l;
			last_change_ns[w] = now;
		} else if (!bad && now - last_change_ns[w] > SL_METRICS_WORKER_STALL_S * 1000000000ull) {
			snprintf(why, sizeof(why), "worker %u has not polled for %.0f s", w,
				 (double)(now - last_change_ns[w]) / 1e9);
			bad = why;
		}
	}
	return bad;
}

int sl_metrics_dp_register(struct sl_model *m)
{
	model = m;
	int rc = sl_metrics_register(collect_node, NULL);
	rc = rc ?: sl_metrics_register(collect_ports, NULL);
	rc = rc ?: sl_metrics_register(collect_drops, NULL);
	rc = rc ?: sl_metrics_register(collect_graph, NULL);
	rc = rc ?: sl_metrics_register(collect_tables, NULL);
	return rc ?: sl_metrics_health_register(workers_health, NULL);
}
