/* Services and EndpointSlices without EAL: the Kubernetes decoder (errors naming fields,
 * unknown fields ignored), kube-proxy's endpoint selection against a table of its cases
 * (pkg/proxy/topology_test.go TestCategorizeEndpoints, endpointslicecache_test.go), slice
 * merging, limits, all-or-nothing batches with failing hooks, and churn against the hooks'
 * own copy of the state. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/core/sl_show_svc.h"
#include "control/model/sl_service.h"
#include "control/sources/sl_config.h"
#include "control/sources/sl_k8s.h"
#include "control/sources/sl_request.h"

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

static struct sl_model *new_model(const struct sl_model_limits *l)
{
	struct sl_model_self self = { .node_name = "node1" };
	assert_int_equal(sl_ip_parse("198.18.0.1", false, &self.node_ip), 0);
	assert_int_equal(sl_cidr_parse("10.244.1.0/24", false, &self.pod_cidr), 0);
	assert_int_equal(sl_ip_parse("10.244.1.1", false, &self.gateway_ip), 0);
	struct sl_model *m = sl_model_create(&self, l);
	assert_non_null(m);
	return m;
}

/* Decode text and apply it; returns the apply's (or decode's) result, err filled. */
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
		char e_[400] = "";                                                         \
		int rc_ = apply(m, text, e_, sizeof(e_));                                  \
		if (rc_)                                                                   \
			fail_msg("apply: %d %s", rc_, e_);                                 \
	} while (0)

#define APPLY_ERR(m, text, code, msg)                                                      \
	do {                                                                               \
		char e_[400] = "";                                                         \
		assert_int_equal(apply(m, text, e_, sizeof(e_)), code);                    \
		if (!strstr(e_, msg))                                                      \
			fail_msg("error '%s' lacks '%s'", e_, msg);                        \
	} while (0)

/* A Service: name, type, cluster IP, ports (JSON array text), extra spec fields. */
static const char *svc(const char *name, const char *type, const char *cip, const char *ports,
		       const char *extra)
{
	static char b[8][4096];
	static int k;
	char *o = b[k++ % 8];
	snprintf(o, sizeof(b[0]),
		 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'%s','namespace':'default',"
		 "'uid':'x','labels':{'app':'a'}},'spec':{'type':'%s','clusterIP':'%s',"
		 "'clusterIPs':['%s'],'ports':%s%s%s,'selector':{'app':'a'}},"
		 "'status':{'loadBalancer':{}}}",
		 name, type, cip, cip, ports, extra[0] ? "," : "", extra);
	return J(o);
}

/* An EndpointSlice of Service svc_name: name, endpoints and ports (JSON array texts). */
static const char *slice(const char *name, const char *svc_name, const char *eps,
			 const char *ports)
{
	static char b[8][8192];
	static int k;
	char *o = b[k++ % 8];
	snprintf(o, sizeof(b[0]),
		 "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'%s',"
		 "'namespace':'default','labels':{'kubernetes.io/service-name':'%s',"
		 "'endpointslice.kubernetes.io/managed-by':'endpointslice-controller.k8s.io'}},"
		 "'addressType':'IPv4','endpoints':%s,'ports':%s}",
		 name, svc_name, eps, ports);
	return J(o);
}

static const char *list(const char *a, const char *b, const char *c)
{
	static char o[32768];
	snprintf(o, sizeof(o), "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":"
		 "{\"resourceVersion\":\"\"},\"items\":[%s%s%s%s%s]}", a, b ? "," : "", b ? b : "",
		 c ? "," : "", c ? c : "");
	return o;
}

/* The backends of port p of Service name with flag f set, as "ip:port ip:port". */
static const char *selected(struct sl_model *m, const char *name, unsigned p, unsigned f)
{
	static char out[1024];
	struct sl_svc_view *v;
	out[0] = 0;
	struct sl_model_svc *s = sl_model_svc_find(m, "default", name);
	assert_non_null(s);
	assert_int_equal(sl_svc_view_build(m, s, &v), 0);
	assert_true(p < v->n_ports);
	for (unsigned i = 0; i < v->ports[p].n_be; i++) {
		const struct sl_svc_backend *b = &v->ports[p].be[i];
		char ip[SL_IP_STR_MAX];
		if (!(b->flags & f))
			continue;
		size_t l = strlen(out);
		snprintf(out + l, sizeof(out) - l, "%s%s:%u", l ? " " : "", sl_ip_fmt(b->ip, ip),
			 b->port);
	}
	sl_svc_view_free(v);
	return out;
}

