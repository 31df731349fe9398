/* sluice-cni: result types (see result.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

const char *sl_cni_fmt_mac(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* IPAM result. */

static int parse_routes(const cJSON *routes, struct sl_cni_ipam_result *r,
			struct sl_cni_err *err)
{
	const cJSON *rt;
	int i = 0;
	if (routes && !cJSON_IsArray(routes))
		return sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: routes: must be an array");
	cJSON_ArrayForEach(rt, routes)
	{
		const cJSON *dst = cJSON_GetObjectItemCaseSensitive(rt, "dst");
		const cJSON *gw = cJSON_GetObjectItemCaseSensitive(rt, "gw");
		struct sl_cni_route x = { 0 };
		if (!cJSON_IsString(dst))
			return sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: routes[%d].dst: "
					   "required", i);
		if (strchr(dst->valuestring, ':')) { /* IPv6 route: nothing to do for it */
			i++;
			continue;
		}
		if (sl_cni_parse_cidr(dst->valuestring, &x.dst, &x.len) < 0)
			return sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: routes[%d].dst: "
					   "\"%s\" is not a CIDR", i, dst->valuestring);
		x.dst &= sl_cni_mask(x.len);
		if (gw && (!cJSON_IsString(gw) || sl_cni_parse_ip(gw->valuestring, &x.gw) < 0))
			return sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: routes[%d].gw: not an "
					   "IPv4 address", i);
		if (r->n_routes == SL_CNI_MAX_ROUTES)
			return sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam result: routes: more than %d",
					   SL_CNI_MAX_ROUTES);
		r->routes[r->n_routes++] = x;
		i++;
	}
	return 0;
}

int sl_cni_ipam_result_parse(const char *text, size_t len, struct sl_cni_ipam_result *r,
			     struct sl_cni_err *err)
{
	int rc = -EINVAL;
	memset(r, 0, sizeof(*r));
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: not a JSON object");
	}
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(root, "ips"), *ip;
	bool found = false;
	int i = 0;
	if (!cJSON_IsArray(ips)) {
		sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: ips: missing");
		goto out;
	}
	cJSON_ArrayForEach(ip, ips)
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(ip, "address");
		const cJSON *gw = cJSON_GetObjectItemCaseSensitive(ip, "gateway");
		if (!cJSON_IsString(a)) {
			sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: ips[%d].address: missing", i);
			goto out;
		}
		if (strchr(a->valuestring, ':')) {
			sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam result: ips[%d].address: %s is IPv6; "
				    "sluice pods are IPv4 only", i, a->valuestring);
			goto out;
		}
		if (found) {
			sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam result: ips[%d]: more than one IPv4 "
				    "address", i);
			goto out;
		}
		if (sl_cni_parse_cidr(a->valuestring, &r->ip, &r->len) < 0 || !r->ip) {
			sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: ips[%d].address: \"%s\" is "
				    "not an address with a prefix length", i, a->valuestring);
			goto out;
		}
		if (cJSON_IsString(gw) && sl_cni_parse_ip(gw->valuestring, &r->gateway) < 0) {
			sl_cni_fail(err, SL_CNI_E_DECODE, "ipam result: ips[%d].gateway: \"%s\" is "
				    "not an IPv4 address", i, gw->valuestring);
			goto out;
		}
		found = true;
		i++;
	}
	if (!found) {
		sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam result: ips: no IPv4 address allocated");
		goto out;
	}
	if ((rc = parse_routes(cJSON_GetObjectItemCaseSensitive(root, "routes"), r, err)) < 0)
		goto out;
	cJSON *dns = cJSON_GetObjectItemCaseSensitive(root, "dns");
	if (cJSON_IsObject(dns) && dns->child)
		r->dns = cJSON_DetachItemViaPointer(root, dns);
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

void sl_cni_ipam_result_free(struct sl_cni_ipam_result *r)
{
	cJSON_Delete(r->dns);
	r->dns = NULL;
}

/* ADD result. */

static cJSON *add_array_copy(cJSON *to, const char *key, const cJSON *prev)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(prev, key);
	cJSON *a = cJSON_IsArray(src) ? cJSON_Duplicate(src, true) : cJSON_CreateArray();
	if (a)
		cJSON_AddItemToObject(to, key, a);
	return a;
}

static cJSON *iface_json(const struct sl_cni_attach *a, const char *name, const uint8_t *mac,
			 const char *sandbox)
{
	char b[18];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "mac", sl_cni_fmt_mac(mac, b));
	if (!strcmp(a->version, "1.1.0"))
		cJSON_AddNumberToObject(o, "mtu", a->mtu);
	if (sandbox)
		cJSON_AddStringToObject(o, "sandbox", sandbox);
	return o;
}

