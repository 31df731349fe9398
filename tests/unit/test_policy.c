/* NetworkPolicy without EAL (issue 12): the decoders (fields, defaults, errors naming the
 * field), label selectors, the compiled set (sl_model_policy_set) on hand-written cases
 * (default deny, ipBlock/except, port ranges, named ports, unions, protocol-only rules,
 * policyTypes defaulting), `policy check`, persistence round trips, and a differential test:
 * thousands of random policies and packets, the compiled set's verdict against a plain
 * reference evaluator written from the API documentation, after every change of a random
 * sequence of changes (so the incremental recompile is checked too). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/model/sl_policy.h"
#include "control/model/sl_policy_int.h"
#include "control/sources/sl_k8s.h"
#include "control/sources/sl_k8s_policy.h"
#include "control/sources/sl_request.h"
#include "control/sources/sl_config.h"
#include "control/core/sl_show_pol.h"

/* JSON with ' for " (readable tables). */
static char *J(const char *s)
{
	static char buf[8][16384];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, sizeof(buf[0]), "%s", s);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	return b;
}

static struct sl_ip ip4(const char *s)
{
	struct sl_ip ip;
	assert_int_equal(sl_ip_parse(s, false, &ip), 0);
	return ip;
}

static uint32_t hip(const char *s)
{
	return ntohl(ip4(s).v4);
}

static struct sl_model *new_model(void)
{
	struct sl_model_self self = { .node_name = "node1" };
	self.node_ip = ip4("198.18.0.1");
	assert_int_equal(sl_cidr_parse("10.244.1.0/24", false, &self.pod_cidr), 0);
	self.gateway_ip = ip4("10.244.1.1");
	struct sl_model *m = sl_model_create(&self, NULL);
	assert_non_null(m);
	return m;
}

/* Attach a local pod (an address of this node) under ifname. */
static void attach(struct sl_model *m, const char *addr, const char *ifname)
{
	struct sl_pod_spec s = { .ip = ip4(addr), .mac = { 2, 0, 0, 0, 0, 9 } };
	char err[320];
	snprintf(s.name, sizeof(s.name), "%s", ifname);
	snprintf(s.namespace, sizeof(s.namespace), "cni");
	snprintf(s.ifname, sizeof(s.ifname), "%s", ifname);
	if (sl_model_pod_add(m, &s, err, sizeof(err)))
		fail_msg("attach %s: %s", addr, err);
}

static int apply(struct sl_model *m, const char *text, char *err, size_t n)
{
	struct sl_k8s_op *ops;
	unsigned cnt;
	int rc = sl_k8s_decode_text(text, strlen(text), &ops, &cnt, err, n);
	if (rc)
		return rc;
	rc = sl_model_k8s_apply(m, ops, cnt, err, n);
	sl_k8s_ops_free(ops, cnt);
	return rc;
}

#define APPLY_OK(m, text)                                                                  \
	do {                                                                               \
		char err_[400];                                                            \
		if (apply(m, J(text), err_, sizeof(err_)))                                 \
			fail_msg("apply: %s", err_);                                       \
	} while (0)

/* The compiled set's verdict (what the dataplane enforces). */
static bool rule_hit(const struct sl_pol_rule *r, uint32_t pod, uint32_t peer, uint8_t proto,
		     uint16_t port)
{
	uint32_t mask = r->peer_len ? ~0u << (32 - r->peer_len) : 0;
	return r->pod_ip == pod && (peer & mask) == r->peer_net &&
	       (!r->proto || (r->proto == proto && port >= r->port_lo && port <= r->port_hi));
}

static bool dir_allows(const struct sl_pol_dir_set *d, uint32_t pod, uint32_t peer,
		       uint8_t proto, uint16_t port, uint32_t *ret_policy)
{
	bool iso = false;
	for (uint32_t i = 0; i < d->n_isolated; i++)
		iso |= d->isolated[i] == pod;
	if (!iso)
		return true;
	for (uint32_t i = 0; i < d->n_rules; i++)
		if (rule_hit(&d->rules[i], pod, peer, proto, port)) {
			if (ret_policy)
				*ret_policy = d->rules[i].policy;
			return true;
		}
	return false;
}

static bool set_allows(const struct sl_pol_set *s, uint32_t src, uint32_t dst, uint8_t proto,
		       uint16_t port)
{
	return dir_allows(&s->dir[SL_POL_INGRESS], dst, src, proto, port, NULL) &&
	       dir_allows(&s->dir[SL_POL_EGRESS], src, dst, proto, port, NULL);
}

static bool allows(struct sl_model *m, const char *src, const char *dst, uint8_t proto,
		   uint16_t port)
{
	const struct sl_pol_set *s = sl_model_policy_set(m);
	assert_non_null(s);
	return set_allows(s, hip(src), hip(dst), proto, port);
}

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

/* The upstream e2e layout: namespaces x, y, z; pods a, b, c in each; x's pods local. */
#define PODS_XYZ                                                                            \
	"{'kind':'List','items':["                                                          \
	"{'kind':'Namespace','metadata':{'name':'x','labels':{'ns':'x'}}},"                 \
	"{'kind':'Namespace','metadata':{'name':'y','labels':{'ns':'y'}}},"                 \
	"{'kind':'Namespace','metadata':{'name':'z','labels':{'ns':'z'}}},"                 \
	"{'kind':'Pod','metadata':{'name':'a','namespace':'x','labels':{'pod':'a'}},'spec':{'containers':[{'ports':[" \
	"{'name':'serve-80-tcp','containerPort':80},{'name':'serve-81-tcp','containerPort':81},{'name':'serve-80-udp','containerPort':80,'protocol':'UDP'}]}]},'status':{'podIP':'10.244.1.2'}}," \
	"{'kind':'Pod','metadata':{'name':'b','namespace':'x','labels':{'pod':'b'}},'spec':{'containers':[{'ports':[" \
	"{'name':'serve-80-tcp','containerPort':80},{'name':'serve-81-tcp','containerPort':81}]}]},'status':{'podIP':'10.244.1.3'}}," \
	"{'kind':'Pod','metadata':{'name':'c','namespace':'x','labels':{'pod':'c'}},'status':{'podIP':'10.244.1.4'}}," \
	"{'kind':'Pod','metadata':{'name':'a','namespace':'y','labels':{'pod':'a'}},'status':{'podIP':'10.244.2.2'}}," \
	"{'kind':'Pod','metadata':{'name':'b','namespace':'y','labels':{'pod':'b'}},'spec':{'containers':[{'ports':[" \
	"{'name':'serve-80-tcp','containerPort':8080}]}]},'status':{'podIP':'10.244.2.3'}}," \
	"{'kind':'Pod','metadata':{'name':'c','namespace':'y','labels':{'pod':'c'}},'status':{'podIP':'10.244.2.4'}}," \
	"{'kind':'Pod','metadata':{'name':'a','namespace':'z','labels':{'pod':'a'}},'status':{'podIP':'10.244.3.2'}}," \
	"{'kind':'Pod','metadata':{'name':'b','namespace':'z','labels':{'pod':'b'}},'status':{'podIP':'10.244.3.3'}}," \
	"{'kind':'Pod','metadata':{'name':'c','namespace':'z','labels':{'pod':'c'}},'status':{'podIP':'10.244.3.4'}}]}"

static struct sl_model *xyz(void)
{
	struct sl_model *m = new_model();
	attach(m, "10.244.1.2", "va");
	attach(m, "10.244.1.3", "vb");
	attach(m, "10.244.1.4", "vc");
	APPLY_OK(m, PODS_XYZ);
	return m;
}

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP
#define XA "10.244.1.2"
#define XB "10.244.1.3"
#define XC "10.244.1.4"
#define YA "10.244.2.2"
#define YB "10.244.2.3"
#define YC "10.244.2.4"
#define ZA "10.244.3.2"

