/* sluice-cni: IPAM result parsing, the result and error JSON it prints. Bad input is
 * rejected with the CNI error code the spec assigns and a message that names the field. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/result.h"
#include "cni_test.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipam_result),
		cmocka_unit_test(test_result_build),
		cmocka_unit_test(test_error_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
