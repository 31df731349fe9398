/* cJSON trees in an arena (see sl_json.h). */
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sl_json.h"

#define BLOCK_MIN (1u << 20) /* bytes; later blocks grow with the arena */

struct sl_json_block {
	struct sl_json_block *next;
	size_t size;
	char data[];
};

/* Blocks of freed arenas kept for the next (touched memory: a 4 MiB request's tree is
 * ~16 MiB, and page faults on fresh memory cost more than reading it). */
#define SPARE_MAX (32u << 20)
static struct sl_json_block *spare;
static size_t spare_bytes;

static void *arena_grow(struct sl_json_arena *a, size_t size);

/* size bytes (16-aligned) from a: the bump inline, a new block out of line. */
static inline void *arena_alloc_in(struct sl_json_arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if ((size_t)(a->end - a->cur) < size)
		return arena_grow(a, size);
	void *p = a->cur;
	a->cur += size;
	return p;
}

static void *arena_grow(struct sl_json_arena *a, size_t size)
{
	size_t bs = size > BLOCK_MIN ? size : BLOCK_MIN;
	/* Grow with the document: a 4 MiB request takes a few blocks, not hundreds. */
	if (a->bytes / 2 > bs)
		bs = a->bytes / 2;
	struct sl_json_block *b = NULL;
	for (struct sl_json_block **pp = &spare; *pp; pp = &(*pp)->next) {
		if ((*pp)->size >= size) { /* a spare block that fits (any size) */
			b = *pp;
			*pp = b->next;
			spare_bytes -= b->size;
			bs = b->size;
			break;
		}
	}
	if (!b && !(b = malloc(sizeof(*b) + bs + 15)))
		return NULL;
	b->size = bs;
	b->next = a->blocks;
	a->blocks = b;
	a->bytes += bs;
	a->cur = (char *)(((uintptr_t)b->data + 15) & ~(uintptr_t)15);
	a->end = a->cur + bs;
	void *p = a->cur;
	a->cur += size;
	return p;
}

/* ---- The reader ----------------------------------------------------------------------
 * What cJSON 1.7's parser builds, node for node (the same types, strings, numbers, child,
 * next and prev links, the first child's prev pointing at the last), without its two
 * passes over every string, its strtod for every integer and its call per allocation. It
 * takes the documents sluiced reads (kubectl's and its own JSON) and gives up on anything
 * else: a \u escape, a byte order mark, nesting past cJSON's limit, and every error; the
 * caller then parses the text with cJSON itself, which decides (and reports the error as
 * it always did). So the reader only ever accepts what cJSON accepts, the same way. */

struct rd {
	struct sl_json_arena *a;
	const char *p, *e; /* next byte, end */
	unsigned depth;
	bool oom;
	struct sl_json_watch *w; /* or NULL */
	unsigned match;          /* how many of w->path the containers being read follow */
};

static cJSON *new_node(struct rd *r)
{
	cJSON *n = arena_alloc_in(r->a, sizeof(*n));
	if (!n) {
		r->oom = true;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	return n;
}

/* cJSON's whitespace: every byte up to ' '. */
static inline void skip_ws(struct rd *r)
{
	while (r->p < r->e && (unsigned char)*r->p <= 32)
		r->p++;
}

/* A string at r->p (its opening quote) into arena memory; NULL to give up. */
static char *read_str(struct rd *r)
{
	const char *s = ++r->p, *q = s;
#ifdef __SSE2__
	/* 16 bytes at a time while they are inside the text (a ~quarter of the parse was
	 * this scan byte by byte). */
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	while (r->e - q >= 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)q);
		unsigned hit = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(b, quote), _mm_cmpeq_epi8(b, bslash)));
		if (hit) {
			q += __builtin_ctz(hit);
			if (q == s + __builtin_ctz(hit) && *q == '"') {
				/* Most strings (keys, short values) end in the first 16 bytes: their
				 * 16 bytes stored as they were loaded (the arena rounds to 16). */
				size_t len = (size_t)(q - s);
				char *out = arena_alloc_in(r->a, 16);
				if (!out)
					return r->oom = true, NULL;
				_mm_storeu_si128((__m128i *)out, b);
				out[len] = 0;
				r->p = q + 1;
				return out;
			}
			break;
		}
		q += 16;
	}
