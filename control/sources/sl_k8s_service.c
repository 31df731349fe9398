/* The v1 Service decoder (see sl_k8s.h): metadata, spec (type, cluster IPs, ports,
 * external IPs, affinity, traffic policies, source ranges) and status.loadBalancer. */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s.h"
#include "sl_k8s_at.h"

static int parse_svc_port(const cJSON *o, const struct at *a, struct sl_svc_port *p, char *err,
			  size_t n)
{
	static const char *const keys[] = { "name", "protocol", "port", "targetPort",
					    "nodePort" };
	const cJSON *m[5];
	long v = 0;
	if (sl_k8s_at_obj(o, a, err, n))
		return -EINVAL;
	sl_k8s_members(o, keys, 5, m);
	const struct at *an = AT(a, "name");
	if (sl_k8s_at_str(m[0], an, false, p->name, sizeof(p->name), err, n) ||
	    (p->name[0] && sl_k8s_at_name(p->name, an, 63, false, err, n)))
		return -EINVAL;
	if (sl_k8s_at_protocol(m[1], AT(a, "protocol"), &p->protocol, err, n) ||
	    sl_k8s_at_int(m[2], AT(a, "port"), true, 1, 65535, &v, err, n))
		return -EINVAL;
	p->port = (uint16_t)v;
	p->target_port = p->port; /* default: the port */
	const cJSON *t = m[3];
	const struct at *q = AT(a, "targetPort");
	if (IS_NUM(t)) {
		if (sl_k8s_at_int(t, q, true, 1, 65535, &v, err, n))
			return -EINVAL;
		p->target_port = (uint16_t)v;
	} else if (IS_STR(t)) {
		if (!sl_k8s_iana_svc_name(t->valuestring))
			return FAIL(q, "'%.32s' is not a port number or a port name "
				    "(IANA_SVC_NAME: 1-15 lower case alphanumerics and '-')",
				    t->valuestring);
		snprintf(p->target_name, sizeof(p->target_name), "%s", t->valuestring);
		p->target_port = 0;
	} else if (t) {
		return FAIL(q, "must be a port number or a port name");
	}
	v = 0;
	if (sl_k8s_at_int(m[4], AT(a, "nodePort"), false, 0, 65535, &v, err, n))
		return -EINVAL;
	p->node_port = (uint16_t)v;
	return 0;
}

