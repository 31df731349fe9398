/* The control model (see sl_model.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_index.h"
#include "sl_model.h"
#include "sl_model_int.h"
#include "sl_policy.h"
#include "sl_slots.h"

struct sl_model {
	struct sl_model_self self;
	struct sl_model_hooks hooks;
	struct slots pods, nodes, routes;
	struct sl_index pod_by_name, pod_by_ip, pod_by_iface;
	struct sl_index node_by_name, node_by_ip;
	struct sl_index node_by_cidr;       /* pod CIDR -> node (node_cidr_overlap) */
	uint32_t node_cidr_lens[2][129];    /* nodes by pod CIDR length: [0] IPv4, [1] IPv6 */
	struct sl_index route_by_prefix;
	struct sl_svc_store *svcs; /* Services and EndpointSlices (sl_service.c) */
	struct sl_pol_store *pols; /* namespaces, cluster pods, NetworkPolicies (sl_policy_store.c) */
	size_t obj_bytes;
	/* Host ports pods hold, by port: a bit per protocol (hp_bit); allocated with the first
	 * pod that has one. */
	uint8_t *hp_used;
};

#define HP_TABLE_SIZE 65536

static uint8_t hp_bit(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 1 : proto == IPPROTO_UDP ? 2 : 4;
}

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__))

/* Keys. */

static uint64_t pod_name_hash(const char *ns, const char *name)
{
	return sl_hash_str(name, sl_hash_str(ns, 0));
}

struct name_key {
	const char *ns, *name;
};

static bool pod_name_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_model *m = ctx;
	const struct sl_model_pod *p = m->pods.obj[id];
	const struct name_key *k = key;
	return !strcmp(p->spec.name, k->name) && !strcmp(p->spec.namespace, k->ns);
}

static bool pod_ip_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_model *m = ctx;
	return sl_ip_eq(((struct sl_model_pod *)m->pods.obj[id])->spec.ip, *(const struct sl_ip *)key);
}

/* A pod's attachment: its veth (by name) or its vhost-user socket (by path). */
static const char *pod_iface(const struct sl_pod_spec *s)
{
	return s->vhost ? s->socket : s->ifname;
}

static uint64_t pod_iface_hash(const struct sl_pod_spec *s)
{
	return sl_hash_str(pod_iface(s), s->vhost ? 1 : 2);
}

static bool pod_iface_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_model *m = ctx;
	const struct sl_pod_spec *a = &((struct sl_model_pod *)m->pods.obj[id])->spec, *b = key;
	return a->vhost == b->vhost && !strcmp(pod_iface(a), pod_iface(b));
}

static bool node_name_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_model *m = ctx;
	return !strcmp(((struct sl_model_node *)m->nodes.obj[id])->spec.name, key);
}

static bool node_ip_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_model *m = ctx;
	return sl_ip_eq(((struct sl_model_node *)m->nodes.obj[id])->spec.ip,
			*(const struct sl_ip *)key);
}

static uint64_t cidr_hash(struct sl_cidr c)
{
	return sl_ip_hash(c.addr) ^ ((uint64_t)c.len * 0x9e3779b97f4a7c15ull);
}

static bool node_cidr_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_model *m = ctx;
	return sl_cidr_eq(((struct sl_model_node *)m->nodes.obj[id])->spec.pod_cidr,
			  *(const struct sl_cidr *)key);
}

/* c cut to its first len bits (len <= c.len). */
static struct sl_cidr cidr_cut(struct sl_cidr c, unsigned len)
{
	struct sl_cidr r = { .addr = { .af = c.addr.af }, .len = (uint8_t)len };
	if (c.addr.af == AF_INET6) {
		for (unsigned i = 0; i < len / 8; i++)
			r.addr.v6[i] = c.addr.v6[i];
		if (len % 8)
			r.addr.v6[len / 8] = c.addr.v6[len / 8] & (uint8_t)(0xff << (8 - len % 8));
	} else {
		r.addr.v4 = len ? c.addr.v4 & htonl(~0u << (32 - len)) : 0;
	}
	return r;
}

