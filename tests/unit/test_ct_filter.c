/* The conntrack filter of `show conntrack` / `conntrack flush`: parsing from an API request
 * (every bad field refused with its name and the reason) and matching. No EAL. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sl_ct_filter.h"
#include "sl_request.h"

static int parse(const char *json, struct sl_ct_filter *f, char *err, size_t n)
{
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	err[0] = 0;
	int rc = sl_ct_filter_parse(o, f, err, n);
	cJSON_Delete(o);
	return rc;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void test_parse_ok(void **st)
{
	struct sl_ct_filter f;
	char err[256];
	assert_int_equal(parse("{}", &f, err, sizeof(err)), 0);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.limit, SL_CT_SHOW_DEFAULT_LIMIT);
	assert_false(f.summary);
	assert_int_equal(parse("{\"service\":\"10.96.0.10:80\",\"backend\":\"10.244.1.3\","
			       "\"client\":\"10.244.1.2\",\"proto\":\"TCP\",\"state\":\"established\","
			       "\"limit\":\"5\",\"summary\":true}", &f, err, sizeof(err)), 0);
	assert_int_equal(f.flags, SL_CTF_SERVICE | SL_CTF_BACKEND | SL_CTF_CLIENT | SL_CTF_PROTO |
					  SL_CTF_STATE);
	assert_int_equal(f.svc_ip, ip("10.96.0.10"));
	assert_int_equal(f.svc_port, htons(80));
	assert_int_equal(f.be_ip, ip("10.244.1.3"));
	assert_int_equal(f.be_port, 0);
	assert_int_equal(f.client_ip, ip("10.244.1.2"));
	assert_int_equal(f.proto, IPPROTO_TCP);
	assert_string_equal(sl_ct_state_name(f.state), "ESTABLISHED");
	assert_int_equal(f.limit, 5);
	assert_true(f.summary);
	assert_int_equal(parse("{\"backend\":\"10.244.2.2:8080\",\"limit\":0,\"proto\":\"sctp\"}",
			       &f, err, sizeof(err)), 0);
	assert_int_equal(f.be_port, htons(8080));
	assert_int_equal(f.limit, 0);
	assert_int_equal(f.proto, IPPROTO_SCTP);
}

/* Each bad input: refused, and the message starts with the field's name. */
static void test_parse_errors(void **st)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"service\":\"10.96.0.300\"}", "service: '10.96.0.300' is not an IPv4 address" },
		{ "{\"service\":\"10.96.0.10:0\"}", "service: port '0' is not a number from 1 to 65535" },
		{ "{\"service\":\"10.96.0.10:70000\"}", "service: port '70000'" },
		{ "{\"service\":\"10.96.0.10:\"}", "service: port ''" },
		{ "{\"service\":\"10.96.0.10:8x\"}", "service: port '8x'" },
		{ "{\"service\":\"\"}", "service: not a non-empty string" },
		{ "{\"service\":80}", "service: not a non-empty string" },
		{ "{\"backend\":\"fe80::1\"}", "backend: 'fe80' is not an IPv4 address" },
		{ "{\"backend\":\"10.244.1.3:-1\"}", "backend: port '-1'" },
		{ "{\"client\":\"10.244.1.2:4000\"}", "client: '10.244.1.2:4000' is not an IPv4 address (no port here)" },
		{ "{\"client\":\"nope\"}", "client: 'nope' is not an IPv4 address" },
		{ "{\"proto\":\"icmp\"}", "proto: 'icmp' is not tcp, udp or sctp" },
		{ "{\"state\":\"OPEN\"}", "state: 'OPEN' is not one of" },
		{ "{\"limit\":-1}", "limit: must be a whole number from 0 to 50000" },
		{ "{\"limit\":50001}", "limit: must be a whole number" },
		{ "{\"limit\":1.5}", "limit: must be a whole number" },
		{ "{\"limit\":\"10x\"}", "limit: must be a whole number" },
		{ "{\"summary\":\"yes\"}", "summary: must be true or false" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sl_ct_filter f;
		char err[256];
		int rc = parse(cases[i].json, &f, err, sizeof(err));
		if (rc != -EINVAL || strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("%s: rc %d, error '%s', wanted '%s...'", cases[i].json, rc, err,
				 cases[i].want);
	}
}

