/* sluice-policy-sync-bench: NetworkPolicy recompile end to end on the control thread, with
 * the real model (control/model/sl_policy_*.c: decoders, selectors, compiler) and the real
 * classifier (dataplane/policy: rte_acl build, publish): Kubernetes JSON -> sl_k8s_decode ->
 * sl_model_k8s_apply -> the reconciler's flush (sl_model_policy_set + sl_pol_publish).
 *
 * The cluster: 110 local pods (attached to this node, namespace "bench", app=l<i>) and
 * --remote (2,000) remote pods (app=r<j % 1000>); --policies (10,000) policies, policy k
 * selecting local pod k % 110, with 4 ingress rules from an ipBlock /32 on TCP 1000-1003, one
 * from podSelector app=r<k % 1000> on TCP 80 (2 remote pods) and 5 egress rules to ipBlock
 * /32s on TCP 2000-2004: about 11 compiled rules a policy.
 *
 * Prints the time of: the first compile and publish; a remote pod's label change (app=r5 ->
 * r6: the rules of ~20 policies change); a local pod's label change (l7 -> l8: the ~90
 * policies selecting l7 stop selecting it, those of l8 gain it); a policy add; 1,000 pod
 * label changes applied one by one with the reconciler's coalescing (publish once at the
 * end, as the loop timer would) and without (publish after each: the cost coalescing saves).
 * Each time is split into the apply, the model's compile and the dataplane publish.
 * Usage: sluice-policy-sync-bench [--policies N] [--remote N]   (EAL --no-huge, 2 GiB) */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <rte_eal.h>

#include "control/model/sl_model.h"
#include "control/model/sl_policy.h"
#include "control/policy/sl_policy_sync.h"
#include "control/sources/sl_k8s.h"
#include "dataplane/core/sl_dp.h"
#include "dataplane/lb/lb_table.h"
#include "dataplane/policy/pol_table.h"

enum { LOCAL = 110 };

static double ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static cJSON *pod_obj(const char *name, const char *ip, const char *node, const char *app)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Pod");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", "bench");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), "app", app);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "spec"), "nodeName", node);
	cJSON *st = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(st, "phase", "Running");
	cJSON_AddStringToObject(st, "podIP", ip);
	return o;
}

static cJSON *rule_ports(int port)
{
	cJSON *a = cJSON_CreateArray(), *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "protocol", "TCP");
	cJSON_AddNumberToObject(p, "port", port);
	cJSON_AddItemToArray(a, p);
	return a;
}

static cJSON *peer_ip(unsigned base, unsigned v)
{
	char c[32];
	snprintf(c, sizeof(c), "10.%u.%u.%u/32", base, (v >> 8) & 0xff, v & 0xff);
	cJSON *a = cJSON_CreateArray(), *p = cJSON_CreateObject();
	cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "ipBlock"), "cidr", c);
	cJSON_AddItemToArray(a, p);
	return a;
}

static cJSON *policy_obj(unsigned k)
{
	char name[64], app[32];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "networking.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "NetworkPolicy");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	snprintf(name, sizeof(name), "np-%u", k);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", "bench");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	snprintf(app, sizeof(app), "l%u", k % LOCAL);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "podSelector"),
							"matchLabels"), "app", app);
	cJSON *types = cJSON_AddArrayToObject(spec, "policyTypes");
	cJSON_AddItemToArray(types, cJSON_CreateString("Ingress"));
	cJSON_AddItemToArray(types, cJSON_CreateString("Egress"));
	cJSON *in = cJSON_AddArrayToObject(spec, "ingress"), *eg = cJSON_AddArrayToObject(spec, "egress");
	for (unsigned j = 0; j < 5; j++) {
		cJSON *r = cJSON_CreateObject();
		if (j < 4) {
			cJSON_AddItemToObject(r, "from", peer_ip(250, k * 4 + j));
			cJSON_AddItemToObject(r, "ports", rule_ports(1000 + (int)j));
		} else {
			cJSON *a = cJSON_CreateArray(), *p = cJSON_CreateObject();
			snprintf(app, sizeof(app), "r%u", k % 1000);
			cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
							p, "podSelector"), "matchLabels"), "app", app);
			cJSON_AddItemToArray(a, p);
			cJSON_AddItemToObject(r, "from", a);
			cJSON_AddItemToObject(r, "ports", rule_ports(80));
		}
		cJSON_AddItemToArray(in, r);
		r = cJSON_CreateObject();
		cJSON_AddItemToObject(r, "to", peer_ip(251, k * 5 + j));
		cJSON_AddItemToObject(r, "ports", rule_ports(2000 + (int)j));
		cJSON_AddItemToArray(eg, r);
	}
	return o;
}

