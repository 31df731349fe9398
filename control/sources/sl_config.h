/* sluiced configuration: the JSON file (or the embedded default) and the objects the API
 * socket accepts (pods, nodes, routes). Every field is validated; an error names the field
 * path and the reason ("pods[1].ip: not an IPv4 address"). No DPDK here: the parser is
 * linked by sluiced, its unit tests and its fuzz target. */
#pragma once
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model/sl_spec.h"

struct sl_json_arena;

#define SL_CONFIG_MAX_BYTES (16 << 20)  /* config file size limit (Services make it large) */
/* Largest pod MTU: a pod's frame must fit a 2048-byte AF_XDP frame after the kernel's
 * 256-byte XDP headroom (1792 - 14 = 1778), and the outer VXLAN frame one 2048-byte mbuf.
 * Jumbo pods need multi-buffer AF_XDP and multi-segment mbufs: not done yet. */
#define SL_POD_MTU_MAX 1778
/* With AF_XDP multi-buffer (af_xdp.multi_buffer): an IPv4 packet of 64 KiB less 535 bytes,
 * within SL_XSK_MAX_FRAGS UMEM frames (drivers/sl_xsk.h). */
#define SL_POD_MTU_MAX_MB 65000
#define SL_CONFIG_MAX_PODS 1000
#define SL_CONFIG_MAX_NODES 1000
#define SL_CONFIG_MAX_ROUTES 1000
#define SL_CONFIG_MAX_SERVICES 20000      /* the "services" array */
#define SL_CONFIG_MAX_SLICES 40000        /* the "endpointslices" array */
/* "limits": {"nodes": N, "routes": R}: the remote nodes and static routes this node takes
 * (the model refuses more, naming the limit; the dataplane's next-hop, neighbour and FIB
 * tables are sized for them at start: sl_dp_limits_for). Defaults: 10,000 nodes (twice the
 * Kubernetes 5,000-node limit) and 1,024 routes; at most 100,000 each. */
#define SL_CONFIG_DEFAULT_NODE_LIMIT 10000
#define SL_CONFIG_DEFAULT_ROUTE_LIMIT 1024
#define SL_CONFIG_MAX_LIMIT 100000

/* proxy.maglev_threads at most (sluiced checks it against lb_prebuild.h's limit). */
#define SL_CONFIG_MAGLEV_THREADS_MAX 8

struct sl_config {
	char node_name[SL_NAME_MAX];
	struct sl_ip node_ip;
	struct sl_cidr pod_cidr;
	struct sl_cidr cluster_cidr;   /* routed to the dataplane from the host */
	struct sl_cidr service_cidr;   /* cluster IPs, routed to it from the host too
					* (default 10.96.0.0/12, Kubernetes' own; len 0: none,
					* when the default would overlap cluster_cidr) */
	struct sl_ip gateway_ip;
	uint8_t gateway_mac[6];
	char uplink_devargs[256];
	uint16_t uplink_mtu;
	uint16_t uplink_rx_queues;     /* 0 = one per worker */
	bool uplink_tap;               /* uplink.kind "tap": a tap device sluiced creates
					* (uplink.ifname), bridged to the underlay by the node;
					* VXLAN frames carrying TCP leave whole with a UDP tunnel
					* GSO header (drivers/sl_tap.h, issue 13) */
	char uplink_tap_ifname[SL_IFNAME_MAX];
	bool uplink_tunnel_gso;        /* uplink.tunnel_gso (tap uplinks; default true) */
	bool host_enabled;
	char host_ifname[SL_IFNAME_MAX];
	uint32_t vni;
	uint16_t vxlan_port;
	bool has_vtep_mac;             /* "vxlan.vtep_mac": our VTEP's own MAC (inner source,
					* published as flannel's VtepMAC); absent: the uplink's */
	uint8_t vtep_mac[6];
	uint16_t pod_mtu;              /* 0 = uplink MTU - 50 */
	bool pod_iface_tap;            /* node.pod_interface "tap": what sluice-cni gives a
					* kernel pod whose network names no "interface" (else
					* "veth"; version: pod_interface) */
	bool xsk_multi_buffer;         /* af_xdp.multi_buffer: AF_XDP pods' large-frame path */
	bool xsk_skb_mode;             /* af_xdp.mode "skb": generic XDP, pods keep GSO and
					* checksum offload (sluice completes checksums) */
	bool tap_offload;              /* tap.offload: tap pods' checksum/TSO offloads */
	bool tap_rps_auto;             /* tap.rps_cpus "auto" (the default): sluiced sets
					* tap_rps_cpus to the online CPUs that run no worker */
	cpu_set_t tap_rps_cpus;        /* tap.rps_cpus: where a tap pod's receive processing
					* runs (RPS, drivers/sl_tap.h); empty: "off" */
	unsigned workers;              /* 0 = every EAL worker lcore */
	bool idle_backoff;
	unsigned idle_sleep_max_us;
	unsigned icmp_rate;            /* ICMP errors per second per worker */
	unsigned ct_size;              /* conntrack entries for Services; 0 = the default */
	uint16_t node_port_lo, node_port_hi; /* "proxy.node_port_range", default 30000-32767 */
	uint16_t snat_port_lo, snat_port_hi; /* "proxy.snat_port_range"; 0, 0 = the default */
	bool masquerade;               /* "proxy.masquerade": pod egress SNAT (default off) */
	bool node_local;               /* "proxy.node_local": node ports and hostPorts for the
					* node's own processes (control/lb/sl_node_local.h;
					* default on) */
	int maglev_threads;            /* "proxy.maglev_threads": threads that build a large
					* batch's Maglev tables besides the control thread
					* (dataplane/lb/lb_prebuild.h): "auto" (-1, the
					* default) or 0..SL_CONFIG_MAGLEV_THREADS_MAX */
	/* "metrics": {"listen": "a.b.c.d:port"}: /metrics and /healthz over HTTP (control/
	 * core/sl_metrics.h); absent: no server. */
	bool metrics_enabled;
	uint32_t metrics_addr;         /* network order */
	uint16_t metrics_port;         /* host order, 1-65535 */
	unsigned limit_nodes;          /* "limits.nodes" (SL_CONFIG_DEFAULT_NODE_LIMIT) */
	unsigned limit_routes;         /* "limits.routes" (SL_CONFIG_DEFAULT_ROUTE_LIMIT) */
	bool policy_deny_log;          /* "policy.deny_log": log denied flows (default off) */
	unsigned policy_deny_log_rate; /* "policy.deny_log_rate": lines/s; 0 = the default (10) */
	unsigned k8s_watch_list;       /* "kubernetes.watch_list": streaming lists (KEP-3157)
					* "auto" 0 (default), "on" 1, "off" 2: enum sl_kube_wl */
	struct sl_pod_spec *pods;
	unsigned n_pods;
	struct sl_node_spec *nodes;
	unsigned n_nodes;
	struct sl_route_spec *routes;
	unsigned n_routes;
	/* The config's root object, holding "services": [...] and "endpointslices": [...] as
	 * given (Kubernetes objects, decoded by control/sources/sl_k8s.c when loaded into a
	 * model); NULL when neither is given. Read-only: it lives in json (sl_json.h). */
	const cJSON *k8s;
	struct sl_json_arena *json; /* the parsed config, freed by sl_config_free */
};

