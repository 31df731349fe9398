/* Maglev tables built ahead on builder threads (dataplane/lb/lb_prebuild.c) for a batch of
 * Services applied through the model and the reconciler: every Service table entry holds
 * the table sl_maglev_build gives for its backends, whichever thread built it; the tables
 * built ahead are the ones used; a batch the model refuses leaves nothing behind. */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/lb/lb_prebuild.h"
#include "dataplane/lb/lb_table.h"
#include "harness.h"
#include "th_model.h"
#include "lb/sl_lbctl.h"
#include "model/sl_service.h"
#include "sl_k8s.h"

static struct sl_model *model;

/* A model with the reconciler's hooks and two builders (whatever cores this machine has). */
static int model_up(void)
{
	model = th_model_create(NULL);
	if (!model)
		return -1;
	struct sl_model_hooks h = { 0 };
	sl_lbctl_hooks(&h, &(struct sl_lbctl_conf){ .ct_size = 1024, .node_ip = sl_model_self(model)->node_ip.v4,
						    .node_port_lo = 30000, .node_port_hi = 32767,
						    .maglev_threads = 2 });
	sl_model_set_hooks(model, &h);
	return 0;
}

static int setup(void **st)
{
	if (th_setup(st) < 0)
		return -1;
	return model_up();
}

/* Append to the List in *t (of *len bytes used, cap cap) Service svc-<i>: a NodePort
 * Service (cluster IP 10.96.<i/250>.<i%250+1>, port 80) with one slice of n endpoints,
 * 10.244.<b>.<k> for k < n where b varies with i; every third endpoint of a Service with
 * i % 4 == 0 terminating; with dup, the first endpoint listed twice. nodePort: node_port. */
static void append_svc(char *t, size_t *len, size_t cap, unsigned i, unsigned n, bool dup,
		       unsigned node_port, bool first)
{
	*len += (size_t)snprintf(t + *len, cap - *len,
		"%s{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": "
		"\"svc-%u\", \"namespace\": \"default\"}, \"spec\": {\"type\": \"NodePort\", "
		"\"clusterIP\": \"10.96.%u.%u\", \"ports\": [{\"port\": 80, \"protocol\": \"TCP\", "
		"\"targetPort\": 8080, \"nodePort\": %u}]}}, {\"apiVersion\": \"discovery.k8s.io/v1\", "
		"\"kind\": \"EndpointSlice\", \"metadata\": {\"name\": \"svc-%u-1\", \"namespace\": "
		"\"default\", \"labels\": {\"kubernetes.io/service-name\": \"svc-%u\"}}, "
		"\"addressType\": \"IPv4\", \"ports\": [{\"port\": 8080, \"protocol\": \"TCP\"}], "
		"\"endpoints\": [",
		first ? "" : ", ", i, i / 250, i % 250 + 1, node_port, i, i);
	for (unsigned k = 0; k < n + dup; k++) {
		unsigned e = dup && k == n ? 0 : k;
		bool term = i % 4 == 0 && e % 3 == 2;
		*len += (size_t)snprintf(t + *len, cap - *len,
			"%s{\"addresses\": [\"10.244.%u.%u\"], \"conditions\": {\"ready\": %s, "
			"\"serving\": true, \"terminating\": %s}, \"nodeName\": \"node1\"}",
			k ? ", " : "", 2 + i % 50, e + 1, term ? "false" : "true",
			term ? "true" : "false");
	}
	*len += (size_t)snprintf(t + *len, cap - *len, "]}");
}

/* Apply Services first..first+count-1 (n_of(i) endpoints each) as one List; returns the
 * model's result (err printed on failure). bad_last: the last one's nodePort is outside the
 * range (the model refuses the whole batch). */
