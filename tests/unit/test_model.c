/* The control model without EAL: validation, indexes, hooks and their rollback, and the
 * index under churn against a plain reference. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/model/sl_index.h"
#include "control/model/sl_model.h"

static struct sl_ip ip(const char *s)
{
	struct sl_ip a;
	assert_int_equal(sl_ip_parse(s, true, &a), 0);
	return a;
}

static struct sl_cidr cidr(const char *s)
{
	struct sl_cidr c;
	assert_int_equal(sl_cidr_parse(s, true, &c), 0);
	return c;
}

static struct sl_model *new_model(void)
{
	struct sl_model_self self = { .node_ip = ip("198.18.0.1"), .pod_cidr = cidr("10.244.1.0/24"),
				      .gateway_ip = ip("10.244.1.1"), .host_ifname = "sl-host",
				      .uplink_ifname = "sl-up0" };
	struct sl_model *m = sl_model_create(&self, NULL);
	assert_non_null(m);
	return m;
}

static struct sl_pod_spec pod(const char *name, const char *addr, const char *ifname)
{
	struct sl_pod_spec s = { .ip = ip(addr), .mac = { 2, 0, 0, 0, 0, 9 } };
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.namespace, sizeof(s.namespace), "default");
	snprintf(s.ifname, sizeof(s.ifname), "%s", ifname);
	return s;
}

static struct sl_node_spec node(const char *name, const char *addr, const char *pods)
{
	struct sl_node_spec s = { .ip = ip(addr), .pod_cidr = cidr(pods) };
	snprintf(s.name, sizeof(s.name), "%s", name);
	return s;
}

#define EXPECT_ERR(call, code, text)                                                    \
	do {                                                                            \
		char err_[320] = "";                                                    \
		assert_int_equal((call), (code));                                       \
		if (!strstr(err_, (text)))                                              \
			fail_msg("error '%s' does not contain '%s'", err_, (text));     \
	} while (0)
#define OK(call) assert_int_equal((call), 0)

static void test_addr(void **s)
{
	char b[SL_CIDR_STR_MAX];
	struct sl_cidr c;
	assert_true(sl_cidr_contains(cidr("10.244.1.0/24"), ip("10.244.1.77")));
	assert_false(sl_cidr_contains(cidr("10.244.1.0/24"), ip("10.244.2.1")));
	assert_true(sl_cidr_overlaps(cidr("10.244.0.0/16"), cidr("10.244.9.0/24")));
	assert_false(sl_cidr_overlaps(cidr("10.244.1.0/24"), cidr("10.244.2.0/24")));
	assert_int_equal(sl_cidr_parse("10.244.1.1/24", false, &c), -EINVAL); /* host bits */
	assert_int_equal(sl_cidr_parse("10.244.1.0/33", false, &c), -EINVAL);
	assert_int_equal(sl_cidr_parse("fd00::/64", false, &c), -EINVAL); /* v4 asked */
	OK(sl_cidr_parse("fd00:1::/64", true, &c));
	assert_int_equal(c.addr.af, AF_INET6);
	assert_string_equal(sl_cidr_fmt(c, b), "fd00:1::/64");
	assert_true(sl_cidr_contains(c, ip("fd00:1::5")));
	assert_false(sl_cidr_contains(c, ip("fd00:2::5")));
	assert_false(sl_cidr_contains(cidr("0.0.0.0/0"), ip("fd00:1::5"))); /* families differ */
	assert_true(sl_cidr_contains(cidr("0.0.0.0/0"), ip("1.2.3.4")));
	/* IPv4 as inet_ntop prints it (sl_ip_fmt's own digits). */
	char want[SL_IP_STR_MAX];
	srand(11);
	for (unsigned i = 0; i < 100000; i++) {
		struct sl_ip a = { .af = AF_INET };
		a.v4 = i < 256 ? htonl(i * 0x01010101u) : (uint32_t)rand() ^ (uint32_t)rand() << 16;
		inet_ntop(AF_INET, &a.v4, want, sizeof(want));
		assert_string_equal(sl_ip_fmt(a, b), want);
	}
	assert_string_equal(sl_ip_fmt(ip("fd00:1::5"), b), "fd00:1::5");
}

