/* Config and API request parsing: valid input is read exactly, every bad field is rejected
 * with a message naming it. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/sources/sl_config.h"
#include "control/sources/sl_cpus.h"
#include "control/sources/sl_request.h"
#include "model/sl_model.h"

static const char good[] =
	"{\"node\":{\"name\":\"n1\",\"ip\":\"198.18.0.1\",\"pod_cidr\":\"10.244.1.0/24\","
	"\"cluster_cidr\":\"10.244.0.0/16\"},"
	"\"uplink\":{\"devargs\":\"net_af_xdp0,iface=x\",\"mtu\":9000},"
	"\"vxlan\":{\"vni\":42},"
	"\"pods\":[{\"name\":\"a\",\"ip\":\"10.244.1.2\",\"mac\":\"02:00:00:00:00:02\",\"ifname\":\"va\"}],"
	"\"nodes\":[{\"name\":\"n2\",\"ip\":\"198.18.0.2\",\"pod_cidr\":\"10.244.2.0/24\"}],"
	"\"routes\":[{\"prefix\":\"0.0.0.0/0\",\"via\":\"198.18.0.254\"}]}";

static void test_good_config(void **s)
{
	struct sl_config c;
	char err[256] = "";
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	char b[16];
	assert_string_equal(sl_fmt_ip4(c.node_ip.v4, b), "198.18.0.1");
	assert_string_equal(sl_fmt_ip4(c.gateway_ip.v4, b), "10.244.1.1"); /* default: first */
	assert_int_equal(c.pod_cidr.len, 24);
	assert_int_equal(c.uplink_mtu, 9000);
	assert_int_equal(c.pod_mtu, SL_POD_MTU_MAX); /* uplink - 50, capped to one mbuf */
	assert_int_equal(c.vni, 42);
	assert_int_equal(c.vxlan_port, 4789);
	assert_true(c.idle_backoff);
	assert_int_equal(c.n_pods, 1);
	assert_string_equal(c.pods[0].namespace, "default");
	assert_int_equal(c.pods[0].mac[5], 2);
	assert_int_equal(c.n_nodes, 1);
	assert_int_equal(c.n_routes, 1);
	assert_int_equal(c.routes[0].prefix.len, 0);
	sl_config_free(&c);
}

/* issue 13: with AF_XDP multi-buffer (the default) a pod MTU up to 65,000, above the
 * tunnel's; af_xdp.multi_buffer false turns the large-frame path off. */
static void test_large_pod_mtu(void **s)
{
	char text[4096], err[256] = "";
	const char *from = "\"cluster_cidr\":\"10.244.0.0/16\"}";
	const char *at = strstr(good, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good,
		 "\"cluster_cidr\":\"10.244.0.0/16\",\"pod_mtu\":65000}", at + strlen(from));
	struct sl_config c;
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_int_equal(c.pod_mtu, 65000);
	assert_true(c.xsk_multi_buffer);
	assert_false(c.xsk_skb_mode); /* the default AF_XDP mode: native */
	sl_config_free(&c);
}

/* issue 13: af_xdp.mode picks generic ("skb") or native XDP for the pod ports. */
static void test_af_xdp_mode(void **s)
{
	const char *modes[] = { "skb", "native" };
	for (unsigned i = 0; i < 2; i++) {
		char text[4096], err[256] = "";
		const char *from = "\"vxlan\":{";
		const char *at = strstr(good, from);
		assert_non_null(at);
		snprintf(text, sizeof(text), "%.*s\"af_xdp\":{\"mode\":\"%s\"},%s", (int)(at - good),
			 good, modes[i], at);
		struct sl_config c;
		assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
		assert_int_equal(c.xsk_skb_mode, i == 0);
		sl_config_free(&c);
	}
}

static void test_default_config(void **s)
{
	struct sl_config c;
	char err[256] = "";
	assert_int_equal(sl_config_parse(sl_config_default, strlen(sl_config_default), &c, err,
					 sizeof(err)), 0);
	assert_int_equal(c.pod_mtu, 1450);
	sl_config_free(&c);
}

/* Replace the first occurrence of from with to in good, parse, expect err to contain want. */
static void expect_bad(const char *from, const char *to, const char *want)
{
	char text[4096], err[256] = "";
	const char *at = strstr(good, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	struct sl_config c;
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), -22);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