static cJSON *route_json(uint32_t dst, uint8_t len, uint32_t gw)
{
	char b[16], c[24];
	cJSON *o = cJSON_CreateObject();
	snprintf(c, sizeof(c), "%s/%u", sl_cni_fmt_ip(dst, b), len);
	cJSON_AddStringToObject(o, "dst", c);
	cJSON_AddStringToObject(o, "gw", sl_cni_fmt_ip(gw, b));
	return o;
}

cJSON *sl_cni_result_build(const struct sl_cni_attach *a, const cJSON *prev)
{
	char b[16], c[24];
	cJSON *r = cJSON_CreateObject();
	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "cniVersion", a->version);
	cJSON *ifs = add_array_copy(r, "interfaces", prev);
	cJSON *ips = add_array_copy(r, "ips", prev);
	cJSON *routes = add_array_copy(r, "routes", prev);
	if (!ifs || !ips || !routes) {
		cJSON_Delete(r);
		return NULL;
	}
	int base = cJSON_GetArraySize(ifs), pod_index = base + 1;
	unsigned len = 32;
	if (a->socket_path || !a->host_ifname) { /* vhost-user, tap: no host interface */
		cJSON *pod = iface_json(a, a->pod_ifname, a->pod_mac, a->netns);
		if (pod && a->socket_path && !strcmp(a->version, "1.1.0"))
			cJSON_AddStringToObject(pod, "socketPath", a->socket_path);
		cJSON_AddItemToArray(ifs, pod);
		pod_index = base;
		if (a->ipam && a->socket_path) /* a tap pod is a /32 as a veth pod */
			len = a->ipam->len;
	} else {
		cJSON_AddItemToArray(ifs, iface_json(a, a->host_ifname, a->host_mac, NULL));
		cJSON_AddItemToArray(ifs, iface_json(a, a->pod_ifname, a->pod_mac, a->netns));
	}

	cJSON *ip = cJSON_CreateObject();
	if (!strcmp(a->version, "0.4.0"))
		cJSON_AddStringToObject(ip, "version", "4");
	snprintf(c, sizeof(c), "%s/%u", sl_cni_fmt_ip(a->ip, b), len);
	cJSON_AddStringToObject(ip, "address", c);
	cJSON_AddStringToObject(ip, "gateway", sl_cni_fmt_ip(a->gateway, b));
	cJSON_AddNumberToObject(ip, "interface", pod_index);
	cJSON_AddItemToArray(ips, ip);

	cJSON_AddItemToArray(routes, route_json(0, 0, a->gateway));
	for (unsigned i = 0; a->ipam && i < a->ipam->n_routes; i++) {
		const struct sl_cni_route *rt = &a->ipam->routes[i];
		if (rt->len) /* the default route is already there */
			cJSON_AddItemToArray(routes, route_json(rt->dst, rt->len,
								rt->gw ? rt->gw : a->gateway));
	}

	const cJSON *dns = a->ipam ? a->ipam->dns : NULL;
	if (!dns)
		dns = cJSON_GetObjectItemCaseSensitive(prev, "dns");
	if (cJSON_IsObject(dns))
		cJSON_AddItemToObject(r, "dns", cJSON_Duplicate(dns, true));
	return r;
}

/* CHECK. */

int sl_cni_result_find_ip(const cJSON *prev, const char *ifname, const char *netns,
			  uint32_t *ret_ip, struct sl_cni_err *err)
{
	const cJSON *ifs = cJSON_GetObjectItemCaseSensitive(prev, "interfaces"), *it;
	int idx = -1, i = 0;
	cJSON_ArrayForEach(it, ifs)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "sandbox");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, ifname) && cJSON_IsString(s) &&
		    !strcmp(s->valuestring, netns))
			idx = i;
		i++;
	}
	if (idx < 0) {
		sl_cni_fail(err, SL_CNI_E_CONFIG, "prevResult.interfaces: no interface %s in %s",
			    ifname, netns);
		return -ENOENT;
	}
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(prev, "ips"), *ip;
	cJSON_ArrayForEach(ip, ips)
	{
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(ip, "address");
		uint8_t len;
		if (cJSON_IsNumber(at) && at->valueint == idx && cJSON_IsString(a) &&
		    sl_cni_parse_cidr(a->valuestring, ret_ip, &len) == 0)
			return 0;
	}
	sl_cni_fail(err, SL_CNI_E_CONFIG, "prevResult.ips: no IPv4 address for interface %d "
		    "(%s)", idx, ifname);
	return -ENOENT;
}

/* Errors. */

char *sl_cni_error_json(const char *version, const struct sl_cni_err *err)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "cniVersion", version);
	cJSON_AddNumberToObject(o, "code", err->code);
	cJSON_AddStringToObject(o, "msg", err->msg);
	if (err->details[0])
		cJSON_AddStringToObject(o, "details", err->details);
	char *s = cJSON_Print(o);
	cJSON_Delete(o);
	return s;
}
