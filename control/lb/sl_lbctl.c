/* The Services reconciler (see sl_lbctl.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "dataplane/lb/lb_stats.h"
#include "dataplane/core/sl_dp.h"
#include "dataplane/ct/ct_walk.h"
#include "dataplane/lb/lb_prebuild.h"
#include "dataplane/lb/lb_table.h"
#include "model/sl_service.h"
#include "sl_healthcheck.h"
#include "sl_hostport.h"
#include "sl_lbctl.h"
#include "sl_node_local.h"

#define AGE_PERIOD_MS 1000
#define AGE_BUDGET 65536 /* conntrack entries looked at per period */

/* The frontends one Service has installed (its dp pointer). */
struct lbsvc {
	unsigned n;
	struct sl_lb_frontend fe[];
};

static struct {
	struct sl_lbctl_conf conf;
	bool tables;                /* sl_lb_init done */
	struct sl_loop_timer age;
	struct sl_loop *loop;       /* sl_lbctl_start's (NULL before: gone frontends at once) */
	struct sl_loop_timer gone_timer;
	uint64_t *gone;             /* removed TCP frontends whose flows are to be marked gone: */
	unsigned n_gone, cap_gone;  /* fe_key()s, marked by one walk after the batch */
} lbc;

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static int tables_up(char *err, size_t errlen)
{
	if (lbc.tables)
		return 0;
	const struct sl_cidr *cl = &lbc.conf.cluster_cidr;
	struct sl_lb_conf conf = { .snat_port_lo = lbc.conf.snat_port_lo,
				   .snat_port_hi = lbc.conf.snat_port_hi,
				   .masquerade = lbc.conf.masquerade,
				   .cluster_net = cl->addr.v4,
				   .cluster_mask = cl->len ? htonl(~0u << (32 - cl->len)) : 0,
				   .ct = { .size = lbc.conf.ct_size } };
	int rc = sl_lb_init(&conf);
	if (rc < 0)
		return ERR("conntrack: cannot create the Service and conntrack tables (%u flows, "
			   "%zu MiB): %s", conf.ct.size ? conf.ct.size : SL_CT_DEFAULT_SIZE,
			   sl_ct_memsize(conf.ct.size ? conf.ct.size : SL_CT_DEFAULT_SIZE) >> 20,
			   strerror(-rc)), rc;
	lbc.tables = true;
	return 0;
}

