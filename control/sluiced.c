/* sluiced: the node daemon. The main lcore runs the control thread, one event loop
 * (core/sl_loop.h) serving the API socket and the timers (neighbour upkeep, persistence
 * retries); every other EAL lcore runs a worker walking its rte_graph. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ethdev.h>
#include <rte_memory.h>
#include <sys/mman.h>

#include "dataplane/core/sl_dp.h"
#include "dataplane/core/sl_worker.h"
#include "dataplane/lb/lb_prebuild.h"
#include "core/sl_loop.h"
#include "core/sl_api.h"
#include "sl_config.h"
#include "sl_cpus.h"
#include "core/sl_show.h"
#include "model/sl_model.h"
#include "lb/sl_healthcheck.h"
#include "lb/sl_lbctl.h"
#include "lb/sl_hostport.h"
#include "lb/sl_node_local.h"
#include "net/sl_net.h"
#include "core/sl_metrics.h"
#include "core/sl_metrics_dp.h"
#include "policy/sl_policy_sync.h"
#include "sl_persist.h"
#include "k8s/sl_kube_auth.h"
#include "k8s/sl_kube_sync.h"

#define POOL_MBUFS 16383
#define TICK_MS 100      /* neighbour upkeep period */
#define RECLAIM_MS 2     /* deferred frees are run this soon after their grace period, */
#define RECLAIM_IDLE_MS 50 /* and looked for this often when none waits */
#define MAX_WAIT_MS 500
#define POD_CIDR_WAIT_S 60 /* --pod-cidr-from-node: how long to wait for the Node's podCIDR */  /* loop wake-up bound: a signal between two rounds is seen by then */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluiced [-c CONFIG] [-s SOCKET] [--check] [-- EAL-ARGS...]\n"
		"  -c, --config FILE   JSON configuration (default: the embedded one, see --print-default)\n"
		"  -s, --socket PATH   API socket (default /run/sluice/sluiced.sock)\n"
		"      --state FILE    where run-time changes persist (default SOCKET.state.json;\n"
		"                      \"none\" to not persist); re-applied at start on top of\n"
		"                      the config; a file that cannot be read is moved to FILE.bad\n"
		"                      (with a warning) and the config's objects are served;\n"
		"                      changes are appended to FILE.journal between snapshots\n"
		"      --kubeconfig FILE  take Services, EndpointSlices and Nodes from the\n"
		"                      Kubernetes API server FILE names (list + watch)\n"
		"      --in-cluster    the same with the pod's service account\n"
		"                      (KUBERNETES_SERVICE_HOST/PORT, its token and CA)\n"
		"      --node-name NAME  this node's Node (default $NODE_NAME, else node.name)\n"
		"      --pod-cidr-from-node  at start, wait (up to 60 s) for this node's Node and\n"
		"                      use its spec.podCIDR instead of node.pod_cidr (the gateway\n"
		"                      follows unless node.gateway is set); sluice-cni gets it\n"
		"      --check         validate the configuration and exit\n"
		"      --print-default print the embedded default configuration\n"
		"  EAL-ARGS            DPDK EAL arguments (default: -l 0,1 --no-pci --file-prefix sluiced);\n"
		"                      the first lcore is the control thread, the others are workers;\n"
		"                      add --no-huge -m 512 where hugepages are unavailable\n");
}

static void on_tick(struct sl_loop_timer *t, void *arg)
{
	sl_net_neigh_tick();
	sl_loop_timer_arm(arg, t, TICK_MS);
}

/* Run the frees whose grace period has passed (ports of deleted pods close here). */
static void on_reclaim(struct sl_loop_timer *t, void *arg)
{
	sl_loop_timer_arm(arg, t, sl_dp_reclaim() ? RECLAIM_MS : RECLAIM_IDLE_MS);
}

static void on_signal(int sig)
{
	sl_dp.quit = true;
}

/* A state file that cannot be read or parsed (a crash mid-write on a filesystem without
 * atomic rename, a hand edit, a disk error) must not keep the node down: say so on stderr,
 * naming the file and the error, move it aside as <state>.bad for a human to look at (the
 * next change through the API writes a fresh one) and go on with the config's objects.
 * Control thread, at start only. */
