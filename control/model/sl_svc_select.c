/* The resolved view of one Service: its slices merged per Service port and kube-proxy's
 * endpoint selection (see sl_service.h). Follows kube-proxy:
 * - pkg/proxy/endpointslicecache.go: only IPv4 slices for an IPv4 proxy; per (port name,
 *   protocol); addresses[0] only; ready nil = true, serving nil = ready, terminating nil =
 *   false; local = nodeName equals this node's name; one endpoint per address:port. Where
 *   kube-proxy keeps whichever copy its map saw last (local preferred), the copy kept here
 *   is the most usable one (non-terminating, ready, serving, local), whatever the order
 *   of the slices.
 * - pkg/proxy/topology.go CategorizeEndpoints (KEP-1669): cluster endpoints are the ready
 *   ones, or if none the serving+terminating ones; local endpoints are the local ready
 *   ones, or if none the local serving+terminating ones; hasAnyEndpoints. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_service.h"

/* Whether ep is usable as kube-proxy's fallback: serving and terminating. */
static bool serving_terminating(uint8_t f)
{
	return (f & SL_EP_SERVING) && (f & SL_EP_TERMINATING);
}

static int ip_cmp(struct sl_ip a, struct sl_ip b)
{
	if (a.af != b.af)
		return a.af < b.af ? -1 : 1;
	if (a.af != AF_INET)
		return memcmp(a.v6, b.v6, 16);
	uint32_t x = ntohl(a.v4), y = ntohl(b.v4); /* memcmp's order, inline */
	return x < y ? -1 : x > y;
}

/* Address, port, then the copy to keep first: non-terminating, then ready, serving,
 * local, then by node name (a total order: the view does not depend on slice order). */
static int be_cmp(const void *x, const void *y)
{
	const struct sl_svc_backend *a = x, *b = y;
	int c = ip_cmp(a->ip, b->ip);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	static const uint8_t order[] = { SL_EP_TERMINATING, SL_EP_READY, SL_EP_SERVING,
					 SL_BE_LOCAL };
	for (unsigned i = 0; i < sizeof(order); i++) {
		int fa = !!(a->flags & order[i]), fb = !!(b->flags & order[i]);
		if (fa != fb)
			return order[i] == SL_EP_TERMINATING ? fa - fb : fb - fa;
	}
	return strcmp(a->node_name ? a->node_name : "", b->node_name ? b->node_name : "");
}

/* The port of slice sl that serves Service port p, or NULL. */
static const struct sl_slice_port *slice_port(const struct sl_slice_spec *sl,
					      const struct sl_svc_port *p)
{
	for (unsigned i = 0; i < sl->n_ports; i++)
		if (sl->ports[i].port && sl->ports[i].protocol == p->protocol &&
		    !strcmp(sl->ports[i].name, p->name))
			return &sl->ports[i];
	return NULL;
}

/* Mark the selection on vp's (deduplicated) backends. */
static void select_port(struct sl_svc_view_port *vp, bool internal_local, bool external,
			bool external_local)
{
	bool any_ready = false, any_st = false, local_ready = false, local_st = false;
	for (unsigned i = 0; i < vp->n_be; i++) {
		uint8_t f = vp->be[i].flags;
		bool local = f & SL_BE_LOCAL;
		if (f & SL_EP_READY) {
			any_ready = true;
			local_ready |= local;
			vp->n_ready++;
		} else if (serving_terminating(f)) {
			any_st = true;
			local_st |= local;
		}
	}
	/* UsesClusterEndpoints (pkg/proxy/serviceport.go): also under externalTrafficPolicy
	 * Local when externally accessible, for traffic from inside the cluster to an external
	 * frontend ("short circuiting"). hasAnyEndpoints: a usable endpoint anywhere (the
	 * Local scan counts the same ready or serving+terminating ones). */
	bool uses_cluster = !internal_local || external;
	vp->has_any = any_ready || any_st;
	for (unsigned i = 0; i < vp->n_be; i++) {
		struct sl_svc_backend *b = &vp->be[i];
		bool local = b->flags & SL_BE_LOCAL;
		bool in_cluster = any_ready ? (b->flags & SL_EP_READY) : serving_terminating(b->flags);
		bool in_local = local && (local_ready ? (b->flags & SL_EP_READY)
						      : local_st && serving_terminating(b->flags));
		if (uses_cluster && in_cluster)
			b->flags |= SL_BE_CLUSTER;
		if (internal_local ? in_local : in_cluster) {
			b->flags |= SL_BE_INTERNAL;
			vp->n_internal++;
		}
		if (external && (external_local ? in_local : in_cluster)) {
			b->flags |= SL_BE_EXTERNAL;
			vp->n_external++;
		}
		vp->n_local += in_local;
	}
}

