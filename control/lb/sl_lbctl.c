/* The Services reconciler (see sl_lbctl.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "dataplane/core/sl_dp.h"
#include "dataplane/lb/lb_table.h"
#include "model/sl_service.h"
#include "sl_lbctl.h"

#define AGE_PERIOD_MS 1000
#define AGE_BUDGET 65536 /* conntrack entries looked at per period */

/* The frontends one Service has installed (its dp pointer). */
struct lbsvc {
	unsigned n;
	struct sl_lb_frontend fe[];
};

static struct {
	uint32_t ct_size;
	bool tables;                /* sl_lb_init done */
	struct sl_loop_timer age;
} lbc;

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static int tables_up(char *err, size_t errlen)
{
	if (lbc.tables)
		return 0;
	struct sl_lb_conf conf = { .ct = { .size = lbc.ct_size } };
	int rc = sl_lb_init(&conf);
	if (rc < 0)
		return ERR("conntrack: cannot create the Service and conntrack tables (%u flows, "
			   "%zu MiB): %s", conf.ct.size ? conf.ct.size : SL_CT_DEFAULT_SIZE,
			   sl_ct_memsize(conf.ct.size ? conf.ct.size : SL_CT_DEFAULT_SIZE) >> 20,
			   strerror(-rc)), rc;
	lbc.tables = true;
	return 0;
}

static bool has_frontend(const struct lbsvc *s, const struct sl_lb_frontend *fe)
{
	for (unsigned i = 0; s && i < s->n; i++)
		if (!memcmp(&s->fe[i], fe, sizeof(*fe)))
			return true;
	return false;
}

/* The backends of view port p that traffic to one kind of frontend uses (want: SL_BE_*). */
static unsigned backends_of(const struct sl_svc_view_port *p, unsigned want,
			    struct sl_lb_backend *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->n_be; i++) {
		const struct sl_svc_backend *b = &p->be[i];
		if (!(b->flags & want) || b->ip.af != AF_INET)
			continue;
		out[n++] = (struct sl_lb_backend){
			.ip = b->ip.v4, .port = htons(b->port),
			.flags = b->flags & SL_EP_TERMINATING ? SL_LB_BACKEND_TERMINATING : 0 };
	}
	return n;
}

/* UDP has no end of flow: when a backend leaves a UDP frontend, its flows go at once, so a
 * client (a DNS resolver) reaches a live backend with its next packet (kubernetes #19029).
 * old: the frontend's entry before the change (NULL: none); b, n: its backends now. */
static void flush_gone_udp(const struct sl_lb_service *old, const struct sl_lb_backend *b,
			   unsigned n)
{
	/* Shutting down (workers stopped, the model deleting every Service): the table goes
	 * too, and each flush is a walk of the whole table, per backend of every UDP Service
	 * (minutes for 10,000 Services, hours for 100,000). */
	if (!old || old->fe.proto != IPPROTO_UDP || sl_dp.quit)
		return;
	for (unsigned i = 0; i < old->n_backends; i++) {
		const struct sl_lb_backend *o = &old->backends[i];
		bool kept = false;
		for (unsigned k = 0; k < n && !kept; k++)
			kept = b[k].ip == o->ip && b[k].port == o->port;
		if (!kept)
			sl_ct_flush_backend(o->ip, o->port);
	}
}

/* The frontend address k of s: cluster IPs first, then external IPs, then load-balancer
 * IPs; *ret_internal says whether it is a cluster IP. */
static const struct sl_ip *frontend_ip(const struct sl_svc_spec *s, unsigned k, bool *ret_internal)
{
	*ret_internal = k < s->n_cluster_ips;
	if (k < s->n_cluster_ips)
		return &s->cluster_ips[k];
	k -= s->n_cluster_ips;
	return k < s->n_external_ips ? &s->external_ips[k] : &s->lb_ips[k - s->n_external_ips];
}

