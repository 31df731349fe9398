/* sluice-cni: environment and config parsing, default IPAM injection, names, IPAM result
 * parsing, result/error building, sluiced response parsing, vhost-user options, paths,
 * device-info and files. Every bad input is rejected with the CNI error code the spec
 * assigns and a message that names the field. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cni/api.h"
#include "cni/conf.h"
#include "cni/result.h"
#include "cni/vhost.h"

/* Environment. */

static char *add_env[] = {
	"CNI_COMMAND=ADD", "CNI_CONTAINERID=abc123", "CNI_NETNS=/var/run/netns/x",
	"CNI_IFNAME=eth0", "CNI_PATH=/opt/cni/bin:/usr/lib/cni",
	"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=front-1", "HOME=/root", NULL,
};

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

/* Parse env with entry `drop` removed and `add` (if any) appended; expect code and a
 * message containing want. */
static void expect_env(const char *drop, const char *add, int code, const char *want)
{
	char *env[16];
	int n = 0;
	for (int i = 0; add_env[i]; i++)
		if (!drop || strncmp(add_env[i], drop, strlen(drop)))
			env[n++] = add_env[i];
	if (add)
		env[n++] = (char *)add;
	env[n] = NULL;
	struct sl_cni_env e;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_env_parse(env, &e, &err), -EINVAL);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, want))
		fail_msg("message \"%s\" does not contain \"%s\"", err.msg, want);
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

static const char good[] =
	"{\"cniVersion\":\"1.1.0\",\"name\":\"sluice\",\"type\":\"sluice-cni\","
	"\"socket\":\"/run/x.sock\",\"mtu\":1400,\"interface\":\"veth\","
	"\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"/tmp/d\"}}";

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

/* Replace the first occurrence of from in good by to, parse for cmd, expect code and a
 * message containing want. */
static void expect_conf_cmd(enum sl_cni_cmd cmd, const char *from, const char *to, int code,
			    const char *want)
{
	char text[4096];
	const char *at = strstr(good, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_conf_parse(text, strlen(text), cmd, &c, &err), -EINVAL);
	if (err.code != code || !strstr(err.msg, want))
		fail_msg("%s: got code %d \"%s\", want code %d \"%s\"", text, err.code, err.msg,
			 code, want);
	sl_cni_conf_free(&c);
}

static void expect_conf(const char *from, const char *to, int code, const char *want)
{
	expect_conf_cmd(SL_CNI_ADD, from, to, code, want);
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

static const struct sl_cni_node node = {
	.pod_net = 0x0001f40a, /* 10.244.1.0 */
	.pod_len = 24,
	.gateway = 0x0101f40a, /* 10.244.1.1 */
	.pod_mtu = 1450,
};

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
	cJSON_DeleteItemFromObject(v, "gateway");
	assert_int_equal(sl_cni_node_parse(v, &nd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "gateway"));
	cJSON_Delete(v);
	v = cJSON_Parse("{\"version\":\"0.1.0\"}");
	assert_int_equal(sl_cni_node_parse(v, &nd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "pod_cidr"));
	cJSON_Delete(v);
}

/* IPAM results. */

static void test_ipam_result(void **s)
{
	struct sl_cni_ipam_result r;
	struct sl_cni_err err = { 0 };
	char b[16];
	const char *ok = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.100/24\","
			 "\"gateway\":\"10.244.1.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"},"
			 "{\"dst\":\"10.96.0.0/12\",\"gw\":\"10.244.1.254\"},{\"dst\":\"::/0\"}],"
			 "\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}";
	assert_int_equal(sl_cni_ipam_result_parse(ok, strlen(ok), &r, &err), 0);
	assert_string_equal(sl_cni_fmt_ip(r.ip, b), "10.244.1.100");
	assert_int_equal(r.len, 24);
	assert_string_equal(sl_cni_fmt_ip(r.gateway, b), "10.244.1.1");
	assert_int_equal(r.n_routes, 2); /* the IPv6 route is skipped */
	assert_int_equal(r.routes[1].len, 12);
	assert_string_equal(sl_cni_fmt_ip(r.routes[1].gw, b), "10.244.1.254");
	assert_non_null(r.dns);
	sl_cni_ipam_result_free(&r);

	const char *v04 = "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":"
			  "\"10.244.1.7/24\"}],\"dns\":{}}";
	assert_int_equal(sl_cni_ipam_result_parse(v04, strlen(v04), &r, &err), 0);
	assert_int_equal(r.gateway, 0);
	assert_null(r.dns); /* empty dns is dropped */
	sl_cni_ipam_result_free(&r);

	static const struct {
		const char *text;
		int code;
		const char *want;
	} bad[] = {
		{ "nope", 6, "ipam result: not a JSON object" },
		{ "{}", 6, "ipam result: ips: missing" },
		{ "{\"ips\":[]}", 7, "ipam result: ips: no IPv4 address" },
		{ "{\"ips\":[{}]}", 6, "ips[0].address: missing" },
		{ "{\"ips\":[{\"address\":\"10.0.0.1\"}]}", 6, "ips[0].address: \"10.0.0.1\"" },
		{ "{\"ips\":[{\"address\":\"fd00::5/64\"}]}", 7, "ips[0].address: fd00::5/64 is IPv6" },
		{ "{\"ips\":[{\"address\":\"10.0.0.1/24\"},{\"address\":\"10.0.0.2/24\"}]}", 7,
		  "ips[1]: more than one IPv4" },
		{ "{\"ips\":[{\"address\":\"10.0.0.1/24\",\"gateway\":\"x\"}]}", 6,
		  "ips[0].gateway" },
		{ "{\"ips\":[{\"address\":\"10.0.0.1/24\"}],\"routes\":[{\"dst\":\"x\"}]}", 6,
		  "routes[0].dst" },
		{ "{\"ips\":[{\"address\":\"10.0.0.1/24\"}],\"routes\":{}}", 6, "routes: must be" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_cni_ipam_result_parse(bad[i].text, strlen(bad[i].text), &r,
							  &err), -EINVAL);
		if (err.code != bad[i].code || !strstr(err.msg, bad[i].want))
			fail_msg("%s: got %d \"%s\"", bad[i].text, err.code, err.msg);
		sl_cni_ipam_result_free(&r);
	}
}

/* Results. */

static cJSON *build(const char *version, const cJSON *prev)
{
	static struct sl_cni_ipam_result ip;
	const char *txt = "{\"ips\":[{\"address\":\"10.244.1.100/24\"}],\"routes\":[{\"dst\":"
			  "\"10.96.0.0/12\"}],\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}";
	struct sl_cni_err err = { 0 };
	sl_cni_ipam_result_free(&ip);
	assert_int_equal(sl_cni_ipam_result_parse(txt, strlen(txt), &ip, &err), 0);
	struct sl_cni_attach a = {
		.version = version, .host_ifname = "sl0123456789ab",
		.host_mac = { 2, 0, 0, 0, 0, 1 }, .pod_ifname = "eth0",
		.pod_mac = { 2, 0, 0, 0, 0, 2 }, .netns = "/var/run/netns/p", .mtu = 1450,
		.ip = ip.ip, .gateway = node.gateway, .ipam = &ip,
	};
	return sl_cni_result_build(&a, prev);
}

