/* Kubernetes object decoder (see sl_k8s.h). */
#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_field.h"
#include "sl_k8s_policy.h"

#define LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define LABEL_PROXY_NAME "service.kubernetes.io/service-proxy-name"

/* An integer in [min, max]; *out unchanged when absent. */
static int get_int(const cJSON *o, const char *base, const char *key, bool required,
		   long min, long max, long *out, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *v = sl_k8s_get(o, key);
	if (!v)
		return required ? sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "missing") : 0;
	if (!cJSON_IsNumber(v))
		return sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "must be an integer");
	if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max)) /* NaN too; */
		return sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "must be %ld-%ld", min, max);
	if (v->valuedouble != (double)(long)v->valuedouble)
		return sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "must be an integer");
	*out = (long)v->valuedouble;
	return 0;
}

/* RFC 1123 label (lowercase alphanumerics and '-', alphanumeric at both ends); rfc1035
 * also wants a letter first. Returns a reason or NULL. */
static const char *dns_label(const char *s, size_t max, bool rfc1035)
{
	size_t len = strlen(s);
	if (!len)
		return "must not be empty";
	if (len > max)
		return max == 63 ? "longer than 63 characters" : "too long";
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      (s[i] == '.' && max > 63)))
			return "must consist of lower case alphanumerics, '-' (and '.' in names)";
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return "must start and end with an alphanumeric character";
	if (rfc1035 && !islower((unsigned char)s[0]))
		return "must start with a letter";
	return NULL;
}

static int check_name(const char *s, const char *path, size_t max, bool rfc1035, char *err,
		      size_t n)
{
	const char *why = dns_label(s, max, rfc1035);
	return why ? sl_k8s_fail(err, n, path, "'%.64s' %s", s, why) : 0;
}

/* metadata: name, namespace (default "default"), and one label. */
static int parse_meta(const cJSON *o, const char *base, char *name, size_t name_max,
		      bool name_1035, char *ns, const char *label, char *label_out,
		      size_t label_max, bool *label_set, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX];
	const cJSON *md = sl_k8s_get(o, "metadata");
	sl_k8s_sub(p, base, "metadata");
	if (!md)
		return sl_k8s_fail(err, n, p, "missing");
	if (sl_k8s_want_obj(md, p, err, n))
		return -EINVAL;
	if (sl_k8s_get_str(md, p, "name", true, name, name_max, err, n) ||
	    check_name(name, sl_k8s_sub(q, p, "name"), name_max - 1 > 63 ? 253 : 63, name_1035, err, n))
		return -EINVAL;
	if (sl_k8s_get_str(md, p, "namespace", false, ns, SL_K8S_NS_MAX, err, n))
		return -EINVAL;
	if (!ns[0])
		snprintf(ns, SL_K8S_NS_MAX, "default");
	else if (check_name(ns, sl_k8s_sub(q, p, "namespace"), 63, false, err, n))
		return -EINVAL;
	const cJSON *labels = sl_k8s_get(md, "labels");
	if (!labels)
		return 0;
	if (sl_k8s_want_obj(labels, sl_k8s_sub(q, p, "labels"), err, n))
		return -EINVAL;
	const cJSON *v = sl_k8s_get(labels, label);
	if (!v)
		return 0;
	size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
	if (!cJSON_IsString(v) || (label_out && len >= label_max)) {
		if (snprintf(r, sizeof(r), "%s[\"%s\"]", q, label) < 0)
			r[0] = 0;
		return cJSON_IsString(v) ? sl_k8s_fail(err, n, r, "longer than %zu characters",
						 label_max - 1)
					 : sl_k8s_fail(err, n, r, "must be a string");
	}
	if (label_set)
		*label_set = true;
	if (label_out)
		memcpy(label_out, v->valuestring, len + 1);
	return 0;
}

