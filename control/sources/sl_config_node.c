/* The config's "node", "host" and "vxlan" sections: the node's addresses, its interface to
 * the host, and the overlay (see sl_config.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sl_config_int.h"

int sl_cfg_parse_node(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "name", "ip", "pod_cidr", "cluster_cidr",
					     "service_cidr", "gateway", "gateway_mac", "pod_mtu",
					     "pod_interface", NULL };
	const cJSON *o;
	unsigned u;
	int rc = sl_cfg_section(root, "node", true, known, &o, err, n);
	if (rc < 0)
		return rc;
	snprintf(c->node_name, sizeof(c->node_name), "node");
	TRY(sl_cfg_str(o, "node", "name", false, c->node_name, sizeof(c->node_name), err, n));
	TRY(sl_cfg_ip(o, "node", "ip", true, &c->node_ip, err, n));
	TRY(sl_cfg_cidr(o, "node", "pod_cidr", true, &c->pod_cidr, err, n));
	if (c->pod_cidr.len > 30)
		return sl_cfg_fail(err, n, "node.pod_cidr",
				   "prefix longer than /30 leaves no pods");
	c->cluster_cidr = c->pod_cidr;
	TRY(sl_cfg_cidr(o, "node", "cluster_cidr", false, &c->cluster_cidr, err, n));
	if (!sl_cidr_contains(c->cluster_cidr, c->pod_cidr.addr) ||
	    c->cluster_cidr.len > c->pod_cidr.len)
		return sl_cfg_fail(err, n, "node.cluster_cidr", "must contain node.pod_cidr");
	c->service_cidr = (struct sl_cidr){ sl_ip4(htonl(0x0a600000)), 12 }; /* 10.96.0.0/12 */
	bool overlap = sl_cidr_contains(c->service_cidr, c->cluster_cidr.addr) ||
		       sl_cidr_contains(c->cluster_cidr, c->service_cidr.addr);
	if (cJSON_GetObjectItemCaseSensitive(o, "service_cidr")) {
		TRY(sl_cfg_cidr(o, "node", "service_cidr", false, &c->service_cidr, err, n));
		if (sl_cidr_contains(c->service_cidr, c->cluster_cidr.addr) ||
		    sl_cidr_contains(c->cluster_cidr, c->service_cidr.addr))
			return sl_cfg_fail(err, n, "node.service_cidr",
					   "must not overlap node.cluster_cidr");
	} else if (overlap) {
		c->service_cidr.len = 0; /* a cluster CIDR holding Kubernetes' default: none */
	}
	c->gateway_ip = sl_ip4(htonl(ntohl(c->pod_cidr.addr.v4) + 1));
	TRY(sl_cfg_ip(o, "node", "gateway", false, &c->gateway_ip, err, n));
	if (!sl_cidr_contains(c->pod_cidr, c->gateway_ip))
		return sl_cfg_fail(err, n, "node.gateway", "must be inside node.pod_cidr");
	memcpy(c->gateway_mac, (uint8_t[]){ 0x02, 0x5c, 0x00, 0x00, 0x00, 0x01 }, 6);
	TRY(sl_cfg_mac(o, "node", "gateway_mac", false, c->gateway_mac, err, n));
	u = 0; /* 0: from the uplink (sl_cfg_parse_uplink) */
	TRY(sl_cfg_uint(o, "node", "pod_mtu", 576, SL_POD_MTU_MAX_MB, &u, err, n));
	c->pod_mtu = (uint16_t)u;
	char iface[16] = "veth";
	TRY(sl_cfg_str(o, "node", "pod_interface", false, iface, sizeof(iface), err, n));
	if (strcmp(iface, "veth") && strcmp(iface, "tap"))
		return sl_cfg_fail(err, n, "node.pod_interface", "\"veth\" or \"tap\", not \"%s\"",
				   iface);
	c->pod_iface_tap = !strcmp(iface, "tap");
	return 0;
}

int sl_cfg_parse_host(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "enabled", "ifname", NULL };
	const cJSON *o;
	c->host_enabled = true;
	snprintf(c->host_ifname, sizeof(c->host_ifname), "sl-host");
	int rc = sl_cfg_section(root, "host", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_bool(o, "host", "enabled", &c->host_enabled, err, n));
	TRY(sl_cfg_ifname(o, "host", "ifname", false, c->host_ifname, sizeof(c->host_ifname),
			  err, n));
	return 0;
}

int sl_cfg_parse_vxlan(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "vni", "port", "vtep_mac", NULL };
	const cJSON *o;
	c->vni = 1;
	c->vxlan_port = 4789;
	int rc = sl_cfg_section(root, "vxlan", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_uint(o, "vxlan", "vni", 0, (1u << 24) - 1, &c->vni, err, n));
	unsigned u = c->vxlan_port;
	TRY(sl_cfg_uint(o, "vxlan", "port", 1, 65535, &u, err, n));
	c->vxlan_port = (uint16_t)u;
	TRY(sl_cfg_vtep_mac(o, "vxlan", c->vtep_mac, &c->has_vtep_mac, err, n));
	return 0;
}
