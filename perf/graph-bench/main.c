/* sluice-graph-bench: command line, the measured run, the checks and the report (see gb.h).
 *
 *   sluice-graph-bench [EAL args] -- [--dir encap|decap] [--flows N] [--pods N]
 *       [--remotes N] [--inflight N] [--verify-every N] [--duration S] [--warmup S]
 *       [--json FILE] [--pcap FILE] [--label NAME] [--quiet] [--wrong-vni]
 *
 * The EAL's main lcore is the control thread; every other lcore runs one worker. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include "dataplane/core/sl_worker.h"
#include "dataplane/lb/lb_table.h"
#include "dataplane/policy/pol_table.h"
#include "gb.h"

#define MAX_NODES 96 /* graph nodes per worker, drop nodes included */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice-graph-bench [EAL args] -- [options]\n"
		"  --dir encap|decap   pod -> remote pod over VXLAN, or back (default encap)\n"
		"  --flows N           distinct inner UDP flows (default 1024, max %d)\n"
		"  --pods N            local pod ports, spread over workers (default 4, max %d)\n"
		"  --remotes N         remote nodes (VTEPs) (default 4, max %d)\n"
		"  --inflight N        frames circulating per receive queue (default 512)\n"
		"  --verify-every N    check every byte of one output frame in N (default 16)\n"
		"  --duration S        measured window in seconds (default 5)\n"
		"  --warmup S          seconds before the window (default 1)\n"
		"  --json FILE         write the result as JSON\n"
		"  --pcap FILE         write a few checked output frames as pcap\n"
		"  --label NAME        copied into the JSON\n"
		"  --quiet             no per-second lines\n"
		"  --services          encap: pods send to Service VIPs that ip4-lb translates to\n"
		"                      the remote pods (1 backend each; established flows)\n"
		"  --affinity          with --services: the Services have sessionAffinity ClientIP\n"
		"  --new-flows         with --services: every frame is a new flow (its own UDP\n"
		"                      source port): a Maglev pick and a conntrack entry per packet\n"
		"  --policies N        encap: N NetworkPolicies (10 rules each) isolating the pods for\n"
		"                      egress and allowing the flows: ip4-policy on the path\n"
		"  --ct-size N         conntrack entries (default 2 x flows; 2^23 with --new-flows:\n"
		"                      the run fails when new flows outnumber it)\n"
		"  --svc-per-remote N  with --services: the flows go to N Services per remote node\n"
		"                      (default: one per remote pod address they use)\n"
		"  --svc-table N       with --services: N frontends in the Service table, the\n"
		"                      traffic's plus idle ones of 10 backends (default: the\n"
		"                      traffic's only)\n"
		"  --wrong-vni         self-test: the bench's end of the tunnel uses another VNI,\n"
		"                      so the checks must fail (exit status 3)\n"
		"Every EAL lcore but the main one runs a worker (e.g. --lcores 0@0,1@1,2@0).\n",
		GB_MAX_FLOWS, GB_MAX_PODS, GB_MAX_REMOTES);
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max,
		      unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "sluice-graph-bench: %s: '%s' is not a number from %u to %u\n",
			opt, s, min, max);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static int parse_secs(const char *opt, const char *s, double min, double *ret)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || end == s || !(v >= min) || v > 3600) {
		fprintf(stderr, "sluice-graph-bench: %s: '%s' is not a number of seconds from "
			"%g to 3600\n", opt, s, min);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct gb_args *a)
{
	enum { O_DIR = 256, O_FLOWS, O_PODS, O_REMOTES, O_INFLIGHT, O_VERIFY, O_DURATION,
	       O_WARMUP, O_JSON, O_PCAP, O_LABEL, O_QUIET, O_WRONG_VNI, O_SERVICES, O_HELP,
	       O_AFFINITY, O_NEW_FLOWS, O_CT_SIZE, O_POLICIES, O_SVC_TABLE, O_SVC_PER_REMOTE };
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, O_DIR },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "pods", required_argument, NULL, O_PODS },
		{ "remotes", required_argument, NULL, O_REMOTES },
		{ "inflight", required_argument, NULL, O_INFLIGHT },
		{ "verify-every", required_argument, NULL, O_VERIFY },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "json", required_argument, NULL, O_JSON },
		{ "pcap", required_argument, NULL, O_PCAP },
		{ "label", required_argument, NULL, O_LABEL },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "wrong-vni", no_argument, NULL, O_WRONG_VNI },
		{ "services", no_argument, NULL, O_SERVICES },
		{ "affinity", no_argument, NULL, O_AFFINITY },
		{ "new-flows", no_argument, NULL, O_NEW_FLOWS },
		{ "ct-size", required_argument, NULL, O_CT_SIZE },
		{ "policies", required_argument, NULL, O_POLICIES },
		{ "svc-table", required_argument, NULL, O_SVC_TABLE },
		{ "svc-per-remote", required_argument, NULL, O_SVC_PER_REMOTE },
		{ "help", no_argument, NULL, O_HELP },
		{ 0 },
	};
	*a = (struct gb_args){ .dir = GB_ENCAP, .flows = 1024, .pods = 4, .remotes = 4,
			       .inflight = 512, .verify_every = 16, .duration_s = 5,
			       .warmup_s = 1, .label = "graph-bench" };
	int o, rc = 0;
	optind = 1;
	while (rc == 0 && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_DIR:
			if (!strcmp(optarg, "encap"))
				a->dir = GB_ENCAP;
			else if (!strcmp(optarg, "decap"))
				a->dir = GB_DECAP;
			else {
				fprintf(stderr, "sluice-graph-bench: --dir: '%s' is not encap or "
					"decap\n", optarg);
				rc = -EINVAL;
			}
			break;
		case O_FLOWS: rc = parse_uint("--flows", optarg, 1, GB_MAX_FLOWS, &a->flows); break;
		case O_PODS: rc = parse_uint("--pods", optarg, 1, GB_MAX_PODS, &a->pods); break;
		case O_REMOTES:
			rc = parse_uint("--remotes", optarg, 1, GB_MAX_REMOTES, &a->remotes);
			break;
		case O_INFLIGHT:
			rc = parse_uint("--inflight", optarg, 32, 16384, &a->inflight);
			break;
		case O_VERIFY:
			rc = parse_uint("--verify-every", optarg, 1, 1u << 30, &a->verify_every);
			break;
		case O_DURATION: rc = parse_secs("--duration", optarg, 0.1, &a->duration_s); break;
		case O_WARMUP: rc = parse_secs("--warmup", optarg, 0, &a->warmup_s); break;
		case O_JSON: a->json = optarg; break;
		case O_PCAP: a->pcap = optarg; break;
		case O_LABEL: a->label = optarg; break;
		case O_QUIET: a->quiet = true; break;
		case O_WRONG_VNI: a->wrong_vni = true; break;
		case O_SERVICES: a->services = true; break;
		case O_AFFINITY: a->affinity = true; break;
		case O_NEW_FLOWS: a->new_flows = true; break;
		case O_CT_SIZE: rc = parse_uint("--ct-size", optarg, 1024, 1u << 26, &a->ct_size); break;
		case O_POLICIES:
			rc = parse_uint("--policies", optarg, 0, 100000, &a->policies);
			break;
		case O_SVC_PER_REMOTE:
			rc = parse_uint("--svc-per-remote", optarg, 1, GB_MAX_FLOWS,
					&a->svc_per_remote);
			break;
		case O_SVC_TABLE:
			rc = parse_uint("--svc-table", optarg, 1, 1u << 20, &a->svc_table);
			break;
		case O_HELP: usage(stdout); exit(GB_EXIT_OK);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (rc == 0 && a->new_flows && !a->services && !a->policies) {
		fprintf(stderr, "sluice-graph-bench: --new-flows needs --services or --policies\n");
		rc = -EINVAL;
	}
	if (rc == 0 && (a->svc_table || a->svc_per_remote) && !a->services) {
		fprintf(stderr, "sluice-graph-bench: --svc-table and --svc-per-remote need "
			"--services\n");
		rc = -EINVAL;
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "sluice-graph-bench: unexpected argument '%s'\n", argv[optind]);
		rc = -EINVAL;
	}
	return rc;
}