/* An IPv4 address into *ret (true), an IPv6 one skipped (false), else an error. */
static int parse_addr(const cJSON *v, const char *path, struct sl_ip *ret, bool *ret_v4,
		      char *err, size_t n)
{
	struct sl_ip ip;
	if (!cJSON_IsString(v))
		return sl_k8s_fail(err, n, path, "must be a string");
	if (sl_ip_parse(v->valuestring, true, &ip))
		return sl_k8s_fail(err, n, path, "'%.48s' is not an IP address", v->valuestring);
	*ret_v4 = ip.af == AF_INET;
	*ret = ip;
	return 0;
}

/* An array of address strings into a heap array of the IPv4 ones. */
static int parse_ips(const cJSON *o, const char *base, const char *key, struct sl_ip **ret,
		     unsigned *ret_n, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX];
	const cJSON *a, *e;
	unsigned c, i = 0;
	if (sl_k8s_get_array(o, base, key, SL_SVC_MAX_IPS, &a, &c, err, n))
		return -EINVAL;
	if (!c)
		return 0;
	if (!(*ret = calloc(c, sizeof(**ret))))
		return -ENOMEM;
	sl_k8s_sub(p, base, key);
	cJSON_ArrayForEach(e, a)
	{
		bool v4 = false;
		if (parse_addr(e, sl_k8s_idx(q, p, i++), &(*ret)[*ret_n], &v4, err, n))
			return -EINVAL;
		*ret_n += v4;
	}
	return 0;
}

static int parse_svc_port(const cJSON *o, const char *path, struct sl_svc_port *p, char *err,
			  size_t n)
{
	char q[SL_K8S_PATH_MAX];
	long v = 0;
	if (sl_k8s_want_obj(o, path, err, n))
		return -EINVAL;
	if (sl_k8s_get_str(o, path, "name", false, p->name, sizeof(p->name), err, n) ||
	    (p->name[0] && check_name(p->name, sl_k8s_sub(q, path, "name"), 63, false, err, n)))
		return -EINVAL;
	if (sl_k8s_parse_protocol(o, path, &p->protocol, err, n) ||
	    get_int(o, path, "port", true, 1, 65535, &v, err, n))
		return -EINVAL;
	p->port = (uint16_t)v;
	p->target_port = p->port; /* default: the port */
	const cJSON *t = sl_k8s_get(o, "targetPort");
	sl_k8s_sub(q, path, "targetPort");
	if (cJSON_IsNumber(t)) {
		if (get_int(o, path, "targetPort", true, 1, 65535, &v, err, n))
			return -EINVAL;
		p->target_port = (uint16_t)v;
	} else if (cJSON_IsString(t)) {
		if (!sl_k8s_iana_svc_name(t->valuestring))
			return sl_k8s_fail(err, n, q, "'%.32s' is not a port number or a port name "
				    "(IANA_SVC_NAME: 1-15 lower case alphanumerics and '-')",
				    t->valuestring);
		snprintf(p->target_name, sizeof(p->target_name), "%s", t->valuestring);
		p->target_port = 0;
	} else if (t) {
		return sl_k8s_fail(err, n, q, "must be a port number or a port name");
	}
	v = 0;
	if (get_int(o, path, "nodePort", false, 0, 65535, &v, err, n))
		return -EINVAL;
	p->node_port = (uint16_t)v;
	return 0;
}

/* Choice among strings; "" or absent gives the first. Returns the index or -EINVAL. */
static int get_enum(const cJSON *o, const char *base, const char *key,
		    const char *const *choices, const char *list, char *err, size_t n)
{
	char s[32], p[SL_K8S_PATH_MAX];
	if (sl_k8s_get_str(o, base, key, false, s, sizeof(s), err, n))
		return -EINVAL;
	if (!s[0])
		return 0;
	for (int i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return i;
	return sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "'%s' is not one of %s", s, list);
}