/* issue 13: node.pod_interface, sluice-cni's default for kernel pods ("veth" or "tap"). */
static void test_pod_interface(void **s)
{
	char text[4096], err[256] = "";
	const char *from = "\"pod_cidr\":";
	const char *at = strstr(good, from);
	assert_non_null(at);
	struct sl_config c;
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_false(c.pod_iface_tap); /* the default: veth */
	sl_config_free(&c);
	const char *ok[] = { "tap", "veth" };
	for (unsigned i = 0; i < 2; i++) {
		snprintf(text, sizeof(text), "%.*s\"pod_interface\":\"%s\",%s", (int)(at - good),
			 good, ok[i], at);
		assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
		assert_int_equal(c.pod_iface_tap, i == 0);
		sl_config_free(&c);
	}
	expect_bad(from, "\"pod_interface\":\"vhost-user\",\"pod_cidr\":",
		   "node.pod_interface: \"veth\" or \"tap\", not \"vhost-user\"");
	expect_bad(from, "\"pod_interface\":true,\"pod_cidr\":", "node.pod_interface: ");
	expect_bad(from, "\"pod_interface\":\"tap-tap-tap-tap-tap\",\"pod_cidr\":",
		   "node.pod_interface: ");
}

/* issue 13: tap pods ("interface": "tap", an ifname) and tap.offload (default on). */
static void test_tap_pods(void **s)
{
	char text[4096], err[256] = "";
	const char *from = "\"ifname\":\"va\"}";
	const char *at = strstr(good, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s\"interface\":\"tap\",%s", (int)(at - good), good, at);
	struct sl_config c;
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_true(c.pods[0].tap);
	assert_false(c.pods[0].vhost);
	assert_string_equal(c.pods[0].ifname, "va");
	assert_true(c.tap_offload);
	sl_config_free(&c);
	const char *vx = strstr(good, "\"vxlan\":{");
	snprintf(text, sizeof(text), "%.*s\"tap\":{\"offload\":false},%s", (int)(vx - good), good, vx);
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_false(c.tap_offload);
	sl_config_free(&c);
	expect_bad("\"vxlan\":{", "\"tap\":{\"offload\":1},\"vxlan\":{", "tap.offload: must be");
	expect_bad("\"vxlan\":{", "\"tap\":{\"gso\":true},\"vxlan\":{", "tap: unknown field 'gso'");
	expect_bad("\"ifname\":\"va\"}", "\"interface\":\"tun\",\"ifname\":\"va\"}",
		   "pods[0].interface: must be \"veth\", \"vhost-user\" or \"tap\"");
}

/* issue 13: tap.rps_cpus, "auto" (the default), "off" or a CPU list. */
static void test_tap_rps_cpus(void **s)
{
	char text[4096], err[256] = "", mask[SL_CPUS_MASK_MAX];
	const char *vx = strstr(good, "\"vxlan\":{");
	struct sl_config c;
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_true(c.tap_rps_auto);
	assert_int_equal(CPU_COUNT(&c.tap_rps_cpus), 0);
	sl_config_free(&c);
	static const struct { const char *value, *mask; bool is_auto; } ok[] = {
		{ "auto", "0", true }, { "off", "0", false }, { "0", "1", false },
		{ "0-3,8", "10f", false }, { "1,33", "2,00000002", false },
		{ "5-5", "20", false }, { "0-1023", NULL, false },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "%.*s\"tap\":{\"rps_cpus\":\"%s\"},%s",
			 (int)(vx - good), good, ok[i].value, vx);
		assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
		assert_int_equal(c.tap_rps_auto, ok[i].is_auto);
		if (ok[i].mask)
			assert_string_equal(sl_cpus_mask_fmt(&c.tap_rps_cpus, mask), ok[i].mask);
		else
			assert_int_equal(CPU_COUNT(&c.tap_rps_cpus), 1024);
		sl_config_free(&c);
	}
	static const struct { const char *value, *why; } bad[] = {
		{ "", "must not be empty" }, { "all", "expected a CPU number" },
		{ "3-1", "end is below its start" }, { "1024", "above the highest CPU" },
		{ "0,,1", "expected a CPU number" }, { "0-", "expected a CPU number" },
		{ "1 2", "expected ',', '-' or the end" }, { "-1", "expected a CPU number" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char to[128];
		snprintf(to, sizeof(to), "\"tap\":{\"rps_cpus\":\"%s\"},\"vxlan\":{", bad[i].value);
		expect_bad("\"vxlan\":{", to, "tap.rps_cpus: ");
		expect_bad("\"vxlan\":{", to, bad[i].why);
	}
	expect_bad("\"vxlan\":{", "\"tap\":{\"rps_cpus\":3},\"vxlan\":{",
		   "tap.rps_cpus: must be a string");
}

/* issue 13: a tap pod's namespace ("netns") and what sluiced learned of its tap
 * ("netns_cookie", "tap_ifindex"; drivers/sl_tap.h "Surviving a restart"): pod.add only. */
