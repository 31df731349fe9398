/* sl_json_print prints what cJSON_PrintUnformatted prints, byte for byte: numbers (integers,
 * fractions that need 15 or 17 digits, NaN and infinities, the int range's edges), every
 * byte in strings and keys, NULL strings and keys, raw items, empty and nested containers,
 * a kubectl-style List; an item cJSON cannot print fails it too. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/sources/sl_json.h"

static unsigned long checked;

static void same(const cJSON *item)
{
	char *want = cJSON_PrintUnformatted(item);
	struct sl_json_buf b = { 0 };
	sl_json_buf_put(&b, "x", 1); /* appended after what is there */
	sl_json_print(&b, item);
	if (!want) {
		assert_true(b.oom);
	} else {
		assert_false(b.oom);
		if (b.len - 1 != strlen(want) || memcmp(b.p + 1, want, b.len - 1))
			fail_msg("printed %.*s, cJSON %s", (int)(b.len - 1), b.p + 1, want);
	}
	assert_int_equal(b.p[0], 'x');
	checked++;
	free(want);
	sl_json_buf_free(&b);
}

static void test_numbers(void **s)
{
	static const double v[] = {
		0, -0.0, 1, -1, 7, 10, 80, 65535, 2147483647.0, -2147483648.0, 2147483648.0,
		-2147483649.0, 4294967296.0, 1e15, 1e16, 1e17, 1e21, 1e300, -1e-300, 0.1, 0.5,
		1.5, -1.25e-3, 1.0 / 3, 2.0 / 3, 3.14159265358979, 123456789.123456789, 5e-324,
		1.7976931348623157e308, 9007199254740993.0, 0.30000000000000004, 100.25,
		999999999999999.0, 999999999999999.5, 123456789012345.0, 1e15 + 1, 1e14 + 0.5,
	};
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cJSON *n = cJSON_CreateNumber(v[i]);
		same(n);
		cJSON_Delete(n);
		n = cJSON_CreateNumber(-v[i]);
		same(n);
		cJSON_Delete(n);
	}
	double odd[] = { NAN, INFINITY, -INFINITY };
	for (unsigned i = 0; i < 3; i++) {
		cJSON *n = cJSON_CreateNumber(odd[i]);
		same(n);
		cJSON_Delete(n);
	}
	srand(3);
	for (unsigned i = 0; i < 20000; i++) {
		double d = i % 4 == 0 ? (double)(rand() - RAND_MAX / 2)
			 : i % 4 == 1 ? (double)rand() / (rand() + 1)
			 : i % 4 == 2 ? ldexp((double)rand(), rand() % 200 - 100)
				      : (double)rand() * rand() * (rand() % 2 ? 1 : -1);
		cJSON *n = cJSON_CreateNumber(d);
		same(n);
		cJSON_Delete(n);
	}
	/* valueint set apart from valuedouble: the double is printed. */
	cJSON *n = cJSON_CreateNumber(5);
	n->valueint = 4;
	same(n);
	cJSON_Delete(n);
}

static void test_strings(void **s)
{
	char str[256];
	for (unsigned c = 1; c < 256; c++) {
		snprintf(str, sizeof(str), "a%cb%c", (char)c, (char)c);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, str, str); /* key and value */
		same(o);
		cJSON_Delete(o);
	}
	for (unsigned c = 1; c < 255; c++)
		str[c - 1] = (char)c;
	str[254] = 0;
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, cJSON_CreateString(str));
	cJSON_AddItemToArray(a, cJSON_CreateString(""));
	cJSON_AddItemToArray(a, cJSON_CreateString("\"\\/\b\f\n\r\t\x01\x1f plain \xc3\xa9"));
	same(a);
	cJSON *nul = cJSON_CreateString("x"); /* a NULL valuestring prints "" */
	free(nul->valuestring);
	nul->valuestring = NULL;
	cJSON_AddItemToArray(a, nul);
	same(a);
	cJSON *o = cJSON_CreateObject(); /* a NULL key too */
	cJSON_AddNumberToObject(o, "k", 1);
	free(o->child->string);
	o->child->string = NULL;
	same(o);
	cJSON_Delete(o);
	cJSON_Delete(a);
}

/* Strings that end at the last byte of a page followed by one that cannot be read: printed
 * right, and nothing past their NUL read (a fault would end the test). */
static void test_page_end(void **s)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + pg, (size_t)pg, PROT_NONE), 0);
	for (unsigned len = 0; len < 40; len++) {
		char *str = p + pg - 1 - len;
		for (unsigned i = 0; i < len; i++)
			str[i] = i % 7 == 3 ? '"' : (char)('a' + i % 26);
		str[len] = 0;
		cJSON item = { .type = cJSON_String, .valuestring = str };
		same(&item);
	}
	munmap(p, 2 * (size_t)pg);
}

static void test_trees(void **s)
{
	static const char *const docs[] = {
		"{}", "[]", "[[],{},[{}],{\"a\":[]}]", "{\"a\":null,\"b\":true,\"c\":false}",
		"[1,-2,3.5,\"x\",[null,[true]],{\"k\":{\"k\":{\"k\":0}}}]",
		"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"kind\":\"Service\","
		"\"metadata\":{\"name\":\"s\",\"namespace\":\"n\"},\"spec\":{\"ports\":[{\"port\":"
		"80,\"targetPort\":\"http\",\"protocol\":\"TCP\"}],\"sessionAffinityConfig\":"
		"{\"clientIP\":{\"timeoutSeconds\":10800}},\"clusterIPs\":[\"10.96.0.1\"]}}]}",
		"{\"a\":1,\"a\":2,\"\":\"\"}",
		NULL,
	};
	for (unsigned i = 0; docs[i]; i++) {
		cJSON *d = cJSON_Parse(docs[i]);
		assert_non_null(d);
		same(d);
		same(d->child ? d->child : d); /* an element alone: its key is not printed */
		cJSON_Delete(d);
	}
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, cJSON_CreateRaw("{\"raw\": [1, 2]}"));
	same(a);
	cJSON *bad = cJSON_CreateRaw("x"); /* a raw item without its text: cJSON fails */
	free(bad->valuestring);
	bad->valuestring = NULL;
	cJSON_AddItemToArray(a, bad);
	same(a);
	cJSON_Delete(a);
	cJSON *inv = cJSON_CreateNull(); /* an invalid type: cJSON fails */
	inv->type = cJSON_Invalid;
	same(inv);
	cJSON_Delete(inv);
	print_message("%lu items printed as cJSON prints them\n", checked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_page_end),
		cmocka_unit_test(test_trees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
