/* NetworkPolicy without EAL (issue 12): the decoders of Namespace, Pod and NetworkPolicy
 * (fields, defaults, errors naming the field, limits, round trips through the encoders) and
 * label selectors. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/sources/sl_k8s.h"
#include "control/sources/sl_k8s_policy.h"
#include "policy_test.h"

/* Decoding. */

static struct sl_np_spec *decode_policy(const char *text)
{
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	const char *t = J(text);
	if (sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)))
		fail_msg("decode: %s", err);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].kind, SL_K8S_POLICY);
	struct sl_np_spec *s = ops[0].policy;
	ops[0].policy = NULL;
	sl_k8s_ops_free(ops, n);
	return s;
}

static void test_decode_policy(void **state)
{
	(void)state;
	struct sl_np_spec *s = decode_policy(
		"{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy','metadata':{'name':'p',"
		"'namespace':'x','uid':'ignored'},'spec':{'podSelector':{'matchLabels':{'app':'a'},"
		"'matchExpressions':[{'key':'tier','operator':'NotIn','values':['db','cache']}]},"
		"'ingress':[{'from':[{'podSelector':{}},{'namespaceSelector':{'matchLabels':"
		"{'team':'t'}},'podSelector':{'matchExpressions':[{'key':'k','operator':'Exists'}]}},"
		"{'ipBlock':{'cidr':'10.0.0.7/16','except':['10.0.1.0/24']}}],'ports':[{'port':80},"
		"{'protocol':'UDP','port':53,'endPort':60},{'port':'http'},{'protocol':'SCTP'}]},{}],"
		"'egress':[{'to':[{'namespaceSelector':{}}]}]}}");
	assert_string_equal(s->namespace, "x");
	assert_string_equal(s->name, "p");
	assert_int_equal(s->pod_sel.match.n, 1);
	assert_int_equal(s->pod_sel.n_exprs, 1);
	assert_int_equal(s->pod_sel.exprs[0].op, SL_SEL_NOT_IN);
	assert_int_equal(s->pod_sel.exprs[0].n_values, 2);
	assert_true(s->types[SL_POL_INGRESS] && s->types[SL_POL_EGRESS]); /* defaulted */
	assert_int_equal(s->n_rules[SL_POL_INGRESS], 2);
	const struct sl_np_rule *r = &s->rules[SL_POL_INGRESS][0];
	assert_int_equal(r->n_peers, 3);
	assert_true(r->peers[0].has_pod_sel && !r->peers[0].has_ns_sel);
	assert_true(r->peers[1].has_pod_sel && r->peers[1].has_ns_sel);
	assert_int_equal(r->peers[2].kind, SL_PEER_IPBLOCK);
	char b[SL_CIDR_STR_MAX];
	assert_string_equal(sl_cidr_fmt(r->peers[2].cidr, b), "10.0.0.0/16"); /* host bits */
	assert_int_equal(r->peers[2].n_except, 1);
	assert_int_equal(r->n_ports, 4);
	assert_int_equal(r->ports[0].proto, IPPROTO_TCP);
	assert_int_equal(r->ports[0].port, 80);
	assert_int_equal(r->ports[1].proto, IPPROTO_UDP);
	assert_int_equal(r->ports[1].end_port, 60);
	assert_string_equal(r->ports[2].name, "http");
	assert_int_equal(r->ports[3].proto, IPPROTO_SCTP);
	assert_int_equal(r->ports[3].port, 0);
	assert_int_equal(s->rules[SL_POL_INGRESS][1].n_peers, 0); /* {}: every peer, port */
	assert_int_equal(s->rules[SL_POL_INGRESS][1].n_ports, 0);

	/* Round trip through the encoder (persisted state). */
	cJSON *enc = sl_k8s_encode_policy(s);
	struct sl_np_spec *s2;
	char err[400];
	assert_int_equal(sl_k8s_parse_policy(enc, "", &s2, err, sizeof(err)), 0);
	cJSON *enc2 = sl_k8s_encode_policy(s2);
	char *t1 = cJSON_PrintUnformatted(enc), *t2 = cJSON_PrintUnformatted(enc2);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	cJSON_Delete(enc);
	cJSON_Delete(enc2);
	sl_np_spec_free(s2);
	sl_np_spec_free(s);

	/* policyTypes defaulting (SetDefaults_NetworkPolicy). */
	static const struct {
		const char *spec;
		bool in, eg;
	} d[] = {
		{ "{}", true, false },
		{ "{'egress':[]}", true, false },
		{ "{'egress':[{}]}", true, true },
		{ "{'policyTypes':[]}", true, false },
		{ "{'policyTypes':['Egress']}", false, true },
		{ "{'policyTypes':['Egress'],'ingress':[{}]}", false, true },
		{ "{'policyTypes':['Ingress','Egress']}", true, true },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':%s}",
			 d[i].spec);
		s = decode_policy(text);
		if (s->types[0] != d[i].in || s->types[1] != d[i].eg)
			fail_msg("case %zu (%s): types %d %d", i, d[i].spec, s->types[0], s->types[1]);
		sl_np_spec_free(s);
	}
	s = decode_policy("{'kind':'NetworkPolicy','metadata':{'name':'p'}}"); /* no spec */
	assert_true(s->types[SL_POL_INGRESS] && !s->types[SL_POL_EGRESS]);
	assert_string_equal(s->namespace, "default");
	sl_np_spec_free(s);
}

