/* /metrics and /healthz: the text format, the registries, the server (see sl_metrics.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "core/sl_http.h"
#include "sl_metrics.h"

/* Formatting. */

void sl_metrics_append(struct sl_metrics_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *t = cap <= SL_METRICS_MAX_BYTES ? realloc(b->text, cap) : NULL;
		if (!t) {
			b->failed = true;
			return;
		}
		b->text = t;
		b->cap = cap;
	}
	memcpy(b->text + b->len, s, n);
	b->len += n;
	b->text[b->len] = '\0';
}

static void put(struct sl_metrics_buf *b, const char *s)
{
	sl_metrics_append(b, s, strlen(s));
}

void sl_metrics_buf_free(struct sl_metrics_buf *b)
{
	free(b->text);
	*b = (struct sl_metrics_buf){ 0 };
}

static bool name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

static bool name_ok(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!name_char(*p, p == s, colon))
			return false;
	return true;
}

bool sl_metrics_name_ok(const char *s)
{
	return name_ok(s, true);
}

bool sl_metrics_label_ok(const char *s)
{
	return name_ok(s, false) && strncmp(s, "__", 2) != 0; /* "__" is reserved */
}

/* Escape s into b: '\\' -> "\\\\", newline -> "\\n", and '"' -> "\\\"" when quote. */
static void put_escaped(struct sl_metrics_buf *b, const char *s, bool quote)
{
	const char *run = s;
	for (const char *p = s;; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '\n' ? "\\n"
				  : quote && *p == '"' ? "\\\"" : NULL;
		if (!esc && *p)
			continue;
		sl_metrics_append(b, run, (size_t)(p - run));
		if (!*p)
			break;
		put(b, esc);
		run = p + 1;
	}
}

void sl_metrics_family(struct sl_metrics_buf *b, const char *name, enum sl_metrics_type type,
		       const char *help)
{
	static const char *const types[] = { "counter", "gauge", "untyped" };
	if (!sl_metrics_name_ok(name) || (unsigned)type > SL_METRICS_UNTYPED) {
		b->failed = true;
		return;
	}
	put(b, "# HELP ");
	put(b, name);
	put(b, " ");
	put_escaped(b, help ? help : "", false);
	put(b, "\n# TYPE ");
	put(b, name);
	put(b, " ");
	put(b, types[type]);
	put(b, "\n");
}

static void put_series(struct sl_metrics_buf *b, const char *name, const char *const *labels)
{
	if (!sl_metrics_name_ok(name)) {
		b->failed = true;
		return;
	}
	put(b, name);
	if (!labels || !labels[0])
		return;
	put(b, "{");
	for (const char *const *l = labels; l[0]; l += 2) {
		if (!sl_metrics_label_ok(l[0]) || !l[1]) {
			b->failed = true;
			return;
		}
		if (l != labels)
			put(b, ",");
		put(b, l[0]);
		put(b, "=\"");
		put_escaped(b, l[1], true);
		put(b, "\"");
	}
	put(b, "}");
}

void sl_metrics_sample(struct sl_metrics_buf *b, const char *name, const char *const *labels,
		       double v)
{
	char s[40];
	put_series(b, name, labels);
	if (isnan(v))
		snprintf(s, sizeof(s), " NaN\n");
	else if (isinf(v))
		snprintf(s, sizeof(s), " %cInf\n", v > 0 ? '+' : '-');
	else if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact */
		snprintf(s, sizeof(s), " %" PRId64 "\n", (int64_t)v);
	else
		snprintf(s, sizeof(s), " %.17g\n", v);
	put(b, s);
}

void sl_metrics_sample_u64(struct sl_metrics_buf *b, const char *name,
			   const char *const *labels, uint64_t v)
{
	char s[32];
	put_series(b, name, labels);
	snprintf(s, sizeof(s), " %" PRIu64 "\n", v);
	put(b, s);
}

/* Registries. */

static struct {
	struct {
		sl_metrics_collect_fn fn;
		void *arg;
	} coll[SL_METRICS_MAX_COLLECTORS];
	unsigned n_coll;
	struct {
		sl_metrics_health_fn fn;
		void *arg;
	} health[SL_METRICS_MAX_HEALTH];
	unsigned n_health;
	struct sl_http *srv;
} mx;