static bool route_match(const void *ctx, uint32_t id, const void *key)
{
	const struct sl_model *m = ctx;
	return sl_cidr_eq(((struct sl_model_route *)m->routes.obj[id])->spec.prefix,
			  *(const struct sl_cidr *)key);
}

/* Life cycle. */

struct sl_model *sl_model_create(const struct sl_model_self *self,
				 const struct sl_model_limits *limits)
{
	struct sl_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->self = *self;
	m->pods.limit = limits ? limits->pods : SL_MODEL_MAX_PODS;
	m->nodes.limit = limits ? limits->nodes : SL_MODEL_MAX_NODES;
	m->routes.limit = limits ? limits->routes : SL_MODEL_MAX_ROUTES;
	if (!(m->svcs = sl_svc_store_create(limits))) {
		free(m);
		return NULL;
	}
	if (!(m->pols = sl_pol_store_create(limits))) {
		sl_svc_store_destroy(m);
		free(m);
		return NULL;
	}
	return m;
}

void sl_model_destroy(struct sl_model *m)
{
	if (!m)
		return;
	char err[8];
	struct sl_model_route *r;
	struct sl_model_pod *p;
	struct sl_model_node *n;
	sl_svc_store_destroy(m);
	sl_model_policy_set_notify(m, NULL, NULL); /* no policy news while pods go */
	for (uint32_t i = 0; (r = sl_model_route_next(m, &i));)
		sl_model_route_del(m, r->spec.prefix, err, sizeof(err));
	for (uint32_t i = 0; (p = sl_model_pod_next(m, &i));)
		sl_model_pod_del(m, p->spec.namespace, p->spec.name, err, sizeof(err));
	for (uint32_t i = 0; (n = sl_model_node_next(m, &i));)
		sl_model_node_del(m, n->spec.name, err, sizeof(err));
	slots_free(&m->pods);
	slots_free(&m->nodes);
	slots_free(&m->routes);
	sl_index_free(&m->pod_by_name);
	sl_index_free(&m->pod_by_ip);
	sl_index_free(&m->pod_by_iface);
	free(m->hp_used);
	sl_index_free(&m->node_by_name);
	sl_index_free(&m->node_by_ip);
	sl_index_free(&m->node_by_cidr);
	sl_index_free(&m->route_by_prefix);
	sl_pol_store_destroy(m);
	free(m);
}

void sl_model_set_hooks(struct sl_model *m, const struct sl_model_hooks *hooks)
{
	m->hooks = *hooks;
}

const struct sl_model_self *sl_model_self(const struct sl_model *m)
{
	return &m->self;
}

struct sl_svc_store *sl_model_svcs(const struct sl_model *m)
{
	return m->svcs;
}

struct sl_pol_store *sl_model_pols(const struct sl_model *m)
{
	return m->pols;
}

const struct sl_model_hooks *sl_model_hooks(const struct sl_model *m)
{
	return &m->hooks;
}

/* Lookups. */

struct sl_model_pod *sl_model_pod_find(const struct sl_model *m, const char *ns, const char *name)
{
	struct name_key k = { ns, name };
	int64_t id = sl_index_find(&m->pod_by_name, pod_name_hash(ns, name), pod_name_match, m, &k);
	return id < 0 ? NULL : m->pods.obj[id];
}

struct sl_model_pod *sl_model_pod_by_ip(const struct sl_model *m, struct sl_ip ip)
{
	int64_t id = sl_index_find(&m->pod_by_ip, sl_ip_hash(ip), pod_ip_match, m, &ip);
	return id < 0 ? NULL : m->pods.obj[id];
}

struct sl_model_node *sl_model_node_find(const struct sl_model *m, const char *name)
{
	int64_t id = sl_index_find(&m->node_by_name, sl_hash_str(name, 0), node_name_match, m,
				   name);
	return id < 0 ? NULL : m->nodes.obj[id];
}