static int parse_svc_spec(const cJSON *sp, const char *base, struct sl_svc_spec *s, char *err,
			  size_t n)
{
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer",
					     "ExternalName", NULL };
	static const char *const affinity[] = { "None", "ClientIP", NULL };
	static const char *const policy[] = { "Cluster", "Local", NULL };
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX];
	const cJSON *a, *e;
	unsigned c, i;
	long v;
	int t;
	if ((t = get_enum(sp, base, "type", types, "ClusterIP, NodePort, LoadBalancer, "
			  "ExternalName", err, n)) < 0)
		return -EINVAL;
	s->type = (enum sl_svc_type)t;

	/* clusterIPs (dual-stack) or clusterIP; "None": headless. */
	char cip[64];
	if (sl_k8s_get_str(sp, base, "clusterIP", false, cip, sizeof(cip), err, n))
		return -EINVAL;
	s->headless = !strcmp(cip, "None");
	const cJSON *cips = sl_k8s_get(sp, "clusterIPs");
	if (cips && cJSON_IsArray(cips) && cJSON_IsString(cips->child) &&
	    !strcmp(cips->child->valuestring, "None"))
		s->headless = true;
	if (!s->headless && cips) {
		if (parse_ips(sp, base, "clusterIPs", &s->cluster_ips, &s->n_cluster_ips, err, n))
			return -EINVAL;
	} else if (!s->headless && cip[0]) {
		bool v4 = false;
		if (!(s->cluster_ips = calloc(1, sizeof(*s->cluster_ips))))
			return -ENOMEM;
		if (parse_addr(sl_k8s_get(sp, "clusterIP"), sl_k8s_sub(p, base, "clusterIP"), &s->cluster_ips[0],
			       &v4, err, n))
			return -EINVAL;
		s->n_cluster_ips = v4;
	}

	if (sl_k8s_get_array(sp, base, "ports", SL_SVC_MAX_PORTS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->ports = calloc(c, sizeof(*s->ports))))
		return -ENOMEM;
	sl_k8s_sub(p, base, "ports");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		struct sl_svc_port *pt = &s->ports[i];
		sl_k8s_idx(q, p, i);
		if (parse_svc_port(e, q, pt, err, n))
			return -EINVAL;
		/* API validation: several ports must all be named, names and port/protocol
		 * pairs unique. */
		if (c > 1 && !pt->name[0])
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "name"), "required when there are several ports");
		for (unsigned j = 0; j < i; j++) {
			if (pt->name[0] && !strcmp(pt->name, s->ports[j].name))
				return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "name"), "'%s' duplicates ports[%u]",
					    pt->name, j);
			if (pt->port == s->ports[j].port && pt->protocol == s->ports[j].protocol)
				return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "port"), "%u duplicates ports[%u]",
					    pt->port, j);
		}
		s->n_ports = ++i;
	}
	if (s->type != SL_SVC_NODE_PORT && s->type != SL_SVC_LOAD_BALANCER)
		for (i = 0; i < s->n_ports; i++)
			if (s->ports[i].node_port)
				return sl_k8s_fail(err, n, sl_k8s_sub(r, sl_k8s_idx(q, p, i), "nodePort"),
					    "only for type NodePort or LoadBalancer");

	if (parse_ips(sp, base, "externalIPs", &s->external_ips, &s->n_external_ips, err, n))
		return -EINVAL;

	if ((t = get_enum(sp, base, "sessionAffinity", affinity, "None, ClientIP", err, n)) < 0)
		return -EINVAL;
	s->affinity_client_ip = t == 1;
	s->affinity_timeout_s = SL_SVC_AFFINITY_DEFAULT_S;
	const cJSON *ac = sl_k8s_get(sp, "sessionAffinityConfig"), *ci;
	if (ac) {
		sl_k8s_sub(p, base, "sessionAffinityConfig");
		if (sl_k8s_want_obj(ac, p, err, n))
			return -EINVAL;
		if ((ci = sl_k8s_get(ac, "clientIP"))) {
			sl_k8s_sub(q, p, "clientIP");
			v = SL_SVC_AFFINITY_DEFAULT_S;
			if (sl_k8s_want_obj(ci, q, err, n) ||
			    get_int(ci, q, "timeoutSeconds", false, 1, SL_SVC_AFFINITY_MAX_S, &v, err,
				    n))
				return -EINVAL;
			s->affinity_timeout_s = (uint32_t)v;
		}
	}
	if ((t = get_enum(sp, base, "externalTrafficPolicy", policy, "Cluster, Local", err, n)) < 0)
		return -EINVAL;
	s->external_local = t == 1;
	if ((t = get_enum(sp, base, "internalTrafficPolicy", policy, "Cluster, Local", err, n)) < 0)
		return -EINVAL;
	s->internal_local = t == 1;
	v = 0;
	if (get_int(sp, base, "healthCheckNodePort", false, 0, 65535, &v, err, n))
		return -EINVAL;
	s->health_check_node_port = (uint16_t)v;

	if (sl_k8s_get_array(sp, base, "loadBalancerSourceRanges", SL_SVC_MAX_SOURCE_RANGES, &a, &c, err,
		      n))
		return -EINVAL;
	if (c && !(s->source_ranges = calloc(c, sizeof(*s->source_ranges))))
		return -ENOMEM;
	sl_k8s_sub(p, base, "loadBalancerSourceRanges");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		/* As kube-proxy: spaces trimmed, host bits allowed (cleared here). */
		char txt[64], *slash;
		struct sl_cidr cidr;
		struct sl_ip ip;
		sl_k8s_idx(q, p, i++);
		if (!cJSON_IsString(e) || strlen(e->valuestring) >= sizeof(txt))
			return sl_k8s_fail(err, n, q, "must be a CIDR string");
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
			return sl_k8s_fail(err, n, q, "'%.48s' is not a CIDR a.b.c.d/len", e->valuestring);
		if (ip.af != AF_INET)
			continue;
		uint32_t mask = len ? htonl(~0u << (32 - len)) : 0;
		cidr = sl_cidr4(ip.v4 & mask, (uint8_t)len);
		s->source_ranges[s->n_source_ranges++] = cidr;
	}
	return 0;
}

