/* The Service table's control side (see lb_table.h). */
#include <errno.h>
#include <stdio.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dataplane/core/sl_dp.h"
#include "lb_affinity.h"
#include "lb_prebuild.h"
#include "lb_stats.h"
#include "lb_table.h"

struct sl_lb sl_lb;

int sl_lb_init(const struct sl_lb_conf *conf)
{
	struct sl_lb_conf c = conf ? *conf : (struct sl_lb_conf){ 0 };
	if (!c.max_services)
		c.max_services = SL_LB_DEFAULT_SERVICES;
	if (!c.snat_port_lo && !c.snat_port_hi) {
		c.snat_port_lo = SL_LB_SNAT_PORT_LO;
		c.snat_port_hi = SL_LB_SNAT_PORT_HI;
	}
	unsigned nw = sl_dp.n_workers ? sl_dp.n_workers : 1;
	if (c.snat_port_lo < 1024 || c.snat_port_hi < c.snat_port_lo ||
	    c.snat_port_hi - c.snat_port_lo + 1u < nw * SL_CT_SNAT_TRIES) {
		RTE_LOG(ERR, USER1, "lb: SNAT ports %u-%u: need at least %u ports from 1024 up\n",
			c.snat_port_lo, c.snat_port_hi, nw * SL_CT_SNAT_TRIES);
		return -EINVAL;
	}
	sl_lb.services = sl_dp_hash_create("sl_lb_services", c.max_services,
					   sizeof(struct sl_lb_frontend), false);
	if (!sl_lb.services)
		return rte_errno ? -rte_errno : -ENOMEM;
	sl_lb.max_services = c.max_services;
	sl_lb.snat_port_lo = c.snat_port_lo;
	sl_lb.snat_port_hi = c.snat_port_hi;
	sl_lb.masquerade = c.masquerade;
	sl_lb.cluster_net = c.cluster_net & c.cluster_mask;
	sl_lb.cluster_mask = c.cluster_mask;
	sl_lb.n_services = 0;
	int rc = sl_lb_stats_init(c.max_services + 1, sl_dp.n_workers ? sl_dp.n_workers : 1);
	if (rc < 0) {
		sl_lb_fini();
		return rc;
	}
	rc = sl_ct_init(&c.ct);
	if (rc == 0)
		rc = sl_lb_affinity_init(c.affinity_size ? c.affinity_size
							 : RTE_MAX(sl_ct.conf.size / 4, 1024u));
	if (rc < 0)
		sl_lb_fini();
	else if (c.masquerade)
		atomic_store(&sl_lb.active, true);
	return rc;
}

void sl_lb_fini(void)
{
	const void *key;
	void *data;
	uint32_t it = 0;
	atomic_store(&sl_lb.active, false);
	while (sl_lb.services && rte_hash_iterate(sl_lb.services, &key, &data, &it) >= 0)
		rte_free(data);
	rte_hash_free(sl_lb.services);
	sl_lb.services = NULL;
	sl_lb.n_services = 0;
	sl_lb_stats_fini();
	sl_lb_prebuild_fini();
	sl_ct_fini();
	sl_lb_affinity_fini();
}

size_t sl_lb_service_size(unsigned n_backends, unsigned n_active)
{
	size_t m = n_active ? sl_maglev_size(n_active) : 0;
	size_t head = sizeof(struct sl_lb_service) + m * (n_backends > 256 ? 2 : 1);
	head = RTE_ALIGN_CEIL(head, alignof(struct sl_lb_backend));
	return head + n_backends * sizeof(struct sl_lb_backend);
}

static int cmp_backend(const void *a, const void *b)
{
	const struct sl_lb_backend *x = a, *y = b;
	uint64_t kx = (uint64_t)rte_be_to_cpu_32(x->ip) << 16 | rte_be_to_cpu_16(x->port);
	uint64_t ky = (uint64_t)rte_be_to_cpu_32(y->ip) << 16 | rte_be_to_cpu_16(y->port);
	if (kx != ky)
		return kx < ky ? -1 : 1;
	return (x->flags & SL_LB_BACKEND_TERMINATING) - (y->flags & SL_LB_BACKEND_TERMINATING);
}

/* Backends a Service's scratch arrays hold on the stack. */
#define SMALL_N 64

/* Insertion sort by cmp_backend for a few backends: stable, as glibc's qsort (a merge
 * sort), so equal keys keep their order either way. */
static void sort_small(struct sl_lb_backend *b, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct sl_lb_backend x = b[i];
		unsigned j = i;
		for (; j > 0 && cmp_backend(&b[j - 1], &x) > 0; j--)
			b[j] = b[j - 1];
		b[j] = x;
	}
}

