/* Decoders of Namespace, Pod and NetworkPolicy (see sl_k8s_policy.h). Validation follows
 * the API server's (k8s.io/apimachinery validation, pkg/apis/networking/validation) where it
 * matters to this node: names, label keys and values, selector operators, ports, CIDRs. */
#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s_field.h"
#include "sl_k8s_policy.h"

static int get_bool(const cJSON *o, const char *base, const char *key, bool *ret, char *err,
		    size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *v = sl_k8s_get(o, key);
	*ret = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "must be true or false");
	*ret = cJSON_IsTrue(v);
	return 0;
}

/* An integer in [min, max] from v (path names it). */
static int int_of(const cJSON *v, const char *path, long min, long max, long *out, char *err,
		  size_t n)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble)
		return sl_k8s_fail(err, n, path, "must be an integer");
	if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max))
		return sl_k8s_fail(err, n, path, "must be %ld-%ld", min, max);
	*out = (long)v->valuedouble;
	return 0;
}

/* DNS-1123 label (max 63) or subdomain (max 253). Returns a reason or NULL. */
static const char *dns_name(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (!len)
		return "must not be empty";
	if (len > max)
		return max == 63 ? "longer than 63 characters" : "longer than 253 characters";
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      (s[i] == '.' && max > 63)))
			return "must consist of lower case alphanumerics, '-' (and '.' in names)";
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return "must start and end with an alphanumeric character";
	return NULL;
}

/* The name part of a qualified name, or a label value (may be empty when value). */
static const char *label_part(const char *s, size_t len, bool value)
{
	if (!len)
		return value ? NULL : "name part must not be empty";
	if (len > 63)
		return "longer than 63 characters";
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return "must consist of alphanumerics, '-', '_' or '.'";
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return "must start and end with an alphanumeric character";
	return NULL;
}

/* A label key: [prefix/]name (apimachinery IsQualifiedName). */
static const char *label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return label_part(s, strlen(s), false);
	if (strchr(slash + 1, '/'))
		return "must have at most one '/'";
	char prefix[254];
	size_t plen = (size_t)(slash - s);
	if (!plen || plen > 253)
		return "prefix must be 1-253 characters";
	memcpy(prefix, s, plen);
	prefix[plen] = 0;
	if (dns_name(prefix, 253))
		return "prefix must be a DNS subdomain";
	return label_part(slash + 1, strlen(slash + 1), false);
}

static int check_name(const char *s, const char *path, size_t max, char *err, size_t n)
{
	const char *why = dns_name(s, max);
	return why ? sl_k8s_fail(err, n, path, "'%.64s' %s", s, why) : 0;
}

/* Labels (an object of strings) into l. */
static int parse_labels(const cJSON *v, const char *path, struct sl_labels *l, char *err,
			size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *e;
	if (sl_k8s_want_obj(v, path, err, n))
		return -EINVAL;
	int c = cJSON_GetArraySize(v);
	if (c > SL_POL_MAX_LABELS)
		return sl_k8s_fail(err, n, path, "more than %d labels", SL_POL_MAX_LABELS);
	if (!c)
		return 0;
	if (!(l->v = calloc((size_t)c, sizeof(*l->v))))
		return -ENOMEM;
	cJSON_ArrayForEach(e, v)
	{
		const char *why;
		if (snprintf(p, sizeof(p), "%s[\"%.64s\"]", path, e->string) < 0)
			p[0] = 0;
		if ((why = label_key(e->string)))
			return sl_k8s_fail(err, n, p, "key %s", why);
		if (!cJSON_IsString(e))
			return sl_k8s_fail(err, n, p, "must be a string");
		if ((why = label_part(e->valuestring, strlen(e->valuestring), true)))
			return sl_k8s_fail(err, n, p, "value '%.64s' %s", e->valuestring, why);
		struct sl_label *lb = &l->v[l->n];
		if (!(lb->key = strdup(e->string)) || !(lb->value = strdup(e->valuestring))) {
			free(lb->key);
			lb->key = NULL;
			return -ENOMEM;
		}
		l->n++;
	}
	if (sl_labels_sort(l))
		return sl_k8s_fail(err, n, path, "a key repeats");
	return 0;
}

/* metadata: name (DNS subdomain or label), namespace (default "default" unless none),
 * labels. */