static int parse_lb_status(const cJSON *o, const char *base, struct sl_svc_spec *s, char *err,
			   size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX];
	const cJSON *st = sl_k8s_get(o, "status"), *lb, *a, *e;
	unsigned c, i = 0;
	if (!st)
		return 0;
	if (sl_k8s_want_obj(st, sl_k8s_sub(p, base, "status"), err, n))
		return -EINVAL;
	if (!(lb = sl_k8s_get(st, "loadBalancer")))
		return 0;
	if (sl_k8s_want_obj(lb, sl_k8s_sub(q, p, "loadBalancer"), err, n) ||
	    sl_k8s_get_array(lb, q, "ingress", SL_SVC_MAX_IPS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->lb_ips = calloc(c, sizeof(*s->lb_ips))))
		return -ENOMEM;
	sl_k8s_sub(p, q, "ingress");
	cJSON_ArrayForEach(e, a)
	{
		const cJSON *ip;
		bool v4 = false;
		sl_k8s_idx(q, p, i++);
		if (sl_k8s_want_obj(e, q, err, n))
			return -EINVAL;
		if (!(ip = sl_k8s_get(e, "ip"))) /* hostname-only ingress: nothing for this node */
			continue;
		if (parse_addr(ip, sl_k8s_sub(r, q, "ip"), &s->lb_ips[s->n_lb_ips], &v4, err, n))
			return -EINVAL;
		s->n_lb_ips += v4;
	}
	return 0;
}

int sl_k8s_parse_service(const cJSON *o, const char *base, struct sl_svc_spec **ret, char *err,
			 size_t n)
{
	char p[SL_K8S_PATH_MAX];
	*ret = NULL;
	if (sl_k8s_want_obj(o, base, err, n) || sl_k8s_check_kind(o, base, "Service", "v1", err, n))
		return -EINVAL;
	struct sl_svc_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = parse_meta(o, base, s->name, sizeof(s->name), true, s->namespace, LABEL_PROXY_NAME,
			    NULL, 0, &s->other_proxy, err, n);
	const cJSON *sp = sl_k8s_get(o, "spec");
	if (!rc && !sp)
		rc = sl_k8s_fail(err, n, sl_k8s_sub(p, base, "spec"), "missing");
	if (!rc)
		rc = sl_k8s_want_obj(sp, sl_k8s_sub(p, base, "spec"), err, n);
	if (!rc)
		rc = parse_svc_spec(sp, p, s, err, n);
	if (!rc)
		rc = parse_lb_status(o, base, s, err, n);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, n, "%s: out of memory", base[0] ? base : "object");
		sl_svc_spec_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

