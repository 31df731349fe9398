/* sluice-policy-bench: what the NetworkPolicy classifier (dataplane/policy/pol_table.h) costs,
 * on synthetic sets shaped like a node's: 110 local pods (10.244.1.0/24) isolated both ways,
 * rules split evenly between ingress and egress, 10 rules a policy; a rule's peer is a pod
 * of the cluster (/32, 70 %), a CIDR (/8-/28, 20 %) or anything (10 %); its port one TCP
 * port (60 %), one UDP port (15 %), a TCP range (endPort, up to 1,000 wide: 15 %) or any
 * protocol (10 %). Fixed seed.
 *
 * For 1,000, 10,000 and 100,000 rules (or --rules N), and for three layouts (one rte_acl
 * context per direction; 16 and 64 contexts per direction, rules split by local pod),
 * prints:
 *  - the full build: time (wall and CPU) and memory (the contexts' rte_malloc bytes);
 *  - classify cost in cycles per packet (sl_pol_classify: one rte_acl_classify call per
 *    group present), in 32-packet calls and in 2-packet calls (ip4-policy classifies only
 *    the first packets of flows: its calls are mostly small), and a linear scan (1,000
 *    rules);
 *  - a republish after a pod label change (one pod named by 10 more rules per direction)
 *    and after a policy add (10 rules selecting one pod): sl_pol_publish end to end
 *    (validation, the contexts whose rules changed built, swap), and how many contexts it
 *    built.
 * Usage: sluice-policy-bench [--rules N]...   (EAL with --no-huge, 4 GiB) */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/core/sl_dp.h"
#include "dataplane/policy/pol_table.h"

enum { PODS = 110, GROUPS = 16, BURST = 32, PKTS = 1 << 20 };

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint32_t pod_ip(unsigned i)
{
	return 0x0af40102u + i;
}

struct bset {
	struct sl_pol_set s;
	struct sl_pol_rule *rules[SL_POL_NDIRS];
	uint32_t iso[SL_POL_NDIRS][PODS];
	char (*names)[SL_POL_NAME_MAX + 1];
};

static void rule_random(struct sl_pol_rule *r, uint32_t i)
{
	unsigned k = (unsigned)rand() % 100;
	uint8_t len = k < 70 ? 32 : k < 90 ? (uint8_t)(8 + rand() % 21) : 0;
	uint32_t peer = k < 70 ? 0x0af40000u | (uint32_t)(rand() & 0xffff)
			       : (uint32_t)rand() << 1;
	unsigned q = (unsigned)rand() % 100;
	*r = (struct sl_pol_rule){ .pod_ip = pod_ip((unsigned)rand() % PODS),
				   .peer_net = len ? peer & (UINT32_MAX << (32 - len)) : 0,
				   .peer_len = len, .policy = i / 10, .rule = i % 10 };
	if (q < 60) {
		r->proto = IPPROTO_TCP;
		r->port_lo = r->port_hi = (uint16_t)(1 + rand() % 65535);
	} else if (q < 75) {
		r->proto = IPPROTO_UDP;
		r->port_lo = r->port_hi = (uint16_t)(1 + rand() % 65535);
	} else if (q < 90) {
		r->proto = IPPROTO_TCP;
		r->port_lo = (uint16_t)(1 + rand() % 64000);
		r->port_hi = (uint16_t)(r->port_lo + rand() % 1000);
	} else {
		r->port_hi = 65535;
	}
}

static void bset_make(struct bset *b, uint32_t n_rules)
{
	memset(b, 0, sizeof(*b));
	uint32_t per = n_rules / 2, n_pol = (n_rules + 9) / 10 + 1;
	b->names = calloc(n_pol, sizeof(*b->names));
	for (uint32_t i = 0; i < n_pol; i++)
		snprintf(b->names[i], sizeof(b->names[i]), "ns%u/policy-%u", i % 50, i);
	b->s.names = b->names;
	b->s.n_policies = n_pol - 1; /* one spare name: the policy add */
	b->s.generation = 1;
	for (unsigned d = 0; d < SL_POL_NDIRS; d++) {
		b->rules[d] = calloc(per + 16, sizeof(struct sl_pol_rule));
		for (uint32_t i = 0; i < per; i++)
			rule_random(&b->rules[d][i], d * per + i);
		for (unsigned p = 0; p < PODS; p++)
			b->iso[d][p] = pod_ip(p);
		b->s.dir[d] = (struct sl_pol_dir_set){ .isolated = b->iso[d], .n_isolated = PODS,
						       .rules = b->rules[d], .n_rules = per };
	}
}