/* The embedded default configuration (JSON text). */
extern const char sl_config_default[];

/* Parse and validate a whole configuration from JSON text. On error returns -EINVAL and
 * writes "field: reason" into err. Free with sl_config_free. Any thread. */
int sl_config_parse(const char *text, size_t len, struct sl_config *ret, char *err, size_t errlen);
/* Read a file (at most SL_CONFIG_MAX_BYTES) and parse it. */
int sl_config_load(const char *path, struct sl_config *ret, char *err, size_t errlen);
void sl_config_free(struct sl_config *c);

/* Parse one object as the API socket receives it; path prefixes error messages. */
int sl_pod_parse(const cJSON *o, const char *path, struct sl_pod_spec *ret, char *err,
		 size_t errlen);
int sl_node_parse(const cJSON *o, const char *path, struct sl_node_spec *ret, char *err,
		  size_t errlen);
int sl_route_parse(const cJSON *o, const char *path, struct sl_route_spec *ret, char *err,
		   size_t errlen);

/* Why s cannot be a Linux interface name that sluiced hands to the kernel, DPDK devargs
 * ("iface=<s>") or /proc/sys/net/ipv4/conf/<s>/: NULL when it can. Refused: empty or longer
 * than 15 (IFNAMSIZ - 1), ".", "..", "all", "default" (the /proc/sys conf entries that are
 * not interfaces), "lo", and '/', ',', '=', ':', ';', whitespace or control characters.
 * Used for host.ifname and a veth pod's ifname. Any thread. */
const char *sl_ifname_invalid(const char *s);

/* Text helpers: parse "a.b.c.d", "a.b.c.d/len", "aa:bb:cc:dd:ee:ff". Return 0 or -EINVAL. */
int sl_parse_mac(const char *s, uint8_t ret_mac[6]);
/* Format an address (network order) into buf of at least 16 bytes; returns buf. */
const char *sl_fmt_ip4(uint32_t ip, char *buf);
/* Load the configuration's pods, nodes, routes, Services and EndpointSlices into a model built from its node facts
 * (cross-object checks: what the daemon would refuse at start). Errors name the list entry
 * ("pods[1].ip: ..."). Returns 0 or -errno. */
struct sl_model;
int sl_config_load_objects(const struct sl_config *c, struct sl_model *m, char *err,
			   size_t errlen);
/* Node facts of c for sl_model_create. */
struct sl_model_self;
void sl_config_self(const struct sl_config *c, struct sl_model_self *ret);
/* The model limits of c ("limits": nodes, routes; the rest the model's defaults) for
 * sl_model_create. */
struct sl_model_limits;
void sl_config_model_limits(const struct sl_config *c, struct sl_model_limits *ret);