static void test_decode_objects(void **state)
{
	(void)state;
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	const char *t = J("{'kind':'List','items':[{'apiVersion':'v1','kind':'Namespace','metadata':"
			  "{'name':'x','labels':{'team':'a'}}},{'apiVersion':'v1','kind':'Pod','metadata':"
			  "{'name':'a','namespace':'x','labels':{'app':'a'}},'spec':{'nodeName':'n1',"
			  "'containers':[{'name':'c','ports':[{'name':'http','containerPort':8080},"
			  "{'containerPort':53,'protocol':'UDP'}]},{'name':'d','ports':[{'name':'sctp',"
			  "'containerPort':9,'protocol':'SCTP'}]}]},'status':{'phase':'Running',"
			  "'podIP':'fd00::1','podIPs':[{'ip':'fd00::1'},{'ip':'10.244.1.5'}]}},"
			  "{'kind':'Pod','metadata':{'name':'h'},'spec':{'hostNetwork':true},"
			  "'status':{'podIP':'198.18.0.1'}},{'kind':'Pod','metadata':{'name':'done'},"
			  "'status':{'phase':'Succeeded','podIP':'10.244.1.9'}}]}");
	if (sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)))
		fail_msg("decode: %s", err);
	assert_int_equal(n, 4);
	assert_int_equal(ops[0].kind, SL_K8S_NAMESPACE);
	assert_string_equal(sl_labels_get(&ops[0].ns->labels, SL_LABEL_NS_NAME), "x"); /* implied */
	assert_string_equal(sl_labels_get(&ops[0].ns->labels, "team"), "a");
	const struct sl_kpod_spec *p = ops[1].pod;
	assert_string_equal(p->node_name, "n1");
	assert_true(sl_ip_eq(p->ip, ip4("10.244.1.5"))); /* the first IPv4 one */
	assert_int_equal(p->n_ports, 3);
	assert_string_equal(p->ports[0].name, "http");
	assert_int_equal(p->ports[0].port, 8080);
	assert_int_equal(p->ports[1].proto, IPPROTO_UDP);
	assert_int_equal(p->ports[2].proto, IPPROTO_SCTP);
	assert_true(ops[2].pod->host_network);
	assert_int_equal(ops[2].pod->ip.af, 0); /* host network: not selectable by address */
	assert_int_equal(ops[3].pod->ip.af, 0); /* finished */
	cJSON *enc = sl_k8s_encode_pod(p);
	struct sl_kpod_spec *p2;
	assert_int_equal(sl_k8s_parse_pod(enc, "", &p2, err, sizeof(err)), 0);
	assert_true(sl_ip_eq(p2->ip, p->ip));
	assert_int_equal(p2->n_ports, 3);
	assert_string_equal(sl_labels_get(&p2->labels, "app"), "a");
	cJSON_Delete(enc);
	sl_kpod_spec_free(p2);
	sl_k8s_ops_free(ops, n);

	/* Typed lists. */
	t = J("{'kind':'NetworkPolicyList','items':[{'metadata':{'name':'a'}},{'metadata':{'name':'b'}}]}");
	assert_int_equal(sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ops[1].kind, SL_K8S_POLICY);
	sl_k8s_ops_free(ops, n);
}