static void test_default_deny_and_allow(void **state)
{
	(void)state;
	struct sl_model *m = xyz();
	assert_true(allows(m, YA, XA, TCP, 80)); /* no policy */
	const struct sl_pol_set *s = sl_model_policy_set(m);
	assert_int_equal(s->dir[0].n_isolated + s->dir[1].n_isolated, 0);
	uint64_t g0 = s->generation;
	/* Default deny ingress in x. */
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'deny','namespace':'x'},'spec':{'podSelector':{}}}");
	s = sl_model_policy_set(m);
	assert_true(s->generation > g0);
	assert_int_equal(s->dir[SL_POL_INGRESS].n_isolated, 3);
	assert_int_equal(s->dir[SL_POL_EGRESS].n_isolated, 0);
	/* The deny counters and log name the policy that isolates each pod. */
	uint32_t deny_id = sl_model_policy_find(m, "x", "deny")->id;
	assert_non_null(s->dir[SL_POL_INGRESS].isolated_by);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(s->dir[SL_POL_INGRESS].isolated_by[i], deny_id);
	assert_false(allows(m, YA, XA, TCP, 80));
	assert_false(allows(m, XB, XA, UDP, 53));
	assert_true(allows(m, XA, YA, TCP, 80)); /* egress not isolated; y/a not local */
	/* Allow from y's pod b to port 80 (union with deny). */
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'yb','namespace':'x'},'spec':{'podSelector':"
		    "{'matchLabels':{'pod':'a'}},'ingress':[{'from':[{'namespaceSelector':{'matchLabels':{'ns':'y'}},"
		    "'podSelector':{'matchLabels':{'pod':'b'}}}],'ports':[{'port':80}]}]}}");
	assert_true(allows(m, YB, XA, TCP, 80));
	assert_false(allows(m, YB, XA, TCP, 81));
	assert_false(allows(m, YB, XA, UDP, 80));
	assert_false(allows(m, YC, XA, TCP, 80));
	assert_false(allows(m, YB, XB, TCP, 80)); /* x/b not selected by yb */
	/* namespaceSelector alone: every pod of z; podSelector alone: pods of x. */
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'z','namespace':'x'},'spec':{'podSelector':"
		    "{'matchLabels':{'pod':'b'}},'ingress':[{'from':[{'namespaceSelector':{'matchLabels':{'ns':'z'}}},"
		    "{'podSelector':{'matchLabels':{'pod':'c'}}}]}]}}");
	assert_true(allows(m, ZA, XB, TCP, 80));
	assert_true(allows(m, ZA, XB, SCTP, 9));
	assert_true(allows(m, XC, XB, UDP, 1));
	assert_false(allows(m, YC, XB, TCP, 80)); /* y/c: pod c but not in x */
	assert_false(allows(m, XA, XB, TCP, 80));
	/* policy check agrees and names the rule. */
	struct sl_pol_check c;
	sl_model_policy_check(m, ip4(YB), ip4(XA), TCP, 80, &c);
	assert_true(c.allowed);
	assert_true(c.dst_local && !c.src_local);
	assert_true(c.dir[SL_POL_INGRESS].isolated);
	assert_int_equal(c.dir[SL_POL_INGRESS].n_isolating, 2);
	assert_ptr_equal(sl_model_policy_find(m, "x", "yb")->id, c.dir[SL_POL_INGRESS].policy);
	assert_false(c.dir[SL_POL_EGRESS].isolated);
	sl_model_policy_check(m, ip4(YC), ip4(XA), TCP, 80, &c);
	assert_false(c.allowed);
	/* Delete the allowing policy: denied again. */
	char err[320];
	assert_int_equal(sl_model_policy_del(m, "x", "yb", err, sizeof(err)), 0);
	assert_false(allows(m, YB, XA, TCP, 80));
	assert_int_equal(sl_model_policy_del(m, "x", "yb", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "networkpolicy x/yb not found");
	sl_model_destroy(m);
}

static void test_ipblock_ports(void **state)
{
	(void)state;
	struct sl_model *m = xyz();
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'ip','namespace':'x'},'spec':{'podSelector':"
		    "{'matchLabels':{'pod':'a'}},'ingress':[{'from':[{'ipBlock':{'cidr':'10.244.2.0/24',"
		    "'except':['10.244.2.2/32','10.244.2.128/25']}}],'ports':[{'port':80,'endPort':82},"
		    "{'protocol':'UDP'}]}]}}");
	assert_true(allows(m, YB, XA, TCP, 80));
	assert_true(allows(m, YB, XA, TCP, 82));
	assert_false(allows(m, YB, XA, TCP, 83));
	assert_false(allows(m, YB, XA, TCP, 79));
	assert_true(allows(m, YB, XA, UDP, 5353)); /* protocol only: every port */
	assert_false(allows(m, YB, XA, SCTP, 80));
	assert_false(allows(m, YA, XA, TCP, 80));  /* except /32 */
	assert_false(allows(m, "10.244.2.200", XA, TCP, 80)); /* except /25 */
	assert_true(allows(m, "10.244.2.127", XA, TCP, 80));
	assert_false(allows(m, ZA, XA, TCP, 80));
	/* The block minus except is split into prefixes, nothing else. */
	const struct sl_pol_set *s = sl_model_policy_set(m);
	for (uint32_t i = 0; i < s->dir[0].n_rules; i++) {
		const struct sl_pol_rule *r = &s->dir[0].rules[i];
		uint32_t mask = r->peer_len ? ~0u << (32 - r->peer_len) : 0;
		assert_int_equal(r->peer_net & ~mask, 0);
		assert_true(r->peer_len >= 24);
		assert_false(r->peer_net <= hip(YA) && hip(YA) <= (r->peer_net | ~mask));
	}
	sl_model_destroy(m);

	/* Pod /32s aggregated: x's pods .2, .3, .4 as peers of x/b give .2/31 and .4/32. */
	m = xyz();
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'all','namespace':'x'},'spec':{'podSelector':"
		    "{'matchLabels':{'pod':'b'}},'ingress':[{'from':[{'podSelector':{}}]}]}}");
	s = sl_model_policy_set(m);
	assert_int_equal(s->dir[0].n_rules, 2);
	assert_int_equal(s->dir[0].rules[0].peer_net, hip(XA));
	assert_int_equal(s->dir[0].rules[0].peer_len, 31);
	assert_int_equal(s->dir[0].rules[1].peer_net, hip(XC));
	assert_int_equal(s->dir[0].rules[1].peer_len, 32);
	assert_true(allows(m, XA, XB, TCP, 1) && allows(m, XC, XB, UDP, 2) && allows(m, XB, XB, SCTP, 3));
	assert_false(allows(m, "10.244.1.5", XB, TCP, 1));
	assert_false(allows(m, "10.244.1.1", XB, TCP, 1));
	sl_model_destroy(m);
}

