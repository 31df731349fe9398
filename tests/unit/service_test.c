/* Helpers of the Service unit tests without EAL (see service_test.h). */
#include <stdio.h>
#include <string.h>

#include "control/sources/sl_k8s.h"
#include "service_test.h"

char *J(const char *s)
{
	static char buf[8][16384];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, sizeof(buf[0]), "%s", s);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	return b;
}

struct sl_model *new_model(const struct sl_model_limits *l)
{
	struct sl_model_self self = { .node_name = "node1" };
	assert_int_equal(sl_ip_parse("198.18.0.1", false, &self.node_ip), 0);
	assert_int_equal(sl_cidr_parse("10.244.1.0/24", false, &self.pod_cidr), 0);
	assert_int_equal(sl_ip_parse("10.244.1.1", false, &self.gateway_ip), 0);
	struct sl_model *m = sl_model_create(&self, l);
	assert_non_null(m);
	return m;
}

/* Decode text and apply it; returns the apply's (or decode's) result, err filled. */
int apply(struct sl_model *m, const char *text, char *err, size_t n)
{
	struct sl_k8s_op *ops;
	unsigned cnt;
	int rc = sl_k8s_decode_text(text, strlen(text), &ops, &cnt, err, n);
	if (rc)
		return rc;
	rc = sl_model_k8s_apply(m, ops, cnt, err, n);
	sl_k8s_ops_free(ops, cnt);
	return rc;
}

/* A Service: name, type, cluster IP, ports (JSON array text), extra spec fields. */
const char *svc(const char *name, const char *type, const char *cip, const char *ports,
		const char *extra)
{
	static char b[8][4096];
	static int k;
	char *o = b[k++ % 8];
	snprintf(o, sizeof(b[0]),
		 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'%s','namespace':'default',"
		 "'uid':'x','labels':{'app':'a'}},'spec':{'type':'%s','clusterIP':'%s',"
		 "'clusterIPs':['%s'],'ports':%s%s%s,'selector':{'app':'a'}},"
		 "'status':{'loadBalancer':{}}}",
		 name, type, cip, cip, ports, extra[0] ? "," : "", extra);
	return J(o);
}

/* An EndpointSlice of Service svc_name: name, endpoints and ports (JSON array texts). */
const char *slice(const char *name, const char *svc_name, const char *eps,
		  const char *ports)
{
	static char b[8][8192];
	static int k;
	char *o = b[k++ % 8];
	snprintf(o, sizeof(b[0]),
		 "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'%s',"
		 "'namespace':'default','labels':{'kubernetes.io/service-name':'%s',"
		 "'endpointslice.kubernetes.io/managed-by':'endpointslice-controller.k8s.io'}},"
		 "'addressType':'IPv4','endpoints':%s,'ports':%s}",
		 name, svc_name, eps, ports);
	return J(o);
}

const char *list(const char *a, const char *b, const char *c)
{
	static char o[32768];
	snprintf(o, sizeof(o), "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":"
		 "{\"resourceVersion\":\"\"},\"items\":[%s%s%s%s%s]}", a, b ? "," : "", b ? b : "",
		 c ? "," : "", c ? c : "");
	return o;
}

/* The backends of port p of Service name with flag f set, as "ip:port ip:port". */
const char *selected(struct sl_model *m, const char *name, unsigned p, unsigned f)
{
	static char out[1024];
	struct sl_svc_view *v;
	out[0] = 0;
	struct sl_model_svc *s = sl_model_svc_find(m, "default", name);
	assert_non_null(s);
	assert_int_equal(sl_svc_view_build(m, s, &v), 0);
	assert_true(p < v->n_ports);
	for (unsigned i = 0; i < v->ports[p].n_be; i++) {
		const struct sl_svc_backend *b = &v->ports[p].be[i];
		char ip[SL_IP_STR_MAX];
		if (!(b->flags & f))
			continue;
		size_t l = strlen(out);
		snprintf(out + l, sizeof(out) - l, "%s%s:%u", l ? " " : "", sl_ip_fmt(b->ip, ip),
			 b->port);
	}
	sl_svc_view_free(v);
	return out;
}
