/* sl_json: the reader builds the tree cJSON builds, node for node, and accepts exactly what
 * cJSON accepts (the same end of the value, and cJSON's own error otherwise), on edge
 * cases, on a kubectl-style List, and on thousands of damaged copies of it; a tree lives
 * in its arena, which is reusable after sl_json_arena_free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/sources/sl_json.h"

static unsigned long accepted, rejected;

/* Same types, keys, strings, numbers (bit for bit), child/next/prev links. */
static void same(const cJSON *a, const cJSON *b, bool top)
{
	for (; a || b; a = a->next, b = b->next) {
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(a->type, b->type);
		assert_int_equal(a->string == NULL, b->string == NULL);
		if (a->string)
			assert_string_equal(a->string, b->string);
		assert_int_equal(a->valuestring == NULL, b->valuestring == NULL);
		if (a->valuestring)
			assert_string_equal(a->valuestring, b->valuestring);
		assert_int_equal(a->valueint, b->valueint);
		assert_memory_equal(&a->valuedouble, &b->valuedouble, sizeof(double));
		assert_int_equal(a->prev == NULL, b->prev == NULL);
		same(a->child, b->child, false);
		if (a->child) { /* the first child's prev is the last */
			const cJSON *x = a->child;
			while (x->next)
				x = x->next;
			assert_ptr_equal(a->child->prev, x);
		}
		if (top)
			break;
	}
}

static void check(const char *t, size_t len)
{
	struct sl_json_arena ar = { 0 };
	const char *e1 = NULL, *e2 = NULL;
	cJSON *x = sl_json_parse(&ar, t, len, &e1);
	cJSON *y = cJSON_ParseWithLengthOpts(t, len, &e2, false);
	if ((x == NULL) != (y == NULL))
		fail_msg("%s by the reader, %s by cJSON: %.*s", x ? "accepted" : "refused",
			 y ? "accepted" : "refused", (int)(len < 60 ? len : 60), t);
	if (e1 != e2)
		fail_msg("end %td, cJSON %td: %.*s (%zu bytes)", e1 - t, e2 - t,
			 (int)(len < 60 ? len : 60), t, len);
	if (x) {
		accepted++;
		same(x, y, true);
	} else {
		rejected++;
	}
	cJSON_Delete(y);
	sl_json_arena_free(&ar);
	x = sl_json_parse(&ar, t, len, NULL);
	y = cJSON_ParseWithLength(t, len);
	assert_int_equal(x == NULL, y == NULL);
	if (x)
		same(x, y, true);
	cJSON_Delete(y);
	sl_json_arena_free(&ar);
}

static void test_edge_cases(void **s)
{
	static const char *const cases[] = {
		"{}", "[]", " [ ] ", "{\"a\":1}", "[1,2,3]", "[1,]", "{\"a\":}", "-", "-0", "007",
		"1e5", "1.5", "-1.25e-3", "12345678901234567890", "1234567890123456",
		"123456789012345", "-123456789012345", "2147483647", "2147483648", "-2147483649",
		"1-2", "[1-2]", "0x10", "[0x10]", "nul", "null", "nullx", "true", "tru", "false",
		"\"a\\\"b\"", "\"\\u0041\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\q\"", "\"a\\",
		"\"abc", "[\"a\",{\"b\":[true,false,null]}]", "\xef\xbb\xbf{}",
		"  {\"a\" : \"b\" , \"c\":[ 1 , 2 ] }  x", "{\"a\":1,\"a\":2}", "{\"a\"1}", "{1:2}",
		"[[[[[]]]]]", "\"\\/\\b\\f\\n\\r\\t\\\\\"", "[1 2]", "{\"a\":1 \"b\":2}",
		"\x01[\x02 1\x1f]", "[\"a\nb\"]", "[1.]", "[.5]", "[+1]", "[1e]", "[1e+]", "[-]",
		"9.999999999999999e308", "1e400", "[-1e400]", "[1,2]]", "{\"a\":[}",
		"0.1234567890123456789012345678901234567890123456789012345678901234567890",
		NULL,
	};
	for (unsigned i = 0; cases[i]; i++)
		for (size_t l = 0; l <= strlen(cases[i]); l++) /* and every cut of it */
			check(cases[i], l);
	check("{\"a\":\"x\0y\",\"b\":1}", 17); /* a NUL inside a string */
	/* Nesting around cJSON's limit. */
	for (unsigned d = CJSON_NESTING_LIMIT - 2; d <= CJSON_NESTING_LIMIT + 2; d++) {
		char *t = malloc(2 * d);
		memset(t, '[', d);
		memset(t + d, ']', d);
		check(t, 2 * d);
		free(t);
	}
}

/* A List as kubectl prints it, then damaged copies: cut, a byte changed, an escape. */
static void test_lists(void **s)
{
	size_t cap = 1 << 20, l = 0;
	char *t = malloc(cap);
	l += (size_t)snprintf(t + l, cap - l, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
	for (unsigned i = 0; i < 40; i++)
		l += (size_t)snprintf(t + l, cap - l,
			"%s{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-%u\","
			"\"namespace\":\"ns\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-"
			"configuration\":\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Service\\\"}\\n\"},"
			"\"resourceVersion\":\"%u\"},\"spec\":{\"clusterIP\":\"10.96.0.%u\",\"ports\":"
			"[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],"
			"\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":10800}},\"weight\":"
			"-1.5e-3,\"ready\":true,\"x\":null,\"e\":[]}},\n  {\"kind\":\"EndpointSlice\","
			"\"endpoints\":[{\"addresses\":[\"10.244.1.%u\"],\"conditions\":{\"ready\":false}}"
			"],\"ports\":[]}", i ? "," : "", i, 1000 + i, i + 1, i + 2);
	l += (size_t)snprintf(t + l, cap - l, "]}\n");
	check(t, l);
	srand(7);
	for (unsigned k = 0; k < 3000; k++) {
		char *u = malloc(l + 1);
		memcpy(u, t, l + 1);
		size_t len = l, pos = (size_t)rand() % l;
		switch (k % 3) {
		case 0: len = pos; break;
		case 1: u[pos] = "{}[]\",:\\-0.e \x01ntf"[rand() % 17]; break;
		default:
			u[pos] = '\\';
			if (pos + 1 < l)
				u[pos + 1] = "u\"nbq/"[rand() % 6];
		}
		check(u, len);
		free(u);
	}
	free(t);
	print_message("%lu accepted, %lu refused, all as cJSON\n", accepted, rejected);
	assert_true(accepted > 1000 && rejected > 1000);
}

/* Several trees in one arena; a freed arena parses again. */
static void test_arena(void **s)
{
	struct sl_json_arena a = { 0 };
	for (unsigned round = 0; round < 3; round++) {
		const cJSON *x = sl_json_parse(&a, "{\"a\":[1,2]}", 11, NULL);
		const cJSON *y = sl_json_parse(&a, "{\"a\":\"\\u0041\"}", 14, NULL); /* by cJSON */
		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(x, "a")), 2);
		assert_string_equal(cJSON_GetObjectItem(y, "a")->valuestring, "A");
		assert_null(sl_json_parse(&a, "{", 1, NULL));
		sl_json_arena_free(&a);
		assert_null(a.blocks);
	}
	/* cJSON allocates with malloc again afterwards. */
	cJSON *o = cJSON_Parse("{\"b\":\"\\u0042\"}");
	assert_non_null(o);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