/* Sort a few backends in place: a stable insertion sort (as glibc's qsort, a merge sort,
 * is stable: equal copies keep their order), without qsort's call per comparison
 * through a pointer. */
static void be_sort(struct sl_svc_backend *b, unsigned n)
{
	if (n > 32) {
		qsort(b, n, sizeof(*b), be_cmp);
		return;
	}
	for (unsigned i = 1; i < n; i++) {
		struct sl_svc_backend x = b[i];
		unsigned j = i;
		for (; j && be_cmp(&b[j - 1], &x) > 0; j--)
			b[j] = b[j - 1];
		b[j] = x;
	}
}

#define FEW_SLICES 16

int sl_svc_view_build(const struct sl_model *m, const struct sl_model_svc *s,
		      struct sl_svc_view **ret)
{
	const struct sl_svc_spec *sp = s->spec;
	const char *self = sl_model_self(m)->node_name;
	struct sl_model_slice *sl, *few[FEW_SLICES], **sls = few;
	uint32_t cur;
	unsigned n_sl = 0, cap = FEW_SLICES;
	/* The Service's IPv4 slices, found once (each step of the ring walk is an index
	 * lookup). */
	for (cur = UINT32_MAX; (sl = sl_model_svc_slice_next(m, sp->namespace, sp->name, &cur));) {
		if (sl->spec->af != AF_INET)
			continue;
		if (n_sl == cap) {
			struct sl_model_slice **g = malloc(2 * cap * sizeof(*g));
			if (!g) {
				if (sls != few)
					free(sls);
				return -ENOMEM;
			}
			memcpy(g, sls, n_sl * sizeof(*g));
			if (sls != few)
				free(sls);
			sls = g;
			cap *= 2;
		}
		sls[n_sl++] = sl;
	}
	/* Pass 1: how many candidate backends. */
	size_t total = 0;
	for (unsigned p = 0; p < sp->n_ports; p++)
		for (unsigned i = 0; i < n_sl; i++)
			if (slice_port(sls[i]->spec, &sp->ports[p]))
				total += sls[i]->spec->n_eps;
	struct sl_svc_view *v = calloc(1, sizeof(*v) + sp->n_ports * sizeof(*v->ports) +
						  total * sizeof(struct sl_svc_backend));
	if (!v) {
		if (sls != few)
			free(sls);
		return -ENOMEM;
	}
	v->svc = s;
	v->spec = sp;
	v->ports = (struct sl_svc_view_port *)(v + 1);
	v->n_ports = sp->n_ports;
	v->external = sp->n_external_ips || sp->n_lb_ips;
	for (unsigned p = 0; p < sp->n_ports; p++)
		v->external |= sp->ports[p].node_port != 0;
	bool ext_ips = sp->n_external_ips || sp->n_lb_ips;
	struct sl_svc_backend *be = (struct sl_svc_backend *)(v->ports + sp->n_ports);
	/* Pass 2: fill, sort, keep one copy of each address:port, select. */
	for (unsigned p = 0; p < sp->n_ports; p++) {
		struct sl_svc_view_port *vp = &v->ports[p];
		vp->port = &sp->ports[p];
		vp->be = be;
		for (unsigned i = 0; i < n_sl; i++) {
			sl = sls[i];
			const struct sl_slice_port *pt = slice_port(sl->spec, vp->port);
			for (unsigned e = 0; pt && e < sl->spec->n_eps; e++) {
				const struct sl_slice_ep *ep = &sl->spec->eps[e];
				bool local = ep->node_name && self[0] && !strcmp(ep->node_name, self);
				be[vp->n_be++] = (struct sl_svc_backend){
					.ip = ep->ip, .port = pt->port,
					.flags = (uint8_t)(ep->cond | (local ? SL_BE_LOCAL : 0)),
					.node_name = ep->node_name, .zone = ep->zone,
				};
			}
		}
		be_sort(vp->be, vp->n_be);
		unsigned k = 0;
		for (unsigned i = 0; i < vp->n_be; i++)
			if (!k || ip_cmp(vp->be[i].ip, vp->be[k - 1].ip) ||
			    vp->be[i].port != vp->be[k - 1].port)
				vp->be[k++] = vp->be[i];
		vp->n_be = k;
		be += k;
		/* ExternallyAccessible is per port: its node port, or the Service's IPs. */
		select_port(vp, sp->internal_local, ext_ips || vp->port->node_port,
			    sp->external_local);
	}
	if (sls != few)
		free(sls);
	*ret = v;
	return 0;
}

void sl_svc_view_free(struct sl_svc_view *v)
{
	free(v);
}
