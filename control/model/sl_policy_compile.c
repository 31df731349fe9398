/* The NetworkPolicy compiler: per policy, its selectors resolved to pod addresses, ipBlock
 * minus except split into prefixes, named ports resolved per pod, into sl_pol_rule lists;
 * the node's set assembled from the policies' parts (see sl_policy.h); `policy check` is
 * sl_policy_check.c. Control thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_policy_int.h"

/* Compiled rules one policy may produce (selected pods x peers x ports): beyond it the
 * policy keeps no rules (it still isolates: fails closed) and says so on stderr. */
#define POL_MAX_COMPILED (8u << 20)

/* A growable array of T. */
#define VEC(T)                 \
	struct {               \
		T *v;          \
		uint32_t n, cap; \
	}

static int vec_grow(void **v, uint32_t *cap, uint32_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	uint32_t c = *cap ? *cap : 16;
	while (c < need) {
		if (c > UINT32_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	void *nv = realloc(*v, (size_t)c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

#define VEC_PUSH(vec, x)                                                                    \
	(vec_grow((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v)) < 0            \
		 ? -ENOMEM                                                                  \
		 : ((vec).v[(vec).n++] = (x), 0))

/* A peer of one rule: a prefix, and the pod when it is one (named egress ports). */
struct peer {
	uint32_t net; /* host order */
	uint8_t len;
	const struct sl_kpod_spec *pod;
};

/* A destination side: proto and port range. */
struct pport {
	uint8_t proto;
	uint16_t lo, hi;
};

/* A peer prefix with its port range (egress: resolved per peer pod). */
struct pdest {
	uint32_t net;
	uint8_t len;
	struct pport pp;
};

static uint32_t host_ip(struct sl_ip ip)
{
	return ntohl(ip.v4);
}

static uint32_t mask_of(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

void pol_part_free(struct pol *p)
{
	p->in_set = false;
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		free(p->rules[d]);
		free(p->isolated[d]);
		p->rules[d] = NULL;
		p->isolated[d] = NULL;
		p->n_rules[d] = p->n_isolated[d] = 0;
	}
}

/* net/len minus the excepts, as prefixes: split in halves until a half is clear of every
 * except or inside one. At most 32 * 2 * n_except prefixes. */
static int block_split(uint32_t net, uint8_t len, const struct sl_np_peer *pe, void *out)
{
	VEC(struct peer) *v = out;
	bool partial = false;
	for (unsigned i = 0; i < pe->n_except; i++) {
		uint32_t en = host_ip(pe->except[i].addr);
		uint8_t el = pe->except[i].len;
		if (el <= len && (net & mask_of(el)) == en)
			return 0; /* inside an except */
		if (el > len && (en & mask_of(len)) == net)
			partial = true;
	}
	if (!partial)
		return VEC_PUSH(*v, ((struct peer){ net, len, NULL }));
	int rc = block_split(net, (uint8_t)(len + 1), pe, out);
	return rc ? rc : block_split(net | (1u << (31 - len)), (uint8_t)(len + 1), pe, out);
}

/* The pods of group G that selector sel may match: those carrying its most selective
 * matchLabels entry (the pod index), else every pod of G. Each still has to be matched. */
static const uint32_t *sel_candidates(const struct sl_pol_store *st, const struct pol_group *G,
				      const struct sl_selector *sel, uint32_t *n)
{
	*n = G->n_pods;
	const uint32_t *ids = G->pods;
	for (unsigned i = 0; sel && i < sel->match.n; i++) {
		const struct pol_bucket *b = pol_bucket_find(
			&st->pod_ix, pol_label_hash(G->id, sel->match.v[i].key, sel->match.v[i].value));
		if (!b || !b->n) {
			*n = 0;
			return NULL;
		}
		if (b->n < *n) {
			*n = b->n;
			ids = b->ids;
		}
	}
	return ids;
}

/* The peers of rule r of policy p (group g): pods by selectors, ipBlocks split, or
 * everything (0.0.0.0/0) when from/to is empty. */
static int rule_peers(const struct sl_pol_store *st, const struct sl_np_spec *sp,
		      const struct pol_group *g, const struct sl_np_rule *r, void *out)
{
	VEC(struct peer) *v = out;
	int rc;
	if (!r->n_peers)
		return VEC_PUSH(*v, ((struct peer){ 0, 0, NULL }));
	for (unsigned k = 0; k < r->n_peers; k++) {
		const struct sl_np_peer *pe = &r->peers[k];
		if (pe->kind == SL_PEER_IPBLOCK) {
			if (!pe->v6 && (rc = block_split(host_ip(pe->cidr.addr), pe->cidr.len, pe, out)))
				return rc;
			continue;
		}
		uint32_t gi = 0;
		const struct pol_group *G;
		for (;;) {
			if (pe->has_ns_sel) {
				struct sl_labels tmp;
				struct sl_label tl;
				if (!(G = sl_named_next(&st->groups, &gi)))
					break;
				/* The namespace once, then its pods. */
				if (!sl_selector_match(&pe->ns_sel, pol_ns_labels(G, &tmp, &tl)))
					continue;
			} else {
				if (gi++)
					break;
				G = g;
			}
			uint32_t n;
			const uint32_t *ids =
				sel_candidates(st, G, pe->has_pod_sel ? &pe->pod_sel : NULL, &n);
			for (uint32_t i = 0; i < n; i++) {
				const struct sl_kpod_spec *s =
					((struct kpod *)st->pods.slots.obj[ids[i]])->pub.spec;
				if (pol_pod_addressed(s) &&
				    (!pe->has_pod_sel || sl_selector_match(&pe->pod_sel, &s->labels)) &&
				    (rc = VEC_PUSH(*v, ((struct peer){ host_ip(s->ip), 32, s }))))
					return rc;
			}
		}
	}
	return 0;
}

/* The port ranges of port entry pt on pod s (a named port resolved on s: every container
 * port with that name and protocol; none when s is NULL or has none). */
static int port_ranges(const struct sl_np_port *pt, const struct sl_kpod_spec *s, void *out)
{
	VEC(struct pport) *v = out;
	int rc;
	if (!pt->name[0]) {
		uint16_t lo = pt->port ? pt->port : 0;
		uint16_t hi = pt->end_port ? pt->end_port : pt->port ? pt->port : 65535;
		return VEC_PUSH(*v, ((struct pport){ pt->proto, lo, hi }));
	}
	for (unsigned i = 0; s && i < s->n_ports; i++)
		if (s->ports[i].proto == pt->proto && !strcmp(s->ports[i].name, pt->name) &&
		    (rc = VEC_PUSH(*v, ((struct pport){ pt->proto, s->ports[i].port,
							s->ports[i].port }))))
			return rc;
	return 0;
}

/* Rules grouped by everything but the peer (pod, protocol, ports, rule), peers in address
 * order within a group, shorter prefixes first. */
static int rule_cmp(const void *a, const void *b)
{
	const struct sl_pol_rule *x = a, *y = b;
	if (x->pod_ip != y->pod_ip)
		return x->pod_ip < y->pod_ip ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port_lo != y->port_lo)
		return x->port_lo < y->port_lo ? -1 : 1;
	if (x->port_hi != y->port_hi)
		return x->port_hi < y->port_hi ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	if (x->peer_net != y->peer_net)
		return x->peer_net < y->peer_net ? -1 : 1;
	return x->peer_len < y->peer_len ? -1 : x->peer_len > y->peer_len;
}

static bool same_group(const struct sl_pol_rule *x, const struct sl_pol_rule *y)
{
	return x->pod_ip == y->pod_ip && x->proto == y->proto && x->port_lo == y->port_lo &&
	       x->port_hi == y->port_hi && x->rule == y->rule;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t sort_unique_u32(uint32_t *v, uint32_t n)
{
	uint32_t k = 0;
	if (n > 1)
		qsort(v, n, sizeof(*v), u32_cmp);
	for (uint32_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

/* Sort, and within each group (same pod, protocol, ports and rule) aggregate the peers:
 * drop a prefix inside the one before, merge two sibling prefixes into their parent
 * (pod /32s of one namespace are often contiguous). Exact: the same addresses match. */
static uint32_t sort_unique_rules(struct sl_pol_rule *v, uint32_t n)
{
	uint32_t k = 0;
	if (n > 1)
		qsort(v, n, sizeof(*v), rule_cmp);
	for (uint32_t i = 0; i < n; i++) {
		struct sl_pol_rule r = v[i];
		/* Inside the last kept prefix of the group: nothing new. */
		if (k && same_group(&v[k - 1], &r) && v[k - 1].peer_len <= r.peer_len &&
		    (r.peer_net & mask_of(v[k - 1].peer_len)) == v[k - 1].peer_net)
			continue;
		v[k++] = r;
		/* Merge siblings on the stack's top while they pair up. */
		while (k >= 2 && same_group(&v[k - 2], &v[k - 1])) {
			struct sl_pol_rule *x = &v[k - 2], *y = &v[k - 1];
			uint8_t len = x->peer_len;
			if (!len || y->peer_len != len ||
			    (x->peer_net & mask_of((uint8_t)(len - 1))) != (y->peer_net & mask_of((uint8_t)(len - 1))) ||
			    x->peer_net == y->peer_net)
				break;
			x->peer_len = (uint8_t)(len - 1);
			x->peer_net &= mask_of(x->peer_len);
			k--;
			/* The parent may now cover the one before it? No: sorted order puts a
			 * covering prefix first; it may pair with the one before: loop. */
		}
	}
	return k;
}

int pol_compile(const struct sl_model *m, struct sl_pol_store *st, struct pol *p)
{
	const struct sl_np_spec *sp = p->pub.spec;
	const struct pol_group *g = st->groups.slots.obj[p->group];
	VEC(const struct sl_kpod_spec *) sel = { 0 };
	VEC(struct peer) peers = { 0 };
	VEC(struct pport) pp = { 0 };
	VEC(struct pdest) dst = { 0 };
	VEC(struct sl_pol_rule) out = { 0 };
	int rc = 0;
	pol_part_free(p);
	/* The local pods it selects. */
	uint32_t n_cand;
	const uint32_t *cand = sel_candidates(st, g, &sp->pod_sel, &n_cand);
	for (uint32_t i = 0; i < n_cand; i++) {
		const struct sl_kpod_spec *s = ((struct kpod *)st->pods.slots.obj[cand[i]])->pub.spec;
		if (pol_pod_addressed(s) && sl_selector_match(&sp->pod_sel, &s->labels) &&
		    sl_model_pod_by_ip(m, s->ip) && (rc = VEC_PUSH(sel, s)))
			goto fail;
	}
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		if (!sp->types[d] || !sel.n)
			continue;
		if (!(p->isolated[d] = malloc(sel.n * sizeof(uint32_t)))) {
			rc = -ENOMEM;
			goto fail;
		}
		for (uint32_t i = 0; i < sel.n; i++)
			p->isolated[d][i] = host_ip(sel.v[i]->ip);
		p->n_isolated[d] = sort_unique_u32(p->isolated[d], sel.n);
		out.n = 0;
		for (unsigned ri = 0; ri < sp->n_rules[d]; ri++) {
			const struct sl_np_rule *r = &sp->rules[d][ri];
			struct sl_np_port any = { 0 };
			unsigned nports = r->n_ports ? r->n_ports : 1;
			peers.n = 0;
			if ((rc = rule_peers(st, sp, g, r, &peers)))
				goto fail;
			if (d == SL_POL_EGRESS) {
				/* Destinations do not depend on the selected pod: resolve once. */
				dst.n = 0;
				for (uint32_t e = 0; e < peers.n; e++)
					for (unsigned k = 0; k < nports; k++) {
						const struct sl_np_port *pt = r->n_ports ? &r->ports[k] : &any;
						pp.n = 0;
						if (!r->n_ports) {
							rc = VEC_PUSH(pp, ((struct pport){ 0, 0, 65535 }));
						} else if (pt->name[0] && !peers.v[e].pod) {
							/* A named port to addresses: the pods there. */
							uint32_t gi = 0;
							const struct pol_group *G;
							while (!rc && (G = sl_named_next(&st->groups, &gi)))
								for (uint32_t i = 0; !rc && i < G->n_pods; i++) {
									const struct sl_kpod_spec *s =
										((struct kpod *)st->pods.slots.obj[G->pods[i]])->pub.spec;
									uint32_t ip = host_ip(s->ip);
									uint32_t at = pp.n;
									if (!pol_pod_addressed(s) ||
									    (ip & mask_of(peers.v[e].len)) != peers.v[e].net)
										continue;
									rc = port_ranges(pt, s, &pp);
									for (uint32_t j = at; !rc && j < pp.n; j++)
										rc = VEC_PUSH(dst, ((struct pdest){ ip, 32, pp.v[j] }));
									pp.n = at;
								}
							if (rc)
								goto fail;
							continue;
						} else {
							rc = port_ranges(pt, peers.v[e].pod, &pp);
						}
						for (uint32_t j = 0; !rc && j < pp.n; j++)
							rc = VEC_PUSH(dst, ((struct pdest){ peers.v[e].net,
										    peers.v[e].len, pp.v[j] }));
						if (rc)
							goto fail;
					}
				if (rc)
					goto fail;
				if ((uint64_t)sel.n * dst.n + out.n > POL_MAX_COMPILED)
					goto too_big;
				for (uint32_t s = 0; s < sel.n; s++)
					for (uint32_t j = 0; j < dst.n; j++) {
						struct sl_pol_rule x = {
							.pod_ip = host_ip(sel.v[s]->ip),
							.peer_net = dst.v[j].net, .peer_len = dst.v[j].len,
							.proto = dst.v[j].pp.proto,
							.port_lo = dst.v[j].pp.lo, .port_hi = dst.v[j].pp.hi,
							.policy = p->pub.id, .rule = ri };
						if ((rc = VEC_PUSH(out, x)))
							goto fail;
					}
				continue;
			}
			/* Ingress: ports on the selected pod. */
			for (uint32_t s = 0; s < sel.n; s++) {
				pp.n = 0;
				for (unsigned k = 0; k < nports && !rc; k++)
					rc = r->n_ports ? port_ranges(&r->ports[k], sel.v[s], &pp)
							: VEC_PUSH(pp, ((struct pport){ 0, 0, 65535 }));
				if (rc)
					goto fail;
				if ((uint64_t)peers.n * pp.n + out.n > POL_MAX_COMPILED)
					goto too_big;
				for (uint32_t e = 0; e < peers.n; e++)
					for (uint32_t j = 0; j < pp.n; j++) {
						struct sl_pol_rule x = {
							.pod_ip = host_ip(sel.v[s]->ip),
							.peer_net = peers.v[e].net, .peer_len = peers.v[e].len,
							.proto = pp.v[j].proto,
							.port_lo = pp.v[j].lo, .port_hi = pp.v[j].hi,
							.policy = p->pub.id, .rule = ri };
						if ((rc = VEC_PUSH(out, x)))
							goto fail;
					}
			}
		}
		p->n_rules[d] = sort_unique_rules(out.v, out.n);
		p->rules[d] = out.v;
		out.v = NULL;
		out.n = out.cap = 0;
		continue;
	too_big:
		fprintf(stderr, "sluiced: networkpolicy %s/%s: more than %u compiled rules; it "
			"allows nothing until it is smaller\n", sp->namespace, sp->name,
			POL_MAX_COMPILED);
		out.n = 0;
	}
	free(out.v);
	free(sel.v);
	free(peers.v);
	free(pp.v);
	free(dst.v);
	return 0;
fail:
	free(out.v);
	free(sel.v);
	free(peers.v);
	free(pp.v);
	free(dst.v);
	pol_part_free(p);
	return rc;
}

/* The set. */

/* Make *v hold at least need elements (never shrinks; contents kept). 0 or -ENOMEM. */
static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = need + need / 4;
	void *n = realloc(*v, c * size);
	if (!n)
		return -ENOMEM;
	*v = n;
	*cap = c;
	return 0;
}

const struct sl_pol_set *sl_model_policy_set(struct sl_model *m)
{
	struct sl_pol_store *st = sl_model_pols(m);
	struct pol *p;
	uint32_t i, n_dirty = st->n_dirty;
	for (i = 0; i < n_dirty; i++) {
		p = st->pols.slots.obj[st->dirty[i]];
		if (!p || !p->dirty)
			continue;
		if (pol_compile(m, st, p) < 0) {
			/* Keep what is left to do: the dirty ones from here. */
			memmove(st->dirty, st->dirty + i, (n_dirty - i) * sizeof(*st->dirty));
			st->n_dirty = n_dirty - i;
			return NULL;
		}
		p->dirty = false;
	}
	st->n_dirty = 0;
	if (!st->changed)
		return &st->set;
	size_t n_rules[SL_POL_NDIRS] = { 0 }, n_iso[SL_POL_NDIRS] = { 0 };
	for (i = 0; (p = sl_named_next(&st->pols, &i));)
		for (int d = 0; d < SL_POL_NDIRS; d++) {
			n_rules[d] += p->n_rules[d];
			n_iso[d] += p->n_isolated[d];
		}
	/* Grow the set's arrays (reused from one assembly to the next: no page faults for a
	 * set of millions of rules); a failure leaves the last set as it was. */
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		if (grow((void **)&st->set.dir[d].rules, &st->cap_rules[d], n_rules[d],
			 sizeof(struct sl_pol_rule)) ||
		    grow((void **)&st->set.dir[d].isolated, &st->cap_iso[d], n_iso[d], sizeof(uint32_t)) ||
		    grow((void **)&st->set.dir[d].isolated_by, &st->cap_iso_by[d], n_iso[d],
			 sizeof(uint32_t)))
			return NULL;
	}
	/* (pod, policy) pairs: each isolated pod once, with the first policy selecting it. */
	uint64_t *pairs[SL_POL_NDIRS] = { NULL, NULL };
	for (int d = 0; d < SL_POL_NDIRS; d++)
		if (!(pairs[d] = malloc((n_iso[d] ? n_iso[d] : 1) * sizeof(uint64_t)))) {
			free(pairs[0]);
			return NULL;
		}
	size_t cap_names = st->cap_names;
	if (grow((void **)&st->set.names, &st->cap_names, st->pols.slots.cap, sizeof(*st->set.names))) {
		free(pairs[0]);
		free(pairs[1]);
		return NULL;
	}
	struct sl_pol_set *ns = &st->set;
	/* The names only when a policy came or went; the rules of a policy not compiled again
	 * only when they move (a policy before it grew, shrank or went): a label change
	 * recompiles a few policies of thousands, and copying every rule (50 MiB at 2 million
	 * rules) was most of its cost. */
	bool names = st->names_stale || cap_names != st->cap_names ||
		     ns->n_policies != st->pols.slots.cap;
	if (names && st->pols.slots.cap)
		memset(ns->names, 0, st->pols.slots.cap * sizeof(*ns->names));
	ns->n_policies = st->pols.slots.cap;
	for (int d = 0; d < SL_POL_NDIRS; d++)
		ns->dir[d].n_rules = ns->dir[d].n_isolated = 0;
	for (i = 0; (p = sl_named_next(&st->pols, &i));) {
		/* "ns/name" cut at SL_POL_NAME_MAX (names longer than ~190 characters). */
		if (names && snprintf(ns->names[p->pub.id], sizeof(ns->names[0]), "%s/%.*s",
				      p->pub.spec->namespace, SL_POL_NAME_MAX - SL_K8S_NS_MAX,
				      p->pub.spec->name) < 0)
			ns->names[p->pub.id][0] = 0;
		for (int d = 0; d < SL_POL_NDIRS; d++) {
			struct sl_pol_dir_set *ds = &ns->dir[d];
			if (p->n_rules[d] && !(p->in_set && p->set_off[d] == ds->n_rules))
				memcpy(ds->rules + ds->n_rules, p->rules[d],
				       p->n_rules[d] * sizeof(*p->rules[d]));
			p->set_off[d] = ds->n_rules;
			for (uint32_t k = 0; k < p->n_isolated[d]; k++)
				pairs[d][ds->n_isolated + k] =
					(uint64_t)p->isolated[d][k] << 32 | p->pub.id;
			ds->n_rules += p->n_rules[d];
			ds->n_isolated += p->n_isolated[d];
		}
		p->in_set = true;
	}
	st->names_stale = false;
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		struct sl_pol_dir_set *ds = &ns->dir[d];
		uint32_t n = 0;
		if (ds->n_isolated > 1)
			qsort(pairs[d], ds->n_isolated, sizeof(uint64_t), u64_cmp);
		for (uint32_t k = 0; k < ds->n_isolated; k++) {
			uint32_t ip = (uint32_t)(pairs[d][k] >> 32);
			if (n && ds->isolated[n - 1] == ip)
				continue; /* a later (higher) policy id of the same pod */
			ds->isolated[n] = ip;
			ds->isolated_by[n++] = (uint32_t)pairs[d][k];
		}
		ds->n_isolated = n;
		free(pairs[d]);
	}
	ns->generation = st->generation;
	st->changed = false;
	return &st->set;
}

struct sl_pol_set *sl_pol_set_copy(const struct sl_pol_set *s)
{
	struct sl_pol_set *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = *s;
	c->names = NULL;
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		c->dir[d].rules = NULL;
		c->dir[d].isolated = NULL;
		c->dir[d].isolated_by = NULL;
	}
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		const struct sl_pol_dir_set *x = &s->dir[d];
		if ((x->n_rules && !(c->dir[d].rules = malloc(x->n_rules * sizeof(*x->rules)))) ||
		    (x->n_isolated && !(c->dir[d].isolated = malloc(x->n_isolated * sizeof(uint32_t)))) ||
		    (x->n_isolated && x->isolated_by &&
		     !(c->dir[d].isolated_by = malloc(x->n_isolated * sizeof(uint32_t)))))
			goto nomem;
		if (x->n_isolated && x->isolated_by)
			memcpy(c->dir[d].isolated_by, x->isolated_by, x->n_isolated * sizeof(uint32_t));
		if (x->n_rules)
			memcpy(c->dir[d].rules, x->rules, x->n_rules * sizeof(*x->rules));
		if (x->n_isolated)
			memcpy(c->dir[d].isolated, x->isolated, x->n_isolated * sizeof(uint32_t));
	}
	if (s->n_policies) {
		if (!(c->names = malloc(s->n_policies * sizeof(*s->names))))
			goto nomem;
		memcpy(c->names, s->names, s->n_policies * sizeof(*s->names));
	}
	return c;
nomem:
	sl_pol_set_free(c);
	return NULL;
}
