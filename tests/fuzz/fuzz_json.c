/* libFuzzer target: sl_json's reader against cJSON. Whatever the bytes, both accept or both
 * refuse, at the same end, and an accepted tree is cJSON's node for node; anything else
 * aborts (a finding). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	cJSON_Delete(y);
	sl_json_arena_free(&a);
	return 0;
}
