/* The health-check NodePort of externalTrafficPolicy Local Services (control/lb/
 * sl_healthcheck.h) without EAL: kube-proxy's local ready endpoint count
 * (EndpointsMap.LocalReadyEndpoints: ready, on this node, distinct addresses over all
 * ports), its exact reply body, and the server itself over loopback on a real event loop
 * (core/sl_http.h on libmicrohttpd): 200/503, headers, body, the port moved, closed, and a
 * port that cannot be bound counted while the Service applies. The model's hooks are wired
 * as the Services reconciler wires them (lb/sl_lbctl.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "control/core/sl_http.h"
#include "control/core/sl_loop.h"
#include "control/lb/sl_healthcheck.h"
#include "control/model/sl_service.h"
#include "control/sources/sl_k8s.h"

static int hook_changed(void *ctx, const struct sl_svc_view *v, char *err, size_t errlen)
{
	sl_healthcheck_update(v);
	return 0;
}

static void hook_deleted(void *ctx, struct sl_model_svc *s)
{
	sl_healthcheck_remove(s);
}

static struct sl_model *new_model(void)
{
	struct sl_model_self self = { .node_name = "node1" };
	assert_int_equal(sl_ip_parse("198.18.0.1", false, &self.node_ip), 0);
	assert_int_equal(sl_cidr_parse("10.244.1.0/24", false, &self.pod_cidr), 0);
	assert_int_equal(sl_ip_parse("10.244.1.1", false, &self.gateway_ip), 0);
	struct sl_model *m = sl_model_create(&self, NULL);
	assert_non_null(m);
	struct sl_model_hooks h = { .svc_changed = hook_changed, .svc_deleted = hook_deleted };
	sl_model_set_hooks(m, &h);
	return m;
}

static void apply(struct sl_model *m, const char *text)
{
	char err[400] = "";
	struct sl_k8s_op *ops;
	unsigned n;
	int rc = sl_k8s_decode_text(text, strlen(text), &ops, &n, err, sizeof(err));
	if (!rc)
		rc = sl_model_k8s_apply(m, ops, n, err, sizeof(err));
	if (rc)
		fail_msg("apply: %d %s", rc, err);
	sl_k8s_ops_free(ops, n);
}

/* A LoadBalancer Service "lb" (ports http 80 and https 443, policy, health-check port)
 * and its slice with endpoints eps (a JSON array), as one List. */
static const char *objects(const char *policy, unsigned hc_port, const char *eps)
{
	static char o[8192];
	snprintf(o, sizeof(o),
		 "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":["
		 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"lb\","
		 "\"namespace\":\"shop\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":"
		 "\"10.96.0.50\",\"externalTrafficPolicy\":\"%s\",\"healthCheckNodePort\":%u,"
		 "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"nodePort\":30080},"
		 "{\"name\":\"https\",\"port\":443,\"targetPort\":8443,\"nodePort\":30443}]},"
		 "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.10\"}]}}},"
		 "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":"
		 "{\"name\":\"lb-1\",\"namespace\":\"shop\",\"labels\":"
		 "{\"kubernetes.io/service-name\":\"lb\"}},\"addressType\":\"IPv4\","
		 "\"endpoints\":%s,\"ports\":[{\"name\":\"http\",\"port\":8080},"
		 "{\"name\":\"https\",\"port\":8443}]}]}",
		 policy, hc_port, eps);
	return o;
}

/* Endpoint JSON: address, node, conditions. */
#define EP(ip, node, cond) "{\"addresses\":[\"" ip "\"],\"nodeName\":\"" node "\",\"conditions\":" cond "}"
#define READY "{\"ready\":true}"
#define NOT_READY "{\"ready\":false,\"serving\":false}"
#define TERMINATING "{\"ready\":false,\"serving\":true,\"terminating\":true}"

static unsigned count_of(struct sl_model *m)
{
	struct sl_svc_view *v;
	assert_int_equal(sl_svc_view_build(m, sl_model_svc_find(m, "shop", "lb"), &v), 0);
	unsigned n = sl_healthcheck_local_endpoints(v);
	sl_svc_view_free(v);
	return n;
}

/* kube-proxy counts this node's ready endpoints, each address once however many ports it
 * serves; not-ready, terminating and remote ones do not count. */
static void test_local_ready_count(void **state)
{
	struct sl_model *m = new_model();
	apply(m, objects("Local", 0, "[" EP("10.244.1.5", "node1", READY) "]"));
	assert_int_equal(count_of(m), 1); /* one address on two ports: 1, not 2 */
	apply(m, objects("Local", 0, "[" EP("10.244.1.5", "node1", READY) ","
				     EP("10.244.1.6", "node1", READY) ","
				     EP("10.244.1.7", "node1", NOT_READY) ","
				     EP("10.244.1.8", "node1", TERMINATING) ","
				     EP("10.244.2.5", "node2", READY) "]"));
	assert_int_equal(count_of(m), 2);
	/* Only terminating ones here: Local traffic still uses them, the health check fails
	 * (kube-proxy: "the health check signal should fail if there are only terminating
	 * endpoints on a node"). */
	apply(m, objects("Local", 0, "[" EP("10.244.1.8", "node1", TERMINATING) ","
				     EP("10.244.2.5", "node2", READY) "]"));
	assert_int_equal(count_of(m), 0);
	apply(m, objects("Local", 0, "[]"));
	assert_int_equal(count_of(m), 0);
	sl_model_destroy(m);
}

/* The body byte for byte as kube-proxy's ServeHTTP writes it (dedent + Trim "\n"). */
static void test_body(void **state)
{
	char b[512];
	static const char want[] = "{\n"
				   "\t\"service\": {\n"
				   "\t\t\"namespace\": \"shop\",\n"
				   "\t\t\"name\": \"lb\"\n"
				   "\t},\n"
				   "\t\"localEndpoints\": 2,\n"
				   "\t\"serviceProxyHealthy\": true\n"
				   "}";
	assert_int_equal(sl_healthcheck_body("shop", "lb", 2, b, sizeof(b)), strlen(want));
	assert_string_equal(b, want);
	cJSON *j = cJSON_Parse(b);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "service"), "name")->valuestring,
			    "lb");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "serviceProxyHealthy")));
	cJSON_Delete(j);
	assert_int_equal(sl_healthcheck_body("shop", "lb", 2, b, 20), -ENOSPC);
	assert_int_equal(sl_healthcheck_wanted(&(struct sl_svc_spec){
				 .type = SL_SVC_NODE_PORT, .external_local = true,
				 .health_check_node_port = 32000 }), false); /* LoadBalancer only */
}

