/* `show policies` and `policy check` (see sl_show_pol.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sl_show_pol.h"

static void cat(char *buf, size_t n, const char *s)
{
	size_t l = strlen(buf);
	if (l + 1 < n)
		snprintf(buf + l, n - l, "%s", s);
}

/* kubectl's form: "app=a,tier in (x,y),k,!k". */
static void selector_str(const struct sl_selector *s, char *buf, size_t n)
{
	static const char *const ops[] = { " in ", " notin ", "", "" };
	buf[0] = 0;
	for (unsigned i = 0; i < s->match.n; i++) {
		if (buf[0])
			cat(buf, n, ",");
		cat(buf, n, s->match.v[i].key);
		cat(buf, n, "=");
		cat(buf, n, s->match.v[i].value);
	}
	for (unsigned i = 0; i < s->n_exprs; i++) {
		const struct sl_sel_expr *x = &s->exprs[i];
		if (buf[0])
			cat(buf, n, ",");
		if (x->op == SL_SEL_DOES_NOT_EXIST)
			cat(buf, n, "!");
		cat(buf, n, x->key);
		cat(buf, n, ops[x->op]);
		if (x->n_values)
			cat(buf, n, "(");
		for (unsigned k = 0; k < x->n_values; k++) {
			if (k)
				cat(buf, n, ",");
			cat(buf, n, x->values[k]);
		}
		if (x->n_values)
			cat(buf, n, ")");
	}
	if (!buf[0])
		cat(buf, n, "<all>");
}

cJSON *sl_show_policies(struct sl_model *m)
{
	cJSON *a = cJSON_CreateArray();
	struct sl_model_policy *p;
	sl_model_policy_set(m); /* compile what changed: the counts are current */
	for (uint32_t id = 0; (p = sl_model_policy_next(m, &id));) {
		const struct sl_np_spec *s = p->spec;
		char sel[256], types[32] = "";
		unsigned local, rules;
		selector_str(&s->pod_sel, sel, sizeof(sel));
		if (s->types[SL_POL_INGRESS])
			cat(types, sizeof(types), "Ingress");
		if (s->types[SL_POL_EGRESS])
			cat(types, sizeof(types), types[0] ? ",Egress" : "Egress");
		sl_model_policy_stats(m, p, &local, &rules);
		cJSON *row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "namespace", s->namespace);
		cJSON_AddStringToObject(row, "name", s->name);
		cJSON_AddStringToObject(row, "pod_selector", sel);
		cJSON_AddStringToObject(row, "types", types);
		cJSON_AddNumberToObject(row, "ingress_rules", s->n_rules[SL_POL_INGRESS]);
		cJSON_AddNumberToObject(row, "egress_rules", s->n_rules[SL_POL_EGRESS]);
		cJSON_AddNumberToObject(row, "local_pods", local);
		cJSON_AddNumberToObject(row, "compiled_rules", rules);
		cJSON_AddItemToArray(a, row);
	}
	return a;
}

int sl_policy_check_port(const char *s, uint16_t *ret_port, uint8_t *ret_proto)
{
	char *end;
	long port = strtol(s, &end, 10);
	if (end == s || port < 0 || port > 65535)
		return -EINVAL;
	*ret_port = (uint16_t)port;
	*ret_proto = IPPROTO_TCP;
	if (!*end)
		return 0;
	if (*end != '/')
		return -EINVAL;
	if (!strcasecmp(end + 1, "tcp"))
		*ret_proto = IPPROTO_TCP;
	else if (!strcasecmp(end + 1, "udp"))
		*ret_proto = IPPROTO_UDP;
	else if (!strcasecmp(end + 1, "sctp"))
		*ret_proto = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

/* An address, or a cluster pod "NS/NAME" with an address. */
static int endpoint(struct sl_model *m, const char *s, const char *field, struct sl_ip *ret,
		    char *err, size_t n)
{
	const char *slash = strchr(s, '/');
	if (!slash) {
		if (sl_ip_parse(s, false, ret))
			return snprintf(err, n, "%s: '%.64s' is not an IPv4 address or NS/POD", field,
					s), -EINVAL;
		return 0;
	}
	char ns[SL_K8S_NS_MAX];
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - s) < 63 ? (int)(slash - s) : 63, s);
	struct sl_model_kpod *p = sl_model_kpod_find(m, ns, slash + 1);
	if (!p)
		return snprintf(err, n, "%s: '%.64s' is not a known pod", field, s), -ENOENT;
	if (!p->spec->ip.af)
		return snprintf(err, n, "%s: pod %.64s has no IPv4 address (host network, not "
				"running or not scheduled)", field, s), -EINVAL;
	*ret = p->spec->ip;
	return 0;
}

