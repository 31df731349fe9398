/* sluice-pol-bench: NetworkPolicy in the control model alone (no DPDK): NS namespaces, PODS
 * cluster pods (LOCAL of them attached to this node), P policies of 10 ingress rules each
 * (podSelector, namespaceSelector, ipBlock peers; numeric and named ports) loaded in one
 * batch and compiled; then the recompile after one pod label change, after one policy add,
 * and after 1,000 pod label changes batched; the compiled rules and their memory.
 * Usage: sluice-pol-bench [P (10000)] [PODS (5000)] [NS (100)] [LOCAL (100)] */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/model/sl_policy.h"
#include "control/sources/sl_k8s.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#ifndef POD_REPS
#define POD_REPS 20
#endif
static unsigned P = 10000, PODS = 5000, NS = 100, LOCAL = 100;

static void apply_text(struct sl_model *m, const char *t)
{
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	if (sl_k8s_decode_text(t, strlen(t), &ops, &n, err, sizeof(err)) ||
	    sl_model_k8s_apply(m, ops, n, err, sizeof(err))) {
		fprintf(stderr, "pol-bench: %s\n", err);
		exit(1);
	}
	sl_k8s_ops_free(ops, n);
}

/* Pod i: namespace ns-(i % NS), app-(i % 50), 10.244.1.x when local, else 10.245.x.y. */
static uint32_t pod_ip(unsigned i)
{
	return i < LOCAL ? 0x0af40100u + 2 + i : 0x0af50000u + i;
}

static void pod_text(char *b, size_t n, unsigned i, unsigned gen)
{
	uint32_t ip = pod_ip(i);
	snprintf(b, n, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%u\",\"namespace\":\"ns-%u\","
		 "\"labels\":{\"app\":\"app-%u\",\"gen\":\"g%u\"}},\"spec\":{\"containers\":[{\"ports\":"
		 "[{\"name\":\"http\",\"containerPort\":%u}]}]},\"status\":{\"podIP\":\"%u.%u.%u.%u\"}}",
		 i, i % NS, i % 50, gen, 8000 + i % 7, ip >> 24, ip >> 16 & 255, ip >> 8 & 255,
		 ip & 255);
}

static void policy_text(char *b, size_t n, unsigned i)
{
	int k = snprintf(b, n, "{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np%u\","
			 "\"namespace\":\"ns-%u\"},\"spec\":{\"podSelector\":{\"matchLabels\":"
			 "{\"app\":\"app-%u\"}},\"ingress\":[", i, i % NS, i % 50);
	for (unsigned r = 0; r < 10; r++) {
		const char *peer = r % 3 == 0 ? "{\"podSelector\":{\"matchLabels\":{\"app\":\"app-%u\"}}}"
				   : r % 3 == 1 ? "{\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"ns-%u\"}},\"podSelector\":{}}"
						: "{\"ipBlock\":{\"cidr\":\"192.168.%u.0/24\",\"except\":[\"192.168.%u.0/28\"]}}";
		char pb[256];
		unsigned v = r % 3 == 1 ? (i + r) % NS : (i + r) % (r % 3 ? 250 : 50);
		snprintf(pb, sizeof(pb), peer, v, v);
		k += snprintf(b + k, n - (size_t)k, "%s{\"from\":[%s],\"ports\":[{\"port\":%s}]}",
			      r ? "," : "", pb, r == 9 ? "\"http\"" : r == 8 ? "80,\"endPort\":90" : "443");
	}
	snprintf(b + k, n - (size_t)k, "]}}");
}