static void state_set_aside(const char *state, int rc, const char *why)
{
	char bad[4096];
	if (!why[0])
		why = strerror(-rc);
	if ((size_t)snprintf(bad, sizeof(bad), "%s.bad", state) >= sizeof(bad)) {
		fprintf(stderr, "sluiced: warning: state file %s not restored (%s); serving the "
				"config's objects only\n", state, why);
		return;
	}
	if (rename(state, bad) == 0)
		fprintf(stderr, "sluiced: warning: state file %s not restored (%s); kept as %s, "
				"serving the config's objects only\n", state, why, bad);
	else
		fprintf(stderr, "sluiced: warning: state file %s not restored (%s) nor moved "
				"to %s (%s); serving the config's objects only\n", state, why, bad,
			strerror(errno));
}

/* --pod-cidr-from-node: this node's pod CIDR from its Node, in place of node.pod_cidr; the
 * gateway moves with it when it was the default (the range's first address). At start. */
static int pod_cidr_from_node(struct sl_config *c, const struct sl_kube_sync_conf *kc)
{
	struct sl_kube_node n;
	char err[512], b[SL_CIDR_STR_MAX];
	printf("sluiced: waiting for Node %s's podCIDR\n", kc->node_name);
	fflush(stdout);
	int rc = sl_kube_node_fetch(kc, POD_CIDR_WAIT_S, &n, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "sluiced: --pod-cidr-from-node: %s\n", err);
		return rc;
	}
	struct sl_cidr p = n.spec.pod_cidr;
	bool default_gw = c->gateway_ip.v4 == htonl(ntohl(c->pod_cidr.addr.v4) + 1);
	sl_cidr_fmt(p, b);
	if (p.len > 30 || !sl_cidr_contains(c->cluster_cidr, p.addr) ||
	    c->cluster_cidr.len > p.len) {
		fprintf(stderr, "sluiced: --pod-cidr-from-node: Node %s's podCIDR %s is not a /30 "
				"or larger range inside node.cluster_cidr\n", kc->node_name, b);
		return -EINVAL;
	}
	c->pod_cidr = p;
	if (default_gw)
		c->gateway_ip = sl_ip4(htonl(ntohl(p.addr.v4) + 1));
	if (!sl_cidr_contains(p, c->gateway_ip)) {
		fprintf(stderr, "sluiced: --pod-cidr-from-node: node.gateway is not inside Node "
				"%s's podCIDR %s\n", kc->node_name, b);
		return -EINVAL;
	}
	printf("sluiced: pod CIDR %s from Node %s\n", b, kc->node_name);
	return 0;
}

static void dp_conf_from(const struct sl_config *c)
{
	struct sl_dp_conf *d = &sl_dp.conf;
	d->node_ip = c->node_ip.v4;
	d->gateway_ip = c->gateway_ip.v4;
	d->pod_cidr = c->pod_cidr.addr.v4;
	d->pod_cidr_mask = c->pod_cidr.len ? htonl(~0u << (32 - c->pod_cidr.len)) : 0;
	memcpy(&d->gw_mac, c->gateway_mac, 6);
	d->vni = c->vni;
	d->vxlan_port = c->vxlan_port;
	if (c->has_vtep_mac)
		memcpy(&d->vtep_mac, c->vtep_mac, 6); /* else zero: the uplink's MAC */
	d->uplink_port = 0;
	d->icmp_rate = c->icmp_rate;
	d->idle_backoff = c->idle_backoff;
	d->idle_sleep_max_us = c->idle_sleep_max_us;
}

/* DPDK's memory (mbufs, rings, the Service and conntrack tables: the workers write it all
 * the time) is not copied into the state's snapshot child (sl_persist.h), which reads the
 * model only (malloc'd): fork() then copies no page table of it and the workers take no
 * copy-on-write fault while the child lives. Memory DPDK maps later is marked as it comes. */
static int dontfork_msl(const struct rte_memseg_list *msl, void *arg)
{
	if (msl->base_va && msl->len)
		madvise(msl->base_va, msl->len, MADV_DONTFORK); /* (best effort) */
	return 0;
}

static void dontfork_event(enum rte_mem_event ev, const void *addr, size_t len, void *arg)
{
	if (ev == RTE_MEM_EVENT_ALLOC)
		madvise((void *)addr, len, MADV_DONTFORK);
}

/* tap.rps_cpus "auto": every online CPU that runs none of the n workers (lcores), so a tap
 * pod's own receive processing (its TCP stack's work on what sluice writes to its tap) runs
 * on the pods' CPUs instead of inside the worker's write (drivers/sl_tap.h "Receive
 * steering"). Only when at least two CPUs are left: with one, the pods' applications
 * already fill it, and steering there cost throughput (docs/performance.md). */