/* conditions.x: true, false, or absent/null (def). */
static int get_cond(const cJSON *c, const char *base, const char *key, bool def, bool *ret,
		    char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *v = sl_k8s_get(c, key);
	if (!v)
		return *ret = def, 0;
	if (!cJSON_IsBool(v))
		return sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "must be true, false or null");
	*ret = cJSON_IsTrue(v);
	return 0;
}

static int parse_endpoint(const cJSON *o, const char *path, uint8_t af, struct sl_slice_ep *ep,
			  char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX];
	const cJSON *a, *e, *c;
	unsigned cnt, i = 0;
	if (sl_k8s_want_obj(o, path, err, n) ||
	    sl_k8s_get_array(o, path, "addresses", 100, &a, &cnt, err, n))
		return -EINVAL;
	if (!cnt)
		return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "addresses"), "must have 1-100 entries");
	sl_k8s_sub(p, path, "addresses");
	cJSON_ArrayForEach(e, a)
	{
		struct sl_ip ip;
		sl_k8s_idx(q, p, i);
		if (!cJSON_IsString(e))
			return sl_k8s_fail(err, n, q, "must be a string");
		if (af && (sl_ip_parse(e->valuestring, true, &ip) || ip.af != af))
			return sl_k8s_fail(err, n, q, "'%.48s' is not an %s address", e->valuestring,
				    af == AF_INET ? "IPv4" : "IPv6");
		if (af && i == 0)
			ep->ip = ip; /* kube-proxy uses addresses[0] */
		i++;
	}
	bool ready = true, serving = true, terminating = false;
	if ((c = sl_k8s_get(o, "conditions"))) {
		sl_k8s_sub(p, path, "conditions");
		if (sl_k8s_want_obj(c, p, err, n) || get_cond(c, p, "ready", true, &ready, err, n) ||
		    get_cond(c, p, "serving", ready, &serving, err, n) ||
		    get_cond(c, p, "terminating", false, &terminating, err, n))
			return -EINVAL;
	} else {
		serving = ready;
	}
	ep->cond = (uint8_t)((ready ? SL_EP_READY : 0) | (serving ? SL_EP_SERVING : 0) |
			     (terminating ? SL_EP_TERMINATING : 0));
	char s[SL_K8S_NAME_MAX];
	if (sl_k8s_get_str(o, path, "nodeName", false, s, sizeof(s), err, n))
		return -EINVAL;
	if (s[0] && !(ep->node_name = strdup(s)))
		return -ENOMEM;
	if (sl_k8s_get_str(o, path, "zone", false, s, 64, err, n))
		return -EINVAL;
	if (s[0] && !(ep->zone = strdup(s)))
		return -ENOMEM;
	return 0;
}