#define REGISTER(arr, n, max, f, a)                                                    \
	do {                                                                           \
		for (unsigned i_ = 0; i_ < (n); i_++)                                  \
			if ((arr)[i_].fn == (f) && (arr)[i_].arg == (a))               \
				return -EEXIST;                                        \
		if ((n) >= (max))                                                      \
			return -ENOSPC;                                                \
		(arr)[(n)].fn = (f);                                                   \
		(arr)[(n)++].arg = (a);                                                \
		return 0;                                                              \
	} while (0)

#define UNREGISTER(arr, n, f, a)                                                       \
	do {                                                                           \
		for (unsigned i_ = 0; i_ < (n); i_++)                                  \
			if ((arr)[i_].fn == (f) && (arr)[i_].arg == (a)) {             \
				memmove(&(arr)[i_], &(arr)[i_ + 1],                    \
					((n) - i_ - 1) * sizeof((arr)[0]));            \
				(n)--;                                                 \
				return;                                                \
			}                                                              \
	} while (0)

int sl_metrics_register(sl_metrics_collect_fn fn, void *arg)
{
	REGISTER(mx.coll, mx.n_coll, SL_METRICS_MAX_COLLECTORS, fn, arg);
}

void sl_metrics_unregister(sl_metrics_collect_fn fn, void *arg)
{
	UNREGISTER(mx.coll, mx.n_coll, fn, arg);
}

int sl_metrics_health_register(sl_metrics_health_fn fn, void *arg)
{
	REGISTER(mx.health, mx.n_health, SL_METRICS_MAX_HEALTH, fn, arg);
}

void sl_metrics_health_unregister(sl_metrics_health_fn fn, void *arg)
{
	UNREGISTER(mx.health, mx.n_health, fn, arg);
}

void sl_metrics_reset(void)
{
	mx.n_coll = mx.n_health = 0;
}

void sl_metrics_collect(struct sl_metrics_buf *ret)
{
	*ret = (struct sl_metrics_buf){ 0 };
	for (unsigned i = 0; i < mx.n_coll; i++)
		mx.coll[i].fn(mx.coll[i].arg, ret);
}

const char *sl_metrics_health(void)
{
	for (unsigned i = 0; i < mx.n_health; i++) {
		const char *why = mx.health[i].fn(mx.health[i].arg);
		if (why)
			return why;
	}
	return NULL;
}

/* The server. */

static void text_reply(struct sl_http_reply *r, unsigned status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	r->body = (char *)text; /* copied by the server */
	r->len = strlen(text);
}

static void on_request(void *arg, const char *method, const char *path, struct sl_http_reply *r)
{
	bool head = !strcmp(method, "HEAD");
	if (strcmp(path, "/metrics") && strcmp(path, "/healthz")) {
		text_reply(r, 404, "not found: /metrics, /healthz\n");
		return;
	}
	if (strcmp(method, "GET") && !head) {
		text_reply(r, 405, "method not allowed\n");
		r->hdr[0].name = "Allow";
		snprintf(r->hdr[0].value, sizeof(r->hdr[0].value), "GET, HEAD");
		r->n_hdr = 1;
		return;
	}
	if (!strcmp(path, "/healthz")) {
		static char why[256];
		const char *bad = sl_metrics_health();
		snprintf(why, sizeof(why), "unhealthy: %s\n", bad ? bad : "");
		text_reply(r, bad ? 503 : 200, bad ? why : "ok");
		return;
	}
	struct sl_metrics_buf b;
	sl_metrics_collect(&b);
	if (b.failed) {
		sl_metrics_buf_free(&b);
		text_reply(r, 500, "metrics: out of memory or too large\n");
		return;
	}
	r->status = 200;
	r->content_type = SL_METRICS_CONTENT_TYPE;
	if (head || !b.text) { /* MHD sends no body to HEAD */
		sl_metrics_buf_free(&b);
		return;
	}
	r->body = b.text;
	r->len = b.len;
	r->body_free = true;
}

int sl_metrics_start(struct sl_loop *l, uint32_t addr, uint16_t port, char *err, size_t errlen)
{
	if (mx.srv)
		return snprintf(err, errlen, "metrics: already started"), -EALREADY;
	struct sl_http_conf c = { .addr.s_addr = addr, .port = port, .max_conns = 16,
				  .max_conns_per_ip = 8, .timeout_s = 10,
				  .handler = on_request };
	char why[200] = "";
	int rc = sl_http_start(l, &c, &mx.srv, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "metrics.listen: %s", why);
	return rc;
}

uint16_t sl_metrics_port(void)
{
	return mx.srv ? sl_http_port(mx.srv) : 0;
}

void sl_metrics_stop(void)
{
	sl_http_stop(mx.srv);
	mx.srv = NULL;
}