static int parse_meta(const cJSON *o, const char *base, char *name, size_t name_max,
		      char *ns, struct sl_labels *labels, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX];
	const cJSON *md = sl_k8s_get(o, "metadata"), *lb;
	sl_k8s_sub(p, base, "metadata");
	if (!md)
		return sl_k8s_fail(err, n, p, "missing");
	if (sl_k8s_want_obj(md, p, err, n) ||
	    sl_k8s_get_str(md, p, "name", true, name, name_max, err, n) ||
	    check_name(name, sl_k8s_sub(q, p, "name"), name_max > SL_K8S_NS_MAX ? 253 : 63, err, n))
		return -EINVAL;
	if (ns) {
		if (sl_k8s_get_str(md, p, "namespace", false, ns, SL_K8S_NS_MAX, err, n))
			return -EINVAL;
		if (!ns[0])
			snprintf(ns, SL_K8S_NS_MAX, "default");
		else if (check_name(ns, sl_k8s_sub(q, p, "namespace"), 63, err, n))
			return -EINVAL;
	}
	if (labels && (lb = sl_k8s_get(md, "labels")))
		return parse_labels(lb, sl_k8s_sub(q, p, "labels"), labels, err, n);
	return 0;
}

static int nomem(int rc, const char *base, char *err, size_t n)
{
	if (rc == -ENOMEM)
		snprintf(err, n, "%s: out of memory", base[0] ? base : "object");
	return rc;
}

/* Namespace. */

int sl_k8s_parse_namespace(const cJSON *o, const char *base, struct sl_ns_spec **ret,
			   char *err, size_t n)
{
	*ret = NULL;
	if (sl_k8s_want_obj(o, base, err, n) || sl_k8s_check_kind(o, base, "Namespace", "v1", err, n))
		return -EINVAL;
	struct sl_ns_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return nomem(-ENOMEM, base, err, n);
	int rc = parse_meta(o, base, s->name, sizeof(s->name), NULL, &s->labels, err, n);
	/* The API server sets kubernetes.io/metadata.name = name on every namespace (1.21+);
	 * a namespace given without it gets it here. */
	if (!rc && !sl_labels_get(&s->labels, SL_LABEL_NS_NAME)) {
		struct sl_label *v = realloc(s->labels.v, (s->labels.n + 1) * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
		} else {
			s->labels.v = v;
			v[s->labels.n].key = strdup(SL_LABEL_NS_NAME);
			v[s->labels.n].value = strdup(s->name);
			if (!v[s->labels.n].key || !v[s->labels.n].value) {
				free(v[s->labels.n].key);
				free(v[s->labels.n].value);
				rc = -ENOMEM;
			} else {
				s->labels.n++;
				sl_labels_sort(&s->labels);
			}
		}
	} else if (!rc && strcmp(sl_labels_get(&s->labels, SL_LABEL_NS_NAME), s->name)) {
		char p[SL_K8S_PATH_MAX];
		rc = sl_k8s_fail(err, n, sl_k8s_sub(p, base, "metadata.labels[\"" SL_LABEL_NS_NAME "\"]"),
			  "must be the namespace's name '%s'", s->name);
	}
	if (rc) {
		sl_ns_spec_free(s);
		return nomem(rc, base, err, n);
	}
	*ret = s;
	return 0;
}

/* Pod. */

