/* Kubernetes object decoder (see sl_k8s.h). */
#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s.h"
#include "sl_k8s_policy.h"

#define PATH_MAX_ 160
#define LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define LABEL_PROXY_NAME "service.kubernetes.io/service-proxy-name"

static int fail(char *err, size_t n, const char *path, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, n, "%s: %s", path[0] ? path : "object", why);
	return -EINVAL;
}

/* Paths are built for every field on the way down (most are never printed), so without
 * snprintf: a 100,000-Service load builds ~70 per Service. A path longer than PATH_MAX_ - 1
 * is cut there (still a good error). */
static size_t put(char *buf, size_t at, const char *s, size_t len)
{
	if (at + len > PATH_MAX_ - 1)
		len = at < PATH_MAX_ - 1 ? PATH_MAX_ - 1 - at : 0;
	memcpy(buf + at, s, len);
	return at + len;
}

/* "base.key" (or "key" at the top). buf may not be base. */
static const char *sub(char *buf, const char *base, const char *key)
{
	size_t at = put(buf, 0, base, strlen(base));
	if (base[0])
		at = put(buf, at, ".", 1);
	buf[put(buf, at, key, strlen(key))] = 0;
	return buf;
}

/* "base[i]". */
static const char *idx(char *buf, const char *base, unsigned i)
{
	char d[16];
	size_t k = sizeof(d);
	d[--k] = ']';
	do
		d[--k] = (char)('0' + i % 10);
	while (i /= 10);
	d[--k] = '[';
	buf[put(buf, put(buf, 0, base, strlen(base)), d + k, sizeof(d) - k)] = 0;
	return buf;
}

/* A field, or NULL when absent or null (Kubernetes clients treat null as absent). */
static const cJSON *get(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNull(v) ? NULL : v;
}

static int want_obj(const cJSON *v, const char *path, char *err, size_t n)
{
	return cJSON_IsObject(v) ? 0 : fail(err, n, path, "must be an object");
}

/* A string field into out (max bytes with the NUL); "" when absent and optional. */
static int get_str(const cJSON *o, const char *base, const char *key, bool required, char *out,
		   size_t max, char *err, size_t n)
{
	char p[PATH_MAX_];
	const cJSON *v = get(o, key);
	out[0] = 0;
	if (!v)
		return required ? fail(err, n, sub(p, base, key), "missing") : 0;
	if (!cJSON_IsString(v))
		return fail(err, n, sub(p, base, key), "must be a string");
	if (strlen(v->valuestring) >= max)
		return fail(err, n, sub(p, base, key), "longer than %zu characters", max - 1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* An integer in [min, max]; *out unchanged when absent. */
static int get_int(const cJSON *o, const char *base, const char *key, bool required,
		   long min, long max, long *out, char *err, size_t n)
{
	char p[PATH_MAX_];
	const cJSON *v = get(o, key);
	if (!v)
		return required ? fail(err, n, sub(p, base, key), "missing") : 0;
	if (!cJSON_IsNumber(v))
		return fail(err, n, sub(p, base, key), "must be an integer");
	if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max)) /* NaN too; */
		return fail(err, n, sub(p, base, key), "must be %ld-%ld", min, max); /* cast after */
	if (v->valuedouble != (double)(long)v->valuedouble)
		return fail(err, n, sub(p, base, key), "must be an integer");
	*out = (long)v->valuedouble;
	return 0;
}

/* An array field: NULL and 0 when absent; refused over max entries. */
static int get_array(const cJSON *o, const char *base, const char *key, unsigned max,
		     const cJSON **ret, unsigned *ret_n, char *err, size_t n)
{
	char p[PATH_MAX_];
	const cJSON *v = get(o, key);
	*ret = NULL;
	*ret_n = 0;
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return fail(err, n, sub(p, base, key), "must be an array");
	int c = cJSON_GetArraySize(v);
	if (c > (int)max)
		return fail(err, n, sub(p, base, key), "more than %u entries", max);
	*ret = v;
	*ret_n = (unsigned)c;
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
	return why ? fail(err, n, path, "'%.64s' %s", s, why) : 0;
}