/* A port nobody listens on (bound, then released). */
static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* GET path from 127.0.0.1:port while running loop l for at most rounds rounds; the whole
 * reply into out. Returns the status (0: none), or -errno of the connect. */
static int get_for(struct sl_loop *l, uint16_t port, const char *path, char *out, size_t cap,
		   int rounds)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	/* Loopback: the kernel completes (or refuses) the handshake at once. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	char req[8192];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 path);
	size_t got = 0;
	bool sent = false;
	for (int round = 0; round < rounds; round++) {
		if (!sent) {
			ssize_t w = send(fd, req, (size_t)n, MSG_NOSIGNAL);
			if (w < 0 && errno == ECONNREFUSED) {
				close(fd);
				return -ECONNREFUSED;
			}
			sent = w == n;
		}
		sl_loop_run_once(l, 10);
		ssize_t r = recv(fd, out + got, cap - 1 - got, 0);
		if (r == 0)
			break;
		if (r > 0)
			got += (size_t)r;
		else if (errno == ECONNREFUSED || errno == ECONNRESET) {
			close(fd);
			return -errno;
		}
	}
	close(fd);
	out[got] = '\0';
	int status = 0;
	sscanf(out, "HTTP/1.1 %d", &status);
	return status;
}

static int get(struct sl_loop *l, uint16_t port, const char *path, char *out, size_t cap)
{
	return get_for(l, port, path, out, cap, 1000);
}

static const char *body_of(const char *reply)
{
	const char *b = strstr(reply, "\r\n\r\n");
	return b ? b + 4 : "";
}

static void test_server(void **state)
{
	struct sl_loop *l = sl_loop_create();
	assert_non_null(l);
	struct sl_model *m = new_model();
	uint16_t p1 = free_port(), p2;
	char reply[4096], want[512];
	/* Recorded before start (the config's Services), served from start on. */
	apply(m, objects("Local", p1, "[" EP("10.244.2.5", "node2", READY) "]"));
	sl_healthcheck_start(l);
	assert_int_equal(get(l, p1, "/healthz", reply, sizeof(reply)), 503);
	assert_non_null(strstr(reply, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(reply, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(reply, "X-Load-Balancing-Endpoint-Weight: 0\r\n"));
	sl_healthcheck_body("shop", "lb", 0, want, sizeof(want));
	assert_string_equal(body_of(reply), want);

	/* A local ready endpoint: 200, any path. */
	apply(m, objects("Local", p1, "[" EP("10.244.1.5", "node1", READY) ","
				       EP("10.244.2.5", "node2", READY) "]"));
	assert_int_equal(get(l, p1, "/any/path?x=1", reply, sizeof(reply)), 200);
	assert_non_null(strstr(reply, "X-Load-Balancing-Endpoint-Weight: 1\r\n"));
	sl_healthcheck_body("shop", "lb", 1, want, sizeof(want));
	assert_string_equal(body_of(reply), want);

	/* The port moves: the old one closes, the new one answers. */
	do
		p2 = free_port();
	while (p2 == p1);
	apply(m, objects("Local", p2, "[" EP("10.244.1.5", "node1", READY) "]"));
	assert_int_equal(get(l, p1, "/", reply, sizeof(reply)), -ECONNREFUSED);
	assert_int_equal(get(l, p2, "/", reply, sizeof(reply)), 200);

	/* Cluster policy: no health check. */
	apply(m, objects("Cluster", 0, "[" EP("10.244.1.5", "node1", READY) "]"));
	assert_int_equal(get(l, p2, "/", reply, sizeof(reply)), -ECONNREFUSED);

	/* A port taken by someone else: logged and counted, the Service applies, no server. */
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(busy, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p1) };
	assert_int_equal(bind(busy, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(busy, 1), 0);
	struct sl_healthcheck_stats st;
	sl_healthcheck_get_stats(&st);
	uint64_t failed = st.bind_failed;
	apply(m, objects("Local", p1, "[" EP("10.244.1.5", "node1", READY) "]"));
	sl_healthcheck_get_stats(&st);
	assert_int_equal(st.bind_failed, failed + 1);
	assert_int_equal(st.services, 1);
	assert_int_equal(st.listening, 0);
	assert_non_null(sl_model_svc_find(m, "shop", "lb"));
	close(busy);

	/* Deleted: closed. */
	apply(m, objects("Local", p2, "[" EP("10.244.1.5", "node1", READY) "]"));
	assert_int_equal(get(l, p2, "/", reply, sizeof(reply)), 200);
	char err[200];
	assert_int_equal(sl_model_svc_del(m, "shop", "lb", err, sizeof(err)), 0);
	assert_int_equal(get(l, p2, "/", reply, sizeof(reply)), -ECONNREFUSED);
	sl_healthcheck_get_stats(&st);
	assert_int_equal(st.services, 0);
	assert_true(st.requests >= 4);

	sl_healthcheck_stop();
	sl_model_destroy(m);
	sl_loop_destroy(l);
}

/* The server's limits: connections beyond max_conns are closed unanswered; a request
 * whose headers overflow the connection's memory gets an error, not a crash. */
static void on_plain(void *arg, const char *method, const char *path, struct sl_http_reply *r)
{
	r->body = "ok";
	r->len = 2;
}

static void test_http_limits(void **state)
{
	struct sl_loop *l = sl_loop_create();
	struct sl_http *h;
	char err[200], reply[8192];
	struct sl_http_conf c = { .addr.s_addr = htonl(INADDR_LOOPBACK), .max_conns = 2,
				  .conn_memory = 4096, .handler = on_plain };
	assert_int_equal(sl_http_start(l, &c, &h, err, sizeof(err)), 0);
	uint16_t port = sl_http_port(h);
	assert_int_not_equal(port, 0);
	assert_int_equal(get(l, port, "/", reply, sizeof(reply)), 200);
	assert_string_equal(body_of(reply), "ok");
	char long_path[6000];
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	int st = get(l, port, long_path, reply, sizeof(reply));
	assert_int_equal(st, 414); /* URI Too Long from MHD: never served */
	/* Two idle connections hold the limit; a third gets nothing. */
	int idle[2];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	for (int i = 0; i < 2; i++) {
		idle[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(idle[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	for (int i = 0; i < 10; i++)
		sl_loop_run_once(l, 5);
	assert_int_not_equal(get_for(l, port, "/", reply, sizeof(reply), 30), 200);
	close(idle[0]);
	close(idle[1]);
	for (int i = 0; i < 10; i++)
		sl_loop_run_once(l, 5);
	/* Freed slots serve again (MHD puts its listening socket back). */
	assert_int_equal(get(l, port, "/", reply, sizeof(reply)), 200);
	/* Port taken: the error names the address and says why. */
	struct sl_http *h2;
	c.port = port;
	assert_int_equal(sl_http_start(l, &c, &h2, err, sizeof(err)), -EADDRINUSE);
	char want[64];
	snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: ", port);
	assert_non_null(strstr(err, want));
	sl_http_stop(h);
	sl_loop_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_ready_count),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_http_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