static size_t set_bytes(const struct sl_pol_set *s)
{
	size_t b = s->n_policies * sizeof(*s->names);
	for (int d = 0; d < SL_POL_NDIRS; d++)
		b += s->dir[d].n_rules * sizeof(struct sl_pol_rule) + s->dir[d].n_isolated * 4;
	return b;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		P = (unsigned)atoi(argv[1]);
	if (argc > 2)
		PODS = (unsigned)atoi(argv[2]);
	if (argc > 3)
		NS = (unsigned)atoi(argv[3]);
	if (argc > 4)
		LOCAL = (unsigned)atoi(argv[4]);
	if (LOCAL > 250 || LOCAL > PODS) {
		fprintf(stderr, "pol-bench: LOCAL must be <= 250 and <= PODS\n");
		return 2;
	}
	struct sl_model_self self = { .node_name = "node1" };
	sl_ip_parse("198.18.0.1", false, &self.node_ip);
	sl_cidr_parse("10.244.1.0/24", false, &self.pod_cidr);
	sl_ip_parse("10.244.1.1", false, &self.gateway_ip);
	struct sl_model *m = sl_model_create(&self, NULL);
	char err[320], *b = malloc(1 << 16);
	for (unsigned i = 0; i < LOCAL; i++) {
		struct sl_pod_spec s = { .ip = sl_ip4(htonl(pod_ip(i))), .mac = { 2, 0, 0, 0, 0, 9 } };
		snprintf(s.name, sizeof(s.name), "c%u", i);
		snprintf(s.namespace, sizeof(s.namespace), "cni");
		snprintf(s.ifname, sizeof(s.ifname), "v%u", i);
		if (sl_model_pod_add(m, &s, err, sizeof(err))) {
			fprintf(stderr, "pol-bench: attach: %s\n", err);
			return 1;
		}
	}
	double t0 = now_s();
	for (unsigned i = 0; i < NS; i++) {
		snprintf(b, 1 << 16, "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ns-%u\"}}", i);
		apply_text(m, b);
	}
	for (unsigned i = 0; i < PODS; i++) {
		pod_text(b, 1 << 16, i, 0);
		apply_text(m, b);
	}
	double t1 = now_s();
	for (unsigned i = 0; i < P; i++) {
		policy_text(b, 1 << 16, i);
		apply_text(m, b);
	}
	double t2 = now_s();
	const struct sl_pol_set *s = sl_model_policy_set(m);
	double t3 = now_s();
	printf("load: %u namespaces + %u pods %.3f s, %u policies (x10 rules) %.3f s (%.1f us each)\n",
	       NS, PODS, t1 - t0, P, t2 - t1, (t2 - t1) / P * 1e6);
	printf("first compile: %.3f s; compiled rules: %u ingress, isolated pods %u; set %.1f MiB\n",
	       t3 - t2, s->dir[0].n_rules, s->dir[0].n_isolated, set_bytes(s) / 1048576.0);
	/* One local pod's label change (app moves): its old and new policies recompile. */
	pod_text(b, 1 << 16, 0, 1);
	char *nb = strstr(b, "app-0");
	memcpy(nb, "app-1", 5);
	double ta = 0, tc = 0, t4, t5, t6;
	for (unsigned k = 0; k < POD_REPS; k++) { /* back and forth: the mean of 20 */
		memcpy(nb, k & 1 ? "app-0" : "app-1", 5);
		t4 = now_s();
		apply_text(m, b);
		t5 = now_s();
		s = sl_model_policy_set(m);
		t6 = now_s();
		ta += t5 - t4;
		tc += t6 - t5;
	}
	printf("one local pod label change (mean of %u): apply %.1f us, recompile+assemble %.3f ms\n",
	       POD_REPS, ta / POD_REPS * 1e6, tc / POD_REPS * 1e3);
	/* One policy added. */
	policy_text(b, 1 << 16, P);
	t4 = now_s();
	apply_text(m, b);
	t5 = now_s();
	s = sl_model_policy_set(m);
	t6 = now_s();
	printf("one policy add: apply %.1f us, recompile+assemble %.3f ms\n", (t5 - t4) * 1e6,
	       (t6 - t5) * 1e3);
	/* 1,000 remote pods relabelled (gen), then one compile. */
	t4 = now_s();
	for (unsigned k = 0; k < 1000; k++) {
		pod_text(b, 1 << 16, LOCAL + (k * 7) % (PODS - LOCAL ? PODS - LOCAL : 1), 2 + k);
		apply_text(m, b);
	}
	t5 = now_s();
	s = sl_model_policy_set(m);
	t6 = now_s();
	printf("1000 pod changes: apply %.3f ms total (%.1f us each), then one recompile+assemble "
	       "%.3f ms\n", (t5 - t4) * 1e3, (t5 - t4) * 1e3, (t6 - t5) * 1e3);
	unsigned nns, npods, npol;
	size_t bytes;
	sl_model_policy_counts(m, &nns, &npods, &npol, &bytes);
	printf("model: %.1f MiB for the policy objects' indexes and pods; generation %llu\n",
	       bytes / 1048576.0, (unsigned long long)s->generation);
	sl_model_destroy(m);
	free(b);
	return 0;
}
