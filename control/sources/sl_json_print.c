/* cJSON trees printed as cJSON_PrintUnformatted prints them, faster (see sl_json.h). No
 * DPDK; any thread (nothing global). */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * everything else as it is. Room for the worst case (every byte \u00XX) is made once. */
static void put_str(struct sl_json_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!room(b, 6 * n + 2))
		return;
	char *o = b->p + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!escaped[c]) {
			*o++ = (char)c;
			continue;
		}
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
	*o++ = '"';
	b->len = (size_t)(o - b->p);
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
