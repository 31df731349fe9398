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

/* Decoding. A 100,000-Service load decodes ~2 million fields, so: an object's members
 * are found in one walk of its children (not one scan per name), a field's path for
 * errors is a chain of steps on the stack formatted only when an error names it, and
 * an EndpointSlice's strings go in one allocation with its endpoints. */

/* cJSON's type tests, inline. */
static inline bool is_type(const cJSON *v, int t)
{
	return v && (v->type & 0xFF) == t;
}
#define IS_STR(v) is_type((v), cJSON_String)
#define IS_NUM(v) is_type((v), cJSON_Number)
#define IS_OBJ(v) is_type((v), cJSON_Object)
#define IS_ARR(v) is_type((v), cJSON_Array)
#define IS_NULL(v) is_type((v), cJSON_NULL)
#define IS_BOOL(v) ((v) && ((v)->type & (cJSON_True | cJSON_False)))
#define IS_TRUE(v) is_type((v), cJSON_True)

/* Where a field is: its parent and its name (or index). The root's key is the caller's
 * path ("items[3]", "" for a document's top). */
struct at {
	const struct at *up; /* NULL: the root */
	const char *key;     /* the member's name; NULL: element idx of up */
	unsigned idx;
};
#define AT(up_, key_) (&(const struct at){ (up_), (key_), 0 })
#define AT_I(up_, i_) (&(const struct at){ (up_), NULL, (i_) })

/* The path as text into buf (SL_K8S_PATH_MAX bytes): what sl_k8s_sub and sl_k8s_idx
 * build step by step, cut at the same length. */
static const char *at_str(const struct at *a, char *buf)
{
	if (!a->up) {
		size_t l = strlen(a->key);
		if (l > SL_K8S_PATH_MAX - 1)
			l = SL_K8S_PATH_MAX - 1;
		memcpy(buf, a->key, l);
		buf[l] = 0;
		return buf;
	}
	char up[SL_K8S_PATH_MAX];
	at_str(a->up, up);
	return a->key ? sl_k8s_sub(buf, up, a->key) : sl_k8s_idx(buf, up, a->idx);
}

/* The error "path: reason" (functions with err and n in scope); -EINVAL. */
#define FAIL(a, ...) sl_k8s_fail(err, n, at_str((a), (char[SL_K8S_PATH_MAX]){ 0 }), __VA_ARGS__)

/* The members of o named keys[0..nk) (nk <= 32) into v: the first of each name, NULL when
 * absent or null (as sl_k8s_get), in one walk of o's children. */
static void members(const cJSON *o, const char *const *keys, unsigned nk, const cJSON **v)
{
	uint32_t seen = 0;
	for (unsigned j = 0; j < nk; j++)
		v[j] = NULL;
	for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
		const char *s = c->string;
		if (!s) /* an array's elements */
			continue;
		for (unsigned j = 0; j < nk; j++) {
			if (s[0] == keys[j][0] && !(seen >> j & 1) && !strcmp(s, keys[j])) {
				seen |= 1u << j;
				v[j] = IS_NULL(c) ? NULL : c;
				break;
			}
		}
	}
}

static int want_obj(const cJSON *v, const struct at *a, char *err, size_t n)
{
	return IS_OBJ(v) ? 0 : FAIL(a, "must be an object");
}

/* An integer in [min, max] from v (the field at a, NULL when absent); *out unchanged
 * when absent. */
static int get_int(const cJSON *v, const struct at *a, bool required, long min, long max,
		   long *out, char *err, size_t n)
{
	if (!v)
		return required ? FAIL(a, "missing") : 0;
	if (!IS_NUM(v))
		return FAIL(a, "must be an integer");
	if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max)) /* NaN too; */
		return FAIL(a, "must be %ld-%ld", min, max);
	if (v->valuedouble != (double)(long)v->valuedouble)
		return FAIL(a, "must be an integer");
	*out = (long)v->valuedouble;
	return 0;
}

