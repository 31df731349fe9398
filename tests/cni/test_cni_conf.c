/* sluice-cni: environment and config parsing (portMappings included), default IPAM
 * injection, names and the node facts. Every bad input is rejected with the CNI error code
 * the spec assigns and a message that names the field. The other topics: test_cni_result.c
 * (IPAM results, results, errors), test_cni_api.c (sluiced responses and the wire),
 * test_cni_vhost.c (vhost-user). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/result.h"
#include "cni_test.h"

/* Environment. */

static void test_env_good(void **s)
{
	struct sl_cni_env e;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_env_parse(add_env, &e, &err), 0);
	assert_int_equal(e.cmd, SL_CNI_ADD);
	assert_string_equal(e.container_id, "abc123");
	assert_string_equal(e.netns, "/var/run/netns/x");
	assert_string_equal(e.ifname, "eth0");
	assert_string_equal(e.path, "/opt/cni/bin:/usr/lib/cni");
	assert_string_equal(e.k8s_namespace, "web");
	assert_string_equal(e.k8s_name, "front-1");
	assert_string_equal(sl_cni_pod_namespace(&e), "web");
}

static void test_env_bad(void **s)
{
	expect_env("CNI_COMMAND=", NULL, 4, "CNI_COMMAND");
	expect_env("CNI_COMMAND=", "CNI_COMMAND=FROB", 4, "CNI_COMMAND: unknown command \"FROB\"");
	expect_env("CNI_NETNS=", NULL, 4, "CNI_NETNS: required");
	expect_env("CNI_NETNS=", "CNI_NETNS=", 4, "CNI_NETNS: required");
	expect_env("CNI_CONTAINERID=", NULL, 4, "CNI_CONTAINERID: required");
	expect_env("CNI_CONTAINERID=", "CNI_CONTAINERID=-abc", 4, "CNI_CONTAINERID");
	expect_env("CNI_CONTAINERID=", "CNI_CONTAINERID=a/b", 4, "CNI_CONTAINERID");
	expect_env("CNI_IFNAME=", NULL, 4, "CNI_IFNAME: required");
	expect_env("CNI_IFNAME=", "CNI_IFNAME=eth0123456789abcd", 4, "CNI_IFNAME: longer");
	expect_env("CNI_IFNAME=", "CNI_IFNAME=a/b", 4, "CNI_IFNAME");
	expect_env("CNI_IFNAME=", "CNI_IFNAME=a:b", 4, "CNI_IFNAME");
	expect_env("CNI_PATH=", NULL, 4, "CNI_PATH: required");
	expect_env("CNI_ARGS=", "CNI_ARGS=FOO", 4, "CNI_ARGS");
	char longns[300] = "CNI_ARGS=K8S_POD_NAMESPACE=";
	memset(longns + strlen(longns), 'n', 200);
	expect_env("CNI_ARGS=", longns, 4, "CNI_ARGS: K8S_POD_NAMESPACE");
}