static void test_decode_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "{'kind':'NetworkPolicy','apiVersion':'networking.k8s.io/v2','metadata':{'name':'p'}}",
		  "apiVersion: must be networking.k8s.io/v1" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'P'}}", "metadata.name: 'P' must" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'podSelector':{'matchLabels':"
		  "{'a':1}}}}", "spec.podSelector.matchLabels[\"a\"]: must be a string" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'podSelector':{'matchLabels':"
		  "{'-a':'b'}}}}", "spec.podSelector.matchLabels[\"-a\"]: key" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'podSelector':{'matchExpressions':"
		  "[{'key':'a','operator':'Has'}]}}}",
		  "spec.podSelector.matchExpressions[0].operator: 'Has' is not In" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'podSelector':{'matchExpressions':"
		  "[{'key':'a','operator':'In','values':[]}]}}}",
		  "spec.podSelector.matchExpressions[0].values: must be non-empty for In" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'podSelector':{'matchExpressions':"
		  "[{'key':'a','operator':'Exists','values':['x']}]}}}",
		  "spec.podSelector.matchExpressions[0].values: must be empty for Exists" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'from':[{}]}]}}",
		  "spec.ingress[0].from[0]: must specify podSelector, namespaceSelector or ipBlock" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'from':[{'ipBlock':"
		  "{'cidr':'10.0.0.0/8'},'podSelector':{}}]}]}}",
		  "spec.ingress[0].from[0].ipBlock: may not be combined" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'egress':[{'to':[{'ipBlock':"
		  "{'cidr':'10.0.0.0/16','except':['10.1.0.0/24']}}]}]}}",
		  "spec.egress[0].to[0].ipBlock.except[0]: '10.1.0.0/24' is not strictly inside cidr 10.0.0.0/16" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'egress':[{'to':[{'ipBlock':"
		  "{'cidr':'10.0.0.0/16','except':['10.0.0.0/16']}}]}]}}",
		  "spec.egress[0].to[0].ipBlock.except[0]: '10.0.0.0/16' is not strictly inside" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'egress':[{'to':[{'ipBlock':"
		  "{'cidr':'10.0.0.0/33'}}]}]}}", "spec.egress[0].to[0].ipBlock.cidr: '10.0.0.0/33' is not a CIDR" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'egress':[{'to':[{'ipBlock':{}}]}]}}",
		  "spec.egress[0].to[0].ipBlock.cidr: missing" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'ports':[{'port':0}]}]}}",
		  "spec.ingress[0].ports[0].port: must be 1-65535" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'ports':[{'port':'Http'}]}]}}",
		  "spec.ingress[0].ports[0].port: 'Http' is not a port number or a port name" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'ports':[{'port':'http','endPort':90}]}]}}",
		  "spec.ingress[0].ports[0].endPort: requires a numeric port" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'ports':[{'endPort':90}]}]}}",
		  "spec.ingress[0].ports[0].endPort: requires a numeric port" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'ports':[{'port':90,'endPort':80}]}]}}",
		  "spec.ingress[0].ports[0].endPort: must be at least port (90)" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':[{'ports':[{'protocol':'ICMP'}]}]}}",
		  "spec.ingress[0].ports[0].protocol: 'ICMP' is not TCP, UDP or SCTP" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'policyTypes':['Both']}}",
		  "spec.policyTypes[0]: must be Ingress or Egress" },
		{ "{'kind':'NetworkPolicy','metadata':{'name':'p'},'spec':{'ingress':{}}}",
		  "spec.ingress: must be an array" },
		{ "{'kind':'Namespace','metadata':{'name':'x','labels':{'kubernetes.io/metadata.name':'y'}}}",
		  "metadata.labels[\"kubernetes.io/metadata.name\"]: must be the namespace's name 'x'" },
		{ "{'kind':'Pod','metadata':{'name':'a'},'spec':{'containers':[{'ports':[{'containerPort':70000}]}]}}",
		  "spec.containers[0].ports[0].containerPort: must be 1-65535" },
		{ "{'kind':'Pod','metadata':{'name':'a'},'spec':{'containers':[{'ports':[{'name':'HTTP','containerPort':80}]}]}}",
		  "spec.containers[0].ports[0].name: 'HTTP' is not an IANA_SVC_NAME" },
		{ "{'kind':'Pod','metadata':{'name':'a'},'status':{'podIP':'10.0.0.300'}}",
		  "status.podIP: '10.0.0.300' is not an IP address" },
		{ "{'kind':'Pod','metadata':{'name':'a'},'spec':{'hostNetwork':'yes'}}",
		  "spec.hostNetwork: must be true or false" },
		{ "{'kind':'PodList','items':[{'metadata':{'name':'a'}},{'metadata':{}}]}",
		  "items[1].metadata.name: missing" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sl_k8s_op *ops = (void *)1;
		unsigned n = 7;
		char err[400] = "";
		const char *t = J(cases[i].text);
		assert_int_equal(sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: error '%s', expected '%s'", i, err, cases[i].err);
		assert_null(ops);
	}

	/* Limits: more labels than SL_POL_MAX_LABELS. */
	char big[8192] = "{'kind':'Pod','metadata':{'name':'a','labels':{";
	for (int i = 0; i <= SL_POL_MAX_LABELS; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s'k%d':'v'", i ? "," : "", i);
	strcat(big, "}}}");
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	const char *t = J(big);
	assert_int_equal(sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "metadata.labels: more than 64 labels"));
}