static int apply_batch(unsigned first, unsigned count, unsigned (*n_of)(unsigned), bool bad_last)
{
	size_t cap = (size_t)count * 8192 + 64, len = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	len = (size_t)snprintf(t, cap, "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [");
	for (unsigned i = first; i < first + count; i++)
		append_svc(t, &len, cap, i, n_of(i), i % 7 == 3,
			   bad_last && i == first + count - 1 ? 29999 : 30000 + i % 2768, i == first);
	len += (size_t)snprintf(t + len, cap - len, "]}");
	assert_true(len < cap);
	struct sl_k8s_op *ops;
	unsigned n;
	char err[512] = "";
	int rc = sl_k8s_decode_text(t, len, &ops, &n, err, sizeof(err));
	if (rc)
		fail_msg("decode: %s", err);
	rc = sl_model_k8s_apply(model, ops, n, err, sizeof(err));
	sl_k8s_ops_free(ops, n);
	free(t);
	if (rc)
		fprintf(stderr, "apply: %s\n", err);
	return rc;
}

/* Every entry's table against a build on this thread from its own backends. Returns the
 * entries checked. */
static unsigned check_tables(void)
{
	const void *key;
	void *data;
	uint32_t it = 0;
	unsigned checked = 0;
	static uint16_t slots[SL_MAGLEV_M_MAX];
	while (rte_hash_iterate(sl_lb.services, &key, &data, &it) >= 0) {
		const struct sl_lb_service *s = data;
		struct sl_maglev_backend mb[SL_LB_MAX_BACKENDS];
		uint16_t mi[SL_LB_MAX_BACKENDS];
		unsigned na = 0;
		for (unsigned i = 0; i < s->n_backends; i++) {
			const struct sl_lb_backend *b = &s->backends[i];
			if (b->flags & SL_LB_BACKEND_TERMINATING)
				continue;
			mb[na] = (struct sl_maglev_backend){ b->ip, b->port, b->weight };
			mi[na++] = (uint16_t)i;
		}
		assert_int_equal(na, s->n_active);
		if (!na)
			continue;
		assert_int_equal(s->m, sl_maglev_size(na));
		assert_int_equal(sl_maglev_build(mb, na, s->m, slots), 0);
		for (uint32_t k = 0; k < s->m; k++) {
			unsigned got = s->wide ? ((const uint16_t *)s->table)[k] : s->table[k];
			if (got != mi[slots[k]])
				fail_msg("frontend %08x:%u slot %u: %u, not %u", ntohl(s->fe.vip),
					 ntohs(s->fe.port), k, got, mi[slots[k]]);
		}
		checked++;
	}
	return checked;
}

static unsigned varied(unsigned i)
{
	return 1 + (i * 37) % 70; /* 1..70: wide tables, sets over the stack scratch */
}

static unsigned ten(unsigned i)
{
	(void)i;
	return 10;
}

/* 600 Services (1,200 frontends: cluster IP and node port) in one batch, then 600 more and
 * the first 600 changed: every table is Maglev's, most of them built ahead. */
static void test_prebuilt_tables_are_maglevs(void **st)
{
	(void)st;
	struct sl_lb_prebuild_stats s0, s1;
	sl_lb_prebuild_get_stats(&s0);
	assert_int_equal(sl_lb_prebuild_thread_count(), 2);
	assert_int_equal(apply_batch(0, 600, varied, false), 0);
	assert_int_equal(sl_lb.n_services, 1200);
	assert_int_equal(check_tables(), 1200);
	sl_lb_prebuild_get_stats(&s1);
	/* One set a Service (its two frontends share it: the external set of a Cluster
	 * policy is the internal one), noted once when Services share it. */
	assert_true(s1.noted - s0.noted > 300 && s1.noted - s0.noted <= 600);
	/* Every frontend took a table built ahead, or built it itself when a builder was late
	 * (preempted: builders run at SCHED_IDLE). */
	assert_int_equal(s1.used + s1.late - s0.used - s0.late, 1200);
	assert_true(s1.used > s0.used);

	assert_int_equal(apply_batch(0, 1200, ten, false), 0);
	assert_int_equal(sl_lb.n_services, 2400);
	assert_int_equal(check_tables(), 2400);
	sl_lb_prebuild_get_stats(&s0);
	assert_int_equal(s0.used + s0.late - s1.used - s1.late, 2400);
}