static int parse_svc_spec(const cJSON *sp, const struct at *a, struct sl_svc_spec *s,
			  char *err, size_t n)
{
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer",
					     "ExternalName", NULL };
	static const char *const affinity[] = { "None", "ClientIP", NULL };
	static const char *const policy[] = { "Cluster", "Local", NULL };
	enum { TYPE, CIP, CIPS, PORTS, EXT_IPS, AFF, AFF_CONF, ETP, ITP, HC, RANGES, N };
	static const char *const keys[N] = { "type", "clusterIP", "clusterIPs", "ports",
					     "externalIPs", "sessionAffinity",
					     "sessionAffinityConfig", "externalTrafficPolicy",
					     "internalTrafficPolicy", "healthCheckNodePort",
					     "loadBalancerSourceRanges" };
	const cJSON *m[N], *e;
	unsigned c, i;
	long v;
	int t;
	sl_k8s_members(sp, keys, N, m);
	if ((t = sl_k8s_at_enum(m[TYPE], AT(a, "type"), types, "ClusterIP, NodePort, LoadBalancer, "
				"ExternalName", err, n)) < 0)
		return -EINVAL;
	s->type = (enum sl_svc_type)t;

	/* clusterIPs (dual-stack) or clusterIP; "None": headless. */
	const char *cip;
	size_t cip_len;
	const struct at *acip = AT(a, "clusterIP");
	if (sl_k8s_at_str_ref(m[CIP], acip, false, 64, &cip, &cip_len, err, n))
		return -EINVAL;
	s->headless = !strcmp(cip, "None");
	const cJSON *cips = m[CIPS];
	if (cips && IS_ARR(cips) && IS_STR(cips->child) &&
	    !strcmp(cips->child->valuestring, "None"))
		s->headless = true;
	if (!s->headless && cips) {
		if (sl_k8s_at_ips(cips, AT(a, "clusterIPs"), &s->cluster_ips, &s->n_cluster_ips,
				  err, n))
			return -EINVAL;
	} else if (!s->headless && cip[0]) {
		bool v4 = false;
		if (!(s->cluster_ips = calloc(1, sizeof(*s->cluster_ips))))
			return -ENOMEM;
		if (sl_k8s_at_addr(m[CIP], acip, &s->cluster_ips[0], &v4, err, n))
			return -EINVAL;
		s->n_cluster_ips = v4;
	}

	const struct at *ap = AT(a, "ports");
	if (sl_k8s_at_array(m[PORTS], ap, SL_SVC_MAX_PORTS, &c, err, n))
		return -EINVAL;
	if (c && !(s->ports = calloc(c, sizeof(*s->ports))))
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(e, m[PORTS])
	{
		struct sl_svc_port *pt = &s->ports[i];
		const struct at *q = AT_I(ap, i);
		if (parse_svc_port(e, q, pt, err, n))
			return -EINVAL;
		/* API validation: several ports must all be named, names and port/protocol
		 * pairs unique. */
		if (c > 1 && !pt->name[0])
			return FAIL(AT(q, "name"), "required when there are several ports");
		for (unsigned j = 0; j < i; j++) {
			if (pt->name[0] && !strcmp(pt->name, s->ports[j].name))
				return FAIL(AT(q, "name"), "'%s' duplicates ports[%u]", pt->name, j);
			if (pt->port == s->ports[j].port && pt->protocol == s->ports[j].protocol)
				return FAIL(AT(q, "port"), "%u duplicates ports[%u]", pt->port, j);
		}
		s->n_ports = ++i;
	}
	if (s->type != SL_SVC_NODE_PORT && s->type != SL_SVC_LOAD_BALANCER)
		for (i = 0; i < s->n_ports; i++)
			if (s->ports[i].node_port)
				return FAIL(AT(AT_I(ap, i), "nodePort"),
					    "only for type NodePort or LoadBalancer");

	if (sl_k8s_at_ips(m[EXT_IPS], AT(a, "externalIPs"), &s->external_ips, &s->n_external_ips,
			  err, n))
		return -EINVAL;

	if ((t = sl_k8s_at_enum(m[AFF], AT(a, "sessionAffinity"), affinity, "None, ClientIP", err,
				n)) < 0)
		return -EINVAL;
	s->affinity_client_ip = t == 1;
	s->affinity_timeout_s = SL_SVC_AFFINITY_DEFAULT_S;
	const cJSON *ac = m[AFF_CONF], *ci;
	if (ac) {
		const struct at *p = AT(a, "sessionAffinityConfig");
		if (sl_k8s_at_obj(ac, p, err, n))
			return -EINVAL;
		if ((ci = sl_k8s_get(ac, "clientIP"))) {
			const struct at *q = AT(p, "clientIP");
			v = SL_SVC_AFFINITY_DEFAULT_S;
			if (sl_k8s_at_obj(ci, q, err, n) ||
			    sl_k8s_at_int(sl_k8s_get(ci, "timeoutSeconds"), AT(q, "timeoutSeconds"),
					  false, 1, SL_SVC_AFFINITY_MAX_S, &v, err, n))
				return -EINVAL;
			s->affinity_timeout_s = (uint32_t)v;
		}
	}
	if ((t = sl_k8s_at_enum(m[ETP], AT(a, "externalTrafficPolicy"), policy, "Cluster, Local",
				err, n)) < 0)
		return -EINVAL;
	s->external_local = t == 1;
	if ((t = sl_k8s_at_enum(m[ITP], AT(a, "internalTrafficPolicy"), policy, "Cluster, Local",
				err, n)) < 0)
		return -EINVAL;
	s->internal_local = t == 1;
	v = 0;
	if (sl_k8s_at_int(m[HC], AT(a, "healthCheckNodePort"), false, 0, 65535, &v, err, n))
		return -EINVAL;
	s->health_check_node_port = (uint16_t)v;

	const struct at *ar = AT(a, "loadBalancerSourceRanges");
	if (sl_k8s_at_array(m[RANGES], ar, SL_SVC_MAX_SOURCE_RANGES, &c, err, n))
		return -EINVAL;
	if (c && !(s->source_ranges = calloc(c, sizeof(*s->source_ranges))))
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(e, m[RANGES])
	{
		/* As kube-proxy: spaces trimmed, host bits allowed (cleared here). */
		char txt[64], *slash;
		struct sl_cidr cidr;
		struct sl_ip ip;
		const struct at *q = AT_I(ar, i++);
		if (!IS_STR(e) || strlen(e->valuestring) >= sizeof(txt))
			return FAIL(q, "must be a CIDR string");
		const char *st = e->valuestring;
		while (*st == ' ')
			st++;
		snprintf(txt, sizeof(txt), "%s", st);
		for (size_t k = strlen(txt); k && txt[k - 1] == ' '; k--)
			txt[k - 1] = 0;
		char *end;
		long len = (slash = strchr(txt, '/')) ? strtol(slash + 1, &end, 10) : -1;
		if (slash)
			*slash = 0;
		if (!slash || *end || end == slash + 1 || sl_ip_parse(txt, true, &ip) ||
		    len < 0 || len > (ip.af == AF_INET ? 32 : 128))
			return FAIL(q, "'%.48s' is not a CIDR a.b.c.d/len", e->valuestring);
		if (ip.af != AF_INET)
			continue;
		uint32_t mask = len ? htonl(~0u << (32 - len)) : 0;
		cidr = sl_cidr4(ip.v4 & mask, (uint8_t)len);
		s->source_ranges[s->n_source_ranges++] = cidr;
	}
	return 0;
}

