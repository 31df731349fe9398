/* core/sl_metrics: the Prometheus text format 0.0.4 (escaping, values, names), the collector
 * and health registries, and the /metrics + /healthz server on a real loop over loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sl_loop.h"
#include "core/sl_metrics.h"

static void test_format(void **state)
{
	struct sl_metrics_buf b = { 0 };
	sl_metrics_family(&b, "sl_test_total", SL_METRICS_COUNTER, "Help with \\ and\nnewline \"q\".");
	sl_metrics_sample(&b, "sl_test_total", NULL, 0);
	sl_metrics_sample(&b, "sl_test_total", (const char *[]){ "a", "x", NULL }, 42);
	sl_metrics_sample(&b, "sl_test_total",
			  (const char *[]){ "a", "back\\slash \"quoted\"\nline", "b", "", NULL }, -3);
	sl_metrics_family(&b, "sl_gauge", SL_METRICS_GAUGE, "");
	sl_metrics_sample(&b, "sl_gauge", NULL, 1.5);
	sl_metrics_sample(&b, "sl_gauge", NULL, NAN);
	sl_metrics_sample(&b, "sl_gauge", NULL, INFINITY);
	sl_metrics_sample(&b, "sl_gauge", NULL, -INFINITY);
	sl_metrics_sample(&b, "sl_gauge", NULL, 9007199254740991.0); /* 2^53 - 1: exact */
	sl_metrics_sample(&b, "sl_gauge", NULL, 1e300);
	sl_metrics_sample_u64(&b, "sl_gauge", (const char *[]){ "k", "max", NULL }, UINT64_MAX);
	sl_metrics_family(&b, "ns:sub_x", SL_METRICS_UNTYPED, "colons are allowed in names");
	assert_false(b.failed);
	assert_string_equal(b.text,
			    "# HELP sl_test_total Help with \\\\ and\\nnewline \"q\".\n"
			    "# TYPE sl_test_total counter\n"
			    "sl_test_total 0\n"
			    "sl_test_total{a=\"x\"} 42\n"
			    "sl_test_total{a=\"back\\\\slash \\\"quoted\\\"\\nline\",b=\"\"} -3\n"
			    "# HELP sl_gauge \n"
			    "# TYPE sl_gauge gauge\n"
			    "sl_gauge 1.5\n"
			    "sl_gauge NaN\n"
			    "sl_gauge +Inf\n"
			    "sl_gauge -Inf\n"
			    "sl_gauge 9007199254740991\n"
			    "sl_gauge 1.0000000000000001e+300\n"
			    "sl_gauge{k=\"max\"} 18446744073709551615\n"
			    "# HELP ns:sub_x colons are allowed in names\n"
			    "# TYPE ns:sub_x untyped\n");
	assert_int_equal(b.len, strlen(b.text));
	sl_metrics_buf_free(&b);
}

/* Names the format does not allow are the caller's bug: the buffer fails, nothing is sent. */
static void test_bad_names(void **state)
{
	static const char *const bad[] = { "", "1abc", "a-b", "a b", "é", NULL };
	for (const char *const *n = bad; *n; n++) {
		struct sl_metrics_buf b = { 0 };
		sl_metrics_family(&b, *n, SL_METRICS_GAUGE, "x");
		assert_true(b.failed);
		sl_metrics_buf_free(&b);
		b = (struct sl_metrics_buf){ 0 };
		sl_metrics_sample(&b, "ok", (const char *[]){ *n, "v", NULL }, 1);
		assert_true(b.failed);
		sl_metrics_buf_free(&b);
	}
	assert_false(sl_metrics_label_ok("__name__")); /* reserved */
	assert_false(sl_metrics_label_ok("a:b"));      /* colons: metric names only */
	assert_true(sl_metrics_name_ok("a:b"));
	assert_true(sl_metrics_label_ok("_x9"));
	struct sl_metrics_buf b = { 0 };
	sl_metrics_sample(&b, "ok", (const char *[]){ "l", NULL }, 1); /* a label without value */
	assert_true(b.failed);
	sl_metrics_buf_free(&b);
}

/* Past SL_METRICS_MAX_BYTES the buffer stops and says so (the server answers 500). */
static void test_size_limit(void **state)
{
	struct sl_metrics_buf b = { 0 };
	sl_metrics_append(&b, "abc", 3);
	sl_metrics_append(&b, "x", SL_METRICS_MAX_BYTES); /* fails before reading past "x" */
	assert_true(b.failed);
	assert_int_equal(b.len, 3);
	sl_metrics_append(&b, "d", 1);
	assert_int_equal(b.len, 3);
	sl_metrics_buf_free(&b);
}

static void coll_a(void *arg, struct sl_metrics_buf *b)
{
	sl_metrics_family(b, "a_total", SL_METRICS_COUNTER, "A.");
	sl_metrics_sample(b, "a_total", NULL, *(int *)arg);
}

static void coll_b(void *arg, struct sl_metrics_buf *b)
{
	sl_metrics_family(b, "b", SL_METRICS_GAUGE, "B.");
	sl_metrics_sample(b, "b", NULL, 7);
}

static const char *health_bad(void *arg)
{
	return arg;
}

