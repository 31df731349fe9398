/* The v1 Node decoder (pod CIDR, InternalIP, flannel's annotations), the annotations this
 * node publishes, and the kubeconfig reader (what it takes, what it refuses). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "control/sources/k8s/sl_kube_auth.h"
#include "control/sources/k8s/sl_kube_node.h"

static cJSON *J(const char *s)
{
	char b[4096];
	snprintf(b, sizeof(b), "%s", s);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(b);
	assert_non_null(j);
	return j;
}

static int decode(const char *s, struct sl_kube_node *n, char *err)
{
	cJSON *j = J(s);
	int rc = sl_kube_node_decode(j, n, err, 256);
	cJSON_Delete(j);
	return rc;
}

static void test_plain_node(void **st)
{
	struct sl_kube_node n;
	char err[256] = "", b[64];
	assert_int_equal(decode("{'kind':'Node','metadata':{'name':'w1'},'spec':{'podCIDR':'10.244.3.0/24',"
				"'podCIDRs':['fd00::/64','10.244.3.0/24']},'status':{'addresses':["
				"{'type':'Hostname','address':'w1'},{'type':'InternalIP','address':'fd00::3'},"
				"{'type':'InternalIP','address':'198.18.0.3'}]}}", &n, err), 0);
	assert_string_equal(n.spec.name, "w1");
	assert_true(n.has_ip && n.has_pod_cidr);
	assert_string_equal(sl_ip_fmt(n.spec.ip, b), "198.18.0.3");
	assert_string_equal(sl_cidr_fmt(n.spec.pod_cidr, b), "10.244.3.0/24");
	assert_false(n.spec.has_vtep_mac);
	assert_false(n.spec.has_mac);
	/* Not assigned a pod CIDR yet: valid, not routable. */
	assert_int_equal(decode("{'metadata':{'name':'new'},'spec':{},'status':{}}", &n, err), 0);
	assert_false(n.has_pod_cidr);
	assert_false(n.has_ip);
}

static void test_flannel_annotations(void **st)
{
	struct sl_kube_node n;
	char err[256] = "", b[64];
	assert_int_equal(decode("{'metadata':{'name':'fl','annotations':{"
				"'flannel.alpha.coreos.com/backend-type':'vxlan',"
				"'flannel.alpha.coreos.com/backend-data':'{\\'VNI\\':1,\\'VtepMAC\\':\\'9a:4f:0b:11:22:33\\'}',"
				"'flannel.alpha.coreos.com/public-ip':'198.18.0.9'}},"
				"'spec':{'podCIDR':'10.244.9.0/24'},"
				"'status':{'addresses':[{'type':'InternalIP','address':'198.18.0.8'}]}}",
				&n, err), 0);
	assert_string_equal(sl_ip_fmt(n.spec.ip, b), "198.18.0.9"); /* public-ip wins */
	assert_true(n.vxlan && n.has_vni && n.vni == 1);
	assert_true(n.spec.has_vtep_mac);
	static const uint8_t mac[6] = { 0x9a, 0x4f, 0x0b, 0x11, 0x22, 0x33 };
	assert_memory_equal(n.spec.vtep_mac, mac, 6);
	/* Another backend's data is not read as a VTEP. */
	assert_int_equal(decode("{'metadata':{'name':'fl','annotations':{"
				"'flannel.alpha.coreos.com/backend-type':'host-gw',"
				"'flannel.alpha.coreos.com/backend-data':'null'}}}", &n, err), 0);
	assert_false(n.spec.has_vtep_mac);
}

