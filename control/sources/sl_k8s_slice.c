/* The discovery.k8s.io/v1 EndpointSlice decoder (see sl_k8s.h): metadata, addressType,
 * endpoints (addresses, conditions, nodeName, zone) and ports. */
#include <errno.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s.h"
#include "sl_k8s_at.h"

/* conditions.x (v): true, false, or absent/null (def). */
static int get_cond(const cJSON *v, const struct at *a, bool def, bool *ret, char *err,
		    size_t n)
{
	if (!v)
		return *ret = def, 0;
	if (!IS_BOOL(v))
		return FAIL(a, "must be true, false or null");
	*ret = IS_TRUE(v);
	return 0;
}

/* One endpoint; its nodeName and zone are left pointing into the JSON (*ret_bytes: their
 * sizes) for parse_slice_body to copy. */
static int parse_endpoint(const cJSON *o, const struct at *a, uint8_t af,
			  struct sl_slice_ep *ep, size_t *ret_bytes, char *err, size_t n)
{
	static const char *const keys[] = { "addresses", "conditions", "nodeName", "zone" };
	static const char *const cond_keys[] = { "ready", "serving", "terminating" };
	const cJSON *m[4], *e;
	unsigned cnt, i = 0;
	if (sl_k8s_at_obj(o, a, err, n))
		return -EINVAL;
	sl_k8s_members(o, keys, 4, m);
	const struct at *p = AT(a, "addresses");
	if (sl_k8s_at_array(m[0], p, 100, &cnt, err, n))
		return -EINVAL;
	if (!cnt)
		return FAIL(p, "must have 1-100 entries");
	cJSON_ArrayForEach(e, m[0])
	{
		struct sl_ip ip;
		if (!IS_STR(e))
			return FAIL(AT_I(p, i), "must be a string");
		if (af && (sl_k8s_ip_parse(e->valuestring, &ip) || ip.af != af))
			return FAIL(AT_I(p, i), "'%.48s' is not an %s address", e->valuestring,
				    af == AF_INET ? "IPv4" : "IPv6");
		if (af && i == 0)
			ep->ip = ip; /* kube-proxy uses addresses[0] */
		i++;
	}
	bool ready = true, serving = true, terminating = false;
	const cJSON *c = m[1];
	if (c) {
		const cJSON *cm[3];
		const struct at *q = AT(a, "conditions");
		if (sl_k8s_at_obj(c, q, err, n))
			return -EINVAL;
		sl_k8s_members(c, cond_keys, 3, cm);
		if (get_cond(cm[0], AT(q, "ready"), true, &ready, err, n) ||
		    get_cond(cm[1], AT(q, "serving"), ready, &serving, err, n) ||
		    get_cond(cm[2], AT(q, "terminating"), false, &terminating, err, n))
			return -EINVAL;
	} else {
		serving = ready;
	}
	ep->cond = (uint8_t)((ready ? SL_EP_READY : 0) | (serving ? SL_EP_SERVING : 0) |
			     (terminating ? SL_EP_TERMINATING : 0));
	const char *s;
	size_t len;
	if (sl_k8s_at_str_ref(m[2], AT(a, "nodeName"), false, SL_K8S_NAME_MAX, &s, &len, err, n))
		return -EINVAL;
	if (len) {
		ep->node_name = (char *)s;
		*ret_bytes += len + 1;
	}
	if (sl_k8s_at_str_ref(m[3], AT(a, "zone"), false, 64, &s, &len, err, n))
		return -EINVAL;
	if (len) {
		ep->zone = (char *)s;
		*ret_bytes += len + 1;
	}
	return 0;
}

/* Copy the endpoints' strings (still the JSON's) behind the endpoints, in their block
 * (sl_slice_spec_free frees it with them). */
static int own_strings(struct sl_slice_spec *s, unsigned cap, size_t bytes)
{
	size_t at = (size_t)cap * sizeof(*s->eps);
	struct sl_slice_ep *eps = realloc(s->eps, at + bytes);
	if (!eps)
		return -ENOMEM;
	s->eps = eps;
	char *p = (char *)eps + at;
	for (unsigned i = 0; i < s->n_eps; i++) {
		char **str[2] = { &eps[i].node_name, &eps[i].zone };
		for (int k = 0; k < 2; k++) {
			if (!*str[k])
				continue;
			size_t l = strlen(*str[k]) + 1;
			memcpy(p, *str[k], l);
			*str[k] = p;
			p += l;
		}
	}
	return 0;
}

