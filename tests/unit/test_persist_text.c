/* The state file's text is what cJSON printed of the trees it was made from before (it is
 * made one object at a time now, by sl_json_print): the snapshot and a journal line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "control/sources/sl_persist.h"
#include "th_persist.h"

/* The whole of a file (malloc'd, NUL-terminated). */
static char *slurp_all(const char *path)
{
	char *t = NULL;
	size_t len;
	assert_int_equal(sl_persist_read(path, &t, &len, SL_PERSIST_MAX_BYTES), 0);
	return t;
}

/* cJSON_PrintUnformatted of o appended to t (realloc'd). */
static char *cat_printed(char *t, const cJSON *o)
{
	char *p = cJSON_PrintUnformatted(o);
	assert_non_null(p);
	size_t l = t ? strlen(t) : 0;
	t = realloc(t, l + strlen(p) + 1);
	memcpy(t + l, p, strlen(p) + 1);
	free(p);
	return t;
}

static char *cat(char *t, const char *s)
{
	cJSON raw = { .type = cJSON_Raw, .valuestring = (char *)s };
	return cat_printed(t, &raw);
}

/* The item of list whose metadata (or itself) has that name (and namespace). */
static const cJSON *item(const cJSON *doc, const char *list, const char *ns, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, list)) {
		const cJSON *md = cJSON_GetObjectItem(e, "metadata") ?: e;
		const cJSON *n = cJSON_GetObjectItem(md, "name"), *x = cJSON_GetObjectItem(md, "namespace");
		if (!strcmp(n->valuestring, name) && (!ns || (x && !strcmp(x->valuestring, ns))))
			return e;
	}
	fail_msg("%s %s/%s not exported", list, ns ? ns : "", name);
	return NULL;
}

/* Services and slices with most fields set, pods with host ports, a node, a route, and the
 * NetworkPolicy kinds, for test_text_as_cjson. */
static const char *const rich_objects[] = {
	"{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p1\",\"ip\":\"10.244.1.2\",\"mac\":"
	"\"02:00:00:00:00:02\",\"ifname\":\"veth-p1\",\"host_ports\":[{\"host_port\":8080,"
	"\"container_port\":80,\"protocol\":\"TCP\"},{\"host_port\":5353,\"container_port\":53,"
	"\"protocol\":\"UDP\",\"host_ip\":\"198.18.0.1\"}]}}",
	"{\"cmd\":\"route.add\",\"route\":{\"prefix\":\"203.0.113.0/24\",\"via\":\"198.18.0.2\"}}",
	"{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\",\"items\":["
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"lb\",\"namespace\":\"ns\"},\"spec\":{"
	"\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.1.1\",\"clusterIPs\":[\"10.96.1.1\"],"
	"\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"web\",\"nodePort\":30080,"
	"\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":53,\"targetPort\":5353,\"nodePort\":"
	"30053,\"protocol\":\"UDP\"}],\"externalIPs\":[\"192.0.2.10\"],\"sessionAffinity\":"
	"\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":300}},"
	"\"externalTrafficPolicy\":\"Local\",\"internalTrafficPolicy\":\"Local\","
	"\"healthCheckNodePort\":31000,\"loadBalancerSourceRanges\":[\"192.0.2.0/24\"]},"
	"\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.100\"}]}}},"
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"lb-1\",\"namespace\":\"ns\","
	"\"labels\":{\"kubernetes.io/service-name\":\"lb\"}},\"addressType\":\"IPv4\","
	"\"endpoints\":[{\"addresses\":[\"10.244.1.2\"],\"nodeName\":\"n1\",\"zone\":\"z\"},"
	"{\"addresses\":[\"10.244.2.2\"],\"conditions\":{\"ready\":false,\"serving\":true,"
	"\"terminating\":true}}],\"ports\":[{\"name\":\"web\",\"port\":8080,\"protocol\":"
	"\"TCP\"},{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"}]},"
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"old\",\"namespace\":\"ns\"},"
	"\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}},"
	"{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"ns\":\"x\"}}},"
	"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"x\","
	"\"labels\":{\"pod\":\"a\"}},\"status\":{\"podIP\":\"10.244.1.2\"}},"
	"{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
	"\"metadata\":{\"name\":\"deny\",\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
	"\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\"}}],\"ports\":"
	"[{\"port\":80,\"protocol\":\"TCP\"}]}]}}]}}",
	NULL,
};

/* The state file's text is what cJSON printed of the trees it was made from before (one
 * object at a time now, by sl_json_print): the snapshot is cJSON_PrintUnformatted of
 * sl_persist_export with "journal"; a journal line of a round that put and removed objects
 * of several kinds is the record's tree printed (lists of "put" in the order of their
 * kind's first object there, of "del" of their kind's first object gone). */
