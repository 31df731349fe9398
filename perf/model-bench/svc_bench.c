/* sluice-svc-bench: Services and EndpointSlices in the control model alone (no DPDK, no
 * dataplane): N Services with one slice of E endpoints each loaded in one batch (each
 * Service's view resolved once, as the reconciler's hook would get it), then single endpoint
 * changes with all N present, then deletes; and the decoder's cost per object on kubectl-style
 * JSON. Prints the time of each phase and the model's memory per Service.
 * Usage: sluice-svc-bench [N (100000)] [E (10)] */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/model/sl_service.h"
#include "control/sources/sl_k8s.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned long long views, backends;

/* The reconciler stand-in: counts what it is handed. */
static int changed(void *ctx, const struct sl_svc_view *v, char *err, size_t n)
{
	views++;
	for (unsigned p = 0; p < v->n_ports; p++)
		backends += v->ports[p].n_internal;
	return 0;
}

static struct sl_svc_spec *svc_of(unsigned i)
{
	struct sl_svc_spec *s = calloc(1, sizeof(*s));
	snprintf(s->namespace, sizeof(s->namespace), "ns-%u", i % 500);
	snprintf(s->name, sizeof(s->name), "svc-%u", i);
	s->cluster_ips = calloc(1, sizeof(*s->cluster_ips));
	s->cluster_ips[0] = sl_ip4(htonl(0x0a600000u + i));
	s->n_cluster_ips = 1;
	s->ports = calloc(1, sizeof(*s->ports));
	s->ports[0] = (struct sl_svc_port){ .protocol = 6, .port = 80, .target_port = 8080 };
	s->n_ports = 1;
	s->affinity_timeout_s = SL_SVC_AFFINITY_DEFAULT_S;
	return s;
}

static struct sl_slice_spec *slice_of(unsigned i, unsigned e, unsigned not_ready)
{
	struct sl_slice_spec *s = calloc(1, sizeof(*s));
	snprintf(s->namespace, sizeof(s->namespace), "ns-%u", i % 500);
	snprintf(s->name, sizeof(s->name), "svc-%u-abcde", i);
	snprintf(s->service, sizeof(s->service), "svc-%u", i);
	s->af = AF_INET;
	s->eps = calloc(1, e * (sizeof(*s->eps) + 16)); /* node names after the array */
	char *names = (char *)(s->eps + e);
	for (unsigned k = 0; k < e; k++) {
		s->eps[k].ip = sl_ip4(htonl(0x0af40000u + (i * e + k) % 0xfffff));
		s->eps[k].cond = k == not_ready ? SL_EP_SERVING | SL_EP_TERMINATING
						: SL_EP_READY | SL_EP_SERVING;
		s->eps[k].node_name = names + 16 * k;
		snprintf(s->eps[k].node_name, 16, "node-%u", (i + k) % 5000);
	}
	s->n_eps = e;
	s->ports = calloc(1, sizeof(*s->ports));
	s->ports[0] = (struct sl_slice_port){ .protocol = 6, .port = 8080 };
	s->n_ports = 1;
	return s;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
	unsigned e = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
	char err[400];
	struct sl_model_self self = { .node_name = "node-1" };
	struct sl_model *m = sl_model_create(&self, NULL);
	struct sl_model_hooks h = { .svc_changed = changed };
	sl_model_set_hooks(m, &h);

	struct sl_k8s_op *ops = calloc(2 * (size_t)n, sizeof(*ops));
	for (unsigned i = 0; i < n; i++) {
		ops[2 * i] = (struct sl_k8s_op){ .kind = SL_K8S_SERVICE, .svc = svc_of(i) };
		ops[2 * i + 1] = (struct sl_k8s_op){ .kind = SL_K8S_SLICE, .slice = slice_of(i, e, e) };
	}
	double t0 = now_s();
	if (sl_model_k8s_apply(m, ops, 2 * n, err, sizeof(err))) {
		fprintf(stderr, "load: %s\n", err);
		return 1;
	}
	double t_load = now_s() - t0;
	sl_k8s_ops_free(ops, 2 * n);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	printf("load: %u Services + %u slices of %u endpoints in one batch: %.3f s (%.2f us per "
	       "Service, views resolved: %llu, backends %llu)\n",
	       c.services, c.slices, e, t_load, t_load * 1e6 / n, views, backends);
	printf("memory: %zu bytes in the model, %.0f bytes per Service with its slice\n", c.bytes,
	       (double)c.bytes / n);

