/* The Services reconciler (control/lb/sl_lbctl.c) on the real model and tables: what each
 * frontend of a Service is programmed with (sessionAffinity timeout; loadBalancerSourceRanges
 * on the load-balancer ingress IPs only, with kube-proxy's allowFromNode; affinity shared by a
 * Service port's frontends), and TCP flows of a
 * backend that leaves the endpoints, or of a deleted Service, marked gone (removed, not
 * terminating). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>

#include "dataplane/lb/lb_affinity.h"
#include "dataplane/lb/lb_table.h"
#include "harness.h"
#include "th_model.h"
#include "lb/sl_lbctl.h"
#include "model/sl_service.h"
#include "pktbuild.h"
#include "sl_k8s.h"

static struct sl_model *model;

static int setup(void **st)
{
	if (th_setup(st) < 0)
		return -1;
	model = th_model_create(NULL);
	if (!model)
		return -1;
	struct sl_model_hooks h = { 0 };
	sl_lbctl_hooks(&h, &(struct sl_lbctl_conf){ .ct_size = 1024, .node_ip = sl_model_self(model)->node_ip.v4,
						    .node_port_lo = 30000, .node_port_hi = 32767 });
	sl_model_set_hooks(model, &h);
	return 0;
}

/* The Service fw (cluster IP 10.96.0.42, external IP 10.96.2.2, ingress 10.96.1.10, port
 * 80 -> 8080, ClientIP affinity of 60 s, the given source ranges) and its slice (endpoints
 * as "IP" or "IP:terminating"). */
static void apply_fw(const char *ranges, const char *ep1, const char *ep2)
{
	char text[4096], eps[512] = "";
	const char *e[] = { ep1, ep2 };
	for (unsigned i = 0; i < 2; i++) {
		if (!e[i])
			continue;
		char ip[32];
		snprintf(ip, sizeof(ip), "%s", e[i]);
		char *c = strchr(ip, ':');
		bool term = c != NULL;
		if (c)
			*c = '\0';
		snprintf(eps + strlen(eps), sizeof(eps) - strlen(eps),
			 "%s{\"addresses\": [\"%s\"], \"conditions\": {\"ready\": %s, \"serving\": "
			 "true, \"terminating\": %s}, \"nodeName\": \"node1\"}",
			 eps[0] ? ", " : "", ip, term ? "false" : "true", term ? "true" : "false");
	}
	snprintf(text, sizeof(text),
		 "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		 "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"fw\", "
		 "\"namespace\": \"default\"}, \"spec\": {\"type\": \"LoadBalancer\", "
		 "\"clusterIP\": \"10.96.0.42\", \"externalIPs\": [\"10.96.2.2\"], "
		 "\"sessionAffinity\": \"ClientIP\", \"sessionAffinityConfig\": {\"clientIP\": "
		 "{\"timeoutSeconds\": 60}}, \"loadBalancerSourceRanges\": [%s], "
		 "\"ports\": [{\"port\": 80, \"protocol\": \"TCP\", \"targetPort\": 8080}]}, "
		 "\"status\": {\"loadBalancer\": {\"ingress\": [{\"ip\": \"10.96.1.10\"}]}}}, "
		 "{\"apiVersion\": \"discovery.k8s.io/v1\", \"kind\": \"EndpointSlice\", "
		 "\"metadata\": {\"name\": \"fw-1\", \"namespace\": \"default\", \"labels\": "
		 "{\"kubernetes.io/service-name\": \"fw\"}}, \"addressType\": \"IPv4\", "
		 "\"endpoints\": [%s], \"ports\": [{\"port\": 8080, \"protocol\": \"TCP\"}]}]}",
		 ranges, eps);
	struct sl_k8s_op *ops;
	unsigned n;
	char err[256] = "";
	int rc = sl_k8s_decode_text(text, strlen(text), &ops, &n, err, sizeof(err));
	if (rc == 0) {
		rc = sl_model_k8s_apply(model, ops, n, err, sizeof(err));
		sl_k8s_ops_free(ops, n);
	}
	if (rc)
		fprintf(stderr, "apply: %s\n", err);
	assert_int_equal(rc, 0);
}