static void expect_pod(const char *fields, int rc, const char *want, struct sl_request *r)
{
	char text[1024], err[256] = "";
	snprintf(text, sizeof(text), "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"a\","
		 "\"ip\":\"10.244.1.9\",\"mac\":\"02:00:00:00:00:09\",\"ifname\":\"v9\",%s}}",
		 fields);
	assert_int_equal(sl_request_parse(text, strlen(text), r, err, sizeof(err)), rc);
	if (want && !strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_tap_netns(void **s)
{
	struct sl_request r;
	expect_pod("\"interface\":\"tap\",\"netns\":\"/var/run/netns/cni-1\","
		   "\"netns_cookie\":\"18446744073709551615\",\"tap_ifindex\":7", 0, NULL, &r);
	assert_string_equal(r.pod.netns, "/var/run/netns/cni-1");
	assert_true(r.pod.netns_cookie == UINT64_MAX); /* 64 bits, exactly */
	assert_int_equal(r.pod.tap_ifindex, 7);
	expect_pod("\"interface\":\"tap\",\"netns\":\"/proc/1/ns/net\"", 0, NULL, &r);
	assert_int_equal(r.pod.tap_ifindex, 0); /* to be created */
	expect_pod("\"netns\":\"/run/netns/x\"", -22,
		   "pod.netns: only with \"interface\": \"tap\"", &r);
	expect_pod("\"interface\":\"tap\",\"netns\":\"x\"", -22,
		   "pod.netns: must be an absolute path", &r);
	expect_pod("\"interface\":\"tap\",\"tap_ifindex\":3,\"netns_cookie\":\"5\"", -22,
		   "pod.netns: missing", &r);
	expect_pod("\"interface\":\"tap\",\"netns\":\"/n\",\"netns_cookie\":\"5\"", -22,
		   "pod.tap_ifindex: missing", &r);
	expect_pod("\"interface\":\"tap\",\"netns\":\"/n\",\"tap_ifindex\":3", -22,
		   "pod.netns_cookie: missing", &r);
	expect_pod("\"interface\":\"tap\",\"netns\":\"/n\",\"tap_ifindex\":0,"
		   "\"netns_cookie\":\"5\"", -22, "pod.tap_ifindex: must be between", &r);
	const char *bad_cookies[] = { "0", "-1", "+5", "5x", "18446744073709551616", " 5" };
	for (unsigned i = 0; i < sizeof(bad_cookies) / sizeof(bad_cookies[0]); i++) {
		char f[256];
		snprintf(f, sizeof(f), "\"interface\":\"tap\",\"netns\":\"/n\",\"tap_ifindex\":3,"
			 "\"netns_cookie\":\"%s\"", bad_cookies[i]);
		expect_pod(f, -22, "pod.netns_cookie: must be a decimal number", &r);
	}
	expect_pod("\"interface\":\"tap\",\"netns\":\"/n\",\"tap_ifindex\":3,"
		   "\"netns_cookie\":5", -22, "pod.netns_cookie: must be a string", &r);
	/* Not in the static config: its pods are made anew at every start. */
	expect_bad("\"ifname\":\"va\"}", "\"interface\":\"tap\",\"netns\":\"/n\",\"ifname\":\"va\"}",
		   "pods[0].netns: only in pod.add");
}

/* issue 13: uplink.kind "tap" (a tap uplink with UDP tunnel GSO, drivers/sl_tap.h). */
static void test_tap_uplink(void **s)
{
	char text[4096], err[256] = "";
	const char *from = "\"uplink\":{\"devargs\":\"net_af_xdp0,iface=x\",\"mtu\":9000}";
	const char *at = strstr(good, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s\"uplink\":{\"kind\":\"tap\",\"ifname\":\"sl-tup0\"}%s",
		 (int)(at - good), good, at + strlen(from));
	struct sl_config c;
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_true(c.uplink_tap);
	assert_true(c.uplink_tunnel_gso); /* the default */
	assert_string_equal(c.uplink_tap_ifname, "sl-tup0");
	assert_int_equal(c.uplink_mtu, 1500);
	struct sl_model_self self;
	sl_config_self(&c, &self);
	assert_string_equal(self.uplink_ifname, "sl-tup0"); /* no pod may take that name */
	sl_config_free(&c);
	snprintf(text, sizeof(text),
		 "%.*s\"uplink\":{\"kind\":\"tap\",\"ifname\":\"t\",\"tunnel_gso\":false}%s",
		 (int)(at - good), good, at + strlen(from));
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_false(c.uplink_tunnel_gso);
	sl_config_free(&c);
	expect_bad(from, "\"uplink\":{\"kind\":\"vhost\",\"devargs\":\"x\"}",
		   "uplink.kind: must be \"ethdev\" or \"tap\"");
	expect_bad(from, "\"uplink\":{\"kind\":\"tap\"}", "uplink.ifname: missing");
	expect_bad(from, "\"uplink\":{\"kind\":\"tap\",\"ifname\":\"t\",\"devargs\":\"x\"}",
		   "uplink.devargs: not with kind \"tap\"");
	expect_bad(from, "\"uplink\":{\"kind\":\"tap\",\"ifname\":\"t\",\"tunnel_gso\":1}",
		   "uplink.tunnel_gso: must be");
	expect_bad(from, "\"uplink\":{\"devargs\":\"x\",\"tunnel_gso\":true}",
		   "uplink.tunnel_gso: only with kind \"tap\"");
}

static void test_bad_configs(void **s)
{
	expect_bad("\"198.18.0.1\"", "\"300.1.1.1\"", "node.ip: '300.1.1.1' is not an IPv4");
	expect_bad("\"ip\":\"198.18.0.1\",", "", "node.ip: missing");
	expect_bad("10.244.1.0/24", "10.244.1.1/24", "node.pod_cidr");
	expect_bad("10.244.1.0/24", "10.244.1.0/33", "node.pod_cidr");
	expect_bad("10.244.0.0/16", "10.245.0.0/16", "node.cluster_cidr: must contain");
	expect_bad("\"mtu\":9000", "\"mtu\":99999", "uplink.mtu: must be between");
	/* issue 13: a pod MTU above one mbuf or the tunnel's needs AF_XDP multi-buffer */
	expect_bad("\"cluster_cidr\":\"10.244.0.0/16\"}",
		   "\"cluster_cidr\":\"10.244.0.0/16\",\"pod_mtu\":9000},\"af_xdp\":{\"multi_buffer\":false}",
		   "node.pod_mtu: at most 1778 without af_xdp.multi_buffer");
	expect_bad("\"cluster_cidr\":\"10.244.0.0/16\"}",
		   "\"cluster_cidr\":\"10.244.0.0/16\",\"pod_mtu\":65001}", "node.pod_mtu: must be between");
	expect_bad("\"vxlan\":{", "\"af_xdp\":{\"multi\":true},\"vxlan\":{",
		   "af_xdp: unknown field 'multi'");
	expect_bad("\"vxlan\":{", "\"af_xdp\":{\"mode\":\"generic\"},\"vxlan\":{",
		   "af_xdp.mode: must be \"skb\" or \"native\"");
	expect_bad("\"vxlan\":{", "\"af_xdp\":{\"mode\":\"skb\",\"multi_buffer\":false},\"vxlan\":{",
		   "af_xdp.mode: \"skb\" needs af_xdp.multi_buffer");
	expect_bad("\"mtu\":9000", "\"mtu\":\"big\"", "uplink.mtu: must be an integer");
	expect_bad("\"vni\":42", "\"vni\":16777216", "vxlan.vni: must be between");
	expect_bad("\"vni\":42", "\"vnid\":42", "vxlan: unknown field 'vnid'");
	expect_bad("02:00:00:00:00:02", "02:00:00:00:00", "pods[0].mac");
	expect_bad("02:00:00:00:00:02", "01:00:00:00:00:02", "pods[0].mac"); /* multicast */
	expect_bad("\"10.244.1.2\"", "\"10.244.9.2\"", "pods[0].ip: 10.244.9.2 is not a pod address of this node");
	expect_bad("\"va\"", "\"an-interface-name-too-long\"", "pods[0].ifname: longer than");
	expect_bad("\"va\"", "\"\"", "pods[0].ifname: must not be empty");
	expect_bad("\"nodes\":[", "\"nodes\":[1,", "nodes[0]: must be an object");
	expect_bad("\"via\":\"198.18.0.254\"", "\"via\":7", "routes[0].via: must be a string");
	expect_bad("{\"node\"", "{\"bogus\":1,\"node\"", "config: unknown field 'bogus'");
	expect_bad("\"routes\":[", "\"routes\":[,", "invalid JSON");
	expect_bad("\"10.244.2.0/24\"", "\"10.244.1.0/25\"", "nodes[0].pod_cidr: overlaps this node's pod CIDR");
	expect_bad("\"ip\":\"198.18.0.2\"", "\"ip\":\"198.18.0.1\"", "nodes[0].ip: 198.18.0.1 is this node's own");
	expect_bad("\"ifname\":\"va\"}]", "\"ifname\":\"va\"},{\"name\":\"b\",\"ip\":\"10.244.1.2\","
		   "\"mac\":\"02:00:00:00:00:03\",\"ifname\":\"vb\"}]", "pods[1].ip: 10.244.1.2 is already used by default/");
	expect_bad("]}", "]} garbage", "config: invalid JSON");
	/* Interface names reach DPDK devargs ("iface=...") and /proc/sys/net/ipv4/conf/<name>. */
	expect_bad("\"vxlan\"", "\"host\":{\"ifname\":\"all\"},\"vxlan\"",
		   "host.ifname: 'all' is a reserved name");
	expect_bad("\"vxlan\"", "\"host\":{\"ifname\":\"default\"},\"vxlan\"",
		   "host.ifname: 'default' is a reserved name");
	expect_bad("\"vxlan\"", "\"host\":{\"ifname\":\"t0,remote=x\"},\"vxlan\"",
		   "host.ifname: 't0,remote=x' has a character not allowed");
	expect_bad("\"vxlan\"", "\"host\":{\"ifname\":\"a/b\"},\"vxlan\"",
		   "host.ifname: 'a/b' has a character");
	expect_bad("\"vxlan\"", "\"host\":{\"ifname\":\"a b\"},\"vxlan\"",
		   "host.ifname: 'a b' has a character");
	expect_bad("\"vxlan\"", "\"host\":{\"ifname\":\"..\"},\"vxlan\"",
		   "host.ifname: '..' is a reserved name");
	expect_bad("\"va\"", "\"lo\"", "pods[0].ifname: 'lo' is a reserved name");
	expect_bad("\"va\"", "\"v:1\"", "pods[0].ifname: 'v:1' has a character");
	expect_bad("\"va\"", "\"v=1\"", "pods[0].ifname: 'v=1' has a character");
	/* issue 12: the deny log switch */
	expect_bad("\"vxlan\"", "\"policy\":{\"deny_log\":1},\"vxlan\"", "policy.deny_log");
	expect_bad("\"vxlan\"", "\"policy\":{\"deny_log_rate\":0},\"vxlan\"",
		   "policy.deny_log_rate: must be between");
	expect_bad("\"vxlan\"", "\"policy\":{\"log\":true},\"vxlan\"",
		   "policy: unknown field 'log'");
}

/* issue 12: "policy": {"deny_log", "deny_log_rate"} read; off and 0 (the default) without. */
static void test_policy_config(void **s)
{
	char text[4096], err[256] = "";
	const char *at = strstr(good, "\"vxlan\"");
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good,
		 "\"policy\":{\"deny_log\":true,\"deny_log_rate\":50},", at);
	struct sl_config c;
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_true(c.policy_deny_log);
	assert_int_equal(c.policy_deny_log_rate, 50);
	sl_config_free(&c);
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_false(c.policy_deny_log);
	assert_int_equal(c.policy_deny_log_rate, 0);
	sl_config_free(&c);
}

/* issue 11: "kubernetes": {"watch_list": "auto" | "on" | "off"}; auto (0) without. */
static void test_kubernetes_config(void **s)
{
	static const char *const modes[] = { "auto", "on", "off" };
	char text[4096], err[256] = "";
	const char *at = strstr(good, "\"vxlan\"");
	struct sl_config c;
	assert_non_null(at);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "%.*s\"kubernetes\":{\"watch_list\":\"%s\"},%s",
			 (int)(at - good), good, modes[i], at);
		assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
		assert_int_equal(c.k8s_watch_list, i);
		sl_config_free(&c);
	}
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_int_equal(c.k8s_watch_list, 0);
	sl_config_free(&c);
	snprintf(text, sizeof(text), "%.*s\"kubernetes\":{\"watch_list\":\"yes\"},%s",
		 (int)(at - good), good, at);
	assert_true(sl_config_parse(text, strlen(text), &c, err, sizeof(err)) < 0);
	assert_string_equal(err, "kubernetes.watch_list: must be \"auto\", \"on\" or \"off\"");
	snprintf(text, sizeof(text), "%.*s\"kubernetes\":{\"watchlist\":\"on\"},%s",
		 (int)(at - good), good, at);
	assert_true(sl_config_parse(text, strlen(text), &c, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "kubernetes: unknown field 'watchlist'"));
}

