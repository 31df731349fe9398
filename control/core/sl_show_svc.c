/* `show services` and `show backends` (see sl_show_svc.h). */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sl_show_svc.h"

static const char *type_name(enum sl_svc_type t)
{
	static const char *const n[] = { "ClusterIP", "NodePort", "LoadBalancer", "ExternalName" };
	return n[t];
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

/* Append to buf (size n) as far as it fits. */
static void cat(char *buf, size_t n, const char *s)
{
	size_t l = strlen(buf);
	if (l + 1 < n)
		snprintf(buf + l, n - l, "%s", s);
}

static void ips(char *buf, size_t n, const struct sl_ip *a, unsigned c)
{
	char b[SL_IP_STR_MAX];
	for (unsigned i = 0; i < c; i++) {
		if (buf[0])
			cat(buf, n, ",");
		cat(buf, n, sl_ip_fmt(a[i], b));
	}
}

static const char *why_skipped(const struct sl_svc_spec *s)
{
	return s->headless ? "headless" : s->other_proxy ? "other proxy"
				       : s->type == SL_SVC_EXTERNAL_NAME ? "ExternalName" : "";
}

cJSON *sl_show_services(const struct sl_model *m)
{
	cJSON *a = cJSON_CreateArray();
	struct sl_model_svc *s;
	for (uint32_t id = 0; (s = sl_model_svc_next(m, &id));) {
		const struct sl_svc_spec *sp = s->spec;
		char cip[256] = "", ext[512] = "", ports[512] = "", be[32];
		ips(cip, sizeof(cip), sp->cluster_ips, sp->n_cluster_ips);
		ips(ext, sizeof(ext), sp->external_ips, sp->n_external_ips);
		ips(ext, sizeof(ext), sp->lb_ips, sp->n_lb_ips);
		for (unsigned i = 0; i < sp->n_ports; i++) {
			const struct sl_svc_port *p = &sp->ports[i];
			char one[96], tgt[16];
			if (p->target_name[0])
				snprintf(tgt, sizeof(tgt), "%s", p->target_name);
			else
				snprintf(tgt, sizeof(tgt), "%u", p->target_port);
			snprintf(one, sizeof(one), "%s%u%s%.0u/%s->%s", i ? "," : "", p->port,
				 p->node_port ? ":" : "", p->node_port, proto_name(p->protocol), tgt);
			cat(ports, sizeof(ports), one);
		}
		unsigned ready = 0, total = 0;
		struct sl_svc_view *v;
		if (sl_svc_proxied(sp) && sl_svc_view_build(m, s, &v) == 0) {
			for (unsigned i = 0; i < v->n_ports; i++) { /* ports share endpoints */
				if (v->ports[i].n_ready > ready)
					ready = v->ports[i].n_ready;
				if (v->ports[i].n_be > total)
					total = v->ports[i].n_be;
			}
			sl_svc_view_free(v);
		}
		snprintf(be, sizeof(be), "%u/%u", ready, total);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", sp->namespace);
		cJSON_AddStringToObject(o, "name", sp->name);
		cJSON_AddStringToObject(o, "type", type_name(sp->type));
		cJSON_AddStringToObject(o, "cluster_ip", sp->headless ? "None" : cip[0] ? cip : "-");
		cJSON_AddStringToObject(o, "external_ip", ext[0] ? ext : "-");
		cJSON_AddStringToObject(o, "ports", ports[0] ? ports : "-");
		cJSON_AddStringToObject(o, "backends", be);
		cJSON_AddStringToObject(o, "skipped", why_skipped(sp)[0] ? why_skipped(sp) : "-");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

cJSON *sl_show_backends(const struct sl_model *m)
{
	cJSON *a = cJSON_CreateArray();
	struct sl_model_svc *s;
	for (uint32_t id = 0; (s = sl_model_svc_next(m, &id));) {
		struct sl_svc_view *v;
		if (!sl_svc_proxied(s->spec) || sl_svc_view_build(m, s, &v) < 0)
			continue;
		for (unsigned i = 0; i < v->n_ports; i++) {
			const struct sl_svc_view_port *vp = &v->ports[i];
			for (unsigned k = 0; k < vp->n_be; k++) {
				const struct sl_svc_backend *b = &vp->be[k];
				char port[96], addr[SL_IP_STR_MAX + 8], ip[SL_IP_STR_MAX], cond[40] = "";
				snprintf(port, sizeof(port), "%s%s%u/%s", vp->port->name,
					 vp->port->name[0] ? ":" : "", vp->port->port,
					 proto_name(vp->port->protocol));
				snprintf(addr, sizeof(addr), "%s:%u", sl_ip_fmt(b->ip, ip), b->port);
				if (b->flags & SL_EP_READY)
					cat(cond, sizeof(cond), "ready");
				if (b->flags & SL_EP_SERVING)
					cat(cond, sizeof(cond), cond[0] ? ",serving" : "serving");
				if (b->flags & SL_EP_TERMINATING)
					cat(cond, sizeof(cond), cond[0] ? ",terminating" : "terminating");
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "namespace", s->spec->namespace);
				cJSON_AddStringToObject(o, "name", s->spec->name);
				cJSON_AddStringToObject(o, "port", port);
				cJSON_AddStringToObject(o, "backend", addr);
				cJSON_AddStringToObject(o, "node", b->node_name ? b->node_name : "-");
				cJSON_AddStringToObject(o, "conditions", cond[0] ? cond : "-");
				cJSON_AddBoolToObject(o, "local", b->flags & SL_BE_LOCAL);
				cJSON_AddBoolToObject(o, "internal", b->flags & SL_BE_INTERNAL);
				cJSON_AddBoolToObject(o, "external", b->flags & SL_BE_EXTERNAL);
				cJSON_AddItemToArray(a, o);
			}
		}
		sl_svc_view_free(v);
	}
	return a;
}
