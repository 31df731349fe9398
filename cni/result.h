/* sluice-cni: result types (SPEC.md "Section 5"): the IPAM plugin's result read, the ADD
 * result and the error object written, the prevResult consulted by CHECK.
 *
 * Pure functions: linked by the plugin and by tests/cni/test_cni_conf.c. */
#pragma once
#include <cjson/cJSON.h>

#include "cni.h"

#define SL_CNI_MAX_ROUTES 32 /* IPAM routes taken over into the pod */

struct sl_cni_route {
	uint32_t dst; /* destination network, network order */
	uint8_t len;  /* prefix length */
	uint32_t gw;  /* next hop; 0 = the pod's gateway */
};

/* What an IPAM plugin allocated: the first IPv4 address, its gateway, routes and DNS. */
struct sl_cni_ipam_result {
	uint32_t ip;         /* the pod's address */
	uint8_t len;         /* the subnet's prefix length as IPAM reported it */
	uint32_t gateway;    /* IPAM's gateway; 0 when it gave none */
	unsigned n_routes;
	struct sl_cni_route routes[SL_CNI_MAX_ROUTES];
	cJSON *dns;          /* IPAM's "dns" object (owned) or NULL */
};

/* Parse an IPAM plugin's stdout (a CNI 0.4.0/1.x Success result without interfaces).
 * Exactly one IPv4 address is used; an IPv6 address is refused (the dataplane is IPv4).
 * Returns 0, or -EINVAL with code 6 (not a result) or 7 (no IPv4 address, IPv6 address,
 * bad route); the field is named in err->msg. */
int sl_cni_ipam_result_parse(const char *text, size_t len, struct sl_cni_ipam_result *ret,
			     struct sl_cni_err *err);

/* Free ret->dns. */
void sl_cni_ipam_result_free(struct sl_cni_ipam_result *r);

/* Everything one ADD set up, to be reported. */
struct sl_cni_attach {
	const char *version;      /* cniVersion of the config */
	const char *socket_path;  /* vhost-user: the socket (no host end then); NULL: veth */
	const char *host_ifname;  /* host end of the veth */
	uint8_t host_mac[6];
	const char *pod_ifname;   /* CNI_IFNAME */
	uint8_t pod_mac[6];
	const char *netns;        /* CNI_NETNS */
	unsigned mtu;             /* both ends */
	uint32_t ip;              /* configured as ip/32 on the pod interface */
	uint32_t gateway;         /* the pod's gateway (sluiced's) */
	const struct sl_cni_ipam_result *ipam; /* extra routes and dns */
};

/* Build the ADD Success result: interfaces [host veth, pod interface], ips [ip/32 on
 * interface 1 (plus "version":"4" for 0.4.0)], routes [0.0.0.0/0 via gateway, then IPAM
 * routes], dns from IPAM. mtu is reported for 1.1.0 only. A vhost-user attachment
 * (socket_path set) has one interface, the pod's (CNI_IFNAME, its MAC, the sandbox, and
 * "socketPath" in 1.1.0), and its ips entry is the IPAM address with IPAM's prefix length
 * on interface 0 (the pod's DPDK app configures it; nothing is set in the kernel). With
 * prev (a chained
 * prevResult) its interfaces, ips, routes come first and ours are appended, indexes
 * shifted; dns is IPAM's, else prev's. Returns a new cJSON object or NULL (no memory). */
cJSON *sl_cni_result_build(const struct sl_cni_attach *a, const cJSON *prev);

/* In a prevResult, find the IPv4 address of the interface called ifname with sandbox
 * netns. Returns 0 with *ret_ip, or -ENOENT (code 7, naming what is missing). */
int sl_cni_result_find_ip(const cJSON *prev, const char *ifname, const char *netns,
			  uint32_t *ret_ip, struct sl_cni_err *err);

/* The error object {"cniVersion","code","msg","details"} as text (free()); NULL on no
 * memory. details is left out when empty. */
char *sl_cni_error_json(const char *version, const struct sl_cni_err *err);

/* "aa:bb:cc:dd:ee:ff" into buf (≥ 18 bytes); returns buf. */
const char *sl_cni_fmt_mac(const uint8_t mac[6], char *buf);