static void test_decode_kubectl(void **state)
{
	/* What `kubectl create service clusterip web --tcp=80:8080 --dry-run=client -o json`
	 * prints (kubectl 1.32), with unknown fields (creationTimestamp, selector, status). */
	const char *dry = "{\n \"kind\": \"Service\",\n \"apiVersion\": \"v1\",\n \"metadata\": {\n"
			  "  \"name\": \"web\",\n  \"creationTimestamp\": null,\n  \"labels\": "
			  "{\"app\": \"web\"}\n },\n \"spec\": {\n  \"ports\": [{\"name\": "
			  "\"80-8080\", \"protocol\": \"TCP\", \"port\": 80, \"targetPort\": 8080}],\n"
			  "  \"selector\": {\"app\": \"web\"},\n  \"type\": \"ClusterIP\"\n },\n"
			  " \"status\": {\"loadBalancer\": {}}\n}\n";
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	assert_int_equal(sl_k8s_decode_text(dry, strlen(dry), &ops, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].kind, SL_K8S_SERVICE);
	struct sl_svc_spec *s = ops[0].svc;
	assert_string_equal(s->namespace, "default");
	assert_string_equal(s->name, "web");
	assert_int_equal(s->n_cluster_ips, 0);
	assert_int_equal(s->n_ports, 1);
	assert_string_equal(s->ports[0].name, "80-8080");
	assert_int_equal(s->ports[0].protocol, IPPROTO_TCP);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].target_port, 8080);
	assert_int_equal(s->affinity_timeout_s, 10800);
	assert_false(s->external_local);
	sl_k8s_ops_free(ops, n);

	/* A List of mixed kinds with every field this node reads. */
	const char *full = list(
		svc("lb", "LoadBalancer", "10.96.0.20",
		    "[{'name':'http','port':80,'targetPort':'http','nodePort':30080},"
		    "{'name':'dns','protocol':'UDP','port':53,'targetPort':5353,'nodePort':30053}]",
		    "'externalIPs':['198.18.0.100','2001:db8::1'],'sessionAffinity':'ClientIP',"
		    "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':600}},"
		    "'externalTrafficPolicy':'Local','internalTrafficPolicy':'Cluster',"
		    "'healthCheckNodePort':31000,'loadBalancerSourceRanges':[' 192.0.2.7/24 '],"
		    "'ipFamilies':['IPv4'],'allocateLoadBalancerNodePorts':true"),
		slice("lb-abcde", "lb",
		      "[{'addresses':['10.244.1.5'],'conditions':{'ready':null,'serving':true,"
		      "'terminating':false},'nodeName':'node1','zone':'z1','targetRef':{'kind':'Pod'}},"
		      "{'addresses':['10.244.2.5'],'conditions':{'ready':false,'serving':true,"
		      "'terminating':true},'nodeName':'node2'},{'addresses':['10.244.2.6']}]",
		      "[{'name':'http','protocol':'TCP','port':8080,'appProtocol':'http'},"
		      "{'name':'dns','protocol':'UDP','port':5353}]"),
		NULL);
	assert_int_equal(sl_k8s_decode_text(full, strlen(full), &ops, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	s = ops[0].svc;
	assert_int_equal(s->type, SL_SVC_LOAD_BALANCER);
	assert_int_equal(s->n_cluster_ips, 1);
	assert_int_equal(s->n_external_ips, 1); /* IPv6 one ignored */
	assert_string_equal(s->ports[0].target_name, "http");
	assert_int_equal(s->ports[0].node_port, 30080);
	assert_int_equal(s->ports[1].protocol, IPPROTO_UDP);
	assert_true(s->affinity_client_ip);
	assert_int_equal(s->affinity_timeout_s, 600);
	assert_true(s->external_local);
	assert_false(s->internal_local);
	assert_int_equal(s->health_check_node_port, 31000);
	assert_int_equal(s->n_source_ranges, 1);
	assert_int_equal(s->source_ranges[0].len, 24);
	assert_int_equal(s->source_ranges[0].addr.v4, htonl(0xc0000200)); /* host bits cleared */
	struct sl_slice_spec *sl = ops[1].slice;
	assert_string_equal(sl->service, "lb");
	assert_int_equal(sl->n_eps, 3);
	/* ready nil = ready; serving nil = ready's value; terminating nil = false. */
	assert_int_equal(sl->eps[0].cond, SL_EP_READY | SL_EP_SERVING);
	assert_int_equal(sl->eps[1].cond, SL_EP_SERVING | SL_EP_TERMINATING);
	assert_int_equal(sl->eps[2].cond, SL_EP_READY | SL_EP_SERVING);
	assert_string_equal(sl->eps[0].node_name, "node1");
	assert_string_equal(sl->eps[0].zone, "z1");
	assert_null(sl->eps[2].node_name);
	/* Encoded (persisted state) and decoded again: the same. */
	cJSON *enc = sl_k8s_encode_service(s);
	struct sl_svc_spec *s2;
	assert_int_equal(sl_k8s_parse_service(enc, "", &s2, err, sizeof(err)), 0);
	assert_int_equal(s2->n_ports, 2);
	assert_string_equal(s2->ports[0].target_name, "http");
	assert_int_equal(s2->affinity_timeout_s, 600);
	assert_int_equal(s2->n_source_ranges, 1);
	assert_int_equal(s2->health_check_node_port, 31000);
	assert_int_equal(s2->cluster_ips[0].v4, s->cluster_ips[0].v4);
	sl_svc_spec_free(s2);
	cJSON_Delete(enc);
	enc = sl_k8s_encode_slice(sl);
	struct sl_slice_spec *sl2;
	assert_int_equal(sl_k8s_parse_slice(enc, "", &sl2, err, sizeof(err)), 0);
	assert_int_equal(sl2->n_eps, 3);
	for (unsigned i = 0; i < 3; i++) /* the encoder leaves default conditions out */
		assert_int_equal(sl2->eps[i].cond, sl->eps[i].cond);
	sl_slice_spec_free(sl2);
	cJSON_Delete(enc);
	/* Every combination of conditions comes back as it was, with or without its
	 * "conditions" object. */
	uint8_t conds[3];
	for (unsigned i = 0; i < 3; i++)
		conds[i] = sl->eps[i].cond;
	for (uint8_t c = 0; c < 8; c++) {
		for (unsigned i = 0; i < 3; i++)
			sl->eps[i].cond = (uint8_t)((c + i) & 7);
		enc = sl_k8s_encode_slice(sl);
		assert_int_equal(sl_k8s_parse_slice(enc, "", &sl2, err, sizeof(err)), 0);
		for (unsigned i = 0; i < 3; i++)
			assert_int_equal(sl2->eps[i].cond, sl->eps[i].cond);
		sl_slice_spec_free(sl2);
		cJSON_Delete(enc);
	}
	for (unsigned i = 0; i < 3; i++)
		sl->eps[i].cond = conds[i];
	enc = sl_k8s_encode_slice(sl);
	assert_int_equal(sl_k8s_parse_slice(enc, "", &sl2, err, sizeof(err)), 0);
	assert_string_equal(sl2->eps[0].zone, "z1");
	assert_int_equal(sl2->ports[1].port, 5353);
	sl_slice_spec_free(sl2);
	cJSON_Delete(enc);
	sl_k8s_ops_free(ops, n);

	/* An empty List, a slice with null endpoints and ports (as kubectl prints). */
	const char *empty = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]}";
	assert_int_equal(sl_k8s_decode_text(empty, strlen(empty), &ops, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	sl_k8s_ops_free(ops, n);
	const char *nul = slice("x-1", "x", "null", "null");
	assert_int_equal(sl_k8s_decode_text(nul, strlen(nul), &ops, &n, err, sizeof(err)), 0);
	assert_int_equal(ops[0].slice->n_eps, 0);
	sl_k8s_ops_free(ops, n);
}

/* Bad objects: refused with the field's path and the reason. */
static void test_decode_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "[1]", "object: must be a JSON object" },
		{ "{'kind':'ConfigMap','apiVersion':'v1','metadata':{'name':'p'}}", "kind: 'ConfigMap' is not supported" },
		{ "{'kind':'Service','apiVersion':'v2','metadata':{'name':'a'},'spec':{}}",
		  "apiVersion: must be v1" },
		{ "{'kind':'Service','metadata':{},'spec':{}}", "metadata.name: missing" },
		{ "{'kind':'Service','metadata':{'name':'Web'},'spec':{}}", "metadata.name: 'Web' must" },
		{ "{'kind':'Service','metadata':{'name':'a','namespace':'a_b'},'spec':{}}",
		  "metadata.namespace: 'a_b'" },
		{ "{'kind':'Service','metadata':{'name':'a'}}", "spec: missing" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'type':'Foo'}}",
		  "spec.type: 'Foo' is not one of" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'clusterIP':'10.96.0.300'}}",
		  "spec.clusterIP: '10.96.0.300' is not an IP address" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':0}]}}",
		  "spec.ports[0].port: must be 1-65535" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':5e53}]}}",
		  "spec.ports[0].port: must be 1-65535" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':80.5}]}}",
		  "spec.ports[0].port: must be an integer" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':'80'}]}}",
		  "spec.ports[0].port: must be an integer" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':80,'protocol':'ICMP'}]}}",
		  "spec.ports[0].protocol: 'ICMP' is not TCP, UDP or SCTP" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':80,'targetPort':'Http_1'}]}}",
		  "spec.ports[0].targetPort: 'Http_1' is not a port number or a port name" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':80,'targetPort':70000}]}}",
		  "spec.ports[0].targetPort: must be 1-65535" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'name':'a','port':80},{'port':81}]}}",
		  "spec.ports[1].name: required when there are several ports" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'name':'a','port':80},{'name':'a','port':81}]}}",
		  "spec.ports[1].name: 'a' duplicates ports[0]" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'ports':[{'port':80,'nodePort':30000}]}}",
		  "spec.ports[0].nodePort: only for type NodePort or LoadBalancer" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'sessionAffinity':'ClientIP',"
		  "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':86401}}}}",
		  "spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be 1-86400" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'externalTrafficPolicy':'Nearest'}}",
		  "spec.externalTrafficPolicy: 'Nearest' is not one of Cluster, Local" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{'loadBalancerSourceRanges':['1.2.3.4']}}",
		  "spec.loadBalancerSourceRanges[0]: '1.2.3.4' is not a CIDR" },
		{ "{'kind':'Service','metadata':{'name':'a'},'spec':{},'status':{'loadBalancer':{'ingress':[{'ip':'x'}]}}}",
		  "status.loadBalancer.ingress[0].ip: 'x' is not an IP address" },
		{ "{'kind':'EndpointSlice','metadata':{'name':'s'},'endpoints':[]}", "addressType: missing" },
		{ "{'kind':'EndpointSlice','metadata':{'name':'s'},'addressType':'IPv4','endpoints':[{'addresses':[]}]}",
		  "endpoints[0].addresses: must have 1-100 entries" },
		{ "{'kind':'EndpointSlice','metadata':{'name':'s'},'addressType':'IPv4','endpoints':[{'addresses':['fd00::1']}]}",
		  "endpoints[0].addresses[0]: 'fd00::1' is not an IPv4 address" },
		{ "{'kind':'EndpointSlice','metadata':{'name':'s'},'addressType':'IPv4','endpoints':"
		  "[{'addresses':['10.0.0.1'],'conditions':{'ready':'yes'}}]}",
		  "endpoints[0].conditions.ready: must be true, false or null" },
		{ "{'kind':'EndpointSlice','metadata':{'name':'s'},'addressType':'IPv4','ports':[{'port':65536}]}",
		  "ports[0].port: must be 1-65535" },
		{ "{'kind':'EndpointSlice','metadata':{'name':'s','labels':{'kubernetes.io/service-name':5}},"
		  "'addressType':'IPv4'}",
		  "metadata.labels[\"kubernetes.io/service-name\"]: must be a string" },
		{ "{'kind':'List','items':[{'kind':'Service','metadata':{'name':'a'},'spec':{}},"
		  "{'kind':'Service','metadata':{'name':'b'},'spec':{}},{'kind':'Service','metadata':{'name':'c'},'spec':{}},"
		  "{'kind':'Service','metadata':{'name':'d'},'spec':{'ports':[{'port':99999}]}}]}",
		  "items[3].spec.ports[0].port: must be 1-65535" },
		{ "{'kind':'ServiceList','items':[{'metadata':{'name':'a'},'spec':{'ports':[{}]}}]}",
		  "items[0].spec.ports[0].port: missing" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sl_k8s_op *ops = (void *)1;
		unsigned n = 7;
		char err[400] = "";
		const char *t = J(cases[i].text);
		assert_int_equal(sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)), -EINVAL);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) && !strstr(err, cases[i].err))
			fail_msg("case %zu: error '%s', expected '%s'", i, err, cases[i].err);
		assert_null(ops);
		assert_int_equal(n, 0);
	}
	/* Limits: more endpoints in a slice than the API server allows. */
	static char big[80000];
	size_t l = (size_t)snprintf(big, sizeof(big), "{\"kind\":\"EndpointSlice\",\"metadata\":"
				    "{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[");
	for (int i = 0; i <= SL_SLICE_MAX_ENDPOINTS; i++)
		l += (size_t)snprintf(big + l, sizeof(big) - l, "%s{\"addresses\":[\"10.0.%d.%d\"]}",
				      i ? "," : "", i / 250, i % 250 + 1);
	snprintf(big + l, sizeof(big) - l, "]}");
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	assert_int_equal(sl_k8s_decode_text(big, strlen(big), &ops, &n, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "endpoints: more than 1000 entries");
}