static void test_named_ports(void **state)
{
	(void)state;
	struct sl_model *m = xyz();
	/* Ingress: resolved on the selected pod (x/a: 80, x/b: 80; x/c has none). */
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'n','namespace':'x'},'spec':{'podSelector':{},"
		    "'ingress':[{'ports':[{'port':'serve-80-tcp'},{'port':'serve-80-udp','protocol':'UDP'}]}]}}");
	assert_true(allows(m, ZA, XA, TCP, 80));
	assert_false(allows(m, ZA, XA, TCP, 81));
	assert_true(allows(m, ZA, XA, UDP, 80));
	assert_false(allows(m, ZA, XB, UDP, 80)); /* x/b has no serve-80-udp */
	assert_false(allows(m, ZA, XC, TCP, 80)); /* x/c has no named port at all */
	/* Egress: resolved on each peer (y/b's serve-80-tcp is 8080). */
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'e','namespace':'x'},'spec':{'podSelector':"
		    "{'matchLabels':{'pod':'c'}},'policyTypes':['Egress'],'egress':[{'to':[{'namespaceSelector':{}}],"
		    "'ports':[{'port':'serve-80-tcp'}]},{'to':[{'ipBlock':{'cidr':'10.244.1.0/24'}}],'ports':"
		    "[{'port':'serve-80-udp','protocol':'UDP'}]}]}}");
	assert_true(allows(m, XC, YB, TCP, 8080));
	assert_false(allows(m, XC, YB, TCP, 80));
	assert_true(allows(m, XC, XA, TCP, 80));
	assert_true(allows(m, XC, XA, UDP, 80)); /* named port to an ipBlock: the pods there */
	assert_false(allows(m, XC, "10.244.1.9", UDP, 80)); /* no pod there */
	assert_false(allows(m, XC, YB, UDP, 80)); /* a pod outside the block */
	assert_false(allows(m, XC, ZA, TCP, 80));
	/* A label change of the peer pod: only its own rules follow (incremental). */
	APPLY_OK(m, "{'kind':'Pod','metadata':{'name':'b','namespace':'y','labels':{'pod':'b'}},'spec':{'containers':[{'ports':["
		    "{'name':'serve-80-tcp','containerPort':9090}]}]},'status':{'podIP':'10.244.2.3'}}");
	assert_false(allows(m, XC, YB, TCP, 8080));
	assert_true(allows(m, XC, YB, TCP, 9090));
	sl_model_destroy(m);
}

static void test_egress_and_local(void **state)
{
	(void)state;
	struct sl_model *m = xyz();
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'eg','namespace':'x'},'spec':{'podSelector':{},"
		    "'policyTypes':['Egress'],'egress':[{'to':[{'podSelector':{'matchLabels':{'pod':'b'}},"
		    "'namespaceSelector':{'matchExpressions':[{'key':'kubernetes.io/metadata.name','operator':'In',"
		    "'values':['y','z']}]}}]}]}}");
	assert_true(allows(m, XA, YB, UDP, 53));
	assert_true(allows(m, XA, "10.244.3.3", TCP, 1));
	assert_false(allows(m, XA, YA, TCP, 80));
	assert_false(allows(m, XA, XB, TCP, 80));
	assert_true(allows(m, YA, XA, TCP, 80)); /* ingress of x/a not isolated */
	/* Relabel a namespace: z loses the name-based match? No: metadata.name is fixed; but
	 * a pod relabelled out of pod=b loses it. */
	APPLY_OK(m, "{'kind':'Pod','metadata':{'name':'b','namespace':'z','labels':{'pod':'q'}},'status':{'podIP':'10.244.3.3'}}");
	assert_false(allows(m, XA, "10.244.3.3", TCP, 1));
	/* A pod detached from this node is no longer isolated here. */
	char err[320];
	assert_int_equal(sl_model_pod_del(m, "cni", "va", err, sizeof(err)), 0);
	assert_true(allows(m, XA, YA, TCP, 80));
	attach(m, XA, "va");
	assert_false(allows(m, XA, YA, TCP, 80));
	/* A namespace's labels: selecting by them follows a change. */
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'eg','namespace':'x'},'spec':{'podSelector':{},"
		    "'policyTypes':['Egress'],'egress':[{'to':[{'namespaceSelector':{'matchLabels':{'team':'t'}}}]}]}}");
	assert_false(allows(m, XA, YA, TCP, 80));
	APPLY_OK(m, "{'kind':'Namespace','metadata':{'name':'y','labels':{'team':'t'}}}");
	assert_true(allows(m, XA, YA, TCP, 80));
	assert_int_equal(sl_model_ns_del(m, "y", err, sizeof(err)), 0);
	assert_false(allows(m, XA, YA, TCP, 80));
	sl_model_destroy(m);
}

static void test_batches(void **state)
{
	(void)state;
	struct sl_model *m = xyz();
	char err[400];
	/* A batch with a bad Service part changes nothing of the policies either. */
	const char *t = J("{'kind':'List','items':[{'kind':'NetworkPolicy','metadata':{'name':'d','namespace':'x'}},"
			  "{'kind':'Service','metadata':{'name':'s'},'spec':{'clusterIP':'10.96.0.1','ports':[{'port':80}]}},"
			  "{'kind':'Service','metadata':{'name':'t'},'spec':{'clusterIP':'10.96.0.1','ports':[{'port':80}]}}]}");
	assert_int_equal(apply(m, t, err, sizeof(err)), -EEXIST);
	assert_null(sl_model_policy_find(m, "x", "d"));
	assert_true(allows(m, YA, XA, TCP, 80));
	assert_null(sl_model_svc_find(m, "default", "s"));
	/* The same batch without the clash: both kinds applied. */
	t = J("{'kind':'List','items':[{'kind':'NetworkPolicy','metadata':{'name':'d','namespace':'x'}},"
	      "{'kind':'Service','metadata':{'name':'s'},'spec':{'clusterIP':'10.96.0.1','ports':[{'port':80}]}}]}");
	assert_int_equal(apply(m, t, err, sizeof(err)), 0);
	assert_non_null(sl_model_policy_find(m, "x", "d"));
	assert_non_null(sl_model_svc_find(m, "default", "s"));
	assert_false(allows(m, YA, XA, TCP, 80));
	/* Delete of an unknown object fails the batch, restoring a deleted policy. */
	struct sl_k8s_op ops[2] = { { .kind = SL_K8S_POLICY, .del = true, .namespace = "x", .name = "d" },
				    { .kind = SL_K8S_POD, .del = true, .namespace = "x", .name = "nope" } };
	assert_int_equal(sl_model_k8s_apply(m, ops, 2, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "pod x/nope not found"));
	assert_non_null(sl_model_policy_find(m, "x", "d"));
	assert_false(allows(m, YA, XA, TCP, 80));
	sl_model_destroy(m);
}

/* The reference evaluator: random objects in the test's own form, evaluated as the API
 * documents, independent of the model's code. */

#define NKEYS 4
#define NVALS 6
static const char *const keys[NKEYS] = { "app", "tier", "team", "kubernetes.io/metadata.name" };
static const char *const vals[NVALS] = { "a", "b", "c", "x", "y", "z" };
#define NNS 3
#define NPODS 14
#define MAXP 5

enum { C_EQ, C_IN, C_NOTIN, C_EXISTS, C_DNE };
struct t_clause {
	int op, key, vmask; /* vmask: bit per value (EQ: one bit) */
};
struct t_sel {
	int n;
	struct t_clause c[3];
};
struct t_port {
	int proto, port, end, name; /* port 0: every port; name -1: numeric */
};
struct t_peer {
	bool block, has_ps, has_ns;
	struct t_sel ps, ns;
	uint32_t net;
	int len, n_except;
	uint32_t ex_net[2];
	int ex_len[2];
};
struct t_rule {
	int n_peers, n_ports;
	struct t_peer peers[3];
	struct t_port ports[3];
};
struct t_pol {
	bool live, defaulted;
	int ns;
	struct t_sel sel;
	bool types[2];
	int n_rules[2];
	struct t_rule rules[2][3];
};
struct t_pod {
	bool live, has_ip, local, hostnet;
	int ns, lab[NKEYS];
	uint32_t ip;
	int n_ports;
	struct t_port ports[3]; /* name >= 0: named */
};
struct world {
	int ns_lab[NNS][NKEYS]; /* value index or -1 */
	struct t_pod pods[NPODS];
	struct t_pol pols[MAXP];
};

