/* sl_apply_text_scan (sluicectl apply's check without a tree): whatever it vouches for,
 * cJSON parses, ending where it says, into the same tree once its newlines are spaces, and
 * no CR or LF is left outside a string; it vouches for the JSON kubectl prints (indented
 * Lists, escapes, surrogate pairs); on edge cases, every cut of them, and thousands of
 * damaged copies of a List. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "control/cli/sl_apply_text.h"

static unsigned long vouched, not_vouched;

/* Check the scan of t[0..len); returns what it returned. */
static size_t check(const char *t, size_t len)
{
	char *u = malloc(len + 1);
	memcpy(u, t, len);
	u[len] = 0;
	size_t v = sl_apply_text_scan(u, len);
	if (!v) {
		not_vouched++;
		free(u);
		return 0;
	}
	vouched++;
	assert_true(v <= len);
	const char *end = NULL;
	cJSON *x = cJSON_ParseWithLengthOpts(t, len, &end, false);
	if (!x)
		fail_msg("vouched for (%zu bytes), refused by cJSON: %.*s", v,
			 (int)(len < 60 ? len : 60), t);
	if ((size_t)(end - t) != v)
		fail_msg("end %zu, cJSON's %td: %.*s", v, end - t, (int)(len < 60 ? len : 60), t);
	/* Only CR and LF outside strings changed, into spaces; none left there. */
	bool in_str = false, esc = false;
	for (size_t i = 0; i < v; i++) {
		if (u[i] != t[i])
			assert_true(!in_str && (t[i] == '\n' || t[i] == '\r') && u[i] == ' ');
		if (in_str)
			in_str = esc || u[i] != '"', esc = !esc && u[i] == '\\';
		else if (u[i] == '"')
			in_str = true;
		else
			assert_true(u[i] != '\n' && u[i] != '\r');
	}
	assert_memory_equal(u + v, t + v, len - v); /* nothing after the value touched */
	cJSON *y = cJSON_ParseWithLengthOpts(u, v, NULL, false);
	assert_non_null(y);
	char *px = cJSON_PrintUnformatted(x), *py = cJSON_PrintUnformatted(y);
	assert_string_equal(px, py); /* (printed: cJSON_Compare fails on a repeated key) */
	free(px);
	free(py);
	cJSON_Delete(x);
	cJSON_Delete(y);
	free(u);
	return v;
}

static void test_edge_cases(void **s)
{
	static const char *const cases[] = {
		"{}", "[]", " [ ] ", "{\"a\":1}", "[1,2,3]", "[1,]", "{\"a\":}", "-", "-0", "007",
		"1e5", "1.5", "-1.25e-3", "12345678901234567890", "1234567890123456",
		"1-2", "[1-2]", "0x10", "[0x10]", "nul", "null", "nullx", "[nullx]", "true", "tru",
		"false", "[falsey]", "\"a\\\"b\"", "\"\\u0041\\u00e9\"", "\"\\ud83d\\ude00\"",
		"[\"\\ud83d\"]", "[\"\\ude00\"]", "[\"\\ud83d\\u0041\"]", "[\"\\u0000\"]",
		"[\"\\u00g0\"]", "\"\\q\"", "\"a\\", "\"abc", "[\"a\",{\"b\":[true,false,null]}]",
		"\xef\xbb\xbf{}", "  {\"a\" : \"b\" , \"c\":[ 1 , 2 ] }  x", "{\"a\":1,\"a\":2}",
		"{\"a\"1}", "{1:2}", "{\"a\":1,}", "{,}", "[,1]", "[[[[[]]]]]", "[[[[[]]]]",
		"\"\\/\\b\\f\\n\\r\\t\\\\\"", "[1 2]", "{\"a\":1 \"b\":2}", "\x01[\x02 1\x1f]",
		"[\"a\nb\"]", "[1.]", "[.5]", "[+1]", "[1e]", "[1e+]", "[-]", "[01]", "[-01]",
		"[1.5e3.2]", "[1E+2]", "9.999999999999999e308", "1e400", "[-1e400]", "[1,2]]",
		"{\"a\":[}", "{\r\n  \"a\": [\r\n    1,\n\t2\n  ]\n}\n", "\n\n[\n]\n",
		"0.1234567890123456789012345678901234567890123456789012345678901234567890",
		"[\"\xc3\xa9\xe2\x82\xac\"]", "[\"tab\there\"]", "{\"a\":{\"b\":{}},\"c\":[[],{}]}",
		NULL,
	};
	for (unsigned i = 0; cases[i]; i++)
		for (size_t l = 0; l <= strlen(cases[i]); l++) /* and every cut of it */
			check(cases[i], l);
	check("{\"a\":\"x\0y\",\"b\":1}", 17); /* a NUL inside a string */
	check("[1,\0]", 5);
	/* What it must vouch for (the fast path), and where the value ends. */
#define CHECK_END(text, end) assert_int_equal(check(text, strlen(text)), end)
	CHECK_END("{\"a\":1} trailing", 7);
	CHECK_END("\n {\"a\":[1,2.5e-3,true,null]}\n", 28);
	CHECK_END("[\"\\ud83d\\ude00\\u00e9\\/\"]", 24);
	CHECK_END("{\n  \"kind\": \"List\",\r\n  \"items\": []\n}", 36);
	CHECK_END("[-0.5E+10]", 10);
#undef CHECK_END
	/* Nesting: up to its limit, not past it (cJSON's is deeper). */
	for (unsigned d = 510; d <= 514; d++) {
		char *t = malloc(2 * d);
		memset(t, '[', d);
		memset(t + d, ']', d);
		assert_int_equal(check(t, 2 * d), d <= 512 ? 2 * d : 0);
		free(t);
	}
}

