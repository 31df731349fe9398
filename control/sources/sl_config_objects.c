/* The objects the API socket accepts, and the config's "pods", "nodes" and "routes" lists
 * hold: pods (with their host ports), nodes and routes (see sl_config.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sl_config_int.h"

/* One "host_ports" entry: {"host_port", "container_port", "protocol" ("tcp", "udp", "sctp";
 * default "tcp"), "host_ip" (IPv4; absent, "" or "0.0.0.0": the node address)}. */
static int host_port_parse(const cJSON *o, const char *path, struct sl_host_port *h, char *err,
			   size_t n)
{
	static const char *const known[] = { "host_port", "container_port", "protocol", "host_ip",
					     NULL };
	char proto[8] = "tcp", fp[160];
	unsigned hp = 0, cp = 0;
	TRY(sl_cfg_fields(o, path, known, err, n));
	snprintf(fp, sizeof(fp), "%s.host_port", path);
	if (!cJSON_GetObjectItemCaseSensitive(o, "host_port"))
		return sl_cfg_fail(err, n, fp, "missing");
	TRY(sl_cfg_uint(o, path, "host_port", 1, 65535, &hp, err, n));
	snprintf(fp, sizeof(fp), "%s.container_port", path);
	if (!cJSON_GetObjectItemCaseSensitive(o, "container_port"))
		return sl_cfg_fail(err, n, fp, "missing");
	TRY(sl_cfg_uint(o, path, "container_port", 1, 65535, &cp, err, n));
	TRY(sl_cfg_str(o, path, "protocol", false, proto, sizeof(proto), err, n));
	snprintf(fp, sizeof(fp), "%s.protocol", path);
	if (!strcasecmp(proto, "tcp"))
		h->protocol = IPPROTO_TCP;
	else if (!strcasecmp(proto, "udp"))
		h->protocol = IPPROTO_UDP;
	else if (!strcasecmp(proto, "sctp"))
		h->protocol = IPPROTO_SCTP;
	else
		return sl_cfg_fail(err, n, fp, "'%s' must be \"tcp\", \"udp\" or \"sctp\"", proto);
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(o, "host_ip");
	struct sl_ip a = { 0 };
	if (ip && !(cJSON_IsString(ip) && !ip->valuestring[0]))
		TRY(sl_cfg_ip(o, path, "host_ip", false, &a, err, n));
	h->host_ip = a.af == AF_INET ? a.v4 : 0;
	h->host_port = (uint16_t)hp;
	h->container_port = (uint16_t)cp;
	return 0;
}

static int host_ports_parse(const cJSON *o, const char *path, struct sl_pod_spec *p, char *err,
			    size_t n)
{
	char fp[128];
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "host_ports");
	if (!a)
		return 0;
	snprintf(fp, sizeof(fp), "%s.host_ports", path);
	if (!cJSON_IsArray(a))
		return sl_cfg_fail(err, n, fp, "must be an array");
	if (cJSON_GetArraySize(a) > SL_POD_MAX_HOST_PORTS)
		return sl_cfg_fail(err, n, fp, "more than %d entries", SL_POD_MAX_HOST_PORTS);
	unsigned i = 0;
	for (const cJSON *e = a->child; e; e = e->next, i++) {
		char ep[128];
		snprintf(ep, sizeof(ep), "%.100s[%u]", fp, i);
		TRY(host_port_parse(e, ep, &p->host_ports[i], err, n));
		for (unsigned k = 0; k < i; k++)
			if (p->host_ports[k].host_port == p->host_ports[i].host_port &&
			    p->host_ports[k].protocol == p->host_ports[i].protocol)
				return sl_cfg_fail(err, n, ep, "host_port %u/%s repeats %s[%u]",
						   p->host_ports[i].host_port,
						   sl_host_proto_name(p->host_ports[i].protocol), fp, k);
	}
	p->n_host_ports = (uint8_t)i;
	return 0;
}

/* "netns" (a tap pod's namespace, an absolute path) and what sluiced learned of its tap,
 * "netns_cookie" (decimal string: 64 bits do not fit a JSON number) and "tap_ifindex" (both
 * or neither, only with netns): see struct sl_pod_spec. */
static int tap_netns_parse(const cJSON *o, const char *path, struct sl_pod_spec *p, char *err,
			   size_t n)
{
	char fp[128], cookie[24] = "";
	unsigned ifindex = 0;
	TRY(sl_cfg_str(o, path, "netns", false, p->netns, sizeof(p->netns), err, n));
	TRY(sl_cfg_str(o, path, "netns_cookie", false, cookie, sizeof(cookie), err, n));
	TRY(sl_cfg_uint(o, path, "tap_ifindex", 1, INT32_MAX, &ifindex, err, n));
	snprintf(fp, sizeof(fp), "%s.netns", path);
	if (p->netns[0] && !p->tap)
		return sl_cfg_fail(err, n, fp, "only with \"interface\": \"tap\"");
	if (p->netns[0] && p->netns[0] != '/')
		return sl_cfg_fail(err, n, fp, "must be an absolute path");
	if ((cookie[0] || ifindex) && !p->netns[0])
		return sl_cfg_fail(err, n, fp, "missing (netns_cookie and tap_ifindex need it)");
	if (cookie[0] && !ifindex) {
		snprintf(fp, sizeof(fp), "%s.tap_ifindex", path);
		return sl_cfg_fail(err, n, fp, "missing (netns_cookie needs it)");
	}
	if (ifindex && !cookie[0]) {
		snprintf(fp, sizeof(fp), "%s.netns_cookie", path);
		return sl_cfg_fail(err, n, fp, "missing (tap_ifindex needs it)");
	}
	if (cookie[0]) {
		char *end;
		snprintf(fp, sizeof(fp), "%s.netns_cookie", path);
		errno = 0;
		unsigned long long c = strtoull(cookie, &end, 10);
		if (*end || errno || !c || cookie[0] < '0' || cookie[0] > '9')
			return sl_cfg_fail(err, n, fp, "must be a decimal number above 0, as a string");
		p->netns_cookie = c;
		p->tap_ifindex = ifindex;
	}
	return 0;
}