static const char *const pnames[3] = { "http", "dns", "metrics" };
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static bool sel_match(const struct t_sel *s, const int *lab)
{
	for (int i = 0; i < s->n; i++) {
		const struct t_clause *c = &s->c[i];
		int v = lab[c->key];
		bool ok = c->op == C_EQ || c->op == C_IN ? v >= 0 && (c->vmask >> v & 1)
			  : c->op == C_NOTIN ? v < 0 || !(c->vmask >> v & 1)
			  : c->op == C_EXISTS ? v >= 0 : v < 0;
		if (!ok)
			return false;
	}
	return true;
}

static void ns_labels(const struct world *w, int ns, int *lab)
{
	memcpy(lab, w->ns_lab[ns], sizeof(int) * NKEYS);
	lab[3] = 3 + ns; /* kubernetes.io/metadata.name: x, y, z */
}

static const struct t_pod *pod_at(const struct world *w, uint32_t ip)
{
	for (int i = 0; i < NPODS; i++)
		if (w->pods[i].live && w->pods[i].has_ip && !w->pods[i].hostnet && w->pods[i].ip == ip)
			return &w->pods[i];
	return NULL;
}

static bool ref_peer(const struct world *w, const struct t_pol *p, const struct t_peer *pe,
		     uint32_t ip)
{
	if (pe->block) {
		uint32_t mask = pe->len ? ~0u << (32 - pe->len) : 0;
		if ((ip & mask) != pe->net)
			return false;
		for (int i = 0; i < pe->n_except; i++) {
			uint32_t em = ~0u << (32 - pe->ex_len[i]);
			if ((ip & em) == pe->ex_net[i])
				return false;
		}
		return true;
	}
	const struct t_pod *q = pod_at(w, ip);
	if (!q)
		return false;
	if (pe->has_ns) {
		int lab[NKEYS];
		ns_labels(w, q->ns, lab);
		if (!sel_match(&pe->ns, lab))
			return false;
	} else if (q->ns != p->ns) {
		return false;
	}
	return !pe->has_ps || sel_match(&pe->ps, q->lab);
}

static bool ref_port(const struct t_port *pt, const struct t_pod *owner, int proto, int port)
{
	if (pt->proto != proto)
		return false;
	if (pt->name >= 0) {
		for (int i = 0; owner && i < owner->n_ports; i++)
			if (owner->ports[i].name == pt->name && owner->ports[i].proto == proto &&
			    owner->ports[i].port == port)
				return true;
		return false;
	}
	return !pt->port || (port >= pt->port && port <= (pt->end ? pt->end : pt->port));
}

/* One direction at pod (ingress: dst, egress: src); local_only: as this node enforces. */
static bool ref_dir(const struct world *w, int d, uint32_t pod_ip, uint32_t peer_ip, int proto,
		    int port, bool local_only)
{
	const struct t_pod *pod = pod_at(w, pod_ip);
	if (!pod || (local_only && !pod->local))
		return true;
	const struct t_pod *owner = d == 0 ? pod : pod_at(w, peer_ip);
	bool isolated = false;
	for (int i = 0; i < MAXP; i++) {
		const struct t_pol *p = &w->pols[i];
		if (!p->live || p->ns != pod->ns || !p->types[d] || !sel_match(&p->sel, pod->lab))
			continue;
		isolated = true;
		for (int r = 0; r < p->n_rules[d]; r++) {
			const struct t_rule *ru = &p->rules[d][r];
			bool peer_ok = !ru->n_peers, port_ok = !ru->n_ports;
			for (int k = 0; k < ru->n_peers; k++)
				peer_ok |= ref_peer(w, p, &ru->peers[k], peer_ip);
			for (int k = 0; k < ru->n_ports; k++)
				port_ok |= ref_port(&ru->ports[k], owner, proto, port);
			if (peer_ok && port_ok)
				return true;
		}
	}
	return !isolated;
}

static bool ref_allows(const struct world *w, uint32_t src, uint32_t dst, int proto, int port,
		       bool local_only)
{
	return ref_dir(w, 0, dst, src, proto, port, local_only) &&
	       ref_dir(w, 1, src, dst, proto, port, local_only);
}

/* Random objects, and their JSON. */

static void rnd_sel(struct t_sel *s, bool ns)
{
	s->n = (int)rnd(3);
	for (int i = 0; i < s->n; i++) {
		struct t_clause *c = &s->c[i];
		c->op = (int)rnd(5);
		c->key = ns ? 2 + (int)rnd(2) : (int)rnd(2);
		c->vmask = c->op == C_EQ ? 1 << (ns && c->key == 3 ? 3 + rnd(3) : rnd(3))
			   : (int)(1 + rnd(63));
		if (c->op == C_EQ) /* one matchLabels entry per key */
			for (int k = 0; k < i; k++)
				if (s->c[k].op == C_EQ && s->c[k].key == c->key)
					c->op = C_EXISTS;
	}
}

static void rnd_port(struct t_port *pt)
{
	static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	pt->proto = protos[rnd(3)];
	pt->name = -1;
	pt->port = pt->end = 0;
	switch (rnd(4)) {
	case 0:
		break; /* protocol only */
	case 1:
		pt->port = 79 + (int)rnd(4);
		break;
	case 2:
		pt->port = 79 + (int)rnd(3);
		pt->end = pt->port + (int)rnd(3);
		break;
	default:
		pt->name = (int)rnd(3);
	}
}

static uint32_t rnd_ip(void)
{
	/* 10.244.{1,2}.{0..7} and a few outside */
	if (rnd(10) == 0)
		return hip("192.168.0.1") + rnd(4);
	return (10u << 24) | (244u << 16) | ((1 + rnd(2)) << 8) | rnd(8);
}

static void rnd_peer(struct t_peer *pe)
{
	memset(pe, 0, sizeof(*pe));
	if (rnd(4) == 0) {
		pe->block = true;
		pe->len = 22 + (int)rnd(10);
		pe->net = rnd_ip() & (~0u << (32 - pe->len));
		if (rnd(3) == 0) {
			pe->len = 0;
			pe->net = 0;
		}
		pe->n_except = (int)rnd(3);
		for (int i = 0; i < pe->n_except; i++) {
			pe->ex_len[i] = pe->len + 1 + (int)rnd((unsigned)(32 - pe->len));
			if (pe->ex_len[i] > 32)
				pe->ex_len[i] = 32;
			uint32_t inside = pe->len ? pe->net | (rnd_ip() & ~(~0u << (32 - pe->len)))
						  : rnd_ip();
			pe->ex_net[i] = inside & (~0u << (32 - pe->ex_len[i]));
		}
		return;
	}
	int k = 1 + (int)rnd(3);
	pe->has_ps = k & 1;
	pe->has_ns = k & 2;
	rnd_sel(&pe->ps, false);
	rnd_sel(&pe->ns, true);
}

static void rnd_pol(struct world *w, int i)
{
	struct t_pol *p = &w->pols[i];
	memset(p, 0, sizeof(*p));
	p->live = true;
	p->ns = (int)rnd(NNS);
	rnd_sel(&p->sel, false);
	int t = (int)rnd(4); /* 0: absent (defaulted) */
	for (int d = 0; d < 2; d++) {
		p->n_rules[d] = (int)rnd(3);
		for (int r = 0; r < p->n_rules[d]; r++) {
			struct t_rule *ru = &p->rules[d][r];
			ru->n_peers = (int)rnd(3);
			ru->n_ports = (int)rnd(3);
			for (int k = 0; k < ru->n_peers; k++)
				rnd_peer(&ru->peers[k]);
			for (int k = 0; k < ru->n_ports; k++)
				rnd_port(&ru->ports[k]);
		}
	}
	p->defaulted = t == 0; /* policyTypes absent: defaulted as the API server does */
	if (p->defaulted) {
		p->types[0] = true;
		p->types[1] = p->n_rules[1] != 0;
	} else {
		p->types[0] = t & 1;
		p->types[1] = t & 2;
	}
}

