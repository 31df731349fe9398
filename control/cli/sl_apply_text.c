/* A JSON value checked without its tree (see sl_apply_text.h). Strict where cJSON is lax
 * (what it is unsure of is "cannot vouch", never "valid"), so a text it passes is one value
 * that cJSON parses, ending where cJSON's parse ends. */
#include <stdbool.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sl_apply_text.h"

#define DEPTH_MAX 512  /* cJSON's limit is 1000 */
#define NUMBER_MAX 63  /* longer numbers: cJSON versions differ (some cut them at 63) */

/* Skip whitespace from i, CR and LF made spaces. */
static size_t ws(char *t, size_t i, size_t len)
{
	for (; i < len; i++) {
		if (t[i] == '\n' || t[i] == '\r')
			t[i] = ' ';
		else if (t[i] != ' ' && t[i] != '\t')
			break;
	}
	return i;
}

static int hex4(const char *t, size_t i, size_t len)
{
	int v = 0;
	if (len - i < 4)
		return -1;
	for (size_t k = i; k < i + 4; k++) {
		char c = t[k];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* The string at t[i] == '"': the index past its closing quote, or 0. */
static size_t string(const char *t, size_t i, size_t len)
{
	for (i++; i < len; i++) {
#ifdef __SSE2__
		/* 16 bytes at a time up to the first that is not plain: '"', '\\' or below 32
		 * (most of a List is strings; this was half of sluicectl's time). */
		const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
			      ctl = _mm_set1_epi8(0x1f);
		while (len - i >= 16) {
			__m128i b = _mm_loadu_si128((const __m128i *)(t + i));
			__m128i hit = _mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(b, quote), _mm_cmpeq_epi8(b, bslash)),
				_mm_cmpeq_epi8(_mm_min_epu8(b, ctl), b)); /* b <= 31, unsigned */
			unsigned mask = (unsigned)_mm_movemask_epi8(hit);
			if (mask) {
				i += (size_t)__builtin_ctz(mask);
				break;
			}
			i += 16;
		}
		if (i >= len)
			return 0;
#endif
		unsigned char c = (unsigned char)t[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0; /* raw control characters: cJSON takes them, JSON does not */
		if (c != '\\')
			continue;
		if (++i >= len)
			return 0;
		switch (t[i]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			break;
		case 'u': {
			int u = hex4(t, i + 1, len);
			if (u <= 0 || (u >= 0xdc00 && u <= 0xdfff))
				return 0; /* \u0000 (cJSON cuts the string there), lone low surrogate */
			i += 4;
			if (u >= 0xd800 && u <= 0xdbff) { /* its low surrogate must follow */
				if (len - i < 3 || t[i + 1] != '\\' || t[i + 2] != 'u')
					return 0;
				int lo = hex4(t, i + 3, len);
				if (lo < 0xdc00 || lo > 0xdfff)
					return 0;
				i += 6;
			}
			break;
		}
		default:
			return 0;
		}
	}
	return 0;
}

/* The number at t[i]: the index past it, or 0. RFC 8259's form only, and nothing after it
 * that cJSON would have read as part of it. */
static size_t number(const char *t, size_t i, size_t len)
{
	size_t s = i;
#define DIGIT(k) ((k) < len && t[k] >= '0' && t[k] <= '9')
	if (i < len && t[i] == '-')
		i++;
	if (!DIGIT(i))
		return 0;
	if (t[i] == '0')
		i++;
	else
		while (DIGIT(i))
			i++;
	if (i < len && t[i] == '.') {
		if (!DIGIT(i + 1))
			return 0;
		for (i++; DIGIT(i); i++)
			;
	}
	if (i < len && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < len && (t[i] == '+' || t[i] == '-'))
			i++;
		if (!DIGIT(i))
			return 0;
		while (DIGIT(i))
			i++;
	}
	if (i < len && (DIGIT(i) || t[i] == '.' || t[i] == 'e' || t[i] == 'E' || t[i] == '+' ||
			t[i] == '-'))
		return 0;
#undef DIGIT
	return i - s <= NUMBER_MAX ? i : 0;
}

static size_t literal(const char *t, size_t i, size_t len, const char *word, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (i + k >= len || t[i + k] != word[k])
			return 0;
	return i + n;
}

size_t sl_apply_text_scan(char *t, size_t len)
{
	char stack[DEPTH_MAX]; /* the open containers: '{' or '[' */
	unsigned depth = 0;
	size_t i = ws(t, 0, len);
	for (;;) {
		/* A value at t[i]. */
		if (i >= len)
			return 0;
		size_t e;
		switch (t[i]) {
		case '{':
		case '[':
			if (depth == DEPTH_MAX)
				return 0;
			stack[depth++] = t[i];
			i = ws(t, i + 1, len);
			if (i < len && t[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
				depth--;
				e = i + 1; /* empty */
				break;
			}
			if (stack[depth - 1] == '[')
				continue; /* its first element */
			goto key;
		case '"': e = string(t, i, len); break;
		case 't': e = literal(t, i, len, "true", 4); break;
		case 'f': e = literal(t, i, len, "false", 5); break;
		case 'n': e = literal(t, i, len, "null", 4); break;
		default: e = number(t, i, len); break;
		}
		if (!e)
			return 0;
		/* After a value: the end, the next element or member, or closing brackets. */
		for (;;) {
			if (!depth)
				return e;
			i = ws(t, e, len);
			if (i >= len)
				return 0;
			if (t[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
				depth--;
				e = i + 1;
				continue;
			}
			if (t[i] != ',')
				return 0;
			i = ws(t, i + 1, len);
			if (stack[depth - 1] == '[')
				break;
		key: /* a member of an object at t[i]: its name, ':', then its value */
			if (i >= len || t[i] != '"' || !(i = string(t, i, len)))
				return 0;
			i = ws(t, i, len);
			if (i >= len || t[i] != ':')
				return 0;
			i = ws(t, i + 1, len);
			break;
		}
	}
}