/* A batch the model refuses (the last Service's nodePort is out of range) is undone after
 * its tables were built ahead: the Service table is as before, and the next batch's tables
 * are right. */
static void test_refused_batch(void **st)
{
	(void)st;
	unsigned before = sl_lb.n_services;
	assert_int_not_equal(apply_batch(1300, 300, ten, true), 0);
	assert_int_equal(sl_lb.n_services, before);
	assert_int_equal(apply_batch(1300, 300, varied, false), 0);
	assert_int_equal(sl_lb.n_services, before + 600);
	assert_int_equal(check_tables(), before + 600);
}

/* This process's threads named sl-maglev (the builders). */
static unsigned builders_running(void)
{
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	unsigned n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		char path[300], comm[32] = "";
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		FILE *f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strcmp(comm, "sl-maglev\n"))
			n++;
		if (f)
			fclose(f);
	}
	closedir(d);
	return n;
}

/* proxy.maglev_threads set again (a second sl_lbctl_hooks): the next batch runs with the
 * new count of builders, none for 0. */
static void test_thread_count_changed(void **st)
{
	(void)st;
	assert_int_equal(apply_batch(2000, 100, ten, false), 0);
	assert_int_equal(builders_running(), 2);
	sl_lb_prebuild_threads(3);
	assert_int_equal(sl_lb_prebuild_thread_count(), 3);
	assert_int_equal(apply_batch(2000, 100, varied, false), 0);
	assert_int_equal(builders_running(), 3);
	sl_lb_prebuild_threads(0);
	assert_int_equal(apply_batch(2000, 100, ten, false), 0);
	assert_int_equal(builders_running(), 0);
	assert_int_equal(check_tables(), sl_lb.n_services);
	sl_lb_prebuild_threads(-1);
	assert_true(sl_lb_prebuild_thread_count() >= 1); /* EAL is up: resolved */
	sl_lb_prebuild_threads(2);
}

/* Before EAL is up the spare control cores cannot be known (rte_ctrl_thread_create fails):
 * no builders then, and nothing cached that would hold once EAL is up (test_thread_count_changed
 * resolves it after). */
static void test_count_before_eal(void **st)
{
	(void)st;
	sl_lb_prebuild_threads(-1);
	assert_int_equal(sl_lb_prebuild_thread_count(), 0);
	sl_lb_prebuild_threads(2);
	assert_int_equal(sl_lb_prebuild_thread_count(), 0);
}

/* The model and the Service tables torn down (sl_lbctl_fini: sl_lb_fini, builders joined)
 * and made again, twice, as the tests do: the builders start again and the tables are
 * Maglev's (under AddressSanitizer: nothing used after it was freed, nothing leaked). */
static void test_fini_reinit(void **st)
{
	(void)st;
	for (int round = 0; round < 2; round++) {
		sl_model_destroy(model);
		sl_lbctl_fini();
		assert_int_equal(builders_running(), 0);
		assert_int_equal(model_up(), 0);
		assert_int_equal(apply_batch(0, 300, varied, false), 0);
		assert_int_equal(builders_running(), 2);
		assert_int_equal(sl_lb.n_services, 600);
		assert_int_equal(check_tables(), 600);
	}
}

int main(void)
{
	const struct CMUnitTest early[] = {
		cmocka_unit_test(test_count_before_eal),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prebuilt_tables_are_maglevs),
		cmocka_unit_test(test_refused_batch),
		cmocka_unit_test(test_thread_count_changed),
		cmocka_unit_test(test_fini_reinit),
	};
	int rc = cmocka_run_group_tests(early, NULL, NULL);
	return rc | cmocka_run_group_tests(tests, setup, NULL);
}