int sl_lbctl_tables_up(char *err, size_t errlen)
{
	return tables_up(err, errlen);
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

/* TCP flows of a backend that left frontend fe (in old, not among the port's endpoints at
 * all: removed, not merely terminating or unselected) get a RST on their next packet
 * (sl_ct_mark_gone: marked now, reset by the dataplane). */
static void mark_gone_tcp(const struct sl_lb_service *old, const struct sl_svc_view_port *p)
{
	if (!old || old->fe.proto != IPPROTO_TCP)
		return;
	for (unsigned i = 0; i < old->n_backends; i++) {
		const struct sl_lb_backend *o = &old->backends[i];
		bool kept = false;
		for (unsigned k = 0; p && k < p->n_be && !kept; k++)
			kept = p->be[k].ip.af == AF_INET && p->be[k].ip.v4 == o->ip &&
			       htons(p->be[k].port) == o->port;
		if (!kept)
			sl_ct_mark_gone(old->fe.vip, old->fe.port, o->ip, o->port);
	}
}

/* A TCP frontend (vip, port) as one number. */
static uint64_t fe_key(uint32_t vip, uint16_t port)
{
	return (uint64_t)vip << 16 | port;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool mark_gone_fe_one(struct sl_ct_entry *e, void *arg)
{
	unsigned *n = arg;
	uint64_t k = fe_key(e->fwd.dst, e->fwd.dport);
	if (e->fwd.proto == IPPROTO_TCP &&
	    bsearch(&k, lbc.gone, lbc.n_gone, sizeof(k), cmp_u64)) {
		atomic_fetch_or_explicit(&e->mark, SL_CT_GONE, memory_order_relaxed);
		(*n)++;
	}
	return true;
}

/* Mark gone (a RST on their next packet, as for a removed backend) the TCP flows of every
 * frontend queued by gone_frontend() that has not come back since: one walk of conntrack
 * for all of them. */
static void mark_gone_frontends(void)
{
	unsigned k = 0, n = 0;
	for (unsigned i = 0; i < lbc.n_gone; i++) {
		struct sl_lb_frontend fe = { .vip = (uint32_t)(lbc.gone[i] >> 16),
					     .port = (uint16_t)lbc.gone[i],
					     .proto = IPPROTO_TCP };
		if (!sl_lb_service_find(&fe)) /* back (deleted and created again): flows stay */
			lbc.gone[k++] = lbc.gone[i];
	}
	lbc.n_gone = k;
	if (k && lbc.tables && !sl_dp.quit && sl_ct_count()) {
		qsort(lbc.gone, k, sizeof(*lbc.gone), cmp_u64);
		sl_ct_walk(mark_gone_fe_one, &n);
		sl_ct.marked_gone += n;
	}
	lbc.n_gone = 0;
}

static void on_gone(struct sl_loop_timer *t, void *arg)
{
	mark_gone_frontends();
}

/* TCP frontend old is going away (its Service deleted, or the Service no longer has it):
 * its flows get a RST on their next packet, whatever their backend (kube-proxy: a deleted
 * Service's connections are reset). Queued, and marked after the loop round's batch (one
 * walk of conntrack for a batch that deletes many Services), or by uninstall() once the
 * frontend is deleted when there is no loop; not while shutting down (the tables go too). */
static void gone_frontend(const struct sl_lb_service *old)
{
	if (!old || old->fe.proto != IPPROTO_TCP || sl_dp.quit || !sl_ct_count())
		return;
	if (lbc.n_gone == lbc.cap_gone) {
		unsigned cap = lbc.cap_gone ? 2 * lbc.cap_gone : 64;
		uint64_t *g = realloc(lbc.gone, cap * sizeof(*g));
		if (!g) { /* out of memory: these flows age instead */
			RTE_LOG(ERR, USER1, "lbctl: no memory to mark a deleted frontend's flows\n");
			return;
		}
		lbc.gone = g;
		lbc.cap_gone = cap;
	}
	lbc.gone[lbc.n_gone++] = fe_key(old->fe.vip, old->fe.port);
	if (lbc.loop && !sl_loop_timer_armed(&lbc.gone_timer))
		sl_loop_timer_arm(lbc.loop, &lbc.gone_timer, 0);
}

/* Whether a frontend of this kind filters new flows by loadBalancerSourceRanges (sets
 * SL_LB_SVC_SOURCE_RANGES): as kube-proxy's iptables proxier (its KUBE-FW-* chain and the
 * KUBE-PROXY-FIREWALL drop hang off the ingress IPs only), the load-balancer ingress IPs,
 * not cluster IPs, external IPs or node ports. */
enum fe_kind { FE_CLUSTER_IP, FE_EXTERNAL_IP, FE_LB_IP, FE_NODE_PORT };
static bool applies_source_ranges(enum fe_kind kind)
{
	return kind == FE_LB_IP;
}

/* The IPv4 source ranges of s into out (cap SL_LB_MAX_SOURCE_RANGES): its
 * loadBalancerSourceRanges, and, when one of them holds this node's address, each of its
 * load-balancer IPs (kube-proxy's allowFromNode: a VIP-like load balancer's address is often
 * local to the node, so the node's own requests to it come from that address). Returns how
 * many; 0: no filtering (no IPv4 range). */
static unsigned source_ranges(const struct sl_svc_spec *s, struct sl_lb_cidr *out)
{
	unsigned n = 0;
	bool from_node = false;
	for (unsigned i = 0; i < s->n_source_ranges && n < SL_LB_MAX_SOURCE_RANGES; i++) {
		const struct sl_cidr *c = &s->source_ranges[i];
		if (c->addr.af != AF_INET)
			continue;
		out[n++] = (struct sl_lb_cidr){ .ip = c->addr.v4, .len = c->len };
		from_node |= lbc.conf.node_ip && sl_cidr_contains(*c, sl_ip4(lbc.conf.node_ip));
	}
	for (unsigned i = 0; n && from_node && i < s->n_lb_ips && n < SL_LB_MAX_SOURCE_RANGES; i++)
		if (s->lb_ips[i].af == AF_INET)
			out[n++] = (struct sl_lb_cidr){ .ip = s->lb_ips[i].v4, .len = 32 };
	return n;
}

/* Frontend k of port p of s: its cluster IPs first, then external IPs, then load-balancer
 * IPs, then the node port on the node address (k == the IP count). False when there is none
 * (the last k of a port without a node port, an IPv6 address); *ret_internal says whether it
 * is a cluster IP. */
static bool frontend_of(const struct sl_svc_spec *s, const struct sl_svc_port *p, unsigned k,
			struct sl_lb_frontend *fe, bool *ret_internal)
{
	const struct sl_ip *ip = NULL;
	*ret_internal = k < s->n_cluster_ips;
	*fe = (struct sl_lb_frontend){ .port = htons(p->port), .proto = p->protocol };
	if (k < s->n_cluster_ips)
		ip = &s->cluster_ips[k];
	else if ((k -= s->n_cluster_ips) < s->n_external_ips)
		ip = &s->external_ips[k];
	else if ((k -= s->n_external_ips) < s->n_lb_ips)
		ip = &s->lb_ips[k];
	if (ip) {
		fe->vip = ip->v4;
		return ip->af == AF_INET;
	}
	fe->vip = lbc.conf.node_ip;
	fe->port = htons(p->node_port);
	return p->node_port && (s->type == SL_SVC_NODE_PORT || s->type == SL_SVC_LOAD_BALANCER);
}

/* A frontend on the node address, reached by the node's own processes: their connects go to
 * the Service's cluster IP instead (sl_node_local.h), for a node port also from 127.0.0.1,
 * as kube-proxy's iptables mode serves localhost node ports. The cluster IP's backends are
 * the internal ones (internalTrafficPolicy): the node is inside the cluster. */
static void node_local_map(const struct sl_svc_spec *s, const struct sl_svc_port *p,
			   const struct sl_lb_frontend *fe, bool node_port)
{
	for (unsigned i = 0; i < s->n_cluster_ips; i++) {
		if (s->cluster_ips[i].af != AF_INET)
			continue;
		uint32_t cip = s->cluster_ips[i].v4;
		sl_node_local_add(fe->vip, fe->port, fe->proto, cip, htons(p->port));
		if (node_port)
			sl_node_local_add(htonl(INADDR_LOOPBACK), fe->port, fe->proto, cip,
					  htons(p->port));
		return;
	}
}

/* Backends of a port that install() keeps on the stack (no malloc per Service port). */
#define FEW_BACKENDS 64

/* Install every frontend of v into the Service table, listing them in next. */
static int install(const struct sl_svc_view *v, struct lbsvc *next, char *err, size_t errlen)
{
	const struct sl_svc_spec *s = v->spec;
	unsigned n_fe = s->n_cluster_ips + s->n_external_ips + s->n_lb_ips + 1;
	static struct sl_lb_cidr ranges[SL_LB_MAX_SOURCE_RANGES];
	unsigned n_ranges = source_ranges(s, ranges);
	for (unsigned pi = 0; pi < v->n_ports; pi++) {
		const struct sl_svc_view_port *p = &v->ports[pi];
		uint16_t np = p->port->node_port;
		if (np && (np < lbc.conf.node_port_lo || np > lbc.conf.node_port_hi))
			return ERR("spec.ports[%u].nodePort: %u is outside the node port range "
				   "%u-%u", pi, np, lbc.conf.node_port_lo, lbc.conf.node_port_hi),
			       -EINVAL;
		/* The port's backends for cluster-IP traffic, then for external traffic. */
		size_t cap = p->n_be ? p->n_be : 1;
		struct sl_lb_backend few[2 * FEW_BACKENDS];
		struct sl_lb_backend *be = cap <= FEW_BACKENDS ? few : malloc(2 * cap * sizeof(*be));
		if (!be)
			return ERR("out of memory"), -ENOMEM;
		unsigned n_int = backends_of(p, SL_BE_INTERNAL, be);
		unsigned n_ext = backends_of(p, SL_BE_EXTERNAL, be + cap);
		/* Every frontend of this port shares client affinity (kube-proxy keeps it per
		 * Service port), grouped under the port's first frontend: its cluster IP. */
		struct sl_lb_frontend group = { 0 };
		for (unsigned k = 0; k < n_fe; k++) {
			bool internal;
			struct sl_lb_frontend fe;
			if (!frontend_of(s, p->port, k, &fe, &internal) || has_frontend(next, &fe))
				continue;
			if (sl_hostport_holds(&fe)) {
				char a[SL_IP_STR_MAX];
				ERR("spec.ports[%u]: %s:%u is a pod's hostPort on this node", pi,
				    sl_ip_fmt(sl_ip4(fe.vip), a), ntohs(fe.port));
				if (be != few)
					free(be);
				return -EEXIST;
			}
			/* No backend selected: ICMP port unreachable when the Service has no usable
			 * endpoint at all, else (endpoints elsewhere, a Local policy) a drop. */
			const struct sl_lb_backend *b = internal ? be : be + cap;
			unsigned n = internal ? n_int : n_ext;
			const struct sl_lb_service *old = sl_lb_service_find(&fe);
			if (!group.vip)
				group = fe;
			struct sl_lb_service_opts o = {
				.flags = p->has_any ? SL_LB_SVC_DROP_EMPTY : 0,
				.affinity_s = s->affinity_client_ip ? s->affinity_timeout_s : 0,
				.aff_vip = group.vip,
				.aff_port = group.port,
			};
			unsigned n_ext_ips = s->n_cluster_ips + s->n_external_ips;
			enum fe_kind kind = internal		      ? FE_CLUSTER_IP
					    : k < n_ext_ips		      ? FE_EXTERNAL_IP
					    : k < n_ext_ips + s->n_lb_ips ? FE_LB_IP
									  : FE_NODE_PORT;
			if (n_ranges && applies_source_ranges(kind)) {
				o.flags |= SL_LB_SVC_SOURCE_RANGES;
				o.ranges = ranges;
				o.n_ranges = n_ranges;
			}
			int rc = sl_lb_service_set_opts(&fe, b, n, &o);
			if (rc < 0) {
				char b[SL_IP_STR_MAX];
				ERR("spec.ports[%u]: cannot program %s:%u: %s", pi,
				    sl_ip_fmt(sl_ip4(fe.vip), b), ntohs(fe.port), strerror(-rc));
				if (be != few)
					free(be);
				return rc;
			}
			if (fe.vip == lbc.conf.node_ip)
				node_local_map(s, p->port, &fe, kind == FE_NODE_PORT);
			flush_gone_udp(old, b, n); /* old is valid until our next quiescent state:
						     * the control thread has none */
			mark_gone_tcp(old, p);
			next->fe[next->n++] = fe;
		}
		if (be != few)
			free(be);
	}
	return 0;
}

/* Remove frontend fe; its UDP flows go with it. */
static void uninstall(const struct sl_lb_frontend *fe)
{
	if (fe->vip == lbc.conf.node_ip) {
		sl_node_local_del(fe->vip, fe->port, fe->proto);
		sl_node_local_del(htonl(INADDR_LOOPBACK), fe->port, fe->proto);
	}
	const struct sl_lb_service *old = sl_lb_service_find(fe);
	flush_gone_udp(old, NULL, 0);
	gone_frontend(old);
	sl_lb_service_del(fe);
	if (!lbc.loop && lbc.n_gone)
		mark_gone_frontends();
}

static int svc_changed(void *ctx, const struct sl_svc_view *v, char *err, size_t errlen)
{
	const struct sl_svc_spec *s = v->spec;
	struct sl_model_svc *ms = (struct sl_model_svc *)v->svc;
	struct lbsvc *old = ms->dp;
	int rc = tables_up(err, errlen);
	if (rc < 0)
		return rc;
	unsigned max = v->n_ports * (s->n_cluster_ips + s->n_external_ips + s->n_lb_ips + 1);
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
	sl_healthcheck_update(v);
	return 0;
}

static void svc_deleted(void *ctx, struct sl_model_svc *ms)
{
	sl_healthcheck_remove(ms);
	struct lbsvc *old = ms->dp;
	for (unsigned i = 0; old && i < old->n; i++)
		uninstall(&old->fe[i]);
	free(old);
	ms->dp = NULL;
}

/* A batch's Services are about to be installed: their Maglev tables are built ahead, the
 * backend sets install() will set (the sets are the key: one install() does not set is
 * built for nothing, one not noted is built when set). */
static void svc_prepare(void *ctx, const struct sl_svc_view *const *v, unsigned n)
{
	sl_lb_prebuild_end();
	for (unsigned i = 0; i < n; i++) {
		const struct sl_svc_spec *s = v[i] ? v[i]->spec : NULL;
		bool external = s && (s->n_external_ips || s->n_lb_ips ||
				      s->type == SL_SVC_NODE_PORT || s->type == SL_SVC_LOAD_BALANCER);
		for (unsigned pi = 0; s && pi < v[i]->n_ports; pi++) {
			const struct sl_svc_view_port *p = &v[i]->ports[pi];
			struct sl_lb_backend few[FEW_BACKENDS];
			struct sl_lb_backend *be = p->n_be <= FEW_BACKENDS ? few
						   : malloc(p->n_be * sizeof(*be));
			if (!be)
				continue;
			if (s->n_cluster_ips)
				sl_lb_prebuild_add(be, backends_of(p, SL_BE_INTERNAL, be));
			if (external)
				sl_lb_prebuild_add(be, backends_of(p, SL_BE_EXTERNAL, be));
			if (be != few)
				free(be);
		}
	}
	sl_lb_prebuild_start();
}

void sl_lbctl_hooks(struct sl_model_hooks *h, const struct sl_lbctl_conf *conf)
{
	lbc.conf = *conf;
	sl_lb_prebuild_threads(conf->maglev_threads);
	h->svc_changed = svc_changed;
	h->svc_deleted = svc_deleted;
	h->svc_prepare = svc_prepare;
}

static void on_age(struct sl_loop_timer *t, void *arg)
{
	if (lbc.tables)
		sl_lb_age(rte_rdtsc(), AGE_BUDGET);
	sl_loop_timer_arm(arg, t, AGE_PERIOD_MS);
}

int sl_lbctl_start(struct sl_loop *loop, char *err, size_t errlen)
{
	int rc = lbc.conf.masquerade ? tables_up(err, errlen) : 0;
	if (rc < 0)
		return rc;
	sl_loop_timer_init(&lbc.age, on_age, loop);
	sl_loop_timer_arm(loop, &lbc.age, AGE_PERIOD_MS);
	sl_loop_timer_init(&lbc.gone_timer, on_gone, loop);
	lbc.loop = loop;
	return 0;
}

void sl_lbctl_fini(void)
{
	if (lbc.tables)
		sl_lb_fini();
	lbc.tables = false;
	free(lbc.gone);
	lbc.gone = NULL;
	lbc.n_gone = lbc.cap_gone = 0;
	lbc.loop = NULL;
}

void sl_lbctl_svc_counters(const struct sl_model_svc *ms, struct sl_lb_counters *ret)
{
	const struct lbsvc *l = ms->dp;
	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; lbc.tables && l && i < l->n; i++) {
		const struct sl_lb_service *s = sl_lb_service_find(&l->fe[i]);
		struct sl_lb_counters c;
		if (!s)
			continue;
		sl_lb_stats_sum(s->stats_slot, &c);
		ret->fwd_packets += c.fwd_packets;
		ret->fwd_bytes += c.fwd_bytes;
		ret->rev_packets += c.rev_packets;
		ret->rev_bytes += c.rev_bytes;
		ret->new_flows += c.new_flows;
		ret->rejects += c.rejects;
		ret->drop_none += c.drop_none;
		ret->drop_ct_full += c.drop_ct_full;
	}
}
