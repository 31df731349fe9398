/* Services and EndpointSlices encoded back to JSON the decoder reads to the same spec, for
 * the persisted state (see sl_k8s.h). */
#include <arpa/inet.h>

#include "sl_k8s.h"
#include "sl_k8s_at.h"

static void add_ip(cJSON *a, struct sl_ip ip)
{
	char b[SL_IP_STR_MAX];
	cJSON_AddItemToArray(a, cJSON_CreateString(sl_ip_fmt(ip, b)));
}

static cJSON *meta(const char *ns, const char *name, const char *label, const char *value)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", ns);
	if (label)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "labels"), label, value);
	return m;
}

cJSON *sl_k8s_encode_service(const struct sl_svc_spec *s)
{
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer",
					     "ExternalName" };
	char b[SL_CIDR_STR_MAX];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Service");
	cJSON_AddItemToObject(o, "metadata", meta(s->namespace, s->name,
						  s->other_proxy ? SL_K8S_LABEL_PROXY_NAME : NULL, "other"));
	cJSON *sp = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(sp, "type", types[s->type]);
	if (s->headless) {
		cJSON_AddStringToObject(sp, "clusterIP", "None");
	} else if (s->n_cluster_ips) {
		cJSON *a = cJSON_AddArrayToObject(sp, "clusterIPs");
		for (unsigned i = 0; i < s->n_cluster_ips; i++)
			add_ip(a, s->cluster_ips[i]);
	}
	cJSON *ports = cJSON_AddArrayToObject(sp, "ports");
	for (unsigned i = 0; i < s->n_ports; i++) {
		const struct sl_svc_port *p = &s->ports[i];
		cJSON *e = cJSON_CreateObject();
		if (p->name[0])
			cJSON_AddStringToObject(e, "name", p->name);
		cJSON_AddStringToObject(e, "protocol", sl_k8s_proto_name(p->protocol));
		cJSON_AddNumberToObject(e, "port", p->port);
		if (p->target_name[0])
			cJSON_AddStringToObject(e, "targetPort", p->target_name);
		else
			cJSON_AddNumberToObject(e, "targetPort", p->target_port);
		if (p->node_port)
			cJSON_AddNumberToObject(e, "nodePort", p->node_port);
		cJSON_AddItemToArray(ports, e);
	}
	if (s->n_external_ips) {
		cJSON *a = cJSON_AddArrayToObject(sp, "externalIPs");
		for (unsigned i = 0; i < s->n_external_ips; i++)
			add_ip(a, s->external_ips[i]);
	}
	cJSON_AddStringToObject(sp, "sessionAffinity", s->affinity_client_ip ? "ClientIP" : "None");
	if (s->affinity_timeout_s != SL_SVC_AFFINITY_DEFAULT_S) /* absent: the default */
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
						sp, "sessionAffinityConfig"), "clientIP"),
					"timeoutSeconds", s->affinity_timeout_s);
	cJSON_AddStringToObject(sp, "externalTrafficPolicy", s->external_local ? "Local" : "Cluster");
	cJSON_AddStringToObject(sp, "internalTrafficPolicy", s->internal_local ? "Local" : "Cluster");
	if (s->health_check_node_port)
		cJSON_AddNumberToObject(sp, "healthCheckNodePort", s->health_check_node_port);
	if (s->n_source_ranges) {
		cJSON *a = cJSON_AddArrayToObject(sp, "loadBalancerSourceRanges");
		for (unsigned i = 0; i < s->n_source_ranges; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(sl_cidr_fmt(s->source_ranges[i], b)));
	}
	cJSON *ing = cJSON_AddArrayToObject(
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "status"), "loadBalancer"),
		"ingress");
	for (unsigned i = 0; i < s->n_lb_ips; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "ip", sl_ip_fmt(s->lb_ips[i], b));
		cJSON_AddItemToArray(ing, e);
	}
	return o;
}

cJSON *sl_k8s_encode_slice(const struct sl_slice_spec *s)
{
	char b[SL_IP_STR_MAX];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "discovery.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "EndpointSlice");
	cJSON_AddItemToObject(o, "metadata", meta(s->namespace, s->name,
						  s->service[0] ? SL_K8S_LABEL_SERVICE_NAME : NULL,
						  s->service));
	cJSON_AddStringToObject(o, "addressType",
				s->af == AF_INET ? "IPv4" : s->af == AF_INET6 ? "IPv6" : "FQDN");
	cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
	for (unsigned i = 0; i < s->n_eps; i++) {
		const struct sl_slice_ep *ep = &s->eps[i];
		cJSON *e = cJSON_CreateObject();
		/* FQDN slices keep no address: a placeholder the decoder accepts there. */
		cJSON_AddItemToArray(cJSON_AddArrayToObject(e, "addresses"),
				     cJSON_CreateString(s->af ? sl_ip_fmt(ep->ip, b) : "unknown"));
		/* Conditions only when they are not what their absence means (ready, serving,
		 * not terminating): most endpoints; 40 % of a large state file. */
		if (ep->cond != (SL_EP_READY | SL_EP_SERVING)) {
			cJSON *c = cJSON_AddObjectToObject(e, "conditions");
			cJSON_AddBoolToObject(c, "ready", ep->cond & SL_EP_READY);
			cJSON_AddBoolToObject(c, "serving", ep->cond & SL_EP_SERVING);
			cJSON_AddBoolToObject(c, "terminating", ep->cond & SL_EP_TERMINATING);
		}
		if (ep->node_name)
			cJSON_AddStringToObject(e, "nodeName", ep->node_name);
		if (ep->zone)
			cJSON_AddStringToObject(e, "zone", ep->zone);
		cJSON_AddItemToArray(eps, e);
	}
	cJSON *ports = cJSON_AddArrayToObject(o, "ports");
	for (unsigned i = 0; i < s->n_ports; i++) {
		const struct sl_slice_port *p = &s->ports[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", p->name);
		cJSON_AddStringToObject(e, "protocol", sl_k8s_proto_name(p->protocol));
		if (p->port)
			cJSON_AddNumberToObject(e, "port", p->port);
		else
			cJSON_AddNullToObject(e, "port");
		cJSON_AddItemToArray(ports, e);
	}
	return o;
}
