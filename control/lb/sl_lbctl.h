/* The Services reconciler: turns each Service the model resolves (control/model/
 * sl_service.h, its endpoint selection) into the dataplane's Service table
 * (dataplane/lb/lb_table.h): one frontend per cluster IP, external IP and load-balancer
 * IP, and Service port, with the backends kube-proxy would use for it. Registered as the
 * model's svc hooks. The Service and conntrack tables are created with the first Service,
 * so a node without Services spends no memory on them. Control thread only. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/sl_loop.h"
#include "model/sl_model.h"

struct sl_lb_counters;

/* Set the svc hooks in h. ct_size: conntrack entries (0: the default, 1,048,576). */
void sl_lbctl_hooks(struct sl_model_hooks *h, uint32_t ct_size);
/* Conntrack ageing on loop (a timer); call once the loop exists. */
void sl_lbctl_start(struct sl_loop *loop);
/* Free the tables (workers stopped, model destroyed, loop destroyed, sl_dp_drain done). */
void sl_lbctl_fini(void);
/* The counters of every frontend Service ms has installed, summed into *ret (zero when it
 * has none). Control thread. */
void sl_lbctl_svc_counters(const struct sl_model_svc *ms, struct sl_lb_counters *ret);