static void bset_free(struct bset *b)
{
	for (unsigned d = 0; d < SL_POL_NDIRS; d++)
		free(b->rules[d]);
	free(b->names);
}

/* Packets for set b in direction dir: half made to match a random rule, half random. */
static void keys_make(const struct bset *b, unsigned dir, struct sl_pol_key *k, unsigned n)
{
	const struct sl_pol_dir_set *ds = &b->s.dir[dir];
	for (unsigned i = 0; i < n; i++) {
		if (i & 1) {
			const struct sl_pol_rule *r = &ds->rules[(unsigned)rand() % ds->n_rules];
			uint32_t host = r->peer_len == 32 ? 0 : (uint32_t)rand() &
							     (UINT32_MAX >> r->peer_len);
			k[i] = (struct sl_pol_key){ .proto = r->proto ? r->proto : IPPROTO_TCP,
						    .pod = htonl(r->pod_ip),
						    .peer = htonl(r->peer_net | host),
						    .dport = htons(r->port_lo) };
		} else {
			k[i] = (struct sl_pol_key){ .proto = rand() % 2 ? IPPROTO_TCP : IPPROTO_UDP,
						    .pod = htonl(pod_ip((unsigned)rand() % PODS)),
						    .peer = htonl(0x0af40000u | (uint32_t)(rand() & 0xffff)),
						    .dport = htons((uint16_t)rand()) };
		}
	}
}

/* Build s's classifier (no reuse); *ret_cpu_ms, and the line printed. */
static struct sl_pol_dp *build_report(const char *what, const struct sl_pol_set *s)
{
	int err = 0;
	double w0 = wall_ms(), c0 = cpu_ms();
	struct sl_pol_dp *d = sl_pol_build(s, NULL, &err);
	double w = wall_ms() - w0, c = cpu_ms() - c0;
	if (!d) {
		printf("  %-26s build failed: %d\n", what, err);
		return NULL;
	}
	printf("  %-26s build %8.1f ms (%8.1f ms CPU), rte_acl memory %7.2f MiB\n", what, w, c,
	       (double)d->acl_bytes / (1 << 20));
	return d;
}

/* Cycles per packet classifying n keys in calls of `burst`. */
static double classify_cycles(const struct sl_pol_dp *d, unsigned dir, const struct sl_pol_key *k,
			      unsigned n, unsigned burst)
{
	const struct sl_pol_key *kp[BURST];
	uint32_t res[BURST];
	uint64_t t0 = rte_rdtsc(), hits = 0;
	for (unsigned off = 0; off + burst <= n; off += burst) {
		for (unsigned i = 0; i < burst; i++)
			kp[i] = &k[off + i];
		sl_pol_classify(d, dir, kp, res, burst);
		hits += res[0] != 0;
	}
	double c = (double)(rte_rdtsc() - t0) / n;
	if (hits == UINT64_MAX)
		printf("unreachable\n");
	return c;
}

/* Publish b.s and report the time and the contexts built. */
static void publish_report(const char *what, struct bset *b)
{
	b->s.generation++;
	double w0 = wall_ms(), c0 = cpu_ms();
	int rc = sl_pol_publish(&b->s);
	double w = wall_ms() - w0, c = cpu_ms() - c0;
	const struct sl_pol_dp *d = atomic_load(&sl_pol.cur);
	printf("    republish after %-18s %8.1f ms (%8.1f ms CPU), %u context(s) rebuilt, rc %d\n",
	       what, w, c, d ? d->groups_built : 0, rc);
	sl_dp_drain();
}

