/* sluice-cni: vhost-user options, socket paths, device-info, results, and the directory
 * and file helpers (collisions, pod UIDs, symbolic links, owners, GC) in scratch
 * directories under /tmp. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/result.h"
#include "cni/vhost.h"
#include "cni_test.h"

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
	assert_true(c.iface_set);
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
	assert_false(c.iface_set); /* sluiced's node.pod_interface decides (plugin.c) */
	assert_int_equal(sl_cni_conf_apply_args(&c, &e, &err), 0);
	assert_int_equal(c.iface, SL_CNI_IFACE_VHOST_USER);
	assert_true(c.iface_set);
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
		cmocka_unit_test(test_conf_vhost_good),
		cmocka_unit_test(test_conf_vhost_bad),
		cmocka_unit_test(test_vhost_paths),
		cmocka_unit_test(test_vhost_devinfo),
		cmocka_unit_test(test_result_vhost),
		cmocka_unit_test(test_vhost_files),
		cmocka_unit_test(test_vhost_collision),
		cmocka_unit_test(test_vhost_pod_uid),
		cmocka_unit_test(test_vhost_symlinks),
		cmocka_unit_test(test_vhost_owner_ids),
		cmocka_unit_test(test_vhost_gc_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