static const struct sl_lb_service *fe(const char *vip)
{
	struct sl_lb_frontend f = { pb_addr(vip), htons(80), IPPROTO_TCP, 0 };
	const struct sl_lb_service *s = sl_lb_service_find(&f);
	assert_non_null(s);
	return s;
}

/* Affinity on every frontend; source ranges on the ingress IP only. */
static void test_lbctl_affinity_and_ranges(void **st)
{
	apply_fw("\"10.244.1.0/24\", \"192.0.2.0/24\"", "10.244.1.3", "10.244.2.2");
	const char *all[] = { "10.96.0.42", "10.96.2.2", "10.96.1.10" };
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(fe(all[i])->affinity_s, 60);
		assert_int_equal(fe(all[i])->n_backends, 2);
	}
	assert_int_equal(fe("10.96.0.42")->n_ranges, 0);
	assert_int_equal(fe("10.96.2.2")->n_ranges, 0);
	const struct sl_lb_service *lb = fe("10.96.1.10");
	assert_int_equal(lb->n_ranges, 2); /* the node (198.18.0.1) is in none: no extra */
	assert_true(lb->flags & SL_LB_SVC_SOURCE_RANGES);
	assert_true(sl_lb_source_allowed(lb, pb_addr("10.244.1.7")));
	assert_false(sl_lb_source_allowed(lb, pb_addr("10.244.2.3")));
	assert_false(sl_lb_source_allowed(lb, pb_addr("198.18.0.1")));
	assert_false(sl_lb_source_allowed(lb, pb_addr("10.96.1.10")));
	assert_true(sl_lb_source_allowed(fe("10.96.0.42"), pb_addr("10.244.2.3")));
}

/* A range holding the node's address: the ingress IP is allowed as a source too
 * (kube-proxy's allowFromNode); no ranges: no filtering. */
static void test_lbctl_allow_from_node(void **st)
{
	apply_fw("\"198.18.0.0/24\"", "10.244.1.3", "10.244.2.2");
	const struct sl_lb_service *lb = fe("10.96.1.10");
	assert_int_equal(lb->n_ranges, 2);
	assert_true(sl_lb_source_allowed(lb, pb_addr("198.18.0.1")));
	assert_true(sl_lb_source_allowed(lb, pb_addr("10.96.1.10")));
	assert_false(sl_lb_source_allowed(lb, pb_addr("10.244.1.2")));
	apply_fw("", "10.244.1.3", "10.244.2.2");
	assert_int_equal(fe("10.96.1.10")->n_ranges, 0);
	assert_true(sl_lb_source_allowed(fe("10.96.1.10"), pb_addr("10.244.1.2")));
}

/* A backend removed from the slice: its TCP flows through the Service's frontends are
 * marked gone, the other backend's are not; a terminating backend's flows are not. */
static void test_lbctl_marks_gone(void **st)
{
	apply_fw("", "10.244.1.3", "10.244.2.2");
	uint64_t now = rte_rdtsc();
	struct sl_ct_key k1 = { pb_addr("10.244.1.2"), pb_addr("10.96.0.42"), htons(1000),
				htons(80), IPPROTO_TCP };
	struct sl_ct_key k2 = k1, k3 = k1;
	k2.sport = htons(1001);
	k3.dst = pb_addr("10.96.1.10");
	struct sl_ct_entry *a = sl_ct_create(&k1, pb_addr("10.244.1.3"), htons(8080),
					     RTE_TCP_ACK_FLAG, now);
	struct sl_ct_entry *b = sl_ct_create(&k2, pb_addr("10.244.2.2"), htons(8080),
					     RTE_TCP_ACK_FLAG, now);
	struct sl_ct_entry *c = sl_ct_create(&k3, pb_addr("10.244.1.3"), htons(8080),
					     RTE_TCP_ACK_FLAG, now);
	assert_true(a && b && c);
	apply_fw("", "10.244.1.3", "10.244.2.2:terminating");
	assert_int_equal(atomic_load(&b->mark), 0); /* terminating: keeps its flows */
	apply_fw("", "10.244.2.2", NULL);
	assert_int_equal(atomic_load(&a->mark), SL_CT_GONE);
	assert_int_equal(atomic_load(&c->mark), SL_CT_GONE);
	assert_int_equal(atomic_load(&b->mark), 0);
	sl_ct_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
}