static struct sl_model *m;
static double t_apply;

/* Apply the List of items (consumed). */
static int apply(cJSON *items)
{
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "apiVersion", "v1");
	cJSON_AddStringToObject(l, "kind", "List");
	cJSON_AddItemToObject(l, "items", items);
	struct sl_k8s_op *ops;
	unsigned n;
	char err[512];
	double t0 = ms_now();
	int rc = sl_k8s_decode(l, &ops, &n, err, sizeof(err));
	if (rc == 0) {
		rc = sl_model_k8s_apply(m, ops, n, err, sizeof(err));
		sl_k8s_ops_free(ops, n);
	}
	t_apply = ms_now() - t0;
	cJSON_Delete(l);
	if (rc < 0)
		fprintf(stderr, "policy-sync-bench: apply: %s\n", err);
	return rc;
}

static void remote_name(unsigned j, char *name, char *ip)
{
	sprintf(name, "r-%u", j);
	sprintf(ip, "10.%u.%u.%u", 100 + j / 60000, (j / 250) % 240 + 2, 2 + j % 250);
}

static void report(const char *what)
{
	double t0 = ms_now();
	int rc = sl_policy_sync_flush();
	double t = ms_now() - t0;
	struct sl_policy_sync_stats st;
	sl_policy_sync_get_stats(&st);
	const struct sl_pol_dp *d = atomic_load(&sl_pol.cur);
	printf("  %-44s apply %7.1f ms, compile %7.1f ms, publish %7.1f ms (%2u contexts built)"
	       "; total %7.1f ms; rules %u+%u, rc %d\n",
	       what, t_apply, st.last_compile_ns / 1e6, st.last_publish_ns / 1e6,
	       st.last_groups_built, t_apply + t, d ? d->n_rules[0] : 0, d ? d->n_rules[1] : 0, rc);
	sl_dp_drain();
}

