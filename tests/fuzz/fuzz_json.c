/* libFuzzer target: sl_json's reader against cJSON. Whatever the bytes, both accept or both
 * refuse, at the same end, and an accepted tree is cJSON's node for node; sl_json_print
 * prints a parsed tree as cJSON_PrintUnformatted does, byte for byte; a text
 * sl_apply_text_scan (sluicectl apply) vouches for is, inside sluicectl's request, read
 * by cJSON as the same tree, without a newline. Anything else aborts (a finding). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/sl_apply_text.h"
#include "control/sources/sl_json.h"

static void same(const cJSON *a, const cJSON *b, int top)
{
	for (; a || b; a = a->next, b = b->next) {
		if (!a || !b || a->type != b->type || a->valueint != b->valueint ||
		    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) ||
		    (a->string == NULL) != (b->string == NULL) ||
		    (a->string && strcmp(a->string, b->string)) ||
		    (a->valuestring == NULL) != (b->valuestring == NULL) ||
		    (a->valuestring && strcmp(a->valuestring, b->valuestring)) ||
		    (a->prev == NULL) != (b->prev == NULL))
			abort();
		same(a->child, b->child, 0);
		if (top)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_json_arena a = { 0 };
	const char *t = (const char *)data, *e1 = NULL, *e2 = NULL;
	cJSON *x = sl_json_parse(&a, t, size, &e1);
	cJSON *y = cJSON_ParseWithLengthOpts(t, size, &e2, 0);
	if ((x == NULL) != (y == NULL) || e1 != e2)
		abort();
	if (x)
		same(x, y, 1);
	if (y) {
		char *p = cJSON_PrintUnformatted(y);
		struct sl_json_buf b = { 0 };
		sl_json_print(&b, y);
		if (p && (b.oom || b.len != strlen(p) || memcmp(b.p, p, b.len)))
			abort();
		free(p);
		sl_json_buf_free(&b);
	}
	/* sluicectl apply's request around the text its scan vouches for. */
	static const char pre[] = "{\"cmd\":\"apply\",\"objects\":";
	size_t l = sizeof(pre) - 1;
	char *req = malloc(l + size + 1);
	memcpy(req + l, data, size);
	size_t e = sl_apply_text_scan(req + l, size);
	if (e) {
		const char *end = NULL;
		memcpy(req, pre, l);
		req[l + e] = '}';
		cJSON *r = cJSON_ParseWithLengthOpts(req, l + e + 1, &end, 0);
		const cJSON *o = r ? cJSON_GetObjectItemCaseSensitive(r, "objects") : NULL;
		if (e > size || memchr(req, '\n', l + e + 1) || !o || end != req + l + e + 1 || !y ||
		    e != (size_t)(e2 - t) || o->type != y->type)
			abort();
		same(o->child, y->child, 0);
		cJSON_Delete(r);
	}
	free(req);
	cJSON_Delete(y);
	sl_json_arena_free(&a);
	return 0;
}