static const char *str(const cJSON *o, const char *path)
{
	/* path: "key.index.key" */
	char buf[128], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(k))
				     : cJSON_GetObjectItemCaseSensitive(o, k);
	if (cJSON_IsNumber(o)) {
		static char n[32];
		snprintf(n, sizeof(n), "%d", o->valueint);
		return n;
	}
	return cJSON_IsString(o) ? o->valuestring : "(none)";
}

static void test_result_build(void **s)
{
	cJSON *r = build("1.1.0", NULL);
	assert_string_equal(str(r, "cniVersion"), "1.1.0");
	assert_string_equal(str(r, "interfaces.0.name"), "sl0123456789ab");
	assert_string_equal(str(r, "interfaces.0.mac"), "02:00:00:00:00:01");
	assert_string_equal(str(r, "interfaces.0.sandbox"), "(none)");
	assert_string_equal(str(r, "interfaces.0.mtu"), "1450");
	assert_string_equal(str(r, "interfaces.1.name"), "eth0");
	assert_string_equal(str(r, "interfaces.1.sandbox"), "/var/run/netns/p");
	assert_string_equal(str(r, "ips.0.address"), "10.244.1.100/32");
	assert_string_equal(str(r, "ips.0.gateway"), "10.244.1.1");
	assert_string_equal(str(r, "ips.0.interface"), "1");
	assert_string_equal(str(r, "ips.0.version"), "(none)");
	assert_string_equal(str(r, "routes.0.dst"), "0.0.0.0/0");
	assert_string_equal(str(r, "routes.0.gw"), "10.244.1.1");
	assert_string_equal(str(r, "routes.1.dst"), "10.96.0.0/12");
	assert_string_equal(str(r, "routes.1.gw"), "10.244.1.1");
	assert_string_equal(str(r, "dns.nameservers.0"), "10.96.0.10");
	cJSON_Delete(r);

	r = build("1.0.0", NULL); /* mtu is a 1.1.0 field */
	assert_string_equal(str(r, "interfaces.1.mtu"), "(none)");
	cJSON_Delete(r);
	r = build("0.4.0", NULL); /* 0.4.0 ips carry the IP version */
	assert_string_equal(str(r, "ips.0.version"), "4");
	cJSON_Delete(r);

	/* Chained after another plugin: its entries first, our indexes shifted. */
	cJSON *prev = cJSON_Parse("{\"interfaces\":[{\"name\":\"x\"}],\"ips\":[{\"address\":"
				  "\"192.0.2.1/24\",\"interface\":0}],\"dns\":{\"domain\":\"d\"}}");
	r = build("1.1.0", prev);
	assert_string_equal(str(r, "interfaces.0.name"), "x");
	assert_string_equal(str(r, "interfaces.2.name"), "eth0");
	assert_string_equal(str(r, "ips.0.address"), "192.0.2.1/24");
	assert_string_equal(str(r, "ips.1.interface"), "2");
	assert_string_equal(str(r, "dns.nameservers.0"), "10.96.0.10"); /* IPAM's wins */

	/* CHECK reads the address back from such a result. */
	uint32_t ip;
	char b[16];
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_result_find_ip(r, "eth0", "/var/run/netns/p", &ip, &err), 0);
	assert_string_equal(sl_cni_fmt_ip(ip, b), "10.244.1.100");
	assert_int_equal(sl_cni_result_find_ip(r, "eth1", "/var/run/netns/p", &ip, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "prevResult.interfaces: no interface eth1"));
	assert_int_equal(sl_cni_result_find_ip(r, "eth0", "/other", &ip, &err), -ENOENT);
	cJSON_Delete(r);
	cJSON_Delete(prev);
	prev = cJSON_Parse("{\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/n\"}],\"ips\":[]}");
	assert_int_equal(sl_cni_result_find_ip(prev, "eth0", "/n", &ip, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "prevResult.ips"));
	cJSON_Delete(prev);
}

static void test_error_json(void **s)
{
	struct sl_cni_err err = { 0 };
	sl_cni_fail(&err, 7, "mtu: must be an integer between %d and %d", 68, 65535);
	char *t = sl_cni_error_json("1.0.0", &err);
	cJSON *o = cJSON_Parse(t);
	assert_string_equal(str(o, "cniVersion"), "1.0.0");
	assert_string_equal(str(o, "code"), "7");
	assert_string_equal(str(o, "msg"), "mtu: must be an integer between 68 and 65535");
	assert_null(cJSON_GetObjectItem(o, "details"));
	cJSON_Delete(o);
	free(t);
	sl_cni_detail(&err, "more");
	t = sl_cni_error_json("1.1.0", &err);
	o = cJSON_Parse(t);
	assert_string_equal(str(o, "details"), "more");
	cJSON_Delete(o);
	free(t);
}

/* sluiced responses. */

static void test_api_response(void **s)
{
	cJSON *r;
	struct sl_cni_err err = { 0 };
	const char *ok = "{\"ok\":true,\"result\":{\"pods\":3}}\n";
	assert_int_equal(sl_cni_api_response_parse(ok, strlen(ok), &r, &err), 0);
	assert_string_equal(str(r, "pods"), "3");
	cJSON_Delete(r);
	ok = "{\"ok\":true}";
	assert_int_equal(sl_cni_api_response_parse(ok, strlen(ok), &r, &err), 0);
	assert_true(cJSON_IsTrue(r));
	cJSON_Delete(r);
	const char *no = "{\"ok\":false,\"error\":\"pod.ip: 10.9.9.9 is not a pod address\"}";
	assert_int_equal(sl_cni_api_response_parse(no, strlen(no), &r, &err), -EREMOTEIO);
	assert_int_equal(err.code, 100);
	assert_string_equal(err.msg, "sluiced: pod.ip: 10.9.9.9 is not a pod address");
	assert_null(r);
	assert_int_equal(sl_cni_api_response_parse("{\"x\":1}", 7, &r, &err), -EBADMSG);
	assert_int_equal(err.code, 5);
	assert_int_equal(sl_cni_api_response_parse("", 0, &r, &err), -EBADMSG);
}

static void test_api_unreachable(void **s)
{
	struct sl_cni_node nd;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_api_version("/nonexistent/sluiced.sock", &nd, &err),
			 -ECONNREFUSED);
	assert_int_equal(err.code, 11);
	assert_non_null(strstr(err.msg, "sluiced not reachable at /nonexistent/sluiced.sock"));
}