	/* One endpoint turning not ready: a slice replaced, its Service re-resolved. */
	unsigned changes = 2000;
	double worst = 0;
	t0 = now_s();
	for (unsigned k = 0; k < changes; k++) {
		unsigned i = (k * 7919u) % n;
		struct sl_k8s_op op = { .kind = SL_K8S_SLICE, .slice = slice_of(i, e, k % e) };
		double t1 = now_s();
		if (sl_model_k8s_apply(m, &op, 1, err, sizeof(err))) {
			fprintf(stderr, "change: %s\n", err);
			return 1;
		}
		double dt = now_s() - t1;
		worst = dt > worst ? dt : worst;
	}
	double t_chg = now_s() - t0;
	printf("endpoint change with %u Services present: %.2f us each (worst %.2f us, %u "
	       "changes)\n", n, t_chg * 1e6 / changes, worst * 1e6, changes);

	/* The decoder: kubectl-style JSON of one Service and its slice. */
	unsigned docs = n < 20000 ? n : 20000;
	char text[8192];
	double t_dec = 0;
	for (unsigned i = 0; i < docs; i++) {
		size_t l = (size_t)snprintf(text, sizeof(text),
			"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":\"v1\","
			"\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-%u\",\"namespace\":\"ns-%u\","
			"\"uid\":\"5f0c0cbe-8a2b-4f7e-9a51-%012u\",\"resourceVersion\":\"123\"},\"spec\":"
			"{\"clusterIP\":\"10.96.%u.%u\",\"clusterIPs\":[\"10.96.%u.%u\"],\"ports\":[{\"name\":"
			"\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":"
			"{\"app\":\"a\"},\"sessionAffinity\":\"None\",\"type\":\"ClusterIP\"},\"status\":"
			"{\"loadBalancer\":{}}},{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
			"\"EndpointSlice\",\"metadata\":{\"name\":\"svc-%u-x\",\"namespace\":\"ns-%u\","
			"\"labels\":{\"kubernetes.io/service-name\":\"svc-%u\"}},\"addressType\":\"IPv4\","
			"\"endpoints\":[",
			i, i % 500, i, (i >> 8) & 255, i & 255, (i >> 8) & 255, i & 255, i, i % 500, i);
		for (unsigned k = 0; k < e && l < sizeof(text) - 300; k++)
			l += (size_t)snprintf(text + l, sizeof(text) - l,
				"%s{\"addresses\":[\"10.244.%u.%u\"],\"conditions\":{\"ready\":true,"
				"\"serving\":true,\"terminating\":false},\"nodeName\":\"node-%u\","
				"\"targetRef\":{\"kind\":\"Pod\",\"name\":\"p-%u\"}}",
				k ? "," : "", (i + k) & 255, k + 1, k, k);
		snprintf(text + l, sizeof(text) - l, "],\"ports\":[{\"name\":\"http\",\"port\":8080,"
			 "\"protocol\":\"TCP\"}]}]}");
		struct sl_k8s_op *d;
		unsigned dn;
		double t1 = now_s();
		if (sl_k8s_decode_text(text, strlen(text), &d, &dn, err, sizeof(err))) {
			fprintf(stderr, "decode: %s\n", err);
			return 1;
		}
		t_dec += now_s() - t1;
		sl_k8s_ops_free(d, dn);
	}
	printf("decode: %.2f us per Service + slice (%u endpoints) as kubectl prints them\n",
	       t_dec * 1e6 / docs, e);

	t0 = now_s();
	sl_model_destroy(m);
	printf("delete all: %.3f s\n", now_s() - t0);
	return 0;
}