static struct sl_model_node *node_by_ip(const struct sl_model *m, struct sl_ip ip)
{
	int64_t id = sl_index_find(&m->node_by_ip, sl_ip_hash(ip), node_ip_match, m, &ip);
	return id < 0 ? NULL : m->nodes.obj[id];
}

static struct sl_model_node *node_by_cidr(const struct sl_model *m, struct sl_cidr c)
{
	int64_t id = sl_index_find(&m->node_by_cidr, cidr_hash(c), node_cidr_match, m, &c);
	return id < 0 ? NULL : m->nodes.obj[id];
}

/* A node whose pod CIDR overlaps c, or NULL. Node pod CIDRs never overlap each other, so
 * one containing c is found by a lookup per pod CIDR length in use up to c's (one, in a
 * cluster whose nodes all get the same size); only when some node has a longer pod CIDR
 * than c (one c might contain) are the nodes walked. */
static struct sl_model_node *node_cidr_overlap(const struct sl_model *m, struct sl_cidr c)
{
	const uint32_t *lens = m->node_cidr_lens[c.addr.af == AF_INET6];
	unsigned bits = c.addr.af == AF_INET6 ? 128 : 32;
	struct sl_model_node *d;
	for (unsigned l = 0; l <= c.len; l++)
		if (lens[l] && (d = node_by_cidr(m, cidr_cut(c, l))))
			return d;
	for (unsigned l = c.len + 1u; l <= bits; l++) {
		if (!lens[l])
			continue;
		for (uint32_t i = 0; (d = sl_model_node_next(m, &i));)
			if (sl_cidr_overlaps(d->spec.pod_cidr, c))
				return d;
		break;
	}
	return NULL;
}

struct sl_model_route *sl_model_route_find(const struct sl_model *m, struct sl_cidr prefix)
{
	int64_t id = sl_index_find(&m->route_by_prefix, cidr_hash(prefix), route_match, m,
				   &prefix);
	return id < 0 ? NULL : m->routes.obj[id];
}

struct sl_model_pod *sl_model_pod_next(const struct sl_model *m, uint32_t *id)
{
	return slot_next(&m->pods, id);
}

struct sl_model_node *sl_model_node_next(const struct sl_model *m, uint32_t *id)
{
	return slot_next(&m->nodes, id);
}

struct sl_model_route *sl_model_route_next(const struct sl_model *m, uint32_t *id)
{
	return slot_next(&m->routes, id);
}

void sl_model_counts(const struct sl_model *m, struct sl_model_counts *ret)
{
	ret->pods = m->pods.used;
	ret->nodes = m->nodes.used;
	ret->routes = m->routes.used;
	ret->bytes = sizeof(*m) + m->obj_bytes +
		     (size_t)(m->pods.cap + m->nodes.cap + m->routes.cap) *
			     (sizeof(void *) + sizeof(uint32_t)) +
		     sl_index_bytes(&m->pod_by_name) + sl_index_bytes(&m->pod_by_ip) +
		     sl_index_bytes(&m->pod_by_iface) + sl_index_bytes(&m->node_by_name) +
		     sl_index_bytes(&m->node_by_ip) + sl_index_bytes(&m->node_by_cidr) +
		     sl_index_bytes(&m->route_by_prefix);
	size_t svc_bytes;
	sl_svc_store_counts(m->svcs, &ret->services, &ret->slices, &svc_bytes);
	ret->bytes += svc_bytes + (m->hp_used ? HP_TABLE_SIZE : 0);
}

