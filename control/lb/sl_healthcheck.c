/* Health-check NodePorts of externalTrafficPolicy Local Services (see sl_healthcheck.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sl_http.h"
#include "sl_healthcheck.h"

#define BUCKETS 4096 /* Services with a port: at most one per port (the model refuses two) */

/* One Service that wants a health-check port. */
struct hc_svc {
	struct hc_svc *next;        /* bucket chain */
	uint32_t id;                /* the model's Service id */
	char ns[SL_K8S_NS_MAX];
	char name[SL_K8S_NS_MAX];
	uint16_t port;              /* healthCheckNodePort */
	unsigned local;             /* local ready endpoints */
	bool failing;               /* the bind of port failed (logged, counted once) */
	struct sl_http *srv;        /* NULL: not listening (not started, or the bind failed) */
};

static struct {
	struct sl_loop *loop;       /* set by sl_healthcheck_start, NULL after _stop */
	struct hc_svc *bucket[BUCKETS];
	unsigned n;
	struct sl_loop_timer retry;
	uint64_t bind_failed, requests;
} hc;

bool sl_healthcheck_wanted(const struct sl_svc_spec *s)
{
	return s->type == SL_SVC_LOAD_BALANCER && s->external_local && s->health_check_node_port;
}

static int ip_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

unsigned sl_healthcheck_local_endpoints(const struct sl_svc_view *v)
{
	size_t cap = 0;
	for (unsigned p = 0; p < v->n_ports; p++)
		cap += v->ports[p].n_be;
	uint32_t *ips = cap ? malloc(cap * sizeof(*ips)) : NULL;
	unsigned n = 0, distinct = 0;
	for (unsigned p = 0; p < v->n_ports; p++)
		for (unsigned i = 0; i < v->ports[p].n_be; i++) {
			const struct sl_svc_backend *b = &v->ports[p].be[i];
			if ((b->flags & (SL_EP_READY | SL_BE_LOCAL)) != (SL_EP_READY | SL_BE_LOCAL) ||
			    b->ip.af != AF_INET)
				continue;
			if (ips) {
				ips[n++] = b->ip.v4;
				continue;
			}
			/* Out of memory: the same count, quadratic and allocation-free. */
			bool seen = false;
			for (unsigned q = 0; q <= p && !seen; q++)
				for (unsigned k = 0; k < (q < p ? v->ports[q].n_be : i) && !seen; k++) {
					const struct sl_svc_backend *o = &v->ports[q].be[k];
					seen = (o->flags & (SL_EP_READY | SL_BE_LOCAL)) ==
						       (SL_EP_READY | SL_BE_LOCAL) &&
					       o->ip.af == AF_INET && o->ip.v4 == b->ip.v4;
				}
			distinct += !seen;
		}
	if (!ips)
		return distinct;
	qsort(ips, n, sizeof(*ips), ip_cmp);
	for (unsigned i = 0; i < n; i++)
		distinct += i == 0 || ips[i] != ips[i - 1];
	free(ips);
	return distinct;
}

/* s as a JSON string's content (as Go's %q for these names: DNS labels need no escape). */
static int put_str(char *buf, size_t len, size_t *at, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int w = c == '"' || c == '\\' ? snprintf(buf + *at, len - *at, "\\%c", c)
			: c < 0x20            ? snprintf(buf + *at, len - *at, "\\u%04x", c)
					      : snprintf(buf + *at, len - *at, "%c", c);
		if (w < 0 || (size_t)w >= len - *at)
			return -ENOSPC;
		*at += (size_t)w;
	}
	return 0;
}

#define PUT(...)                                                                           \
	do {                                                                               \
		int w_ = snprintf(buf + at, len - at, __VA_ARGS__);                        \
		if (w_ < 0 || (size_t)w_ >= len - at)                                      \
			return -ENOSPC;                                                    \
		at += (size_t)w_;                                                          \
	} while (0)

int sl_healthcheck_body(const char *ns, const char *name, unsigned n, char *buf, size_t len)
{
	/* kube-proxy's text after dedent and Trim("\n"): tab indents, no final newline. */
	size_t at = 0;
	if (!len)
		return -ENOSPC;
	PUT("{\n\t\"service\": {\n\t\t\"namespace\": \"");
	if (put_str(buf, len, &at, ns))
		return -ENOSPC;
	PUT("\",\n\t\t\"name\": \"");
	if (put_str(buf, len, &at, name))
		return -ENOSPC;
	PUT("\"\n\t},\n\t\"localEndpoints\": %u,\n\t\"serviceProxyHealthy\": true\n}", n);
	return (int)at;
}