/* A string field of under max bytes: *ret is its text ("" when absent and optional) and
 * *ret_len its length. */
static int get_str_ref(const cJSON *v, const struct at *a, bool required, size_t max,
		       const char **ret, size_t *ret_len, char *err, size_t n)
{
	*ret = "";
	*ret_len = 0;
	if (!v)
		return required ? FAIL(a, "missing") : 0;
	if (!IS_STR(v))
		return FAIL(a, "must be a string");
	size_t len = strlen(v->valuestring);
	if (len >= max)
		return FAIL(a, "longer than %zu characters", max - 1);
	*ret = v->valuestring;
	*ret_len = len;
	return 0;
}

/* The same copied into out (max bytes with the NUL). */
static int get_str(const cJSON *v, const struct at *a, bool required, char *out, size_t max,
		   char *err, size_t n)
{
	const char *s;
	size_t len;
	out[0] = 0;
	if (get_str_ref(v, a, required, max, &s, &len, err, n))
		return -EINVAL;
	memcpy(out, s, len + 1);
	return 0;
}

/* An array field: *ret_n 0 when absent; refused over max entries. */
static int get_array(const cJSON *v, const struct at *a, unsigned max, unsigned *ret_n,
		     char *err, size_t n)
{
	unsigned c = 0;
	*ret_n = 0;
	if (!v)
		return 0;
	if (!IS_ARR(v))
		return FAIL(a, "must be an array");
	for (const cJSON *e = v->child; e; e = e->next)
		if (++c > max)
			return FAIL(a, "more than %u entries", max);
	*ret_n = c;
	return 0;
}

/* "kind"/"apiVersion" (the members k and api), when present, must be this kind's. */
static int check_kind(const cJSON *k, const cJSON *api, const struct at *a, const char *kind,
		      const char *want_api, char *err, size_t n)
{
	if (k && (!IS_STR(k) || strcmp(k->valuestring, kind)))
		return FAIL(AT(a, "kind"), "must be %s", kind);
	if (api && (!IS_STR(api) || strcmp(api->valuestring, want_api)))
		return FAIL(AT(a, "apiVersion"), "must be %s for a %s", want_api, kind);
	return 0;
}

/* "protocol" (v): TCP (the default), UDP or SCTP, as IPPROTO_*. */
static int get_protocol(const cJSON *v, const struct at *a, uint8_t *ret, char *err, size_t n)
{
	const char *s = v && IS_STR(v) ? v->valuestring : "";
	if (v && (!IS_STR(v) || strlen(s) >= 8))
		return FAIL(a, "must be TCP, UDP or SCTP");
	if (!s[0] || !strcmp(s, "TCP"))
		*ret = IPPROTO_TCP;
	else if (!strcmp(s, "UDP"))
		*ret = IPPROTO_UDP;
	else if (!strcmp(s, "SCTP"))
		*ret = IPPROTO_SCTP;
	else
		return FAIL(a, "'%s' is not TCP, UDP or SCTP", s);
	return 0;
}

