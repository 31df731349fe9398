/* sluice-ct-walk-bench: what `sluicectl show conntrack` and `conntrack flush` cost the
 * control thread on a full conntrack table. Fills a table of --size flows (default
 * 1,048,576, sluiced's default) with sl_ct_create_ex, then times on this thread: a walk
 * matching nothing (a filtered `show conntrack` that finds no flow: the whole table is
 * read), a walk matching everything (`--summary`), a flush of half the flows (one of two
 * backends) and of the rest. Prints one line per step, in ms.
 * Usage: sluice-ct-walk-bench [--size N]   (runs with --no-huge, 1 GiB of memory) */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/core/sl_dp.h"
#include "dataplane/ct/ct_walk.h"
#include "dataplane/lb/lb_table.h"
#include "control/core/sl_show_ct.h"

static bool count(struct sl_ct_entry *e, void *arg)
{
	const struct sl_ct_filter *f = ((const void **)arg)[0];
	unsigned *n = ((void **)arg)[1];
	*n += sl_ct_match(f, e);
	return true;
}

static double cpu0;

/* This thread's CPU time in ms (the machine may be shared: wall time overstates). */
static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* "W ms (C ms on the CPU)" since t0 (and cpu0), into a static buffer. */
static const char *ms_since(uint64_t t0)
{
	static char b[64];
	snprintf(b, sizeof(b), "%.1f ms (%.1f ms on the CPU)",
		 (double)(rte_rdtsc() - t0) * 1e3 / (double)rte_get_tsc_hz(), cpu_ms() - cpu0);
	return b;
}

int main(int argc, char **argv)
{
	uint32_t size = 1u << 20;
	if (argc == 3 && !strcmp(argv[1], "--size"))
		size = (uint32_t)strtoul(argv[2], NULL, 10);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=sl-ctwalk-%d", getpid());
	char *eal[] = { "ct-walk-bench", "--no-huge", "-m", "1536", "--no-pci", "-l", "0",
			"--log-level=*:error", prefix };
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0 || sl_dp_init(1, 1023) < 0) {
		fprintf(stderr, "ct-walk-bench: EAL or dataplane init failed\n");
		return 1;
	}
	struct sl_lb_conf c = { .max_services = 1024, .ct = { .size = size } };
	if (sl_lb_init(&c) < 0) {
		fprintf(stderr, "ct-walk-bench: cannot create a %u-flow table\n", size);
		return 1;
	}
	uint64_t now = rte_rdtsc(), t0 = rte_rdtsc();
	cpu0 = cpu_ms();
	uint32_t n = 0;
	uint32_t be[2] = { inet_addr("10.244.1.3"), inet_addr("10.244.2.2") };
	for (; n < size; n++) {
		struct sl_ct_key k = { htonl(0x0af40000 + (n >> 16)), inet_addr("10.96.0.10"),
				       htons((uint16_t)n), htons(80), IPPROTO_TCP };
		if (!sl_ct_create_ex(&k, be[n & 1], htons(8080), RTE_TCP_SYN_FLAG, now, 1))
			break;
	}
	printf("filled %u flows of %u in %s\n", n, size, ms_since(t0));
	struct sl_ct_filter none = { .flags = SL_CTF_CLIENT, .client_ip = inet_addr("1.2.3.4") };
	struct sl_ct_filter all = { 0 };
	struct sl_ct_filter half = { .flags = SL_CTF_BACKEND, .be_ip = be[1] };
	unsigned m = 0;
	const void *arg[2] = { &none, &m };
	t0 = rte_rdtsc(), cpu0 = cpu_ms();
	unsigned seen = sl_ct_walk(count, arg);
	printf("walk, no flow matches (show conntrack --client X): %u flows read, %u matched, "
	       "%s\n", seen, m, ms_since(t0));
	m = 0;
	arg[0] = &all;
	t0 = rte_rdtsc(), cpu0 = cpu_ms();
	seen = sl_ct_walk(count, arg);
	printf("walk, every flow matches (show conntrack --summary): %u matched, %s\n", m,
	       ms_since(t0));
	/* As sluiced runs them: a job in slices of 5 ms (core/sl_api.c JOB_SLICE_US). */
	struct sl_ct_filter sum = { .summary = true };
	struct sl_ct_job *j = sl_ct_job_start(&sum, false);
	double worst = 0;
	cJSON *r = NULL;
	t0 = rte_rdtsc(), cpu0 = cpu_ms();
	while (!r) {
		uint64_t s0 = rte_rdtsc();
		r = sl_ct_job_run(j, 5000);
		double ms = (double)(rte_rdtsc() - s0) * 1e3 / (double)rte_get_tsc_hz();
		worst = ms > worst ? ms : worst;
	}
	printf("show conntrack --summary as sluiced runs it: %s, %d slices, longest %.1f ms, "
	       "%d entries\n", ms_since(t0), cJSON_GetObjectItem(r, "walk_slices")->valueint,
	       worst, cJSON_GetObjectItem(r, "entries")->valueint);
	cJSON_Delete(r);
	t0 = rte_rdtsc(), cpu0 = cpu_ms();
	unsigned f = sl_ct_flush(&half);
	printf("flush --backend (half the flows): %u removed, %s\n", f, ms_since(t0));
	t0 = rte_rdtsc(), cpu0 = cpu_ms();
	f = sl_ct_flush(&all);
	printf("flush (the rest): %u removed, %s\n", f, ms_since(t0));
	(void)all;
	sl_dp_drain();
	printf("left: %u\n", sl_ct_count());
	sl_lb_fini();
	return sl_ct_count() == 0 ? 0 : 1;
}
