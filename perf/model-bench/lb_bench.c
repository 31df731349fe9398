/* sluice-lb-bench: the control thread's Service path end to end in one process, with the
 * real dataplane tables: kubectl-style JSON Lists -> cJSON -> the decoder (control/sources/
 * sl_k8s.c) -> the model (sl_model_k8s_apply, views) -> the reconciler (control/lb/
 * sl_lbctl.c) -> the Service table with its Maglev tables (dataplane/lb/). Then single
 * endpoint changes with every Service present (p50/p99), memory per Service, and a
 * conntrack table filled to 1,048,576 flows that are all looked up again.
 *
 * Usage: sluice-lb-bench [EAL args] -- [--services N (100000)] [--endpoints E (10)]
 *          [--chunk C (1000 Services + their slices per List, as sluicectl apply must split
 *          a 4 MiB request)] [--changes K (10000)] [--flows F (1048576; 0: skip)]
 *          [--ct-size T (conntrack table size, default F)]
 *          [--persist FILE: after each List, save the state to FILE as sluiced does after
 *          every change (its default: a journal line, or a snapshot when the journal would
 *          outgrow it), timed apart; then restore it into a new model and tables as sluiced
 *          does at start-up]
 *          [--external-ips K (0): K external IPs per Service, 1 + K frontends with the same
 *          backends (at most 131,072 frontends in all)]
 *          [--check: exit 1 unless every Service reached the Service table, every change
 *          was applied with a p99 under 1 ms, and every flow was held and found]
 *          [--write-json DIR: only write the Lists to DIR/list-NNNN.json (for
 *          perf/svc_load_bench.sh, which applies them to sluiced) and exit]
 * EAL: --no-huge -m 2048 is enough for the defaults (the conntrack table takes ~270 MiB). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "control/lb/sl_lbctl.h"
#include "dataplane/lb/lb_prebuild.h"
#include "control/model/sl_service.h"
#include "control/sources/sl_k8s.h"
#include "control/sources/sl_json.h"
#include "control/sources/sl_persist.h"
#include "control/sources/sl_request.h"
#include "dataplane/core/sl_dp.h"
#include "dataplane/ct/ct.h"
#include "dataplane/lb/lb_table.h"

/* Sections are timed in the thread's CPU time: on a shared machine the wall clock also
 * counts the time other processes had the CPU. The load's total is given both ways. */
static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The reconciler's hook, timed on one call in HOOK_SAMPLE and scaled: reading the
 * thread's CPU clock is a system call (~0.5 us here), and two for every Service added
 * ~0.1 s to the load's total that sluiced does not spend (one call in 32: ~0.003 s; the
 * TSC would count the time other processes had the CPU on this shared machine). A timed
 * call's own clock reading is measured first and taken off (scaled, it was ~0.1 s of the
 * hook's figure). */
#define HOOK_SAMPLE 32
static struct sl_model_hooks inner;
static double t_hook;
static double t_clock; /* what reading the clock adds to a timed call (measured) */
static unsigned long long hook_calls;

static int timed_changed(void *ctx, const struct sl_svc_view *v, char *err, size_t n)
{
	if (hook_calls++ % HOOK_SAMPLE)
		return inner.svc_changed(inner.ctx, v, err, n);
	double t0 = now_s();
	int rc = inner.svc_changed(inner.ctx, v, err, n);
	t_hook += (now_s() - t0 - t_clock) * HOOK_SAMPLE;
	return rc;
}

/* One List of Services [first, first + count) with one EndpointSlice of e endpoints each,
 * as `kubectl get svc,endpointslices -o json` prints them (fields sluice ignores
 * included). Returns heap text. */
static unsigned ext_ips; /* --external-ips: frontends per Service besides the cluster IP */

