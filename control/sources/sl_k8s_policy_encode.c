/* Namespace, Pod and NetworkPolicy specs encoded back to JSON the decoders read to the same
 * spec, for the persisted state (see sl_k8s_policy.h). */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sl_k8s_field.h"
#include "sl_k8s_policy.h"

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
