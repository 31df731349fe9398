/* The networking.k8s.io/v1 NetworkPolicy decoder (see sl_k8s_policy.h): selectors, peers
 * (pods, namespaces, ipBlocks), ports and policy types. Validation follows the API
 * server's (pkg/apis/networking/validation) where it matters to this node. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s_field.h"
#include "sl_k8s_policy.h"
#include "sl_k8s_policy_int.h"

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
		int rc = sl_k8s_parse_labels(ml, sl_k8s_sub(p, path, "matchLabels"), &sel->match, err, n);
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
		if ((why = sl_k8s_label_key(key)))
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
			if ((why = sl_k8s_label_part(s->valuestring, strlen(s->valuestring), true)))
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
		if (sl_k8s_int_of(port, sl_k8s_sub(p, path, "port"), 1, 65535, &x, err, n))
			return -EINVAL;
		pt->port = (uint16_t)x;
	}
	if (end) {
		if (!port || pt->name[0])
			return sl_k8s_fail(err, n, sl_k8s_sub(p, path, "endPort"), "requires a numeric port");
		if (sl_k8s_int_of(end, sl_k8s_sub(p, path, "endPort"), 1, 65535, &x, err, n))
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
		return sl_k8s_nomem(-ENOMEM, base, err, n);
	int rc = sl_k8s_pol_meta(o, base, s->name, sizeof(s->name), s->namespace, NULL, err, n);
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
		return sl_k8s_nomem(rc, base, err, n);
	}
	*ret = s;
	return 0;
}
