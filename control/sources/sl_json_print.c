/* cJSON trees printed as cJSON_PrintUnformatted prints them, faster (see sl_json.h). No
 * DPDK; any thread (nothing global). */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The 16-byte loads of put_str may read past a string's NUL (within its page): under
 * AddressSanitizer, which would report them, strings are read byte by byte. */
#if defined(__SANITIZE_ADDRESS__)
#define SL_JSON_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_JSON_ASAN 1
#endif
#endif
#if defined(__SSE2__) && !defined(SL_JSON_ASAN)
#define SL_JSON_SSE2 1
#include <emmintrin.h>
#endif

#include "sl_json.h"

/* Room for n more bytes; false (oom set) when there is none. */
static bool room(struct sl_json_buf *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->cap - b->len >= n)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return b->oom = true, false;
	b->p = p;
	b->cap = cap;
	return true;
}

void sl_json_buf_put(struct sl_json_buf *b, const void *s, size_t n)
{
	if (room(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

static inline void put_c(struct sl_json_buf *b, char c)
{
	if (room(b, 1))
		b->p[b->len++] = c;
}

void sl_json_buf_free(struct sl_json_buf *b)
{
	free(b->p);
	*b = (struct sl_json_buf){ 0 };
}

/* The bytes cJSON escapes in a string: '"', '\\' and every byte below 32. */
static const bool escaped[256] = {
	[0 ... 31] = true, ['"'] = true, ['\\'] = true,
};

/* cJSON's print_string_ptr: "", \" \\ \b \f \n \r \t, other bytes below 32 as \u00XX,
 * everything else as it is. The string is read once (no strlen): plain bytes are copied 16
 * at a time while a 16-byte load stays within s's page (it cannot fault then, whatever
 * follows the NUL), else one by one; room for 16 bytes all escaped is made per step. */
static void put_str(struct sl_json_buf *b, const char *s)
{
	put_c(b, '"');
	for (; s;) {
		if (!room(b, 6 * 16 + 1))
			return;
		char *o = b->p + b->len;
		unsigned k = 0;
#ifdef SL_JSON_SSE2
		if (((uintptr_t)s & 4095) <= 4096 - 16) {
			const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
				      ctl = _mm_set1_epi8(0x1f);
			__m128i v = _mm_loadu_si128((const __m128i *)s);
			__m128i hit = _mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
				_mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v)); /* v <= 31, NUL too */
			unsigned mask = (unsigned)_mm_movemask_epi8(hit);
			_mm_storeu_si128((__m128i *)o, v); /* (the bytes past the plain run are
							    * overwritten or not counted) */
			k = mask ? (unsigned)__builtin_ctz(mask) : 16;
			o += k;
			s += k;
		}
#endif
		for (; k < 16; k++, s++) {
			unsigned char c = (unsigned char)*s;
			if (!escaped[c]) {
				*o++ = (char)c;
				continue;
			}
			if (!c)
				break;
			*o++ = '\\';
			switch (c) {
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '\b': *o++ = 'b'; break;
			case '\f': *o++ = 'f'; break;
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			default:
				*o++ = 'u';
				*o++ = '0';
				*o++ = '0';
				*o++ = "0123456789abcdef"[c >> 4];
				*o++ = "0123456789abcdef"[c & 15];
				break;
			}
		}
		b->len = (size_t)(o - b->p);
		if (!*s)
			break;
	}
	put_c(b, '"');
}

/* cJSON's compare_double. */
static bool same_double(double a, double b)
{
	double max = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
	return fabs(a - b) <= max * DBL_EPSILON;
}

/* cJSON's print_number (1.7.15): null for NaN and infinities, else %1.15g, or %1.17g when
 * that does not read back as the value. The integers below 1e15 (most numbers of a state
 * file: ports, timeouts) are what %1.15g prints of them, without printf. */
static void put_num(struct sl_json_buf *b, const cJSON *item)
{
	double d = item->valuedouble;
	char t[32];
	size_t n;
	if (isnan(d) || isinf(d)) {
		sl_json_buf_put(b, "null", 4);
		return;
	}
	if (fabs(d) < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		long long v = (long long)d;
		unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
		char *p = t + sizeof(t);
		do
			*--p = (char)('0' + u % 10);
		while (u /= 10);
		if (v < 0)
			*--p = '-';
		sl_json_buf_put(b, p, (size_t)(t + sizeof(t) - p));
		return;
	}
	double back = 0;
	n = (size_t)snprintf(t, sizeof(t), "%1.15g", d);
	if (sscanf(t, "%lg", &back) != 1 || !same_double(back, d))
		n = (size_t)snprintf(t, sizeof(t), "%1.17g", d);
	for (size_t i = 0; i < n; i++) /* cJSON writes '.' whatever the locale's point */
		if (t[i] == ',')
			t[i] = '.';
	sl_json_buf_put(b, t, n);
}

void sl_json_print(struct sl_json_buf *b, const cJSON *item)
{
	if (!item) {
		b->oom = true;
		return;
	}
	switch (item->type & 0xff) {
	case cJSON_NULL: sl_json_buf_put(b, "null", 4); break;
	case cJSON_False: sl_json_buf_put(b, "false", 5); break;
	case cJSON_True: sl_json_buf_put(b, "true", 4); break;
	case cJSON_Number: put_num(b, item); break;
	case cJSON_String: put_str(b, item->valuestring); break;
	case cJSON_Raw:
		if (!item->valuestring)
			b->oom = true;
		else
			sl_json_buf_put(b, item->valuestring, strlen(item->valuestring));
		break;
	case cJSON_Array:
	case cJSON_Object: {
		bool obj = (item->type & 0xff) == cJSON_Object;
		put_c(b, obj ? '{' : '[');
		for (const cJSON *c = item->child; c && !b->oom; c = c->next) {
			if (obj) {
				put_str(b, c->string);
				put_c(b, ':');
			}
			sl_json_print(b, c);
			if (c->next)
				put_c(b, ',');
		}
		put_c(b, obj ? '}' : ']');
		break;
	}
	default:
		b->oom = true; /* cJSON's print fails on it */
		break;
	}
}