static void test_text_as_cjson(void **s)
{
	char path[128], jpath[160], err[256] = "";
	snprintf(path, sizeof(path), "%s/t.json", th_dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = th_new_model();
	for (unsigned i = 0; rich_objects[i]; i++)
		th_req(m, path, rich_objects[i]);
	th_apply_svcs(m, path, 0, 30, 3);
	sl_model_destroy(m);
	/* A restarted process: its first save is a snapshot of everything. */
	m = th_new_model();
	assert_true(sl_persist_load(path, m, err, sizeof(err)) > 0);
	th_req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-9\"}");
	char *snap = slurp_all(path);
	cJSON *doc = cJSON_Parse(snap), *want = sl_persist_export(m);
	assert_non_null(doc);
	cJSON_AddStringToObject(want, "journal", cJSON_GetObjectItem(doc, "journal")->valuestring);
	char *w = cat_printed(NULL, want);
	assert_string_equal(snap, w);
	assert_non_null(strstr(snap, "\"lb-1\"")); /* (it holds the rich objects) */
	char gen[24];
	snprintf(gen, sizeof(gen), "%s", cJSON_GetObjectItem(doc, "journal")->valuestring);
	free(w);
	free(snap);
	cJSON_Delete(doc);
	cJSON_Delete(want);

	/* One round: objects put and gone, kinds interleaved. */
	th_req_noted(m, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"old\"}");
	th_req_noted(m, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\",\"items\":["
		     "{\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-3\",\"namespace\":\"ns\"},"
		     "\"spec\":{\"clusterIP\":\"10.96.0.200\",\"ports\":[{\"port\":81}]}},"
		     "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"y\"}},"
		     "{\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-6\",\"namespace\":\"ns\"},"
		     "\"spec\":{\"clusterIP\":\"10.96.0.201\",\"ports\":[{\"port\":82}]}}]}}");
	th_req_noted(m, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-7\"}");
	th_req_noted(m, "{\"cmd\":\"pod.del\",\"name\":\"p1\"}");
	th_req_noted(m, "{\"cmd\":\"k8s.del\",\"kind\":\"networkpolicy\",\"namespace\":\"x\","
		     "\"name\":\"deny\"}");
	th_req_noted(m, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p2\",\"ip\":\"10.244.1.3\","
		     "\"mac\":\"02:00:00:00:00:03\",\"ifname\":\"veth-p2\"}}");
	th_req_noted(m, "{\"cmd\":\"endpointslice.del\",\"namespace\":\"ns\",\"name\":\"svc-4-x\"}");
	th_req_noted(m, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"EndpointSlice\",\"metadata\":"
		     "{\"name\":\"svc-5-x\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
		     "service-name\":\"svc-5\"}},\"addressType\":\"IPv4\",\"endpoints\":[],"
		     "\"ports\":[]}}");
	struct sl_persist_stats a, b;
	sl_persist_get_stats(&a);
	assert_int_equal(sl_persist_commit(path, m), 0);
	sl_persist_get_stats(&b);
	assert_int_equal(b.appends - a.appends, 1);
	char *jt = slurp_all(jpath);
	doc = sl_persist_export(m);
	w = NULL;
	w = cat(w, "{\"gen\":\"");
	w = cat(w, gen);
	w = cat(w, "\",\"put\":{\"services\":[");
	w = cat_printed(w, item(doc, "services", "ns", "svc-3"));
	w = cat(w, ",");
	w = cat_printed(w, item(doc, "services", "ns", "svc-6"));
	w = cat(w, "],\"namespaces\":[");
	w = cat_printed(w, item(doc, "namespaces", NULL, "y"));
	w = cat(w, "],\"pods\":[");
	w = cat_printed(w, item(doc, "pods", "default", "p2"));
	w = cat(w, "],\"endpointslices\":[");
	w = cat_printed(w, item(doc, "endpointslices", "ns", "svc-5-x"));
	w = cat(w, "]},\"del\":{\"services\":[\"ns/old\",\"ns/svc-7\"],\"pods\":[\"default/p1\"],"
		   "\"networkpolicies\":[\"x/deny\"],\"endpointslices\":[\"ns/svc-4-x\"]}}\n");
	assert_string_equal(jt, w);
	free(w);
	free(jt);
	cJSON_Delete(doc);
	sl_model_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_as_cjson),
	};
	return cmocka_run_group_tests(tests, th_setup, th_teardown);
}