static inline bool lower_or_digit(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label (lowercase alphanumerics and '-', alphanumeric at both ends); rfc1035
 * also wants a letter first; max > 63: a subdomain ('.' allowed). Returns a reason or
 * NULL. */
static const char *dns_label(const char *s, size_t max, bool rfc1035)
{
	size_t len = 0;
	bool bad = false;
	for (; s[len]; len++) {
		unsigned char c = (unsigned char)s[len];
		bad |= !(lower_or_digit(c) || c == '-' || (c == '.' && max > 63));
	}
	if (!len)
		return "must not be empty";
	if (len > max)
		return max == 63 ? "longer than 63 characters" : "too long";
	if (bad)
		return "must consist of lower case alphanumerics, '-' (and '.' in names)";
	if (!lower_or_digit((unsigned char)s[0]) || !lower_or_digit((unsigned char)s[len - 1]))
		return "must start and end with an alphanumeric character";
	if (rfc1035 && !(s[0] >= 'a' && s[0] <= 'z'))
		return "must start with a letter";
	return NULL;
}

static int check_name(const char *s, const struct at *a, size_t max, bool rfc1035, char *err,
		      size_t n)
{
	const char *why = dns_label(s, max, rfc1035);
	return why ? FAIL(a, "'%.64s' %s", s, why) : 0;
}

/* choices[i] for the string v (under 32 bytes); "" or absent gives 0. Returns the index or
 * -EINVAL. */
static int get_enum(const cJSON *v, const struct at *a, const char *const *choices,
		    const char *list, char *err, size_t n)
{
	const char *s;
	size_t len;
	if (get_str_ref(v, a, false, 32, &s, &len, err, n))
		return -EINVAL;
	if (!s[0])
		return 0;
	for (int i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return i;
	return FAIL(a, "'%s' is not one of %s", s, list);
}

/* metadata (md): name, namespace (default "default"), and one label. */
static int parse_meta(const cJSON *md, const struct at *obj, char *name, size_t name_max,
		      bool name_1035, char *ns, const char *label, char *label_out,
		      size_t label_max, bool *label_set, char *err, size_t n)
{
	static const char *const keys[] = { "name", "namespace", "labels" };
	const struct at *p = AT(obj, "metadata"), *pn = AT(p, "name"), *pns = AT(p, "namespace");
	const cJSON *v[3];
	if (!md)
		return FAIL(p, "missing");
	if (want_obj(md, p, err, n))
		return -EINVAL;
	members(md, keys, 3, v);
	if (get_str(v[0], pn, true, name, name_max, err, n) ||
	    check_name(name, pn, name_max - 1 > 63 ? 253 : 63, name_1035, err, n))
		return -EINVAL;
	if (get_str(v[1], pns, false, ns, SL_K8S_NS_MAX, err, n))
		return -EINVAL;
	if (!ns[0])
		memcpy(ns, "default", sizeof("default"));
	else if (check_name(ns, pns, 63, false, err, n))
		return -EINVAL;
	const cJSON *labels = v[2];
	if (!labels)
		return 0;
	const struct at *q = AT(p, "labels");
	if (want_obj(labels, q, err, n))
		return -EINVAL;
	const cJSON *lv = sl_k8s_get(labels, label);
	if (!lv)
		return 0;
	size_t len = IS_STR(lv) ? strlen(lv->valuestring) : 0;
	if (!IS_STR(lv) || (label_out && len >= label_max)) {
		char qs[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX];
		if (snprintf(r, sizeof(r), "%s[\"%s\"]", at_str(q, qs), label) < 0)
			r[0] = 0;
		return IS_STR(lv) ? sl_k8s_fail(err, n, r, "longer than %zu characters",
						label_max - 1)
				  : sl_k8s_fail(err, n, r, "must be a string");
	}
	if (label_set)
		*label_set = true;
	if (label_out)
		memcpy(label_out, lv->valuestring, len + 1);
	return 0;
}

/* A canonical dotted quad ("10.96.0.1": four parts of 1-3 digits, no leading zero, <= 255)
 * into *ret (network order); -1 for anything else, which sl_ip_parse (inet_pton) then
 * decides: this accepts only what inet_pton accepts, with the same value. */
static int quad(const char *s, uint32_t *ret)
{
	uint32_t a = 0;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, d = 0;
		while (s[d] >= '0' && s[d] <= '9' && d < 4)
			v = v * 10 + (unsigned)(s[d++] - '0');
		if (!d || d > 3 || v > 255 || (d > 1 && s[0] == '0'))
			return -1;
		s += d;
		if (*s != (part == 3 ? 0 : '.'))
			return -1;
		s++;
		a = a << 8 | v;
	}
	*ret = htonl(a);
	return 0;
}

static int ip_parse(const char *s, struct sl_ip *ret)
{
	uint32_t v4;
	if (quad(s, &v4) == 0) {
		*ret = sl_ip4(v4);
		return 0;
	}
	return sl_ip_parse(s, true, ret);
}

/* An IPv4 address into *ret (true), an IPv6 one skipped (false), else an error. */
static int parse_addr(const cJSON *v, const struct at *a, struct sl_ip *ret, bool *ret_v4,
		      char *err, size_t n)
{
	struct sl_ip ip;
	if (!IS_STR(v))
		return FAIL(a, "must be a string");
	if (ip_parse(v->valuestring, &ip))
		return FAIL(a, "'%.48s' is not an IP address", v->valuestring);
	*ret_v4 = ip.af == AF_INET;
	*ret = ip;
	return 0;
}

/* An array of address strings (v, at a) into a heap array of the IPv4 ones. */
static int parse_ips(const cJSON *v, const struct at *a, struct sl_ip **ret, unsigned *ret_n,
		     char *err, size_t n)
{
	const cJSON *e;
	unsigned c, i = 0;
	if (get_array(v, a, SL_SVC_MAX_IPS, &c, err, n))
		return -EINVAL;
	if (!c)
		return 0;
	if (!(*ret = calloc(c, sizeof(**ret))))
		return -ENOMEM;
	cJSON_ArrayForEach(e, v)
	{
		bool v4 = false;
		if (parse_addr(e, AT_I(a, i++), &(*ret)[*ret_n], &v4, err, n))
			return -EINVAL;
		*ret_n += v4;
	}
	return 0;
}

static int parse_svc_port(const cJSON *o, const struct at *a, struct sl_svc_port *p, char *err,
			  size_t n)
{
	static const char *const keys[] = { "name", "protocol", "port", "targetPort",
					    "nodePort" };
	const cJSON *m[5];
	long v = 0;
	if (want_obj(o, a, err, n))
		return -EINVAL;
	members(o, keys, 5, m);
	const struct at *an = AT(a, "name");
	if (get_str(m[0], an, false, p->name, sizeof(p->name), err, n) ||
	    (p->name[0] && check_name(p->name, an, 63, false, err, n)))
		return -EINVAL;
	if (get_protocol(m[1], AT(a, "protocol"), &p->protocol, err, n) ||
	    get_int(m[2], AT(a, "port"), true, 1, 65535, &v, err, n))
		return -EINVAL;
	p->port = (uint16_t)v;
	p->target_port = p->port; /* default: the port */
	const cJSON *t = m[3];
	const struct at *q = AT(a, "targetPort");
	if (IS_NUM(t)) {
		if (get_int(t, q, true, 1, 65535, &v, err, n))
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
	if (get_int(m[4], AT(a, "nodePort"), false, 0, 65535, &v, err, n))
		return -EINVAL;
	p->node_port = (uint16_t)v;
	return 0;
}

/* The members of a Service or EndpointSlice object the decoder reads. */
enum { K_KIND, K_API, K_META, K_SPEC, K_STATUS, K_ADDR_TYPE, K_ENDPOINTS, K_PORTS, K_N };
static const char *const obj_keys[K_N] = { "kind", "apiVersion", "metadata", "spec", "status",
					   "addressType", "endpoints", "ports" };

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
	members(sp, keys, N, m);
	if ((t = get_enum(m[TYPE], AT(a, "type"), types, "ClusterIP, NodePort, LoadBalancer, "
			  "ExternalName", err, n)) < 0)
		return -EINVAL;
	s->type = (enum sl_svc_type)t;

	/* clusterIPs (dual-stack) or clusterIP; "None": headless. */
	const char *cip;
	size_t cip_len;
	const struct at *acip = AT(a, "clusterIP");
	if (get_str_ref(m[CIP], acip, false, 64, &cip, &cip_len, err, n))
		return -EINVAL;
	s->headless = !strcmp(cip, "None");
	const cJSON *cips = m[CIPS];
	if (cips && IS_ARR(cips) && IS_STR(cips->child) &&
	    !strcmp(cips->child->valuestring, "None"))
		s->headless = true;
	if (!s->headless && cips) {
		if (parse_ips(cips, AT(a, "clusterIPs"), &s->cluster_ips, &s->n_cluster_ips, err,
			      n))
			return -EINVAL;
	} else if (!s->headless && cip[0]) {
		bool v4 = false;
		if (!(s->cluster_ips = calloc(1, sizeof(*s->cluster_ips))))
			return -ENOMEM;
		if (parse_addr(m[CIP], acip, &s->cluster_ips[0], &v4, err, n))
			return -EINVAL;
		s->n_cluster_ips = v4;
	}

	const struct at *ap = AT(a, "ports");
	if (get_array(m[PORTS], ap, SL_SVC_MAX_PORTS, &c, err, n))
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

	if (parse_ips(m[EXT_IPS], AT(a, "externalIPs"), &s->external_ips, &s->n_external_ips,
		      err, n))
		return -EINVAL;

	if ((t = get_enum(m[AFF], AT(a, "sessionAffinity"), affinity, "None, ClientIP", err,
			  n)) < 0)
		return -EINVAL;
	s->affinity_client_ip = t == 1;
	s->affinity_timeout_s = SL_SVC_AFFINITY_DEFAULT_S;
	const cJSON *ac = m[AFF_CONF], *ci;
	if (ac) {
		const struct at *p = AT(a, "sessionAffinityConfig");
		if (want_obj(ac, p, err, n))
			return -EINVAL;
		if ((ci = sl_k8s_get(ac, "clientIP"))) {
			const struct at *q = AT(p, "clientIP");
			v = SL_SVC_AFFINITY_DEFAULT_S;
			if (want_obj(ci, q, err, n) ||
			    get_int(sl_k8s_get(ci, "timeoutSeconds"), AT(q, "timeoutSeconds"), false,
				    1, SL_SVC_AFFINITY_MAX_S, &v, err, n))
				return -EINVAL;
			s->affinity_timeout_s = (uint32_t)v;
		}
	}
	if ((t = get_enum(m[ETP], AT(a, "externalTrafficPolicy"), policy, "Cluster, Local", err,
			  n)) < 0)
		return -EINVAL;
	s->external_local = t == 1;
	if ((t = get_enum(m[ITP], AT(a, "internalTrafficPolicy"), policy, "Cluster, Local", err,
			  n)) < 0)
		return -EINVAL;
	s->internal_local = t == 1;
	v = 0;
	if (get_int(m[HC], AT(a, "healthCheckNodePort"), false, 0, 65535, &v, err, n))
		return -EINVAL;
	s->health_check_node_port = (uint16_t)v;

	const struct at *ar = AT(a, "loadBalancerSourceRanges");
	if (get_array(m[RANGES], ar, SL_SVC_MAX_SOURCE_RANGES, &c, err, n))
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
	if (want_obj(st, p, err, n))
		return -EINVAL;
	if (!(lb = sl_k8s_get(st, "loadBalancer")))
		return 0;
	const struct at *q = AT(p, "loadBalancer"), *ai = AT(q, "ingress");
	const cJSON *a = sl_k8s_get(lb, "ingress");
	if (want_obj(lb, q, err, n) || get_array(a, ai, SL_SVC_MAX_IPS, &c, err, n))
		return -EINVAL;
	if (c && !(s->lb_ips = calloc(c, sizeof(*s->lb_ips))))
		return -ENOMEM;
	cJSON_ArrayForEach(e, a)
	{
		const cJSON *ip;
		bool v4 = false;
		const struct at *r = AT_I(ai, i++);
		if (want_obj(e, r, err, n))
			return -EINVAL;
		if (!(ip = sl_k8s_get(e, "ip"))) /* hostname-only ingress: nothing for this node */
			continue;
		if (parse_addr(ip, AT(r, "ip"), &s->lb_ips[s->n_lb_ips], &v4, err, n))
			return -EINVAL;
		s->n_lb_ips += v4;
	}
	return 0;
}

/* The path's text for "out of memory". */
static void nomem(const struct at *a, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX];
	at_str(a, p);
	snprintf(err, n, "%s: out of memory", p[0] ? p : "object");
}