static void test_registry(void **state)
{
	static int one = 1, two = 2;
	sl_metrics_reset();
	assert_int_equal(sl_metrics_register(coll_a, &one), 0);
	assert_int_equal(sl_metrics_register(coll_b, NULL), 0);
	assert_int_equal(sl_metrics_register(coll_a, &one), -EEXIST);
	assert_int_equal(sl_metrics_register(coll_a, &two), 0); /* same fn, other arg */
	struct sl_metrics_buf b;
	sl_metrics_collect(&b);
	assert_string_equal(b.text, "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
				    "# HELP b B.\n# TYPE b gauge\nb 7\n"
				    "# HELP a_total A.\n# TYPE a_total counter\na_total 2\n");
	sl_metrics_buf_free(&b);
	sl_metrics_unregister(coll_a, &two);
	sl_metrics_unregister(coll_a, &one);
	sl_metrics_collect(&b);
	assert_string_equal(b.text, "# HELP b B.\n# TYPE b gauge\nb 7\n");
	sl_metrics_buf_free(&b);
	sl_metrics_reset();
	static int many[SL_METRICS_MAX_COLLECTORS + 1];
	for (unsigned i = 0; i < SL_METRICS_MAX_COLLECTORS; i++)
		assert_int_equal(sl_metrics_register(coll_a, &many[i]), 0);
	assert_int_equal(sl_metrics_register(coll_a, &many[SL_METRICS_MAX_COLLECTORS]), -ENOSPC);

	assert_null(sl_metrics_health());
	assert_int_equal(sl_metrics_health_register(health_bad, NULL), 0); /* healthy */
	assert_null(sl_metrics_health());
	assert_int_equal(sl_metrics_health_register(health_bad, "sync: no API server"), 0);
	assert_string_equal(sl_metrics_health(), "sync: no API server");
	sl_metrics_health_unregister(health_bad, "sync: no API server");
	assert_null(sl_metrics_health());
	sl_metrics_reset();
}

/* One HTTP/1.1 request to 127.0.0.1:port, running loop l until the server closes; the whole
 * reply into out. Returns the status, 0 when none came. */
static int request(struct sl_loop *l, uint16_t port, const char *method, const char *path,
		   char *out, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return 0;
	}
	char req[256];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 method, path);
	size_t got = 0;
	bool sent = false;
	for (int round = 0; round < 1000; round++) {
		if (!sent)
			sent = send(fd, req, (size_t)n, MSG_NOSIGNAL) == n;
		sl_loop_run_once(l, 10);
		ssize_t r = recv(fd, out + got, cap - 1 - got, 0);
		if (r == 0)
			break;
		if (r > 0)
			got += (size_t)r;
	}
	close(fd);
	out[got] = '\0';
	int status = 0;
	sscanf(out, "HTTP/1.1 %d", &status);
	return status;
}

static const char *body_of(const char *reply)
{
	const char *b = strstr(reply, "\r\n\r\n");
	return b ? b + 4 : "";
}

static void test_server(void **state)
{
	static int one = 1;
	static char out[65536];
	char err[256] = "";
	struct sl_loop *l = sl_loop_create();
	assert_non_null(l);
	sl_metrics_reset();
	sl_metrics_register(coll_a, &one);
	assert_int_equal(sl_metrics_start(l, htonl(INADDR_LOOPBACK), 0, err, sizeof(err)), 0);
	uint16_t port = sl_metrics_port();
	assert_true(port > 0);

	assert_int_equal(request(l, port, "GET", "/metrics", out, sizeof(out)), 200);
	assert_non_null(strstr(out, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_string_equal(body_of(out), "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n");
	assert_int_equal(request(l, port, "GET", "/metrics?x=1", out, sizeof(out)), 200);

	assert_int_equal(request(l, port, "GET", "/healthz", out, sizeof(out)), 200);
	assert_string_equal(body_of(out), "ok");
	sl_metrics_health_register(health_bad, "worker 0 has not polled for 12 s");
	assert_int_equal(request(l, port, "GET", "/healthz", out, sizeof(out)), 503);
	assert_string_equal(body_of(out), "unhealthy: worker 0 has not polled for 12 s\n");

	assert_int_equal(request(l, port, "GET", "/", out, sizeof(out)), 404);
	assert_int_equal(request(l, port, "GET", "/metricsx", out, sizeof(out)), 404);
	assert_int_equal(request(l, port, "POST", "/metrics", out, sizeof(out)), 405);
	assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
	assert_int_equal(request(l, port, "HEAD", "/metrics", out, sizeof(out)), 200);

	/* A second server on the same port cannot start; the error names the field. */
	assert_int_equal(sl_metrics_start(l, htonl(INADDR_LOOPBACK), port, err, sizeof(err)),
			 -EALREADY);
	sl_metrics_stop();
	int fd = socket(AF_INET, SOCK_STREAM, 0), one_ = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_)); /* TIME_WAIT */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0); /* port released */
	assert_int_equal(listen(fd, 1), 0);
	assert_true(sl_metrics_start(l, htonl(INADDR_LOOPBACK), port, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "metrics.listen: cannot listen on 127.0.0.1:"));
	close(fd);
	sl_metrics_reset();
	sl_loop_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_server),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