static void test_env_per_command(void **s)
{
	struct sl_cni_env e;
	struct sl_cni_err err = { 0 };
	/* DEL: netns and CNI_PATH optional; no CNI_ARGS: namespace "cni". */
	char *del[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=x", "CNI_IFNAME=eth0", NULL };
	assert_int_equal(sl_cni_env_parse(del, &e, &err), 0);
	assert_int_equal(e.cmd, SL_CNI_DEL);
	assert_string_equal(e.netns, "");
	assert_string_equal(sl_cni_pod_namespace(&e), "cni");
	/* VERSION: nothing else needed. */
	char *ver[] = { "CNI_COMMAND=VERSION", NULL };
	assert_int_equal(sl_cni_env_parse(ver, &e, &err), 0);
	assert_int_equal(e.cmd, SL_CNI_VERSION);
	/* GC and STATUS: CNI_PATH only. */
	char *gc[] = { "CNI_COMMAND=GC", "CNI_PATH=/usr/lib/cni", NULL };
	assert_int_equal(sl_cni_env_parse(gc, &e, &err), 0);
	assert_int_equal(e.cmd, SL_CNI_GC);
	char *st[] = { "CNI_COMMAND=STATUS", NULL };
	assert_int_equal(sl_cni_env_parse(st, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "CNI_PATH"));
	/* CHECK needs the netns like ADD. */
	char *chk[] = { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=x", "CNI_IFNAME=eth0",
			"CNI_PATH=/p", NULL };
	assert_int_equal(sl_cni_env_parse(chk, &e, &err), -EINVAL);
	assert_int_equal(err.code, 4);
	assert_non_null(strstr(err.msg, "CNI_NETNS"));
}

/* Configuration. */

static void test_conf_good(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_conf_parse(good, strlen(good), SL_CNI_ADD, &c, &err), 0);
	assert_string_equal(c.version, "1.1.0");
	assert_string_equal(c.name, "sluice");
	assert_string_equal(c.type, "sluice-cni");
	assert_string_equal(c.socket, "/run/x.sock");
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(c.iface, SL_CNI_IFACE_VETH);
	assert_true(c.iface_set); /* good names "veth" */
	assert_null(c.prev_result);
	assert_string_equal(sl_cni_conf_ipam_type(&c), "host-local");
	sl_cni_conf_free(&c);

	const char *min = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"sluice-cni\"}";
	assert_int_equal(sl_cni_conf_parse(min, strlen(min), SL_CNI_ADD, &c, &err), 0);
	assert_string_equal(c.socket, SL_CNI_DEFAULT_SOCKET);
	assert_int_equal(c.mtu, 0);
	assert_true(sl_cni_conf_ipam_needs_node(&c));
	sl_cni_conf_free(&c);

	const char *vh = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\","
			 "\"interface\":\"vhost-user\",\"prevResult\":{\"ips\":[]},"
			 "\"runtimeConfig\":{\"portMappings\":[]},\"capabilities\":{}}";
	assert_int_equal(sl_cni_conf_parse(vh, strlen(vh), SL_CNI_DEL, &c, &err), 0);
	assert_int_equal(c.iface, SL_CNI_IFACE_VHOST_USER);
	assert_non_null(c.prev_result);
	sl_cni_conf_free(&c);
}

/* runtimeConfig.portMappings: read only with capabilities.portMappings and only for ADD;
 * every field checked and named. */