/* A one-connection fake sluiced: records the request, answers a canned response. */
struct fake {
	int listen_fd;
	const char *response;
	char request[4096];
};

static void *fake_serve(void *p)
{
	struct fake *f = p;
	int fd = accept(f->listen_fd, NULL, NULL);
	size_t len = 0;
	ssize_t r;
	while (fd >= 0 && len < sizeof(f->request) - 1 &&
	       (r = read(fd, f->request + len, sizeof(f->request) - 1 - len)) > 0)
		len += (size_t)r; /* until the client's shutdown(SHUT_WR) */
	f->request[len] = 0;
	if (fd >= 0) {
		(void)!write(fd, f->response, strlen(f->response));
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f, pthread_t *t, const char *path, const char *response)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 1), 0);
	f->response = response;
	assert_int_equal(pthread_create(t, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f, pthread_t t, const char *path)
{
	pthread_join(t, NULL);
	close(f->listen_fd);
	unlink(path);
}

static void test_api_wire(void **s)
{
	char path[64];
	struct fake f;
	pthread_t t;
	struct sl_cni_err err = { 0 };
	snprintf(path, sizeof(path), "/tmp/sl-cni-test-%d.sock", (int)getpid());

	/* pod.add: one JSON object and a newline, the fields sluiced expects. */
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":true}\n");
	struct sl_cni_pod pod = { .name = "abc:eth0", .namespace = "web", .ip = 0x6401f40a,
				  .mac = { 0xaa, 0xbb, 0xcc, 0, 1, 2 }, .ifname = "sl0123456789ab" };
	assert_int_equal(sl_cni_api_pod_add(path, &pod, &err), 0);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"abc:eth0\","
			    "\"namespace\":\"web\",\"ip\":\"10.244.1.100\",\"mac\":"
			    "\"aa:bb:cc:00:01:02\",\"ifname\":\"sl0123456789ab\"}}\n");

	/* pod.add of a vhost-user pod: interface, socket and vhost_mode instead of ifname. */
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":true}\n");
	struct sl_cni_pod vp = { .name = "abc:net1", .namespace = "web", .ip = 0x6401f40a,
				 .mac = { 2, 0, 0, 0, 0x10, 1 }, .vhost = true,
				 .socket = "/run/sluice/vhost/0123456789ab/net1.sock" };
	assert_int_equal(sl_cni_api_pod_add(path, &vp, &err), 0);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"abc:net1\","
			    "\"namespace\":\"web\",\"ip\":\"10.244.1.100\",\"mac\":"
			    "\"02:00:00:00:10:01\",\"interface\":\"vhost-user\",\"socket\":"
			    "\"/run/sluice/vhost/0123456789ab/net1.sock\",\"vhost_mode\":\"client\"}}\n");
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":true}\n");
	vp.vhost_server = true;
	assert_int_equal(sl_cni_api_pod_add(path, &vp, &err), 0);
	fake_stop(&f, t, path);
	assert_non_null(strstr(f.request, "\"vhost_mode\":\"server\"}}"));

	/* pod.del of a pod sluiced does not have: -ENOENT (DEL treats it as done). */
	fake_start(&f, &t, path, "{\"ok\":false,\"error\":\"pod web/abc:eth0 not found\"}\n");
	assert_int_equal(sl_cni_api_pod_del(path, "web", "abc:eth0", &err), -ENOENT);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"pod.del\",\"namespace\":\"web\",\"name\":"
			    "\"abc:eth0\"}\n");

	/* Any other refusal is an error with sluiced's reason. */
	fake_start(&f, &t, path, "{\"ok\":false,\"error\":\"pod limit reached (1000)\"}\n");
	assert_int_equal(sl_cni_api_pod_del(path, "web", "abc:eth0", &err), -EREMOTEIO);
	fake_stop(&f, t, path);
	assert_int_equal(err.code, 100);
	assert_string_equal(err.msg, "sluiced: pod limit reached (1000)");

	/* version: the node's facts. */
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":{\"version\":\"0.1.0\",\"node\":"
		   "\"n1\",\"pod_cidr\":\"10.244.1.0/24\",\"gateway\":\"10.244.1.1\","
		   "\"pod_mtu\":1450,\"pods\":0}}\n");
	struct sl_cni_node nd;
	assert_int_equal(sl_cni_api_version(path, &nd, &err), 0);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"version\"}\n");
	assert_int_equal(nd.gateway, node.gateway);

	/* show pods must be an array. */
	cJSON *pods = NULL;
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":{}}\n");
	assert_int_equal(sl_cni_api_pods(path, &pods, &err), -EBADMSG);
	fake_stop(&f, t, path);
	assert_null(pods);
}

/* vhost-user. */