static void test_pod_checks(void **s)
{
	struct sl_model *m = new_model();
	struct sl_pod_spec a = pod("a", "10.244.1.2", "va"), b = a;
	OK(sl_model_pod_add(m, &a, (char[320]){ 0 }, 320));
	EXPECT_ERR(sl_model_pod_add(m, &a, err_, sizeof(err_)), -EEXIST, "name: pod default/a already exists");
	snprintf(b.name, sizeof(b.name), "b");
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EEXIST, "ip: 10.244.1.2 is already used by default/a");
	b.ip = ip("10.244.1.3");
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EEXIST, "ifname: va is already attached");
	snprintf(b.ifname, sizeof(b.ifname), "sl-up0");
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EINVAL, "ifname: sl-up0 is not a pod interface");
	snprintf(b.ifname, sizeof(b.ifname), "vb");
	b.ip = ip("10.244.1.1");
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EINVAL, "ip: 10.244.1.1 is not a pod address");
	b.ip = ip("10.244.2.3");
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EINVAL, "is not a pod address");
	/* A vhost-user pod may share a veth's name: sockets and veths are apart. */
	b.ip = ip("10.244.1.3");
	b.vhost = true;
	snprintf(b.ifname, sizeof(b.ifname), "va");
	snprintf(b.socket, sizeof(b.socket), "/run/x/va.sock");
	OK(sl_model_pod_add(m, &b, (char[320]){ 0 }, 320));
	assert_ptr_equal(sl_model_pod_by_ip(m, ip("10.244.1.3")), sl_model_pod_find(m, "default", "b"));
	EXPECT_ERR(sl_model_pod_del(m, "default", "zz", err_, sizeof(err_)), -ENOENT, "pod default/zz not found");
	OK(sl_model_pod_del(m, "default", "a", (char[320]){ 0 }, 320));
	assert_null(sl_model_pod_by_ip(m, ip("10.244.1.2")));
	OK(sl_model_pod_add(m, &a, (char[320]){ 0 }, 320)); /* the name, address and veth are free */
	sl_model_destroy(m);
}

static void test_node_route_checks(void **s)
{
	struct sl_model *m = new_model();
	struct sl_node_spec n2 = node("n2", "198.18.0.2", "10.244.2.0/24"), n3;
	OK(sl_model_node_add(m, &n2, (char[320]){ 0 }, 320));
	n3 = node("n3", "198.18.0.3", "10.244.2.128/25");
	EXPECT_ERR(sl_model_node_add(m, &n3, err_, sizeof(err_)), -EEXIST, "pod_cidr: overlaps node n2's pod CIDR");
	n3 = node("n3", "198.18.0.2", "10.244.3.0/24");
	EXPECT_ERR(sl_model_node_add(m, &n3, err_, sizeof(err_)), -EEXIST, "ip: 198.18.0.2 is already node n2's address");
	n3 = node("n3", "198.18.0.1", "10.244.3.0/24");
	EXPECT_ERR(sl_model_node_add(m, &n3, err_, sizeof(err_)), -EINVAL, "this node's own address");
	n3 = node("n3", "198.18.0.3", "10.244.1.0/25");
	EXPECT_ERR(sl_model_node_add(m, &n3, err_, sizeof(err_)), -EINVAL, "pod_cidr: overlaps this node's pod CIDR");

	struct sl_route_spec r = { .prefix = cidr("10.244.2.0/24"), .via = ip("198.18.0.254") };
	EXPECT_ERR(sl_model_route_add(m, &r, err_, sizeof(err_)), -EEXIST, "prefix: already routed to node n2");
	r.prefix = cidr("198.18.0.2/32");
	EXPECT_ERR(sl_model_route_add(m, &r, err_, sizeof(err_)), -EEXIST, "prefix: already routed to node n2");
	r.prefix = cidr("10.244.1.128/25");
	EXPECT_ERR(sl_model_route_add(m, &r, err_, sizeof(err_)), -EINVAL, "prefix: inside this node's pod CIDR");
	r.prefix = cidr("0.0.0.0/0");
	OK(sl_model_route_add(m, &r, (char[320]){ 0 }, 320));
	EXPECT_ERR(sl_model_route_add(m, &r, err_, sizeof(err_)), -EEXIST, "already routed to a static route");
	n3 = node("n3", "203.0.113.9", "0.0.0.0/0");
	EXPECT_ERR(sl_model_node_add(m, &n3, err_, sizeof(err_)), -EINVAL, "overlaps this node's pod CIDR");
	EXPECT_ERR(sl_model_route_del(m, cidr("10.9.0.0/16"), err_, sizeof(err_)), -ENOENT, "route 10.9.0.0/16 not found");
	OK(sl_model_route_del(m, cidr("0.0.0.0/0"), (char[320]){ 0 }, 320));
	EXPECT_ERR(sl_model_node_del(m, "n9", err_, sizeof(err_)), -ENOENT, "node n9 not found");
	sl_model_destroy(m);
}

