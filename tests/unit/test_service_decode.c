/* Services and EndpointSlices without EAL: the Kubernetes decoder (kubectl's output, errors
 * naming fields, unknown fields ignored, Lists decoded as they are read), and the config's
 * and the API's objects. Helpers: service_test.h. */
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
#include "service_test.h"

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
		cmocka_unit_test(test_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