static void test_conf_vhost_good(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	char b[18];
	/* Defaults: sluiced is the client (the pod creates the socket), /run/sluice/vhost. */
	const char *d = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\","
			"\"interface\":\"vhost-user\"}";
	assert_int_equal(sl_cni_conf_parse(d, strlen(d), SL_CNI_ADD, &c, &err), 0);
	assert_int_equal(c.iface, SL_CNI_IFACE_VHOST_USER);
	assert_false(c.vhost_server);
	assert_string_equal(c.socket_dir, "/run/sluice/vhost");
	assert_false(c.has_mac);
	assert_string_equal(c.devinfo_file, "");
	sl_cni_conf_free(&c);

	/* Every option; trailing slashes of socketDir dropped; runtimeConfig's interface,
	 * mac and CNIDeviceInfoFile taken, its other keys ignored. */
	const char *all = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"sluice-cni\","
			  "\"interface\":\"veth\",\"vhostMode\":\"server\",\"socketDir\":"
			  "\"/var/run/vh//\",\"runtimeConfig\":{\"interface\":\"vhost-user\","
			  "\"mac\":\"02:AA:bb:00:00:01\",\"CNIDeviceInfoFile\":"
			  "\"/var/run/k8s.cni.cncf.io/devinfo/cni/x\",\"deviceID\":\"d1\","
			  "\"portMappings\":[]}}";
	assert_int_equal(sl_cni_conf_parse(all, strlen(all), SL_CNI_ADD, &c, &err), 0);
	assert_int_equal(c.iface, SL_CNI_IFACE_VHOST_USER);
	assert_true(c.vhost_server);
	assert_string_equal(c.socket_dir, "/var/run/vh");
	assert_true(c.has_mac);
	assert_string_equal(sl_cni_fmt_mac(c.mac, b), "02:aa:bb:00:00:01");
	assert_string_equal(c.devinfo_file, "/var/run/k8s.cni.cncf.io/devinfo/cni/x");
	/* runtimeConfig wins over CNI_ARGS. */
	struct sl_cni_env e = { 0 };
	snprintf(e.arg_iface, sizeof(e.arg_iface), "veth");
	snprintf(e.arg_mac, sizeof(e.arg_mac), "02:00:00:00:00:09");
	assert_int_equal(sl_cni_conf_apply_args(&c, &e, &err), 0);
	assert_int_equal(c.iface, SL_CNI_IFACE_VHOST_USER);
	assert_string_equal(sl_cni_fmt_mac(c.mac, b), "02:aa:bb:00:00:01");
	sl_cni_conf_free(&c);

	/* CNI_ARGS SLUICE_INTERFACE and MAC win over the config. */
	const char *v = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\"}";
	char *env[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc", "CNI_NETNS=/n",
			"CNI_IFNAME=net1", "CNI_PATH=/p",
			"CNI_ARGS=IgnoreUnknown=1;SLUICE_INTERFACE=vhost-user;MAC=02-00-00-00-10-01",
			NULL };
	assert_int_equal(sl_cni_env_parse(env, &e, &err), 0);
	assert_string_equal(e.arg_iface, "vhost-user");
	assert_int_equal(sl_cni_conf_parse(v, strlen(v), SL_CNI_ADD, &c, &err), 0);
	assert_int_equal(c.iface, SL_CNI_IFACE_VETH);
	assert_int_equal(sl_cni_conf_apply_args(&c, &e, &err), 0);
	assert_int_equal(c.iface, SL_CNI_IFACE_VHOST_USER);
	assert_true(c.has_mac);
	assert_string_equal(sl_cni_fmt_mac(c.mac, b), "02:00:00:00:10:01");
	sl_cni_conf_free(&c);

	/* The pod's user: socketUid/socketGid of the network, args.cni (Multus cni-args, per
	 * pod) wins; absent: none. K8S_POD_UID from CNI_ARGS. */
	assert_false(c.has_uid || c.has_gid);
	const char *o = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\","
			"\"socketUid\":1000,\"socketGid\":2000,\"args\":{\"cni\":{\"socketUid\":"
			"4321}}}";
	assert_int_equal(sl_cni_conf_parse(o, strlen(o), SL_CNI_ADD, &c, &err), 0);
	assert_true(c.has_uid && c.has_gid);
	assert_int_equal(c.uid, 4321);
	assert_int_equal(c.gid, 2000);
	sl_cni_conf_free(&c);
	char *uenv[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc", "CNI_NETNS=/n",
			 "CNI_IFNAME=net1", "CNI_PATH=/p",
			 "CNI_ARGS=K8S_POD_UID=0b5c2b1e-7f44-4a1c-9b7e-2f6f2d9c1a00", NULL };
	assert_int_equal(sl_cni_env_parse(uenv, &e, &err), 0);
	assert_string_equal(e.k8s_uid, "0b5c2b1e-7f44-4a1c-9b7e-2f6f2d9c1a00");
}

static void test_conf_vhost_bad(void **s)
{
	expect_conf("\"veth\"", "\"vhost-user\",\"vhostMode\":\"both\"", 7,
		    "vhostMode: must be \"client\"");
	expect_conf("\"veth\"", "\"vhost-user\",\"vhostMode\":1", 7, "vhostMode: must be");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketUid\":-1", 7,
		    "socketUid: must be an integer between 0 and 4294967294");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketGid\":\"0\"", 7, "socketGid: must be");
	expect_conf("\"veth\"", "\"vhost-user\",\"args\":{\"cni\":{\"socketUid\":1.5}}", 7,
		    "args.cni.socketUid: must be an integer");
	expect_env("CNI_ARGS=", "CNI_ARGS=K8S_POD_UID=../../etc", 4,
		   "CNI_ARGS: K8S_POD_UID: \"../../etc\" has characters outside [A-Za-z0-9-]");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketDir\":\"run/vh\"", 7,
		    "socketDir: \"run/vh\" is not an absolute path");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketDir\":\"/run/../etc\"", 7,
		    "socketDir: \"/run/../etc\" has a \".\" or \"..\" component");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketDir\":\"/run/./x\"", 7, "socketDir");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketDir\":\"//\"", 7,
		    "socketDir: must not be \"/\"");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketDir\":\"\"", 7,
		    "socketDir: must be a non-empty string");
	expect_conf("\"veth\"", "\"vhost-user\",\"socketDir\":\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaa\"", 7, "socketDir: longer than 107 bytes");
	expect_conf("\"veth\"", "\"veth\",\"runtimeConfig\":[]", 7,
		    "runtimeConfig: must be an object");
	expect_conf("\"veth\"", "\"veth\",\"runtimeConfig\":{\"interface\":\"macvlan\"}", 2,
		    "runtimeConfig.interface: unsupported value \"macvlan\"");
	expect_conf("\"veth\"", "\"veth\",\"runtimeConfig\":{\"interface\":3}", 2,
		    "runtimeConfig.interface: must be");
	expect_conf("\"veth\"", "\"vhost-user\",\"runtimeConfig\":{\"mac\":\"01:00:5e:00:00:01\"}",
		    7, "runtimeConfig.mac: must be a unicast MAC");
	expect_conf("\"veth\"", "\"vhost-user\",\"runtimeConfig\":{\"mac\":\"00:00:00:00:00:00\"}",
		    7, "runtimeConfig.mac");
	expect_conf("\"veth\"", "\"vhost-user\",\"runtimeConfig\":{\"mac\":\"02:00:00:00:00\"}",
		    7, "runtimeConfig.mac");
	expect_conf("\"veth\"", "\"vhost-user\",\"runtimeConfig\":{\"mac\":\"02:00:00:00:00:0g\"}",
		    7, "runtimeConfig.mac");
	expect_conf("\"veth\"", "\"vhost-user\",\"runtimeConfig\":{\"mac\":\"02:00-00:00:00:01\"}",
		    7, "runtimeConfig.mac");
	expect_conf("\"veth\"", "\"vhost-user\",\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"x\"}",
		    7, "runtimeConfig.CNIDeviceInfoFile: must be an absolute path");

	/* CNI_ARGS: code 4, the key named. */
	struct sl_cni_conf c;
	struct sl_cni_env e = { 0 };
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_conf_parse(good, strlen(good), SL_CNI_ADD, &c, &err), 0);
	snprintf(e.arg_iface, sizeof(e.arg_iface), "macvlan");
	assert_int_equal(sl_cni_conf_apply_args(&c, &e, &err), -EINVAL);
	assert_int_equal(err.code, 4);
	assert_non_null(strstr(err.msg, "CNI_ARGS: SLUICE_INTERFACE: unsupported value \"macvlan\""));
	e.arg_iface[0] = 0;
	snprintf(e.arg_mac, sizeof(e.arg_mac), "ff:ff:ff:ff:ff:ff");
	assert_int_equal(sl_cni_conf_apply_args(&c, &e, &err), -EINVAL);
	assert_int_equal(err.code, 4);
	assert_non_null(strstr(err.msg, "CNI_ARGS: MAC: \"ff:ff:ff:ff:ff:ff\" is not a unicast"));
	sl_cni_conf_free(&c);
	char longmac[80] = "CNI_ARGS=MAC=";
	memset(longmac + strlen(longmac), '0', 40);
	expect_env("CNI_ARGS=", longmac, 4, "CNI_ARGS: MAC longer than 31 bytes");
}