int sl_pod_parse(const cJSON *o, const char *path, struct sl_pod_spec *p, char *err, size_t n)
{
	static const char *const known[] = { "name", "namespace", "interface", "ifname", "socket",
					     "vhost_mode", "ip", "mac", "host_ports", "netns",
					     "netns_cookie", "tap_ifindex", NULL };
	char kind[16] = "veth", mode[16] = "client", fp[128];
	memset(p, 0, sizeof(*p));
	TRY(sl_cfg_fields(o, path, known, err, n));
	TRY(sl_cfg_str(o, path, "name", true, p->name, sizeof(p->name), err, n));
	snprintf(p->namespace, sizeof(p->namespace), "default");
	TRY(sl_cfg_str(o, path, "namespace", false, p->namespace, sizeof(p->namespace), err, n));
	TRY(sl_cfg_str(o, path, "interface", false, kind, sizeof(kind), err, n));
	snprintf(fp, sizeof(fp), "%s.interface", path);
	if (strcmp(kind, "veth") && strcmp(kind, "vhost-user") && strcmp(kind, "tap"))
		return sl_cfg_fail(err, n, fp, "must be \"veth\", \"vhost-user\" or \"tap\"");
	p->vhost = !strcmp(kind, "vhost-user");
	p->tap = !strcmp(kind, "tap");
	if (p->vhost) {
		TRY(sl_cfg_str(o, path, "socket", true, p->socket, sizeof(p->socket), err, n));
		snprintf(fp, sizeof(fp), "%s.socket", path);
		if (p->socket[0] != '/')
			return sl_cfg_fail(err, n, fp, "must be an absolute path");
		TRY(sl_cfg_str(o, path, "vhost_mode", false, mode, sizeof(mode), err, n));
		snprintf(fp, sizeof(fp), "%s.vhost_mode", path);
		if (strcmp(mode, "client") && strcmp(mode, "server"))
			return sl_cfg_fail(err, n, fp, "must be \"client\" or \"server\"");
		p->vhost_server = !strcmp(mode, "server");
		/* The port is named after the socket's file name in tables. */
		const char *base = strrchr(p->socket, '/') + 1;
		snprintf(p->ifname, sizeof(p->ifname), "%.15s", base);
	} else {
		TRY(sl_cfg_ifname(o, path, "ifname", true, p->ifname, sizeof(p->ifname), err, n));
	}
	TRY(tap_netns_parse(o, path, p, err, n));
	TRY(sl_cfg_ip(o, path, "ip", true, &p->ip, err, n));
	TRY(sl_cfg_mac(o, path, "mac", true, p->mac, err, n));
	TRY(host_ports_parse(o, path, p, err, n));
	return 0;
}

int sl_node_parse(const cJSON *o, const char *path, struct sl_node_spec *p, char *err, size_t n)
{
	static const char *const known[] = { "name", "ip", "pod_cidr", "mac", "vtep_mac", NULL };
	memset(p, 0, sizeof(*p));
	TRY(sl_cfg_fields(o, path, known, err, n));
	TRY(sl_cfg_str(o, path, "name", true, p->name, sizeof(p->name), err, n));
	TRY(sl_cfg_ip(o, path, "ip", true, &p->ip, err, n));
	TRY(sl_cfg_cidr(o, path, "pod_cidr", true, &p->pod_cidr, err, n));
	TRY(sl_cfg_mac(o, path, "mac", false, p->mac, err, n));
	p->has_mac = cJSON_GetObjectItemCaseSensitive(o, "mac") != NULL;
	/* The remote VTEP's own MAC (a flannel node's VtepMAC), apart from its underlay MAC. */
	TRY(sl_cfg_vtep_mac(o, path, p->vtep_mac, &p->has_vtep_mac, err, n));
	return 0;
}

int sl_route_parse(const cJSON *o, const char *path, struct sl_route_spec *p, char *err,
		   size_t n)
{
	static const char *const known[] = { "prefix", "via", NULL };
	memset(p, 0, sizeof(*p));
	TRY(sl_cfg_fields(o, path, known, err, n));
	TRY(sl_cfg_cidr(o, path, "prefix", true, &p->prefix, err, n));
	TRY(sl_cfg_ip(o, path, "via", true, &p->via, err, n));
	return 0;
}
