/* hostPort natively (CNI portMappings): each host port of a pod attached on this node is a
 * frontend (node address, host_port, protocol) in the Service table with one backend, the
 * pod's address and container_port. So the node port reaches the pod from other nodes,
 * other pods and the underlay without portmap's iptables rules; established flows and
 * replies go through conntrack like a NodePort's. A frontend a Service already holds is
 * never replaced: the pod add is refused (and sl_lbctl refuses a Service frontend a host
 * port holds, through sl_hostport_holds). Control thread only. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "model/sl_model.h"

struct sl_lb_frontend;

/* Wrap the pod hooks already in h (sl_net_hooks' first): pod_add runs them, then installs
 * the pod's host ports (undoing the pod when that fails); pod_del removes the host ports,
 * then runs them. node_ip: the node address, network order (0: host ports refused). */
void sl_hostport_hooks(struct sl_model_hooks *h, uint32_t node_ip);

/* Whether fe is a host port installed for a pod (from sl_lbctl before it sets a Service's
 * frontend). */
bool sl_hostport_holds(const struct sl_lb_frontend *fe);