static void test_vhost_paths(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	struct sl_cni_vhost v, w;
	char host[SL_CNI_IFNAME_MAX], want[256], b[18];
	const char *d = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\","
			"\"interface\":\"vhost-user\"}";
	assert_int_equal(sl_cni_conf_parse(d, strlen(d), SL_CNI_ADD, &c, &err), 0);
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "net1", "", &v, &err), 0);
	sl_cni_host_ifname("abc123", "net1", host);
	assert_string_equal(v.id, host + 2); /* the same 12 hex digits as a veth host end */
	assert_true(sl_cni_is_vhost_id(v.id));
	snprintf(want, sizeof(want), "/run/sluice/vhost/%s", v.id);
	assert_string_equal(v.dir, want);
	snprintf(want, sizeof(want), "/run/sluice/vhost/%s/net1.sock", v.id);
	assert_string_equal(v.socket, want);
	snprintf(want, sizeof(want), "/run/sluice/vhost/%s/device-info.json", v.id);
	assert_string_equal(v.devinfo, want);
	/* Generated MAC: locally administered unicast, stable, per attachment. */
	assert_int_equal(v.mac[0] & 3, 2);
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "net1", "", &w, &err), 0);
	assert_memory_equal(v.mac, w.mac, 6);
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "net2", "", &w, &err), 0);
	assert_memory_not_equal(v.mac, w.mac, 6);
	assert_string_not_equal(v.id, w.id);
	uint8_t m[6];
	sl_cni_vhost_mac(0xffffffffffffffffull, m);
	assert_string_equal(sl_cni_fmt_mac(m, b), "fe:ff:ff:ff:ff:ff");
	sl_cni_vhost_mac(0, m);
	assert_string_equal(sl_cni_fmt_mac(m, b), "02:00:00:00:00:00");
	/* A given MAC is used as is. */
	c.has_mac = true;
	memcpy(c.mac, (uint8_t[]){ 2, 0, 0, 0, 0x10, 1 }, 6);
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "net1", "", &w, &err), 0);
	assert_string_equal(sl_cni_fmt_mac(w.mac, b), "02:00:00:00:10:01");

	/* The socket path must fit sun_path: "<dir>/<12>/<ifname>.sock" is len(dir) + 23 for
	 * eth0, so an 84-byte socketDir fits (107 bytes) and an 85-byte one does not. */
	memset(c.socket_dir, 'd', 84);
	c.socket_dir[0] = '/';
	c.socket_dir[84] = 0;
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "eth0", "", &w, &err), 0);
	assert_int_equal(strlen(w.socket), 107);
	strcat(c.socket_dir, "d");
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "eth0", "", &w, &err), -ENAMETOOLONG);
	assert_int_equal(err.code, 7);
	if (strncmp(err.msg, "socketDir: ", 11) || !strstr(err.msg, "would be 108 bytes"))
		fail_msg("message: %s", err.msg);
	assert_string_equal(w.socket, "");
	assert_int_equal(strlen(w.dir), 85 + 13); /* DEL still knows the directory */
	/* The longest socketDir still gives a directory. */
	memset(c.socket_dir, 'd', 107);
	c.socket_dir[0] = '/';
	c.socket_dir[107] = 0;
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "eth0", "", &w, &err), -ENAMETOOLONG);
	assert_int_equal(strlen(w.dir), 107 + 13);
	/* With the pod's UID (Kubernetes): "<uid>-<ifname>", what a pod spec can name with
	 * subPathExpr; the MAC still comes from the attachment hash. */
	snprintf(c.socket_dir, sizeof(c.socket_dir), "/run/sluice/vhost");
	c.has_mac = false;
	assert_int_equal(sl_cni_vhost_paths(&c, "abc123", "net1",
					    "0b5c2b1e-7f44-4a1c-9b7e-2f6f2d9c1a00", &w, &err), 0);
	assert_string_equal(w.id, "0b5c2b1e-7f44-4a1c-9b7e-2f6f2d9c1a00-net1");
	assert_string_equal(w.socket,
			    "/run/sluice/vhost/0b5c2b1e-7f44-4a1c-9b7e-2f6f2d9c1a00-net1/net1.sock");
	assert_memory_equal(w.mac, v.mac, 6);
	sl_cni_conf_free(&c);

	assert_false(sl_cni_is_vhost_id("0123456789AB"));
	assert_false(sl_cni_is_vhost_id("0123456789a"));
	assert_false(sl_cni_is_vhost_id("0123456789abc"));
	assert_false(sl_cni_is_vhost_id("0123456789ag"));
	assert_true(sl_cni_is_vhost_id("0123456789ab"));

	uint8_t mac[6];
	assert_int_equal(sl_cni_parse_mac("02:5c:00:00:00:01", mac), 0);
	assert_int_equal(sl_cni_parse_mac("02:5c:00:00:00:01x", mac), -EINVAL);
	assert_int_equal(sl_cni_parse_mac("2:5c:00:00:00:01", mac), -EINVAL);
	assert_int_equal(sl_cni_parse_mac("03:5c:00:00:00:01", mac), -EINVAL);
	assert_int_equal(sl_cni_parse_mac(" 2:5c:00:00:00:01", mac), -EINVAL);
}

static void test_vhost_devinfo(void **s)
{
	char *t = sl_cni_vhost_devinfo("/run/sluice/vhost/0123456789ab/net1.sock", false);
	cJSON *o = cJSON_Parse(t);
	assert_non_null(o);
	assert_string_equal(str(o, "type"), "vhost-user");
	assert_string_equal(str(o, "version"), "1.1.0");
	/* The POD's role: sluiced is the client, so the pod is the server. */
	assert_string_equal(str(o, "vhost-user.mode"), "server");
	assert_string_equal(str(o, "vhost-user.path"), "/run/sluice/vhost/0123456789ab/net1.sock");
	assert_int_equal(cJSON_GetArraySize(o), 3);
	cJSON_Delete(o);
	free(t);
	t = sl_cni_vhost_devinfo("/x.sock", true);
	o = cJSON_Parse(t);
	assert_string_equal(str(o, "vhost-user.mode"), "client");
	cJSON_Delete(o);
	free(t);
}