static void run(uint32_t n_rules)
{
	static const unsigned layouts[] = { 1, 16, 64 };
	struct sl_pol_key *k = malloc(PKTS * sizeof(*k));
	for (unsigned l = 0; l < 3; l++) {
		struct bset b;
		srand(20261129);
		bset_make(&b, n_rules);
		if (l == 0)
			printf("%u rules (%u ingress, %u egress), %u policies, %u pods isolated both "
			       "ways:\n", n_rules, b.s.dir[0].n_rules, b.s.dir[1].n_rules,
			       b.s.n_policies, PODS);
		sl_pol_build_groups = layouts[l];
		char what[64];
		snprintf(what, sizeof(what), "%u context(s) a direction", layouts[l]);
		struct sl_pol_dp *d = build_report(what, &b.s);
		if (!d)
			break;
		size_t largest = 0;
		for (unsigned g = 0; g < SL_POL_GROUPS; g++)
			largest = RTE_MAX(largest, (size_t)d->grp_n[0][g]);
		keys_make(&b, SL_POL_INGRESS, k, PKTS);
		printf("    classify: %.1f cycles/packet in 32-packet calls, %.1f in 2-packet calls",
		       classify_cycles(d, SL_POL_INGRESS, k, PKTS, BURST),
		       classify_cycles(d, SL_POL_INGRESS, k, PKTS / 4, 2));
		if (n_rules <= 1000 && l == 0) {
			unsigned n = PKTS / 16;
			uint64_t t1 = rte_rdtsc(), sum = 0;
			for (unsigned i = 0; i < n; i++)
				sum += sl_pol_match_linear(&b.s, SL_POL_INGRESS, &k[i]);
			printf(", %.1f linear scan%s", (double)(rte_rdtsc() - t1) / n,
			       sum == UINT64_MAX ? "!" : "");
		}
		printf("; largest ingress context %zu rules\n", largest);
		sl_pol_dp_free(d);

		/* Republish: a pod label change (pod 7 now selected by 10 more rules a
		 * direction), then a policy add (10 rules). */
		sl_pol_fini();
		sl_dp_drain();
		sl_pol_init(NULL);
		publish_report("the first set:", &b);
		for (unsigned dir = 0; dir < SL_POL_NDIRS; dir++)
			for (unsigned i = 0; i < 10; i++)
				b.rules[dir][(unsigned)rand() % b.s.dir[dir].n_rules].pod_ip = pod_ip(7);
		publish_report("a pod label change:", &b);
		for (unsigned i = 0; i < 10; i++) {
			struct sl_pol_rule *r = &b.rules[i % 2][b.s.dir[i % 2].n_rules++];
			rule_random(r, b.s.n_policies * 10 + i);
			r->policy = b.s.n_policies;
			r->pod_ip = pod_ip(3); /* a policy selecting one pod */
		}
		b.s.n_policies++;
		publish_report("a policy add:", &b);
		bset_free(&b);
	}
	sl_pol_build_groups = SL_POL_GROUPS;
	free(k);
}

int main(int argc, char **argv)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=sl-polbench-%d", getpid());
	char *eal[] = { "policy-bench", "--no-huge", "-m", "4096", "--no-pci", "-l", "0",
			"--log-level=*:error", prefix };
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0 || sl_dp_init(1, 1023) < 0 ||
	    sl_pol_init(NULL) < 0) {
		fprintf(stderr, "policy-bench: EAL or dataplane init failed\n");
		return 1;
	}
	sl_dp.conf.pod_cidr = htonl(0x0af40100u);
	sl_dp.conf.pod_cidr_mask = htonl(0xffffff00u);
	uint32_t sizes[8] = { 1000, 10000, 100000 };
	unsigned n = 3;
	if (argc > 2 && !strcmp(argv[1], "--rules")) {
		n = 0;
		for (int i = 2; i < argc && n < 8; i++)
			sizes[n++] = (uint32_t)strtoul(argv[i], NULL, 10);
	}
	printf("sluice-policy-bench: DPDK 22.11 rte_acl, TSC %.2f GHz; CPU time is this "
	       "thread's (the machine may be shared)\n", (double)rte_get_tsc_hz() / 1e9);
	for (unsigned i = 0; i < n; i++)
		run(sizes[i]);
	sl_pol_fini();
	sl_dp_drain();
	return 0;
}