static void rnd_pod(struct world *w, int i)
{
	struct t_pod *q = &w->pods[i];
	memset(q, 0, sizeof(*q));
	q->live = true;
	q->ns = i % NNS;
	q->has_ip = rnd(8) != 0;
	q->hostnet = rnd(12) == 0; /* its address is not the pod's: never selected */
	q->ip = (10u << 24) | (244u << 16) | ((1 + (unsigned)(i & 1)) << 8) | (2 + (unsigned)i / 2);
	q->local = (q->ip >> 8 & 0xff) == 1; /* 10.244.1.x: attached here */
	for (int k = 0; k < NKEYS; k++)
		q->lab[k] = k < 2 && rnd(3) ? (int)rnd(3) : -1;
	q->n_ports = (int)rnd(4);
	for (int k = 0; k < q->n_ports; k++) {
		static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
		q->ports[k].name = k; /* names unique per pod */
		q->ports[k].proto = protos[rnd(3)];
		q->ports[k].port = 79 + (int)rnd(5);
	}
}

static cJSON *sel_json(const struct t_sel *s)
{
	static const char *const ops[] = { "", "In", "NotIn", "Exists", "DoesNotExist" };
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < s->n; i++) {
		const struct t_clause *c = &s->c[i];
		if (c->op == C_EQ) {
			cJSON *ml = cJSON_GetObjectItem(o, "matchLabels");
			if (!ml)
				ml = cJSON_AddObjectToObject(o, "matchLabels");
			for (int v = 0; v < NVALS; v++)
				if (c->vmask >> v & 1)
					cJSON_AddStringToObject(ml, keys[c->key], vals[v]);
			continue;
		}
		cJSON *me = cJSON_GetObjectItem(o, "matchExpressions");
		if (!me)
			me = cJSON_AddArrayToObject(o, "matchExpressions");
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "key", keys[c->key]);
		cJSON_AddStringToObject(e, "operator", ops[c->op]);
		if (c->op == C_IN || c->op == C_NOTIN) {
			cJSON *a = cJSON_AddArrayToObject(e, "values");
			for (int v = 0; v < NVALS; v++)
				if (c->vmask >> v & 1)
					cJSON_AddItemToArray(a, cJSON_CreateString(vals[v]));
		}
		cJSON_AddItemToArray(me, e);
	}
	return o;
}

static const char *proto_s(int p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static char *ipstr(uint32_t h, char *b)
{
	snprintf(b, 20, "%u.%u.%u.%u", h >> 24, h >> 16 & 255, h >> 8 & 255, h & 255);
	return b;
}

static cJSON *pol_json(const struct t_pol *p, int i)
{
	char b[40], c[20];
	int ns = p->ns;
	bool defaulted = p->defaulted;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "NetworkPolicy");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	snprintf(b, sizeof(b), "p%d", i);
	cJSON_AddStringToObject(md, "name", b);
	cJSON_AddStringToObject(md, "namespace", vals[3 + ns]);
	cJSON *sp = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddItemToObject(sp, "podSelector", sel_json(&p->sel));
	if (!defaulted) {
		cJSON *t = cJSON_AddArrayToObject(sp, "policyTypes");
		if (p->types[0])
			cJSON_AddItemToArray(t, cJSON_CreateString("Ingress"));
		if (p->types[1])
			cJSON_AddItemToArray(t, cJSON_CreateString("Egress"));
	}
	for (int d = 0; d < 2; d++) {
		if (!p->n_rules[d] && rnd(2))
			continue; /* absent, else [] */
		cJSON *rules = cJSON_AddArrayToObject(sp, d ? "egress" : "ingress");
		for (int r = 0; r < p->n_rules[d]; r++) {
			const struct t_rule *ru = &p->rules[d][r];
			cJSON *e = cJSON_CreateObject();
			if (ru->n_peers || rnd(2)) {
				cJSON *a = cJSON_AddArrayToObject(e, d ? "to" : "from");
				for (int k = 0; k < ru->n_peers; k++) {
					const struct t_peer *pe = &ru->peers[k];
					cJSON *x = cJSON_CreateObject();
					if (pe->block) {
						cJSON *ib = cJSON_AddObjectToObject(x, "ipBlock");
						snprintf(b, sizeof(b), "%s/%d", ipstr(pe->net, c), pe->len);
						cJSON_AddStringToObject(ib, "cidr", b);
						if (pe->n_except) {
							cJSON *ex = cJSON_AddArrayToObject(ib, "except");
							for (int q = 0; q < pe->n_except; q++) {
								snprintf(b, sizeof(b), "%s/%d", ipstr(pe->ex_net[q], c),
									 pe->ex_len[q]);
								cJSON_AddItemToArray(ex, cJSON_CreateString(b));
							}
						}
					}
					if (pe->has_ps)
						cJSON_AddItemToObject(x, "podSelector", sel_json(&pe->ps));
					if (pe->has_ns)
						cJSON_AddItemToObject(x, "namespaceSelector", sel_json(&pe->ns));
					cJSON_AddItemToArray(a, x);
				}
			}
			if (ru->n_ports || rnd(2)) {
				cJSON *a = cJSON_AddArrayToObject(e, "ports");
				for (int k = 0; k < ru->n_ports; k++) {
					const struct t_port *pt = &ru->ports[k];
					cJSON *x = cJSON_CreateObject();
					if (pt->proto != IPPROTO_TCP || rnd(2))
						cJSON_AddStringToObject(x, "protocol", proto_s(pt->proto));
					if (pt->name >= 0)
						cJSON_AddStringToObject(x, "port", pnames[pt->name]);
					else if (pt->port)
						cJSON_AddNumberToObject(x, "port", pt->port);
					if (pt->end)
						cJSON_AddNumberToObject(x, "endPort", pt->end);
					cJSON_AddItemToArray(a, x);
				}
			}
			cJSON_AddItemToArray(rules, e);
		}
	}
	return o;
}

static cJSON *pod_json(const struct t_pod *q, int i)
{
	char b[20];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "Pod");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	snprintf(b, sizeof(b), "q%d", i);
	cJSON_AddStringToObject(md, "name", b);
	cJSON_AddStringToObject(md, "namespace", vals[3 + q->ns]);
	cJSON *lb = cJSON_AddObjectToObject(md, "labels");
	for (int k = 0; k < NKEYS; k++)
		if (q->lab[k] >= 0)
			cJSON_AddStringToObject(lb, keys[k], vals[q->lab[k]]);
	cJSON *c = cJSON_CreateObject();
	cJSON *ps = cJSON_AddArrayToObject(c, "ports");
	for (int k = 0; k < q->n_ports; k++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", pnames[q->ports[k].name]);
		cJSON_AddNumberToObject(x, "containerPort", q->ports[k].port);
		cJSON_AddStringToObject(x, "protocol", proto_s(q->ports[k].proto));
		cJSON_AddItemToArray(ps, x);
	}
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
	if (q->hostnet)
		cJSON_AddTrueToObject(spec, "hostNetwork");
	if (q->has_ip)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "podIP", ipstr(q->ip, b));
	return o;
}

static cJSON *ns_json(const struct world *w, int ns)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "Namespace");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", vals[3 + ns]);
	cJSON *lb = cJSON_AddObjectToObject(md, "labels");
	if (w->ns_lab[ns][2] >= 0)
		cJSON_AddStringToObject(lb, "team", vals[w->ns_lab[ns][2]]);
	return o;
}

static void apply_json(struct sl_model *m, cJSON *o)
{
	char err[400];
	struct sl_k8s_op *ops;
	unsigned n;
	if (sl_k8s_decode(o, &ops, &n, err, sizeof(err))) {
		char *t = cJSON_PrintUnformatted(o);
		fail_msg("decode: %s\n%s", err, t);
	}
	if (sl_model_k8s_apply(m, ops, n, err, sizeof(err)))
		fail_msg("apply: %s", err);
	sl_k8s_ops_free(ops, n);
	cJSON_Delete(o);
}

