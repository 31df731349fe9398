/* sluice-cni: sluiced's responses, an unreachable sluiced, and the requests on the wire
 * (a one-connection fake sluiced on a Unix socket). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cni_test.h"

/* sluiced responses. */

static void test_api_response(void **s)
{
	cJSON *r;
	struct sl_cni_err err = { 0 };
	const char *ok = "{\"ok\":true,\"result\":{\"pods\":3}}\n";
	assert_int_equal(sl_cni_api_response_parse(ok, strlen(ok), &r, &err), 0);
	assert_string_equal(str(r, "pods"), "3");
	cJSON_Delete(r);
	ok = "{\"ok\":true}";
	assert_int_equal(sl_cni_api_response_parse(ok, strlen(ok), &r, &err), 0);
	assert_true(cJSON_IsTrue(r));
	cJSON_Delete(r);
	const char *no = "{\"ok\":false,\"error\":\"pod.ip: 10.9.9.9 is not a pod address\"}";
	assert_int_equal(sl_cni_api_response_parse(no, strlen(no), &r, &err), -EREMOTEIO);
	assert_int_equal(err.code, 100);
	assert_string_equal(err.msg, "sluiced: pod.ip: 10.9.9.9 is not a pod address");
	assert_null(r);
	assert_int_equal(sl_cni_api_response_parse("{\"x\":1}", 7, &r, &err), -EBADMSG);
	assert_int_equal(err.code, 5);
	assert_int_equal(sl_cni_api_response_parse("", 0, &r, &err), -EBADMSG);
}

static void test_api_unreachable(void **s)
{
	struct sl_cni_node nd;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_api_version("/nonexistent/sluiced.sock", &nd, &err),
			 -ECONNREFUSED);
	assert_int_equal(err.code, 11);
	assert_non_null(strstr(err.msg, "sluiced not reachable at /nonexistent/sluiced.sock"));
}

/* A one-connection fake sluiced: records the request, answers a canned response. */
struct fake {
	int listen_fd;
	const char *response;
	char request[4096];
};

static void *fake_serve(void *p)
{
	struct fake *f = p;
	int fd = accept(f->listen_fd, NULL, NULL);
	size_t len = 0;
	ssize_t r;
	while (fd >= 0 && len < sizeof(f->request) - 1 &&
	       (r = read(fd, f->request + len, sizeof(f->request) - 1 - len)) > 0)
		len += (size_t)r; /* until the client's shutdown(SHUT_WR) */
	f->request[len] = 0;
	if (fd >= 0) {
		(void)!write(fd, f->response, strlen(f->response));
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f, pthread_t *t, const char *path, const char *response)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 1), 0);
	f->response = response;
	assert_int_equal(pthread_create(t, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f, pthread_t t, const char *path)
{
	pthread_join(t, NULL);
	close(f->listen_fd);
	unlink(path);
}

static void test_api_wire(void **s)
{
	char path[64];
	struct fake f;
	pthread_t t;
	struct sl_cni_err err = { 0 };
	snprintf(path, sizeof(path), "/tmp/sl-cni-test-%d.sock", (int)getpid());

	/* pod.add: one JSON object and a newline, the fields sluiced expects. */
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":true}\n");
	struct sl_cni_pod pod = { .name = "abc:eth0", .namespace = "web", .ip = 0x6401f40a,
				  .mac = { 0xaa, 0xbb, 0xcc, 0, 1, 2 }, .ifname = "sl0123456789ab" };
	assert_int_equal(sl_cni_api_pod_add(path, &pod, &err), 0);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"abc:eth0\","
			    "\"namespace\":\"web\",\"ip\":\"10.244.1.100\",\"mac\":"
			    "\"aa:bb:cc:00:01:02\",\"ifname\":\"sl0123456789ab\"}}\n");

	/* pod.add of a vhost-user pod: interface, socket and vhost_mode instead of ifname. */
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":true}\n");
	struct sl_cni_pod vp = { .name = "abc:net1", .namespace = "web", .ip = 0x6401f40a,
				 .mac = { 2, 0, 0, 0, 0x10, 1 }, .vhost = true,
				 .socket = "/run/sluice/vhost/0123456789ab/net1.sock" };
	assert_int_equal(sl_cni_api_pod_add(path, &vp, &err), 0);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"abc:net1\","
			    "\"namespace\":\"web\",\"ip\":\"10.244.1.100\",\"mac\":"
			    "\"02:00:00:00:10:01\",\"interface\":\"vhost-user\",\"socket\":"
			    "\"/run/sluice/vhost/0123456789ab/net1.sock\",\"vhost_mode\":\"client\"}}\n");
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":true}\n");
	vp.vhost_server = true;
	assert_int_equal(sl_cni_api_pod_add(path, &vp, &err), 0);
	fake_stop(&f, t, path);
	assert_non_null(strstr(f.request, "\"vhost_mode\":\"server\"}}"));

	/* pod.del of a pod sluiced does not have: -ENOENT (DEL treats it as done). */
	fake_start(&f, &t, path, "{\"ok\":false,\"error\":\"pod web/abc:eth0 not found\"}\n");
	assert_int_equal(sl_cni_api_pod_del(path, "web", "abc:eth0", &err), -ENOENT);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"pod.del\",\"namespace\":\"web\",\"name\":"
			    "\"abc:eth0\"}\n");

	/* Any other refusal is an error with sluiced's reason. */
	fake_start(&f, &t, path, "{\"ok\":false,\"error\":\"pod limit reached (1000)\"}\n");
	assert_int_equal(sl_cni_api_pod_del(path, "web", "abc:eth0", &err), -EREMOTEIO);
	fake_stop(&f, t, path);
	assert_int_equal(err.code, 100);
	assert_string_equal(err.msg, "sluiced: pod limit reached (1000)");

	/* version: the node's facts. */
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":{\"version\":\"0.1.0\",\"node\":"
		   "\"n1\",\"pod_cidr\":\"10.244.1.0/24\",\"gateway\":\"10.244.1.1\","
		   "\"pod_mtu\":1450,\"pods\":0}}\n");
	struct sl_cni_node nd;
	assert_int_equal(sl_cni_api_version(path, &nd, &err), 0);
	fake_stop(&f, t, path);
	assert_string_equal(f.request, "{\"cmd\":\"version\"}\n");
	assert_int_equal(nd.gateway, node.gateway);

	/* show pods must be an array. */
	cJSON *pods = NULL;
	fake_start(&f, &t, path, "{\"ok\":true,\"result\":{}}\n");
	assert_int_equal(sl_cni_api_pods(path, &pods, &err), -EBADMSG);
	fake_stop(&f, t, path);
	assert_null(pods);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_response),
		cmocka_unit_test(test_api_unreachable),
		cmocka_unit_test(test_api_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
