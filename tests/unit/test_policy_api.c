/* NetworkPolicy without EAL (issue 12): `show policies`, `policy check` and their API
 * requests, and the static config's namespaces, k8s_pods and networkpolicies arrays. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/core/sl_show_pol.h"
#include "control/sources/sl_config.h"
#include "control/sources/sl_request.h"
#include "policy_test.h"

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
		cmocka_unit_test(test_show_and_check),
		cmocka_unit_test(test_config_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