static void test_conf_port_maps(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	const char *pm = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\","
			 "\"capabilities\":{\"portMappings\":true},\"runtimeConfig\":{"
			 "\"portMappings\":[{\"hostPort\":18080,\"containerPort\":8080,"
			 "\"protocol\":\"tcp\"},{\"hostPort\":53,\"containerPort\":5353,"
			 "\"protocol\":\"UDP\",\"hostIP\":\"198.18.0.1\"},{\"hostPort\":9,"
			 "\"containerPort\":9,\"hostIP\":\"\"}]}}";
	assert_int_equal(sl_cni_conf_parse(pm, strlen(pm), SL_CNI_ADD, &c, &err), 0);
	assert_true(c.cap_port_mappings);
	assert_int_equal(c.n_port_maps, 3);
	assert_int_equal(c.port_maps[0].host_port, 18080);
	assert_int_equal(c.port_maps[0].container_port, 8080);
	assert_string_equal(c.port_maps[0].protocol, "tcp");
	assert_int_equal(c.port_maps[0].host_ip, 0);
	assert_string_equal(c.port_maps[1].protocol, "udp");
	assert_int_equal(c.port_maps[1].host_ip, htonl(0xc6120001));
	assert_string_equal(c.port_maps[2].protocol, "tcp");
	sl_cni_conf_free(&c);
	/* DEL ignores them; without the capability they are portmap's, not ours. */
	assert_int_equal(sl_cni_conf_parse(pm, strlen(pm), SL_CNI_DEL, &c, &err), 0);
	assert_int_equal(c.n_port_maps, 0);
	sl_cni_conf_free(&c);
	char text[2048];
	snprintf(text, sizeof(text), "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":"
		 "\"sluice-cni\",\"capabilities\":{\"portMappings\":false},\"runtimeConfig\":{"
		 "\"portMappings\":[{\"hostPort\":0}]}}");
	assert_int_equal(sl_cni_conf_parse(text, strlen(text), SL_CNI_ADD, &c, &err), 0);
	assert_false(c.cap_port_mappings);
	assert_int_equal(c.n_port_maps, 0);
	sl_cni_conf_free(&c);

	static const struct {
		const char *maps, *want;
	} bad[] = {
		{ "{}", "runtimeConfig.portMappings: must be an array" },
		{ "[3]", "runtimeConfig.portMappings[0]: must be an object" },
		{ "[{\"containerPort\":80}]", "runtimeConfig.portMappings[0].hostPort: must be an "
		  "integer from 1 to 65535" },
		{ "[{\"hostPort\":0,\"containerPort\":80}]", "portMappings[0].hostPort" },
		{ "[{\"hostPort\":65536,\"containerPort\":80}]", "portMappings[0].hostPort" },
		{ "[{\"hostPort\":80.5,\"containerPort\":80}]", "portMappings[0].hostPort" },
		{ "[{\"hostPort\":80,\"containerPort\":0}]", "portMappings[0].containerPort" },
		{ "[{\"hostPort\":80,\"containerPort\":\"80\"}]", "portMappings[0].containerPort" },
		{ "[{\"hostPort\":80,\"containerPort\":80,\"protocol\":\"icmp\"}]",
		  "runtimeConfig.portMappings[0].protocol: must be \"tcp\", \"udp\" or \"sctp\"" },
		{ "[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":\"fd00::1\"}]",
		  "runtimeConfig.portMappings[0].hostIP: must be an IPv4 address" },
		{ "[{\"hostPort\":80,\"containerPort\":80},{\"hostPort\":80,\"containerPort\":81,"
		  "\"protocol\":\"TCP\"}]",
		  "runtimeConfig.portMappings[1].hostPort: 80/tcp repeats portMappings[0]" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"cniVersion\":\"1.1.0\",\"name\":\"n\","
			 "\"type\":\"sluice-cni\",\"capabilities\":{\"portMappings\":true},"
			 "\"runtimeConfig\":{\"portMappings\":%s}}", bad[i].maps);
		memset(&err, 0, sizeof(err));
		assert_int_equal(sl_cni_conf_parse(text, strlen(text), SL_CNI_ADD, &c, &err), -EINVAL);
		assert_int_equal(err.code, 7);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("case %u: '%s' does not contain '%s'", i, err.msg, bad[i].want);
		sl_cni_conf_free(&c);
	}
	/* 33 entries: one over sluiced's limit. */
	size_t off = (size_t)snprintf(text, sizeof(text), "{\"cniVersion\":\"1.1.0\",\"name\":"
				      "\"n\",\"type\":\"sluice-cni\",\"capabilities\":{"
				      "\"portMappings\":true},\"runtimeConfig\":{\"portMappings\":[");
	for (unsigned i = 0; i < 33; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"%s{\"hostPort\":%u,\"containerPort\":80}", i ? "," : "",
					1000 + i);
	snprintf(text + off, sizeof(text) - off, "]}}");
	assert_int_equal(sl_cni_conf_parse(text, strlen(text), SL_CNI_ADD, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "runtimeConfig.portMappings: more than 8 entries"));
	sl_cni_conf_free(&c);
	snprintf(text, sizeof(text), "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":"
		 "\"sluice-cni\",\"capabilities\":{\"portMappings\":1}}");
	assert_int_equal(sl_cni_conf_parse(text, strlen(text), SL_CNI_ADD, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "capabilities.portMappings: must be true or false"));
	sl_cni_conf_free(&c);
}

