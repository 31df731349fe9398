/* JSON documents read in bulk (requests, the config, the state file, its journal) parsed
 * into cJSON trees in an arena: every node and string of the tree is bump-allocated from a
 * few large blocks and the whole tree is freed at once with the arena. A 1,000-Service List
 * is ~250,000 cJSON allocations; through malloc they cost as much as the parse itself to
 * free (and as much again when glibc consolidates them at the next large allocation).
 *
 * The tree is read by sluice's own reader, which builds exactly what cJSON would (the
 * decoder and everything else read it with cJSON's functions) in one pass, about twice as
 * fast; what it does not take (\u escapes, errors, ...) is parsed by cJSON itself, into
 * the arena too, so the result and the errors are always cJSON's.
 *
 * A tree from sl_json_parse is read-only: never cJSON_Delete it, detach from it or add to
 * it; it lives until sl_json_arena_free. cJSON's allocation hooks are global: they point
 * at the arena only for the duration of one cJSON parse in sl_json_parse, on the calling
 * thread (the control thread; nothing else in sluiced uses cJSON). Freed arenas keep up to
 * 32 MiB of their blocks for the next parse. No DPDK; control thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct sl_json_block;

struct sl_json_arena {
	struct sl_json_block *blocks; /* newest first */
	char *cur, *end;              /* free space in the newest block */
	size_t bytes;                 /* allocated from the system (blocks) */
};

/* Parse at most len bytes of text into a tree allocated from a (which may already hold
 * other trees). With end non-NULL, text after the value is allowed and *end set past it
 * (cJSON_ParseWithLengthOpts without require_null_terminated); with end NULL the text must
 * hold one value only (cJSON_ParseWithLength). Returns the root or NULL (invalid JSON or no
 * memory; *end then points near the error, as cJSON_GetErrorPtr). */
cJSON *sl_json_parse(struct sl_json_arena *a, const char *text, size_t len, const char **end);

/* sl_json_parse, handing each element of one array to elem as soon as it is read, then
 * reusing its memory: a 1,000-Service List's tree is ~16 MiB, and writing it all, then
 * reading it back to decode it, waited on the memory most of the time; one element at a
 * time stays in the cache. The array is the value reached from the root object by the
 * member names path[0..depth) (at each level the first member of that name, and any later
 * one too: elem is then shown another array). Only sluice's reader calls elem; the tree
 * returned has that array empty. On return streamed says whether the tree returned is the
 * reader's, i.e. elem saw every element of that array (false: NULL, or the reader gave up
 * and cJSON parsed the text: a complete tree, whatever elem saw before). An element and
 * its tree live only during its elem call. */
struct sl_json_watch {
	const char *const *path;
	unsigned depth;
	void (*elem)(void *ctx, const cJSON *array, const cJSON *e, unsigned idx);
	void *ctx;
	unsigned n;    /* elements told so far */
	bool streamed; /* out */
};
cJSON *sl_json_parse_watch(struct sl_json_arena *a, const char *text, size_t len,
			   const char **end, struct sl_json_watch *w);

/* Between these two, cJSON_Create* and cJSON_Add* allocate from a: a tree built there (to
 * print it: the state file) is read-only afterwards like a parsed one, and freed with a.
 * Printing uses malloc again (after sl_json_build_end). Control thread. */
void sl_json_build_begin(struct sl_json_arena *a);
void sl_json_build_end(void);

/* Free every tree parsed into a; a is empty and reusable afterwards. */
void sl_json_arena_free(struct sl_json_arena *a);

/* ---- Printing ------------------------------------------------------------------------
 * Text built in memory (the state file's snapshot and journal lines): malloc'd, grown
 * by doubling; oom set (and nothing more appended) once an allocation failed. */
struct sl_json_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* Append n bytes of s. */
void sl_json_buf_put(struct sl_json_buf *b, const void *s, size_t n);
/* Append item as cJSON_PrintUnformatted prints it, byte for byte (numbers, escapes, an
 * invalid type: then oom is set, as cJSON's print fails), several times faster: integers
 * without sprintf and sscanf, strings read once and copied 16 bytes at a time, no strlen
 * of what is printed. */
void sl_json_print(struct sl_json_buf *b, const cJSON *item);
/* Free b's text; b is empty and reusable. */
void sl_json_buf_free(struct sl_json_buf *b);
