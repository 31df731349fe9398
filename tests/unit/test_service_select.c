/* Services' endpoint selection without EAL: kube-proxy's cases against a table
 * (pkg/proxy/topology_test.go TestCategorizeEndpoints, endpointslicecache_test.go), the
 * cluster endpoints, and slices merged per port. Helpers: service_test.h. */
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

/* One row of kube-proxy's selection: policies, endpoints, and the expected selections. */
struct sel_case {
	const char *name;
	const char *type, *extra; /* Service type and extra spec fields */
	const char *eps;          /* endpoints JSON */
	const char *internal;     /* backends for cluster-IP traffic */
	const char *external;     /* backends for node-port traffic */
	bool has_any;
};

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_cluster_set),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