/* Install every frontend of v into the Service table, listing them in next. */
static int install(const struct sl_svc_view *v, struct lbsvc *next, char *err, size_t errlen)
{
	const struct sl_svc_spec *s = v->spec;
	unsigned n_ips = s->n_cluster_ips + s->n_external_ips + s->n_lb_ips;
	for (unsigned pi = 0; pi < v->n_ports; pi++) {
		const struct sl_svc_view_port *p = &v->ports[pi];
		/* The port's backends for cluster-IP traffic, then for external traffic. */
		size_t cap = p->n_be ? p->n_be : 1;
		struct sl_lb_backend *be = malloc(2 * cap * sizeof(*be));
		if (!be)
			return ERR("out of memory"), -ENOMEM;
		unsigned n_int = backends_of(p, SL_BE_INTERNAL, be);
		unsigned n_ext = backends_of(p, SL_BE_EXTERNAL, be + cap);
		for (unsigned k = 0; k < n_ips; k++) {
			bool internal;
			const struct sl_ip *ip = frontend_ip(s, k, &internal);
			struct sl_lb_frontend fe = { .vip = ip->v4, .port = htons(p->port->port),
						     .proto = p->port->protocol };
			if (ip->af != AF_INET || has_frontend(next, &fe))
				continue;
			/* No backend selected: ICMP port unreachable when the Service has no usable
			 * endpoint at all, else (endpoints elsewhere, a Local policy) a drop. */
			const struct sl_lb_backend *b = internal ? be : be + cap;
			unsigned n = internal ? n_int : n_ext;
			const struct sl_lb_service *old = sl_lb_service_find(&fe);
			int rc = sl_lb_service_set(&fe, b, n, p->has_any ? SL_LB_SVC_DROP_EMPTY : 0);
			if (rc < 0) {
				char b[SL_IP_STR_MAX];
				ERR("spec.ports[%u]: cannot program %s:%u: %s", pi, sl_ip_fmt(*ip, b),
				    p->port->port, strerror(-rc));
				free(be);
				return rc;
			}
			flush_gone_udp(old, b, n); /* old is valid until our next quiescent state:
						     * the control thread has none */
			next->fe[next->n++] = fe;
		}
		free(be);
	}
	return 0;
}

/* Remove frontend fe; its UDP flows go with it. */
static void uninstall(const struct sl_lb_frontend *fe)
{
	flush_gone_udp(sl_lb_service_find(fe), NULL, 0);
	sl_lb_service_del(fe);
}

static int svc_changed(void *ctx, const struct sl_svc_view *v, char *err, size_t errlen)
{
	const struct sl_svc_spec *s = v->spec;
	struct sl_model_svc *ms = (struct sl_model_svc *)v->svc;
	struct lbsvc *old = ms->dp;
	int rc = tables_up(err, errlen);
	if (rc < 0)
		return rc;
	unsigned max = v->n_ports * (s->n_cluster_ips + s->n_external_ips + s->n_lb_ips);
	struct lbsvc *next = calloc(1, sizeof(*next) + (max ? max : 1) * sizeof(next->fe[0]));
	if (!next)
		return ERR("out of memory"), -ENOMEM;
	if ((rc = install(v, next, err, errlen)) < 0) {
		/* The model undoes the batch and tells us the restored state again; take back
		 * what this call added that the old state did not have. */
		for (unsigned i = 0; i < next->n; i++)
			if (!has_frontend(old, &next->fe[i]))
				uninstall(&next->fe[i]);
		free(next);
		return rc;
	}
	for (unsigned i = 0; old && i < old->n; i++)
		if (!has_frontend(next, &old->fe[i]))
			uninstall(&old->fe[i]);
	free(old);
	ms->dp = next;
	return 0;
}

static void svc_deleted(void *ctx, struct sl_model_svc *ms)
{
	struct lbsvc *old = ms->dp;
	for (unsigned i = 0; old && i < old->n; i++)
		uninstall(&old->fe[i]);
	free(old);
	ms->dp = NULL;
}

void sl_lbctl_hooks(struct sl_model_hooks *h, uint32_t ct_size)
{
	lbc.ct_size = ct_size;
	h->svc_changed = svc_changed;
	h->svc_deleted = svc_deleted;
}

static void on_age(struct sl_loop_timer *t, void *arg)
{
	if (lbc.tables)
		sl_lb_age(rte_rdtsc(), AGE_BUDGET);
	sl_loop_timer_arm(arg, t, AGE_PERIOD_MS);
}

void sl_lbctl_start(struct sl_loop *loop)
{
	sl_loop_timer_init(&lbc.age, on_age, loop);
	sl_loop_timer_arm(loop, &lbc.age, AGE_PERIOD_MS);
}

void sl_lbctl_fini(void)
{
	if (lbc.tables)
		sl_lb_fini();
	lbc.tables = false;
}