static int bench_worker(void *arg)
{
	struct gb_worker *g = arg;
	struct sl_worker *w = g->w;
	g->thread = pthread_self();
	atomic_store(&g->started, true);
	rte_rcu_qsbr_thread_register(sl_dp.qsbr, w->id);
	rte_rcu_qsbr_thread_online(sl_dp.qsbr, w->id);
	while (!sl_dp.quit) {
		/* What sl_worker_main does, minus the idle back-off (never idle here). */
		sl_worker_poll(w);
		uint64_t t = rte_rdtsc();
		gb_recycle(g);
		g->io_cycles += rte_rdtsc() - t;
	}
	rte_rcu_qsbr_thread_offline(sl_dp.qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(sl_dp.qsbr, w->id);
	return 0;
}

/* Counters at one instant. */
struct snap {
	uint64_t tsc;
	struct {
		uint64_t sink, io_cycles, loops, cpu_ns;
		int n_nodes;
		struct sl_node_stats nodes[MAX_NODES];
	} w[SL_MAX_WORKERS];
};

static uint64_t thread_cpu_ns(pthread_t t)
{
	clockid_t cid;
	struct timespec ts;
	if (pthread_getcpuclockid(t, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void take_snap(struct snap *s, const struct gb_worker *gbw)
{
	s->tsc = rte_rdtsc();
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		const struct gb_worker *g = &gbw[w];
		s->w[w].sink = __atomic_load_n(&g->sink, __ATOMIC_RELAXED);
		s->w[w].io_cycles = __atomic_load_n(&g->io_cycles, __ATOMIC_RELAXED);
		s->w[w].loops = __atomic_load_n(&g->w->loops, __ATOMIC_RELAXED);
		s->w[w].cpu_ns = thread_cpu_ns(g->thread);
	}
	/* After the cheap counters: the graph statistics take a while to gather. */
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		s->w[w].n_nodes = sl_worker_graph_stats(gbw[w].w, s->w[w].nodes, MAX_NODES);
}

/* Sleep s seconds in steps, printing the rate each second unless quiet. */
static void wait_phase(double s, const struct gb_worker *gbw, const char *what, bool quiet)
{
	uint64_t hz = rte_get_tsc_hz(), end = rte_rdtsc() + (uint64_t)(s * (double)hz);
	uint64_t last_sink = 0, last_tsc = rte_rdtsc();
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		last_sink += __atomic_load_n(&gbw[w].sink, __ATOMIC_RELAXED);
	while (!interrupted) {
		uint64_t now = rte_rdtsc();
		if (now >= end)
			break;
		uint64_t step = RTE_MIN(end - now, hz);
		usleep((useconds_t)(step * 1000000 / hz));
		if (quiet || step < hz)
			continue;
		uint64_t sink = 0;
		for (unsigned w = 0; w < sl_dp.n_workers; w++)
			sink += __atomic_load_n(&gbw[w].sink, __ATOMIC_RELAXED);
		now = rte_rdtsc();
		printf("  %s: %.2f Mpps\n", what,
		       (double)(sink - last_sink) * (double)hz / (double)(now - last_tsc) / 1e6);
		fflush(stdout);
		last_sink = sink;
		last_tsc = now;
	}
}

static int cpu_of_lcore(unsigned lcore)
{
	rte_cpuset_t set = rte_lcore_cpuset(lcore);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return -1;
}

static const struct sl_node_stats *find_node(const struct snap *s, unsigned w, const char *n)
{
	for (int i = 0; i < s->w[w].n_nodes; i++)
		if (!strcmp(s->w[w].nodes[i].name, n))
			return &s->w[w].nodes[i];
	return NULL;
}

static double per(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

/* v rounded to the given number of decimals, for the JSON. */
static double roundn(double v, int decimals)
{
	double k = decimals == 1 ? 10 : decimals == 2 ? 100 : 1000;
	return (double)(int64_t)(v * k + (v < 0 ? -0.5 : 0.5)) / k;
}

/* The share of the window worker w's thread was on a CPU (at most 1). */
static double cpu_share(const struct snap *a, const struct snap *b, unsigned w)
{
	double wall_ns = (double)(b->tsc - a->tsc) * 1e9 / (double)rte_get_tsc_hz();
	double cpu_ns = (double)(b->w[w].cpu_ns - a->w[w].cpu_ns);
	return wall_ns > 0 ? RTE_MIN(cpu_ns / wall_ns, 1.0) : 0;
}

/* Node statistics over the window as JSON rows; worker < 0 sums all workers.
 * rte_graph counts TSC cycles, so time a worker spends descheduled inside a node's call
 * counts as that node's. Such preemptions fall on nodes in proportion to their time, so
 * multiplying by the worker's CPU share estimates the cycles spent on the CPU
 * ("cycles_per_packet_on_cpu"; the same as the raw figure on a quiet machine). */
static cJSON *node_rows(const struct snap *a, const struct snap *b, int worker, bool print)
{
	/* The path's nodes in path order, then any other node that saw packets. */
	static const char *const path[] = { "port-rx", "eth-input", "ip4-input", "ip4-lb",
					    "ip4-policy", "vxlan-decap",
					    "ip4-lookup", "vxlan-encap", "eth-output", "port-tx" };
	const unsigned n_path = RTE_DIM(path);
	cJSON *rows = cJSON_CreateArray();
	unsigned w0 = worker < 0 ? 0 : (unsigned)worker;
	unsigned w1 = worker < 0 ? sl_dp.n_workers : w0 + 1;
	for (int i = 0; i < (int)n_path + b->w[w0].n_nodes; i++) {
		const char *name = i < (int)n_path ? path[i] : b->w[w0].nodes[i - n_path].name;
		bool on_path = false;
		for (unsigned k = 0; i >= (int)n_path && k < n_path; k++)
			on_path |= !strcmp(name, path[k]);
		if (on_path)
			continue;
		uint64_t objs = 0, calls = 0, cycles = 0;
		double on_cpu = 0;
		for (unsigned w = w0; w < w1; w++) {
			const struct sl_node_stats *x = find_node(a, w, name), *y = find_node(b, w, name);
			if (!x || !y)
				continue;
			objs += y->objs - x->objs;
			calls += y->calls - x->calls;
			cycles += y->cycles - x->cycles;
			on_cpu += (double)(y->cycles - x->cycles) * cpu_share(a, b, w);
		}
		if (!objs)
			continue;
		cJSON *o = cJSON_CreateObject();
		if (worker >= 0)
			cJSON_AddNumberToObject(o, "worker", worker);
		cJSON_AddStringToObject(o, "node", name);
		cJSON_AddNumberToObject(o, "packets", (double)objs);
		cJSON_AddNumberToObject(o, "calls", (double)calls);
		cJSON_AddNumberToObject(o, "vectors_per_call", roundn(per(objs, calls), 1));
		cJSON_AddNumberToObject(o, "cycles_per_packet", roundn(per(cycles, objs), 1));
		cJSON_AddNumberToObject(o, "cycles_per_packet_on_cpu",
					roundn(on_cpu / (double)objs, 1));
		cJSON_AddItemToArray(rows, o);
		if (print)
			printf("  %-16s %14" PRIu64 " %12" PRIu64 " %9.1f %11.1f %11.1f\n", name,
			       objs, calls, per(objs, calls), per(cycles, objs),
			       on_cpu / (double)objs);
	}
	return rows;
}

/* Whole-run counters after the workers stopped: every frame the ports received was sent,
 * every frame sent reached the sink, nothing dropped, every check passed, no mbuf lost.
 * Adds them to o; returns true when all hold. */
static bool final_check(cJSON *o, const struct gb_args *a, const struct gb_worker *gbw,
			int injected, const struct gb_flow *flows, unsigned n_flows)
{
	uint64_t rx = 0, tx = 0, tx_dropped = 0, sink = 0, verified = 0, bad = 0, ring_full = 0;
	uint64_t in_rings = 0;
	for (unsigned i = 0; i < SL_MAX_PORTS; i++) {
		const struct sl_port *p = sl_dp.ports[i];
		for (unsigned w = 0; p && w < sl_dp.n_workers; w++) {
			rx += p->stats[w].rx_packets;
			tx += p->stats[w].tx_packets;
			tx_dropped += p->stats[w].tx_dropped;
		}
	}
	const char *first_bad = NULL;
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		const struct gb_worker *g = &gbw[w];
		sink += g->sink;
		verified += g->verified;
		bad += g->bad;
		ring_full += g->ring_full;
		if (g->bad && !first_bad)
			first_bad = g->first_bad;
		for (unsigned s = 0; s < g->n_rx; s++)
			in_rings += rte_ring_count(g->rx[s]);
	}
	cJSON *drops = cJSON_AddObjectToObject(o, "drops");
	uint64_t dropped = 0;
	for (unsigned r = 0; r < SL_DROP_COUNT; r++) {
		uint64_t n = 0;
		for (unsigned w = 0; w < sl_dp.n_workers; w++)
			n += sl_dp.workers[w].drops[r];
		if (n)
			cJSON_AddNumberToObject(drops, sl_drop_name(r), (double)n);
		dropped += n;
	}
	uint64_t in_use = sl_dp.pool->size - rte_mempool_avail_count(sl_dp.pool);
	unsigned flows_checked = 0;
	for (unsigned i = 0; i < n_flows; i++)
		flows_checked += flows[i].checked;
	bool ok = rx > 0 && rx == tx && tx == sink && !dropped && !tx_dropped && !bad &&
		  !ring_full && verified > 0 && in_rings == (uint64_t)injected &&
		  in_use == (uint64_t)injected;
	cJSON_AddNumberToObject(o, "rx_packets", (double)rx);
	cJSON_AddNumberToObject(o, "tx_packets", (double)tx);
	cJSON_AddNumberToObject(o, "sink_packets", (double)sink);
	cJSON_AddNumberToObject(o, "tx_dropped", (double)tx_dropped);
	cJSON_AddNumberToObject(o, "dropped", (double)dropped);
	cJSON_AddNumberToObject(o, "fully_checked", (double)verified);
	cJSON_AddNumberToObject(o, "flows_fully_checked", flows_checked);
	cJSON_AddNumberToObject(o, "bad", (double)bad);
	cJSON_AddNumberToObject(o, "mbufs_injected", injected);
	cJSON_AddNumberToObject(o, "mbufs_back_in_rx_rings", (double)in_rings);
	cJSON_AddNumberToObject(o, "mbufs_in_use", (double)in_use);
	if (first_bad)
		cJSON_AddStringToObject(o, "first_bad", first_bad);
	if (a->new_flows) {
		/* Every frame received was a new flow: one conntrack entry each, none refused. */
		uint64_t held = sl_ct_count(), failed = atomic_load(&sl_ct.insert_failed);
		ok = ok && held == rx && failed == 0;
		cJSON_AddNumberToObject(o, "conntrack_entries", (double)held);
		cJSON_AddNumberToObject(o, "conntrack_size", sl_ct.conf.size);
		cJSON_AddNumberToObject(o, "conntrack_insert_failed", (double)failed);
		printf("new flows: %" PRIu64 " conntrack entries for %" PRIu64 " frames received "
		       "(table of %u), %" PRIu64 " refused\n", held, rx, sl_ct.conf.size, failed);
	}
	cJSON_AddBoolToObject(o, "ok", ok);
	printf("check: rx %" PRIu64 ", tx %" PRIu64 ", sink %" PRIu64 ", dropped %" PRIu64
	       ", tx_dropped %" PRIu64 "; %" PRIu64 " frames (of %u/%u flows) fully checked, %"
	       PRIu64 " bad; mbufs %" PRIu64 " of %d back on their rings, %" PRIu64
	       " in use: %s\n", rx, tx, sink, dropped, tx_dropped, verified, flows_checked,
	       n_flows, bad, in_rings, injected, in_use, ok ? "OK" : "FAILED");
	if (first_bad)
		printf("  first bad frame: %s\n", first_bad);
	cJSON *it;
	cJSON_ArrayForEach(it, drops)
		printf("  dropped by sluice: %s %.0f\n", it->string, it->valuedouble);
	return ok;
}

static void lcore_report(cJSON *o, const struct gb_worker *gbw)
{
	unsigned main_lc = rte_get_main_lcore();
	int main_cpu = cpu_of_lcore(main_lc);
	cJSON *c = cJSON_AddObjectToObject(o, "control");
	cJSON_AddNumberToObject(c, "lcore", main_lc);
	cJSON_AddNumberToObject(c, "cpu", main_cpu);
	printf("lcores: control lcore %u on CPU %d", main_lc, main_cpu);
	int shares = -1;
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		if (cpu_of_lcore(gbw[w].w->lcore) == main_cpu && shares < 0)
			shares = (int)w;
	if (shares >= 0) {
		cJSON_AddNumberToObject(c, "shares_cpu_with_worker", shares);
		printf(" (shared with worker %d; the control thread sleeps during the window)",
		       shares);
	}
	for (unsigned w = 0; w < sl_dp.n_workers; w++)
		printf(", worker %u lcore %u on CPU %d", w, gbw[w].w->lcore,
		       cpu_of_lcore(gbw[w].w->lcore));
	printf("\n");
}

static cJSON *report(const struct gb_args *a, const struct gb_worker *gbw,
		     const struct snap *s0, const struct snap *s1)
{
	uint64_t hz = rte_get_tsc_hz();
	double secs = (double)(s1->tsc - s0->tsc) / (double)hz;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "label", a->label);
	cJSON_AddStringToObject(o, "direction", a->dir == GB_ENCAP ? "encap" : "decap");
	cJSON_AddStringToObject(o, "path", a->dir == GB_ENCAP
		? "pod -> port-rx -> eth-input -> ip4-input -> ip4-lookup -> vxlan-encap -> "
		  "port-tx -> uplink"
		: "uplink -> port-rx -> eth-input -> ip4-input -> vxlan-decap -> ip4-lookup -> "
		  "eth-output -> port-tx -> pod");
	cJSON_AddNumberToObject(o, "workers", sl_dp.n_workers);
	cJSON_AddNumberToObject(o, "flows", a->flows);
	if (a->services)
		cJSON_AddNumberToObject(o, "service_frontends", sl_lb.n_services);
	cJSON_AddNumberToObject(o, "pods", a->pods);
	cJSON_AddNumberToObject(o, "remote_nodes", a->remotes);
	cJSON_AddNumberToObject(o, "frame_in", a->dir == GB_ENCAP ? GB_FRAME_LEN
							    : GB_FRAME_LEN + GB_VXLAN_OVERHEAD);
	cJSON_AddNumberToObject(o, "frame_out", a->dir == GB_ENCAP ? GB_FRAME_LEN + GB_VXLAN_OVERHEAD
							     : GB_FRAME_LEN);
	cJSON_AddNumberToObject(o, "inflight_per_rx_queue", a->inflight);
	cJSON_AddNumberToObject(o, "verify_every", a->verify_every);
	cJSON_AddNumberToObject(o, "duration_s", roundn(secs, 2));
	cJSON_AddNumberToObject(o, "tsc_hz", (double)hz);
	lcore_report(o, gbw);

	/* Wall-clock rates, and rates per second the worker was on a CPU (which a busy machine
	 * does not distort): cycles per packet on the CPU, of which the graph's nodes and the
	 * bench's recycling (both estimated on the CPU, see node_rows). */
	printf("%-6s %8s %9s %11s %12s %9s %9s\n", "worker", "Mpps", "cpu share",
	       "Mpps/cpu-s", "cyc/pkt cpu", "graph", "bench io");
	uint64_t total = 0;
	cJSON *ws = cJSON_AddArrayToObject(o, "per_worker");
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		uint64_t pk = s1->w[w].sink - s0->w[w].sink;
		uint64_t io = s1->w[w].io_cycles - s0->w[w].io_cycles;
		uint64_t loops = s1->w[w].loops - s0->w[w].loops;
		double cpu_s = (double)(s1->w[w].cpu_ns - s0->w[w].cpu_ns) / 1e9;
		uint64_t graph = 0;
		for (int i = 0; i < s1->w[w].n_nodes; i++) {
			const struct sl_node_stats *x = find_node(s0, w, s1->w[w].nodes[i].name);
			if (x)
				graph += s1->w[w].nodes[i].cycles - x->cycles;
		}
		total += pk;
		double mpps = (double)pk / secs / 1e6;
		double share = cpu_share(s0, s1, w);
		double mpps_cpu = cpu_s > 0 ? (double)pk / cpu_s / 1e6 : 0;
		double cpp_wall = per((uint64_t)(secs * (double)hz), pk);
		double cpp_cpu = per((uint64_t)(cpu_s * (double)hz), pk);
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "worker", w);
		cJSON_AddNumberToObject(x, "lcore", gbw[w].w->lcore);
		cJSON_AddNumberToObject(x, "cpu", cpu_of_lcore(gbw[w].w->lcore));
		cJSON_AddNumberToObject(x, "packets", (double)pk);
		cJSON_AddNumberToObject(x, "mpps", roundn(mpps, 2));
		cJSON_AddNumberToObject(x, "cpu_share", roundn(share, 3));
		cJSON_AddNumberToObject(x, "mpps_per_cpu_second", roundn(mpps_cpu, 2));
		cJSON_AddNumberToObject(x, "cycles_per_packet_wall", roundn(cpp_wall, 1));
		cJSON_AddNumberToObject(x, "cycles_per_packet_cpu", roundn(cpp_cpu, 1));
		cJSON_AddNumberToObject(x, "graph_cycles_per_packet", roundn(per(graph, pk), 1));
		cJSON_AddNumberToObject(x, "graph_cycles_per_packet_on_cpu",
					roundn(per(graph, pk) * share, 1));
		cJSON_AddNumberToObject(x, "bench_io_cycles_per_packet", roundn(per(io, pk), 1));
		cJSON_AddNumberToObject(x, "bench_io_cycles_per_packet_on_cpu",
					roundn(per(io, pk) * share, 1));
		cJSON_AddNumberToObject(x, "packets_per_loop", roundn(per(pk, loops), 1));
		cJSON_AddItemToArray(ws, x);
		printf("%-6u %8.2f %8.1f%% %11.2f %12.1f %9.1f %9.1f\n", w, mpps, share * 100,
		       mpps_cpu, cpp_cpu, per(graph, pk) * share, per(io, pk) * share);
	}
	double mpps_total = (double)total / secs / 1e6;
	cJSON_AddNumberToObject(o, "packets", (double)total);
	cJSON_AddNumberToObject(o, "mpps_total", roundn(mpps_total, 2));
	cJSON_AddNumberToObject(o, "mpps_per_worker",
				roundn(mpps_total / sl_dp.n_workers, 2));
	printf("total  %8.2f Mpps over %.2f s (%.2f Mpps per worker)\n", mpps_total, secs,
	       mpps_total / sl_dp.n_workers);
	printf("  %-16s %14s %12s %9s %11s %11s\n", "node", "packets", "calls", "vec/call",
	       "cycles/pkt", "on-cpu est");
	cJSON_AddItemToObject(o, "nodes", node_rows(s0, s1, -1, true));
	cJSON *pw = cJSON_AddArrayToObject(o, "nodes_per_worker");
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		cJSON *rows = node_rows(s0, s1, (int)w, false);
		while (cJSON_GetArraySize(rows) > 0)
			cJSON_AddItemToArray(pw, cJSON_DetachItemFromArray(rows, 0));
		cJSON_Delete(rows);
	}
	return o;
}