/* Selectors. */

static void test_selector(void **state)
{
	(void)state;
	struct sl_label pl[] = { { "app", "web" }, { "tier", "front" } };
	struct sl_labels pod = { pl, 2 };
	struct sl_labels none = { 0 };
	char *vals[] = { "web", "api" };
	struct sl_sel_expr in = { "app", SL_SEL_IN, vals, 2 };
	struct sl_sel_expr notin = { "app", SL_SEL_NOT_IN, vals, 2 };
	struct sl_sel_expr exists = { "tier", SL_SEL_EXISTS, NULL, 0 };
	struct sl_sel_expr dne = { "tier", SL_SEL_DOES_NOT_EXIST, NULL, 0 };
	struct sl_label ml[] = { { "app", "web" } };
	struct sl_label ml2[] = { { "app", "api" } };
	struct sl_selector empty = { 0 };
	assert_true(sl_selector_match(&empty, &pod));
	assert_true(sl_selector_match(&empty, &none));
	struct sl_selector s = { .match = { ml, 1 } };
	assert_true(sl_selector_match(&s, &pod));
	assert_false(sl_selector_match(&s, &none));
	s.match = (struct sl_labels){ ml2, 1 };
	assert_false(sl_selector_match(&s, &pod));
	s = (struct sl_selector){ .exprs = &in, .n_exprs = 1 };
	assert_true(sl_selector_match(&s, &pod));
	assert_false(sl_selector_match(&s, &none)); /* In needs the key */
	s.exprs = &notin;
	assert_false(sl_selector_match(&s, &pod));
	assert_true(sl_selector_match(&s, &none)); /* NotIn: absent key matches */
	s.exprs = &exists;
	assert_true(sl_selector_match(&s, &pod));
	assert_false(sl_selector_match(&s, &none));
	s.exprs = &dne;
	assert_false(sl_selector_match(&s, &pod));
	assert_true(sl_selector_match(&s, &none));
	/* matchLabels AND expressions. */
	struct sl_sel_expr both[] = { in, dne };
	s = (struct sl_selector){ .match = { ml, 1 }, .exprs = both, .n_exprs = 2 };
	assert_false(sl_selector_match(&s, &pod));
	s.n_exprs = 1;
	assert_true(sl_selector_match(&s, &pod));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_policy),
		cmocka_unit_test(test_decode_objects),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_selector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