static int parse_lb_status(const cJSON *st, const struct at *obj, struct sl_svc_spec *s,
			   char *err, size_t n)
{
	const cJSON *lb, *e;
	unsigned c, i = 0;
	if (!st)
		return 0;
	const struct at *p = AT(obj, "status");
	if (sl_k8s_at_obj(st, p, err, n))
		return -EINVAL;
	if (!(lb = sl_k8s_get(st, "loadBalancer")))
		return 0;
	const struct at *q = AT(p, "loadBalancer"), *ai = AT(q, "ingress");
	const cJSON *a = sl_k8s_get(lb, "ingress");
	if (sl_k8s_at_obj(lb, q, err, n) || sl_k8s_at_array(a, ai, SL_SVC_MAX_IPS, &c, err, n))
		return -EINVAL;
	if (c && !(s->lb_ips = calloc(c, sizeof(*s->lb_ips))))
		return -ENOMEM;
	cJSON_ArrayForEach(e, a)
	{
		const cJSON *ip;
		bool v4 = false;
		const struct at *r = AT_I(ai, i++);
		if (sl_k8s_at_obj(e, r, err, n))
			return -EINVAL;
		if (!(ip = sl_k8s_get(e, "ip"))) /* hostname-only ingress: nothing for this node */
			continue;
		if (sl_k8s_at_addr(ip, AT(r, "ip"), &s->lb_ips[s->n_lb_ips], &v4, err, n))
			return -EINVAL;
		s->n_lb_ips += v4;
	}
	return 0;
}

/* A Service: o with its members m (sl_k8s_obj_keys). */
int sl_k8s_service_of(const cJSON *o, const cJSON *const *m, const struct at *a,
		      struct sl_svc_spec **ret, char *err, size_t n)
{
	*ret = NULL;
	if (sl_k8s_at_obj(o, a, err, n) ||
	    sl_k8s_at_kind(m[K_KIND], m[K_API], a, "Service", "v1", err, n))
		return -EINVAL;
	struct sl_svc_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = sl_k8s_at_meta(m[K_META], a, s->name, sizeof(s->name), true, s->namespace,
				SL_K8S_LABEL_PROXY_NAME, NULL, 0, &s->other_proxy, err, n);
	const cJSON *sp = m[K_SPEC];
	const struct at *p = AT(a, "spec");
	if (!rc && !sp)
		rc = FAIL(p, "missing");
	if (!rc)
		rc = sl_k8s_at_obj(sp, p, err, n);
	if (!rc)
		rc = parse_svc_spec(sp, p, s, err, n);
	if (!rc)
		rc = parse_lb_status(m[K_STATUS], a, s, err, n);
	if (rc) {
		sl_svc_spec_free(s);
		return sl_k8s_at_nomem(rc, a, err, n);
	}
	*ret = s;
	return 0;
}

int sl_k8s_parse_service(const cJSON *o, const char *base, struct sl_svc_spec **ret, char *err,
			 size_t n)
{
	const cJSON *m[K_N];
	sl_k8s_members(IS_OBJ(o) ? o : NULL, sl_k8s_obj_keys, K_N, m);
	return sl_k8s_service_of(o, m, AT(NULL, base), ret, err, n);
}