/* A Service: o with its members m (obj_keys). */
static int service_of(const cJSON *o, const cJSON *const *m, const struct at *a,
		      struct sl_svc_spec **ret, char *err, size_t n)
{
	*ret = NULL;
	if (want_obj(o, a, err, n) ||
	    check_kind(m[K_KIND], m[K_API], a, "Service", "v1", err, n))
		return -EINVAL;
	struct sl_svc_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = parse_meta(m[K_META], a, s->name, sizeof(s->name), true, s->namespace,
			    LABEL_PROXY_NAME, NULL, 0, &s->other_proxy, err, n);
	const cJSON *sp = m[K_SPEC];
	const struct at *p = AT(a, "spec");
	if (!rc && !sp)
		rc = FAIL(p, "missing");
	if (!rc)
		rc = want_obj(sp, p, err, n);
	if (!rc)
		rc = parse_svc_spec(sp, p, s, err, n);
	if (!rc)
		rc = parse_lb_status(m[K_STATUS], a, s, err, n);
	if (rc) {
		if (rc == -ENOMEM)
			nomem(a, err, n);
		sl_svc_spec_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

int sl_k8s_parse_service(const cJSON *o, const char *base, struct sl_svc_spec **ret, char *err,
			 size_t n)
{
	const cJSON *m[K_N];
	members(IS_OBJ(o) ? o : NULL, obj_keys, K_N, m);
	return service_of(o, m, AT(NULL, base), ret, err, n);
}

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
	if (want_obj(o, a, err, n))
		return -EINVAL;
	members(o, keys, 4, m);
	const struct at *p = AT(a, "addresses");
	if (get_array(m[0], p, 100, &cnt, err, n))
		return -EINVAL;
	if (!cnt)
		return FAIL(p, "must have 1-100 entries");
	cJSON_ArrayForEach(e, m[0])
	{
		struct sl_ip ip;
		if (!IS_STR(e))
			return FAIL(AT_I(p, i), "must be a string");
		if (af && (ip_parse(e->valuestring, &ip) || ip.af != af))
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
		if (want_obj(c, q, err, n))
			return -EINVAL;
		members(c, cond_keys, 3, cm);
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
	if (get_str_ref(m[2], AT(a, "nodeName"), false, SL_K8S_NAME_MAX, &s, &len, err, n))
		return -EINVAL;
	if (len) {
		ep->node_name = (char *)s;
		*ret_bytes += len + 1;
	}
	if (get_str_ref(m[3], AT(a, "zone"), false, 64, &s, &len, err, n))
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
	int t = get_enum(m[K_ADDR_TYPE], at_type, types, "IPv4, IPv6, FQDN", err, n);
	if (t < 0)
		return -EINVAL;
	s->af = t == 0 ? AF_INET : t == 1 ? AF_INET6 : 0;
	const struct at *p = AT(a, "endpoints");
	if (get_array(m[K_ENDPOINTS], p, SL_SLICE_MAX_ENDPOINTS, &c, err, n))
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
	if (get_array(m[K_PORTS], p, SL_SLICE_MAX_PORTS, &c, err, n))
		return -EINVAL;
	if (c && !(s->ports = calloc(c, sizeof(*s->ports))))
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(e, m[K_PORTS])
	{
		struct sl_slice_port *pt = &s->ports[i];
		const struct at *q = AT_I(p, i);
		const cJSON *pm[3];
		if (want_obj(e, q, err, n))
			return -EINVAL;
		members(e, port_keys, 3, pm);
		const struct at *qn = AT(q, "name");
		if (get_str(pm[0], qn, false, pt->name, sizeof(pt->name), err, n) ||
		    (pt->name[0] && check_name(pt->name, qn, 63, false, err, n)) ||
		    get_protocol(pm[1], AT(q, "protocol"), &pt->protocol, err, n))
			return -EINVAL;
		v = 0;
		if (get_int(pm[2], AT(q, "port"), false, 1, 65535, &v, err, n))
			return -EINVAL;
		pt->port = (uint16_t)v;
		s->n_ports = ++i;
	}
	return 0;
}

/* An EndpointSlice: o with its members m (obj_keys). */
static int slice_of(const cJSON *o, const cJSON *const *m, const struct at *a,
		    struct sl_slice_spec **ret, char *err, size_t n)
{
	*ret = NULL;
	if (want_obj(o, a, err, n) ||
	    check_kind(m[K_KIND], m[K_API], a, "EndpointSlice", "discovery.k8s.io/v1", err, n))
		return -EINVAL;
	struct sl_slice_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = parse_meta(m[K_META], a, s->name, sizeof(s->name), false, s->namespace,
			    LABEL_SERVICE_NAME, s->service, sizeof(s->service), NULL, err, n);
	if (!rc)
		rc = parse_slice_body(m, a, s, err, n);
	if (rc) {
		if (rc == -ENOMEM)
			nomem(a, err, n);
		sl_slice_spec_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

int sl_k8s_parse_slice(const cJSON *o, const char *base, struct sl_slice_spec **ret, char *err,
		       size_t n)
{
	const cJSON *m[K_N];
	members(IS_OBJ(o) ? o : NULL, obj_keys, K_N, m);
	return slice_of(o, m, AT(NULL, base), ret, err, n);
}

/* One object of a document: its kind from "kind", or from the list's kind. */
static int decode_one(const cJSON *o, const char *path, const char *list_kind,
		      struct sl_k8s_op *op, char *err, size_t n)
{
	const cJSON *m[K_N];
	const struct at *a = AT(NULL, path);
	members(IS_OBJ(o) ? o : NULL, obj_keys, K_N, m);
	const cJSON *k = m[K_KIND];
	const char *kind = IS_STR(k) ? k->valuestring : list_kind;
	size_t pl = strlen(path);
	if (pl > sizeof(op->path) - 1)
		pl = sizeof(op->path) - 1;
	memcpy(op->path, path, pl);
	op->path[pl] = 0;
	if (want_obj(o, a, err, n))
		return -EINVAL;
	if (!kind)
		return FAIL(AT(a, "kind"), "missing (Service or EndpointSlice)");
	if (!strcmp(kind, "Service")) {
		op->kind = SL_K8S_SERVICE;
		return service_of(o, m, a, &op->svc, err, n);
	}
	if (!strcmp(kind, "EndpointSlice")) {
		op->kind = SL_K8S_SLICE;
		return slice_of(o, m, a, &op->slice, err, n);
	}
	if (sl_k8s_policy_kind(kind)) /* Namespace, Pod, NetworkPolicy (sl_k8s_policy.c) */
		return sl_k8s_policy_decode(o, path, kind, op, err, n);
	return FAIL(AT(a, "kind"), "'%.32s' is not supported (Service, "
		    "EndpointSlice, Namespace, Pod, NetworkPolicy, or a List of them)", kind);
}

/* Whether k (a document's "kind") names a List; *ret its items' kind when the List says
 * it (ServiceList: Service), else NULL. */
static bool is_list_kind(const cJSON *k, const char **ret)
{
	*ret = NULL;
	if (!IS_STR(k))
		return false;
	const char *s = k->valuestring;
	if (!strcmp(s, "List"))
		return true;
	if (!strcmp(s, "ServiceList"))
		*ret = "Service";
	else if (!strcmp(s, "EndpointSliceList"))
		*ret = "EndpointSlice";
	else
		*ret = sl_k8s_policy_list_kind(s);
	return *ret != NULL;
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
	if (!IS_OBJ(doc))
		return sl_k8s_fail(err, n, "object", "must be a JSON object (a Service, an "
				   "EndpointSlice or a List)");
	if (is_list_kind(k, &list_kind)) {
		is_list = true;
		items = sl_k8s_get(doc, "items");
		if (get_array(items, AT(NULL, "items"), SL_K8S_MAX_OBJECTS, &count, err, n))
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
			if ((rc = decode_one(e, sl_k8s_idx(p, "items", i), list_kind, &ops[i], err,
					     n)))
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

void sl_k8s_stream_elem(void *ctx, const cJSON *array, const cJSON *e, unsigned idx)
{
	struct sl_k8s_stream *s = ctx;
	char p[SL_K8S_PATH_MAX], err[4];
	if (s->bad)
		return;
	if (idx != s->n || (s->array && array != s->array) || s->n >= SL_K8S_MAX_OBJECTS) {
		s->bad = true; /* a second array, or too many */
		return;
	}
	s->array = array;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 256;
		struct sl_k8s_op *ops = realloc(s->ops, cap * sizeof(*ops));
		if (!ops) {
			s->bad = true;
			return;
		}
		memset(ops + s->cap, 0, (cap - s->cap) * sizeof(*ops));
		s->ops = ops;
		s->cap = cap;
	}
	/* As sl_k8s_decode would with the List's own kind unknown yet (kubectl prints "kind"
	 * after "items"): an item without a kind of its own fails here, and is decoded again
	 * from the tree. */
	if (decode_one(e, sl_k8s_idx(p, "items", idx), NULL, &s->ops[s->n], err, sizeof(err)))
		s->bad = true;
	s->n++; /* freed with the others, even when half decoded */
}

void sl_k8s_stream_free(struct sl_k8s_stream *s)
{
	sl_k8s_ops_free(s->ops, s->n);
	*s = (struct sl_k8s_stream){ 0 };
}

int sl_k8s_stream_finish(struct sl_k8s_stream *s, bool streamed, const cJSON *doc,
			 struct sl_k8s_op **ret_ops, unsigned *ret_n, char *err, size_t n)
{
	const char *list_kind;
	const cJSON *items = IS_OBJ(doc) ? sl_k8s_get(doc, "items") : NULL;
	/* The streamed items are the List's when every one decoded, they were the elements
	 * of the tree's own items array (its first: each array told is checked to be the
	 * first one), and the document is a List: then sl_k8s_decode would give the same
	 * ops. */
	if (streamed && !s->bad && is_list_kind(sl_k8s_get(doc, "kind"), &list_kind) &&
	    items == s->array) {
		*ret_ops = s->ops;
		*ret_n = s->n;
		*s = (struct sl_k8s_stream){ 0 };
		return 0;
	}
	sl_k8s_stream_free(s);
	if (streamed) /* items were dropped from the tree: read the text again */
		return -EAGAIN;
	return sl_k8s_decode(doc, ret_ops, ret_n, err, n);
}

int sl_k8s_decode_text(const char *text, size_t len, struct sl_k8s_op **ret_ops,
		       unsigned *ret_n, char *err, size_t n)
{
	static const char *const path[] = { "items" };
	*ret_ops = NULL;
	*ret_n = 0;
	struct sl_json_arena a = { 0 };
	struct sl_k8s_stream st = { 0 };
	struct sl_json_watch w = { .path = path, .depth = 1, .elem = sl_k8s_stream_elem,
				   .ctx = &st };
	cJSON *doc = sl_json_parse_watch(&a, text, len, NULL, &w);
	int rc = -EAGAIN;
	if (doc)
		rc = sl_k8s_stream_finish(&st, w.streamed && w.n, doc, ret_ops, ret_n, err, n);
	sl_k8s_stream_free(&st);
	if (rc == -EAGAIN) { /* not a List the stream could take: the whole tree */
		sl_json_arena_free(&a);
		doc = doc ? sl_json_parse(&a, text, len, NULL) : NULL;
		rc = doc ? sl_k8s_decode(doc, ret_ops, ret_n, err, n)
			 : sl_k8s_fail(err, n, "object", "invalid JSON");
	}
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