static void test_conf_bad(void **s)
{
	expect_conf("\"1.1.0\"", "\"0.3.1\"", 1, "cniVersion: \"0.3.1\" is not supported");
	expect_conf("\"1.1.0\"", "\"2.0.0\"", 1, "cniVersion");
	expect_conf("\"cniVersion\":\"1.1.0\",", "", 7, "cniVersion: required");
	expect_conf("\"1.1.0\"", "110", 7, "cniVersion: must be a non-empty string");
	expect_conf("\"name\":\"sluice\",", "", 7, "name: required");
	expect_conf("\"sluice\"", "\"\"", 7, "name: must be a non-empty string");
	expect_conf("\"type\":\"sluice-cni\",", "", 7, "type: required");
	expect_conf("\"/run/x.sock\"", "\"run/x.sock\"", 7, "socket: \"run/x.sock\" is not an "
		    "absolute path");
	expect_conf("\"/run/x.sock\"", "\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		    7, "socket: longer than 107 bytes");
	expect_conf("1400", "10", 7, "mtu: must be an integer between 68 and 65535");
	expect_conf("1400", "70000", 7, "mtu");
	expect_conf("1400", "1400.5", 7, "mtu");
	expect_conf("1400", "\"1400\"", 7, "mtu");
	expect_conf("\"veth\"", "\"macvlan\"", 2, "interface: unsupported value \"macvlan\"");
	expect_conf("\"veth\"", "7", 2, "interface");
	expect_conf("{\"type\":\"host-local\",\"dataDir\":\"/tmp/d\"}", "[]", 7,
		    "ipam: must be an object");
	expect_conf("\"type\":\"host-local\",", "", 7, "ipam.type: required");
	expect_conf("\"host-local\"", "\"../bin/sh\"", 7, "ipam.type");
	expect_conf("\"host-local\"", "\"/bin/sh\"", 7, "ipam.type: \"/bin/sh\" must be a plugin "
		    "name");
	expect_conf("\"interface\"", "\"prevResult\":[],\"interface\"", 7,
		    "prevResult: must be an object");
	expect_conf("}}", "}", 6, "config: invalid JSON");
	expect_conf("}}", "}}x", 6, "config: invalid JSON");
	expect_conf_cmd(SL_CNI_GC, "\"interface\"", "\"x\":1,\"interface\"", 7,
			"cni.dev/valid-attachments: required array for GC");
	expect_conf_cmd(SL_CNI_GC, "\"interface\"",
			"\"cni.dev/valid-attachments\":[{\"containerID\":\"a\"}],\"interface\"", 7,
			"cni.dev/valid-attachments[0]");
}

static void test_conf_shapes(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_conf_parse("[1]", 3, SL_CNI_ADD, &c, &err), -EINVAL);
	assert_int_equal(err.code, 6);
	assert_non_null(strstr(err.msg, "config: must be a JSON object"));
	sl_cni_conf_free(&c);
	assert_int_equal(sl_cni_conf_parse("", 0, SL_CNI_DEL, &c, &err), -EINVAL);
	assert_int_equal(err.code, 6);
	sl_cni_conf_free(&c);

	size_t big = SL_CNI_MAX_STDIN + 1;
	char *text = malloc(big);
	memset(text, ' ', big);
	assert_int_equal(sl_cni_conf_parse(text, big, SL_CNI_ADD, &c, &err), -EINVAL);
	assert_int_equal(err.code, 5);
	assert_non_null(strstr(err.msg, "stdin: config larger than"));
	sl_cni_conf_free(&c);
	free(text);

	/* VERSION answers whatever comes in. */
	assert_int_equal(sl_cni_conf_parse("junk", 4, SL_CNI_VERSION, &c, &err), 0);
	assert_string_equal(c.version, "1.1.0");
	sl_cni_conf_free(&c);
	const char *v = "{\"cniVersion\":\"1.0.0\"}";
	assert_int_equal(sl_cni_conf_parse(v, strlen(v), SL_CNI_VERSION, &c, &err), 0);
	assert_string_equal(c.version, "1.0.0");
	sl_cni_conf_free(&c);

	/* A version error is reported with the plugin's own version and the full list. */
	v = "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"t\"}";
	assert_int_equal(sl_cni_conf_parse(v, strlen(v), SL_CNI_ADD, &c, &err), -EINVAL);
	assert_string_equal(c.version, "1.1.0");
	assert_non_null(strstr(err.details, "plugin supports [0.4.0, 1.0.0, 1.1.0]"));
	sl_cni_conf_free(&c);
}

/* IPAM injection. */