/* A List as kubectl prints it (indented), then damaged copies: cut, a byte changed, an
 * escape. */
static void test_lists(void **s)
{
	size_t cap = 1 << 20, l = 0;
	char *t = malloc(cap);
	l += (size_t)snprintf(t + l, cap - l, "{\n    \"apiVersion\": \"v1\",\n    \"items\": [");
	for (unsigned i = 0; i < 40; i++)
		l += (size_t)snprintf(t + l, cap - l,
			"%s\n        {\n            \"apiVersion\": \"v1\",\n            \"kind\": "
			"\"Service\",\n            \"metadata\": {\"name\": \"svc-%u\", \"namespace\": "
			"\"ns\", \"annotations\": {\"kubectl.kubernetes.io/last-applied-configuration\": "
			"\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Service\\\"}\\n\"},\r\n"
			"\"resourceVersion\": \"%u\"},\n\t\"spec\": {\"clusterIP\": \"10.96.0.%u\", "
			"\"ports\": [{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\", "
			"\"targetPort\": 8080}], \"sessionAffinityConfig\": {\"clientIP\": "
			"{\"timeoutSeconds\": 10800}}, \"weight\": -1.5e-3, \"ready\": true, \"x\": "
			"null, \"e\": []}},\n  {\"kind\": \"EndpointSlice\", \"endpoints\": "
			"[{\"addresses\": [\"10.244.1.%u\"], \"conditions\": {\"ready\": false}}], "
			"\"ports\": []}", i ? "," : "", i, 1000 + i, i + 1, i + 2);
	l += (size_t)snprintf(t + l, cap - l, "\n    ],\n    \"kind\": \"List\"\n}\n");
	assert_int_equal(check(t, l), l - 1);
	srand(7);
	for (unsigned k = 0; k < 3000; k++) {
		char *u = malloc(l + 1);
		memcpy(u, t, l + 1);
		size_t len = l, pos = (size_t)rand() % l;
		switch (k % 3) {
		case 0: len = pos; break;
		case 1: u[pos] = "{}[]\",:\\-0.e \x01ntf\n"[rand() % 18]; break;
		default:
			u[pos] = '\\';
			if (pos + 1 < l)
				u[pos + 1] = "u\"nbq/"[rand() % 6];
		}
		check(u, len);
		free(u);
	}
	free(t);
	print_message("%lu vouched for, %lu not, all as cJSON\n", vouched, not_vouched);
	assert_true(vouched > 500 && not_vouched > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