static int parse_container_ports(const cJSON *sp, const char *base, struct sl_kpod_spec *s,
				 char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX], t[SL_K8S_PATH_MAX];
	const cJSON *cs, *c, *ps, *e;
	unsigned nc, np, ci = 0;
	if (sl_k8s_get_array(sp, base, "containers", 64, &cs, &nc, err, n))
		return -EINVAL;
	sl_k8s_sub(p, base, "containers");
	cJSON_ArrayForEach(c, cs)
	{
		sl_k8s_idx(q, p, ci++);
		if (sl_k8s_want_obj(c, q, err, n) ||
		    sl_k8s_get_array(c, q, "ports", SL_POD_MAX_PORTS, &ps, &np, err, n))
			return -EINVAL;
		if (!np)
			continue;
		if (s->n_ports + np > SL_POD_MAX_PORTS)
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "ports"), "more than %d ports in the pod",
				    SL_POD_MAX_PORTS);
		struct sl_pod_port *v = realloc(s->ports, (s->n_ports + np) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->ports = v;
		unsigned pi = 0;
		sl_k8s_sub(r, q, "ports");
		cJSON_ArrayForEach(e, ps)
		{
			struct sl_pod_port *pt = &s->ports[s->n_ports];
			long port = 0;
			sl_k8s_idx(t, r, pi++);
			memset(pt, 0, sizeof(*pt));
			if (sl_k8s_want_obj(e, t, err, n) ||
			    sl_k8s_get_str(e, t, "name", false, pt->name, sizeof(pt->name), err, n) ||
			    sl_k8s_parse_protocol(e, t, &pt->proto, err, n))
				return -EINVAL;
			if (pt->name[0] && !sl_k8s_iana_svc_name(pt->name)) {
				char u[SL_K8S_PATH_MAX];
				return sl_k8s_fail(err, n, sl_k8s_sub(u, t, "name"), "'%s' is not an IANA_SVC_NAME "
					    "(1-15 lower case alphanumerics and '-')", pt->name);
			}
			const cJSON *cp = sl_k8s_get(e, "containerPort");
			char u[SL_K8S_PATH_MAX];
			if (!cp)
				return sl_k8s_fail(err, n, sl_k8s_sub(u, t, "containerPort"), "missing");
			if (int_of(cp, sl_k8s_sub(u, t, "containerPort"), 1, 65535, &port, err, n))
				return -EINVAL;
			pt->port = (uint16_t)port;
			s->n_ports++;
		}
	}
	return 0;
}

/* The first IPv4 address of status.podIPs[].ip, else status.podIP. */
static int parse_pod_status(const cJSON *st, const char *base, struct sl_kpod_spec *s,
			    char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX], phase[32];
	const cJSON *a, *e;
	unsigned c, i = 0;
	struct sl_ip ip;
	if (sl_k8s_want_obj(st, base, err, n) ||
	    sl_k8s_get_str(st, base, "phase", false, phase, sizeof(phase), err, n) ||
	    sl_k8s_get_array(st, base, "podIPs", 8, &a, &c, err, n))
		return -EINVAL;
	sl_k8s_sub(p, base, "podIPs");
	cJSON_ArrayForEach(e, a)
	{
		const cJSON *v;
		sl_k8s_idx(q, p, i++);
		if (sl_k8s_want_obj(e, q, err, n))
			return -EINVAL;
		if (!(v = sl_k8s_get(e, "ip")))
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "ip"), "missing");
		if (!cJSON_IsString(v) || sl_ip_parse(v->valuestring, true, &ip))
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "ip"), "'%.48s' is not an IP address",
				    cJSON_IsString(v) ? v->valuestring : "");
		if (ip.af == AF_INET && !s->ip.af)
			s->ip = ip;
	}
	const cJSON *v = sl_k8s_get(st, "podIP");
	if (v) {
		if (!cJSON_IsString(v) || sl_ip_parse(v->valuestring, true, &ip))
			return sl_k8s_fail(err, n, sl_k8s_sub(r, base, "podIP"), "'%.48s' is not an IP address",
				    cJSON_IsString(v) ? v->valuestring : "");
		if (ip.af == AF_INET && !s->ip.af)
			s->ip = ip;
	}
	/* A finished pod's address may be reused by a new pod: never selectable. */
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
		s->ip = (struct sl_ip){ 0 };
	return 0;
}

int sl_k8s_parse_pod(const cJSON *o, const char *base, struct sl_kpod_spec **ret, char *err,
		     size_t n)
{
	char p[SL_K8S_PATH_MAX];
	*ret = NULL;
	if (sl_k8s_want_obj(o, base, err, n) || sl_k8s_check_kind(o, base, "Pod", "v1", err, n))
		return -EINVAL;
	struct sl_kpod_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return nomem(-ENOMEM, base, err, n);
	int rc = parse_meta(o, base, s->name, sizeof(s->name), s->namespace, &s->labels, err, n);
	const cJSON *sp = sl_k8s_get(o, "spec"), *st = sl_k8s_get(o, "status");
	if (!rc && sp) {
		sl_k8s_sub(p, base, "spec");
		rc = sl_k8s_want_obj(sp, p, err, n);
		rc = rc ?: sl_k8s_get_str(sp, p, "nodeName", false, s->node_name, sizeof(s->node_name),
				   err, n);
		rc = rc ?: get_bool(sp, p, "hostNetwork", &s->host_network, err, n);
		rc = rc ?: parse_container_ports(sp, p, s, err, n);
	}
	if (!rc && st)
		rc = parse_pod_status(st, sl_k8s_sub(p, base, "status"), s, err, n);
	if (!rc && s->host_network)
		s->ip = (struct sl_ip){ 0 }; /* the node's address: never selected as a pod */
	if (rc) {
		sl_kpod_spec_free(s);
		return nomem(rc, base, err, n);
	}
	*ret = s;
	return 0;
}