/* Parse conf text, inject, return the printed ipam section (static buffer). */
static const char *injected(const char *text, bool want_needs)
{
	static char out[1024];
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	char *full = NULL;
	assert_int_equal(sl_cni_conf_parse(text, strlen(text), SL_CNI_ADD, &c, &err), 0);
	assert_int_equal(sl_cni_conf_ipam_needs_node(&c), want_needs);
	if (want_needs) {
		assert_int_equal(sl_cni_conf_ipam_text(&c, NULL, &full, &err), -EAGAIN);
		assert_int_equal(err.code, 11);
	}
	assert_int_equal(sl_cni_conf_ipam_text(&c, &node, &full, &err), 0);
	cJSON *o = cJSON_Parse(full);
	assert_non_null(o);
	char *ipam = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "ipam"));
	snprintf(out, sizeof(out), "%s", ipam);
	assert_non_null(cJSON_GetObjectItem(o, "name")); /* the whole config goes to IPAM */
	free(ipam);
	cJSON_Delete(o);
	free(full);
	sl_cni_conf_free(&c);
	return out;
}

static void test_ipam_inject(void **s)
{
	assert_string_equal(injected("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\"}",
				     true),
			    "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.244.1.0/24\","
			    "\"gateway\":\"10.244.1.1\"}]]}");
	assert_string_equal(injected("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
				     "\"ipam\":{\"type\":\"host-local\",\"rangeStart\":"
				     "\"10.244.1.100\",\"rangeEnd\":\"10.244.1.200\"}}", true),
			    "{\"type\":\"host-local\",\"rangeStart\":\"10.244.1.100\",\"rangeEnd\":"
			    "\"10.244.1.200\",\"subnet\":\"10.244.1.0/24\",\"gateway\":"
			    "\"10.244.1.1\"}");
	assert_string_equal(injected("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
				     "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"rangeStart\":"
				     "\"10.244.1.9\"},{\"subnet\":\"10.9.0.0/16\"}]]}}", true),
			    "{\"type\":\"host-local\",\"ranges\":[[{\"rangeStart\":\"10.244.1.9\","
			    "\"subnet\":\"10.244.1.0/24\",\"gateway\":\"10.244.1.1\"},{\"subnet\":"
			    "\"10.9.0.0/16\"}]]}");
	assert_string_equal(injected("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
				     "\"ipam\":{\"type\":\"host-local\",\"ranges\":[]}}", true),
			    "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.244.1.0/24\","
			    "\"gateway\":\"10.244.1.1\"}]]}");
	/* Complete sections and other IPAM plugins are passed unchanged. */
	assert_string_equal(injected("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
				     "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.244.1.0/25\","
				     "\"gateway\":\"10.244.1.126\"}}", false),
			    "{\"type\":\"host-local\",\"subnet\":\"10.244.1.0/25\",\"gateway\":"
			    "\"10.244.1.126\"}");
	assert_string_equal(injected("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
				     "\"ipam\":{\"type\":\"static\",\"addresses\":[]}}", false),
			    "{\"type\":\"static\",\"addresses\":[]}");
}

/* Names. */

static void test_names(void **s)
{
	char a[SL_CNI_IFNAME_MAX], b[SL_CNI_IFNAME_MAX], n[SL_CNI_NAME_MAX];
	sl_cni_host_ifname("abc123", "eth0", a);
	sl_cni_host_ifname("abc123", "eth0", b);
	assert_string_equal(a, b); /* stable */
	assert_int_equal(strlen(a), 14);
	assert_true(sl_cni_is_host_ifname(a));
	sl_cni_host_ifname("abc123", "eth1", b);
	assert_string_not_equal(a, b);
	sl_cni_host_ifname("abc124", "eth0", b);
	assert_string_not_equal(a, b);
	sl_cni_host_ifname("abc12", "3eth0", b); /* the separator matters */
	assert_string_not_equal(a, b);
	assert_false(sl_cni_is_host_ifname("sl-up0"));
	assert_false(sl_cni_is_host_ifname("sl-host"));
	assert_false(sl_cni_is_host_ifname("p1a"));
	assert_false(sl_cni_is_host_ifname("sl0123456789AB"));
	assert_false(sl_cni_is_host_ifname("sl0123456789a"));

	sl_cni_pod_name("abc123", "eth0", n);
	assert_string_equal(n, "abc123:eth0");
	char id[201];
	memset(id, 'f', 200);
	id[200] = 0;
	sl_cni_pod_name(id, "net1", n);
	assert_int_equal(strlen(n), SL_CNI_NAME_MAX - 1);
	assert_string_equal(n + strlen(n) - 5, ":net1");
}

