/* The decoder of v1 Node objects (see sl_kube_node.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_kube_node.h"

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNull(v) ? NULL : v;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 || strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int pod_cidr(const cJSON *spec, struct sl_kube_node *n, char *err, size_t errlen)
{
	const cJSON *a = get(spec, "podCIDRs"), *v;
	unsigned i = 0;
	if (a && !cJSON_IsArray(a))
		return fail(err, errlen, "spec.podCIDRs: not an array");
	cJSON_ArrayForEach(v, a) {
		struct sl_cidr c;
		if (!cJSON_IsString(v) || sl_cidr_parse(v->valuestring, true, &c) < 0)
			return fail(err, errlen, "spec.podCIDRs[%u]: not a CIDR", i);
		if (c.addr.af == AF_INET && !n->has_pod_cidr) {
			n->spec.pod_cidr = c;
			n->has_pod_cidr = true;
		}
		i++;
	}
	if ((v = get(spec, "podCIDR")) && !n->has_pod_cidr) {
		struct sl_cidr c;
		if (!cJSON_IsString(v) || sl_cidr_parse(v->valuestring, true, &c) < 0)
			return fail(err, errlen, "spec.podCIDR: not a CIDR");
		if (c.addr.af == AF_INET) {
			n->spec.pod_cidr = c;
			n->has_pod_cidr = true;
		}
	}
	return 0;
}

static int internal_ip(const cJSON *status, struct sl_kube_node *n, char *err, size_t errlen)
{
	const cJSON *a = get(status, "addresses"), *e;
	unsigned i = 0;
	if (a && !cJSON_IsArray(a))
		return fail(err, errlen, "status.addresses: not an array");
	cJSON_ArrayForEach(e, a) {
		const cJSON *t = get(e, "type"), *ad = get(e, "address");
		struct sl_ip ip;
		if (!cJSON_IsString(t) || !cJSON_IsString(ad))
			return fail(err, errlen, "status.addresses[%u]: type and address must be "
				    "strings", i);
		if (!strcmp(t->valuestring, "InternalIP") && !n->has_ip) {
			if (sl_ip_parse(ad->valuestring, true, &ip) < 0)
				return fail(err, errlen, "status.addresses[%u].address: not an IP "
					    "address", i);
			if (ip.af == AF_INET) {
				n->spec.ip = ip;
				n->has_ip = true;
			}
		}
		i++;
	}
	return 0;
}

static int flannel(const cJSON *ann, struct sl_kube_node *n, char *err, size_t errlen)
{
	const cJSON *v;
	if ((v = get(ann, SL_KUBE_ANN_PUBLIC_IP))) {
		struct sl_ip ip;
		if (!cJSON_IsString(v) || sl_ip_parse(v->valuestring, false, &ip) < 0)
			return fail(err, errlen, "metadata.annotations[" SL_KUBE_ANN_PUBLIC_IP
				    "]: not an IPv4 address");
		n->spec.ip = ip;
		n->has_ip = true;
	}
	if ((v = get(ann, SL_KUBE_ANN_BACKEND_TYPE))) {
		if (!cJSON_IsString(v))
			return fail(err, errlen, "metadata.annotations[" SL_KUBE_ANN_BACKEND_TYPE
				    "]: not a string");
		n->vxlan = !strcmp(v->valuestring, "vxlan");
	}
	if (!n->vxlan || !(v = get(ann, SL_KUBE_ANN_BACKEND_DATA)))
		return 0;
#define BD "metadata.annotations[" SL_KUBE_ANN_BACKEND_DATA "]"
	if (!cJSON_IsString(v) || strlen(v->valuestring) > 4096)
		return fail(err, errlen, BD ": not a string of at most 4096 bytes");
	cJSON *d = cJSON_Parse(v->valuestring);
	int rc = 0;
	if (!cJSON_IsObject(d)) {
		rc = fail(err, errlen, BD ": not a JSON object");
		goto out;
	}
	const cJSON *vni = get(d, "VNI"), *mac = get(d, "VtepMAC");
	if (vni) {
		if (!cJSON_IsNumber(vni) || vni->valuedouble < 0 || vni->valuedouble > 0xffffff ||
		    vni->valuedouble != (double)(uint32_t)vni->valuedouble) {
			rc = fail(err, errlen, BD ".VNI: must be an integer 0-16777215");
			goto out;
		}
		n->vni = (uint32_t)vni->valuedouble;
		n->has_vni = true;
	}
	if (mac) {
		if (!cJSON_IsString(mac) || parse_mac(mac->valuestring, n->spec.vtep_mac) < 0) {
			rc = fail(err, errlen, BD ".VtepMAC: not a MAC address (aa:bb:cc:dd:ee:ff)");
			goto out;
		}
		n->spec.has_vtep_mac = true;
	}
#undef BD
out:
	cJSON_Delete(d);
	return rc;
}

int sl_kube_node_decode(const cJSON *o, struct sl_kube_node *ret, char *err, size_t errlen)
{
	struct sl_kube_node n = { 0 };
	const cJSON *md = get(o, "metadata"), *name = get(md, "name"), *ann = get(md, "annotations");
	const cJSON *spec = get(o, "spec"), *status = get(o, "status");
	int rc;
	if (!cJSON_IsObject(o))
		return fail(err, errlen, "not an object");
	if (!cJSON_IsString(name) || !name->valuestring[0])
		return fail(err, errlen, "metadata.name: required");
	if (strlen(name->valuestring) >= sizeof(n.spec.name))
		return fail(err, errlen, "metadata.name: longer than %zu bytes",
			    sizeof(n.spec.name) - 1);
	strcpy(n.spec.name, name->valuestring);
	if (ann && !cJSON_IsObject(ann))
		return fail(err, errlen, "metadata.annotations: not an object");
	if (spec && !cJSON_IsObject(spec))
		return fail(err, errlen, "spec: not an object");
	if (status && !cJSON_IsObject(status))
		return fail(err, errlen, "status: not an object");
	if ((rc = pod_cidr(spec, &n, err, errlen)) < 0 ||
	    (rc = internal_ip(status, &n, err, errlen)) < 0 ||
	    (rc = flannel(ann, &n, err, errlen)) < 0)
		return rc;
	*ret = n;
	return 0;
}

static void pub_values(const struct sl_kube_node_pub *pub, char *ip, char *data, size_t dlen)
{
	sl_ip_fmt(pub->ip, ip);
	snprintf(data, dlen, "{\"VNI\":%u,\"VtepMAC\":\"%02x:%02x:%02x:%02x:%02x:%02x\"}",
		 pub->vni, pub->mac[0], pub->mac[1], pub->mac[2], pub->mac[3], pub->mac[4],
		 pub->mac[5]);
}

static bool has(const cJSON *ann, const char *k, const char *want)
{
	const cJSON *v = get(ann, k);
	return cJSON_IsString(v) && !strcmp(v->valuestring, want);
}

bool sl_kube_node_published(const cJSON *o, const struct sl_kube_node_pub *pub)
{
	char ip[SL_IP_STR_MAX], data[96];
	const cJSON *ann = get(get(o, "metadata"), "annotations");
	pub_values(pub, ip, data, sizeof(data));
	return has(ann, SL_KUBE_ANN_BACKEND_TYPE, "vxlan") && has(ann, SL_KUBE_ANN_PUBLIC_IP, ip) &&
	       has(ann, SL_KUBE_ANN_BACKEND_DATA, data) && has(ann, SL_KUBE_ANN_SUBNET_MGR, "true");
}

char *sl_kube_node_patch(const struct sl_kube_node_pub *pub)
{
	char ip[SL_IP_STR_MAX], data[96];
	pub_values(pub, ip, data, sizeof(data));
	cJSON *p = cJSON_CreateObject();
	cJSON *a = cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations");
	cJSON_AddStringToObject(a, SL_KUBE_ANN_BACKEND_TYPE, "vxlan");
	cJSON_AddStringToObject(a, SL_KUBE_ANN_BACKEND_DATA, data);
	cJSON_AddStringToObject(a, SL_KUBE_ANN_PUBLIC_IP, ip);
	cJSON_AddStringToObject(a, SL_KUBE_ANN_SUBNET_MGR, "true");
	char *s = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	return s;
}