/* issue 10: "proxy": {"maglev_threads": "auto" | 0..8}; auto (-1) without; anything else
 * refused naming the field. */
static void test_maglev_threads_config(void **s)
{
	static const struct {
		const char *value;
		int want;      /* -2: refused */
		const char *err;
	} cases[] = {
		{ "\"auto\"", -1, NULL }, { "0", 0, NULL }, { "3", 3, NULL }, { "8", 8, NULL },
		{ "9", -2, "proxy.maglev_threads: must be between 0 and 8" },
		{ "-1", -2, "proxy.maglev_threads: must be between 0 and 8" },
		{ "1.5", -2, "proxy.maglev_threads: must be an integer" },
		{ "\"all\"", -2, "proxy.maglev_threads: must be \"auto\" or an integer" },
		{ "true", -2, "proxy.maglev_threads: must be an integer" },
	};
	char text[4096], err[256] = "";
	const char *at = strstr(good, "\"vxlan\"");
	struct sl_config c;
	assert_non_null(at);
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_int_equal(c.maglev_threads, -1);
	sl_config_free(&c);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%.*s\"proxy\":{\"maglev_threads\":%s},%s",
			 (int)(at - good), good, cases[i].value, at);
		int rc = sl_config_parse(text, strlen(text), &c, err, sizeof(err));
		if (cases[i].want == -2) {
			assert_true(rc < 0);
			assert_string_equal(err, cases[i].err);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(c.maglev_threads, cases[i].want);
		sl_config_free(&c);
	}
}