static void test_node_parse(void **s)
{
	struct sl_cni_node nd;
	struct sl_cni_err err = { 0 };
	cJSON *v = cJSON_Parse("{\"version\":\"0.1.0\",\"workers\":1,\"node\":\"node1\","
			       "\"pod_cidr\":\"10.244.1.0/24\",\"gateway\":\"10.244.1.1\","
			       "\"pod_mtu\":1450,\"pods\":2}");
	assert_int_equal(sl_cni_node_parse(v, &nd, &err), 0);
	assert_int_equal(nd.pod_net, node.pod_net);
	assert_int_equal(nd.pod_len, 24);
	assert_int_equal(nd.gateway, node.gateway);
	assert_int_equal(nd.pod_mtu, 1450);
	assert_string_equal(nd.name, "node1");
	assert_string_equal(nd.tap_rps_cpus, ""); /* absent: tap pods' rps_cpus left alone */
	assert_false(nd.pod_iface_tap);            /* absent (an older sluiced): veth */
	/* pod_interface: a kernel pod's default, "veth" or "tap", or refused. */
	static const char *const ifaces[] = { "\"tap\"", "\"veth\"", "\"vhost-user\"", "1" };
	for (size_t i = 0; i < sizeof(ifaces) / sizeof(ifaces[0]); i++) {
		char t[512];
		snprintf(t, sizeof(t), "{\"pod_cidr\":\"10.244.1.0/24\",\"gateway\":\"10.244.1.1\","
			 "\"pod_mtu\":1450,\"pod_interface\":%s}", ifaces[i]);
		cJSON *m = cJSON_Parse(t);
		assert_non_null(m);
		if (i < 2) {
			assert_int_equal(sl_cni_node_parse(m, &nd, &err), 0);
			assert_int_equal(nd.pod_iface_tap, i == 0);
		} else {
			assert_int_equal(sl_cni_node_parse(m, &nd, &err), -EINVAL);
			assert_non_null(strstr(err.msg, "pod_interface is not \"veth\" or \"tap\""));
		}
		cJSON_Delete(m);
	}
	/* tap_rps_cpus: an rps_cpus mask, or refused (sluice-cni writes it to sysfs). */
	static const char *const masks[][2] = { { "\"1\"", "1" }, { "\"ff,0000000f\"", "ff,0000000f" },
		{ "\"\"", NULL }, { "\"1;reboot\"", NULL }, { "\"../1\"", NULL }, { "7", NULL },
		{ "\"FF\"", NULL } };
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		char t[512];
		snprintf(t, sizeof(t), "{\"pod_cidr\":\"10.244.1.0/24\",\"gateway\":\"10.244.1.1\","
			 "\"pod_mtu\":1450,\"tap_rps_cpus\":%s}", masks[i][0]);
		cJSON *m = cJSON_Parse(t);
		assert_non_null(m);
		if (masks[i][1]) {
			assert_int_equal(sl_cni_node_parse(m, &nd, &err), 0);
			assert_string_equal(nd.tap_rps_cpus, masks[i][1]);
		} else {
			assert_int_equal(sl_cni_node_parse(m, &nd, &err), -EINVAL);
			assert_non_null(strstr(err.msg, "tap_rps_cpus is not a CPU mask"));
		}
		cJSON_Delete(m);
	}
	cJSON_DeleteItemFromObject(v, "gateway");
	assert_int_equal(sl_cni_node_parse(v, &nd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "gateway"));
	cJSON_Delete(v);
	v = cJSON_Parse("{\"version\":\"0.1.0\"}");
	assert_int_equal(sl_cni_node_parse(v, &nd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "pod_cidr"));
	cJSON_Delete(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_good),
		cmocka_unit_test(test_env_bad),
		cmocka_unit_test(test_env_per_command),
		cmocka_unit_test(test_conf_good),
		cmocka_unit_test(test_conf_bad),
		cmocka_unit_test(test_conf_shapes),
		cmocka_unit_test(test_ipam_inject),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_node_parse),
		cmocka_unit_test(test_conf_port_maps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
