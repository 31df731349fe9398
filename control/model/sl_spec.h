/* The objects of the control model as every source gives them (static config, persisted
 * state, API socket): pods, remote nodes, static routes. No DPDK. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "sl_addr.h"

#define SL_NAME_MAX 128 /* fits "<64-hex container id>:<ifname>" */
#define SL_IFNAME_MAX 16

#define SL_SOCKET_PATH_MAX 108 /* sun_path, NUL included */

struct sl_pod_spec {
	char name[SL_NAME_MAX];
	char namespace[SL_NAME_MAX];
	bool vhost;                 /* "interface": "vhost-user" (else "veth") */
	bool vhost_server;          /* "vhost_mode": "server" (default "client") */
	char socket[SL_SOCKET_PATH_MAX]; /* vhost-user socket path */
	char ifname[SL_IFNAME_MAX]; /* veth: host end of the pod's veth */
	struct sl_ip ip;
	uint8_t mac[6];             /* the pod's own MAC (pod end of the veth) */
};

struct sl_node_spec {
	char name[SL_NAME_MAX];
	struct sl_ip ip;        /* the node's underlay address = its VTEP */
	struct sl_cidr pod_cidr;
	bool has_mac;           /* mac given: a static neighbour, never ARPed or aged */
	uint8_t mac[6];         /* the VTEP's MAC on the underlay */
};

struct sl_route_spec {
	struct sl_cidr prefix;
	struct sl_ip via;       /* next hop on the uplink */
};