/* The Service deleted: the TCP flows of each of its frontends are marked gone whatever
 * their backend (a RST on their next packet, kube-proxy's behaviour); another VIP's flows and
 * UDP flows to the same address are not. */
static void test_lbctl_delete_marks_gone(void **st)
{
	apply_fw("", "10.244.1.3", "10.244.2.2");
	uint64_t now = rte_rdtsc();
	struct sl_ct_key k1 = { pb_addr("10.244.1.2"), pb_addr("10.96.0.42"), htons(2000),
				htons(80), IPPROTO_TCP };
	struct sl_ct_key k2 = k1, k3 = k1, k4 = k1;
	k2.dst = pb_addr("10.96.1.10"); /* the ingress IP */
	k3.dst = pb_addr("10.96.0.43"); /* not the Service's */
	k4.proto = IPPROTO_UDP;
	struct sl_ct_entry *a = sl_ct_create(&k1, pb_addr("10.244.1.3"), htons(8080),
					     RTE_TCP_ACK_FLAG, now);
	struct sl_ct_entry *b = sl_ct_create(&k2, pb_addr("10.244.2.2"), htons(8080),
					     RTE_TCP_ACK_FLAG, now);
	struct sl_ct_entry *c = sl_ct_create(&k3, pb_addr("10.244.2.2"), htons(8080),
					     RTE_TCP_ACK_FLAG, now);
	struct sl_ct_entry *d = sl_ct_create(&k4, pb_addr("10.244.2.2"), htons(8080), 0, now);
	assert_true(a && b && c && d);
	uint64_t marked = sl_ct.marked_gone;
	char err[256] = "";
	assert_int_equal(sl_model_svc_del(model, "default", "fw", err, sizeof(err)), 0);
	assert_int_equal(atomic_load(&a->mark), SL_CT_GONE);
	assert_int_equal(atomic_load(&b->mark), SL_CT_GONE);
	assert_int_equal(atomic_load(&c->mark), 0);
	assert_int_equal(atomic_load(&d->mark), 0);
	assert_int_equal(sl_ct.marked_gone - marked, 2);
	sl_ct_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(), UINT32_MAX);
	sl_dp_drain();
	assert_int_equal(sl_ct_count(), 0);
}

/* ClientIP affinity is per Service port, as kube-proxy's: a client placed through the
 * cluster IP keeps its backend through the external and the load-balancer IP of the same
 * port (one affinity entry), even where Maglev would pick the other backend there. */
static void test_lbctl_affinity_per_service_port(void **st)
{
	apply_fw("", "10.244.1.3", "10.244.2.2");
	const char *all[] = { "10.96.0.42", "10.96.2.2", "10.96.1.10" };
	uint64_t now = rte_rdtsc();
	uint32_t first = 0;
	unsigned other = 0;
	for (unsigned i = 0; i < 3; i++) {
		const struct sl_lb_service *s = fe(all[i]);
		for (uint16_t sp = 1000; sp < 1020; sp++) {
			struct sl_ct_key k = { pb_addr("10.244.1.2"), pb_addr(all[i]), htons(sp),
					       htons(80), IPPROTO_TCP };
			uint32_t hash = rte_hash_crc(&k, sizeof(k), 0), ref;
			const struct sl_lb_backend *be = sl_lb_affinity_pick(s, &k, hash, now, &ref);
			assert_true(ref > 0);
			if (!first)
				first = be->ip;
			assert_int_equal(be->ip, first);
			other += sl_lb_pick(s, hash)->ip != first;
		}
	}
	assert_true(other > 0); /* Maglev alone would have moved some of them */
	assert_int_equal(sl_lb_affinity_count(), 1);
	assert_int_equal(sl_lb_affinity_age(rte_rdtsc() + 1000000ULL * rte_get_tsc_hz(),
					    UINT32_MAX), 1);
	sl_dp_drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lbctl_affinity_and_ranges),
		cmocka_unit_test(test_lbctl_allow_from_node),
		cmocka_unit_test(test_lbctl_marks_gone),
		cmocka_unit_test(test_lbctl_delete_marks_gone),
		cmocka_unit_test(test_lbctl_affinity_per_service_port),
	};
	return cmocka_run_group_tests_name("lbctl", tests, setup, NULL);
}