unsigned sl_lb_backends_sort(const struct sl_lb_backend *b, unsigned n,
			     struct sl_lb_backend *sorted, unsigned *ret_u,
			     struct sl_maglev_backend *mb, uint16_t *mi)
{
	if (n) {
		memcpy(sorted, b, n * sizeof(*sorted));
		if (n <= SMALL_N)
			sort_small(sorted, n);
		else
			qsort(sorted, n, sizeof(*sorted), cmp_backend);
	}
	unsigned u = 0; /* duplicates: the non-terminating copy sorts first and is kept */
	for (unsigned i = 0; i < n; i++)
		if (u == 0 || sorted[u - 1].ip != sorted[i].ip || sorted[u - 1].port != sorted[i].port)
			sorted[u++] = sorted[i];
	unsigned n_active = 0;
	for (unsigned i = 0; i < u; i++) {
		if (sorted[i].flags & SL_LB_BACKEND_TERMINATING)
			continue;
		mb[n_active] = (struct sl_maglev_backend){ sorted[i].ip, sorted[i].port,
							   sorted[i].weight };
		if (mi)
			mi[n_active] = (uint16_t)i;
		n_active++;
	}
	*ret_u = u;
	return n_active;
}

static void service_free(void *p)
{
	rte_free(p);
}

/* Check the frontend; log the field at fault. */
static int frontend_ok(const struct sl_lb_frontend *fe)
{
	if (fe->proto != IPPROTO_TCP && fe->proto != IPPROTO_UDP && fe->proto != IPPROTO_SCTP) {
		RTE_LOG(ERR, USER1, "lb: frontend.proto %u: not TCP, UDP or SCTP\n", fe->proto);
		return -EINVAL;
	}
	if (fe->vip == 0 || fe->port == 0 || fe->pad != 0) {
		RTE_LOG(ERR, USER1, "lb: frontend %s: must be set (and pad 0)\n",
			fe->vip == 0 ? "vip" : fe->port == 0 ? "port" : "pad");
		return -EINVAL;
	}
	return 0;
}