/* Hooks: a failing add leaves the model as it was; destroy deletes through the hooks. */
struct hook_log {
	int adds, dels, fail_next;
};

static int hook_pod_add(void *ctx, struct sl_model_pod *p, char *err, size_t n)
{
	struct hook_log *l = ctx;
	if (l->fail_next) {
		l->fail_next = 0;
		snprintf(err, n, "ifname: cannot attach %s: gone", p->spec.ifname);
		return -ENODEV;
	}
	l->adds++;
	p->dp = l;
	return 0;
}

static void hook_pod_del(void *ctx, struct sl_model_pod *p)
{
	struct hook_log *l = ctx;
	assert_ptr_equal(p->dp, l);
	l->dels++;
}

static void test_hooks_rollback(void **s)
{
	struct sl_model *m = new_model();
	struct hook_log log = { 0 };
	sl_model_set_hooks(m, &(struct sl_model_hooks){ .ctx = &log, .pod_add = hook_pod_add,
							.pod_del = hook_pod_del });
	struct sl_pod_spec a = pod("a", "10.244.1.2", "va");
	log.fail_next = 1;
	EXPECT_ERR(sl_model_pod_add(m, &a, err_, sizeof(err_)), -ENODEV, "ifname: cannot attach va: gone");
	assert_null(sl_model_pod_find(m, "default", "a"));
	assert_null(sl_model_pod_by_ip(m, a.ip));
	OK(sl_model_pod_add(m, &a, (char[320]){ 0 }, 320)); /* nothing of the failed add is left */
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(c.pods, 1);
	sl_model_destroy(m);
	assert_int_equal(log.adds, 1);
	assert_int_equal(log.dels, 1);
}

static void test_limits(void **s)
{
	struct sl_model_self self = { .node_ip = ip("198.18.0.1"), .pod_cidr = cidr("10.244.0.0/16"),
				      .gateway_ip = ip("10.244.0.1") };
	struct sl_model *m = sl_model_create(&self, &(struct sl_model_limits){ 3, 3, 3 });
	char name[16], addr[16], ifn[16];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(addr, sizeof(addr), "10.244.0.%d", i + 2);
		snprintf(ifn, sizeof(ifn), "v%d", i);
		struct sl_pod_spec p = pod(name, addr, ifn);
		if (i < 3)
			OK(sl_model_pod_add(m, &p, (char[320]){ 0 }, 320));
		else
			EXPECT_ERR(sl_model_pod_add(m, &p, err_, sizeof(err_)), -ENOSPC, "pod limit reached (3)");
	}
	sl_model_destroy(m);
}

/* Node pod CIDR overlaps are found through an index (not a walk of every node, which made a
 * node add cost ~400 us at 5,000 nodes): random adds and deletes of pod CIDRs of mixed
 * lengths (/14 to /28, inside 10.0.0.0/12 so they collide often), each accepted or refused
 * as a walk of the nodes decides; a refusal names a node whose pod CIDR overlaps. */
static void test_node_cidr_overlaps(void **s)
{
	enum { N = 512, ROUNDS = 20000 };
	struct sl_model *m = new_model();
	static struct sl_node_spec in[N];
	static bool used[N];
	char name[16], addr[32], pods[32], err[320];
	unsigned accepted = 0, refused = 0;
	srand(11);
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned k = (unsigned)rand() % N;
		snprintf(name, sizeof(name), "n%u", k);
		if (used[k]) {
			OK(sl_model_node_del(m, name, err, sizeof(err)));
			used[k] = false;
			continue;
		}
		unsigned len = 14 + (unsigned)rand() % 15;
		uint32_t a = (0x0a000000u | ((uint32_t)rand() & 0x000fffffu)) & (~0u << (32 - len));
		snprintf(addr, sizeof(addr), "198.19.%u.%u", k / 250, k % 250 + 1);
		snprintf(pods, sizeof(pods), "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255,
			 (a >> 8) & 255, a & 255, len);
		struct sl_node_spec n = node(name, addr, pods);
		int want = -1;
		for (unsigned j = 0; j < N && want < 0; j++)
			if (used[j] && sl_cidr_overlaps(in[j].pod_cidr, n.pod_cidr))
				want = (int)j;
		err[0] = 0;
		int rc = sl_model_node_add(m, &n, err, sizeof(err));
		if (want < 0) {
			if (rc != 0)
				fail_msg("%s refused: %s", pods, err);
			in[k] = n;
			used[k] = true;
			accepted++;
			continue;
		}
		assert_int_equal(rc, -EEXIST);
		unsigned who;
		if (sscanf(err, "pod_cidr: overlaps node n%u's pod CIDR", &who) != 1 || who >= N ||
		    !used[who] || !sl_cidr_overlaps(in[who].pod_cidr, n.pod_cidr))
			fail_msg("%s: %s", pods, err);
		refused++;
	}
	assert_true(accepted > 1000 && refused > 1000);
	sl_model_destroy(m);
}

