/* The Services reconciler: turns each Service the model resolves (control/model/
 * sl_service.h, its endpoint selection) into the dataplane's Service table
 * (dataplane/lb/lb_table.h): one frontend per cluster IP, external IP, load-balancer IP
 * and Service port, and one per node port on the node address, with the backends kube-proxy
 * would use for it. Registered as the
 * model's svc hooks. The Service and conntrack tables are created with the first Service,
 * so a node without Services spends no memory on them. Control thread only. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/sl_loop.h"
#include "model/sl_model.h"

struct sl_lb_counters;

struct sl_lbctl_conf {
	uint32_t ct_size;            /* conntrack entries (0: the default, 1,048,576) */
	uint32_t node_ip;            /* node ports listen here; network order */
	uint16_t node_port_lo, node_port_hi; /* nodePorts must fall in [lo, hi] */
	uint16_t snat_port_lo, snat_port_hi; /* 0, 0: the default (lb_table.h) */
	bool masquerade;             /* pod egress outside cluster_cidr leaves from node_ip */
	struct sl_cidr cluster_cidr;
	/* Threads that build a large batch's Maglev tables besides the control thread
	 * (dataplane/lb/lb_prebuild.h): n, or -1 for one per core left to control threads
	 * besides the main lcore's (one on any core at SCHED_IDLE when there is none); 0:
	 * none. */
	int maglev_threads;
};

/* Set the svc hooks in h. */
void sl_lbctl_hooks(struct sl_model_hooks *h, const struct sl_lbctl_conf *conf);
/* Conntrack ageing on loop (a timer); with masquerade on, the tables are created now rather
 * than with the first Service. Call once the loop exists. Returns 0 or -errno with err
 * set. */
int sl_lbctl_start(struct sl_loop *loop, char *err, size_t errlen);
/* Free the tables (workers stopped, model destroyed, loop destroyed, sl_dp_drain done). */
void sl_lbctl_fini(void);
/* The counters of every frontend Service ms has installed, summed into *ret (zero when it
 * has none). Control thread. */
void sl_lbctl_svc_counters(const struct sl_model_svc *ms, struct sl_lb_counters *ret);
/* Create the Service and conntrack tables now if they are not yet (for frontends that are
 * not Services: sl_hostport). Returns 0 or -errno with err set. Control thread. */
int sl_lbctl_tables_up(char *err, size_t errlen);