/* Check the options; log the field at fault. */
static int opts_ok(const struct sl_lb_service_opts *o)
{
	if (o->affinity_s > SL_LB_AFFINITY_MAX_S) {
		RTE_LOG(ERR, USER1, "lb: affinity_s %u: more than %u\n", o->affinity_s,
			SL_LB_AFFINITY_MAX_S);
		return -EINVAL;
	}
	if (!(o->flags & SL_LB_SVC_SOURCE_RANGES))
		return 0;
	if (o->n_ranges > SL_LB_MAX_SOURCE_RANGES || (o->n_ranges && !o->ranges)) {
		RTE_LOG(ERR, USER1, "lb: ranges: %u, more than %u\n", o->n_ranges,
			SL_LB_MAX_SOURCE_RANGES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->n_ranges; i++) {
		const struct sl_lb_cidr *c = &o->ranges[i];
		uint32_t mask = c->len == 0 ? 0 : c->len >= 32 ? ~0u : ~0u << (32 - c->len);
		if (c->len > 32 || (rte_be_to_cpu_32(c->ip) & ~mask)) {
			RTE_LOG(ERR, USER1, "lb: ranges[%u].%s\n", i,
				c->len > 32 ? "len: over 32" : "ip: host bits set");
			return -EINVAL;
		}
	}
	return 0;
}

const struct sl_lb_backend *sl_lb_active_backend(const struct sl_lb_service *s, uint32_t ip,
						 uint16_t port)
{
	uint64_t k = (uint64_t)rte_be_to_cpu_32(ip) << 16 | rte_be_to_cpu_16(port);
	unsigned lo = 0, hi = s->n_backends;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct sl_lb_backend *b = &s->backends[mid];
		uint64_t kb = (uint64_t)rte_be_to_cpu_32(b->ip) << 16 | rte_be_to_cpu_16(b->port);
		if (kb == k)
			return b->flags & SL_LB_BACKEND_TERMINATING ? NULL : b;
		if (kb < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int sl_lb_service_set(const struct sl_lb_frontend *fe, const struct sl_lb_backend *b,
		      unsigned n, uint32_t flags)
{
	struct sl_lb_service_opts o = { .flags = flags };
	return sl_lb_service_set_opts(fe, b, n, &o);
}

int sl_lb_service_set_opts(const struct sl_lb_frontend *fe, const struct sl_lb_backend *b,
			   unsigned n, const struct sl_lb_service_opts *o)
{
	if (!sl_lb.services)
		return -ENODEV;
	uint32_t flags = o->flags;
	int rc = frontend_ok(fe);
	if (rc == 0)
		rc = opts_ok(o);
	if (rc < 0)
		goto reject;
	if (n > SL_LB_MAX_BACKENDS) {
		RTE_LOG(ERR, USER1, "lb: backends: %u, more than %u\n", n, SL_LB_MAX_BACKENDS);
		rc = -E2BIG;
		goto reject;
	}
	for (unsigned i = 0; i < n; i++) {
		if (b[i].ip == 0 || b[i].port == 0) {
			RTE_LOG(ERR, USER1, "lb: backends[%u].%s: must be set\n", i,
				b[i].ip == 0 ? "ip" : "port");
			rc = -EINVAL;
			goto reject;
		}
	}
	void *old = NULL;
	bool exists = rte_hash_lookup_data(sl_lb.services, fe, &old) >= 0;
	if (!exists && sl_lb.n_services >= sl_lb.max_services) {
		RTE_LOG(ERR, USER1, "lb: services: limit of %u reached\n", sl_lb.max_services);
		rc = -ENOSPC;
		goto reject;
	}

	/* Sorted by address, duplicates merged. Scratch on the stack for the usual counts (no
	 * three mallocs per Service in a load of 100,000). */
	struct sl_lb_backend sorted_st[SMALL_N];
	struct sl_maglev_backend mb_st[SMALL_N];
	uint16_t mi_st[SMALL_N];
	bool small = n <= SMALL_N;
	struct sl_lb_backend *sorted = small ? sorted_st : malloc(n * sizeof(*sorted));
	struct sl_maglev_backend *mb = small ? mb_st : malloc(n * sizeof(*mb));
	uint16_t *mi = small ? mi_st : malloc(n * sizeof(*mi));
	if (!sorted || !mb || !mi) {
		rc = -ENOMEM;
		goto out;
	}
	unsigned u, n_active = sl_lb_backends_sort(b, n, sorted, &u, mb, mi);

	unsigned n_ranges = flags & SL_LB_SVC_SOURCE_RANGES ? o->n_ranges : 0;
	size_t sz = sl_lb_service_size(u, n_active), ranges_at = sz;
	sz += n_ranges * sizeof(struct sl_lb_cidr);
	struct sl_lb_service *s = rte_zmalloc("sl_lb_service", sz, RTE_CACHE_LINE_SIZE);
	if (!s) {
		rc = -ENOMEM;
		goto out;
	}
	s->fe = *fe;
	s->flags = flags;
	s->n_backends = (uint16_t)u;
	s->n_active = (uint16_t)n_active;
	s->m = n_active ? sl_maglev_size(n_active) : 0;
	s->wide = u > 256;
	s->affinity_s = o->affinity_s;
	s->affinity_tsc = o->affinity_s * rte_get_tsc_hz();
	s->aff_vip = o->aff_vip ? o->aff_vip : fe->vip;
	s->aff_port = o->aff_vip ? o->aff_port : fe->port;
	s->n_ranges = (uint16_t)n_ranges;
	struct sl_lb_cidr *rg = (struct sl_lb_cidr *)((uint8_t *)s + ranges_at);
	if (n_ranges)
		memcpy(rg, o->ranges, n_ranges * sizeof(*rg));
	s->ranges = rg;
	struct sl_lb_backend *be = (struct sl_lb_backend *)((uint8_t *)s + ranges_at -
							    u * sizeof(struct sl_lb_backend));
	if (u)
		memcpy(be, sorted, u * sizeof(*be));
	s->backends = be;
	if (n_active) {
		const uint16_t *slots = sl_lb_maglev_table(mb, n_active, s->m, &rc);
		if (!slots) {
			rte_free(s);
			goto out;
		}
		/* Maglev index -> backends[] index, in 1 byte a slot when that is enough. */
		if (s->wide)
			for (uint32_t i = 0; i < s->m; i++)
				((uint16_t *)s->table)[i] = mi[slots[i]];
		else if (n_active == u) /* none terminating: mi is the identity, a plain copy */
			for (uint32_t i = 0; i < s->m; i++)
				s->table[i] = (uint8_t)slots[i];
		else
			for (uint32_t i = 0; i < s->m; i++)
				s->table[i] = (uint8_t)mi[slots[i]];
	}
	/* Counters: a replaced entry goes on with its frontend's slot. */
	s->stats_slot = exists ? ((const struct sl_lb_service *)old)->stats_slot
			       : sl_lb_stats_slot_alloc();
	/* Publish: for an existing key rte_hash replaces the data with an atomic store. */
	rc = rte_hash_add_key_data(sl_lb.services, fe, s);
	if (rc < 0) {
		RTE_LOG(ERR, USER1, "lb: services: hash insert failed (%d)\n", rc);
		if (!exists)
			sl_lb_stats_slot_release(s->stats_slot);
		rte_free(s);
		goto out;
	}
	rc = 0;
	if (exists)
		sl_dp_defer(service_free, old);
	else
		sl_lb.n_services++;
	sl_lb.sets++;
	atomic_store_explicit(&sl_lb.active, true, memory_order_release);
out:
	if (!small) {
		free(sorted);
		free(mb);
		free(mi);
	}
	return rc;
reject:
	sl_lb.rejects++;
	return rc;
}

int sl_lb_service_del(const struct sl_lb_frontend *fe)
{
	void *old;
	if (!sl_lb.services || rte_hash_lookup_data(sl_lb.services, fe, &old) < 0)
		return -ENOENT;
	rte_hash_del_key(sl_lb.services, fe);
	sl_lb_stats_slot_release(((const struct sl_lb_service *)old)->stats_slot);
	sl_dp_defer(service_free, old);
	sl_lb.n_services--;
	sl_lb.dels++;
	return 0;
}

unsigned sl_lb_age(uint64_t now_tsc, unsigned budget)
{
	unsigned removed = sl_ct_age(now_tsc, budget);
	sl_lb_affinity_age(now_tsc, budget);
	if (sl_lb.n_services == 0 && sl_ct_count() == 0 && !sl_lb.masquerade)
		atomic_store_explicit(&sl_lb.active, false, memory_order_relaxed);
	return removed;
}