#endif
	while (q < r->e && *q != '"' && *q != '\\')
		q++;
	if (q >= r->e)
		return NULL;
	if (*q == '"') { /* no escape: the common case */
		size_t len = (size_t)(q - s);
		char *out = arena_alloc_in(r->a, len + 1);
		if (!out)
			return r->oom = true, NULL;
		memcpy(out, s, len);
		out[len] = 0;
		r->p = q + 1;
		return out;
	}
	/* Escapes: find the end as cJSON does (a backslash skips the next byte). */
	const char *end = q;
	while (end < r->e && *end != '"') {
		if (*end == '\\') {
			if (end + 1 >= r->e)
				return NULL;
			end++;
		}
		end++;
	}
	if (end >= r->e)
		return NULL;
	char *out = arena_alloc_in(r->a, (size_t)(end - s) + 1), *o = out;
	if (!out)
		return r->oom = true, NULL;
	for (const char *i = s; i < end;) {
		if (*i != '\\') {
			*o++ = *i++;
			continue;
		}
		switch (i[1]) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case '"':
		case '\\':
		case '/': *o++ = i[1]; break;
		default: return NULL; /* \u (cJSON converts UTF-16), or an error */
		}
		i += 2;
	}
	*o = 0;
	r->p = end + 1;
	return out;
}

/* A number as cJSON reads it: the run of [0-9+-eE.] given to strtod (with the locale's
 * decimal point), the rest of the run left for the caller; plain integers of up to 15
 * digits computed directly (exactly what strtod gives). Runs of 63 bytes or more are left
 * to cJSON. */
static bool read_num(struct rd *r, cJSON *n)
{
	char buf[64];
	size_t len = 0;
	bool plain = true;
	unsigned digits = 0;
	double v = 0;
	while (len < sizeof(buf) - 1 && r->p + len < r->e) {
		char c = r->p[len];
		if (c >= '0' && c <= '9') {
			digits++;
		} else if (c == '-' && len == 0) {
		} else if (c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.') {
			plain = false;
		} else {
			break;
		}
		buf[len++] = c;
	}
	if (len == sizeof(buf) - 1)
		return false; /* a longer run: left to cJSON (its limit differs between versions) */
	buf[len] = 0;
	size_t used = len;
	if (plain && digits && digits <= 15) {
		int64_t x = 0;
		for (size_t i = buf[0] == '-'; i < len; i++)
			x = x * 10 + (buf[i] - '0');
		v = buf[0] == '-' ? -(double)x : (double)x;
	} else {
		char *after;
		char dp = localeconv()->decimal_point[0];
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '.')
				buf[i] = dp;
		v = strtod(buf, &after);
		if (after == buf)
			return false;
		used = (size_t)(after - buf);
	}
	n->valuedouble = v;
	n->valueint = v >= INT_MAX ? INT_MAX : v <= (double)INT_MIN ? INT_MIN : (int)v;
	n->type = cJSON_Number;
	r->p += used;
	return true;
}

static bool read_value(struct rd *r, cJSON *n);

/* The elements of an array or the members of an object, r->p at its opening bracket. */
static bool read_items(struct rd *r, cJSON *n, bool obj)
{
	cJSON *head = NULL, *cur = NULL;
	unsigned idx = 0; /* elements told to r->w */
	if (r->depth >= CJSON_NESTING_LIMIT)
		return false;
	r->depth++;
	r->p++;
	skip_ws(r);
	if (r->p >= r->e)
		return false;
	if (*r->p != (obj ? '}' : ']')) {
		for (;;) {
			/* An element of the watched array: told, then its memory reused for the
			 * next (the tree keeps the array empty). */
			bool watched = !obj && r->w && r->match == r->w->depth &&
				       r->depth == r->w->depth + 1;
			char *mark = r->a->cur;
			struct sl_json_block *mark_b = r->a->blocks;
			cJSON *it = new_node(r);
			if (!it)
				return false;
			if (watched) {
			} else if (!head) {
				head = cur = it;
			} else {
				cur->next = it;
				it->prev = cur;
				cur = it;
			}
			bool on = false; /* this member is the watched path's next step */
			if (obj) {
				if (r->p >= r->e || *r->p != '"' || !(it->string = read_str(r)))
					return false;
				skip_ws(r);
				if (r->p >= r->e || *r->p != ':')
					return false;
				r->p++;
				skip_ws(r);
				on = r->w && r->match == r->depth - 1 && r->match < r->w->depth &&
				     !strcmp(it->string, r->w->path[r->match]);
				if (on)
					r->match++;
			}
			if (!read_value(r, it))
				return false;
			if (on)
				r->match--;
			if (watched) {
				r->w->elem(r->w->ctx, n, it, idx++);
				r->w->n++;
				if (r->a->blocks == mark_b)
					r->a->cur = mark;
			}
			skip_ws(r);
			if (r->p < r->e && *r->p == ',') {
				r->p++;
				skip_ws(r);
				continue;
			}
			break;
		}
		if (r->p >= r->e || *r->p != (obj ? '}' : ']'))
			return false;
	}
	r->depth--;
	if (head)
		head->prev = cur;
	n->type = obj ? cJSON_Object : cJSON_Array;
	n->child = head;
	r->p++;
	return true;
}