int main(int argc, char **argv)
{
	unsigned n_pol = 10000, n_remote = 2000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--policies"))
			n_pol = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--remote"))
			n_remote = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=sl-polsync-%d", getpid());
	char *eal[] = { "policy-sync-bench", "--no-huge", "-m", "2048", "--no-pci", "-l", "0",
			"--log-level=*:error", prefix };
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0 || sl_dp_init(1, 1023) < 0 ||
	    sl_lb_init(&(struct sl_lb_conf){ .max_services = 1024, .ct = { .size = 65536 } }) < 0) {
		fprintf(stderr, "policy-sync-bench: EAL or dataplane init failed\n");
		return 1;
	}
	sl_dp.conf.pod_cidr = htonl(0x0af40100u);
	sl_dp.conf.pod_cidr_mask = htonl(0xffffff00u);
	struct sl_model_self self = {
		.node_name = "node1",
		.node_ip = { .af = AF_INET, .v4 = htonl(0xc6120001u) },
		.pod_cidr = { .addr = { .af = AF_INET, .v4 = htonl(0x0af40100u) }, .len = 24 },
		.gateway_ip = { .af = AF_INET, .v4 = htonl(0x0af40101u) },
	};
	m = sl_model_create(&self, NULL);
	if (!m || sl_policy_sync_init(m, NULL) < 0)
		return 1;
	/* The local attachments (what makes a cluster pod local). */
	for (unsigned i = 0; i < LOCAL; i++) {
		struct sl_pod_spec s = { .ip = { .af = AF_INET } };
		snprintf(s.name, sizeof(s.name), "l-%u", i);
		snprintf(s.namespace, sizeof(s.namespace), "bench");
		snprintf(s.ifname, sizeof(s.ifname), "veth%u", i);
		s.ip.v4 = htonl(0x0af40102u + i);
		s.mac[0] = 2, s.mac[5] = (uint8_t)i;
		char err[256];
		if (sl_model_pod_add(m, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "policy-sync-bench: pod: %s\n", err);
			return 1;
		}
	}
	printf("sluice-policy-sync-bench: %u policies, %u local + %u remote pods\n", n_pol, LOCAL,
	       n_remote);
	cJSON *items = cJSON_CreateArray();
	cJSON *ns = cJSON_CreateObject();
	cJSON_AddStringToObject(ns, "apiVersion", "v1");
	cJSON_AddStringToObject(ns, "kind", "Namespace");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "metadata"), "name", "bench");
	cJSON_AddItemToArray(items, ns);
	char name[64], ip[32], app[32];
	for (unsigned i = 0; i < LOCAL; i++) {
		sprintf(name, "l-%u", i);
		sprintf(ip, "10.244.1.%u", 2 + i);
		sprintf(app, "l%u", i);
		cJSON_AddItemToArray(items, pod_obj(name, ip, "node1", app));
	}
	for (unsigned j = 0; j < n_remote; j++) {
		remote_name(j, name, ip);
		sprintf(app, "r%u", j % 1000);
		cJSON_AddItemToArray(items, pod_obj(name, ip, "node2", app));
	}
	for (unsigned k = 0; k < n_pol; k++)
		cJSON_AddItemToArray(items, policy_obj(k));
	if (apply(items) < 0)
		return 1;
	report("first compile and publish:");

	remote_name(5, name, ip);
	items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, pod_obj(name, ip, "node2", "r6"));
	apply(items);
	report("a remote pod's label change (r5 -> r6):");

	items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, pod_obj("l-7", "10.244.1.9", "node1", "l8"));
	apply(items);
	report("a local pod's label change (l7 -> l8):");

	items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, policy_obj(n_pol));
	apply(items);
	report("a policy add:");

	/* 1,000 remote pod label changes, each its own apply (as watch events come). */
	double t0 = ms_now(), applies = 0;
	for (unsigned i = 0; i < 1000; i++) {
		unsigned j = (i * 7) % n_remote;
		remote_name(j, name, ip);
		sprintf(app, "r%u", (j + 1 + i) % 1000);
		items = cJSON_CreateArray();
		cJSON_AddItemToArray(items, pod_obj(name, ip, "node2", app));
		apply(items);
		applies += t_apply;
	}
	t_apply = applies;
	report("1,000 label changes, coalesced (1 publish):");
	printf("    (%.1f ms for the 1,000 applies and the publish)\n", ms_now() - t0);
	t0 = ms_now();
	double work = 0;
	for (unsigned i = 0; i < 20; i++) {
		unsigned j = (i * 13) % n_remote;
		remote_name(j, name, ip);
		sprintf(app, "r%u", (j + 3 + i) % 1000);
		items = cJSON_CreateArray();
		cJSON_AddItemToArray(items, pod_obj(name, ip, "node2", app));
		apply(items);
		double t1 = ms_now();
		sl_policy_sync_flush();
		work += ms_now() - t1 + t_apply;
		sl_dp_drain();
	}
	printf("  label changes published one by one: %.1f ms each (apply + compile + publish);"
	       " 1,000 a second would need %.0f%% of the control thread\n", work / 20,
	       work / 20 * 1000 / 10);
	sl_model_destroy(m);
	sl_policy_sync_fini();
	sl_dp_drain();
	sl_lb_fini();
	return 0;
}