/* One row of kube-proxy's selection: policies, endpoints, and the expected selections. */
struct sel_case {
	const char *name;
	const char *type, *extra; /* Service type and extra spec fields */
	const char *eps;          /* endpoints JSON */
	const char *internal;     /* backends for cluster-IP traffic */
	const char *external;     /* backends for node-port traffic */
	bool has_any;
};

#define R(ip, node) "{'addresses':['" ip "'],'nodeName':'" node "'}"
#define NR(ip, node) \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{'ready':false,'serving':false,'terminating':false}}"
#define ST(ip, node) \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{'ready':false,'serving':true,'terminating':true}}"
#define T(ip, node) \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{'ready':false,'serving':false,'terminating':true}}"

/* The ops as JSON (to compare two decodes). */
static char *ops_json(const struct sl_k8s_op *ops, unsigned n)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", ops[i].path);
		if (ops[i].svc)
			cJSON_AddItemToObject(o, "svc", sl_k8s_encode_service(ops[i].svc));
		if (ops[i].slice)
			cJSON_AddItemToObject(o, "slice", sl_k8s_encode_slice(ops[i].slice));
		cJSON_AddItemToArray(a, o);
	}
	char *t = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return t;
}

/* A List's items are decoded as the reader reads them (sl_k8s_stream, for sluicectl apply
 * and sl_k8s_decode_text); whatever the document, the result (ops or error) is what
 * sl_k8s_decode gives on the whole tree, when the stream cannot be used too. */