static void del_op(struct sl_model *m, enum sl_k8s_kind kind, const char *ns, const char *name)
{
	char err[400];
	struct sl_k8s_op op = { .kind = kind, .del = true };
	snprintf(op.namespace, sizeof(op.namespace), "%s", ns);
	snprintf(op.name, sizeof(op.name), "%s", name);
	if (sl_model_k8s_apply(m, &op, 1, err, sizeof(err)))
		fail_msg("delete: %s", err);
}

static unsigned long checks, allowed_seen, denied_seen;

static void compare(struct sl_model *m, const struct world *w, int scen, int step)
{
	const struct sl_pol_set *s = sl_model_policy_set(m);
	static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	assert_non_null(s);
	for (int k = 0; k < 60; k++) {
		uint32_t src = rnd(3) ? w->pods[rnd(NPODS)].ip : rnd_ip();
		uint32_t dst = rnd(3) ? w->pods[rnd(NPODS)].ip : rnd_ip();
		int proto = protos[rnd(3)], port = 78 + (int)rnd(7);
		bool want = ref_allows(w, src, dst, proto, port, true);
		bool got = set_allows(s, src, dst, (uint8_t)proto, (uint16_t)port);
		if (want != got) {
			char a[20], b[20];
			fail_msg("scenario %d step %d: %s -> %s %d/%d: reference %s, compiled %s", scen,
				 step, ipstr(src, a), ipstr(dst, b), port, proto,
				 want ? "allows" : "denies", got ? "allows" : "denies");
		}
		/* policy check evaluates every pod, local or not. */
		struct sl_pol_check c;
		struct sl_ip sip = sl_ip4(htonl(src)), dip = sl_ip4(htonl(dst));
		sl_model_policy_check(m, sip, dip, (uint8_t)proto, (uint16_t)port, &c);
		if (c.allowed != ref_allows(w, src, dst, proto, port, false))
			fail_msg("scenario %d step %d: policy check disagrees", scen, step);
		checks++;
		want ? allowed_seen++ : denied_seen++;
	}
}

static void test_random_reference(void **state)
{
	(void)state;
	char name[20];
	for (int scen = 0; scen < 150; scen++) {
		struct world w;
		struct sl_model *m = new_model();
		memset(&w, 0, sizeof(w));
		for (int n = 0; n < NNS; n++) {
			for (int k = 0; k < NKEYS; k++)
				w.ns_lab[n][k] = -1;
			w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
			apply_json(m, ns_json(&w, n));
		}
		for (int i = 0; i < NPODS; i++) {
			rnd_pod(&w, i);
			if (w.pods[i].local) {
				char a[20];
				snprintf(name, sizeof(name), "v%d", i);
				attach(m, ipstr(w.pods[i].ip, a), name);
			}
			apply_json(m, pod_json(&w.pods[i], i));
		}
		int np = 1 + (int)rnd(MAXP);
		for (int i = 0; i < np; i++) {
			rnd_pol(&w, i);
			apply_json(m, pol_json(&w.pols[i], i));
		}
		compare(m, &w, scen, 0);
		/* Changes, each checked: labels, namespaces, policies, attachments. */
		for (int step = 1; step <= 8; step++) {
			int i = (int)rnd(NPODS);
			switch (rnd(6)) {
			case 0: /* relabel or re-port a pod */
				for (int k = 0; k < 2; k++)
					w.pods[i].lab[k] = rnd(3) ? (int)rnd(3) : -1;
				w.pods[i].ports[0].port = 79 + (int)rnd(5);
				if (w.pods[i].live)
					apply_json(m, pod_json(&w.pods[i], i));
				break;
			case 1: { /* a namespace's labels */
				int n = (int)rnd(NNS);
				w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
				apply_json(m, ns_json(&w, n));
				break;
			}
			case 2: { /* replace or add a policy */
				int p = (int)rnd(MAXP);
				if (w.pols[p].live) {
					snprintf(name, sizeof(name), "p%d", p);
					del_op(m, SL_K8S_POLICY, vals[3 + w.pols[p].ns], name);
				}
				rnd_pol(&w, p);
				apply_json(m, pol_json(&w.pols[p], p));
				break;
			}
			case 3: { /* delete a policy */
				int p = (int)rnd(MAXP);
				if (!w.pols[p].live)
					break;
				snprintf(name, sizeof(name), "p%d", p);
				del_op(m, SL_K8S_POLICY, vals[3 + w.pols[p].ns], name);
				w.pols[p].live = false;
				break;
			}
			case 4: /* delete or re-add a pod */
				snprintf(name, sizeof(name), "q%d", i);
				if (w.pods[i].live) {
					del_op(m, SL_K8S_POD, vals[3 + w.pods[i].ns], name);
					w.pods[i].live = false;
				} else {
					w.pods[i].live = true;
					apply_json(m, pod_json(&w.pods[i], i));
				}
				break;
			default: { /* detach or attach a local pod */
				char err[320], a[20];
				if (!(w.pods[i].ip >> 8 & 1))
					break; /* 10.244.2.x: remote */
				snprintf(name, sizeof(name), "v%d", i);
				if (w.pods[i].local) {
					assert_int_equal(sl_model_pod_del(m, "cni", name, err, sizeof(err)), 0);
					w.pods[i].local = false;
				} else {
					attach(m, ipstr(w.pods[i].ip, a), name);
					w.pods[i].local = true;
				}
			}
			}
			compare(m, &w, scen, step);
		}
		sl_model_destroy(m);
	}
	printf("reference: %lu packets checked (%lu allowed, %lu denied)\n", checks, allowed_seen,
	       denied_seen);
	assert_true(checks >= 10000);
	assert_true(allowed_seen > checks / 10 && denied_seen > checks / 10);
}


/* The selector index (a pod change looks only at the policies whose selectors mention its
 * labels) marks the same policies dirty as checking every policy: two models, one with the
 * index off, the same random policies and the same random pod, namespace and policy changes;
 * after each change the dirty sets are compared, then both sets assembled. */
struct dirty_list {
	unsigned n;
	char names[64][48];
};