static int parse_slice_body(const cJSON *const *m, const struct at *a, struct sl_slice_spec *s,
			    char *err, size_t n)
{
	static const char *const types[] = { "IPv4", "IPv6", "FQDN", NULL };
	static const char *const port_keys[] = { "name", "protocol", "port" };
	const cJSON *e;
	unsigned c, i;
	long v;
	const struct at *at_type = AT(a, "addressType");
	if (!m[K_ADDR_TYPE])
		return FAIL(at_type, "missing");
	int t = sl_k8s_at_enum(m[K_ADDR_TYPE], at_type, types, "IPv4, IPv6, FQDN", err, n);
	if (t < 0)
		return -EINVAL;
	s->af = t == 0 ? AF_INET : t == 1 ? AF_INET6 : 0;
	const struct at *p = AT(a, "endpoints");
	if (sl_k8s_at_array(m[K_ENDPOINTS], p, SL_SLICE_MAX_ENDPOINTS, &c, err, n))
		return -EINVAL;
	if (c && !(s->eps = calloc(c, sizeof(*s->eps))))
		return -ENOMEM;
	i = 0;
	size_t bytes = 0;
	int rc = 0;
	cJSON_ArrayForEach(e, m[K_ENDPOINTS])
	{
		s->n_eps = i + 1; /* freed with the spec even when half parsed */
		if ((rc = parse_endpoint(e, AT_I(p, i), s->af, &s->eps[i], &bytes, err, n)))
			break;
		i++;
	}
	/* The strings are the JSON's until copied: copied, or dropped on an error. */
	if (bytes && (rc || own_strings(s, c, bytes))) {
		for (i = 0; i < s->n_eps; i++)
			s->eps[i].node_name = s->eps[i].zone = NULL;
		if (!rc)
			return -ENOMEM;
	}
	if (rc)
		return rc;
	p = AT(a, "ports");
	if (sl_k8s_at_array(m[K_PORTS], p, SL_SLICE_MAX_PORTS, &c, err, n))
		return -EINVAL;
	if (c && !(s->ports = calloc(c, sizeof(*s->ports))))
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(e, m[K_PORTS])
	{
		struct sl_slice_port *pt = &s->ports[i];
		const struct at *q = AT_I(p, i);
		const cJSON *pm[3];
		if (sl_k8s_at_obj(e, q, err, n))
			return -EINVAL;
		sl_k8s_members(e, port_keys, 3, pm);
		const struct at *qn = AT(q, "name");
		if (sl_k8s_at_str(pm[0], qn, false, pt->name, sizeof(pt->name), err, n) ||
		    (pt->name[0] && sl_k8s_at_name(pt->name, qn, 63, false, err, n)) ||
		    sl_k8s_at_protocol(pm[1], AT(q, "protocol"), &pt->protocol, err, n))
			return -EINVAL;
		v = 0;
		if (sl_k8s_at_int(pm[2], AT(q, "port"), false, 1, 65535, &v, err, n))
			return -EINVAL;
		pt->port = (uint16_t)v;
		s->n_ports = ++i;
	}
	return 0;
}

/* An EndpointSlice: o with its members m (sl_k8s_obj_keys). */
int sl_k8s_slice_of(const cJSON *o, const cJSON *const *m, const struct at *a,
		    struct sl_slice_spec **ret, char *err, size_t n)
{
	*ret = NULL;
	if (sl_k8s_at_obj(o, a, err, n) ||
	    sl_k8s_at_kind(m[K_KIND], m[K_API], a, "EndpointSlice", "discovery.k8s.io/v1", err, n))
		return -EINVAL;
	struct sl_slice_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = sl_k8s_at_meta(m[K_META], a, s->name, sizeof(s->name), false, s->namespace,
				SL_K8S_LABEL_SERVICE_NAME, s->service, sizeof(s->service), NULL, err,
				n);
	if (!rc)
		rc = parse_slice_body(m, a, s, err, n);
	if (rc) {
		sl_slice_spec_free(s);
		return sl_k8s_at_nomem(rc, a, err, n);
	}
	*ret = s;
	return 0;
}

int sl_k8s_parse_slice(const cJSON *o, const char *base, struct sl_slice_spec **ret, char *err,
		       size_t n)
{
	const cJSON *m[K_N];
	sl_k8s_members(IS_OBJ(o) ? o : NULL, sl_k8s_obj_keys, K_N, m);
	return sl_k8s_slice_of(o, m, AT(NULL, base), ret, err, n);
}