/* Who already routes exactly this prefix: a description in who, or false. */
static bool prefix_owner(const struct sl_model *m, struct sl_cidr c, char *who, size_t n)
{
	const struct sl_model_self *k = &m->self;
	if (sl_cidr_eq(c, k->pod_cidr))
		return snprintf(who, n, "this node's pod CIDR"), true;
	if (sl_cidr_eq(c, sl_cidr_host(k->gateway_ip)))
		return snprintf(who, n, "the pod gateway"), true;
	if (sl_cidr_eq(c, sl_cidr_host(k->node_ip)))
		return snprintf(who, n, "this node's address"), true;
	if (sl_cidr_eq(c, sl_cidr_host(c.addr))) {
		const struct sl_model_pod *p = sl_model_pod_by_ip(m, c.addr);
		const struct sl_model_node *d = node_by_ip(m, c.addr);
		if (p)
			return snprintf(who, n, "pod %s/%s", p->spec.namespace, p->spec.name), true;
		if (d)
			return snprintf(who, n, "node %s", d->spec.name), true;
	}
	const struct sl_model_node *d = node_by_cidr(m, c);
	if (d)
		return snprintf(who, n, "node %s", d->spec.name), true;
	if (sl_model_route_find(m, c))
		return snprintf(who, n, "a static route"), true;
	return false;
}

/* Pods. */

/* The pod holding host port h (NULL: none). Walks every pod: called on a conflict only. */
static const struct sl_model_pod *host_port_owner(const struct sl_model *m,
						  const struct sl_host_port *h)
{
	struct sl_model_pod *p;
	for (uint32_t i = 0; (p = sl_model_pod_next(m, &i));)
		for (unsigned k = 0; k < p->spec.n_host_ports; k++)
			if (p->spec.host_ports[k].host_port == h->host_port &&
			    p->spec.host_ports[k].protocol == h->protocol)
				return p;
	return NULL;
}

/* Host ports: on the node address (host_ip 0 or it), each (port, protocol) held by one pod
 * only. */
static int host_ports_check(const struct sl_model *m, const struct sl_pod_spec *s, char *err,
			    size_t errlen)
{
	char b[SL_IP_STR_MAX], nb[SL_IP_STR_MAX];
	for (unsigned i = 0; i < s->n_host_ports; i++) {
		const struct sl_host_port *h = &s->host_ports[i];
		const struct sl_model_pod *o;
		if (h->host_ip && (m->self.node_ip.af != AF_INET || h->host_ip != m->self.node_ip.v4))
			return ERR("host_ports[%u].host_ip: %s is not this node's address (%s)", i,
				   sl_ip_fmt(sl_ip4(h->host_ip), b),
				   m->self.node_ip.af ? sl_ip_fmt(m->self.node_ip, nb) : "none"),
			       -EINVAL;
		if (h->protocol != IPPROTO_TCP && h->protocol != IPPROTO_UDP &&
		    h->protocol != IPPROTO_SCTP)
			return ERR("host_ports[%u].protocol: must be tcp, udp or sctp", i), -EINVAL;
		if (!h->host_port || !h->container_port)
			return ERR("host_ports[%u]: ports must be 1-65535", i), -EINVAL;
		if (m->hp_used && (m->hp_used[h->host_port] & hp_bit(h->protocol)) &&
		    (o = host_port_owner(m, h)))
			return ERR("host_ports[%u].host_port: %u/%s is already used by pod %s/%s", i,
				   h->host_port, sl_host_proto_name(h->protocol), o->spec.namespace,
				   o->spec.name), -EEXIST;
		for (unsigned k = 0; k < i; k++)
			if (s->host_ports[k].host_port == h->host_port &&
			    s->host_ports[k].protocol == h->protocol)
				return ERR("host_ports[%u].host_port: %u/%s repeats host_ports[%u]", i,
					   h->host_port, sl_host_proto_name(h->protocol), k), -EINVAL;
	}
	return 0;
}