static void test_decode_streamed(void **state)
{
#define SVC(name, ip)                                                                       \
	"{'apiVersion':'v1','kind':'Service','metadata':{'name':'" name "','namespace':'n'},"  \
	"'spec':{'clusterIP':'" ip "','ports':[{'name':'http','port':80,'targetPort':8080}]}}"
#define SLICE(name, svc)                                                                    \
	"{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'" name \
	"','namespace':'n','labels':{'kubernetes.io/service-name':'" svc "'}},"                \
	"'addressType':'IPv4','endpoints':[{'addresses':['10.244.1.2'],'nodeName':'node1',"    \
	"'zone':'z1'},{'addresses':['10.244.2.2'],'conditions':{'ready':false}}],"             \
	"'ports':[{'name':'http','port':8080}]}"
	static const struct {
		const char *text;
		int rc;
		unsigned n;
		const char *err;
	} cases[] = {
		/* kubectl's order: the List's kind after its items */
		{ "{'apiVersion':'v1','items':[" SVC("a", "10.96.0.1") "," SLICE("a-1", "a") "," SVC("b", "10.96.0.2") "],'kind':'List','metadata':{}}", 0, 3, NULL },
		{ "{'kind':'List','items':[" SVC("a", "10.96.0.1") "]}", 0, 1, NULL },
		/* ServiceList: items without a kind, decoded from the tree */
		{ "{'kind':'ServiceList','items':[{'metadata':{'name':'a'},'spec':{'clusterIP':'10.96.0.1','ports':[{'port':80}]}}]}", 0, 1, NULL },
		/* a \u escape: cJSON reads the text, the stream is dropped */
		{ "{'kind':'List','items':[" SVC("a", "10.96.0.1") "," SVC("b\\u0063", "10.96.0.2") "]}", 0, 2, NULL },
		/* two items arrays: the first is the List's */
		{ "{'kind':'List','items':[" SVC("a", "10.96.0.1") "],'items':[" SVC("b", "10.96.0.2") "," SVC("c", "10.96.0.3") "]}", 0, 1, NULL },
		/* not a List: its items are not objects of the document */
		{ "{'kind':'ConfigMap','items':[" SVC("a", "10.96.0.1") "]}", -EINVAL, 0, "kind: 'ConfigMap'" },
		{ "{'items':[" SVC("a", "10.96.0.1") "]," "'kind':'Service','metadata':{'name':'x'},'spec':{}}", 0, 1, NULL },
		/* an item that fails: the tree's error */
		{ "{'kind':'List','items':[" SVC("a", "10.96.0.1") ",{'kind':'Service','metadata':{'name':'B'},'spec':{}}]}", -EINVAL, 0, "items[1].metadata.name: 'B' must" },
		{ "{'kind':'List','items':[" SVC("a", "10.96.0.1") ",{'metadata':{'name':'b'}}]}", -EINVAL, 0, "items[1].kind: missing" },
		/* invalid JSON after items that decoded */
		{ "{'kind':'List','items':[" SVC("a", "10.96.0.1") "],", -EINVAL, 0, "object: invalid JSON" },
		{ "{'kind':'List','items':[]}", 0, 0, NULL },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = J(cases[i].text);
		struct sl_k8s_op *o1 = NULL, *o2 = NULL;
		unsigned n1 = 0, n2 = 0;
		char e1[400] = "", e2[400] = "", req[16384];
		int rc1 = -EINVAL;
		cJSON *doc = cJSON_Parse(t);
		if (doc)
			rc1 = sl_k8s_decode(doc, &o1, &n1, e1, sizeof(e1));
		else
			snprintf(e1, sizeof(e1), "object: invalid JSON");
		int rc2 = sl_k8s_decode_text(t, strlen(t), &o2, &n2, e2, sizeof(e2));
		if (rc2 != cases[i].rc || strncmp(e2, cases[i].err ? cases[i].err : "", cases[i].err ? strlen(cases[i].err) : 1))
			fail_msg("case %u: rc %d (want %d), '%s'", i, rc2, cases[i].rc, e2);
		assert_int_equal(rc1, rc2);
		assert_string_equal(e1, e2);
		assert_int_equal(n2, cases[i].n);
		assert_int_equal(n1, n2);
		char *j1 = ops_json(o1, n1), *j2 = ops_json(o2, n2);
		assert_string_equal(j1, j2);
		/* Through the API's request reader too. */
		if (doc) {
			struct sl_request r;
			char e3[400] = "";
			snprintf(req, sizeof(req), "{\"cmd\":\"apply\",\"objects\":%s}", t);
			int rc3 = sl_request_parse(req, strlen(req), &r, e3, sizeof(e3));
			assert_int_equal(rc3, rc1);
			assert_string_equal(e3, e1);
			if (!rc3) {
				char *j3 = ops_json(r.ops, r.n_ops);
				assert_string_equal(j3, j1);
				free(j3);
				sl_request_free(&r);
			}
		}
		free(j1);
		free(j2);
		sl_k8s_ops_free(o1, n1);
		sl_k8s_ops_free(o2, n2);
		cJSON_Delete(doc);
	}
	/* The endpoints' strings live with the endpoints. */
	const char *t = J("{'kind':'List','items':[" SLICE("a-1", "a") "]}");
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	assert_int_equal(sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)), 0);
	assert_string_equal(ops[0].slice->eps[0].node_name, "node1");
	assert_string_equal(ops[0].slice->eps[0].zone, "z1");
	assert_null(ops[0].slice->eps[1].node_name);
	assert_int_equal(ops[0].slice->eps[1].cond, 0);
	sl_k8s_ops_free(ops, n);
#undef SVC
#undef SLICE
}

