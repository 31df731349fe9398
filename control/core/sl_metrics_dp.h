/* The dataplane's and the model's metrics families and the workers' health check, registered
 * with core/sl_metrics.h. Families (labels):
 *   sluice_up, sluice_vxlan_info{vtep_ip,vtep_mac,vni,port},
 *   sluice_port_{rx,tx}_{packets,bytes}_total, sluice_port_tx_dropped_total,
 *   sluice_port_rx_spoofed_total {port,kind},
 *   sluice_drops_total{reason} (every reason, zeros included),
 *   sluice_graph_node_{packets,calls,cycles}_total{worker,node},
 *   sluice_worker_loops_total, sluice_worker_idle_loops_total{worker},
 *   sluice_conntrack_entries, sluice_conntrack_size, sluice_conntrack_insert_failed_total,
 *   sluice_services, sluice_lb_frontends, sluice_model_objects{kind},
 *   sluice_mbufs_available, sluice_mbufs_total, sluice_rcu_grace_periods_total.
 * Health: every worker's loop counter has moved within SL_METRICS_WORKER_STALL_S (measured
 * between /healthz calls; idle workers sleep at most workers.idle_sleep_max_us).
 * Control thread only. */
#pragma once

#include "model/sl_model.h"

#define SL_METRICS_WORKER_STALL_S 10

/* Register the collectors and the health check; m is the model the counts come from. */
int sl_metrics_dp_register(struct sl_model *m);
