/* The NetworkPolicy reconciler (control/policy/sl_policy_sync.c) end to end: Kubernetes JSON
 * -> the model -> the reconciler on a real event loop -> the classifier -> a packet through
 * the real graph. Bursts of changes are coalesced into one publish.
 *
 *   pod A 10.244.1.2 (port 2, app=a) --+-- sluice --+-- pod B 10.244.1.3 (port 3, app=b)
 *   (both attached in the model, so the compiler sees them as local)
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "core/sl_loop.h"
#include "dataplane/policy/pol_table.h"
#include "harness.h"
#include "th_model.h"
#include "model/sl_model.h"
#include "pktbuild.h"
#include "policy/sl_policy_sync.h"
#include "sl_k8s.h"

static struct sl_model *model;
static struct sl_loop *loop;
static struct rte_mbuf *out[8];

static int setup(void **st)
{
	if (th_setup(st) < 0 || th_lb_setup() < 0)
		return -1;
	model = th_model_create(NULL);
	loop = sl_loop_create();
	if (!model || !loop)
		return -1;
	/* The attachments (no hooks: the harness made the ports). */
	const char *ips[] = { "10.244.1.2", "10.244.1.3" };
	for (unsigned i = 0; i < 2; i++) {
		struct sl_pod_spec s = { 0 };
		snprintf(s.name, sizeof(s.name), "att-%u", i);
		snprintf(s.namespace, sizeof(s.namespace), "default");
		snprintf(s.ifname, sizeof(s.ifname), "pod%u", i);
		sl_ip_parse(ips[i], false, &s.ip);
		s.mac[0] = 2, s.mac[5] = (uint8_t)(i + 1);
		char err[256];
		if (sl_model_pod_add(model, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	if (sl_policy_sync_init(model, &(struct sl_policy_sync_conf){ .coalesce_ms = 5 }) < 0)
		return -1;
	return 0;
}

static void apply(const char *text)
{
	struct sl_k8s_op *ops;
	unsigned n;
	char err[512];
	assert_int_equal(sl_k8s_decode_text(text, strlen(text), &ops, &n, err, sizeof(err)), 0);
	int rc = sl_model_k8s_apply(model, ops, n, err, sizeof(err));
	if (rc < 0)
		fail_msg("apply: %s", err);
	sl_k8s_ops_free(ops, n);
}

/* Pod b's labels app=b and role=ROLE. */
static void apply_pods(const char *role)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		 "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"default\"}},"
		 "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\", "
		 "\"namespace\": \"default\", \"labels\": {\"app\": \"a\"}}, \"spec\": {\"nodeName\": "
		 "\"node1\"}, \"status\": {\"phase\": \"Running\", \"podIP\": \"10.244.1.2\"}},"
		 "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"b\", "
		 "\"namespace\": \"default\", \"labels\": {\"app\": \"b\", \"role\": \"%s\"}}, "
		 "\"spec\": {\"nodeName\": \"node1\"}, \"status\": {\"phase\": \"Running\", "
		 "\"podIP\": \"10.244.1.3\"}}]}", role);
	apply(text);
}

/* Run the loop until the reconciler has published `want` sets (at most 2 s). */
static void wait_publishes(uint64_t want)
{
	struct sl_policy_sync_stats st;
	for (int i = 0; i < 400; i++) {
		sl_policy_sync_get_stats(&st);
		if (st.publishes >= want)
			break;
		sl_loop_run_once(loop, 5);
	}
	sl_dp_drain();
	sl_policy_sync_get_stats(&st);
	assert_int_equal(st.publishes, want);
}

static struct rte_mbuf *syn(uint16_t sport, uint16_t dport)
{
	struct pb_ip4 p = { .src_mac = th_pod_a_mac, .dst_mac = th_gw_mac, .src = "10.244.1.2",
			    .dst = "10.244.1.3", .proto = IPPROTO_TCP, .sport = sport,
			    .dport = dport, .tcp_flags = RTE_TCP_SYN_FLAG };
	return pb_ip4(sl_dp.pool, &p);
}

static unsigned run(struct rte_mbuf *m)
{
	unsigned n = th_run(TH_POD_A, m, TH_POD_B, out, 8);
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(out[i]);
	return n;
}

/* A policy selecting role=db pods, ingress from app=a on TCP 5432: pod b gets it once it has
 * the label; 1,000 label flips in a burst become one publish, and the last state holds. */
static void test_sync_end_to_end(void **st)
{
	th_reset();
	sl_policy_sync_start(loop);
	wait_publishes(1); /* the empty model */
	assert_false(sl_pol_active());
	apply_pods("web");
	apply("{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"NetworkPolicy\", "
	      "\"metadata\": {\"name\": \"db\", \"namespace\": \"default\"}, \"spec\": "
	      "{\"podSelector\": {\"matchLabels\": {\"role\": \"db\"}}, \"ingress\": [{\"from\": "
	      "[{\"podSelector\": {\"matchLabels\": {\"app\": \"a\"}}}], \"ports\": [{\"port\": "
	      "5432}]}]}}");
	wait_publishes(2);
	assert_false(sl_pol_active()); /* no pod has role=db */
	assert_int_equal(run(syn(1000, 80)), 1);

	/* 1,000 label changes without running the loop, ending with role=db: one publish. */
	for (int i = 0; i < 1000; i++)
		apply_pods(i % 2 ? "db" : "web");
	struct sl_policy_sync_stats s;
	sl_policy_sync_get_stats(&s);
	assert_true(s.changes >= 1000);
	wait_publishes(3);
	for (int i = 0; i < 20; i++) /* and nothing more comes */
		sl_loop_run_once(loop, 1);
	sl_policy_sync_get_stats(&s);
	assert_int_equal(s.publishes, 3);
	assert_true(sl_pol_active());
	assert_int_equal(run(syn(1001, 80)), 0);
	assert_int_equal(th_drops(SL_DROP_POLICY_DENIED_INGRESS), 1);
	assert_int_equal(run(syn(1002, 5432)), 1);
	/* The deciding policy counted the new flow and the deny (by name, "default/db"). */
	struct sl_pol_totals *t;
	int n = sl_pol_counters(&t);
	assert_true(n >= 1);
	uint64_t allowed = 0;
	const struct sl_pol_dp *d = atomic_load(&sl_pol.cur);
	for (int i = 0; i < n; i++)
		if (!strcmp(d->names[i], "default/db"))
			allowed = t[i].allowed;
	free(t);
	assert_int_equal(allowed, 1);
	/* ... and `show policies` rows get them. */
	cJSON *rows = cJSON_Parse("[{\"namespace\": \"default\", \"name\": \"db\"}, "
				  "{\"namespace\": \"default\", \"name\": \"gone\"}]");
	sl_policy_sync_add_counters(rows);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0),
								  "allowed_flows")), 1);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 1),
								  "allowed_flows")), 0);
	cJSON_Delete(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_sync_end_to_end),
	};
	return cmocka_run_group_tests_name("policy_sync", tests, setup, NULL);
}