static void dirty_add(void *ctx, const char *ns, const char *name)
{
	struct dirty_list *l = ctx;
	assert_true(l->n < 64);
	snprintf(l->names[l->n++], sizeof(l->names[0]), "%s/%s", ns, name);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void dirty_of(struct sl_model *m, struct dirty_list *l)
{
	l->n = 0;
	sl_pol_dirty_each(m, dirty_add, l);
	qsort(l->names, l->n, sizeof(l->names[0]), str_cmp);
}

static void test_index_dirty(void **state)
{
	(void)state;
	unsigned changes = 0, marked = 0, unmarked = 0;
	for (int scen = 0; scen < 60; scen++) {
		struct world w, tw;
		bool attached[NPODS] = { false };
		struct sl_model *m[2] = { new_model(), new_model() };
		sl_pol_index_enable(m[1], false);
		memset(&w, 0, sizeof(w));
		for (int n = 0; n < NNS; n++) {
			for (int k = 0; k < NKEYS; k++)
				w.ns_lab[n][k] = -1;
			w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
			for (int x = 0; x < 2; x++)
				apply_json(m[x], ns_json(&w, n));
		}
		for (int i = 0; i < NPODS; i++) {
			rnd_pod(&w, i);
			for (int x = 0; x < 2; x++)
				apply_json(m[x], pod_json(&w.pods[i], i));
		}
		for (int i = 0; i < 30; i++) {
			rnd_pol(&tw, 0);
			for (int x = 0; x < 2; x++)
				apply_json(m[x], pol_json(&tw.pols[0], i));
		}
		for (int step = 0; step < 40; step++) {
			for (int x = 0; x < 2; x++)
				assert_non_null(sl_model_policy_set(m[x]));
			int i = (int)rnd(NPODS);
			char name[20];
			switch (rnd(8)) {
			case 0: /* a pod's address appears or goes */
				w.pods[i].has_ip = !w.pods[i].has_ip;
				break;
			case 1: /* its ports */
				w.pods[i].ports[0].port = 79 + (int)rnd(5);
				break;
			case 2: { /* a namespace's labels */
				int n = (int)rnd(NNS);
				w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
				for (int x = 0; x < 2; x++)
					apply_json(m[x], ns_json(&w, n));
				i = -1;
				break;
			}
			case 3: /* delete or re-add */
				snprintf(name, sizeof(name), "q%d", i);
				w.pods[i].live = !w.pods[i].live;
				if (!w.pods[i].live) {
					for (int x = 0; x < 2; x++)
						del_op(m[x], SL_K8S_POD, vals[3 + w.pods[i].ns], name);
					i = -1;
				}
				break;
			case 4: { /* attach or detach a pod of this node (10.244.1.x) */
				char err[320], a[20];
				if (!(w.pods[i].ip >> 8 & 1))
					break; /* 10.244.2.x: remote */
				snprintf(name, sizeof(name), "v%d", i);
				for (int x = 0; x < 2; x++)
					if (attached[i])
						assert_int_equal(sl_model_pod_del(m[x], "cni", name, err,
										  sizeof(err)), 0);
					else
						attach(m[x], ipstr(w.pods[i].ip, a), name);
				attached[i] = !attached[i];
				i = -1;
				break;
			}
			default: /* labels: one key or both, sometimes unchanged */
				for (int k = 0; k < 2; k++)
					if (k == 0 || rnd(2))
						w.pods[i].lab[k] = rnd(3) ? (int)rnd(3) : -1;
			}
			if (i >= 0 && w.pods[i].live)
				for (int x = 0; x < 2; x++)
					apply_json(m[x], pod_json(&w.pods[i], i));
			struct dirty_list a, b;
			dirty_of(m[0], &a);
			dirty_of(m[1], &b);
			if (a.n != b.n)
				fail_msg("scenario %d step %d: the index marks %u policies, every "
					 "policy checked %u", scen, step, a.n, b.n);
			for (unsigned k = 0; k < a.n; k++)
				if (strcmp(a.names[k], b.names[k]))
					fail_msg("scenario %d step %d: %s marked by the index, %s by "
						 "checking all", scen, step, a.names[k], b.names[k]);
			changes++;
			a.n ? marked++ : unmarked++;
		}
		for (int x = 0; x < 2; x++)
			sl_model_destroy(m[x]);
	}
	printf("index: %u changes, %u marked some policy, %u none\n", changes, marked, unmarked);
	assert_true(marked > changes / 4 && unmarked > changes / 20);
}

/* A notification per committed change; none for a failed batch. */
static unsigned notified;
static uint64_t notified_gen;
static void on_change(void *ctx, uint64_t gen)
{
	(void)ctx;
	notified++;
	notified_gen = gen;
}

/* A large batch of pod changes (SL_POL_COARSE_PODS or more: a list page of the Kubernetes
 * sync) marks the selector index's candidates without the exact check: the compiled set is
 * the same as with the pods applied one by one. Two models, the same policies and pods;
 * then a relabelling of every pod, again as one batch and one by one. */
static void set_equal(struct sl_model *a, struct sl_model *b)
{
	const struct sl_pol_set *x = sl_model_policy_set(a);
	struct sl_pol_set *xc = sl_pol_set_copy(x);
	const struct sl_pol_set *y = sl_model_policy_set(b);
	assert_non_null(xc);
	assert_non_null(y);
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		assert_int_equal(xc->dir[d].n_isolated, y->dir[d].n_isolated);
		assert_int_equal(xc->dir[d].n_rules, y->dir[d].n_rules);
		assert_memory_equal(xc->dir[d].isolated, y->dir[d].isolated,
				    y->dir[d].n_isolated * sizeof(uint32_t));
		for (uint32_t i = 0; i < y->dir[d].n_rules; i++) { /* field by field: padding */
			const struct sl_pol_rule *p = &xc->dir[d].rules[i], *q = &y->dir[d].rules[i];
			assert_true(p->pod_ip == q->pod_ip && p->peer_net == q->peer_net &&
				    p->peer_len == q->peer_len && p->proto == q->proto &&
				    p->port_lo == q->port_lo && p->port_hi == q->port_hi &&
				    p->policy == q->policy && p->rule == q->rule);
		}
	}
	sl_pol_set_free(xc);
}

static cJSON *batch_pod(int i, int round)
{
	static const char *const apps[] = { "web", "db", "cli" };
	char ip[20], t[600];
	snprintf(ip, sizeof(ip), i < 10 ? "10.244.1.%d" : "10.244.2.%d", 2 + i);
	snprintf(t, sizeof(t), "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
		 "\"b%d\",\"namespace\":\"%s\",\"labels\":{\"app\":\"%s\",\"tier\":\"t%d\"%s}},"
		 "\"spec\":{\"nodeName\":\"n\",\"containers\":[{\"name\":\"c\",\"ports\":[{"
		 "\"containerPort\":80}]}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"%s\"}}",
		 i, i % 2 ? "a" : "b", apps[(i + round) % 3], (i + round) % 2,
		 (i + round) % 4 == 0 ? ",\"role\":\"client\"" : "", ip);
	cJSON *o = cJSON_Parse(t);
	assert_non_null(o);
	return o;
}

static void test_coarse_batch(void **state)
{
	(void)state;
	enum { N = 48 };
	static const char *const pols[] = {
		"{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"web\",\"namespace\":\"a\"},"
		"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{\"from\":"
		"[{\"podSelector\":{\"matchLabels\":{\"role\":\"client\"}}}]}]}}",
		"{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"t0\",\"namespace\":\"b\"},"
		"\"spec\":{\"podSelector\":{},\"ingress\":[{\"from\":[{\"namespaceSelector\":{},"
		"\"podSelector\":{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\","
		"\"values\":[\"t0\"]}]}}],\"ports\":[{\"port\":80}]}]}}",
		"{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"db\",\"namespace\":\"a\"},"
		"\"spec\":{\"podSelector\":{\"matchExpressions\":[{\"key\":\"role\",\"operator\":"
		"\"DoesNotExist\"}]},\"policyTypes\":[\"Egress\"],\"egress\":[{\"to\":[{\"podSelector\":"
		"{\"matchLabels\":{\"app\":\"db\"}}}]}]}}",
	};
	struct sl_model *m[2] = { new_model(), new_model() };
	for (int x = 0; x < 2; x++) {
		for (int i = 0; i < 10; i++) {
			char a[20], v[8];
			snprintf(a, sizeof(a), "10.244.1.%d", 2 + i);
			snprintf(v, sizeof(v), "v%d", i);
			attach(m[x], a, v);
		}
		for (unsigned p = 0; p < sizeof(pols) / sizeof(pols[0]); p++)
			apply_json(m[x], cJSON_Parse(pols[p]));
	}
	for (int round = 0; round < 2; round++) {
		cJSON *list = cJSON_CreateObject(), *items = cJSON_CreateArray();
		cJSON_AddStringToObject(list, "kind", "List");
		cJSON_AddItemToObject(list, "items", items);
		for (int i = 0; i < N; i++) {
			apply_json(m[0], batch_pod(i, round)); /* one by one: exact checks */
			cJSON_AddItemToArray(items, batch_pod(i, round));
		}
		apply_json(m[1], list); /* one batch of N >= SL_POL_COARSE_PODS pods */
		set_equal(m[0], m[1]);
	}
	const struct sl_pol_set *s = sl_model_policy_set(m[1]);
	assert_true(s->dir[SL_POL_INGRESS].n_isolated > 0 && s->dir[SL_POL_INGRESS].n_rules > 0);
	assert_true(s->dir[SL_POL_EGRESS].n_isolated > 0 && s->dir[SL_POL_EGRESS].n_rules > 0);
	sl_model_destroy(m[0]);
	sl_model_destroy(m[1]);
}