/* --policies N: N policies of 10 rules, every local pod isolated for egress; rule 0 of the
 * policies of pod p (p = policy % pods) allows UDP 5001 to 10.244.0.0/16 (the bench's
 * flows), the others allow TCP to random /32s. Conntrack as with --services. */
static int policies_setup(const struct gb_args *a)
{
	int rc;
	if (a->dir != GB_ENCAP)
		return -EINVAL;
	if (!a->services) {
		uint32_t ct = a->ct_size ? a->ct_size
			    : a->new_flows ? 1u << 23 : RTE_MAX(a->flows * 2, 4096u);
		struct sl_lb_conf lc = { .max_services = 1024, .ct = { .size = ct } };
		if ((rc = sl_lb_init(&lc)) < 0)
			return rc;
	}
	if ((rc = sl_pol_init(NULL)) < 0)
		return rc;
	uint32_t n_rules = a->policies * 10;
	struct sl_pol_rule *rules = calloc(n_rules, sizeof(*rules));
	uint32_t *iso = calloc(a->pods, sizeof(*iso));
	char (*names)[SL_POL_NAME_MAX + 1] = calloc(a->policies, sizeof(*names));
	if (!rules || !iso || !names) {
		free(rules), free(iso), free(names);
		return -ENOMEM;
	}
	srand(7);
	for (uint32_t p = 0; p < a->policies; p++) {
		snprintf(names[p], sizeof(names[p]), "bench/policy-%u", p);
		uint32_t pod = rte_be_to_cpu_32(gb_pod_ip(p % a->pods));
		for (unsigned r = 0; r < 10; r++) {
			struct sl_pol_rule *x = &rules[p * 10 + r];
			*x = (struct sl_pol_rule){ .pod_ip = pod, .policy = p, .rule = r,
						   .peer_len = 32, .proto = IPPROTO_TCP,
						   .peer_net = 0x0a000000u | ((uint32_t)rand() & 0xffffff),
						   .port_lo = (uint16_t)(1 + rand() % 60000) };
			x->port_hi = x->port_lo;
			if (r == 0)
				*x = (struct sl_pol_rule){ .pod_ip = pod, .policy = p,
							   .peer_net = 0x0af40000u, .peer_len = 16,
							   .proto = IPPROTO_UDP, .port_lo = 5001,
							   .port_hi = 5001 };
		}
	}
	for (unsigned i = 0; i < a->pods; i++)
		iso[i] = rte_be_to_cpu_32(gb_pod_ip(i));
	struct sl_pol_set s = { .names = names, .n_policies = a->policies, .generation = 1 };
	s.dir[SL_POL_EGRESS] = (struct sl_pol_dir_set){ .isolated = iso,
						       .n_isolated = RTE_MIN(a->pods, a->policies),
						       .rules = rules, .n_rules = n_rules };
	rc = sl_pol_publish(&s);
	free(rules), free(iso), free(names);
	return rc;
}