/* NetworkPolicy. */

static int parse_selector(const cJSON *v, const char *path, struct sl_selector *sel,
			  char *err, size_t n)
{
	static const char *const ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX];
	const cJSON *ml, *a, *e;
	unsigned c, i = 0;
	if (sl_k8s_want_obj(v, path, err, n))
		return -EINVAL;
	if ((ml = sl_k8s_get(v, "matchLabels"))) {
		int rc = parse_labels(ml, sl_k8s_sub(p, path, "matchLabels"), &sel->match, err, n);
		if (rc)
			return rc;
	}
	if (sl_k8s_get_array(v, path, "matchExpressions", SL_POL_MAX_EXPRS, &a, &c, err, n))
		return -EINVAL;
	if (c && !(sel->exprs = calloc(c, sizeof(*sel->exprs))))
		return -ENOMEM;
	sl_k8s_sub(p, path, "matchExpressions");
	cJSON_ArrayForEach(e, a)
	{
		struct sl_sel_expr *x = &sel->exprs[i];
		char key[SL_LABEL_KEY_MAX], op[16];
		const char *why;
		const cJSON *vals, *s;
		unsigned nv, k = 0;
		sl_k8s_idx(q, p, i);
		if (sl_k8s_want_obj(e, q, err, n) ||
		    sl_k8s_get_str(e, q, "key", true, key, sizeof(key), err, n))
			return -EINVAL;
		if ((why = label_key(key)))
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "key"), "'%.64s' %s", key, why);
		if (sl_k8s_get_str(e, q, "operator", true, op, sizeof(op), err, n))
			return -EINVAL;
		unsigned o;
		for (o = 0; o < 4 && strcmp(op, ops[o]); o++)
			;
		if (o == 4)
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "operator"), "'%s' is not In, NotIn, Exists "
				    "or DoesNotExist", op);
		if (sl_k8s_get_array(e, q, "values", SL_POL_MAX_VALUES, &vals, &nv, err, n))
			return -EINVAL;
		if (o <= SL_SEL_NOT_IN && !nv)
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "values"), "must be non-empty for %s", op);
		if (o > SL_SEL_NOT_IN && nv)
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "values"), "must be empty for %s", op);
		if (!(x->key = strdup(key)))
			return -ENOMEM;
		x->op = (enum sl_sel_op)o;
		sel->n_exprs = ++i;
		if (nv && !(x->values = calloc(nv, sizeof(*x->values))))
			return -ENOMEM;
		sl_k8s_sub(r, q, "values");
		cJSON_ArrayForEach(s, vals)
		{
			char t[SL_K8S_PATH_MAX];
			sl_k8s_idx(t, r, k++);
			if (!cJSON_IsString(s))
				return sl_k8s_fail(err, n, t, "must be a string");
			if ((why = label_part(s->valuestring, strlen(s->valuestring), true)))
				return sl_k8s_fail(err, n, t, "'%.64s' %s", s->valuestring, why);
			if (!(x->values[x->n_values] = strdup(s->valuestring)))
				return -ENOMEM;
			x->n_values++;
		}
	}
	return 0;
}

/* "a.b.c.d/len" or an IPv6 one, host bits cleared (the API server accepts them set). */
static int parse_cidr(const cJSON *v, const char *path, struct sl_cidr *ret, char *err,
		      size_t n)
{
	char buf[64];
	if (!cJSON_IsString(v))
		return sl_k8s_fail(err, n, path, "must be a string");
	const char *slash = strchr(v->valuestring, '/');
	size_t alen = slash ? (size_t)(slash - v->valuestring) : 0;
	if (!slash || alen >= sizeof(buf))
		return sl_k8s_fail(err, n, path, "'%.64s' is not a CIDR (address/length)", v->valuestring);
	memcpy(buf, v->valuestring, alen);
	buf[alen] = 0;
	struct sl_ip ip;
	char *end;
	long len = strtol(slash + 1, &end, 10);
	if (sl_ip_parse(buf, true, &ip) || !isdigit((unsigned char)slash[1]) || *end ||
	    len < 0 || len > (ip.af == AF_INET ? 32 : 128))
		return sl_k8s_fail(err, n, path, "'%.64s' is not a CIDR (address/length)", v->valuestring);
	if (ip.af == AF_INET) {
		ip.v4 &= len ? htonl(~0u << (32 - len)) : 0;
	} else {
		for (int b = 0; b < 16; b++) {
			int keep = (int)len - 8 * b;
			ip.v6[b] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		}
	}
	ret->addr = ip;
	ret->len = (uint8_t)len;
	return 0;
}

