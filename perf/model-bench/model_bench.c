/* sluice-model-bench: load N pods into the control model (as a relist of a large cluster
 * would), look each one up by name and by address, then delete them all; prints the time of
 * each phase, per pod, and the memory the model holds. Usage: sluice-model-bench [N] [-o json] */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/model/sl_model.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Resident memory of this process, bytes. */
static size_t rss(void)
{
	long size, pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f && fscanf(f, "%ld %ld", &size, &pages) != 2)
		pages = 0;
	if (f)
		fclose(f);
	return (size_t)pages * 4096;
}

static void spec_of(unsigned i, struct sl_pod_spec *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->namespace, sizeof(s->namespace), "ns-%u", i % 500);
	snprintf(s->name, sizeof(s->name), "deploy-%u-7d9f8c6b5-%05u", i / 30, i % 100000);
	snprintf(s->ifname, sizeof(s->ifname), "sl%08x", i);
	s->ip = sl_ip4(htonl(0x0a000002u + i));
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 && argv[1][0] != '-' ? (unsigned)atoi(argv[1]) : 150000;
	bool json = argc > 2 && !strcmp(argv[argc - 1], "json");
	struct sl_model_self self = { .node_ip = sl_ip4(htonl(0xc6120001)),
				      .pod_cidr = sl_cidr4(htonl(0x0a000000), 8),
				      .gateway_ip = sl_ip4(htonl(0x0a000001)) };
	size_t rss0 = rss();
	struct sl_model *m = sl_model_create(&self, NULL);
	struct sl_pod_spec s;
	char err[320];

	double t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		spec_of(i, &s);
		if (sl_model_pod_add(m, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "pod %u: %s\n", i, err);
			return 1;
		}
	}
	double t_add = now_s() - t0;
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	size_t rss1 = rss();

	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		spec_of(i, &s);
		if (sl_model_pod_find(m, s.namespace, s.name) != sl_model_pod_by_ip(m, s.ip) ||
		    !sl_model_pod_by_ip(m, s.ip))
			return fprintf(stderr, "lookup %u failed\n", i), 1;
	}
	double t_find = now_s() - t0;

	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		spec_of(i, &s);
		if (sl_model_pod_del(m, s.namespace, s.name, err, sizeof(err)) < 0)
			return fprintf(stderr, "delete %u: %s\n", i, err), 1;
	}
	double t_del = now_s() - t0;
	sl_model_destroy(m);

	if (json) {
		printf("{\"pods\":%u,\"add_s\":%.3f,\"add_us_per_pod\":%.2f,\"find_us_per_pod\":%.2f,"
		       "\"del_s\":%.3f,\"model_bytes\":%zu,\"bytes_per_pod\":%zu,\"rss_delta_bytes\":%zu}\n",
		       n, t_add, t_add * 1e6 / n, t_find * 1e6 / n, t_del, c.bytes, c.bytes / n,
		       rss1 - rss0);
	} else {
		printf("pods loaded     %u\n", n);
		printf("add             %.3f s  (%.2f us per pod)\n", t_add, t_add * 1e6 / n);
		printf("lookups         %.2f us per pod (by name and by address)\n", t_find * 1e6 / n);
		printf("delete all      %.3f s  (%.2f us per pod)\n", t_del, t_del * 1e6 / n);
		printf("model memory    %.1f MiB (%zu bytes per pod); process RSS grew %.1f MiB\n",
		       (double)c.bytes / (1 << 20), c.bytes / n, (double)(rss1 - rss0) / (1 << 20));
	}
	return 0;
}