static int pod_check(const struct sl_model *m, const struct sl_pod_spec *s, char *err,
		     size_t errlen)
{
	const struct sl_model_self *k = &m->self;
	char b[SL_IP_STR_MAX];
	const struct sl_model_pod *o;
	if (!sl_cidr_contains(k->pod_cidr, s->ip) || sl_ip_eq(s->ip, k->gateway_ip) ||
	    sl_ip_eq(s->ip, k->pod_cidr.addr))
		return ERR("ip: %s is not a pod address of this node", sl_ip_fmt(s->ip, b)),
		       -EINVAL;
	if (!s->vhost && (!strcmp(s->ifname, "lo") || !strcmp(s->ifname, k->host_ifname) ||
			  !strcmp(s->ifname, k->uplink_ifname)))
		return ERR("ifname: %s is not a pod interface (uplink, host or loopback)",
			   s->ifname), -EINVAL;
	if (sl_model_pod_find(m, s->namespace, s->name))
		return ERR("name: pod %s/%s already exists", s->namespace, s->name), -EEXIST;
	if ((o = sl_model_pod_by_ip(m, s->ip)))
		return ERR("ip: %s is already used by %s/%s", sl_ip_fmt(s->ip, b),
			   o->spec.namespace, o->spec.name), -EEXIST;
	if (sl_index_find(&m->pod_by_iface, pod_iface_hash(s), pod_iface_match, m, s) >= 0)
		return ERR("%s: %s is already attached", s->vhost ? "socket" : "ifname",
			   pod_iface(s)), -EEXIST;
	return host_ports_check(m, s, err, errlen);
}

static void host_ports_mark(struct sl_model *m, const struct sl_pod_spec *s, bool used)
{
	for (unsigned i = 0; m->hp_used && i < s->n_host_ports; i++) {
		const struct sl_host_port *h = &s->host_ports[i];
		if (used)
			m->hp_used[h->host_port] |= hp_bit(h->protocol);
		else
			m->hp_used[h->host_port] &= (uint8_t)~hp_bit(h->protocol);
	}
}

static void pod_unindex(struct sl_model *m, struct sl_model_pod *p)
{
	sl_index_del(&m->pod_by_name, pod_name_hash(p->spec.namespace, p->spec.name), p->id);
	sl_index_del(&m->pod_by_ip, sl_ip_hash(p->spec.ip), p->id);
	sl_index_del(&m->pod_by_iface, pod_iface_hash(&p->spec), p->id);
	host_ports_mark(m, &p->spec, false);
	slot_put(&m->pods, p->id);
	m->obj_bytes -= sizeof(*p);
	free(p);
}

int sl_model_pod_add(struct sl_model *m, const struct sl_pod_spec *s, char *err, size_t errlen)
{
	int rc = pod_check(m, s, err, errlen);
	if (rc < 0)
		return rc;
	if (s->n_host_ports && !m->hp_used && !(m->hp_used = calloc(1, HP_TABLE_SIZE)))
		return ERR("out of memory"), -ENOMEM;
	struct sl_model_pod *p = calloc(1, sizeof(*p));
	if (!p)
		return ERR("out of memory"), -ENOMEM;
	if ((rc = slot_take(&m->pods, &p->id)) < 0) {
		free(p);
		return rc == -ENOSPC ? ERR("pod limit reached (%u)", m->pods.limit)
				     : ERR("out of memory"), rc;
	}
	p->spec = *s;
	m->pods.obj[p->id] = p;
	m->obj_bytes += sizeof(*p);
	if (sl_index_add(&m->pod_by_name, pod_name_hash(s->namespace, s->name), p->id) < 0 ||
	    sl_index_add(&m->pod_by_ip, sl_ip_hash(s->ip), p->id) < 0 ||
	    sl_index_add(&m->pod_by_iface, pod_iface_hash(s), p->id) < 0) {
		pod_unindex(m, p);
		return ERR("out of memory"), -ENOMEM;
	}
	host_ports_mark(m, s, true);
	if (m->hooks.pod_add && (rc = m->hooks.pod_add(m->hooks.ctx, p, err, errlen)) < 0) {
		pod_unindex(m, p);
		return rc;
	}
	sl_pol_local_changed(m, s->ip);
	return 0;
}