static void who(struct sl_model *m, struct sl_ip ip, const struct sl_model_kpod *p, bool local,
		char *buf, size_t n)
{
	char b[SL_IP_STR_MAX];
	(void)m;
	if (p)
		snprintf(buf, n, "%s (pod %s/%s%s)", sl_ip_fmt(ip, b), p->spec->namespace,
			 p->spec->name, local ? ", on this node" : "");
	else
		snprintf(buf, n, "%s (not a known pod)", sl_ip_fmt(ip, b));
}

/* "ns/name" of policy id. */
static const char *pol_name(struct sl_model *m, uint32_t id, char *buf, size_t n)
{
	uint32_t i = id;
	struct sl_model_policy *p = sl_model_policy_next(m, &i);
	if (p && p->id == id && snprintf(buf, n, "%s/%s", p->spec->namespace, p->spec->name) >= 0)
		return buf;
	snprintf(buf, n, "#%u", id);
	return buf;
}

cJSON *sl_show_policy_check(struct sl_model *m, const char *src, const char *dst,
			    uint8_t proto, uint16_t port, char *err, size_t n)
{
	static const char *const pn[] = { [IPPROTO_TCP] = "TCP", [IPPROTO_UDP] = "UDP",
					  [IPPROTO_SCTP] = "SCTP" };
	struct sl_ip sip, dip;
	struct sl_pol_check c;
	char buf[1024], nm[SL_K8S_NS_MAX + SL_K8S_NAME_MAX + 8];
	if (endpoint(m, src, "src", &sip, err, n) || endpoint(m, dst, "dst", &dip, err, n))
		return NULL;
	sl_model_policy_check(m, sip, dip, proto, port, &c);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "verdict", c.allowed ? "allowed" : "denied");
	who(m, sip, c.src, c.src_local, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "src", buf);
	who(m, dip, c.dst, c.dst_local, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "dst", buf);
	snprintf(buf, sizeof(buf), "%u/%s", port, pn[proto]);
	cJSON_AddStringToObject(o, "port", buf);
	for (int d = SL_POL_EGRESS; d >= SL_POL_INGRESS; d--) {
		const struct sl_pol_check_dir *x = &c.dir[d];
		const char *dn = d == SL_POL_INGRESS ? "ingress" : "egress";
		const struct sl_model_kpod *pod = d == SL_POL_INGRESS ? c.dst : c.src;
		bool local = d == SL_POL_INGRESS ? c.dst_local : c.src_local;
		cJSON *e = cJSON_AddObjectToObject(o, dn);
		cJSON_AddBoolToObject(e, "isolated", x->isolated);
		cJSON_AddBoolToObject(e, "enforced_here", x->isolated && local);
		buf[0] = 0;
		for (unsigned i = 0; i < x->n_isolating && i < SL_POL_CHECK_MAX; i++) {
			if (i)
				cat(buf, sizeof(buf), ",");
			cat(buf, sizeof(buf), pol_name(m, x->isolating[i], nm, sizeof(nm)));
		}
		if (x->n_isolating > SL_POL_CHECK_MAX)
			cat(buf, sizeof(buf), ",...");
		cJSON_AddStringToObject(e, "policies", buf[0] ? buf : "-");
		if (!x->applies)
			snprintf(buf, sizeof(buf), "%s is not a known pod: not filtered",
				 d == SL_POL_INGRESS ? "dst" : "src");
		else if (!x->isolated)
			snprintf(buf, sizeof(buf), "no policy selects %s/%s for %s: allowed",
				 pod->spec->namespace, pod->spec->name, dn);
		else if (x->allowed)
			snprintf(buf, sizeof(buf), "allowed by %s %s[%u]",
				 pol_name(m, x->policy, nm, sizeof(nm)), dn, x->rule);
		else
			snprintf(buf, sizeof(buf), "denied: isolated by %u polic%s, no %s rule "
				 "allows this peer and port", x->n_isolating,
				 x->n_isolating == 1 ? "y" : "ies", dn);
		cJSON_AddStringToObject(e, "reason", buf);
	}
	return o;
}