static bool read_value(struct rd *r, cJSON *n)
{
	size_t left = (size_t)(r->e - r->p);
	if (!left)
		return false;
	switch (*r->p) {
	case '"':
		n->type = cJSON_String;
		return (n->valuestring = read_str(r)) != NULL;
	case '{':
		return read_items(r, n, true);
	case '[':
		return read_items(r, n, false);
	case 'n':
		if (left >= 4 && !memcmp(r->p, "null", 4))
			return n->type = cJSON_NULL, r->p += 4, true;
		return false;
	case 't':
		if (left >= 4 && !memcmp(r->p, "true", 4))
			return n->type = cJSON_True, n->valueint = 1, r->p += 4, true;
		return false;
	case 'f':
		if (left >= 5 && !memcmp(r->p, "false", 5))
			return n->type = cJSON_False, r->p += 5, true;
		return false;
	default:
		if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
			return read_num(r, n);
		return false;
	}
}

/* The reader over text; NULL when it gives up (nothing of it is freed: it is in a). */
static cJSON *read_doc(struct sl_json_arena *a, const char *text, size_t len, const char **end,
		       struct sl_json_watch *w)
{
	struct rd r = { .a = a, .p = text, .e = text + len, .w = w };
	if (!text || !len || (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)))
		return NULL;
	skip_ws(&r);
	cJSON *root = new_node(&r);
	if (!root || !read_value(&r, root))
		return NULL;
	if (end)
		*end = r.p;
	return root;
}

/* ---- cJSON with the arena as its allocator (what the reader gives up on) ------------- */

static struct sl_json_arena *cur_arena; /* while cJSON parses into it */

static void *arena_alloc(size_t size)
{
	return arena_alloc_in(cur_arena, size);
}

static void arena_free(void *p)
{
	(void)p; /* everything goes with the arena (a failed parse frees its partial tree) */
}

cJSON *sl_json_parse(struct sl_json_arena *a, const char *text, size_t len, const char **end)
{
	return sl_json_parse_watch(a, text, len, end, NULL);
}

cJSON *sl_json_parse_watch(struct sl_json_arena *a, const char *text, size_t len,
			   const char **end, struct sl_json_watch *w)
{
	char *mark = a->cur; /* what the reader used is given back if it gives up */
	struct sl_json_block *mark_b = a->blocks;
	if (w) {
		w->n = 0;
		w->streamed = false;
	}
	cJSON *root = read_doc(a, text, len, end, w);
	if (w)
		w->streamed = root != NULL;
	if (root)
		return root;
	if (a->blocks == mark_b)
		a->cur = mark;
	cJSON_Hooks in = { .malloc_fn = arena_alloc, .free_fn = arena_free };
	cur_arena = a;
	cJSON_InitHooks(&in);
	root = end ? cJSON_ParseWithLengthOpts(text, len, end, false)
		   : cJSON_ParseWithLength(text, len);
	cJSON_InitHooks(NULL); /* malloc and free again for everything else */
	cur_arena = NULL;
	return root;
}

void sl_json_build_begin(struct sl_json_arena *a)
{
	cJSON_Hooks in = { .malloc_fn = arena_alloc, .free_fn = arena_free };
	cur_arena = a;
	cJSON_InitHooks(&in);
}

void sl_json_build_end(void)
{
	cJSON_InitHooks(NULL);
	cur_arena = NULL;
}

void sl_json_arena_free(struct sl_json_arena *a)
{
	for (struct sl_json_block *b = a->blocks, *next; b; b = next) {
		next = b->next;
		if (spare_bytes + b->size <= SPARE_MAX) {
			b->next = spare;
			spare = b;
			spare_bytes += b->size;
		} else {
			free(b);
		}
	}
	memset(a, 0, sizeof(*a));
}