static int parse_slice_body(const cJSON *o, const char *base, struct sl_slice_spec *s,
			    char *err, size_t n)
{
	static const char *const types[] = { "IPv4", "IPv6", "FQDN", NULL };
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX];
	const cJSON *a, *e;
	unsigned c, i;
	long v;
	if (!sl_k8s_get(o, "addressType"))
		return sl_k8s_fail(err, n, sl_k8s_sub(p, base, "addressType"), "missing");
	int t = get_enum(o, base, "addressType", types, "IPv4, IPv6, FQDN", err, n);
	if (t < 0)
		return -EINVAL;
	s->af = t == 0 ? AF_INET : t == 1 ? AF_INET6 : 0;
	if (sl_k8s_get_array(o, base, "endpoints", SL_SLICE_MAX_ENDPOINTS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->eps = calloc(c, sizeof(*s->eps))))
		return -ENOMEM;
	sl_k8s_sub(p, base, "endpoints");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		s->n_eps = i + 1; /* freed with the spec even when half parsed */
		int rc = parse_endpoint(e, sl_k8s_idx(q, p, i), s->af, &s->eps[i], err, n);
		if (rc)
			return rc;
		i++;
	}
	if (sl_k8s_get_array(o, base, "ports", SL_SLICE_MAX_PORTS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->ports = calloc(c, sizeof(*s->ports))))
		return -ENOMEM;
	sl_k8s_sub(p, base, "ports");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		struct sl_slice_port *pt = &s->ports[i];
		char r[SL_K8S_PATH_MAX];
		sl_k8s_idx(q, p, i);
		if (sl_k8s_want_obj(e, q, err, n) ||
		    sl_k8s_get_str(e, q, "name", false, pt->name, sizeof(pt->name), err, n) ||
		    (pt->name[0] && check_name(pt->name, sl_k8s_sub(r, q, "name"), 63, false, err, n)) ||
		    sl_k8s_parse_protocol(e, q, &pt->protocol, err, n))
			return -EINVAL;
		v = 0;
		if (get_int(e, q, "port", false, 1, 65535, &v, err, n))
			return -EINVAL;
		pt->port = (uint16_t)v;
		s->n_ports = ++i;
	}
	return 0;
}

int sl_k8s_parse_slice(const cJSON *o, const char *base, struct sl_slice_spec **ret, char *err,
		       size_t n)
{
	*ret = NULL;
	if (sl_k8s_want_obj(o, base, err, n) ||
	    sl_k8s_check_kind(o, base, "EndpointSlice", "discovery.k8s.io/v1", err, n))
		return -EINVAL;
	struct sl_slice_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = parse_meta(o, base, s->name, sizeof(s->name), false, s->namespace,
			    LABEL_SERVICE_NAME, s->service, sizeof(s->service), NULL, err, n);
	if (!rc)
		rc = parse_slice_body(o, base, s, err, n);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, n, "%s: out of memory", base[0] ? base : "object");
		sl_slice_spec_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

/* One object of a document: its kind from "kind", or from the list's kind. */
static int decode_one(const cJSON *o, const char *path, const char *list_kind,
		      struct sl_k8s_op *op, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *k = sl_k8s_get(o, "kind");
	const char *kind = cJSON_IsString(k) ? k->valuestring : list_kind;
	snprintf(op->path, sizeof(op->path), "%s", path);
	if (sl_k8s_want_obj(o, path, err, n))
		return -EINVAL;
	if (!kind)
		return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "kind"), "missing (Service or EndpointSlice)");
	if (!strcmp(kind, "Service")) {
		op->kind = SL_K8S_SERVICE;
		return sl_k8s_parse_service(o, path, &op->svc, err, n);
	}
	if (!strcmp(kind, "EndpointSlice")) {
		op->kind = SL_K8S_SLICE;
		return sl_k8s_parse_slice(o, path, &op->slice, err, n);
	}
	if (sl_k8s_policy_kind(kind)) /* Namespace, Pod, NetworkPolicy (sl_k8s_policy.c) */
		return sl_k8s_policy_decode(o, path, kind, op, err, n);
	return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "kind"), "'%.32s' is not supported (Service, "
		    "EndpointSlice, Namespace, Pod, NetworkPolicy, or a List of them)", kind);
}