int sl_model_pod_del(struct sl_model *m, const char *ns, const char *name, char *err,
		     size_t errlen)
{
	struct sl_model_pod *p = sl_model_pod_find(m, ns, name);
	if (!p)
		return ERR("pod %s/%s not found", ns, name), -ENOENT;
	struct sl_ip ip = p->spec.ip;
	if (m->hooks.pod_del)
		m->hooks.pod_del(m->hooks.ctx, p);
	pod_unindex(m, p);
	sl_pol_local_changed(m, ip);
	return 0;
}

/* Remote nodes. */

static int node_check(const struct sl_model *m, const struct sl_node_spec *s, char *err,
		      size_t errlen)
{
	const struct sl_model_self *k = &m->self;
	char b[SL_IP_STR_MAX], who[320];
	const struct sl_model_node *d;
	if (sl_ip_eq(s->ip, k->node_ip))
		return ERR("ip: %s is this node's own address", sl_ip_fmt(s->ip, b)), -EINVAL;
	if (sl_cidr_overlaps(s->pod_cidr, k->pod_cidr))
		return ERR("pod_cidr: overlaps this node's pod CIDR"), -EINVAL;
	if (sl_cidr_contains(k->pod_cidr, s->ip))
		return ERR("ip: %s is inside this node's pod CIDR", sl_ip_fmt(s->ip, b)), -EINVAL;
	if (sl_model_node_find(m, s->name))
		return ERR("name: node %s already exists", s->name), -EEXIST;
	if ((d = node_by_ip(m, s->ip)))
		return ERR("ip: %s is already node %s's address", sl_ip_fmt(s->ip, b), d->spec.name),
		       -EEXIST;
	if ((d = node_cidr_overlap(m, s->pod_cidr)))
		return ERR("pod_cidr: overlaps node %s's pod CIDR", d->spec.name), -EEXIST;
	if (prefix_owner(m, sl_cidr_host(s->ip), who, sizeof(who)))
		return ERR("ip: already routed to %s", who), -EEXIST;
	if (prefix_owner(m, s->pod_cidr, who, sizeof(who)))
		return ERR("pod_cidr: already routed to %s", who), -EEXIST;
	return 0;
}

static void node_unindex(struct sl_model *m, struct sl_model_node *n)
{
	sl_index_del(&m->node_by_name, sl_hash_str(n->spec.name, 0), n->id);
	sl_index_del(&m->node_by_ip, sl_ip_hash(n->spec.ip), n->id);
	sl_index_del(&m->node_by_cidr, cidr_hash(n->spec.pod_cidr), n->id);
	m->node_cidr_lens[n->spec.pod_cidr.addr.af == AF_INET6][n->spec.pod_cidr.len]--;
	slot_put(&m->nodes, n->id);
	m->obj_bytes -= sizeof(*n);
	free(n);
}

int sl_model_node_add(struct sl_model *m, const struct sl_node_spec *s, char *err,
		      size_t errlen)
{
	int rc = node_check(m, s, err, errlen);
	if (rc < 0)
		return rc;
	struct sl_model_node *n = calloc(1, sizeof(*n));
	if (!n)
		return ERR("out of memory"), -ENOMEM;
	if ((rc = slot_take(&m->nodes, &n->id)) < 0) {
		free(n);
		return rc == -ENOSPC ? ERR("node limit reached (limits.nodes: %u)", m->nodes.limit)
				     : ERR("out of memory"), rc;
	}
	n->spec = *s;
	m->nodes.obj[n->id] = n;
	m->obj_bytes += sizeof(*n);
	m->node_cidr_lens[s->pod_cidr.addr.af == AF_INET6][s->pod_cidr.len]++;
	if (sl_index_add(&m->node_by_name, sl_hash_str(s->name, 0), n->id) < 0 ||
	    sl_index_add(&m->node_by_ip, sl_ip_hash(s->ip), n->id) < 0 ||
	    sl_index_add(&m->node_by_cidr, cidr_hash(s->pod_cidr), n->id) < 0) {
		node_unindex(m, n);
		return ERR("out of memory"), -ENOMEM;
	}
	if (m->hooks.node_add && (rc = m->hooks.node_add(m->hooks.ctx, n, err, errlen)) < 0) {
		node_unindex(m, n);
		return rc;
	}
	return 0;
}

