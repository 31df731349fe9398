/* hostPort natively (control/lb/sl_hostport.c) on the real model and Service table: a pod's
 * host ports become frontends on the node address with the pod as their one backend, go with
 * the pod, never replace a Service's frontend (nor does a Service replace theirs), and are
 * kept in the state file. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane/lb/lb_table.h"
#include "harness.h"
#include "th_model.h"
#include "lb/sl_hostport.h"
#include "lb/sl_lbctl.h"
#include "model/sl_service.h"
#include "pktbuild.h"
#include "sl_config.h"
#include "sl_k8s.h"
#include "sl_persist.h"

static struct sl_model *model;

static int setup(void **st)
{
	if (th_setup(st) < 0)
		return -1;
	model = th_model_create(NULL);
	if (!model)
		return -1;
	struct sl_model_hooks h = { 0 };
	sl_lbctl_hooks(&h, &(struct sl_lbctl_conf){ .ct_size = 1024, .node_ip = sl_model_self(model)->node_ip.v4,
						    .node_port_lo = 30000, .node_port_hi = 32767 });
	sl_hostport_hooks(&h, sl_model_self(model)->node_ip.v4);
	sl_model_set_hooks(model, &h);
	return 0;
}

/* Pod name at 10.244.1.<last> with one TCP host port hport -> cport. */
static int add_pod(const char *name, unsigned last, unsigned hport, unsigned cport, char *err,
		   size_t n)
{
	char text[512];
	snprintf(text, sizeof(text), "{\"name\": \"%s\", \"ip\": \"10.244.1.%u\", \"mac\": "
		 "\"02:00:00:00:00:%02x\", \"ifname\": \"v%s\", \"host_ports\": [{\"host_port\": %u, "
		 "\"container_port\": %u, \"protocol\": \"tcp\"}]}", name, last, last, name, hport,
		 cport);
	cJSON *o = cJSON_Parse(text);
	struct sl_pod_spec s;
	int rc = sl_pod_parse(o, "pod", &s, err, n);
	cJSON_Delete(o);
	return rc ? rc : sl_model_pod_add(model, &s, err, n);
}

/* The NodePort Service np (port 80, nodePort node_port) with one endpoint 10.244.1.9. */
static int apply_np(unsigned node_port, char *err, size_t n)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		 "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"np\", "
		 "\"namespace\": \"default\"}, \"spec\": {\"type\": \"NodePort\", "
		 "\"clusterIP\": \"10.96.0.50\", \"ports\": [{\"port\": 80, \"protocol\": \"TCP\", "
		 "\"targetPort\": 8080, \"nodePort\": %u}]}}, "
		 "{\"apiVersion\": \"discovery.k8s.io/v1\", \"kind\": \"EndpointSlice\", "
		 "\"metadata\": {\"name\": \"np-1\", \"namespace\": \"default\", \"labels\": "
		 "{\"kubernetes.io/service-name\": \"np\"}}, \"addressType\": \"IPv4\", "
		 "\"endpoints\": [{\"addresses\": [\"10.244.1.9\"], \"conditions\": {\"ready\": true}, "
		 "\"nodeName\": \"node1\"}], \"ports\": [{\"port\": 8080, \"protocol\": \"TCP\"}]}]}",
		 node_port);
	struct sl_k8s_op *ops;
	unsigned nops;
	int rc = sl_k8s_decode_text(text, strlen(text), &ops, &nops, err, n);
	if (rc == 0) {
		rc = sl_model_k8s_apply(model, ops, nops, err, n);
		sl_k8s_ops_free(ops, nops);
	}
	return rc;
}

static const struct sl_lb_service *node_fe(unsigned port)
{
	struct sl_lb_frontend f = { pb_addr("198.18.0.1"), htons((uint16_t)port), IPPROTO_TCP, 0 };
	return sl_lb_service_find(&f);
}

static void test_hostport_frontend(void **st)
{
	char err[320] = "";
	assert_int_equal(add_pod("a", 5, 18080, 8080, err, sizeof(err)), 0);
	const struct sl_lb_service *s = node_fe(18080);
	assert_non_null(s);
	assert_int_equal(s->n_backends, 1);
	assert_int_equal(s->backends[0].ip, pb_addr("10.244.1.5"));
	assert_int_equal(s->backends[0].port, htons(8080));
	assert_int_equal(s->m > 0, 1);

	/* A Service's node port is not taken over by a host port... */
	assert_int_equal(apply_np(30080, err, sizeof(err)), 0);
	assert_non_null(node_fe(30080));
	assert_int_equal(add_pod("b", 6, 30080, 80, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "host_ports[0].host_port: 198.18.0.1:30080/tcp is already a "
				    "Service's frontend"));
	assert_null(sl_model_pod_find(model, "default", "b"));
	assert_int_equal(node_fe(30080)->backends[0].ip, pb_addr("10.244.1.9"));
	/* ...nor a host port by a Service's node port. */
	assert_int_equal(add_pod("c", 7, 30081, 80, err, sizeof(err)), 0);
	err[0] = '\0';
	assert_int_equal(apply_np(30081, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "198.18.0.1:30081 is a pod's hostPort on this node"));
	assert_int_equal(node_fe(30081)->backends[0].ip, pb_addr("10.244.1.7"));
	assert_non_null(node_fe(30080)); /* the batch was undone: the Service as it was */

	/* The state file keeps them. */
	cJSON *doc = sl_persist_export(model);
	char *text = cJSON_PrintUnformatted(doc);
	assert_non_null(strstr(text, "\"host_ports\":[{\"host_port\":18080,\"container_port\":8080,"
				     "\"protocol\":\"tcp\"}]"));
	free(text);
	cJSON_Delete(doc);
	/* ...and a restart restores them from it. */
	char state[] = "/tmp/sl-test-hostport.XXXXXX";
	int fd = mkstemp(state);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sl_persist_save(state, model), 0);
	assert_int_equal(sl_model_pod_del(model, "default", "a", err, sizeof(err)), 0);
	assert_null(node_fe(18080));
	assert_true(sl_persist_load(state, model, err, sizeof(err)) >= 1);
	unlink(state);
	assert_non_null(sl_model_pod_find(model, "default", "a"));
	s = node_fe(18080);
	assert_non_null(s);
	assert_int_equal(s->backends[0].ip, pb_addr("10.244.1.5"));

	/* Gone with the pod. */
	assert_int_equal(sl_model_pod_del(model, "default", "a", err, sizeof(err)), 0);
	assert_null(node_fe(18080));
	assert_int_equal(sl_model_pod_del(model, "default", "c", err, sizeof(err)), 0);
	assert_null(node_fe(30081));
	assert_int_equal(apply_np(30081, err, sizeof(err)), 0); /* now free */
	assert_non_null(node_fe(30081));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostport_frontend),
	};
	return cmocka_run_group_tests_name("hostport", tests, setup, NULL);
}