static int parse_ipblock(const cJSON *v, const char *path, struct sl_np_peer *pe, char *err,
			 size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], b1[SL_CIDR_STR_MAX], b2[SL_CIDR_STR_MAX];
	const cJSON *c, *a, *e;
	unsigned cnt, i = 0;
	if (sl_k8s_want_obj(v, path, err, n))
		return -EINVAL;
	if (!(c = sl_k8s_get(v, "cidr")))
		return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "cidr"), "missing");
	if (parse_cidr(c, sl_k8s_sub(p, path, "cidr"), &pe->cidr, err, n))
		return -EINVAL;
	pe->v6 = pe->cidr.addr.af != AF_INET;
	if (sl_k8s_get_array(v, path, "except", SL_POL_MAX_EXCEPT, &a, &cnt, err, n))
		return -EINVAL;
	if (cnt && !(pe->except = calloc(cnt, sizeof(*pe->except))))
		return -ENOMEM;
	sl_k8s_sub(p, path, "except");
	cJSON_ArrayForEach(e, a)
	{
		struct sl_cidr x;
		sl_k8s_idx(q, p, i++);
		if (parse_cidr(e, q, &x, err, n))
			return -EINVAL;
		/* networking validation: each except a strict subset of cidr. */
		if (x.addr.af != pe->cidr.addr.af || x.len <= pe->cidr.len ||
		    !sl_cidr_contains(pe->cidr, x.addr))
			return sl_k8s_fail(err, n, q, "'%s' is not strictly inside cidr %s",
				    sl_cidr_fmt(x, b1), sl_cidr_fmt(pe->cidr, b2));
		if (!pe->v6)
			pe->except[pe->n_except++] = x;
	}
	return 0;
}

static int parse_peer(const cJSON *v, const char *path, struct sl_np_peer *pe, char *err,
		      size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *ps, *ns, *ib;
	int rc;
	if (sl_k8s_want_obj(v, path, err, n))
		return -EINVAL;
	ps = sl_k8s_get(v, "podSelector");
	ns = sl_k8s_get(v, "namespaceSelector");
	ib = sl_k8s_get(v, "ipBlock");
	if (ib && (ps || ns))
		return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "ipBlock"), "may not be combined with "
			    "podSelector or namespaceSelector");
	if (!ib && !ps && !ns)
		return sl_k8s_fail(err, n, path, "must specify podSelector, namespaceSelector or "
			    "ipBlock");
	if (ib) {
		pe->kind = SL_PEER_IPBLOCK;
		return parse_ipblock(ib, sl_k8s_sub(p, path, "ipBlock"), pe, err, n);
	}
	pe->kind = SL_PEER_PODS;
	if (ps) {
		pe->has_pod_sel = true;
		if ((rc = parse_selector(ps, sl_k8s_sub(p, path, "podSelector"), &pe->pod_sel, err, n)))
			return rc;
	}
	if (ns) {
		pe->has_ns_sel = true;
		if ((rc = parse_selector(ns, sl_k8s_sub(p, path, "namespaceSelector"), &pe->ns_sel, err,
					 n)))
			return rc;
	}
	return 0;
}