/* metadata: name, namespace (default "default"), and one label. */
static int parse_meta(const cJSON *o, const char *base, char *name, size_t name_max,
		      bool name_1035, char *ns, const char *label, char *label_out,
		      size_t label_max, bool *label_set, char *err, size_t n)
{
	char p[PATH_MAX_], q[PATH_MAX_], r[PATH_MAX_];
	const cJSON *md = get(o, "metadata");
	sub(p, base, "metadata");
	if (!md)
		return fail(err, n, p, "missing");
	if (want_obj(md, p, err, n))
		return -EINVAL;
	if (get_str(md, p, "name", true, name, name_max, err, n) ||
	    check_name(name, sub(q, p, "name"), name_max - 1 > 63 ? 253 : 63, name_1035, err, n))
		return -EINVAL;
	if (get_str(md, p, "namespace", false, ns, SL_K8S_NS_MAX, err, n))
		return -EINVAL;
	if (!ns[0])
		snprintf(ns, SL_K8S_NS_MAX, "default");
	else if (check_name(ns, sub(q, p, "namespace"), 63, false, err, n))
		return -EINVAL;
	const cJSON *labels = get(md, "labels");
	if (!labels)
		return 0;
	if (want_obj(labels, sub(q, p, "labels"), err, n))
		return -EINVAL;
	const cJSON *v = get(labels, label);
	if (!v)
		return 0;
	size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
	if (!cJSON_IsString(v) || (label_out && len >= label_max)) {
		if (snprintf(r, sizeof(r), "%s[\"%s\"]", q, label) < 0)
			r[0] = 0;
		return cJSON_IsString(v) ? fail(err, n, r, "longer than %zu characters",
						 label_max - 1)
					 : fail(err, n, r, "must be a string");
	}
	if (label_set)
		*label_set = true;
	if (label_out)
		memcpy(label_out, v->valuestring, len + 1);
	return 0;
}

static int parse_protocol(const cJSON *o, const char *base, uint8_t *ret, char *err, size_t n)
{
	char s[8], p[PATH_MAX_];
	if (get_str(o, base, "protocol", false, s, sizeof(s), err, n))
		return fail(err, n, sub(p, base, "protocol"), "must be TCP, UDP or SCTP");
	if (!s[0] || !strcmp(s, "TCP"))
		*ret = IPPROTO_TCP;
	else if (!strcmp(s, "UDP"))
		*ret = IPPROTO_UDP;
	else if (!strcmp(s, "SCTP"))
		*ret = IPPROTO_SCTP;
	else
		return fail(err, n, sub(p, base, "protocol"), "'%s' is not TCP, UDP or SCTP", s);
	return 0;
}

/* An IPv4 address into *ret (true), an IPv6 one skipped (false), else an error. */
static int parse_addr(const cJSON *v, const char *path, struct sl_ip *ret, bool *ret_v4,
		      char *err, size_t n)
{
	struct sl_ip ip;
	if (!cJSON_IsString(v))
		return fail(err, n, path, "must be a string");
	if (sl_ip_parse(v->valuestring, true, &ip))
		return fail(err, n, path, "'%.48s' is not an IP address", v->valuestring);
	*ret_v4 = ip.af == AF_INET;
	*ret = ip;
	return 0;
}

/* An array of address strings into a heap array of the IPv4 ones. */
static int parse_ips(const cJSON *o, const char *base, const char *key, struct sl_ip **ret,
		     unsigned *ret_n, char *err, size_t n)
{
	char p[PATH_MAX_], q[PATH_MAX_];
	const cJSON *a, *e;
	unsigned c, i = 0;
	if (get_array(o, base, key, SL_SVC_MAX_IPS, &a, &c, err, n))
		return -EINVAL;
	if (!c)
		return 0;
	if (!(*ret = calloc(c, sizeof(**ret))))
		return -ENOMEM;
	sub(p, base, key);
	cJSON_ArrayForEach(e, a)
	{
		bool v4 = false;
		if (parse_addr(e, idx(q, p, i++), &(*ret)[*ret_n], &v4, err, n))
			return -EINVAL;
		*ret_n += v4;
	}
	return 0;
}