int sl_model_node_del(struct sl_model *m, const char *name, char *err, size_t errlen)
{
	struct sl_model_node *n = sl_model_node_find(m, name);
	if (!n)
		return ERR("node %s not found", name), -ENOENT;
	if (m->hooks.node_del)
		m->hooks.node_del(m->hooks.ctx, n);
	node_unindex(m, n);
	return 0;
}

/* Static routes. */

static int route_check(const struct sl_model *m, const struct sl_route_spec *s, char *err,
		       size_t errlen)
{
	char who[320];
	if (prefix_owner(m, s->prefix, who, sizeof(who)))
		return ERR("prefix: already routed to %s", who), -EEXIST;
	if (sl_cidr_overlaps(s->prefix, m->self.pod_cidr) && s->prefix.len >= m->self.pod_cidr.len)
		return ERR("prefix: inside this node's pod CIDR"), -EINVAL;
	if (sl_cidr_contains(m->self.pod_cidr, s->via) || sl_ip_eq(s->via, m->self.node_ip))
		return ERR("via: must be a neighbour on the uplink, not this node or its pods"),
		       -EINVAL;
	return 0;
}

static void route_unindex(struct sl_model *m, struct sl_model_route *r)
{
	sl_index_del(&m->route_by_prefix, cidr_hash(r->spec.prefix), r->id);
	slot_put(&m->routes, r->id);
	m->obj_bytes -= sizeof(*r);
	free(r);
}

int sl_model_route_add(struct sl_model *m, const struct sl_route_spec *s, char *err,
		       size_t errlen)
{
	int rc = route_check(m, s, err, errlen);
	if (rc < 0)
		return rc;
	struct sl_model_route *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR("out of memory"), -ENOMEM;
	if ((rc = slot_take(&m->routes, &r->id)) < 0) {
		free(r);
		return rc == -ENOSPC ? ERR("route limit reached (limits.routes: %u)", m->routes.limit)
				     : ERR("out of memory"), rc;
	}
	r->spec = *s;
	m->routes.obj[r->id] = r;
	m->obj_bytes += sizeof(*r);
	if (sl_index_add(&m->route_by_prefix, cidr_hash(s->prefix), r->id) < 0) {
		route_unindex(m, r);
		return ERR("out of memory"), -ENOMEM;
	}
	if (m->hooks.route_add && (rc = m->hooks.route_add(m->hooks.ctx, r, err, errlen)) < 0) {
		route_unindex(m, r);
		return rc;
	}
	return 0;
}

int sl_model_route_del(struct sl_model *m, struct sl_cidr prefix, char *err, size_t errlen)
{
	char b[SL_CIDR_STR_MAX];
	struct sl_model_route *r = sl_model_route_find(m, prefix);
	if (!r)
		return ERR("route %s not found", sl_cidr_fmt(prefix, b)), -ENOENT;
	if (m->hooks.route_del)
		m->hooks.route_del(m->hooks.ctx, r);
	route_unindex(m, r);
	return 0;
}

void sl_model_err_path(char *err, size_t errlen, const char *path, const char *why, bool bare)
{
	size_t field = strspn(why, "abcdefghijklmnopqrstuvwxyz_");
	if (field && why[field] == ':')
		snprintf(err, errlen, "%s.%s", path, why);
	else if (bare)
		snprintf(err, errlen, "%s", why);
	else
		snprintf(err, errlen, "%s: %s", path, why);
}