static int parse_np_port(const cJSON *v, const char *path, struct sl_np_port *pt, char *err,
			 size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *port, *end;
	long x = 0;
	if (sl_k8s_want_obj(v, path, err, n) || sl_k8s_parse_protocol(v, path, &pt->proto, err, n))
		return -EINVAL;
	port = sl_k8s_get(v, "port");
	end = sl_k8s_get(v, "endPort");
	if (cJSON_IsString(port)) {
		if (!sl_k8s_iana_svc_name(port->valuestring))
			return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "port"), "'%.32s' is not a port number or "
				    "a port name (IANA_SVC_NAME)", port->valuestring);
		snprintf(pt->name, sizeof(pt->name), "%s", port->valuestring);
	} else if (port) {
		if (int_of(port, sl_k8s_sub(p, path, "port"), 1, 65535, &x, err, n))
			return -EINVAL;
		pt->port = (uint16_t)x;
	}
	if (end) {
		if (!port || pt->name[0])
			return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "endPort"), "requires a numeric port");
		if (int_of(end, sl_k8s_sub(p, path, "endPort"), 1, 65535, &x, err, n))
			return -EINVAL;
		if (x < pt->port)
			return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "endPort"), "must be at least port (%u)",
				    pt->port);
		pt->end_port = (uint16_t)x;
	}
	return 0;
}

static int parse_rules(const cJSON *sp, const char *base, enum sl_pol_dir d,
		       struct sl_np_spec *s, char *err, size_t n)
{
	const char *key = d == SL_POL_INGRESS ? "ingress" : "egress";
	const char *peers_key = d == SL_POL_INGRESS ? "from" : "to";
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX], t[SL_K8S_PATH_MAX];
	const cJSON *a, *e, *pa, *pe;
	unsigned c, i = 0;
	int rc;
	if (sl_k8s_get_array(sp, base, key, SL_POL_MAX_RULES, &a, &c, err, n))
		return -EINVAL;
	if (c && !(s->rules[d] = calloc(c, sizeof(*s->rules[d]))))
		return -ENOMEM;
	sl_k8s_sub(p, base, key);
	cJSON_ArrayForEach(e, a)
	{
		struct sl_np_rule *ru = &s->rules[d][i];
		unsigned np, k;
		sl_k8s_idx(q, p, i++);
		s->n_rules[d] = i;
		if (sl_k8s_want_obj(e, q, err, n) ||
		    sl_k8s_get_array(e, q, peers_key, SL_POL_MAX_PEERS, &pa, &np, err, n))
			return -EINVAL;
		if (np && !(ru->peers = calloc(np, sizeof(*ru->peers))))
			return -ENOMEM;
		sl_k8s_sub(r, q, peers_key);
		k = 0;
		cJSON_ArrayForEach(pe, pa)
		{
			ru->n_peers = k + 1;
			if ((rc = parse_peer(pe, sl_k8s_idx(t, r, k), &ru->peers[k], err, n)))
				return rc;
			k++;
		}
		if (sl_k8s_get_array(e, q, "ports", SL_POL_MAX_PORTS, &pa, &np, err, n))
			return -EINVAL;
		if (np && !(ru->ports = calloc(np, sizeof(*ru->ports))))
			return -ENOMEM;
		sl_k8s_sub(r, q, "ports");
		k = 0;
		cJSON_ArrayForEach(pe, pa)
		{
			if ((rc = parse_np_port(pe, sl_k8s_idx(t, r, k), &ru->ports[k], err, n)))
				return rc;
			ru->n_ports = ++k;
		}
	}
	return 0;
}

static int parse_np_spec(const cJSON *sp, const char *base, struct sl_np_spec *s, char *err,
			 size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX];
	const cJSON *ps, *a, *e;
	unsigned c, i = 0;
	int rc;
	if (sl_k8s_want_obj(sp, base, err, n))
		return -EINVAL;
	/* podSelector is a struct in the API (never nil): absent = {} = every pod. */
	if ((ps = sl_k8s_get(sp, "podSelector")) &&
	    (rc = parse_selector(ps, sl_k8s_sub(p, base, "podSelector"), &s->pod_sel, err, n)))
		return rc;
	if ((rc = parse_rules(sp, base, SL_POL_INGRESS, s, err, n)) ||
	    (rc = parse_rules(sp, base, SL_POL_EGRESS, s, err, n)))
		return rc;
	if (sl_k8s_get_array(sp, base, "policyTypes", 2, &a, &c, err, n))
		return -EINVAL;
	sl_k8s_sub(p, base, "policyTypes");
	cJSON_ArrayForEach(e, a)
	{
		sl_k8s_idx(q, p, i++);
		if (cJSON_IsString(e) && !strcmp(e->valuestring, "Ingress"))
			s->types[SL_POL_INGRESS] = true;
		else if (cJSON_IsString(e) && !strcmp(e->valuestring, "Egress"))
			s->types[SL_POL_EGRESS] = true;
		else
			return sl_k8s_fail(err, n, q, "must be Ingress or Egress");
	}
	/* SetDefaults_NetworkPolicy: no policyTypes: Ingress, plus Egress when
	 * len(spec.egress) != 0. */
	if (!c) {
		s->types[SL_POL_INGRESS] = true;
		s->types[SL_POL_EGRESS] = s->n_rules[SL_POL_EGRESS] != 0;
	}
	return 0;
}