static void test_notify(void **state)
{
	(void)state;
	struct sl_model *m = xyz();
	char err[400];
	sl_model_policy_set_notify(m, on_change, NULL);
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'d','namespace':'x'}}");
	assert_int_equal(notified, 1);
	const struct sl_pol_set *s = sl_model_policy_set(m);
	assert_int_equal(s->generation, notified_gen);
	assert_string_equal(s->names[sl_model_policy_find(m, "x", "d")->id], "x/d");
	struct sl_pol_set *c = sl_pol_set_copy(s);
	assert_non_null(c);
	assert_int_equal(c->dir[0].n_isolated, 3);
	sl_pol_set_free(c);
	const char *t = J("{'kind':'NetworkPolicy','metadata':{'name':'e','namespace':'x'},'spec':{'ingress':[{'from':[{}]}]}}");
	assert_int_equal(apply(m, t, err, sizeof(err)), -EINVAL);
	assert_int_equal(notified, 1);
	/* An unrelated pod (another namespace, no policy reaches it) changes nothing. */
	s = sl_model_policy_set(m);
	uint64_t g = s->generation;
	APPLY_OK(m, "{'kind':'Pod','metadata':{'name':'n','namespace':'z','labels':{'pod':'n'}},'status':{'podIP':'10.244.3.9'}}");
	assert_int_equal(notified, 1);
	assert_int_equal(sl_model_policy_set(m)->generation, g);
	sl_model_destroy(m);
}

/* `show policies`, `policy check` and their requests. */
static void test_show_and_check(void **state)
{
	(void)state;
	struct sl_model *m = xyz();
	char err[400];
	APPLY_OK(m, "{'kind':'NetworkPolicy','metadata':{'name':'web','namespace':'x'},'spec':{'podSelector':"
		    "{'matchLabels':{'pod':'a'},'matchExpressions':[{'key':'tier','operator':'NotIn','values':['db']}]},"
		    "'ingress':[{'from':[{'podSelector':{'matchLabels':{'pod':'b'}}}],'ports':[{'port':80}]}]}}");
	cJSON *t = sl_show_policies(m);
	assert_int_equal(cJSON_GetArraySize(t), 1);
	cJSON *row = cJSON_GetArrayItem(t, 0);
	assert_string_equal(cJSON_GetObjectItem(row, "pod_selector")->valuestring, "pod=a,tier notin (db)");
	assert_string_equal(cJSON_GetObjectItem(row, "types")->valuestring, "Ingress");
	assert_int_equal(cJSON_GetObjectItem(row, "local_pods")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(row, "compiled_rules")->valueint, 1); /* x/b -> x/a:80 */
	cJSON_Delete(t);
	cJSON *o = sl_show_policy_check(m, "x/b", "x/a", TCP, 80, err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "verdict")->valuestring, "allowed");
	cJSON *in = cJSON_GetObjectItem(o, "ingress");
	assert_string_equal(cJSON_GetObjectItem(in, "reason")->valuestring, "allowed by x/web ingress[0]");
	assert_string_equal(cJSON_GetObjectItem(in, "policies")->valuestring, "x/web");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(in, "enforced_here")));
	cJSON_Delete(o);
	o = sl_show_policy_check(m, YB, "x/a", TCP, 80, err, sizeof(err));
	assert_string_equal(cJSON_GetObjectItem(o, "verdict")->valuestring, "denied");
	assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "ingress"), "reason")->valuestring,
			       "denied: isolated by 1 policy"));
	cJSON_Delete(o);
	assert_null(sl_show_policy_check(m, "x/nope", "x/a", TCP, 80, err, sizeof(err)));
	assert_string_equal(err, "src: 'x/nope' is not a known pod");
	assert_null(sl_show_policy_check(m, "x/a", "1.2.3", TCP, 80, err, sizeof(err)));
	assert_string_equal(err, "dst: '1.2.3' is not an IPv4 address or NS/POD");
	sl_model_destroy(m);

	struct sl_request r;
	const char *q = J("{'cmd':'policy.check','src':'x/a','dst':'10.0.0.1','port':'53/udp'}");
	assert_int_equal(sl_request_parse(q, strlen(q), &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, SL_CMD_POLICY_CHECK);
	assert_int_equal(r.port, 53);
	assert_int_equal(r.proto, UDP);
	q = J("{'cmd':'policy.check','src':'x/a','dst':'10.0.0.1','port':'53/icmp'}");
	assert_int_equal(sl_request_parse(q, strlen(q), &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "port: '53/icmp' is not PORT[/TCP|UDP|SCTP]");
	q = J("{'cmd':'k8s.del','kind':'networkpolicy','namespace':'x','name':'web'}");
	assert_int_equal(sl_request_parse(q, strlen(q), &r, err, sizeof(err)), 0);
	assert_int_equal(r.k8s_kind, SL_K8S_POLICY);
	assert_string_equal(r.namespace, "x");
	q = J("{'cmd':'k8s.del','kind':'service','name':'web'}");
	assert_int_equal(sl_request_parse(q, strlen(q), &r, err, sizeof(err)), -EINVAL);
}

/* The static config's namespaces, k8s_pods and networkpolicies arrays. */
static void test_config_lists(void **state)
{
	(void)state;
	char text[4000], err[400];
	snprintf(text, sizeof(text), "%s",
		 J("{'node':{'name':'node1','ip':'198.18.0.1','pod_cidr':'10.244.1.0/24'},"
		   "'uplink':{'devargs':'net_null0'},"
		   "'pods':[{'name':'c1','namespace':'cni','ip':'10.244.1.2','mac':'02:00:00:00:00:09','ifname':'va'}],"
		   "'namespaces':[{'metadata':{'name':'x'}}],"
		   "'k8s_pods':[{'metadata':{'name':'a','namespace':'x'},'status':{'podIP':'10.244.1.2'}}],"
		   "'networkpolicies':[{'metadata':{'name':'d','namespace':'x'},'spec':{'policyTypes':['Egress']}}]}"));
	struct sl_config c;
	if (sl_config_parse(text, strlen(text), &c, err, sizeof(err)))
		fail_msg("config: %s", err);
	struct sl_model_self self;
	sl_config_self(&c, &self);
	struct sl_model *m = sl_model_create(&self, NULL);
	if (sl_config_load_objects(&c, m, err, sizeof(err)))
		fail_msg("load: %s", err);
	assert_non_null(sl_model_ns_find(m, "x"));
	assert_non_null(sl_model_kpod_find(m, "x", "a"));
	const struct sl_pol_set *s = sl_model_policy_set(m);
	assert_int_equal(s->dir[SL_POL_EGRESS].n_isolated, 1);
	assert_int_equal(s->dir[SL_POL_EGRESS].isolated[0], hip("10.244.1.2"));
	sl_model_destroy(m);
	sl_config_free(&c);
	char *bad = strstr(text, "\"Egress\"");
	memcpy(bad, "\"Egres1\"", 8);
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "networkpolicies[0].spec.policyTypes[0]: must be Ingress or Egress");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_policy),
		cmocka_unit_test(test_decode_objects),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_selector),
		cmocka_unit_test(test_default_deny_and_allow),
		cmocka_unit_test(test_ipblock_ports),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_egress_and_local),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_show_and_check),
		cmocka_unit_test(test_config_lists),
		cmocka_unit_test(test_random_reference),
		cmocka_unit_test(test_index_dirty),
		cmocka_unit_test(test_coarse_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