static bool iana_svc_name(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;
	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
		letter |= islower((unsigned char)s[i]) != 0;
	}
	return letter;
}

static int parse_svc_port(const cJSON *o, const char *path, struct sl_svc_port *p, char *err,
			  size_t n)
{
	char q[PATH_MAX_];
	long v = 0;
	if (want_obj(o, path, err, n))
		return -EINVAL;
	if (get_str(o, path, "name", false, p->name, sizeof(p->name), err, n) ||
	    (p->name[0] && check_name(p->name, sub(q, path, "name"), 63, false, err, n)))
		return -EINVAL;
	if (parse_protocol(o, path, &p->protocol, err, n) ||
	    get_int(o, path, "port", true, 1, 65535, &v, err, n))
		return -EINVAL;
	p->port = (uint16_t)v;
	p->target_port = p->port; /* default: the port */
	const cJSON *t = get(o, "targetPort");
	sub(q, path, "targetPort");
	if (cJSON_IsNumber(t)) {
		if (get_int(o, path, "targetPort", true, 1, 65535, &v, err, n))
			return -EINVAL;
		p->target_port = (uint16_t)v;
	} else if (cJSON_IsString(t)) {
		if (!iana_svc_name(t->valuestring))
			return fail(err, n, q, "'%.32s' is not a port number or a port name "
				    "(IANA_SVC_NAME: 1-15 lower case alphanumerics and '-')",
				    t->valuestring);
		snprintf(p->target_name, sizeof(p->target_name), "%s", t->valuestring);
		p->target_port = 0;
	} else if (t) {
		return fail(err, n, q, "must be a port number or a port name");
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
	char s[32], p[PATH_MAX_];
	if (get_str(o, base, key, false, s, sizeof(s), err, n))
		return -EINVAL;
	if (!s[0])
		return 0;
	for (int i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return i;
	return fail(err, n, sub(p, base, key), "'%s' is not one of %s", s, list);
}

static int parse_svc_spec(const cJSON *sp, const char *base, struct sl_svc_spec *s, char *err,
			  size_t n)
{
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer",
					     "ExternalName", NULL };
	static const char *const affinity[] = { "None", "ClientIP", NULL };
	static const char *const policy[] = { "Cluster", "Local", NULL };
	char p[PATH_MAX_], q[PATH_MAX_], r[PATH_MAX_];
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
	if (get_str(sp, base, "clusterIP", false, cip, sizeof(cip), err, n))
		return -EINVAL;
	s->headless = !strcmp(cip, "None");
	const cJSON *cips = get(sp, "clusterIPs");
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
		if (parse_addr(get(sp, "clusterIP"), sub(p, base, "clusterIP"), &s->cluster_ips[0],
			       &v4, err, n))
			return -EINVAL;
		s->n_cluster_ips = v4;
	}

	if (get_array(sp, base, "ports", SL_SVC_MAX_PORTS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->ports = calloc(c, sizeof(*s->ports))))
		return -ENOMEM;
	sub(p, base, "ports");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		struct sl_svc_port *pt = &s->ports[i];
		idx(q, p, i);
		if (parse_svc_port(e, q, pt, err, n))
			return -EINVAL;
		/* API validation: several ports must all be named, names and port/protocol
		 * pairs unique. */
		if (c > 1 && !pt->name[0])
			return fail(err, n, sub(r, q, "name"), "required when there are several ports");
		for (unsigned j = 0; j < i; j++) {
			if (pt->name[0] && !strcmp(pt->name, s->ports[j].name))
				return fail(err, n, sub(r, q, "name"), "'%s' duplicates ports[%u]",
					    pt->name, j);
			if (pt->port == s->ports[j].port && pt->protocol == s->ports[j].protocol)
				return fail(err, n, sub(r, q, "port"), "%u duplicates ports[%u]",
					    pt->port, j);
		}
		s->n_ports = ++i;
	}
	if (s->type != SL_SVC_NODE_PORT && s->type != SL_SVC_LOAD_BALANCER)
		for (i = 0; i < s->n_ports; i++)
			if (s->ports[i].node_port)
				return fail(err, n, sub(r, idx(q, p, i), "nodePort"),
					    "only for type NodePort or LoadBalancer");

	if (parse_ips(sp, base, "externalIPs", &s->external_ips, &s->n_external_ips, err, n))
		return -EINVAL;

	if ((t = get_enum(sp, base, "sessionAffinity", affinity, "None, ClientIP", err, n)) < 0)
		return -EINVAL;
	s->affinity_client_ip = t == 1;
	s->affinity_timeout_s = SL_SVC_AFFINITY_DEFAULT_S;
	const cJSON *ac = get(sp, "sessionAffinityConfig"), *ci;
	if (ac) {
		sub(p, base, "sessionAffinityConfig");
		if (want_obj(ac, p, err, n))
			return -EINVAL;
		if ((ci = get(ac, "clientIP"))) {
			sub(q, p, "clientIP");
			v = SL_SVC_AFFINITY_DEFAULT_S;
			if (want_obj(ci, q, err, n) ||
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

	if (get_array(sp, base, "loadBalancerSourceRanges", SL_SVC_MAX_SOURCE_RANGES, &a, &c, err,
		      n))
		return -EINVAL;
	if (c && !(s->source_ranges = calloc(c, sizeof(*s->source_ranges))))
		return -ENOMEM;
	sub(p, base, "loadBalancerSourceRanges");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		/* As kube-proxy: spaces trimmed, host bits allowed (cleared here). */
		char txt[64], *slash;
		struct sl_cidr cidr;
		struct sl_ip ip;
		idx(q, p, i++);
		if (!cJSON_IsString(e) || strlen(e->valuestring) >= sizeof(txt))
			return fail(err, n, q, "must be a CIDR string");
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
			return fail(err, n, q, "'%.48s' is not a CIDR a.b.c.d/len", e->valuestring);
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
	char p[PATH_MAX_], q[PATH_MAX_], r[PATH_MAX_];
	const cJSON *st = get(o, "status"), *lb, *a, *e;
	unsigned c, i = 0;
	if (!st)
		return 0;
	if (want_obj(st, sub(p, base, "status"), err, n))
		return -EINVAL;
	if (!(lb = get(st, "loadBalancer")))
		return 0;
	if (want_obj(lb, sub(q, p, "loadBalancer"), err, n) ||
	    get_array(lb, q, "ingress", SL_SVC_MAX_IPS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->lb_ips = calloc(c, sizeof(*s->lb_ips))))
		return -ENOMEM;
	sub(p, q, "ingress");
	cJSON_ArrayForEach(e, a)
	{
		const cJSON *ip;
		bool v4 = false;
		idx(q, p, i++);
		if (want_obj(e, q, err, n))
			return -EINVAL;
		if (!(ip = get(e, "ip"))) /* hostname-only ingress: nothing for this node */
			continue;
		if (parse_addr(ip, sub(r, q, "ip"), &s->lb_ips[s->n_lb_ips], &v4, err, n))
			return -EINVAL;
		s->n_lb_ips += v4;
	}
	return 0;
}

/* "kind"/"apiVersion" when present must be this kind's. */
static int check_kind(const cJSON *o, const char *base, const char *kind, const char *api,
		      char *err, size_t n)
{
	char p[PATH_MAX_];
	const cJSON *k = get(o, "kind"), *a = get(o, "apiVersion");
	if (k && (!cJSON_IsString(k) || strcmp(k->valuestring, kind)))
		return fail(err, n, sub(p, base, "kind"), "must be %s", kind);
	if (a && (!cJSON_IsString(a) || strcmp(a->valuestring, api)))
		return fail(err, n, sub(p, base, "apiVersion"), "must be %s for a %s", api, kind);
	return 0;
}

int sl_k8s_parse_service(const cJSON *o, const char *base, struct sl_svc_spec **ret, char *err,
			 size_t n)
{
	char p[PATH_MAX_];
	*ret = NULL;
	if (want_obj(o, base, err, n) || check_kind(o, base, "Service", "v1", err, n))
		return -EINVAL;
	struct sl_svc_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = parse_meta(o, base, s->name, sizeof(s->name), true, s->namespace, LABEL_PROXY_NAME,
			    NULL, 0, &s->other_proxy, err, n);
	const cJSON *sp = get(o, "spec");
	if (!rc && !sp)
		rc = fail(err, n, sub(p, base, "spec"), "missing");
	if (!rc)
		rc = want_obj(sp, sub(p, base, "spec"), err, n);
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
	char p[PATH_MAX_];
	const cJSON *v = get(c, key);
	if (!v)
		return *ret = def, 0;
	if (!cJSON_IsBool(v))
		return fail(err, n, sub(p, base, key), "must be true, false or null");
	*ret = cJSON_IsTrue(v);
	return 0;
}

static int parse_endpoint(const cJSON *o, const char *path, uint8_t af, struct sl_slice_ep *ep,
			  char *err, size_t n)
{
	char p[PATH_MAX_], q[PATH_MAX_];
	const cJSON *a, *e, *c;
	unsigned cnt, i = 0;
	if (want_obj(o, path, err, n) || get_array(o, path, "addresses", 100, &a, &cnt, err, n))
		return -EINVAL;
	if (!cnt)
		return fail(err, n, sub(p, path, "addresses"), "must have 1-100 entries");
	sub(p, path, "addresses");
	cJSON_ArrayForEach(e, a)
	{
		struct sl_ip ip;
		idx(q, p, i);
		if (!cJSON_IsString(e))
			return fail(err, n, q, "must be a string");
		if (af && (sl_ip_parse(e->valuestring, true, &ip) || ip.af != af))
			return fail(err, n, q, "'%.48s' is not an %s address", e->valuestring,
				    af == AF_INET ? "IPv4" : "IPv6");
		if (af && i == 0)
			ep->ip = ip; /* kube-proxy uses addresses[0] */
		i++;
	}
	bool ready = true, serving = true, terminating = false;
	if ((c = get(o, "conditions"))) {
		sub(p, path, "conditions");
		if (want_obj(c, p, err, n) || get_cond(c, p, "ready", true, &ready, err, n) ||
		    get_cond(c, p, "serving", ready, &serving, err, n) ||
		    get_cond(c, p, "terminating", false, &terminating, err, n))
			return -EINVAL;
	} else {
		serving = ready;
	}
	ep->cond = (uint8_t)((ready ? SL_EP_READY : 0) | (serving ? SL_EP_SERVING : 0) |
			     (terminating ? SL_EP_TERMINATING : 0));
	char s[SL_K8S_NAME_MAX];
	if (get_str(o, path, "nodeName", false, s, sizeof(s), err, n))
		return -EINVAL;
	if (s[0] && !(ep->node_name = strdup(s)))
		return -ENOMEM;
	if (get_str(o, path, "zone", false, s, 64, err, n))
		return -EINVAL;
	if (s[0] && !(ep->zone = strdup(s)))
		return -ENOMEM;
	return 0;
}

static int parse_slice_body(const cJSON *o, const char *base, struct sl_slice_spec *s,
			    char *err, size_t n)
{
	static const char *const types[] = { "IPv4", "IPv6", "FQDN", NULL };
	char p[PATH_MAX_], q[PATH_MAX_];
	const cJSON *a, *e;
	unsigned c, i;
	long v;
	if (!get(o, "addressType"))
		return fail(err, n, sub(p, base, "addressType"), "missing");
	int t = get_enum(o, base, "addressType", types, "IPv4, IPv6, FQDN", err, n);
	if (t < 0)
		return -EINVAL;
	s->af = t == 0 ? AF_INET : t == 1 ? AF_INET6 : 0;
	if (get_array(o, base, "endpoints", SL_SLICE_MAX_ENDPOINTS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->eps = calloc(c, sizeof(*s->eps))))
		return -ENOMEM;
	sub(p, base, "endpoints");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		s->n_eps = i + 1; /* freed with the spec even when half parsed */
		int rc = parse_endpoint(e, idx(q, p, i), s->af, &s->eps[i], err, n);
		if (rc)
			return rc;
		i++;
	}
	if (get_array(o, base, "ports", SL_SLICE_MAX_PORTS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->ports = calloc(c, sizeof(*s->ports))))
		return -ENOMEM;
	sub(p, base, "ports");
	i = 0;
	cJSON_ArrayForEach(e, a)
	{
		struct sl_slice_port *pt = &s->ports[i];
		char r[PATH_MAX_];
		idx(q, p, i);
		if (want_obj(e, q, err, n) ||
		    get_str(e, q, "name", false, pt->name, sizeof(pt->name), err, n) ||
		    (pt->name[0] && check_name(pt->name, sub(r, q, "name"), 63, false, err, n)) ||
		    parse_protocol(e, q, &pt->protocol, err, n))
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
	if (want_obj(o, base, err, n) ||
	    check_kind(o, base, "EndpointSlice", "discovery.k8s.io/v1", err, n))
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
	char p[PATH_MAX_];
	const cJSON *k = get(o, "kind");
	const char *kind = cJSON_IsString(k) ? k->valuestring : list_kind;
	snprintf(op->path, sizeof(op->path), "%s", path);
	if (want_obj(o, path, err, n))
		return -EINVAL;
	if (!kind)
		return fail(err, n, sub(p, path, "kind"), "missing (Service or EndpointSlice)");
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
	return fail(err, n, sub(p, path, "kind"), "'%.32s' is not supported (Service, "
		    "EndpointSlice, Namespace, Pod, NetworkPolicy, or a List of them)", kind);
}

int sl_k8s_decode(const cJSON *doc, struct sl_k8s_op **ret_ops, unsigned *ret_n, char *err,
		  size_t n)
{
	const cJSON *k = get(doc, "kind"), *items = NULL, *e;
	const char *list_kind = NULL;
	bool is_list = false;
	unsigned count = 1;
	int rc = 0;
	*ret_ops = NULL;
	*ret_n = 0;
	if (!cJSON_IsObject(doc))
		return fail(err, n, "object", "must be a JSON object (a Service, an EndpointSlice "
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
		if (get_array(doc, "", "items", SL_K8S_MAX_OBJECTS, &items, &count, err, n))
			return -EINVAL;
	}
	struct sl_k8s_op *ops = calloc(count ? count : 1, sizeof(*ops));
	if (!ops)
		return snprintf(err, n, "out of memory"), -ENOMEM;
	if (!is_list) {
		rc = decode_one(doc, "", NULL, &ops[0], err, n);
	} else {
		unsigned i = 0;
		char p[PATH_MAX_];
		cJSON_ArrayForEach(e, items)
		{
			if ((rc = decode_one(e, idx(p, "items", i), list_kind, &ops[i], err, n)))
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
	cJSON *doc = cJSON_ParseWithLength(text, len);
	if (!doc)
		return fail(err, n, "object", "invalid JSON");
	int rc = sl_k8s_decode(doc, ret_ops, ret_n, err, n);
	cJSON_Delete(doc);
	return rc;
}

/* Encoding, for the persisted state. */

static void add_ip(cJSON *a, struct sl_ip ip)
{
	char b[SL_IP_STR_MAX];
	cJSON_AddItemToArray(a, cJSON_CreateString(sl_ip_fmt(ip, b)));
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
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
		cJSON_AddStringToObject(e, "protocol", proto_name(p->protocol));
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
		cJSON_AddStringToObject(e, "protocol", proto_name(p->protocol));
		if (p->port)
			cJSON_AddNumberToObject(e, "port", p->port);
		else
			cJSON_AddNullToObject(e, "port");
		cJSON_AddItemToArray(ports, e);
	}
	return o;
}