/* issue 11: "limits": {"nodes", "routes"} read and range-checked; the defaults take a
 * 5,000-node cluster with room; the model limits follow them. */
static void test_limits_config(void **s)
{
	char text[4096], err[256] = "";
	const char *at = strstr(good, "\"vxlan\"");
	assert_non_null(at);
	struct sl_config c;
	struct sl_model_limits ml;
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_int_equal(c.limit_nodes, 10000);
	assert_int_equal(c.limit_routes, 1024);
	sl_config_model_limits(&c, &ml);
	assert_int_equal(ml.nodes, 10000);
	assert_int_equal(ml.routes, 1024);
	assert_true(ml.pods > 0);
	sl_config_free(&c);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good,
		 "\"limits\":{\"nodes\":6000,\"routes\":64},", at);
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_int_equal(c.limit_nodes, 6000);
	assert_int_equal(c.limit_routes, 64);
	sl_config_model_limits(&c, &ml);
	assert_int_equal(ml.nodes, 6000);
	assert_int_equal(ml.routes, 64);
	sl_config_free(&c);
	expect_bad("\"vxlan\"", "\"limits\":{\"nodes\":0},\"vxlan\"",
		   "limits.nodes: must be between 1 and 100000");
	expect_bad("\"vxlan\"", "\"limits\":{\"nodes\":100001},\"vxlan\"",
		   "limits.nodes: must be between 1 and 100000");
	expect_bad("\"vxlan\"", "\"limits\":{\"routes\":\"9\"},\"vxlan\"",
		   "limits.routes: must be an integer");
	expect_bad("\"vxlan\"", "\"limits\":{\"pods\":9},\"vxlan\"",
		   "limits: unknown field 'pods'");
}