int sl_k8s_parse_policy(const cJSON *o, const char *base, struct sl_np_spec **ret, char *err,
			size_t n)
{
	char p[SL_K8S_PATH_MAX];
	*ret = NULL;
	if (sl_k8s_want_obj(o, base, err, n) ||
	    sl_k8s_check_kind(o, base, "NetworkPolicy", "networking.k8s.io/v1", err, n))
		return -EINVAL;
	struct sl_np_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return nomem(-ENOMEM, base, err, n);
	int rc = parse_meta(o, base, s->name, sizeof(s->name), s->namespace, NULL, err, n);
	const cJSON *sp = sl_k8s_get(o, "spec");
	if (!rc) {
		if (sp) {
			rc = parse_np_spec(sp, sl_k8s_sub(p, base, "spec"), s, err, n);
		} else { /* an empty spec: selects every pod, denies all ingress */
			s->types[SL_POL_INGRESS] = true;
		}
	}
	if (rc) {
		sl_np_spec_free(s);
		return nomem(rc, base, err, n);
	}
	*ret = s;
	return 0;
}

/* Documents. */

bool sl_k8s_policy_kind(const char *kind)
{
	return kind && (!strcmp(kind, "Namespace") || !strcmp(kind, "Pod") ||
			!strcmp(kind, "NetworkPolicy"));
}

const char *sl_k8s_policy_list_kind(const char *k)
{
	return !strcmp(k, "NamespaceList") ? "Namespace" : !strcmp(k, "PodList") ? "Pod"
	       : !strcmp(k, "NetworkPolicyList") ? "NetworkPolicy" : NULL;
}

int sl_k8s_policy_decode(const cJSON *o, const char *path, const char *kind,
			 struct sl_k8s_op *op, char *err, size_t n)
{
	if (!strcmp(kind, "Namespace")) {
		op->kind = SL_K8S_NAMESPACE;
		return sl_k8s_parse_namespace(o, path, &op->ns, err, n);
	}
	if (!strcmp(kind, "Pod")) {
		op->kind = SL_K8S_POD;
		return sl_k8s_parse_pod(o, path, &op->pod, err, n);
	}
	op->kind = SL_K8S_POLICY;
	return sl_k8s_parse_policy(o, path, &op->policy, err, n);
}

/* Encoding, for the persisted state. */

static cJSON *encode_labels(const struct sl_labels *l)
{
	cJSON *o = cJSON_CreateObject();
	for (unsigned i = 0; i < l->n; i++)
		cJSON_AddStringToObject(o, l->v[i].key, l->v[i].value);
	return o;
}

static cJSON *meta(const char *ns, const char *name, const struct sl_labels *l)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", name);
	if (ns)
		cJSON_AddStringToObject(m, "namespace", ns);
	if (l && l->n)
		cJSON_AddItemToObject(m, "labels", encode_labels(l));
	return m;
}

cJSON *sl_k8s_encode_namespace(const struct sl_ns_spec *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Namespace");
	cJSON_AddItemToObject(o, "metadata", meta(NULL, s->name, &s->labels));
	return o;
}

cJSON *sl_k8s_encode_pod(const struct sl_kpod_spec *s)
{
	char b[SL_IP_STR_MAX];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Pod");
	cJSON_AddItemToObject(o, "metadata", meta(s->namespace, s->name, &s->labels));
	cJSON *sp = cJSON_AddObjectToObject(o, "spec");
	if (s->node_name[0])
		cJSON_AddStringToObject(sp, "nodeName", s->node_name);
	if (s->host_network)
		cJSON_AddTrueToObject(sp, "hostNetwork");
	if (s->n_ports) {
		cJSON *c = cJSON_CreateObject();
		cJSON *ps = cJSON_AddArrayToObject(c, "ports");
		for (unsigned i = 0; i < s->n_ports; i++) {
			cJSON *e = cJSON_CreateObject();
			if (s->ports[i].name[0])
				cJSON_AddStringToObject(e, "name", s->ports[i].name);
			cJSON_AddNumberToObject(e, "containerPort", s->ports[i].port);
			cJSON_AddStringToObject(e, "protocol", sl_k8s_proto_name(s->ports[i].proto));
			cJSON_AddItemToArray(ps, e);
		}
		cJSON_AddItemToArray(cJSON_AddArrayToObject(sp, "containers"), c);
	}
	if (s->ip.af)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "podIP",
					sl_ip_fmt(s->ip, b));
	return o;
}