/* The server's handler: any method, any path (as kube-proxy's ServeHTTP). */
static void on_request(void *arg, const char *method, const char *path, struct sl_http_reply *r)
{
	static char body[6 * 2 * SL_K8S_NS_MAX + 160]; /* fits any name, every byte escaped */
	const struct hc_svc *e = arg;
	int len = sl_healthcheck_body(e->ns, e->name, e->local, body, sizeof(body));
	hc.requests++;
	r->status = e->local ? 200 : 503;
	r->content_type = "application/json";
	r->hdr[0].name = "X-Content-Type-Options";
	snprintf(r->hdr[0].value, sizeof(r->hdr[0].value), "nosniff");
	r->hdr[1].name = "X-Load-Balancing-Endpoint-Weight";
	snprintf(r->hdr[1].value, sizeof(r->hdr[1].value), "%u", e->local);
	r->n_hdr = 2;
	r->body = body;
	r->len = len > 0 ? (size_t)len : 0; /* cannot fail: body fits the longest names */
}

static void on_retry(struct sl_loop_timer *t, void *arg);

/* Open e's server; on failure log once per port, count, and retry later. */
static void open_srv(struct hc_svc *e)
{
	char err[256];
	struct sl_http_conf c = { .addr.s_addr = htonl(INADDR_ANY), .port = e->port,
				  .handler = on_request, .arg = e };
	if (sl_http_start(hc.loop, &c, &e->srv, err, sizeof(err)) == 0) {
		if (e->failing)
			fprintf(stderr, "sluiced: service %s/%s: spec.healthCheckNodePort %u: "
					"now listening\n", e->ns, e->name, e->port);
		e->failing = false;
		return;
	}
	e->srv = NULL;
	if (!e->failing) {
		fprintf(stderr, "sluiced: service %s/%s: spec.healthCheckNodePort %u: %s; the "
				"Service applies without its health check, retried every %u s\n",
			e->ns, e->name, e->port, err, SL_HC_RETRY_MS / 1000);
		hc.bind_failed++;
		e->failing = true;
	}
	if (!sl_loop_timer_armed(&hc.retry))
		sl_loop_timer_arm(hc.loop, &hc.retry, SL_HC_RETRY_MS);
}

static void close_srv(struct hc_svc *e)
{
	sl_http_stop(e->srv);
	e->srv = NULL;
	e->failing = false;
}

static void on_retry(struct sl_loop_timer *t, void *arg)
{
	for (unsigned b = 0; hc.loop && b < BUCKETS; b++)
		for (struct hc_svc *e = hc.bucket[b]; e; e = e->next)
			if (!e->srv)
				open_srv(e); /* re-arms the timer while one fails */
}

static struct hc_svc **slot_of(uint32_t id)
{
	struct hc_svc **pp = &hc.bucket[id % BUCKETS];
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

void sl_healthcheck_remove(const struct sl_model_svc *ms)
{
	struct hc_svc **pp = slot_of(ms->id), *e = *pp;
	if (!e)
		return;
	*pp = e->next;
	close_srv(e);
	free(e);
	hc.n--;
}

void sl_healthcheck_update(const struct sl_svc_view *v)
{
	const struct sl_svc_spec *s = v->spec;
	if (!sl_healthcheck_wanted(s)) {
		sl_healthcheck_remove(v->svc);
		return;
	}
	struct hc_svc **pp = slot_of(v->svc->id), *e = *pp;
	if (!e) {
		if (!(e = calloc(1, sizeof(*e)))) {
			fprintf(stderr, "sluiced: service %s/%s: spec.healthCheckNodePort: out of "
					"memory\n", s->namespace, s->name);
			hc.bind_failed++;
			return;
		}
		e->id = v->svc->id;
		*pp = e;
		hc.n++;
	} else if (e->port != s->health_check_node_port) {
		close_srv(e);
	}
	snprintf(e->ns, sizeof(e->ns), "%s", s->namespace);
	snprintf(e->name, sizeof(e->name), "%s", s->name);
	e->port = s->health_check_node_port;
	e->local = sl_healthcheck_local_endpoints(v);
	if (!e->srv && !e->failing && hc.loop)
		open_srv(e);
}

void sl_healthcheck_start(struct sl_loop *l)
{
	hc.loop = l;
	sl_loop_timer_init(&hc.retry, on_retry, NULL);
	on_retry(&hc.retry, NULL);
}

void sl_healthcheck_stop(void)
{
	if (!hc.loop)
		return;
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct hc_svc *e = hc.bucket[b]; e; e = e->next)
			close_srv(e);
	sl_loop_timer_cancel(hc.loop, &hc.retry);
	hc.loop = NULL;
}

void sl_healthcheck_get_stats(struct sl_healthcheck_stats *ret_stats)
{
	*ret_stats = (struct sl_healthcheck_stats){ .services = hc.n, .bind_failed = hc.bind_failed,
						    .requests = hc.requests };
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct hc_svc *e = hc.bucket[b]; e; e = e->next)
			ret_stats->listening += e->srv != NULL;
}