static char *list_json(unsigned first, unsigned count, unsigned e, unsigned not_ready)
{
	size_t cap = (size_t)count * (1200 + 260 * e + 20 * ext_ips) + 64, l = 0;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	l += (size_t)snprintf(t + l, cap - l, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
	for (unsigned i = first; i < first + count; i++) {
		unsigned ip = 0x0a600000u + i; /* 10.96.0.0/16 and on */
		l += (size_t)snprintf(t + l, cap - l,
			"%s{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
			"\"svc-%u\",\"namespace\":\"ns-%u\",\"uid\":\"5f0c0cbe-8a2b-4f7e-9a51-%012u\","
			"\"resourceVersion\":\"123\",\"creationTimestamp\":\"2026-11-29T10:00:00Z\"},"
			"\"spec\":{\"clusterIP\":\"%u.%u.%u.%u\",\"clusterIPs\":[\"%u.%u.%u.%u\"],"
			"\"internalTrafficPolicy\":\"Cluster\",\"ipFamilies\":[\"IPv4\"],"
			"\"ipFamilyPolicy\":\"SingleStack\",\"ports\":[{\"name\":\"http\",\"port\":80,"
			"\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":{\"app\":\"a-%u\"},"
			"\"sessionAffinity\":\"None\",\"type\":\"ClusterIP\",\"externalIPs\":[",
			i == first ? "" : ",", i, i % 500, i, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
			ip & 255, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, i);
		for (unsigned k = 0; k < ext_ips; k++) {
			unsigned x = 0x64400000u + i * ext_ips + k; /* 100.64.0.0/10 */
			l += (size_t)snprintf(t + l, cap - l, "%s\"%u.%u.%u.%u\"", k ? "," : "",
					      x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255);
		}
		l += (size_t)snprintf(t + l, cap - l, "]},\"status\":{\"loadBalancer\":{}}},");
		l += (size_t)snprintf(t + l, cap - l,
			"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
			"\"metadata\":{\"name\":\"svc-%u-abcde\",\"namespace\":\"ns-%u\",\"labels\":"
			"{\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\","
			"\"kubernetes.io/service-name\":\"svc-%u\"},\"generateName\":\"svc-%u-\"},"
			"\"addressType\":\"IPv4\",\"endpoints\":[", i, i % 500, i, i);
		for (unsigned k = 0; k < e; k++) {
			unsigned a = 0x0af40000u + (i * e + k) % 0xfff00 + 1; /* 10.244.0.0/12 */
			bool r = k != not_ready;
			l += (size_t)snprintf(t + l, cap - l,
				"%s{\"addresses\":[\"%u.%u.%u.%u\"],\"conditions\":{\"ready\":%s,"
				"\"serving\":true,\"terminating\":%s},\"nodeName\":\"node-%u\","
				"\"targetRef\":{\"kind\":\"Pod\",\"name\":\"a-%u-%u\",\"namespace\":"
				"\"ns-%u\"}}", k ? "," : "", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				a & 255, r ? "true" : "false", r ? "false" : "true", (i + k) % 5000, i,
				k, i % 500);
		}
		l += (size_t)snprintf(t + l, cap - l, "],\"ports\":[{\"name\":\"http\",\"port\":8080,"
				      "\"protocol\":\"TCP\"}]}");
	}
	snprintf(t + l, cap - l, "]}");
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static size_t rte_heap_used(void)
{
	struct rte_malloc_socket_stats s;
	size_t sum = 0;
	for (int i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (rte_malloc_get_socket_stats(i, &s) == 0)
			sum += s.heap_allocsz_bytes;
	return sum;
}

/* Fill conntrack with f flows (as ip4-lb creates them), then find every one under both
 * keys. */
static int ct_fill(unsigned f, unsigned table)
{
	size_t r0 = rte_heap_used();
	struct sl_ct_conf cc = { .size = table };
	double t0 = now_s();
	if (sl_ct_init(&cc) < 0) {
		fprintf(stderr, "conntrack: cannot create a table of %u flows\n", f);
		return -1;
	}
	double t_init = now_s() - t0;
	size_t r1 = rte_heap_used();
	uint64_t tsc = rte_rdtsc();
	unsigned made = 0;
	t0 = now_s();
	for (unsigned i = 0; i < f; i++) {
		/* client 10.244.x.y:sport -> VIP 10.96.a.b:80; backend 10.245.x.y:8080 */
		struct sl_ct_key k = { .src = htonl(0x0af40000u + (i >> 4)),
				       .dst = htonl(0x0a600000u + (i & 0xffff)),
				       .sport = htons((uint16_t)(1024 + (i & 15) * 4000 + (i >> 20))),
				       .dport = htons(80), .proto = IPPROTO_TCP };
		made += sl_ct_create(&k, htonl(0x0af50000u + (i & 0xfffff)), htons(8080),
				     RTE_TCP_SYN_FLAG, tsc) != NULL;
	}
	double t_fill = now_s() - t0;
	size_t r2 = rte_heap_used();
	unsigned found = 0, found_rev = 0;
	t0 = now_s();
	for (unsigned i = 0; i < f; i++) {
		struct sl_ct_key k = { .src = htonl(0x0af40000u + (i >> 4)),
				       .dst = htonl(0x0a600000u + (i & 0xffff)),
				       .sport = htons((uint16_t)(1024 + (i & 15) * 4000 + (i >> 20))),
				       .dport = htons(80), .proto = IPPROTO_TCP };
		enum sl_ct_dir d;
		struct sl_ct_entry *e = sl_ct_lookup(&k, &d);
		found += e && d == SL_CT_FWD;
		if (e) {
			enum sl_ct_dir d2;
			found_rev += sl_ct_lookup(&e->rev, &d2) == e && d2 == SL_CT_REV;
		}
	}
	double t_find = now_s() - t0;
	printf("conntrack: table of %u flows created in %.3f s, %zu bytes (%.0f bytes per flow);"
	       " of %u flows %u created in %.3f s (%.0f ns each), held: sl_ct_count %u, insert_failed "
	       "%llu; found %u forward + %u reverse of %u in %.3f s (%.0f ns per lookup); entry "
	       "pool allocation after the fill %+zd bytes\n",
	       table, t_init, r1 - r0, (double)(r1 - r0) / table, f, made, t_fill, t_fill * 1e9 / f,
	       sl_ct_count(), (unsigned long long)atomic_load(&sl_ct.insert_failed), found,
	       found_rev, f, t_find, t_find * 1e9 / (2.0 * f), (ssize_t)(r2 - r1));
	sl_ct_fini();
	return found == f && found_rev == f && made == f ? 0 : -1;
}

/* As sluiced: DPDK's memory is not copied into the state's snapshot child. */
static int dontfork_msl(const struct rte_memseg_list *msl, void *arg)
{
	if (msl->base_va && msl->len)
		madvise(msl->base_va, msl->len, MADV_DONTFORK);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = rte_eal_init(argc, argv);
	if (rc >= 0)
		rte_memseg_list_walk(dontfork_msl, NULL);
	if (getenv("SL_PERSIST_FORK") && !strcmp(getenv("SL_PERSIST_FORK"), "0"))
		sl_persist_set_fork(false); /* A/B: every snapshot in process, as before */
	if (rc < 0) {
		fprintf(stderr, "sluice-lb-bench: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	unsigned n = 100000, e = 10, chunk = 1000, changes = 10000, flows = 1u << 20, table = 0;
	const char *write_dir = NULL;
	bool check = false, check_ok = true;
	const char *persist = NULL;
	int maglev_threads = -1; /* as sluiced: one builder per spare control core */
	static const struct option opts[] = {
		{ "services", required_argument, NULL, 's' },
		{ "endpoints", required_argument, NULL, 'e' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "changes", required_argument, NULL, 'k' },
		{ "flows", required_argument, NULL, 'f' },
		{ "ct-size", required_argument, NULL, 't' },
		{ "write-json", required_argument, NULL, 'w' },
		{ "check", no_argument, NULL, 'C' },
		{ "persist", required_argument, NULL, 'P' },
		{ "external-ips", required_argument, NULL, 'x' },
		{ "maglev-threads", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned v = (unsigned)strtoul(optarg ? optarg : "0", NULL, 0);
		switch (o) {
		case 's': n = v; break;
		case 'e': e = v; break;
		case 'c': chunk = v ? v : 1; break;
		case 'k': changes = v; break;
		case 'f': flows = v; break;
		case 't': table = v; break;
		case 'w': write_dir = optarg; break;
		case 'C': check = true; break;
		case 'P': persist = optarg; break;
		case 'x': ext_ips = v; break;
		case 'M': maglev_threads = (int)strtol(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!n || !e || e > 200) {
		fprintf(stderr, "sluice-lb-bench: --services >= 1, --endpoints 1-200\n");
		return 2;
	}
	if (write_dir) {
		for (unsigned first = 0, d = 0; first < n; first += chunk, d++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/list-%04u.json", write_dir, d);
			char *t = list_json(first, first + chunk > n ? n - first : chunk, e, e);
			FILE *f = fopen(path, "w");
			if (!t || !f || fputs(t, f) < 0 || fclose(f)) {
				fprintf(stderr, "sluice-lb-bench: cannot write %s\n", path);
				return 1;
			}
			free(t);
		}
		return 0;
	}
	if ((rc = sl_dp_init(1, 1024)) < 0) {
		fprintf(stderr, "sluice-lb-bench: sl_dp_init: %s\n", strerror(-rc));
		return 1;
	}
	char err[512];
	struct sl_model_self self = { .node_name = "node-1" };
	struct sl_model *m = sl_model_create(&self, NULL);
	/* The Service table sized as sluiced sizes it; conntrack small here (filled apart). */
	sl_lbctl_hooks(&inner, &(struct sl_lbctl_conf){ .ct_size = 4096, .node_port_lo = 30000,
					      .node_port_hi = 32767,
					      .maglev_threads = maglev_threads });
	printf("Maglev builder threads besides the control thread: %u\n",
	       sl_lb_prebuild_thread_count());
	struct sl_model_hooks h = inner;
	h.svc_changed = timed_changed;
	sl_model_set_hooks(m, &h);

	/* The input, as sluicectl would send it: Lists of `chunk` Services + their slices. */
	unsigned n_docs = (n + chunk - 1) / chunk;
	char **docs = calloc(n_docs, sizeof(*docs));
	size_t bytes = 0;
	for (unsigned d = 0; d < n_docs; d++) {
		unsigned first = d * chunk, cnt = first + chunk > n ? n - first : chunk;
		if (!(docs[d] = list_json(first, cnt, e, e)))
			return 1;
		bytes += strlen(docs[d]);
	}
	printf("input: %u Services with one %u-endpoint slice each, %u Lists of up to %u "
	       "Services, %.1f MB of JSON (%.0f bytes per Service + slice)\n",
	       n, e, n_docs, chunk, bytes / 1e6, (double)bytes / n);

	{
		double c0 = now_s();
		for (int i = 0; i < 1000; i++)
			now_s();
		t_clock = (now_s() - c0) / 1001;
	}
	size_t heap0 = heap_used(), rte0 = rte_heap_used();
	double t_parse = 0, t_decode = 0, t_apply = 0, t_free = 0, t_save = 0, t_save_last = 0;
	double t_all0 = now_s(), w_all0 = wall_s();
	for (unsigned d = 0; d < n_docs; d++) {
		double t0 = now_s();
		/* As sl_request_parse reads a request: the items decoded as they are read. */
		static const char *const items_path[] = { "items" };
		struct sl_json_arena arena = { 0 };
		struct sl_k8s_stream st = { 0 };
		struct sl_json_watch w = { .path = items_path, .depth = 1,
					   .elem = sl_k8s_stream_elem, .ctx = &st };
		cJSON *doc = sl_json_parse_watch(&arena, docs[d], strlen(docs[d]), NULL, &w);
		double t1 = now_s();
		struct sl_k8s_op *ops;
		unsigned nops;
		if (!doc || (rc = sl_k8s_stream_finish(&st, w.streamed && w.n, doc, &ops, &nops,
						       err, sizeof(err)))) {
			fprintf(stderr, "decode: %s\n", !doc ? "invalid JSON"
					 : rc == -EAGAIN ? "not streamed" : err);
			return 1;
		}
		/* As sluiced (sl_request_parse): the JSON is freed once decoded, the ops once
		 * applied. */
		double t2 = now_s();
		sl_json_arena_free(&arena);
		double t3 = now_s();
		if (persist) { /* as sluiced's API does before applying a request */
			struct sl_request rq = { .cmd = SL_CMD_APPLY, .ops = ops, .n_ops = nops };
			sl_persist_note_request(&rq);
		}
		if (sl_model_k8s_apply(m, ops, nops, err, sizeof(err))) {
			fprintf(stderr, "apply: %s\n", err);
			return 1;
		}
		double t4 = now_s();
		sl_k8s_ops_free(ops, nops);
		double dp = 0; /* the save, counted apart */
		if (persist) {
			double p0 = now_s();
			if ((rc = sl_persist_commit(persist, m)) < 0) {
				fprintf(stderr, "save %s: %s\n", persist, strerror(-rc));
				return 1;
			}
			dp = now_s() - p0;
			t_save += dp;
			t_save_last = dp;
		}
		t_parse += t1 - t0;
		t_decode += t2 - t1;
		t_free += t3 - t2 + now_s() - t4 - dp;
		t_apply += t4 - t3;
	}
	double t_all = now_s() - t_all0, w_all = wall_s() - w_all0;
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	size_t heap1 = heap_used(), rte1 = rte_heap_used();
	if (c.services != n || c.slices != n || sl_lb.n_services != n) {
		fprintf(stderr, "check: %u Services, %u slices, %u frontends, not %u each\n",
			c.services, c.slices, sl_lb.n_services, n);
		check_ok = false;
	}
	printf("load from JSON: %u Services + %u slices, %u frontends in the Service table: "
	       "%.3f s on the CPU (%.3f s wall clock)\n", c.services, c.slices, sl_lb.n_services,
	       t_all, w_all);
	struct sl_lb_prebuild_stats pbs;
	sl_lb_prebuild_get_stats(&pbs);
	printf("  Maglev tables built ahead: %llu noted, %llu of them by builder threads; %llu "
	       "entries set with one, %llu built when set (a builder late)\n",
	       (unsigned long long)pbs.noted, (unsigned long long)pbs.by_builders,
	       (unsigned long long)pbs.used, (unsigned long long)pbs.late);
	printf("  parse + decode       %.3f s  (%.2f us per Service + slice; sl_json's reader, "
	       "each item decoded by sl_k8s as it is read)\n", t_parse, t_parse * 1e6 / n);
	printf("  decode after parse   %.3f s  (%.2f us; the check, or the tree when the stream "
	       "could not be used)\n", t_decode, t_decode * 1e6 / n);
	printf("  model apply          %.3f s  (%.2f us), of which the reconciler hook %.3f s "
	       "(%.2f us, %llu calls, one in %d timed); model + views %.3f s\n", t_apply, t_apply * 1e6 / n,
	       t_hook, t_hook * 1e6 / n, hook_calls, HOOK_SAMPLE, t_apply - t_hook);
	printf("  frees (cJSON, ops)   %.3f s\n", t_free);
	if (persist) {
		struct stat sb;
		struct sl_persist_stats pst;
		double c0 = now_s(), w0 = wall_s();
		sl_persist_reap(true); /* the last snapshot child, if one still runs */
		double c1 = now_s(), w1 = wall_s();
		t_save += c1 - c0;
		sl_persist_get_stats(&pst);
		printf("  state saves          %.3f s for %u saves (the last %.3f s): %llu journal "
		       "appends (%.1f MB), %llu snapshots (%.1f MB in all, the last %.1f MB)\n",
		       t_save, n_docs, t_save_last, (unsigned long long)pst.appends,
		       pst.append_bytes / 1e6, (unsigned long long)pst.snapshots,
		       pst.snapshot_bytes / 1e6, stat(persist, &sb) ? 0.0 : sb.st_size / 1e6);
		printf("    of which journal lines %.3f s (making their text %.3f s, the rest write + "
		       "fdatasync), snapshots %.3f s "
		       "(%llu by a forked child, %llu failed; fork + reap on this thread; waiting for "
		       "the last child at the end: %.3f s wall clock)\n", pst.append_ns / 1e9,
		       pst.encode_ns / 1e9,
		       pst.snapshot_ns / 1e9, (unsigned long long)pst.forks,
		       (unsigned long long)pst.fork_failures, w1 - w0);
	}
	printf("memory: model %zu bytes (%.0f per Service with its slice); malloc heap %+.1f MiB "
	       "(%.0f per Service: model + reconciler); rte_malloc %+.1f MiB (%.0f per Service: "
	       "Service table entries with their Maglev tables, %zu bytes each for %u backends) "
	       "+ the Service hash (%u frontends)\n",
	       c.bytes, (double)c.bytes / n, (double)(heap1 - heap0) / 1048576.0,
	       (double)(heap1 - heap0) / n, (double)(rte1 - rte0) / 1048576.0,
	       (double)(rte1 - rte0) / n, sl_lb_service_size(e, e - 0), e, sl_lb.max_services);
	for (unsigned d = 0; d < n_docs; d++)
		free(docs[d]);
	free(docs);

	/* Parts, each alone over every Service: views, Maglev builds, table sets. */
	{
		struct sl_model_svc *s;
		struct sl_svc_view *v;
		double t0 = now_s();
		for (uint32_t id = 0; (s = sl_model_svc_next(m, &id));) {
			if (sl_svc_view_build(m, s, &v) == 0)
				sl_svc_view_free(v);
		}
		double t_view = now_s() - t0;
		struct sl_maglev_backend mb[200];
		uint32_t mm = sl_maglev_size(e);
		uint16_t *slots = malloc(mm * sizeof(*slots));
		t0 = now_s();
		for (unsigned i = 0; i < n; i++) {
			for (unsigned k = 0; k < e; k++)
				mb[k] = (struct sl_maglev_backend){ htonl(0x0af40000u + i * e + k),
								    htons(8080), 0 };
			sl_maglev_build(mb, e, mm, slots);
		}
		double t_mag = now_s() - t0;
		free(slots);
		printf("parts, each over all %u Services: view build %.3f s (%.2f us), Maglev "
		       "build (M %u, %u backends) %.3f s (%.2f us)\n", n, t_view, t_view * 1e6 / n,
		       mm, e, t_mag, t_mag * 1e6 / n);
	}

	/* One endpoint change at a time with every Service present: a slice replaced (one
	 * endpoint turns not ready), its Service's view, Maglev table and entry rebuilt and
	 * published. Ops are decoded before the clock starts (as a watch event would be). */
	if (changes) {
		double *lat = calloc(changes, sizeof(*lat));
		for (unsigned k = 0; k < changes; k++) {
			unsigned i = (unsigned)(((uint64_t)k * 7919u) % n);
			char *text = list_json(i, 1, e, k % e);
			/* only the slice: drop the Service from the List (items[1]) */
			cJSON *doc = cJSON_Parse(text);
			free(text);
			cJSON *items = cJSON_GetObjectItem(doc, "items");
			cJSON_DeleteItemFromArray(items, 0);
			struct sl_k8s_op *ops;
			unsigned nops;
			if (sl_k8s_decode(doc, &ops, &nops, err, sizeof(err))) {
				fprintf(stderr, "change decode: %s\n", err);
				return 1;
			}
			cJSON_Delete(doc);
			unsigned sets = (unsigned)sl_lb.sets;
			double t0 = now_s();
			rc = sl_model_k8s_apply(m, ops, nops, err, sizeof(err));
			lat[k] = now_s() - t0;
			if (rc || sl_lb.sets != sets + 1u + ext_ips) {
				fprintf(stderr, "change %u: %s (table sets %u)\n", k, rc ? err : "ok",
					(unsigned)(sl_lb.sets - sets));
				return 1;
			}
			sl_k8s_ops_free(ops, nops);
			if ((k & 63) == 0)
				sl_dp_reclaim();
		}
		qsort(lat, changes, sizeof(*lat), cmp_double);
		if (lat[changes * 99 / 100] >= 1e-3) {
			fprintf(stderr, "check: endpoint change p99 %.0f us, not under 1 ms\n",
				lat[changes * 99 / 100] * 1e6);
			check_ok = false;
		}
		double sum = 0;
		for (unsigned k = 0; k < changes; k++)
			sum += lat[k];
		printf("endpoint change with %u Services present (model + view + Maglev + publish), "
		       "%u changes: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us, mean %.1f "
		       "us\n", n, changes, lat[changes / 2] * 1e6, lat[changes * 99 / 100] * 1e6,
		       lat[changes * 999 / 1000] * 1e6, lat[changes - 1] * 1e6,
		       sum * 1e6 / changes);
		free(lat);
	}
	double t0 = now_s();
	sl_model_destroy(m);
	sl_dp_drain();
	sl_lbctl_fini();
	printf("delete all: %.3f s\n", now_s() - t0);

	/* The same load from objects already decoded (a Kubernetes watch cache, the persisted
	 * state once parsed): a new model and new tables, the same batches. */
	{
		struct sl_k8s_op **ops = calloc(n_docs, sizeof(*ops));
		unsigned *nops = calloc(n_docs, sizeof(*nops));
		for (unsigned d = 0; d < n_docs; d++) {
			unsigned first = d * chunk, cnt = first + chunk > n ? n - first : chunk;
			char *text = list_json(first, cnt, e, e);
			if (sl_k8s_decode_text(text, strlen(text), &ops[d], &nops[d], err,
					       sizeof(err))) {
				fprintf(stderr, "decode: %s\n", err);
				return 1;
			}
			free(text);
		}
		m = sl_model_create(&self, NULL);
		sl_model_set_hooks(m, &h);
		t_hook = 0;
		double t1 = now_s(), w1 = wall_s();
		for (unsigned d = 0; d < n_docs; d++) {
			if (sl_model_k8s_apply(m, ops[d], nops[d], err, sizeof(err))) {
				fprintf(stderr, "apply: %s\n", err);
				return 1;
			}
		}
		double t2 = now_s(), w2 = wall_s();
		printf("load from decoded objects (%u batches): %u Services in %.3f s on the CPU "
		       "(%.3f s wall clock): reconciler hook %.3f s, model + views %.3f s\n", n_docs,
		       sl_lb.n_services, t2 - t1, w2 - w1, t_hook, t2 - t1 - t_hook);
		for (unsigned d = 0; d < n_docs; d++)
			sl_k8s_ops_free(ops[d], nops[d]);
		free(ops);
		free(nops);
		sl_model_destroy(m);
		sl_dp_drain();
		sl_lbctl_fini();
	}

	if (persist) {
		m = sl_model_create(&self, NULL);
		sl_model_set_hooks(m, &h);
		double t1 = now_s(), w1 = wall_s();
		rc = sl_persist_load(persist, m, err, sizeof(err));
		double t2 = now_s(), w2 = wall_s();
		struct sl_model_counts rc_c;
		sl_model_counts(m, &rc_c);
		if (rc < 0)
			fprintf(stderr, "restore: %s\n", err);
		printf("restore from the state file (as sluiced starts): %d objects, %u Services, %u "
		       "frontends in %.3f s on the CPU (%.3f s wall clock)\n", rc, rc_c.services,
		       sl_lb.n_services, t2 - t1, w2 - w1);
		if (rc_c.services != n || sl_lb.n_services != n)
			check_ok = false;
		sl_model_destroy(m);
		sl_dp_drain();
		sl_lbctl_fini();
		unlink(persist);
		char jp[4200];
		snprintf(jp, sizeof(jp), "%s" SL_PERSIST_JOURNAL_SUFFIX, persist);
		unlink(jp);
		snprintf(jp, sizeof(jp), "%s" SL_PERSIST_NEXT_SUFFIX, persist);
		unlink(jp);
	}
	if (flows && ct_fill(flows, table ? table : flows) < 0) {
		fprintf(stderr, "conntrack: not every flow was held and found\n");
		check_ok = false;
	}
	sl_dp_fini();
	rte_eal_cleanup();
	if (check)
		printf("check: %s\n", check_ok ? "OK" : "FAILED");
	return check && !check_ok ? 1 : 0;
}