int sl_k8s_decode(const cJSON *doc, struct sl_k8s_op **ret_ops, unsigned *ret_n, char *err,
		  size_t n)
{
	const cJSON *k = sl_k8s_get(doc, "kind"), *items = NULL, *e;
	const char *list_kind = NULL;
	bool is_list = false;
	unsigned count = 1;
	int rc = 0;
	*ret_ops = NULL;
	*ret_n = 0;
	if (!cJSON_IsObject(doc))
		return sl_k8s_fail(err, n, "object", "must be a JSON object (a Service, an EndpointSlice "
			    "or a List)");
	if (cJSON_IsString(k) && (!strcmp(k->valuestring, "List") ||
				  !strcmp(k->valuestring, "ServiceList") ||
				  !strcmp(k->valuestring, "EndpointSliceList") ||
				  sl_k8s_policy_list_kind(k->valuestring))) {
		is_list = true;
		if (strcmp(k->valuestring, "List"))
			list_kind = !strcmp(k->valuestring, "ServiceList") ? "Service"
				    : !strcmp(k->valuestring, "EndpointSliceList")
					    ? "EndpointSlice"
					    : sl_k8s_policy_list_kind(k->valuestring);
		if (sl_k8s_get_array(doc, "", "items", SL_K8S_MAX_OBJECTS, &items, &count, err, n))
			return -EINVAL;
	}
	struct sl_k8s_op *ops = calloc(count ? count : 1, sizeof(*ops));
	if (!ops)
		return snprintf(err, n, "out of memory"), -ENOMEM;
	if (!is_list) {
		rc = decode_one(doc, "", NULL, &ops[0], err, n);
	} else {
		unsigned i = 0;
		char p[SL_K8S_PATH_MAX];
		cJSON_ArrayForEach(e, items)
		{
			if ((rc = decode_one(e, sl_k8s_idx(p, "items", i), list_kind, &ops[i], err, n)))
				break;
			i++;
		}
	}
	if (rc) {
		sl_k8s_ops_free(ops, count);
		return rc;
	}
	*ret_ops = ops;
	*ret_n = count;
	return 0;
}

int sl_k8s_decode_text(const char *text, size_t len, struct sl_k8s_op **ret_ops,
		       unsigned *ret_n, char *err, size_t n)
{
	*ret_ops = NULL;
	*ret_n = 0;
	struct sl_json_arena a = { 0 };
	cJSON *doc = sl_json_parse(&a, text, len, NULL);
	int rc = doc ? sl_k8s_decode(doc, ret_ops, ret_n, err, n)
		     : sl_k8s_fail(err, n, "object", "invalid JSON");
	sl_json_arena_free(&a);
	return rc;
}

/* Encoding, for the persisted state. */

static void add_ip(cJSON *a, struct sl_ip ip)
{
	char b[SL_IP_STR_MAX];
	cJSON_AddItemToArray(a, cJSON_CreateString(sl_ip_fmt(ip, b)));
}

static cJSON *meta(const char *ns, const char *name, const char *label, const char *value)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", ns);
	if (label)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "labels"), label, value);
	return m;
}

