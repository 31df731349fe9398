/* The v1 Pod decoder, as NetworkPolicy needs a pod (see sl_k8s_policy.h): labels, node,
 * host network, container ports and the pod's IPv4 address. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s_field.h"
#include "sl_k8s_policy.h"
#include "sl_k8s_policy_int.h"

static int parse_container_ports(const cJSON *sp, const char *base, struct sl_kpod_spec *s,
				 char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX], t[SL_K8S_PATH_MAX];
	const cJSON *cs, *c, *ps, *e;
	unsigned nc, np, ci = 0;
	if (sl_k8s_get_array(sp, base, "containers", 64, &cs, &nc, err, n))
		return -EINVAL;
	sl_k8s_sub(p, base, "containers");
	cJSON_ArrayForEach(c, cs)
	{
		sl_k8s_idx(q, p, ci++);
		if (sl_k8s_want_obj(c, q, err, n) ||
		    sl_k8s_get_array(c, q, "ports", SL_POD_MAX_PORTS, &ps, &np, err, n))
			return -EINVAL;
		if (!np)
			continue;
		if (s->n_ports + np > SL_POD_MAX_PORTS)
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "ports"), "more than %d ports in the pod",
				    SL_POD_MAX_PORTS);
		struct sl_pod_port *v = realloc(s->ports, (s->n_ports + np) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->ports = v;
		unsigned pi = 0;
		sl_k8s_sub(r, q, "ports");
		cJSON_ArrayForEach(e, ps)
		{
			struct sl_pod_port *pt = &s->ports[s->n_ports];
			long port = 0;
			sl_k8s_idx(t, r, pi++);
			memset(pt, 0, sizeof(*pt));
			if (sl_k8s_want_obj(e, t, err, n) ||
			    sl_k8s_get_str(e, t, "name", false, pt->name, sizeof(pt->name), err, n) ||
			    sl_k8s_parse_protocol(e, t, &pt->proto, err, n))
				return -EINVAL;
			if (pt->name[0] && !sl_k8s_iana_svc_name(pt->name)) {
				char u[SL_K8S_PATH_MAX];
				return sl_k8s_fail(err, n, sl_k8s_sub(u, t, "name"), "'%s' is not an IANA_SVC_NAME "
					    "(1-15 lower case alphanumerics and '-')", pt->name);
			}
			const cJSON *cp = sl_k8s_get(e, "containerPort");
			char u[SL_K8S_PATH_MAX];
			if (!cp)
				return sl_k8s_fail(err, n, sl_k8s_sub(u, t, "containerPort"), "missing");
			if (sl_k8s_int_of(cp, sl_k8s_sub(u, t, "containerPort"), 1, 65535, &port, err, n))
				return -EINVAL;
			pt->port = (uint16_t)port;
			s->n_ports++;
		}
	}
	return 0;
}

/* The first IPv4 address of status.podIPs[].ip, else status.podIP. */
static int parse_pod_status(const cJSON *st, const char *base, struct sl_kpod_spec *s,
			    char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX], phase[32];
	const cJSON *a, *e;
	unsigned c, i = 0;
	struct sl_ip ip;
	if (sl_k8s_want_obj(st, base, err, n) ||
	    sl_k8s_get_str(st, base, "phase", false, phase, sizeof(phase), err, n) ||
	    sl_k8s_get_array(st, base, "podIPs", 8, &a, &c, err, n))
		return -EINVAL;
	sl_k8s_sub(p, base, "podIPs");
	cJSON_ArrayForEach(e, a)
	{
		const cJSON *v;
		sl_k8s_idx(q, p, i++);
		if (sl_k8s_want_obj(e, q, err, n))
			return -EINVAL;
		if (!(v = sl_k8s_get(e, "ip")))
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "ip"), "missing");
		if (!cJSON_IsString(v) || sl_ip_parse(v->valuestring, true, &ip))
			return sl_k8s_fail(err, n, sl_k8s_sub(r, q, "ip"), "'%.48s' is not an IP address",
				    cJSON_IsString(v) ? v->valuestring : "");
		if (ip.af == AF_INET && !s->ip.af)
			s->ip = ip;
	}
	const cJSON *v = sl_k8s_get(st, "podIP");
	if (v) {
		if (!cJSON_IsString(v) || sl_ip_parse(v->valuestring, true, &ip))
			return sl_k8s_fail(err, n, sl_k8s_sub(r, base, "podIP"), "'%.48s' is not an IP address",
				    cJSON_IsString(v) ? v->valuestring : "");
		if (ip.af == AF_INET && !s->ip.af)
			s->ip = ip;
	}
	/* A finished pod's address may be reused by a new pod: never selectable. */
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
		s->ip = (struct sl_ip){ 0 };
	return 0;
}

int sl_k8s_parse_pod(const cJSON *o, const char *base, struct sl_kpod_spec **ret, char *err,
		     size_t n)
{
	char p[SL_K8S_PATH_MAX];
	*ret = NULL;
	if (sl_k8s_want_obj(o, base, err, n) || sl_k8s_check_kind(o, base, "Pod", "v1", err, n))
		return -EINVAL;
	struct sl_kpod_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return sl_k8s_nomem(-ENOMEM, base, err, n);
	int rc = sl_k8s_pol_meta(o, base, s->name, sizeof(s->name), s->namespace, &s->labels, err, n);
	const cJSON *sp = sl_k8s_get(o, "spec"), *st = sl_k8s_get(o, "status");
	if (!rc && sp) {
		sl_k8s_sub(p, base, "spec");
		rc = sl_k8s_want_obj(sp, p, err, n);
		rc = rc ?: sl_k8s_get_str(sp, p, "nodeName", false, s->node_name, sizeof(s->node_name),
				   err, n);
		rc = rc ?: sl_k8s_get_bool(sp, p, "hostNetwork", &s->host_network, err, n);
		rc = rc ?: parse_container_ports(sp, p, s, err, n);
	}
	if (!rc && st)
		rc = parse_pod_status(st, sl_k8s_sub(p, base, "status"), s, err, n);
	if (!rc && s->host_network)
		s->ip = (struct sl_ip){ 0 }; /* the node's address: never selected as a pod */
	if (rc) {
		sl_kpod_spec_free(s);
		return sl_k8s_nomem(rc, base, err, n);
	}
	*ret = s;
	return 0;
}
