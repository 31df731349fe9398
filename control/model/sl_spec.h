/* The objects of the control model as every source gives them (static config, persisted
 * state, API socket): pods, remote nodes, static routes. No DPDK. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "sl_addr.h"

#define SL_NAME_MAX 128 /* fits "<64-hex container id>:<ifname>" */
#define SL_IFNAME_MAX 16

#define SL_SOCKET_PATH_MAX 108 /* sun_path, NUL included */
#define SL_NETNS_PATH_MAX 128  /* a tap pod's "netns" path, NUL included */

/* Host ports one pod may have (CNI runtimeConfig.portMappings). */
#define SL_POD_MAX_HOST_PORTS 8 /* inline in every pod record: 96 bytes */

/* A hostPort: traffic to the node address's host_port goes to the pod's container_port. */
struct sl_host_port {
	uint32_t host_ip;        /* network order; 0: the node address ("", "0.0.0.0") */
	uint16_t host_port;      /* 1-65535, host order */
	uint16_t container_port; /* 1-65535, host order */
	uint8_t protocol;        /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
};

/* "tcp", "udp", "sctp" (lower case, as "protocol" takes them), "?" for anything else. */
static inline const char *sl_host_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp"
	       : proto == IPPROTO_SCTP ? "sctp" : "?";
}

struct sl_pod_spec {
	char name[SL_NAME_MAX];
	char namespace[SL_NAME_MAX];
	bool vhost;                 /* "interface": "vhost-user" (else "veth") */
	bool vhost_server;          /* "vhost_mode": "server" (default "client") */
	bool tap;                   /* "interface": "tap": sluiced creates the pod's eth0 as a
				     * tap named ifname (drivers/sl_tap.h) */
	char socket[SL_SOCKET_PATH_MAX]; /* vhost-user socket path */
	char ifname[SL_IFNAME_MAX]; /* veth: host end of the pod's veth; tap: the tap's name
				     * when sluiced creates it */
	/* Tap pods that outlive sluiced (drivers/sl_tap.h, "Surviving a restart"): the pod's
	 * network namespace (CNI_NETNS); with it the tap is persistent (TUNSETPERSIST) until
	 * the pod is deleted. netns_cookie/tap_ifindex: what sluiced learned when it created
	 * the tap (the namespace's SO_NETNS_COOKIE, the tap's ifindex), written to the state
	 * file; a pod given them re-attaches to that tap instead of creating one. */
	char netns[SL_NETNS_PATH_MAX];
	uint64_t netns_cookie;
	uint32_t tap_ifindex;
	struct sl_ip ip;
	uint8_t mac[6];             /* the pod's own MAC (pod end of the veth) */
	/* "host_ports": [{"host_port", "container_port", "protocol", "host_ip"}]; the model
	 * accepts host_ip 0 or the node address only. */
	uint8_t n_host_ports;
	struct sl_host_port host_ports[SL_POD_MAX_HOST_PORTS];
};

struct sl_node_spec {
	char name[SL_NAME_MAX];
	struct sl_ip ip;        /* the node's underlay address = its VTEP */
	struct sl_cidr pod_cidr;
	bool has_mac;           /* mac given: a static neighbour, never ARPed or aged */
	uint8_t mac[6];         /* the VTEP's MAC on the underlay */
	/* The remote VTEP's own MAC, the inner destination MAC of frames to its pods (a
	 * flannel node's flannel.1 MAC, from flannel.alpha.coreos.com/backend-data VtepMAC).
	 * Absent: the underlay neighbour's MAC is used for both, as between sluice nodes. */
	bool has_vtep_mac;
	uint8_t vtep_mac[6];
};

struct sl_route_spec {
	struct sl_cidr prefix;
	struct sl_ip via;       /* next hop on the uplink */
};