int main(int argc, char **argv)
{
	struct gb_args a;
	int rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "sluice-graph-bench: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return GB_EXIT_USAGE;
	}
	argc -= rc;
	argv += rc;
	argv[0] = "sluice-graph-bench";
	if (parse_args(argc, argv, &a) < 0) {
		rte_eal_cleanup();
		return GB_EXIT_USAGE;
	}
	unsigned lcores[SL_MAX_WORKERS], n = 0, lc;
	RTE_LCORE_FOREACH_WORKER(lc)
		if (n < SL_MAX_WORKERS)
			lcores[n++] = lc;
	const char *why = NULL;
	if (n == 0)
		why = "give the EAL at least two lcores (control + a worker)";
	else if (a.dir == GB_ENCAP && a.pods < n)
		why = "--pods must be at least the number of workers (each polls its pods)";
	else if (a.flows < a.pods || a.flows < n)
		why = "--flows must be at least --pods and the number of workers";
	if (why) {
		fprintf(stderr, "sluice-graph-bench: %s\n", why);
		rte_eal_cleanup();
		return GB_EXIT_USAGE;
	}

	int exit_code = GB_EXIT_RUNTIME;
	unsigned rx_queues = a.pods + n;
	unsigned pool = a.inflight * rx_queues + 1024;
	struct gb_worker *gbw = rte_zmalloc("slg_workers", n * sizeof(*gbw), RTE_CACHE_LINE_SIZE);
	if (!gbw || (rc = sl_dp_init(n, pool)) < 0) {
		fprintf(stderr, "sluice-graph-bench: cannot set up tables: %s\n",
			strerror(gbw ? -rc : ENOMEM));
		goto out;
	}
	struct sl_dp_conf *c = &sl_dp.conf;
	c->node_ip = htonl(0xc6120001);    /* 198.18.0.1 */
	c->gateway_ip = htonl(0x0af40101); /* 10.244.1.1 */
	c->pod_cidr = htonl(0x0af40100);
	c->pod_cidr_mask = htonl(0xffffff00);
	c->gw_mac = (struct rte_ether_addr){ { 0x02, 0x5c, 0, 0, 0, 0x01 } };
	c->vni = 1;
	c->vxlan_port = 4789;
	c->uplink_port = GB_PORT_UPLINK;
	c->icmp_rate = 1000;
	for (unsigned i = 0; i < n; i++) {
		sl_dp.workers[i].lcore = lcores[i];
		sl_dp.worker_of_lcore[lcores[i]] = (int8_t)i;
	}
	if (gb_topo_setup(&a, gbw) < 0)
		goto out;
	if (a.services) {
		uint32_t ct = a.ct_size ? a.ct_size
			    : a.new_flows ? 1u << 23 : RTE_MAX(a.flows * 2, 4096u);
		struct sl_lb_conf lc = { .max_services = RTE_MAX(65536u, a.svc_table + a.svc_table / 4),
					 .ct = { .size = ct } };
		if (a.dir != GB_ENCAP || (rc = sl_lb_init(&lc)) < 0) {
			fprintf(stderr, "sluice-graph-bench: --services: %s\n",
				a.dir != GB_ENCAP ? "encap only" : strerror(-rc));
			goto out;
		}
	}
	if (a.policies && (rc = policies_setup(&a)) < 0) {
		fprintf(stderr, "sluice-graph-bench: --policies: %s\n", strerror(-rc));
		goto out;
	}
	struct gb_flow *flows;
	int injected = gb_flows_setup(&a, gbw, &flows);
	if (injected < 0) {
		fprintf(stderr, "sluice-graph-bench: cannot build flows: %s\n", strerror(-injected));
		goto out;
	}
	if (a.svc_table) {
		uint64_t t0 = rte_rdtsc();
		int added = gb_services_fill(&a);
		if (added < 0) {
			fprintf(stderr, "sluice-graph-bench: --svc-table: %s\n", strerror(-added));
			goto out;
		}
		printf("service table: %u frontends (%d idle ones of 10 backends added in %.2f s)\n",
		       sl_lb.n_services, added,
		       (double)(rte_rdtsc() - t0) / (double)rte_get_tsc_hz());
	}
	printf("graph-bench %s: %u worker(s), %u flows, %u pods, %u remote nodes, %u-byte frames "
	       "in, %u out, %d frames circulating\n", a.dir == GB_ENCAP ? "encap" : "decap", n,
	       a.flows, a.pods, a.remotes,
	       a.dir == GB_ENCAP ? GB_FRAME_LEN : GB_FRAME_LEN + GB_VXLAN_OVERHEAD,
	       a.dir == GB_ENCAP ? GB_FRAME_LEN + GB_VXLAN_OVERHEAD : GB_FRAME_LEN, injected);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (unsigned i = 0; i < n; i++)
		rte_eal_remote_launch(bench_worker, &gbw[i], lcores[i]);
	for (unsigned i = 0; i < n; i++)
		while (!atomic_load(&gbw[i].started))
			rte_pause();

	static struct snap s0, s1;
	wait_phase(a.warmup_s, gbw, "warm-up", a.quiet);
	take_snap(&s0, gbw);
	wait_phase(a.duration_s, gbw, "window", a.quiet);
	take_snap(&s1, gbw);
	sl_dp.quit = true;
	rte_eal_mp_wait_lcore();
	if (interrupted)
		printf("interrupted: the window is shorter than asked\n");

	cJSON *res = report(&a, gbw, &s0, &s1);
	bool ok = final_check(cJSON_AddObjectToObject(res, "check"), &a, gbw, injected, flows,
				a.flows);
	exit_code = ok ? GB_EXIT_OK : GB_EXIT_CHECK;
	if (a.json) {
		char *text = cJSON_Print(res);
		FILE *f = fopen(a.json, "w");
		if (!text || !f || fputs(text, f) < 0 || fputc('\n', f) < 0 || fclose(f) != 0) {
			fprintf(stderr, "sluice-graph-bench: cannot write %s: %s\n", a.json,
				strerror(errno));
			exit_code = GB_EXIT_RUNTIME;
		}
		free(text);
	}
	cJSON_Delete(res);
	if (a.pcap && (rc = gb_write_pcap(a.pcap, gbw, n)) < 0) {
		fprintf(stderr, "sluice-graph-bench: cannot write %s: %s\n", a.pcap, strerror(-rc));
		exit_code = GB_EXIT_RUNTIME;
	}
out:
	rte_eal_cleanup();
	return exit_code;
}
