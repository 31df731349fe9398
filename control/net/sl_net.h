/* The reconciler: turns model changes (control/model/) into dataplane table changes (ports,
 * next hops, FIB, neighbours), published without stopping or waiting for the workers
 * (sl_dp_defer). It installs the node's own routes; its hooks are the model's pod, node and
 * route hooks. Control thread only. */
#pragma once
#include <stddef.h>

#include <cjson/cJSON.h>

#include "model/sl_model.h"
#include "sl_config.h"

#define SL_MAX_PODS 1000 /* pods with a port on this node */

/* Open the ports and install the base routes. c is copied. Workers must be set up
 * (sl_dp_init) but may run. Returns 0 or -errno with err set. */
int sl_net_init(const struct sl_config *c, char *err, size_t errlen);
/* Set the pod, node and route hooks in h (for sl_model_set_hooks). */
void sl_net_hooks(struct sl_model_hooks *h);
/* Close the ports (after the model's objects were deleted and workers stopped). */
void sl_net_fini(void);
/* The configuration the reconciler runs with (uplink queues as opened). */
const struct sl_config *sl_net_conf(void);
/* The dataplane port of a pod in the model, or NULL. */
struct sl_port *sl_net_pod_port(const struct sl_model_pod *p);
/* Our VTEP's own MAC: vxlan.vtep_mac when configured, else the uplink's MAC (zero before
 * the uplink is open). The inner source of what we encapsulate; what other nodes must use
 * as the inner destination (a flannel node: our backend-data VtepMAC). Control thread. */
void sl_net_vtep_mac(uint8_t ret_mac[6]);
/* flannel's flannel.alpha.coreos.com/backend-data value for this node,
 * {"VNI":<vxlan.vni>,"VtepMAC":"<sl_net_vtep_mac>"}, into buf (NUL-terminated); returns
 * what snprintf returns. Publish it with backend-type "vxlan" and public-ip node.ip.
 * Control thread. */
int sl_net_flannel_backend_data(char *buf, size_t len);
/* The neighbour index of a remote node. */
int sl_net_node_neigh(const struct sl_model_node *n);

/* Neighbour upkeep, every 100 ms from the loop: ARP requests for unresolved neighbours
 * (every second for 5 tries, then backing off to every 30 s), refresh and ageing; at most
 * 64 requests a tick, taking turns (sl_arp.c). */
void sl_net_neigh_tick(void);

/* ARP requests control asked the uplink's neighbours with (sl_net_neigh_tick). */
struct sl_arp_stats {
	uint64_t requests;  /* sent */
	uint64_t deferred;  /* ticks that left due requests for the next one (the rate limit) */
	uint64_t failed;    /* not sent: no mbuf or the control ring was full */
};
/* Control thread. */
void sl_net_arp_stats(struct sl_arp_stats *ret);

/* Tap pods with a namespace re-added with what an earlier sluiced learned (the state file:
 * drivers/sl_tap.h, "Surviving a restart"). Each failure is also a log line. */
struct sl_tap_attach_stats {
	uint64_t reattached; /* attached to the pod's tap again */
	uint64_t gone;       /* the pod's namespace or its tap no longer exists: pod dropped */
	uint64_t refused;    /* the path names another namespace, or the device there is not
			      * the pod's tap (renamed, replaced, another MAC): pod dropped */
};
/* Control thread. */
void sl_net_tap_attach_stats(struct sl_tap_attach_stats *ret);