static cJSON *build_vhost(const char *version, const cJSON *prev)
{
	static struct sl_cni_ipam_result ip;
	const char *txt = "{\"ips\":[{\"address\":\"10.244.1.100/24\"}],\"dns\":{}}";
	struct sl_cni_err err = { 0 };
	sl_cni_ipam_result_free(&ip);
	assert_int_equal(sl_cni_ipam_result_parse(txt, strlen(txt), &ip, &err), 0);
	struct sl_cni_attach a = {
		.version = version, .socket_path = "/run/sluice/vhost/0123456789ab/net1.sock",
		.pod_ifname = "net1", .pod_mac = { 2, 0, 0, 0, 0x10, 1 },
		.netns = "/var/run/netns/p", .mtu = 1450, .ip = ip.ip, .gateway = node.gateway,
		.ipam = &ip,
	};
	return sl_cni_result_build(&a, prev);
}

static void test_result_vhost(void **s)
{
	cJSON *r = build_vhost("1.1.0", NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "interfaces")), 1);
	assert_string_equal(str(r, "interfaces.0.name"), "net1");
	assert_string_equal(str(r, "interfaces.0.mac"), "02:00:00:00:10:01");
	assert_string_equal(str(r, "interfaces.0.sandbox"), "/var/run/netns/p");
	assert_string_equal(str(r, "interfaces.0.socketPath"),
			    "/run/sluice/vhost/0123456789ab/net1.sock");
	assert_string_equal(str(r, "ips.0.address"), "10.244.1.100/24"); /* IPAM's prefix */
	assert_string_equal(str(r, "ips.0.gateway"), "10.244.1.1");
	assert_string_equal(str(r, "ips.0.interface"), "0");
	assert_string_equal(str(r, "routes.0.dst"), "0.0.0.0/0");
	assert_string_equal(str(r, "routes.0.gw"), "10.244.1.1");
	assert_null(cJSON_GetObjectItem(r, "dns"));
	/* CHECK finds the address of such a result. */
	uint32_t ip;
	char b[16];
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_result_find_ip(r, "net1", "/var/run/netns/p", &ip, &err), 0);
	assert_string_equal(sl_cni_fmt_ip(ip, b), "10.244.1.100");
	cJSON_Delete(r);
	/* socketPath is a CNI 1.1.0 field. */
	r = build_vhost("1.0.0", NULL);
	assert_string_equal(str(r, "interfaces.0.socketPath"), "(none)");
	assert_string_equal(str(r, "interfaces.0.name"), "net1");
	cJSON_Delete(r);
	/* Chained: after the previous plugins' interfaces. */
	cJSON *prev = cJSON_Parse("{\"interfaces\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
	r = build_vhost("1.1.0", prev);
	assert_string_equal(str(r, "interfaces.2.name"), "net1");
	assert_string_equal(str(r, "ips.0.interface"), "2");
	cJSON_Delete(r);
	cJSON_Delete(prev);
}