cJSON *sl_k8s_encode_service(const struct sl_svc_spec *s)
{
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer",
					     "ExternalName" };
	char b[SL_CIDR_STR_MAX];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Service");
	cJSON_AddItemToObject(o, "metadata", meta(s->namespace, s->name,
						  s->other_proxy ? LABEL_PROXY_NAME : NULL, "other"));
	cJSON *sp = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(sp, "type", types[s->type]);
	if (s->headless) {
		cJSON_AddStringToObject(sp, "clusterIP", "None");
	} else if (s->n_cluster_ips) {
		cJSON *a = cJSON_AddArrayToObject(sp, "clusterIPs");
		for (unsigned i = 0; i < s->n_cluster_ips; i++)
			add_ip(a, s->cluster_ips[i]);
	}
	cJSON *ports = cJSON_AddArrayToObject(sp, "ports");
	for (unsigned i = 0; i < s->n_ports; i++) {
		const struct sl_svc_port *p = &s->ports[i];
		cJSON *e = cJSON_CreateObject();
		if (p->name[0])
			cJSON_AddStringToObject(e, "name", p->name);
		cJSON_AddStringToObject(e, "protocol", sl_k8s_proto_name(p->protocol));
		cJSON_AddNumberToObject(e, "port", p->port);
		if (p->target_name[0])
			cJSON_AddStringToObject(e, "targetPort", p->target_name);
		else
			cJSON_AddNumberToObject(e, "targetPort", p->target_port);
		if (p->node_port)
			cJSON_AddNumberToObject(e, "nodePort", p->node_port);
		cJSON_AddItemToArray(ports, e);
	}
	if (s->n_external_ips) {
		cJSON *a = cJSON_AddArrayToObject(sp, "externalIPs");
		for (unsigned i = 0; i < s->n_external_ips; i++)
			add_ip(a, s->external_ips[i]);
	}
	cJSON_AddStringToObject(sp, "sessionAffinity", s->affinity_client_ip ? "ClientIP" : "None");
	if (s->affinity_timeout_s != SL_SVC_AFFINITY_DEFAULT_S) /* absent: the default */
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
						sp, "sessionAffinityConfig"), "clientIP"),
					"timeoutSeconds", s->affinity_timeout_s);
	cJSON_AddStringToObject(sp, "externalTrafficPolicy", s->external_local ? "Local" : "Cluster");
	cJSON_AddStringToObject(sp, "internalTrafficPolicy", s->internal_local ? "Local" : "Cluster");
	if (s->health_check_node_port)
		cJSON_AddNumberToObject(sp, "healthCheckNodePort", s->health_check_node_port);
	if (s->n_source_ranges) {
		cJSON *a = cJSON_AddArrayToObject(sp, "loadBalancerSourceRanges");
		for (unsigned i = 0; i < s->n_source_ranges; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(sl_cidr_fmt(s->source_ranges[i], b)));
	}
	cJSON *ing = cJSON_AddArrayToObject(
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "status"), "loadBalancer"),
		"ingress");
	for (unsigned i = 0; i < s->n_lb_ips; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "ip", sl_ip_fmt(s->lb_ips[i], b));
		cJSON_AddItemToArray(ing, e);
	}
	return o;
}

cJSON *sl_k8s_encode_slice(const struct sl_slice_spec *s)
{
	char b[SL_IP_STR_MAX];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "discovery.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "EndpointSlice");
	cJSON_AddItemToObject(o, "metadata", meta(s->namespace, s->name,
						  s->service[0] ? LABEL_SERVICE_NAME : NULL,
						  s->service));
	cJSON_AddStringToObject(o, "addressType",
				s->af == AF_INET ? "IPv4" : s->af == AF_INET6 ? "IPv6" : "FQDN");
	cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
	for (unsigned i = 0; i < s->n_eps; i++) {
		const struct sl_slice_ep *ep = &s->eps[i];
		cJSON *e = cJSON_CreateObject();
		/* FQDN slices keep no address: a placeholder the decoder accepts there. */
		cJSON_AddItemToArray(cJSON_AddArrayToObject(e, "addresses"),
				     cJSON_CreateString(s->af ? sl_ip_fmt(ep->ip, b) : "unknown"));
		/* Conditions only when they are not what their absence means (ready, serving,
		 * not terminating): most endpoints; 40 % of a large state file. */
		if (ep->cond != (SL_EP_READY | SL_EP_SERVING)) {
			cJSON *c = cJSON_AddObjectToObject(e, "conditions");
			cJSON_AddBoolToObject(c, "ready", ep->cond & SL_EP_READY);
			cJSON_AddBoolToObject(c, "serving", ep->cond & SL_EP_SERVING);
			cJSON_AddBoolToObject(c, "terminating", ep->cond & SL_EP_TERMINATING);
		}
		if (ep->node_name)
			cJSON_AddStringToObject(e, "nodeName", ep->node_name);
		if (ep->zone)
			cJSON_AddStringToObject(e, "zone", ep->zone);
		cJSON_AddItemToArray(eps, e);
	}
	cJSON *ports = cJSON_AddArrayToObject(o, "ports");
	for (unsigned i = 0; i < s->n_ports; i++) {
		const struct sl_slice_port *p = &s->ports[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", p->name);
		cJSON_AddStringToObject(e, "protocol", sl_k8s_proto_name(p->protocol));
		if (p->port)
			cJSON_AddNumberToObject(e, "port", p->port);
		else
			cJSON_AddNullToObject(e, "port");
		cJSON_AddItemToArray(ports, e);
	}
	return o;
}