/* vxlan.vtep_mac, nodes[].vtep_mac (a flannel node's VtepMAC) and metrics.listen. */
static void test_vtep_mac_and_metrics(void **s)
{
	struct sl_config c;
	char err[256] = "", text[4096];
	assert_int_equal(sl_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_false(c.has_vtep_mac);
	assert_false(c.nodes[0].has_vtep_mac);
	assert_false(c.metrics_enabled);
	sl_config_free(&c);

	const char *a = "\"vni\":42", *b = "\"pod_cidr\":\"10.244.2.0/24\"";
	const char *pa = strstr(good, a), *pb = strstr(good, b);
	assert_non_null(pa);
	assert_non_null(pb);
	snprintf(text, sizeof(text), "%.*s%s,\"port\":8472,\"vtep_mac\":\"02:5e:00:00:00:01\""
		 "%.*s%s,\"vtep_mac\":\"0a:1b:2c:3d:4e:5f\"%s", (int)(pa - good), good, a,
		 (int)(pb - pa - strlen(a)), pa + strlen(a), b, pb + strlen(b));
	char *end = strrchr(text, '}');
	snprintf(end, sizeof(text) - (size_t)(end - text), ",\"metrics\":{\"listen\":\"127.0.0.1:9464\"}}");
	assert_int_equal(sl_config_parse(text, strlen(text), &c, err, sizeof(err)), 0);
	assert_int_equal(c.vxlan_port, 8472);
	assert_true(c.has_vtep_mac);
	assert_memory_equal(c.vtep_mac, ((uint8_t[]){ 0x02, 0x5e, 0, 0, 0, 1 }), 6);
	assert_true(c.nodes[0].has_vtep_mac);
	assert_memory_equal(c.nodes[0].vtep_mac, ((uint8_t[]){ 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f }),
			    6);
	assert_false(c.nodes[0].has_mac); /* the underlay neighbour is still ARPed */
	assert_true(c.metrics_enabled);
	assert_int_equal(c.metrics_addr, htonl(0x7f000001));
	assert_int_equal(c.metrics_port, 9464);
	sl_config_free(&c);

	expect_bad(b, "\"pod_cidr\":\"10.244.2.0/24\",\"vtep_mac\":\"00:00:00:00:00:00\"",
		   "nodes[0].vtep_mac: must not be 00:00:00:00:00:00");
	expect_bad(b, "\"pod_cidr\":\"10.244.2.0/24\",\"vtep_mac\":\"ff:ff:ff:ff:ff:ff\"",
		   "nodes[0].vtep_mac: 'ff:ff:ff:ff:ff:ff' is not a unicast MAC");
	expect_bad(b, "\"pod_cidr\":\"10.244.2.0/24\",\"vtep_mac\":7",
		   "nodes[0].vtep_mac: must be a string");
	expect_bad(a, "\"vni\":42,\"vtep_mac\":\"02:5e\"", "vxlan.vtep_mac: '02:5e' is not a unicast");
	static const char *const bad_listen[] = { "9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
						  "127.0.0.1:65536", "127.0.0.1:94x", "localhost:9464",
						  "1.2.3:9464", ":9464", "127.0.0.1:-1", NULL };
	for (const char *const *l = bad_listen; *l; l++) {
		char to[128];
		snprintf(to, sizeof(to), "\"vni\":42},\"metrics\":{\"listen\":\"%s\"", *l);
		char want[96];
		snprintf(want, sizeof(want), "metrics.listen: '%s' is not an IPv4 address and port", *l);
		expect_bad(a, to, want);
	}
	expect_bad(a, "\"vni\":42},\"metrics\":{\"port\":1", "metrics: unknown field 'port'");
	expect_bad(a, "\"vni\":42},\"metrics\":{", "metrics.listen: missing");
}

/* The interface name rule on its own: what Linux and the users of the name accept. */
static void test_ifname_rule(void **s)
{
	static const char *const ok[] = { "eth0", "sl-host", "veth1.100", "a", "x23456789012345",
					  "all0", "lo1", NULL };
	static const char *const bad[] = { "", "x234567890123456", ".", "..", "all", "default",
					   "lo", "a/b", "a,b", "a=b", "a:b", "a;b", "a b", "a\tb",
					   "a\nb", NULL };
	for (const char *const *p = ok; *p; p++)
		if (sl_ifname_invalid(*p))
			fail_msg("'%s' refused: %s", *p, sl_ifname_invalid(*p));
	for (const char *const *p = bad; *p; p++)
		if (!sl_ifname_invalid(*p))
			fail_msg("'%s' accepted", *p);
}

static void test_config_limits(void **s)
{
	/* More pods than the limit: rejected by count, not by running out of memory. */
	static char big[200000];
	size_t n = (size_t)snprintf(big, sizeof(big),
				    "{\"node\":{\"ip\":\"1.1.1.1\",\"pod_cidr\":\"10.0.0.0/8\"},"
				    "\"uplink\":{\"devargs\":\"x\"},\"pods\":[");
	for (int i = 0; i <= SL_CONFIG_MAX_PODS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{}", i ? "," : "");
	snprintf(big + n, sizeof(big) - n, "]}");
	struct sl_config c;
	char err[256];
	assert_int_equal(sl_config_parse(big, strlen(big), &c, err, sizeof(err)), -22);
	assert_non_null(strstr(err, "pods: more than 1000 entries"));
}

static void expect_request(const char *text, int rc, const char *want)
{
	struct sl_request r;
	char err[256] = "";
	assert_int_equal(sl_request_parse(text, strlen(text), &r, err, sizeof(err)), rc);
	if (want && !strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

/* Every command has a name and help; exactly the state-changing ones persist. */
static void test_command_table(void **s)
{
	for (unsigned i = 0; i < SL_CMD_COUNT; i++) {
		assert_non_null(sl_cmds[i].name);
		assert_non_null(sl_cmds[i].help);
		bool changes = strstr(sl_cmds[i].name, ".add") || strstr(sl_cmds[i].name, ".del") ||
			       !strcmp(sl_cmds[i].name, "apply");
		assert_int_equal(!!(sl_cmds[i].flags & SL_CMD_F_PERSIST), changes);
	}
	assert_string_equal(sl_cmds[SL_CMD_POD_ADD].name, "pod.add");
	assert_string_equal(SL_SHOW_ALT, "ports|pods|nodes|routes|neighbors|workers|vhost|queues|"
					 "stats|drops|graph|services|backends|policies|sync");
}

static void test_requests(void **s)
{
	struct sl_request r;
	char err[256];
	const char *ok = "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"a\",\"namespace\":\"x\","
			 "\"ip\":\"10.244.1.9\",\"mac\":\"02:00:00:00:00:09\",\"ifname\":\"v9\"}}";
	assert_int_equal(sl_request_parse(ok, strlen(ok), &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, SL_CMD_POD_ADD);
	assert_string_equal(r.pod.namespace, "x");
	const char *del = "{\"cmd\":\"route.del\",\"prefix\":\"10.0.0.0/8\"}";
	assert_int_equal(sl_request_parse(del, strlen(del), &r, err, sizeof(err)), 0);
	assert_int_equal(r.prefix.len, 8);

	expect_request("not json", -22, "request: invalid JSON");
	expect_request("[1,2]", -22, "request: must be a JSON object");
	expect_request("{\"cmd\":\"reboot\"}", -22, "cmd: unknown command 'reboot'");
	expect_request("{\"cmd\":7}", -22, "cmd: missing");
	expect_request("{\"cmd\":\"show\"}", -22, "what: missing");
	expect_request("{\"cmd\":\"show\",\"what\":\"bogus\"}", -22,
		       "what: unknown table 'bogus' (ports, pods, nodes, routes, neighbors, workers, "
		       "vhost, queues, stats, drops, graph, services, backends, policies, sync)");
	expect_request("{\"cmd\":\"pod.add\"}", -22, "pod: missing or not an object");
	expect_request("{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"a\",\"ifname\":\"v\",\"ip\":\"x\","
		       "\"mac\":\"02:00:00:00:00:01\"}}", -22, "pod.ip: 'x' is not an IPv4");
	expect_request("{\"cmd\":\"node.add\",\"node\":{\"name\":\"n\",\"ip\":\"1.2.3.4\"}}", -22,
		       "node.pod_cidr: missing");
	expect_request("{\"cmd\":\"trace.start\",\"count\":1000}", -22, "count: must be");
	expect_request("{\"cmd\":\"route.del\",\"prefix\":\"1.2.3.4\"}", -22, "prefix:");

	static char huge[SL_API_MAX_REQUEST + 2];
	memset(huge, ' ', sizeof(huge) - 1);
	expect_request(huge, -22, "larger than");
}

/* pod.add "host_ports": parsed, bounded, every bad field named. */
static void test_host_ports(void **s)
{
	struct sl_request r;
	char err[256], text[4096];
	const char *pre = "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"a\",\"ip\":\"10.244.1.9\","
			  "\"mac\":\"02:00:00:00:00:09\",\"ifname\":\"v9\",\"host_ports\":";
	snprintf(text, sizeof(text), "%s[{\"host_port\":18080,\"container_port\":8080},"
		 "{\"host_port\":53,\"container_port\":5353,\"protocol\":\"udp\","
		 "\"host_ip\":\"198.18.0.1\"},{\"host_port\":53,\"container_port\":53,"
		 "\"protocol\":\"sctp\",\"host_ip\":\"0.0.0.0\"}]}}", pre);
	assert_int_equal(sl_request_parse(text, strlen(text), &r, err, sizeof(err)), 0);
	assert_int_equal(r.pod.n_host_ports, 3);
	assert_int_equal(r.pod.host_ports[0].host_port, 18080);
	assert_int_equal(r.pod.host_ports[0].container_port, 8080);
	assert_int_equal(r.pod.host_ports[0].protocol, IPPROTO_TCP);
	assert_int_equal(r.pod.host_ports[0].host_ip, 0);
	assert_int_equal(r.pod.host_ports[1].protocol, IPPROTO_UDP);
	assert_int_equal(r.pod.host_ports[1].host_ip, htonl(0xc6120001));
	assert_int_equal(r.pod.host_ports[2].protocol, IPPROTO_SCTP);
	assert_int_equal(r.pod.host_ports[2].host_ip, 0);

	static const struct {
		const char *hp, *want;
	} bad[] = {
		{ "{}", "pod.host_ports: must be an array" },
		{ "[1]", "pod.host_ports[0]: must be an object" },
		{ "[{\"container_port\":80}]", "pod.host_ports[0].host_port: missing" },
		{ "[{\"host_port\":80}]", "pod.host_ports[0].container_port: missing" },
		{ "[{\"host_port\":0,\"container_port\":80}]",
		  "pod.host_ports[0].host_port: must be between 1 and 65535" },
		{ "[{\"host_port\":80,\"container_port\":65536}]",
		  "pod.host_ports[0].container_port: must be between 1 and 65535" },
		{ "[{\"host_port\":80,\"container_port\":80,\"protocol\":\"icmp\"}]",
		  "pod.host_ports[0].protocol: 'icmp' must be" },
		{ "[{\"host_port\":80,\"container_port\":80,\"host_ip\":\"x\"}]",
		  "pod.host_ports[0].host_ip: 'x' is not an IPv4" },
		{ "[{\"host_port\":80,\"container_port\":80,\"port\":1}]",
		  "pod.host_ports[0]: unknown field 'port'" },
		{ "[{\"host_port\":80,\"container_port\":80},{\"host_port\":80,"
		  "\"container_port\":81}]", "pod.host_ports[1]: host_port 80/tcp repeats "
		  "pod.host_ports[0]" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s}}", pre, bad[i].hp);
		expect_request(text, -22, bad[i].want);
	}
	size_t off = (size_t)snprintf(text, sizeof(text), "%s[", pre);
	for (unsigned i = 0; i < SL_POD_MAX_HOST_PORTS + 1; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"%s{\"host_port\":%u,\"container_port\":80}", i ? "," : "",
					1000 + i);
	snprintf(text + off, sizeof(text) - off, "]}}");
	expect_request(text, -22, "pod.host_ports: more than 8 entries");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_config),
		cmocka_unit_test(test_default_config),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_tap_rps_cpus),
		cmocka_unit_test(test_policy_config),
		cmocka_unit_test(test_kubernetes_config),
		cmocka_unit_test(test_maglev_threads_config),
		cmocka_unit_test(test_limits_config),
		cmocka_unit_test(test_config_limits),
		cmocka_unit_test(test_ifname_rule),
		cmocka_unit_test(test_vtep_mac_and_metrics),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_large_pod_mtu),
		cmocka_unit_test(test_af_xdp_mode),
		cmocka_unit_test(test_pod_interface),
		cmocka_unit_test(test_tap_pods),
		cmocka_unit_test(test_tap_netns),
		cmocka_unit_test(test_tap_uplink),
		cmocka_unit_test(test_command_table),
		cmocka_unit_test(test_host_ports),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