/* The directory and file helpers, in a scratch directory under /tmp. */
static void test_vhost_files(void **s)
{
	char base[64], path[256];
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	struct sl_cni_vhost v;
	struct sl_cni_vhost_owner me = { .container_id = "abc", .ifname = "eth0" };
	struct stat st;
	snprintf(base, sizeof(base), "/tmp/sl-cni-test-%d", (int)getpid());
	const char *d = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\"}";
	assert_int_equal(sl_cni_conf_parse(d, strlen(d), SL_CNI_ADD, &c, &err), 0);
	snprintf(c.socket_dir, sizeof(c.socket_dir), "%s/a/b", base);
	assert_int_equal(sl_cni_vhost_paths(&c, "abc", "eth0", "", &v, &err), 0);

	mode_t old = umask(077);
	int dfd = sl_cni_vhost_dir_create(&c, &v, &me, &err); /* parents made */
	umask(old);
	assert_true(dfd >= 0);
	close(dfd);
	assert_int_equal(stat(v.dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700); /* root's: no pod user given */
	/* Leftovers of an earlier attachment (a stale socket, a subdirectory, a symlink out
	 * of the tree) are removed on the next create; a symlink is not followed. */
	snprintf(path, sizeof(path), "%s/keep", base);
	assert_int_equal(sl_cni_write_file(path, "x", false, &err), 0);
	snprintf(path, sizeof(path), "%s/eth0.sock", v.dir);
	assert_int_equal(sl_cni_write_file(path, "stale", false, &err), 0);
	snprintf(path, sizeof(path), "%s/sub/deeper", v.dir);
	assert_int_equal(sl_cni_write_file(path, "y", true, &err), 0);
	snprintf(path, sizeof(path), "%s/link", v.dir);
	char target[128];
	snprintf(target, sizeof(target), "%s/keep", base);
	assert_int_equal(symlink(target, path), 0);
	dfd = sl_cni_vhost_dir_create(&c, &v, &me, &err);
	assert_true(dfd >= 0);
	snprintf(path, sizeof(path), "%s/eth0.sock", v.dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(access(target, F_OK), 0);

	/* Atomic write, mode 0644, then replace. */
	assert_int_equal(sl_cni_write_at(dfd, SL_CNI_DEVINFO_NAME, "one", v.devinfo, &err), 0);
	assert_int_equal(sl_cni_write_at(dfd, SL_CNI_DEVINFO_NAME, "two", v.devinfo, &err), 0);
	close(dfd);
	FILE *f = fopen(v.devinfo, "r");
	char buf[16] = "";
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "two");
	assert_int_equal(stat(v.devinfo, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Writing into a missing directory fails naming the path, unless parents are made. */
	snprintf(path, sizeof(path), "%s/no/such/file", base);
	assert_int_equal(sl_cni_write_file(path, "z", false, &err), -ENOENT);
	assert_int_equal(err.code, 101);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(sl_cni_write_file(path, "z", true, &err), 0);

	/* Remove: twice (the second finds nothing), the symlink's target survives, the owner
	 * record goes with the directory. */
	snprintf(path, sizeof(path), "%s/link", v.dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(sl_cni_vhost_dir_remove(c.socket_dir, v.id, &me, true, &err), 0);
	assert_int_not_equal(access(v.dir, F_OK), 0);
	snprintf(path, sizeof(path), "%s/.owner/%s", c.socket_dir, v.id);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(sl_cni_vhost_dir_remove(c.socket_dir, v.id, &me, true, &err), 0);
	assert_int_equal(access(target, F_OK), 0);
	sl_cni_conf_free(&c);
	assert_int_equal(sl_cni_rm_tree(base, &err), 0);
	assert_int_not_equal(access(base, F_OK), 0);
}

static char vbase[64];

/* A socketDir in a fresh scratch directory, and attachment (id, ifname)'s paths in it. */
static void vh_setup(struct sl_cni_conf *c, struct sl_cni_vhost *v, const char *id,
		     const char *ifname, const char *uid)
{
	struct sl_cni_err err = { 0 };
	const char *d = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"sluice-cni\"}";
	snprintf(vbase, sizeof(vbase), "/tmp/sl-cni-vh-%d", (int)getpid());
	assert_int_equal(sl_cni_conf_parse(d, strlen(d), SL_CNI_ADD, c, &err), 0);
	snprintf(c->socket_dir, sizeof(c->socket_dir), "%s/vhost", vbase);
	assert_int_equal(sl_cni_vhost_paths(c, id, ifname, uid, v, &err), 0);
}

static void vh_teardown(struct sl_cni_conf *c)
{
	struct sl_cni_err err;
	sl_cni_conf_free(c);
	assert_int_equal(sl_cni_rm_tree(vbase, &err), 0);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Two attachments with the same id (a hash collision, played by giving the second one
 * the first one's paths): the second ADD is refused with code 104 naming the owner, and
 * neither its undo nor its DEL touches the first one's directory. */
static void test_vhost_collision(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_vhost v;
	struct sl_cni_err err = { 0 };
	struct sl_cni_vhost_owner a = { .container_id = "aaaa", .ifname = "net1" };
	struct sl_cni_vhost_owner b = { .container_id = "bbbb", .ifname = "net1" };
	char sock[300];
	vh_setup(&c, &v, "aaaa", "net1", "");
	int dfd = sl_cni_vhost_dir_create(&c, &v, &a, &err);
	assert_true(dfd >= 0);
	close(dfd);
	snprintf(sock, sizeof(sock), "%s/net1.sock", v.dir);
	put(sock, "a's socket");

	assert_int_equal(sl_cni_vhost_dir_create(&c, &v, &b, &err), -EEXIST);
	assert_int_equal(err.code, 104);
	if (!strstr(err.msg, "belongs to container aaaa (ifname net1), not to this attachment"))
		fail_msg("message: %s", err.msg);
	assert_int_equal(access(sock, F_OK), 0); /* a's directory untouched */
	/* b's undo and b's DEL leave it too (1: another attachment's). */
	assert_int_equal(sl_cni_vhost_dir_remove(c.socket_dir, v.id, &b, true, &err), 1);
	assert_int_equal(access(sock, F_OK), 0);
	assert_int_equal(sl_cni_vhost_dir_check(c.socket_dir, v.id, &b), -EPERM);
	assert_int_equal(sl_cni_vhost_dir_check(c.socket_dir, v.id, &a), 0);
	struct sl_cni_vhost_owner o;
	int base = sl_cni_vhost_base_open(c.socket_dir, false, &err);
	assert_true(base >= 0);
	assert_int_equal(sl_cni_vhost_owner_read(base, v.id, &o), 0);
	close(base);
	assert_string_equal(o.container_id, "aaaa");
	assert_string_equal(o.ifname, "net1");
	/* a's DEL removes it. */
	assert_int_equal(sl_cni_vhost_dir_remove(c.socket_dir, v.id, &a, true, &err), 0);
	assert_int_not_equal(access(v.dir, F_OK), 0);
	assert_int_equal(sl_cni_vhost_dir_check(c.socket_dir, v.id, &a), -ENOENT);
	/* Now b may have the id. */
	dfd = sl_cni_vhost_dir_create(&c, &v, &b, &err);
	assert_true(dfd >= 0);
	close(dfd);
	vh_teardown(&c);
}

/* Kubernetes: the directory is "<pod uid>-<ifname>". A newer sandbox of the same pod takes
 * it over (the old sandbox's DEL that comes late leaves it alone); a DEL without
 * K8S_POD_UID still finds its directory through the owner records. */
static void test_vhost_pod_uid(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_vhost v, h;
	struct sl_cni_err err = { 0 };
	const char *uid = "0b5c2b1e-7f44-4a1c-9b7e-2f6f2d9c1a00";
	struct sl_cni_vhost_owner old = { .container_id = "sandbox1", .ifname = "net1" };
	struct sl_cni_vhost_owner new = { .container_id = "sandbox2", .ifname = "net1" };
	struct sl_cni_vhost_owner other = { .container_id = "x", .ifname = "net1",
					    .pod_uid = "11111111-2222-3333-4444-555555555555" };
	snprintf(old.pod_uid, sizeof(old.pod_uid), "%s", uid);
	snprintf(new.pod_uid, sizeof(new.pod_uid), "%s", uid);
	vh_setup(&c, &v, "sandbox1", "net1", uid);
	int dfd = sl_cni_vhost_dir_create(&c, &v, &old, &err);
	assert_true(dfd >= 0);
	close(dfd);
	assert_int_equal(sl_cni_vhost_dir_create(&c, &v, &other, &err), -EEXIST); /* other pod */
	assert_int_equal(err.code, 104);
	dfd = sl_cni_vhost_dir_create(&c, &v, &new, &err); /* same pod, newer sandbox */
	assert_true(dfd >= 0);
	close(dfd);
	assert_int_equal(sl_cni_vhost_dir_remove(c.socket_dir, v.id, &old, true, &err), 1);
	assert_int_equal(access(v.dir, F_OK), 0);
	/* DEL without K8S_POD_UID: computed id is the hash one; the record leads to the UID dir. */
	assert_int_equal(sl_cni_vhost_paths(&c, "sandbox2", "net1", "", &h, &err), 0);
	assert_string_not_equal(h.id, v.id);
	assert_int_equal(sl_cni_vhost_dir_remove(c.socket_dir, h.id, &new, true, &err), 0);
	assert_int_not_equal(access(v.dir, F_OK), 0);
	vh_teardown(&c);
}

/* Root never follows what a pod can plant: the attachment directory swapped for a symbolic
 * link to a directory holding a victim file, between ADD's steps or before DEL; a symbolic
 * link inside socketDir's path. */
static void test_vhost_symlinks(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_vhost v;
	struct sl_cni_err err = { 0 };
	struct sl_cni_vhost_owner me = { .container_id = "abc", .ifname = "net1" };
	char victim[128], vfile[160], moved[300], path[400];
	struct stat st;
	vh_setup(&c, &v, "abc", "net1", "");
	snprintf(victim, sizeof(victim), "%s/victim", vbase);
	snprintf(vfile, sizeof(vfile), "%s/victim/" SL_CNI_DEVINFO_NAME, vbase);
	int dfd = sl_cni_vhost_dir_create(&c, &v, &me, &err);
	assert_true(dfd >= 0);
	assert_int_equal(mkdir(victim, 0751), 0);
	put(vfile, "precious");
	/* The pod swaps its directory for a link to the victim before device-info is written:
	 * the file goes into the directory ADD made (held open), not through the link. */
	snprintf(moved, sizeof(moved), "%s.moved", v.dir);
	assert_int_equal(rename(v.dir, moved), 0);
	assert_int_equal(symlink(victim, v.dir), 0);
	assert_int_equal(sl_cni_write_at(dfd, SL_CNI_DEVINFO_NAME, "{}", v.devinfo, &err), 0);
	close(dfd);
	FILE *f = fopen(vfile, "r");
	char buf[16] = "";
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious");
	snprintf(path, sizeof(path), "%s/" SL_CNI_DEVINFO_NAME, moved);
	assert_int_equal(access(path, F_OK), 0);
	/* DEL: removes the link itself, never the victim's file, never chmods it. */
	assert_int_equal(sl_cni_vhost_dir_remove(c.socket_dir, v.id, &me, true, &err), 0);
	assert_int_equal(lstat(v.dir, &st), -1);
	assert_int_equal(access(vfile, F_OK), 0);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	/* ADD over a link planted at <id>: the link is removed, a real directory made. */
	assert_int_equal(symlink(victim, v.dir), 0);
	dfd = sl_cni_vhost_dir_create(&c, &v, &me, &err);
	assert_true(dfd >= 0);
	close(dfd);
	assert_int_equal(lstat(v.dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(access(vfile, F_OK), 0);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	/* A symbolic link on socketDir's own path is refused, naming it. */
	snprintf(path, sizeof(path), "%s/linked", vbase);
	assert_int_equal(symlink(victim, path), 0);
	snprintf(c.socket_dir, sizeof(c.socket_dir), "%s/linked/vhost", vbase);
	assert_int_equal(sl_cni_vhost_paths(&c, "abc", "net1", "", &v, &err), 0);
	assert_true(sl_cni_vhost_dir_create(&c, &v, &me, &err) < 0);
	assert_int_equal(err.code, 7);
	if (!strstr(err.msg, "socketDir: ") || !strstr(err.msg, "/linked is a symbolic link"))
		fail_msg("message: %s", err.msg);
	snprintf(path, sizeof(path), "%s/vhost", victim);
	assert_int_not_equal(access(path, F_OK), 0); /* nothing made through the link */
	vh_teardown(&c);
}

/* The pod's user gets its directory (socketUid/socketGid); run as root. */
static void test_vhost_owner_ids(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_vhost v;
	struct sl_cni_err err = { 0 };
	struct sl_cni_vhost_owner me = { .container_id = "abc", .ifname = "net1" };
	struct stat st;
	if (geteuid() != 0)
		skip();
	vh_setup(&c, &v, "abc", "net1", "");
	c.has_uid = c.has_gid = true;
	c.uid = 4321;
	c.gid = 4322;
	int dfd = sl_cni_vhost_dir_create(&c, &v, &me, &err);
	assert_true(dfd >= 0);
	close(dfd);
	assert_int_equal(stat(v.dir, &st), 0);
	assert_int_equal(st.st_uid, 4321);
	assert_int_equal(st.st_gid, 4322);
	assert_int_equal(st.st_mode & 07777, 0750);
	c.has_gid = false;
	dfd = sl_cni_vhost_dir_create(&c, &v, &me, &err);
	assert_true(dfd >= 0);
	close(dfd);
	assert_int_equal(stat(v.dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* The owner records stay root's. */
	char path[300];
	snprintf(path, sizeof(path), "%s/.owner/%s", c.socket_dir, v.id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	vh_teardown(&c);
}

static bool gc_pick(const char *name, const struct sl_cni_vhost_owner *o, void *arg)
{
	char *seen = arg;
	strcat(seen, name);
	strcat(seen, o ? "(" : "(-");
	if (o)
		strcat(seen, o->container_id);
	strcat(seen, ") ");
	return o && !strcmp(o->container_id, "stale");
}

/* GC sees each directory with its record, and records left without a directory. */
static void test_vhost_gc_walk(void **s)
{
	struct sl_cni_conf c;
	struct sl_cni_vhost v, w;
	struct sl_cni_err err = { 0 };
	struct sl_cni_vhost_owner live = { .container_id = "live", .ifname = "net1" };
	struct sl_cni_vhost_owner stale = { .container_id = "stale", .ifname = "net1" };
	char seen[512] = "", path[300];
	vh_setup(&c, &v, "live", "net1", "");
	assert_int_equal(sl_cni_vhost_paths(&c, "stale", "net1", "", &w, &err), 0);
	int dfd = sl_cni_vhost_dir_create(&c, &v, &live, &err);
	assert_true(dfd >= 0);
	close(dfd);
	dfd = sl_cni_vhost_dir_create(&c, &w, &stale, &err);
	assert_true(dfd >= 0);
	close(dfd);
	snprintf(path, sizeof(path), "%s/foreign", c.socket_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(sl_cni_vhost_gc(c.socket_dir, gc_pick, seen, &err), 0);
	assert_non_null(strstr(seen, "foreign(-)"));
	char want[128];
	snprintf(want, sizeof(want), "%s(live)", v.id);
	assert_non_null(strstr(seen, want));
	assert_int_equal(access(v.dir, F_OK), 0);
	assert_int_not_equal(access(w.dir, F_OK), 0);
	snprintf(path, sizeof(path), "%s/.owner/%s", c.socket_dir, w.id);
	assert_int_not_equal(access(path, F_OK), 0);
	/* A record whose directory is gone is offered too. */
	assert_int_equal(sl_cni_rm_tree(v.dir, &err), 0);
	seen[0] = 0;
	assert_int_equal(sl_cni_vhost_gc(c.socket_dir, gc_pick, seen, &err), 0);
	assert_non_null(strstr(seen, want));
	vh_teardown(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_good),       cmocka_unit_test(test_env_bad),
		cmocka_unit_test(test_env_per_command), cmocka_unit_test(test_conf_good),
		cmocka_unit_test(test_conf_bad),       cmocka_unit_test(test_conf_shapes),
		cmocka_unit_test(test_ipam_inject),    cmocka_unit_test(test_names),
		cmocka_unit_test(test_node_parse),     cmocka_unit_test(test_ipam_result),
		cmocka_unit_test(test_result_build),   cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_api_response),   cmocka_unit_test(test_api_unreachable),
		cmocka_unit_test(test_api_wire),       cmocka_unit_test(test_conf_vhost_good),
		cmocka_unit_test(test_conf_vhost_bad), cmocka_unit_test(test_vhost_paths),
		cmocka_unit_test(test_vhost_devinfo),  cmocka_unit_test(test_result_vhost),
		cmocka_unit_test(test_vhost_files),    cmocka_unit_test(test_vhost_collision),
		cmocka_unit_test(test_vhost_pod_uid),  cmocka_unit_test(test_vhost_symlinks),
		cmocka_unit_test(test_vhost_owner_ids), cmocka_unit_test(test_conf_port_maps), cmocka_unit_test(test_vhost_gc_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