/* Through the API request parser: the commands exist and carry the filter. */
static void test_request(void **st)
{
	struct sl_request r;
	char err[256] = "";
	const char *show = "{\"cmd\":\"conntrack.show\",\"service\":\"10.96.0.10\",\"summary\":true}";
	assert_int_equal(sl_request_parse(show, strlen(show), &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, SL_CMD_CT_SHOW);
	assert_int_equal(r.ct.flags, SL_CTF_SERVICE);
	assert_int_equal(r.ct.svc_port, 0);
	assert_true(r.ct.summary);
	sl_request_free(&r);
	const char *flush = "{\"cmd\":\"conntrack.flush\",\"backend\":\"10.244.1.3:8080\"}";
	assert_int_equal(sl_request_parse(flush, strlen(flush), &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, SL_CMD_CT_FLUSH);
	assert_int_equal(r.ct.flags, SL_CTF_BACKEND);
	sl_request_free(&r);
	const char *bad = "{\"cmd\":\"conntrack.flush\",\"proto\":\"gre\"}";
	assert_int_equal(sl_request_parse(bad, strlen(bad), &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "proto: 'gre' is not tcp, udp or sctp");
}

/* Matching: each field alone, a port of 0 matching any port, all fields together. */
static void test_match(void **st)
{
	uint32_t cl = ip("10.244.1.2"), vip = ip("10.96.0.10"), be = ip("10.244.1.3");
	uint16_t vp = htons(80), bp = htons(8080);
	struct sl_ct_filter f = { 0 };
#define M(f) sl_ct_filter_match(&(f), cl, vip, vp, IPPROTO_TCP, be, bp, 4 /* ESTABLISHED */)
	assert_true(M(f));
	f = (struct sl_ct_filter){ .flags = SL_CTF_SERVICE, .svc_ip = vip };
	assert_true(M(f));
	f.svc_port = htons(81);
	assert_false(M(f));
	f.svc_port = vp;
	assert_true(M(f));
	f.svc_ip = ip("10.96.0.11");
	assert_false(M(f));
	f = (struct sl_ct_filter){ .flags = SL_CTF_BACKEND, .be_ip = be };
	assert_true(M(f));
	f.be_port = htons(8081);
	assert_false(M(f));
	f = (struct sl_ct_filter){ .flags = SL_CTF_CLIENT, .client_ip = ip("10.244.1.9") };
	assert_false(M(f));
	f.client_ip = cl;
	assert_true(M(f));
	f = (struct sl_ct_filter){ .flags = SL_CTF_PROTO, .proto = IPPROTO_UDP };
	assert_false(M(f));
	f.proto = IPPROTO_TCP;
	assert_true(M(f));
	f = (struct sl_ct_filter){ .flags = SL_CTF_STATE, .state = 2 };
	assert_false(M(f));
	f.state = 4;
	assert_true(M(f));
	f = (struct sl_ct_filter){ .flags = SL_CTF_SERVICE | SL_CTF_BACKEND | SL_CTF_CLIENT |
					    SL_CTF_PROTO | SL_CTF_STATE,
				   .svc_ip = vip, .svc_port = vp, .be_ip = be, .be_port = bp,
				   .client_ip = cl, .proto = IPPROTO_TCP, .state = 4 };
	assert_true(M(f));
	f.be_port = htons(1);
	assert_false(M(f));
#undef M
	assert_int_equal(sl_ct_state_parse("fin_wait"), 5);
	assert_int_equal(sl_ct_state_parse("x"), -1);
	assert_string_equal(sl_ct_state_name(99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests_name("ct_filter", tests, NULL, NULL);
}