static void test_bad_fields_named(void **st)
{
	static const struct { const char *obj, *err; } bad[] = {
		{ "{'metadata':{}}", "metadata.name: required" },
		{ "{'metadata':{'name':'x'},'spec':{'podCIDR':'10.244.300.0/24'}}", "spec.podCIDR: not a CIDR" },
		{ "{'metadata':{'name':'x'},'spec':{'podCIDRs':['10.0.0.0/8', 7]}}", "spec.podCIDRs[1]: not a CIDR" },
		{ "{'metadata':{'name':'x'},'spec':{'podCIDRs':'10.0.0.0/8'}}", "spec.podCIDRs: not an array" },
		{ "{'metadata':{'name':'x'},'status':{'addresses':[{'type':'InternalIP','address':'no'}]}}",
		  "status.addresses[0].address: not an IP address" },
		{ "{'metadata':{'name':'x','annotations':{'flannel.alpha.coreos.com/public-ip':'::1'}}}",
		  "metadata.annotations[flannel.alpha.coreos.com/public-ip]: not an IPv4 address" },
		{ "{'metadata':{'name':'x','annotations':{'flannel.alpha.coreos.com/backend-type':'vxlan',"
		  "'flannel.alpha.coreos.com/backend-data':'{\\'VtepMAC\\':\\'zz\\'}'}}}",
		  "metadata.annotations[flannel.alpha.coreos.com/backend-data].VtepMAC: not a MAC address (aa:bb:cc:dd:ee:ff)" },
		{ "{'metadata':{'name':'x','annotations':{'flannel.alpha.coreos.com/backend-type':'vxlan',"
		  "'flannel.alpha.coreos.com/backend-data':'{\\'VNI\\':-1}'}}}",
		  "metadata.annotations[flannel.alpha.coreos.com/backend-data].VNI: must be an integer 0-16777215" },
		{ "{'metadata':{'name':'x','annotations':{'flannel.alpha.coreos.com/backend-type':'vxlan',"
		  "'flannel.alpha.coreos.com/backend-data':'[1'}}}",
		  "metadata.annotations[flannel.alpha.coreos.com/backend-data]: not a JSON object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sl_kube_node n;
		char err[256] = "";
		assert_int_equal(decode(bad[i].obj, &n, err), -EINVAL);
		assert_string_equal(err, bad[i].err);
	}
	/* A name longer than the model takes. */
	char big[400];
	struct sl_kube_node n;
	char err[256];
	snprintf(big, sizeof(big), "{'metadata':{'name':'%0200d'}}", 0);
	assert_int_equal(decode(big, &n, err), -EINVAL);
	assert_non_null(strstr(err, "metadata.name: longer than"));
}

static void test_publish(void **st)
{
	struct sl_kube_node_pub pub = { .ip = sl_ip4(htonl(0xc6120001)), .vni = 42,
					.mac = { 0x02, 0, 0, 0, 0, 0x01 } };
	char *p = sl_kube_node_patch(&pub);
	assert_string_equal(p, "{\"metadata\":{\"annotations\":{"
			    "\"flannel.alpha.coreos.com/backend-type\":\"vxlan\","
			    "\"flannel.alpha.coreos.com/backend-data\":\"{\\\"VNI\\\":42,\\\"VtepMAC\\\":\\\"02:00:00:00:00:01\\\"}\","
			    "\"flannel.alpha.coreos.com/public-ip\":\"198.18.0.1\","
			    "\"flannel.alpha.coreos.com/kube-subnet-manager\":\"true\"}}}");
	cJSON *patched = cJSON_Parse(p);
	assert_true(sl_kube_node_published(patched, &pub));
	/* ... and what it publishes decodes back to the same VTEP. */
	cJSON_AddStringToObject(cJSON_GetObjectItem(patched, "metadata"), "name", "me");
	struct sl_kube_node n;
	char err[256];
	assert_int_equal(sl_kube_node_decode(patched, &n, err, sizeof(err)), 0);
	assert_true(n.spec.has_vtep_mac && !memcmp(n.spec.vtep_mac, pub.mac, 6) && n.vni == 42);
	pub.mac[5] = 2;
	assert_false(sl_kube_node_published(patched, &pub));
	cJSON_Delete(patched);
	free(p);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test_k8s_kubeconfig.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_kubeconfig(void **st)
{
	struct sl_kube_auth a;
	char err[512] = "";
	/* "LS0t" is base64 of "---". */
	char *p = write_tmp("apiVersion: v1\nkind: Config\ncurrent-context: c2\n"
			    "clusters:\n- name: k1\n  cluster: {server: 'https://a:1'}\n"
			    "- name: k2\n  cluster:\n    server: https://10.0.0.1:6443/\n"
			    "    certificate-authority-data: LS0t\n"
			    "users:\n- name: u2\n  user:\n    token: abc\n"
			    "contexts:\n- name: c1\n  context: {cluster: k1, user: u2}\n"
			    "- name: c2\n  context: {cluster: k2, user: u2}\n");
	assert_int_equal(sl_kube_auth_kubeconfig(p, &a, err, sizeof(err)), 0);
	assert_string_equal(a.server, "https://10.0.0.1:6443");
	assert_int_equal(a.ca_len, 3);
	assert_memory_equal(a.ca_data, "---", 3);
	assert_string_equal(a.token, "abc");
	sl_kube_auth_free(&a);
	unlink(p);
	static const struct { const char *text, *err; } bad[] = {
		{ "current-context: x\n", "current-context: names no context" },
		{ "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
		  "clusters:\n- name: k\n  cluster: {server: 'http://a:1'}\n",
		  "cluster k: server: must be an https:// URL" },
		{ "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
		  "clusters:\n- name: k\n  cluster: {server: 'https://a:1', insecure-skip-tls-verify: true}\n",
		  "cluster k: insecure-skip-tls-verify: refused (TLS is always verified)" },
		{ "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
		  "clusters:\n- name: k\n  cluster: {server: 'https://a:1', certificate-authority: /nonexistent/ca}\n",
		  "cluster k: certificate-authority: /nonexistent/ca: No such file or directory" },
		{ "a: [\n", "line " },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = write_tmp(bad[i].text);
		assert_true(sl_kube_auth_kubeconfig(p, &a, err, sizeof(err)) < 0);
		if (!strstr(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].text, err, bad[i].err);
		unlink(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_node),
		cmocka_unit_test(test_flannel_annotations),
		cmocka_unit_test(test_bad_fields_named),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_kubeconfig),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