static void test_selection(void **state)
{
	static const struct sel_case cases[] = {
		{ "cluster: ready endpoints only", "ClusterIP", "",
		  "[" R("10.0.0.1", "node1") "," NR("10.0.0.2", "node2") "," R("10.0.0.3", "node2") "]",
		  "10.0.0.1:80 10.0.0.3:80", "", true },
		{ "cluster: none ready -> serving+terminating", "ClusterIP", "",
		  "[" NR("10.0.0.1", "node1") "," ST("10.0.0.2", "node2") "," T("10.0.0.3", "node2") "]",
		  "10.0.0.2:80", "", true },
		{ "cluster: some ready -> terminating ones unused", "ClusterIP", "",
		  "[" R("10.0.0.1", "node2") "," ST("10.0.0.2", "node1") "]", "10.0.0.1:80", "", true },
		{ "cluster: nothing usable", "ClusterIP", "",
		  "[" NR("10.0.0.1", "node1") "," T("10.0.0.2", "node2") "]", "", "", false },
		{ "cluster: no endpoints", "ClusterIP", "", "[]", "", "", false },
		{ "iTP Local: all remote -> none (no fallback to remote)", "ClusterIP",
		  "'internalTrafficPolicy':'Local'",
		  "[" R("10.0.0.1", "node2") "," R("10.0.0.2", "node3") "]", "", "", true },
		{ "iTP Local: local ready only", "ClusterIP", "'internalTrafficPolicy':'Local'",
		  "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "," R("10.0.0.3", "node1") "]",
		  "10.0.0.1:80 10.0.0.3:80", "", true },
		{ "iTP Local: no local ready -> local serving+terminating", "ClusterIP",
		  "'internalTrafficPolicy':'Local'",
		  "[" ST("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "," T("10.0.0.3", "node1") "]",
		  "10.0.0.1:80", "", true },
		{ "eTP Local ignored without external frontends", "ClusterIP",
		  "'externalTrafficPolicy':'Local'",
		  "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]", "10.0.0.1:80 10.0.0.2:80",
		  "", true },
		{ "NodePort eTP Cluster: both use cluster endpoints", "NodePort", "",
		  "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]", "10.0.0.1:80 10.0.0.2:80",
		  "10.0.0.1:80 10.0.0.2:80", true },
		{ "NodePort eTP Local: external local only, internal all", "NodePort",
		  "'externalTrafficPolicy':'Local'",
		  "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]", "10.0.0.1:80 10.0.0.2:80",
		  "10.0.0.1:80", true },
		{ "NodePort eTP Local: no local endpoint -> external none, has_any", "NodePort",
		  "'externalTrafficPolicy':'Local'", "[" R("10.0.0.2", "node2") "]", "10.0.0.2:80", "",
		  true },
		{ "NodePort eTP Local: local terminating fallback, cluster uses remote ready",
		  "NodePort", "'externalTrafficPolicy':'Local'",
		  "[" ST("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]", "10.0.0.2:80",
		  "10.0.0.1:80", true },
		{ "iTP Local + eTP Cluster", "NodePort", "'internalTrafficPolicy':'Local'",
		  "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]", "10.0.0.1:80",
		  "10.0.0.1:80 10.0.0.2:80", true },
		{ "both Local, only terminating anywhere", "LoadBalancer",
		  "'internalTrafficPolicy':'Local','externalTrafficPolicy':'Local'",
		  "[" ST("10.0.0.1", "node2") "," ST("10.0.0.3", "node1") "]", "10.0.0.3:80",
		  "10.0.0.3:80", true },
		{ "no nodeName: never local", "NodePort", "'externalTrafficPolicy':'Local'",
		  "[{'addresses':['10.0.0.1']}]", "10.0.0.1:80", "", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sel_case *c = &cases[i];
		struct sl_model *m = new_model(NULL);
		bool np = strcmp(c->type, "ClusterIP") != 0;
		const char *ports = np ? "[{'port':80,'nodePort':30080}]" : "[{'port':80}]";
		APPLY_OK(m, list(svc("s", c->type, "10.96.0.1", ports, c->extra),
				 slice("s-1", "s", J(c->eps), J("[{'port':80}]")), NULL));
		const char *got = selected(m, "s", 0, SL_BE_INTERNAL);
		if (strcmp(got, c->internal))
			fail_msg("%s: internal '%s', expected '%s'", c->name, got, c->internal);
		got = selected(m, "s", 0, SL_BE_EXTERNAL);
		if (strcmp(got, c->external))
			fail_msg("%s: external '%s', expected '%s'", c->name, got, c->external);
		struct sl_svc_view *v;
		assert_int_equal(sl_svc_view_build(m, sl_model_svc_find(m, "default", "s"), &v), 0);
		if (v->ports[0].has_any != c->has_any)
			fail_msg("%s: has_any %d", c->name, v->ports[0].has_any);
		sl_svc_view_free(v);
		sl_model_destroy(m);
	}
}

/* kube-proxy's cluster endpoints (SL_BE_CLUSTER): used for short-circuited external traffic
 * under externalTrafficPolicy Local; not computed for an internal-only iTP Local port; and
 * "externally accessible" is per port (its own node port). */
static void test_cluster_set(void **state)
{
	struct sl_model *m = new_model(NULL);
	APPLY_OK(m, list(svc("np", "NodePort", "10.96.0.1", "[{'port':80,'nodePort':30080}]",
			     "'externalTrafficPolicy':'Local','internalTrafficPolicy':'Local'"),
			 slice("np-1", "np", "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]",
			       "[{'port':80}]"), NULL));
	assert_string_equal(selected(m, "np", 0, SL_BE_CLUSTER), "10.0.0.1:80 10.0.0.2:80");
	assert_string_equal(selected(m, "np", 0, SL_BE_EXTERNAL), "10.0.0.1:80");
	assert_string_equal(selected(m, "np", 0, SL_BE_INTERNAL), "10.0.0.1:80");
	APPLY_OK(m, list(svc("ci", "ClusterIP", "10.96.0.2", "[{'port':80}]",
			     "'internalTrafficPolicy':'Local'"),
			 slice("ci-1", "ci", "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]",
			       "[{'port':80}]"), NULL));
	assert_string_equal(selected(m, "ci", 0, SL_BE_CLUSTER), "");
	/* Two ports, only the first with a node port: the second is internal only. */
	APPLY_OK(m, list(svc("two", "NodePort", "10.96.0.3",
			     "[{'name':'a','port':80,'nodePort':30081},{'name':'b','port':81}]",
			     "'externalTrafficPolicy':'Local'"),
			 slice("two-1", "two", "[" R("10.0.0.1", "node1") "," R("10.0.0.2", "node2") "]",
			       "[{'name':'a','port':80},{'name':'b','port':81}]"), NULL));
	assert_string_equal(selected(m, "two", 0, SL_BE_EXTERNAL), "10.0.0.1:80");
	assert_string_equal(selected(m, "two", 1, SL_BE_EXTERNAL), "");
	assert_string_equal(selected(m, "two", 1, SL_BE_INTERNAL), "10.0.0.1:81 10.0.0.2:81");
	sl_model_destroy(m);
}

/* Slices merged per (port name, protocol); duplicates removed, the non-terminating copy
 * kept; a named targetPort resolved per slice; IPv6 slices and port null give nothing. */
static void test_merge(void **state)
{
	struct sl_model *m = new_model(NULL);
	APPLY_OK(m, list(svc("web", "ClusterIP", "10.96.0.10",
			     "[{'name':'http','port':80,'targetPort':'http'},"
			     "{'name':'dns','protocol':'UDP','port':53,'targetPort':53}]", ""),
			 slice("web-a", "web",
			       "[" R("10.0.0.1", "node1") "," ST("10.0.0.2", "node2") "]",
			       "[{'name':'http','port':8080},{'name':'dns','protocol':'UDP','port':53}]"),
			 slice("web-b", "web",
			       "[" R("10.0.0.2", "node2") "," R("10.0.0.3", "node2") "]",
			       "[{'name':'http','port':9090},{'name':'dns','protocol':'TCP','port':53}]")));
	/* The same address on another port (9090 vs 8080) is another backend. */
	assert_string_equal(selected(m, "web", 0, SL_BE_INTERNAL),
			    "10.0.0.1:8080 10.0.0.2:9090 10.0.0.3:9090");
	assert_string_equal(selected(m, "web", 0, 0xff), "10.0.0.1:8080 10.0.0.2:8080 "
							 "10.0.0.2:9090 10.0.0.3:9090");
	/* UDP dns: only web-a's port matches the protocol. */
	assert_string_equal(selected(m, "web", 1, SL_BE_INTERNAL), "10.0.0.1:53");
	/* A third slice repeats 10.0.0.2:8080, ready: the ready copy wins over the terminating. */
	APPLY_OK(m, slice("web-c", "web", "[" R("10.0.0.2", "node2") "]",
			  "[{'name':'http','port':8080}]"));
	assert_string_equal(selected(m, "web", 0, 0xff), "10.0.0.1:8080 10.0.0.2:8080 "
							 "10.0.0.2:9090 10.0.0.3:9090");
	assert_string_equal(selected(m, "web", 0, SL_BE_INTERNAL),
			    "10.0.0.1:8080 10.0.0.2:8080 10.0.0.2:9090 10.0.0.3:9090");
	/* An IPv6 slice and a slice with port null add nothing. */
	APPLY_OK(m, J("{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1','metadata':{'name':"
		      "'web-6','labels':{'kubernetes.io/service-name':'web'}},'addressType':'IPv6',"
		      "'endpoints':[{'addresses':['fd00::1']}],'ports':[{'name':'http','port':80}]}"));
	APPLY_OK(m, slice("web-n", "web", "[" R("10.0.0.9", "node1") "]",
			  "[{'name':'http','port':null}]"));
	assert_string_equal(selected(m, "web", 0, 0xff), "10.0.0.1:8080 10.0.0.2:8080 "
							 "10.0.0.2:9090 10.0.0.3:9090");
	/* A slice moved to another Service leaves this one. */
	APPLY_OK(m, slice("web-a", "other", "[" R("10.0.0.1", "node1") "]",
			  "[{'name':'http','port':8080}]"));
	assert_string_equal(selected(m, "web", 0, 0xff), "10.0.0.2:8080 10.0.0.2:9090 10.0.0.3:9090");
	/* show services / backends. */
	cJSON *t = sl_show_services(m);
	char *s = cJSON_PrintUnformatted(t);
	assert_non_null(strstr(s, "\"ports\":\"80/TCP->http,53/UDP->53\",\"backends\":\"3/3\""));
	free(s);
	cJSON_Delete(t);
	t = sl_show_backends(m);
	assert_int_equal(cJSON_GetArraySize(t), 3 + 0);
	cJSON_Delete(t);
	sl_model_destroy(m);
}

/* The hooks' own copy of the state: per Service id, a signature of its last view. */
#define MAXS 64
static struct {
	bool present[MAXS];
	char sig[MAXS][512];
	int fail_in;       /* fail the n-th svc_changed from now (0: never) */
	unsigned changed, deleted;
} rec;

static void view_sig(const struct sl_svc_view *v, char *out, size_t n)
{
	size_t l = (size_t)snprintf(out, n, "%s/%s:", v->spec->namespace, v->spec->name);
	for (unsigned p = 0; p < v->n_ports; p++)
		for (unsigned i = 0; i < v->ports[p].n_be && l < n; i++) {
			char ip[SL_IP_STR_MAX];
			l += (size_t)snprintf(out + l, n - l, " %u>%s:%u/%x", v->ports[p].port->port,
					      sl_ip_fmt(v->ports[p].be[i].ip, ip), v->ports[p].be[i].port,
					      v->ports[p].be[i].flags);
		}
}

static int rec_changed(void *ctx, const struct sl_svc_view *v, char *err, size_t n)
{
	if (rec.fail_in && --rec.fail_in == 0)
		return snprintf(err, n, "frontend: table full"), -ENOSPC;
	assert_true(v->svc->id < MAXS);
	rec.present[v->svc->id] = true;
	view_sig(v, rec.sig[v->svc->id], sizeof(rec.sig[0]));
	rec.changed++;
	return 0;
}

static void rec_deleted(void *ctx, struct sl_model_svc *s)
{
	assert_true(rec.present[s->id]);
	rec.present[s->id] = false;
	rec.deleted++;
}

/* The hooks' copy equals the model: every proxied Service with its current view. */
static void check_rec(struct sl_model *m)
{
	bool seen[MAXS] = { 0 };
	struct sl_model_svc *s;
	for (uint32_t id = 0; (s = sl_model_svc_next(m, &id));) {
		seen[s->id] = true;
		if (!sl_svc_proxied(s->spec)) {
			assert_false(rec.present[s->id]);
			continue;
		}
		struct sl_svc_view *v;
		char sig[512];
		assert_int_equal(sl_svc_view_build(m, s, &v), 0);
		view_sig(v, sig, sizeof(sig));
		sl_svc_view_free(v);
		assert_true(rec.present[s->id]);
		assert_string_equal(rec.sig[s->id], sig);
	}
	for (int i = 0; i < MAXS; i++)
		if (!seen[i])
			assert_false(rec.present[i]);
	/* No two proxied Services share a cluster IP:port/protocol or a node port. */
	struct sl_model_svc *a, *b;
	for (uint32_t i = 0; (a = sl_model_svc_next(m, &i));)
		for (uint32_t j = i; (b = sl_model_svc_next(m, &j));) {
			if (!sl_svc_proxied(a->spec) || !sl_svc_proxied(b->spec))
				continue;
			for (unsigned p = 0; p < a->spec->n_ports; p++)
				for (unsigned q = 0; q < b->spec->n_ports; q++) {
					const struct sl_svc_port *x = &a->spec->ports[p], *y = &b->spec->ports[q];
					if (x->protocol != y->protocol)
						continue;
					assert_false(x->node_port && x->node_port == y->node_port);
					assert_false(x->port == y->port && a->spec->n_cluster_ips &&
						     b->spec->n_cluster_ips &&
						     a->spec->cluster_ips[0].v4 == b->spec->cluster_ips[0].v4);
				}
		}
}

static struct sl_model *hooked_model(const struct sl_model_limits *l)
{
	memset(&rec, 0, sizeof(rec));
	struct sl_model *m = new_model(l);
	struct sl_model_hooks h = { .svc_changed = rec_changed, .svc_deleted = rec_deleted };
	sl_model_set_hooks(m, &h);
	return m;
}

static void test_batches(void **state)
{
	struct sl_model *m = hooked_model(&(struct sl_model_limits){ 10, 10, 10, 3, 4 });
	char a[4096], b[4096]; /* svc() returns rotating buffers */
	snprintf(a, sizeof(a), "%s", svc("a", "ClusterIP", "10.96.0.1", "[{'port':80}]", ""));
	snprintf(b, sizeof(b), "%s", svc("b", "ClusterIP", "10.96.0.2", "[{'port':80}]", ""));
	/* One batch: one hook call per Service, however many of its slices came along. */
	APPLY_OK(m, list(a, slice("a-1", "a", "[" R("10.0.0.1", "node1") "]", "[{'port':80}]"),
			 slice("a-2", "a", "[" R("10.0.0.2", "node1") "]", "[{'port':80}]")));
	assert_int_equal(rec.changed, 1);
	check_rec(m);
	/* A hook failing on the 2nd Service: the whole batch undone, the 1st told again. */
	rec.fail_in = 2;
	APPLY_ERR(m, list(svc("a", "ClusterIP", "10.96.0.1", "[{'port':81}]", ""), b, NULL),
		  -ENOSPC, "service default/b.frontend: table full");
	assert_null(sl_model_svc_find(m, "default", "b"));
	assert_int_equal(sl_model_svc_find(m, "default", "a")->spec->ports[0].port, 80);
	check_rec(m);
	/* Limits: 3 Services; a batch creating 3 more fails at the 2nd, nothing stays. */
	APPLY_OK(m, b);
	unsigned before = rec.changed;
	APPLY_ERR(m, list(svc("c", "ClusterIP", "10.96.0.3", "[{'port':80}]", ""),
			  svc("d", "ClusterIP", "10.96.0.4", "[{'port':80}]", ""),
			  svc("e", "ClusterIP", "10.96.0.5", "[{'port':80}]", "")),
		  -ENOSPC, "items[1]: service limit reached (3)");
	assert_null(sl_model_svc_find(m, "default", "c"));
	assert_int_equal(rec.changed, before); /* refused before any hook */
	check_rec(m);
	/* Slices: 4 at most. */
	APPLY_ERR(m, list(slice("b-1", "b", "[]", "[]"), slice("b-2", "b", "[]", "[]"),
			  slice("b-3", "b", "[]", "[]")),
		  -ENOSPC, "items[2]: endpointslice limit reached (4)");
	assert_null(sl_model_slice_find(m, "default", "b-1"));
	/* Delete of an unknown object. */
	char err[400];
	assert_int_equal(sl_model_svc_del(m, "default", "zz", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "service default/zz not found");
	assert_int_equal(sl_model_slice_del(m, "default", "zz", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "endpointslice default/zz not found");
	/* A slice delete re-resolves its Service. */
	assert_int_equal(sl_model_slice_del(m, "default", "a-2", err, sizeof(err)), 0);
	assert_string_equal(selected(m, "a", 0, SL_BE_INTERNAL), "10.0.0.1:80");
	check_rec(m);
	/* Headless, another proxy's, ExternalName: kept, never handed to the hooks. */
	APPLY_OK(m, J("{'kind':'Service','metadata':{'name':'a','labels':{"
		      "'service.kubernetes.io/service-proxy-name':'other'}},'spec':{'ports':[{'port':80}]}}"));
	assert_false(rec.present[sl_model_svc_find(m, "default", "a")->id]);
	assert_int_equal(rec.deleted, 1);
	check_rec(m);
	APPLY_OK(m, J("{'kind':'Service','metadata':{'name':'a'},'spec':{'clusterIP':'None'}}"));
	check_rec(m);
	APPLY_OK(m, a); /* proxied again */
	assert_true(rec.present[sl_model_svc_find(m, "default", "a")->id]);
	check_rec(m);
	/* Delete and re-create in one batch. */
	struct sl_k8s_op ops[2] = { { .kind = SL_K8S_SERVICE, .del = true, .namespace = "default",
				      .name = "a" } };
	struct sl_k8s_op *dec;
	unsigned n;
	assert_int_equal(sl_k8s_decode_text(a, strlen(a), &dec, &n, err, sizeof(err)), 0);
	ops[1] = dec[0];
	dec[0].svc = NULL;
	sl_k8s_ops_free(dec, n);
	assert_int_equal(sl_model_k8s_apply(m, ops, 2, err, sizeof(err)), 0);
	assert_null(ops[1].svc);
	check_rec(m);
	/* A slice before its Service, a Service created then deleted, then a hook failing:
	 * all undone (under ASan: nothing freed twice or used after). */
	assert_int_equal(sl_model_svc_del(m, "default", "b", err, sizeof(err)), 0);
	struct sl_k8s_op *o2;
	unsigned n2;
	const char *l2 = list(slice("x-1", "x", "[" R("10.0.0.7", "node1") "]", "[{'port':80}]"),
			      svc("x", "ClusterIP", "10.96.0.7", "[{'port':80}]", ""),
			      svc("y", "ClusterIP", "10.96.0.8", "[{'port':80}]", ""));
	assert_int_equal(sl_k8s_decode_text(l2, strlen(l2), &o2, &n2, err, sizeof(err)), 0);
	struct sl_k8s_op batch[5] = { o2[0], o2[1],
				      { .kind = SL_K8S_SERVICE, .del = true, .namespace = "default",
					.name = "x", .path = "del-x" },
				      o2[2],
				      { .kind = SL_K8S_SERVICE, .del = true, .namespace = "default",
					.name = "a", .path = "del-a" } };
	free(o2);
	unsigned calls = rec.changed, dels = rec.deleted;
	rec.fail_in = 1; /* y, the only Service told before a's deletion... fails */
	assert_int_equal(sl_model_k8s_apply(m, batch, 5, err, sizeof(err)), -ENOSPC);
	assert_null(sl_model_svc_find(m, "default", "x"));
	assert_null(sl_model_svc_find(m, "default", "y"));
	assert_non_null(sl_model_svc_find(m, "default", "a"));
	assert_null(sl_model_slice_find(m, "default", "x-1"));
	check_rec(m);
	/* a was told deleted first, then restored. */
	assert_int_equal(rec.deleted, dels + 1);
	assert_int_equal(rec.changed, calls + 1);
	rec.fail_in = 0;
	assert_int_equal(sl_model_k8s_apply(m, batch, 5, err, sizeof(err)), 0);
	assert_null(sl_model_svc_find(m, "default", "x"));
	assert_non_null(sl_model_svc_find(m, "default", "y"));
	assert_non_null(sl_model_slice_find(m, "default", "x-1")); /* orphan, as in Kubernetes */
	check_rec(m);
	for (int i = 0; i < 5; i++)
		assert_true(batch[i].svc == NULL && batch[i].slice == NULL);
	/* Frontends: one Service per cluster IP:port/protocol and per node port; a batch may
	 * move one from a Service to another. */
	APPLY_ERR(m, list(svc("z", "ClusterIP", "10.96.0.8", "[{'port':80}]", ""), NULL, NULL),
		  -EEXIST, "items[0].spec.ports[0]: 10.96.0.8:80/TCP is already a frontend of "
			   "service default/y");
	APPLY_OK(m, list(svc("z", "ClusterIP", "10.96.0.8", "[{'port':81}]", ""), NULL, NULL));
	APPLY_OK(m, list(svc("y", "ClusterIP", "10.96.0.9", "[{'port':80}]", ""),
			 svc("z", "ClusterIP", "10.96.0.8", "[{'port':80}]", ""), NULL));
	check_rec(m);
	assert_int_equal(sl_model_svc_del(m, "default", "z", err, sizeof(err)), 0);
	APPLY_OK(m, list(svc("n1", "NodePort", "10.96.0.20", "[{'port':80,'nodePort':30080}]", ""),
			 NULL, NULL));
	APPLY_ERR(m, svc("n2", "NodePort", "10.96.0.21", "[{'port':8080,'nodePort':30080}]", ""),
		  -EEXIST, "spec.ports[0].nodePort: node port 30080/TCP is already used by service "
			   "default/n1");
	APPLY_OK(m, svc("n2", "NodePort", "10.96.0.21",
			"[{'port':8080,'protocol':'UDP','nodePort':30080}]", ""));
	check_rec(m);
	assert_int_equal(sl_model_svc_del(m, "default", "n1", err, sizeof(err)), 0);
	assert_int_equal(sl_model_svc_del(m, "default", "n2", err, sizeof(err)), 0);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(c.services, 1); /* y: a and b deleted */
	assert_int_equal(c.slices, 2);  /* a-1, x-1 */
	sl_model_destroy(m);
}

/* Random applies and deletes of Services and slices, with hooks failing at random: after
 * every batch the hooks' copy equals the model (run under ASan: no leak, no stale ring). */
static void test_churn(void **state)
{
	struct sl_model *m = hooked_model(&(struct sl_model_limits){ 10, 10, 10, 12, 40 });
	srand(7);
	unsigned clashes = 0;
	char text[16384], eps[4096];
	for (int round = 0; round < 3000; round++) {
		int k = rand() % 16, what = rand() % 10;
		char name[32], sname[32], err[400];
		snprintf(name, sizeof(name), "s%d", k);
		snprintf(sname, sizeof(sname), "s%d-%d", k, rand() % 4);
		rec.fail_in = rand() % 10 == 0 ? 1 + rand() % 2 : 0;
		if (what < 3) {
			const char *types[] = { "ClusterIP", "NodePort" };
			const char *ex[] = { "", "'externalTrafficPolicy':'Local'",
					     "'internalTrafficPolicy':'Local'", "'clusterIP':'None'" };
			char cip[32];
			snprintf(cip, sizeof(cip), "10.96.1.%d", k % 10); /* some clash */
			snprintf(text, sizeof(text), "%s",
				 svc(name, types[rand() % 2], cip,
				     rand() % 2 ? "[{'name':'a','port':80,'nodePort':30001},"
						  "{'name':'b','protocol':'UDP','port':53}]"
						: "[{'name':'a','port':80}]",
				     ex[rand() % 4]));
			if (strstr(text, "'clusterIP':'None'") || strstr(text, "\"clusterIP\":\"None\""))
				continue;
			/* NodePort only with the NodePort type. */
			if (strstr(text, "ClusterIP\"") && strstr(text, "nodePort"))
				continue;
			int rc = apply(m, text, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOSPC || rc == -EEXIST);
			clashes += rc == -EEXIST;
		} else if (what < 7) {
			size_t l = 0;
			int ne = rand() % 5;
			l += (size_t)snprintf(eps + l, sizeof(eps) - l, "[");
			for (int e = 0; e < ne; e++)
				l += (size_t)snprintf(eps + l, sizeof(eps) - l,
						      "%s{'addresses':['10.0.0.%d'],'nodeName':'node%d',"
						      "'conditions':{'ready':%s,'serving':%s,"
						      "'terminating':%s}}",
						      e ? "," : "", rand() % 6 + 1, rand() % 2 + 1,
						      rand() % 2 ? "true" : "false",
						      rand() % 2 ? "true" : "false",
						      rand() % 2 ? "true" : "false");
			snprintf(eps + l, sizeof(eps) - l, "]");
			snprintf(text, sizeof(text), "%s",
				 slice(sname, rand() % 8 ? name : "s0", J(eps),
				       J(rand() % 2 ? "[{'name':'a','port':8080},{'name':'b','protocol':'UDP','port':53}]"
						    : "[{'name':'a','port':8081}]")));
			int rc = apply(m, text, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOSPC);
		} else if (what < 9) {
			int rc = sl_model_slice_del(m, "default", sname, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOENT || rc == -ENOSPC);
		} else {
			int rc = sl_model_svc_del(m, "default", name, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOENT);
		}
		check_rec(m);
	}
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	print_message("churn: %u hook calls, %u deletes, %u frontend clashes refused; %u "
		      "Services, %u slices at the end\n", rec.changed, rec.deleted, clashes,
		      c.services, c.slices);
	assert_true(rec.changed > 500 && c.services > 3 && c.slices > 3 && clashes > 10);
	sl_model_destroy(m);
	for (int i = 0; i < MAXS; i++)
		assert_false(rec.present[i]); /* destroy told the hooks */
}

/* The config's services/endpointslices arrays and the API's apply request. */
static void test_sources(void **state)
{
	char text[40000], err[400];
	snprintf(text, sizeof(text), "%s",
		 J("{'node':{'name':'node1','ip':'198.18.0.1','pod_cidr':'10.244.1.0/24'},"
		   "'uplink':{'devargs':'net_null0'},"
		   "'services':[{'metadata':{'name':'web'},'spec':{'clusterIP':'10.96.0.10',"
		   "'ports':[{'port':80}]}}],"
		   "'endpointslices':[{'metadata':{'name':'web-1','labels':{'kubernetes.io/"
		   "service-name':'web'}},'addressType':'IPv4','endpoints':[{'addresses':"
		   "['10.244.1.5'],'nodeName':'node1'}],'ports':[{'port':8080}]}]}"));
	struct sl_config c;
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	struct sl_model_self self;
	sl_config_self(&c, &self);
	assert_string_equal(self.node_name, "node1");
	struct sl_model *m = sl_model_create(&self, NULL);
	assert_int_equal(sl_config_load_objects(&c, m, err, sizeof(err)), 0);
	assert_string_equal(selected(m, "web", 0, SL_BE_INTERNAL), "10.244.1.5:8080");
	struct sl_svc_view *v;
	assert_int_equal(sl_svc_view_build(m, sl_model_svc_find(m, "default", "web"), &v), 0);
	assert_true(v->ports[0].be[0].flags & SL_BE_LOCAL);
	sl_svc_view_free(v);
	sl_model_destroy(m);
	sl_config_free(&c);
	/* A bad entry: refused by --check with its path. */
	char *bad = strstr(text, "\"port\":8080");
	memcpy(bad, "\"port\":-808", 11);
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "endpointslices[0].ports[0].port: must be 1-65535");

	/* The API request. */
	struct sl_request r;
	snprintf(text, sizeof(text), "{\"cmd\":\"apply\",\"objects\":%s}",
		 list(svc("a", "ClusterIP", "10.96.0.1", "[{'port':80}]", ""), NULL, NULL));
	assert_int_equal(sl_request_parse(text, strlen(text), &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, SL_CMD_APPLY);
	assert_int_equal(r.n_ops, 1);
	sl_request_free(&r);
	snprintf(text, sizeof(text), "{\"cmd\":\"apply\",\"objects\":%s}",
		 list(svc("a", "ClusterIP", "10.96.0.1", "[{'port':80}]", ""),
		      svc("b", "ClusterIP", "10.96.0.1", "[{'port':0}]", ""), NULL));
	assert_int_equal(sl_request_parse(text, strlen(text), &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "items[1].spec.ports[0].port: must be 1-65535");
	const char *del = "{\"cmd\":\"endpointslice.del\",\"namespace\":\"kube-system\",\"name\":\"x\"}";
	assert_int_equal(sl_request_parse(del, strlen(del), &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, SL_CMD_SLICE_DEL);
	assert_string_equal(r.namespace, "kube-system");
	sl_request_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_kubectl),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_streamed),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_cluster_set),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