static void resolve_tap_rps(struct sl_config *c, const unsigned *lcores, unsigned n)
{
	if (!c->tap_rps_auto)
		return;
	sl_cpus_online(&c->tap_rps_cpus);
	for (unsigned i = 0; i < n; i++) {
		rte_cpuset_t w = rte_lcore_cpuset(lcores[i]);
		for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &w))
				CPU_CLR(cpu, &c->tap_rps_cpus);
	}
	if (CPU_COUNT(&c->tap_rps_cpus) >= 2)
		return;
	printf("sluiced: tap.rps_cpus auto: %d CPU(s) without a worker, so tap pods' receive "
	       "processing stays on the worker cores (set tap.rps_cpus to steer it anyway)\n",
	       CPU_COUNT(&c->tap_rps_cpus));
	CPU_ZERO(&c->tap_rps_cpus);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'C' },
		{ "state", required_argument, NULL, 'S' },
		{ "print-default", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "kubeconfig", required_argument, NULL, 'K' },
		{ "in-cluster", no_argument, NULL, 'I' },
		{ "node-name", required_argument, NULL, 'N' },
		{ "pod-cidr-from-node", no_argument, NULL, 'F' },
		{ 0 },
	};
	const char *config_path = NULL, *sock = "/run/sluice/sluiced.sock", *state = NULL;
	char state_default[512];
	bool check_only = false, in_cluster = false, cidr_from_node = false;
	const char *kubeconfig = NULL, *node_name = getenv("NODE_NAME");
	struct sl_loop *loop = NULL;
	struct sl_model *model = NULL;
	struct sl_model_self self;
	int o;
	while ((o = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config_path = optarg; break;
		case 's': sock = optarg; break;
		case 'C': check_only = true; break;
		case 'S': state = optarg; break;
		case 'P': fputs(sl_config_default, stdout); return 0;
		case 'h': usage(stdout); return 0;
		case 'K': kubeconfig = optarg; break;
		case 'I': in_cluster = true; break;
		case 'N': node_name = optarg; break;
		case 'F': cidr_from_node = true; break;
		default: usage(stderr); return 2;
		}
	}

	struct sl_config conf;
	char err[512] = "";
	int rc = config_path ? sl_config_load(config_path, &conf, err, sizeof(err))
			     : sl_config_parse(sl_config_default, strlen(sl_config_default), &conf,
					       err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sluiced: config %s: %s\n", config_path ? config_path : "(default)",
			err);
		return 2;
	}
	if (check_only) {
		struct sl_kube_auth ka;
		if (kubeconfig && sl_kube_auth_kubeconfig(kubeconfig, &ka, err, sizeof(err)) < 0) {
			fprintf(stderr, "sluiced: %s\n", err);
			sl_config_free(&conf);
			return 2;
		}
		if (kubeconfig) {
			printf("sluiced: kubeconfig %s is valid (server %s)\n", kubeconfig, ka.server);
			sl_kube_auth_free(&ka);
		}
		printf("sluiced: config %s is valid\n", config_path ? config_path : "(default)");
		return 0;
	}

	if (cidr_from_node) {
		if (!kubeconfig && !in_cluster) {
			fprintf(stderr, "sluiced: --pod-cidr-from-node needs --kubeconfig or "
					"--in-cluster\n");
			sl_config_free(&conf);
			return 2;
		}
		struct sl_kube_sync_conf kc = { .kubeconfig = kubeconfig,
			.node_name = node_name && node_name[0] ? node_name : conf.node_name };
		if (pod_cidr_from_node(&conf, &kc) < 0) {
			sl_config_free(&conf);
			return 1;
		}
	}
	/* A --state path that cannot work is refused now, not truncated or followed later. */
	if (!state) {
		if (snprintf(state_default, sizeof(state_default), "%s.state.json", sock) >=
		    (int)sizeof(state_default)) {
			fprintf(stderr, "sluiced: --socket: path too long for its state file\n");
			return 2;
		}
		state = state_default;
	} else if (!strcmp(state, "none")) {
		state = NULL;
	}
	if (state && sl_persist_check_path(state, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluiced: %s\n", err);
		return 2;
	}
	/* EAL gets argv[0] and whatever followed "--". */
	char *eal_default[] = { argv[0], "-l", "0,1", "--no-pci", "--file-prefix", "sluiced" };
	char **eal_argv = eal_default;
	int eal_argc = 6;
	if (optind < argc) {
		eal_argv = &argv[optind - 1];
		eal_argv[0] = argv[0];
		eal_argc = argc - optind + 1;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "sluiced: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rte_mem_event_callback_register("sluiced-dontfork", dontfork_event, NULL); /* (or static) */
	rte_memseg_list_walk(dontfork_msl, NULL);

	unsigned lcores[SL_MAX_WORKERS], n = 0, lc;
	RTE_LCORE_FOREACH_WORKER(lc)
		if (n < SL_MAX_WORKERS && (!conf.workers || n < conf.workers))
			lcores[n++] = lc;
	if (n == 0 || (conf.workers && n < conf.workers)) {
		fprintf(stderr, "sluiced: workers.count is %u but EAL gave %u worker lcores "
			"(pass -l with one more core than workers)\n", conf.workers ? conf.workers : 1, n);
		rc = 1;
		goto out_eal;
	}
	resolve_tap_rps(&conf, lcores, n);
	/* The tables sized for limits.nodes and limits.routes (the model refuses more). */
	struct sl_dp_limits dl = sl_dp_limits_for(conf.limit_nodes, SL_MAX_PODS, conf.limit_routes);
	if ((rc = sl_dp_set_limits(&dl)) < 0 || (rc = sl_dp_init(n, POOL_MBUFS)) < 0) {
		fprintf(stderr, "sluiced: cannot set up tables: %s\n", strerror(-rc));
		goto out_eal;
	}
	dp_conf_from(&conf);
	for (unsigned i = 0; i < n; i++) {
		sl_dp.workers[i].lcore = lcores[i];
		sl_dp.worker_of_lcore[lcores[i]] = (int8_t)i;
		if ((rc = sl_worker_graph_create(&sl_dp.workers[i])) < 0) {
			fprintf(stderr, "sluiced: cannot create graph: %s\n", strerror(-rc));
			goto out_dp;
		}
	}
	sl_config_self(&conf, &self);
	if (node_name && node_name[0]) { /* endpoints with this nodeName are local */
		if (strlen(node_name) >= sizeof(self.node_name)) {
			fprintf(stderr, "sluiced: --node-name: longer than %zu bytes\n",
				sizeof(self.node_name) - 1);
			rc = -EINVAL;
			goto out_dp;
		}
		strcpy(self.node_name, node_name);
	}
	struct sl_model_limits ml;
	sl_config_model_limits(&conf, &ml);
	if (!(model = sl_model_create(&self, &ml))) {
		rc = -ENOMEM;
		goto out_dp;
	}
	struct sl_model_hooks hooks = { 0 };
	sl_net_hooks(&hooks);
	sl_hostport_hooks(&hooks, conf.node_ip.v4); /* wraps the pod hooks sl_net set */
	_Static_assert(SL_CONFIG_MAGLEV_THREADS_MAX <= SL_LB_PREBUILD_MAX_THREADS,
		       "proxy.maglev_threads over what lb_prebuild.c starts");
	sl_lbctl_hooks(&hooks, &(struct sl_lbctl_conf){
		.ct_size = conf.ct_size, .node_ip = conf.node_ip.v4,
		.node_port_lo = conf.node_port_lo, .node_port_hi = conf.node_port_hi,
		.snat_port_lo = conf.snat_port_lo, .snat_port_hi = conf.snat_port_hi,
		.masquerade = conf.masquerade, .cluster_cidr = conf.cluster_cidr,
		.maglev_threads = conf.maglev_threads });
	sl_model_set_hooks(model, &hooks);
	if (conf.node_local && sl_node_local_start(err, sizeof(err)) < 0)
		printf("sluiced: node ports and hostPorts are not reachable from this node's own "
		       "processes: %s\n", err);
	if ((rc = sl_policy_sync_init(model, &(struct sl_policy_sync_conf){
		     .deny_log = conf.policy_deny_log,
		     .deny_log_rate = conf.policy_deny_log_rate })) < 0) {
		fprintf(stderr, "sluiced: cannot set up the policy classifier: %s\n", strerror(-rc));
		goto out_state;
	}
	if ((rc = sl_net_init(&conf, err, sizeof(err))) < 0 ||
	    (rc = sl_config_load_objects(&conf, model, err, sizeof(err))) < 0) {
		fprintf(stderr, "sluiced: %s\n", err);
		goto out_state;
	}
	sl_show_init(model);
	err[0] = '\0';
	if (state && (rc = sl_persist_load(state, model, err, sizeof(err))) < 0) {
		state_set_aside(state, rc, err);
		rc = 0;
	} else if (state && rc > 0) {
		printf("sluiced: restored %d pod(s)/node(s)/route(s) from %s\n", rc, state);
	}
	loop = sl_loop_create();
	if (!loop) {
		rc = -errno;
		fprintf(stderr, "sluiced: cannot create the event loop: %s\n", strerror(errno));
		goto out_state;
	}
	sl_healthcheck_start(loop);
	err[0] = '\0';
	if ((rc = sl_metrics_dp_register(model)) < 0 ||
	    (conf.metrics_enabled &&
	     (rc = sl_metrics_start(loop, conf.metrics_addr, conf.metrics_port, err,
				    sizeof(err))) < 0)) {
		fprintf(stderr, "sluiced: %s\n", err[0] ? err : strerror(-rc));
		goto out_state;
	}
	sl_policy_sync_start(loop);
	if ((rc = sl_lbctl_start(loop, err, sizeof(err))) < 0 ||
	    (rc = sl_api_open(loop, model, sock, state, err, sizeof(err))) < 0) {
		fprintf(stderr, "sluiced: %s\n", err);
		goto out_state;
	}
	if (kubeconfig || in_cluster) {
		struct sl_kube_sync_conf kc = { .kubeconfig = kubeconfig,
						.node_name = self.node_name, .publish = true,
						.watch_list = (enum sl_kube_wl)conf.k8s_watch_list };
		struct rte_ether_addr mac;
		kc.pub.ip = conf.node_ip;
		kc.pub.vni = conf.vni;
		const struct sl_port *up = sl_dp.ports[sl_dp.conf.uplink_port];
		if (up && up->tap) /* a tap uplink has no ethdev: its MAC is the port's */
			memcpy(kc.pub.mac, up->mac.addr_bytes, 6);
		else if (rte_eth_macaddr_get(sl_dp.conf.uplink_port, &mac) == 0)
			memcpy(kc.pub.mac, mac.addr_bytes, 6);
		else
			kc.publish = false;
		if ((rc = sl_kube_sync_start(loop, model, &kc, err, sizeof(err))) < 0) {
			fprintf(stderr, "sluiced: kubernetes: %s\n", err);
			goto out_api;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < n; i++)
		rte_eal_remote_launch(sl_worker_main, &sl_dp.workers[i], lcores[i]);
	printf("sluiced: node %s up: %u worker(s), %u pod(s), %u node(s), api %s\n",
	       conf.node_name, n, conf.n_pods, conf.n_nodes, sock);
	fflush(stdout);

	struct sl_loop_timer tick, reclaim;
	sl_loop_timer_init(&tick, on_tick, loop);
	sl_loop_timer_arm(loop, &tick, 0);
	sl_loop_timer_init(&reclaim, on_reclaim, loop);
	sl_loop_timer_arm(loop, &reclaim, RECLAIM_MS);
	while (!sl_dp.quit) {
		int n = sl_loop_run_once(loop, MAX_WAIT_MS);
		sl_api_round_end();
		if (n < 0) {
			fprintf(stderr, "sluiced: event loop: %s\n", strerror(-n));
			rc = n;
			break;
		}
	}
	printf("sluiced: shutting down\n");
	sl_policy_sync_stop();
	rc = rc < 0 ? rc : 0;
out_api:
	sl_kube_sync_stop();
	sl_api_close();
out_state:
	sl_policy_sync_stop(); /* its timers are on the loop */
	sl_healthcheck_stop(); /* its servers are on the loop */
	sl_metrics_stop();
	sl_loop_destroy(loop);
	sl_dp.quit = true;
	rte_eal_mp_wait_lcore();
	sl_model_destroy(model); /* detaches every pod */
	sl_net_fini();
	sl_policy_sync_fini();
	sl_lbctl_fini();
	sl_node_local_stop();
out_dp:
	sl_dp_fini();
out_eal:
	sl_config_free(&conf);
	rte_eal_cleanup();
	return rc < 0 ? 1 : rc;
}
