/* cJSON trees in an arena (see sl_json.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sl_json.h"

#define BLOCK_MIN (1u << 20) /* bytes; a block is at least the size of its text's first try */

struct sl_json_block {
	struct sl_json_block *next;
	size_t size;
	char data[];
};

static struct sl_json_arena *cur_arena; /* while sl_json_parse runs */

static void *arena_alloc(size_t size)
{
	struct sl_json_arena *a = cur_arena;
	size = (size + 15) & ~(size_t)15;
	if ((size_t)(a->end - a->cur) < size) {
		size_t bs = size > BLOCK_MIN ? size : BLOCK_MIN;
		/* Grow with the document: a 4 MiB request takes a few blocks, not hundreds. */
		if (a->bytes / 2 > bs)
			bs = a->bytes / 2;
		struct sl_json_block *b = malloc(sizeof(*b) + bs + 15);
		if (!b)
			return NULL;
		b->size = bs;
		b->next = a->blocks;
		a->blocks = b;
		a->bytes += bs;
		a->cur = (char *)(((uintptr_t)b->data + 15) & ~(uintptr_t)15);
		a->end = a->cur + bs;
	}
	void *p = a->cur;
	a->cur += size;
	return p;
}

static void arena_free(void *p)
{
	(void)p; /* everything goes with the arena (a failed parse frees its partial tree) */
}

cJSON *sl_json_parse(struct sl_json_arena *a, const char *text, size_t len, const char **end)
{
	cJSON_Hooks in = { .malloc_fn = arena_alloc, .free_fn = arena_free };
	cur_arena = a;
	cJSON_InitHooks(&in);
	cJSON *root = end ? cJSON_ParseWithLengthOpts(text, len, end, false)
			  : cJSON_ParseWithLength(text, len);
	cJSON_InitHooks(NULL); /* malloc and free again for everything else */
	cur_arena = NULL;
	return root;
}

void sl_json_arena_free(struct sl_json_arena *a)
{
	for (struct sl_json_block *b = a->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	memset(a, 0, sizeof(*a));
}