/* Many pods: every lookup finds its pod after heavy churn (ids reused, indexes shifted). */
static void test_churn(void **s)
{
	enum { N = 20000 };
	struct sl_model_self self = { .node_ip = ip("198.18.0.1"), .pod_cidr = cidr("10.0.0.0/8"),
				      .gateway_ip = ip("10.0.0.1") };
	struct sl_model *m = sl_model_create(&self, NULL);
	static bool present[N];
	char name[32], ifn[16];
	srand(7);
	for (int round = 0; round < 6 * N; round++) {
		int i = rand() % N;
		snprintf(name, sizeof(name), "pod-%d", i);
		if (present[i]) {
			OK(sl_model_pod_del(m, "churn", name, (char[320]){ 0 }, 320));
		} else {
			snprintf(ifn, sizeof(ifn), "v%d", i);
			struct sl_pod_spec p = pod(name, "10.0.0.2", ifn);
			snprintf(p.namespace, sizeof(p.namespace), "churn");
			p.ip = sl_ip4(htonl(0x0a000100u + (uint32_t)i));
			OK(sl_model_pod_add(m, &p, (char[320]){ 0 }, 320));
		}
		present[i] = !present[i];
	}
	unsigned n = 0;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		struct sl_model_pod *p = sl_model_pod_find(m, "churn", name);
		assert_int_equal(p != NULL, present[i]);
		assert_ptr_equal(sl_model_pod_by_ip(m, sl_ip4(htonl(0x0a000100u + (uint32_t)i))), p);
		n += present[i];
	}
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(c.pods, n);
	sl_model_destroy(m);
}

/* Host ports: on the node address only, one pod per (port, protocol); freed with the pod
 * and when a hook refuses it. */
static void test_host_ports(void **s)
{
	struct sl_model *m = new_model();
	struct sl_pod_spec a = pod("a", "10.244.1.2", "va"), b = pod("b", "10.244.1.3", "vb");
	a.n_host_ports = 2;
	a.host_ports[0] = (struct sl_host_port){ .host_port = 18080, .container_port = 8080,
						 .protocol = IPPROTO_TCP };
	a.host_ports[1] = (struct sl_host_port){ .host_port = 53, .container_port = 53,
						 .protocol = IPPROTO_UDP, .host_ip = ip("198.18.0.1").v4 };
	OK(sl_model_pod_add(m, &a, (char[320]){ 0 }, 320));
	b.n_host_ports = 1;
	b.host_ports[0] = (struct sl_host_port){ .host_port = 18080, .container_port = 80,
						 .protocol = IPPROTO_TCP };
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EEXIST,
		   "host_ports[0].host_port: 18080/tcp is already used by pod default/a");
	b.host_ports[0].protocol = IPPROTO_UDP; /* another protocol: free */
	b.host_ports[0].host_ip = ip("198.18.0.2").v4;
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EINVAL,
		   "host_ports[0].host_ip: 198.18.0.2 is not this node's address (198.18.0.1)");
	b.host_ports[0].host_ip = 0;
	OK(sl_model_pod_add(m, &b, (char[320]){ 0 }, 320));
	OK(sl_model_pod_del(m, "default", "b", (char[320]){ 0 }, 320));
	b.n_host_ports = 2;
	b.host_ports[1] = b.host_ports[0];
	EXPECT_ERR(sl_model_pod_add(m, &b, err_, sizeof(err_)), -EINVAL,
		   "host_ports[1].host_port: 18080/udp repeats host_ports[0]");
	/* Deleting a frees its host ports. */
	OK(sl_model_pod_del(m, "default", "a", (char[320]){ 0 }, 320));
	b.n_host_ports = 1;
	b.host_ports[0].protocol = IPPROTO_TCP;
	OK(sl_model_pod_add(m, &b, (char[320]){ 0 }, 320));
	sl_model_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_pod_checks),
		cmocka_unit_test(test_node_route_checks),
		cmocka_unit_test(test_hooks_rollback),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_node_cidr_overlaps),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_host_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
