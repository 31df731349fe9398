/* sluice-cni: the config's "ipam" section completed with sluiced's facts (see conf.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* IPAM section. */

const char *sl_cni_conf_ipam_type(const struct sl_cni_conf *c)
{
	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(c->root, "ipam");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ipam, "type");
	return cJSON_IsString(t) ? t->valuestring : "host-local";
}

static bool has(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return v && !cJSON_IsNull(v);
}

static bool ranges_usable(const cJSON *ranges)
{
	return cJSON_IsArray(ranges) && cJSON_GetArraySize(ranges) > 0;
}

bool sl_cni_conf_ipam_needs_node(const struct sl_cni_conf *c)
{
	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(c->root, "ipam");
	if (!ipam || cJSON_IsNull(ipam))
		return true;
	if (strcmp(sl_cni_conf_ipam_type(c), "host-local"))
		return false;
	const cJSON *ranges = cJSON_GetObjectItemCaseSensitive(ipam, "ranges");
	if (!ranges_usable(ranges))
		return !has(ipam, "subnet");
	const cJSON *set, *r;
	cJSON_ArrayForEach(set, ranges)
	{
		cJSON_ArrayForEach(r, set)
		{
			if (cJSON_IsObject(r) && !has(r, "subnet"))
				return true;
		}
	}
	return false;
}

/* Add subnet (and gateway if absent) to object o. */
static int inject(cJSON *o, const struct sl_cni_node *node)
{
	char net[24], gw[16];
	snprintf(net, sizeof(net), "%s/%u", sl_cni_fmt_ip(node->pod_net, gw), node->pod_len);
	sl_cni_fmt_ip(node->gateway, gw);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "subnet");
	if (!cJSON_AddStringToObject(o, "subnet", net))
		return -ENOMEM;
	if (!has(o, "gateway")) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "gateway");
		if (!cJSON_AddStringToObject(o, "gateway", gw))
			return -ENOMEM;
	}
	return 0;
}

static int inject_ipam(cJSON *root, const struct sl_cni_node *node)
{
	cJSON *ipam = cJSON_GetObjectItemCaseSensitive(root, "ipam");
	if (!ipam || cJSON_IsNull(ipam)) {
		cJSON_DeleteItemFromObjectCaseSensitive(root, "ipam");
		ipam = cJSON_AddObjectToObject(root, "ipam");
		if (!ipam || !cJSON_AddStringToObject(ipam, "type", "host-local"))
			return -ENOMEM;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ipam, "type");
	if (strcmp(t->valuestring, "host-local"))
		return 0;
	cJSON *ranges = cJSON_GetObjectItemCaseSensitive(ipam, "ranges");
	if (!ranges_usable(ranges)) {
		if (has(ipam, "subnet"))
			return 0;
		/* No ranges, no subnet: the legacy single-range form keeps a rangeStart/
		 * rangeEnd given at the section's top level meaningful. */
		bool legacy = has(ipam, "rangeStart") || has(ipam, "rangeEnd");
		if (legacy)
			return inject(ipam, node);
		cJSON_DeleteItemFromObjectCaseSensitive(ipam, "ranges");
		cJSON *outer = cJSON_AddArrayToObject(ipam, "ranges");
		cJSON *set = cJSON_CreateArray(), *r = cJSON_CreateObject();
		if (!outer || !set || !r) {
			cJSON_Delete(set);
			cJSON_Delete(r);
			return -ENOMEM;
		}
		cJSON_AddItemToArray(outer, set);
		cJSON_AddItemToArray(set, r);
		return inject(r, node);
	}
	cJSON *set, *r;
	cJSON_ArrayForEach(set, ranges)
	{
		cJSON_ArrayForEach(r, set)
		{
			if (cJSON_IsObject(r) && !has(r, "subnet") && inject(r, node) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int sl_cni_conf_ipam_text(struct sl_cni_conf *c, const struct sl_cni_node *node,
			  char **ret_text, struct sl_cni_err *err)
{
	*ret_text = NULL;
	if (sl_cni_conf_ipam_needs_node(c)) {
		if (!node) {
			sl_cni_fail(err, SL_CNI_E_TRY_AGAIN, "ipam: the pod subnet comes from sluiced, "
				    "which is not reachable");
			return -EAGAIN;
		}
		if (inject_ipam(c->root, node) < 0)
			return sl_cni_fail(err, SL_CNI_E_IO, "ipam: out of memory"), -ENOMEM;
	}
	*ret_text = cJSON_PrintUnformatted(c->root);
	if (!*ret_text)
		return sl_cni_fail(err, SL_CNI_E_IO, "ipam: out of memory"), -ENOMEM;
	return 0;
}

/* sluiced's facts. */

int sl_cni_node_parse(const cJSON *r, struct sl_cni_node *n, struct sl_cni_err *err)
{
	const cJSON *cidr = cJSON_GetObjectItemCaseSensitive(r, "pod_cidr");
	const cJSON *gw = cJSON_GetObjectItemCaseSensitive(r, "gateway");
	const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(r, "pod_mtu");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "node");
	memset(n, 0, sizeof(*n));
	if (!cJSON_IsString(cidr) || sl_cni_parse_cidr(cidr->valuestring, &n->pod_net,
						       &n->pod_len) < 0)
		return sl_cni_fail(err, SL_CNI_E_IO, "sluiced version: pod_cidr missing or invalid");
	n->pod_net &= sl_cni_mask(n->pod_len);
	if (!cJSON_IsString(gw) || sl_cni_parse_ip(gw->valuestring, &n->gateway) < 0)
		return sl_cni_fail(err, SL_CNI_E_IO, "sluiced version: gateway missing or invalid");
	if (!cJSON_IsNumber(mtu) || mtu->valuedouble < 68 || mtu->valuedouble > 65535)
		return sl_cni_fail(err, SL_CNI_E_IO, "sluiced version: pod_mtu missing or invalid");
	n->pod_mtu = (unsigned)mtu->valuedouble;
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(r, "af_xdp_mode");
	n->pod_csum_offload = cJSON_IsString(mode) && !strcmp(mode->valuestring, "skb");
	const cJSON *iface = cJSON_GetObjectItemCaseSensitive(r, "pod_interface");
	if (iface && (!cJSON_IsString(iface) || (strcmp(iface->valuestring, "veth") &&
						 strcmp(iface->valuestring, "tap"))))
		return sl_cni_fail(err, SL_CNI_E_IO, "sluiced version: pod_interface is not "
				   "\"veth\" or \"tap\"");
	n->pod_iface_tap = iface && !strcmp(iface->valuestring, "tap");
	const cJSON *rps = cJSON_GetObjectItemCaseSensitive(r, "tap_rps_cpus");
	if (rps && (!cJSON_IsString(rps) || !rps->valuestring[0] ||
		    strlen(rps->valuestring) >= sizeof(n->tap_rps_cpus) ||
		    strspn(rps->valuestring, "0123456789abcdef,") != strlen(rps->valuestring)))
		return sl_cni_fail(err, SL_CNI_E_IO, "sluiced version: tap_rps_cpus is not a CPU mask");
	if (rps)
		strcpy(n->tap_rps_cpus, rps->valuestring);
	if (cJSON_IsString(name))
		snprintf(n->name, sizeof(n->name), "%s", name->valuestring);
	return 0;
}