static cJSON *encode_selector(const struct sl_selector *sel)
{
	static const char *const ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };
	cJSON *o = cJSON_CreateObject();
	if (sel->match.n)
		cJSON_AddItemToObject(o, "matchLabels", encode_labels(&sel->match));
	if (sel->n_exprs) {
		cJSON *a = cJSON_AddArrayToObject(o, "matchExpressions");
		for (unsigned i = 0; i < sel->n_exprs; i++) {
			const struct sl_sel_expr *x = &sel->exprs[i];
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "key", x->key);
			cJSON_AddStringToObject(e, "operator", ops[x->op]);
			if (x->n_values) {
				cJSON *v = cJSON_AddArrayToObject(e, "values");
				for (unsigned k = 0; k < x->n_values; k++)
					cJSON_AddItemToArray(v, cJSON_CreateString(x->values[k]));
			}
			cJSON_AddItemToArray(a, e);
		}
	}
	return o;
}

static cJSON *encode_peer(const struct sl_np_peer *pe)
{
	char b[SL_CIDR_STR_MAX];
	cJSON *o = cJSON_CreateObject();
	if (pe->kind == SL_PEER_IPBLOCK) {
		cJSON *ib = cJSON_AddObjectToObject(o, "ipBlock");
		cJSON_AddStringToObject(ib, "cidr", sl_cidr_fmt(pe->cidr, b));
		if (pe->n_except) {
			cJSON *a = cJSON_AddArrayToObject(ib, "except");
			for (unsigned i = 0; i < pe->n_except; i++)
				cJSON_AddItemToArray(a, cJSON_CreateString(sl_cidr_fmt(pe->except[i], b)));
		}
		return o;
	}
	if (pe->has_pod_sel)
		cJSON_AddItemToObject(o, "podSelector", encode_selector(&pe->pod_sel));
	if (pe->has_ns_sel)
		cJSON_AddItemToObject(o, "namespaceSelector", encode_selector(&pe->ns_sel));
	return o;
}

cJSON *sl_k8s_encode_policy(const struct sl_np_spec *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "networking.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "NetworkPolicy");
	cJSON_AddItemToObject(o, "metadata", meta(s->namespace, s->name, NULL));
	cJSON *sp = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddItemToObject(sp, "podSelector", encode_selector(&s->pod_sel));
	cJSON *types = cJSON_AddArrayToObject(sp, "policyTypes");
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		if (s->types[d])
			cJSON_AddItemToArray(types, cJSON_CreateString(d ? "Egress" : "Ingress"));
		if (!s->n_rules[d])
			continue;
		cJSON *rules = cJSON_AddArrayToObject(sp, d ? "egress" : "ingress");
		for (unsigned i = 0; i < s->n_rules[d]; i++) {
			const struct sl_np_rule *ru = &s->rules[d][i];
			cJSON *r = cJSON_CreateObject();
			if (ru->n_peers) {
				cJSON *a = cJSON_AddArrayToObject(r, d ? "to" : "from");
				for (unsigned k = 0; k < ru->n_peers; k++)
					cJSON_AddItemToArray(a, encode_peer(&ru->peers[k]));
			}
			if (ru->n_ports) {
				cJSON *a = cJSON_AddArrayToObject(r, "ports");
				for (unsigned k = 0; k < ru->n_ports; k++) {
					const struct sl_np_port *pt = &ru->ports[k];
					cJSON *e = cJSON_CreateObject();
					cJSON_AddStringToObject(e, "protocol", sl_k8s_proto_name(pt->proto));
					if (pt->name[0])
						cJSON_AddStringToObject(e, "port", pt->name);
					else if (pt->port)
						cJSON_AddNumberToObject(e, "port", pt->port);
					if (pt->end_port)
						cJSON_AddNumberToObject(e, "endPort", pt->end_port);
					cJSON_AddItemToArray(a, e);
				}
			}
			cJSON_AddItemToArray(rules, r);
		}
	}
	return o;
}
