/* NetworkPolicy without EAL (issue 12): the compiled set (sl_model_policy_set) on
 * hand-written cases in the upstream e2e layout (default deny, ipBlock/except, port ranges,
 * named ports, unions, protocol-only rules, policyTypes defaulting, egress and local pods),
 * all-or-nothing batches and the change notification. The decoders are
 * test_policy_decode.c, the differential test test_policy_reference.c, `show`/`policy
 * check`/config test_policy_api.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/sources/sl_k8s.h"
#include "policy_test.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_deny_and_allow),
		cmocka_unit_test(test_ipblock_ports),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_egress_and_local),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_coarse_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
