/* Connection tracking table (see ct.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include "ct.h"
#include "ct_walk.h"
#include "dataplane/core/sl_dp.h"

struct sl_ct sl_ct;

enum { CLASS_TCP, CLASS_UDP, CLASS_ICMP };

static unsigned class_of(uint8_t proto)
{
	return proto == IPPROTO_TCP ? CLASS_TCP : proto == IPPROTO_ICMP ? CLASS_ICMP : CLASS_UDP;
}

static uint32_t or_default(uint32_t v, uint32_t d)
{
	return v ? v : d;
}

/* The hash and entry pool for size flows, named after tag. */
static int ct_create(uint32_t size, const char *tag, struct rte_hash **ret_h,
		     struct rte_mempool **ret_pool)
{
	char name[RTE_HASH_NAMESIZE];
	snprintf(name, sizeof(name), "sl_ct_%s", tag);
	/* Two keys per flow, and 1/16 more slots: a cuckoo table refuses some keys before it is
	 * completely full (0.29 % of 2 x 1,048,576), and the table is full when the entry pool
	 * is, not before (sluice-lb-bench fills it). */
	struct rte_hash *h = sl_dp_hash_create(name, size * 2 + size / 8, sizeof(struct sl_ct_key),
					       true);
	if (!h)
		return rte_errno ? -rte_errno : -ENOMEM;
	snprintf(name, sizeof(name), "sl_ctp_%s", tag);
	/* Per-lcore caches only when large: a small table must fill exactly at size. Entries
	 * packed (72 bytes with the pool's header, not 192 cache-aligned and spread): 122 bytes
	 * less per flow; workers write an entry's state and time rarely (ct.h), so sharing a
	 * line with a neighbour costs little. */
	struct rte_mempool *p = rte_mempool_create(name, size, sizeof(struct sl_ct_entry),
						   size >= 65536 ? 256 : 0, 0, NULL, NULL, NULL,
						   NULL, SOCKET_ID_ANY, RTE_MEMPOOL_F_NO_CACHE_ALIGN);
	if (!p) {
		rte_hash_free(h);
		return rte_errno ? -rte_errno : -ENOMEM;
	}
	*ret_h = h;
	*ret_pool = p;
	return 0;
}

int sl_ct_init(const struct sl_ct_conf *conf)
{
	struct sl_ct_conf c = conf ? *conf : (struct sl_ct_conf){ 0 };
	c.size = or_default(c.size, SL_CT_DEFAULT_SIZE);
	c.tcp_syn = or_default(c.tcp_syn, 60);
	c.tcp_established = or_default(c.tcp_established, 21600);
	c.tcp_fin = or_default(c.tcp_fin, 120);
	c.tcp_closed = or_default(c.tcp_closed, 10);
	c.udp = or_default(c.udp, 60);
	c.icmp = or_default(c.icmp, 30);
	if (c.size > (1u << 26)) {
		RTE_LOG(ERR, USER1, "conntrack: size %u: more than %u flows\n", c.size, 1u << 26);
		return -EINVAL;
	}
	int rc = ct_create(c.size, "main", &sl_ct.hash, &sl_ct.pool);
	if (rc < 0)
		return rc;
	sl_ct.conf = c;
	sl_ct.tsc_hz = rte_get_tsc_hz();
	uint64_t hz = sl_ct.tsc_hz;
	uint64_t *t = sl_ct.timeout_tsc[CLASS_TCP];
	t[SL_CT_NEW] = t[SL_CT_REPLIED] = t[SL_CT_SYN_SENT] = t[SL_CT_SYN_RECV] = c.tcp_syn * hz;
	t[SL_CT_ESTABLISHED] = c.tcp_established * hz;
	t[SL_CT_FIN_WAIT] = c.tcp_fin * hz;
	t[SL_CT_CLOSED] = c.tcp_closed * hz;
	for (unsigned s = 0; s < SL_CT_STATE_COUNT; s++) {
		sl_ct.timeout_tsc[CLASS_UDP][s] = c.udp * hz;
		sl_ct.timeout_tsc[CLASS_ICMP][s] = c.icmp * hz;
	}
	atomic_store(&sl_ct.insert_failed, 0);
	atomic_store(&sl_ct.snat_no_port, 0);
	sl_ct.age_cursor = 0;
	sl_ct.aged = sl_ct.flushed = 0;
	return 0;
}

void sl_ct_fini(void)
{
	rte_hash_free(sl_ct.hash);
	rte_mempool_free(sl_ct.pool);
	sl_ct.hash = NULL;
	sl_ct.pool = NULL;
}

size_t sl_ct_memsize(uint32_t size)
{
	struct rte_malloc_socket_stats a, b;
	struct rte_hash *h;
	struct rte_mempool *p;
	int socket = rte_socket_id_by_idx(0);
	rte_malloc_get_socket_stats(socket, &a);
	if (ct_create(size, "memsize", &h, &p) < 0)
		return 0;
	rte_malloc_get_socket_stats(socket, &b);
	rte_hash_free(h);
	rte_mempool_free(p);
	return b.heap_allocsz_bytes - a.heap_allocsz_bytes;
}

static inline void *tagged(struct sl_ct_entry *e, enum sl_ct_dir dir)
{
	return (void *)((uintptr_t)e | dir);
}

/* Fill e for a new flow fwd whose replies have key rev (see sl_ct_create_ex). */
static void entry_init(struct sl_ct_entry *e, const struct sl_ct_key *fwd,
		       const struct sl_ct_key *rev, uint32_t lb_slot, uint8_t tcp_flags,
		       uint64_t now_tsc)
{
	e->fwd = *fwd;
	e->rev = *rev;
	e->lb_slot = lb_slot;
	uint8_t st = SL_CT_NEW;
	if (fwd->proto == IPPROTO_TCP)
		st = (tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG
			     ? SL_CT_SYN_SENT
			     : SL_CT_ESTABLISHED; /* picked up mid-stream */
	atomic_store_explicit(&e->state, st, memory_order_relaxed);
	atomic_store_explicit(&e->fin, 0, memory_order_relaxed);
	atomic_store_explicit(&e->mark, 0, memory_order_relaxed);
	atomic_store_explicit(&e->aff, 0, memory_order_relaxed);
	atomic_store_explicit(&e->pol_stamp, 0, memory_order_relaxed);
	e->policy_only = 0;
	atomic_store_explicit(&e->last_tsc, now_tsc, memory_order_relaxed);
}

/* Publish e's reverse key, its forward key being in place. Returns e, or NULL (full). */
static struct sl_ct_entry *entry_add_rev(struct sl_ct_entry *e)
{
	if (unlikely(rte_hash_add_key_data(sl_ct.hash, &e->rev, tagged(e, SL_CT_REV)) < 0)) {
		/* Readers may hold e already: only the control thread frees. Mark it closed
		 * so the next ageing pass takes it. */
		atomic_store_explicit(&e->state, SL_CT_CLOSED, memory_order_relaxed);
		atomic_store_explicit(&e->last_tsc, 0, memory_order_relaxed);
		atomic_fetch_add_explicit(&sl_ct.insert_failed, 1, memory_order_relaxed);
		return NULL;
	}
	return e;
}

/* A new entry for fwd with reverse key rev, published under both keys; NULL when the table
 * is full (counted). pol_stamp: the policy generation it is allowed under (0: none). */
static struct sl_ct_entry *entry_create_pol(const struct sl_ct_key *fwd,
					    const struct sl_ct_key *rev, uint32_t lb_slot,
					    uint8_t tcp_flags, uint64_t now_tsc, uint32_t pol_stamp)
{
	void *obj;
	if (unlikely(rte_mempool_get(sl_ct.pool, &obj) < 0))
		goto full;
	struct sl_ct_entry *e = obj;
	entry_init(e, fwd, rev, lb_slot, tcp_flags, now_tsc);
	if (pol_stamp) {
		e->policy_only = 1;
		atomic_store_explicit(&e->pol_stamp, pol_stamp, memory_order_relaxed);
	}
	/* rte_hash publishes the data with a release store: readers see a whole entry. */
	if (unlikely(rte_hash_add_key_data(sl_ct.hash, &e->fwd, tagged(e, SL_CT_FWD)) < 0)) {
		rte_mempool_put(sl_ct.pool, e);
		goto full;
	}
	return entry_add_rev(e);
full:
	atomic_fetch_add_explicit(&sl_ct.insert_failed, 1, memory_order_relaxed);
	return NULL;
}

/* The reverse key of fwd translated to nat_ip:nat_port: its source, with snat (may be NULL)
 * its destination too, on a port of snat's range no flow to nat_ip:nat_port uses. False
 * when no such port was found (counted in snat_no_port). */
static bool reverse_key(const struct sl_ct_key *fwd, uint32_t nat_ip, uint16_t nat_port,
			const struct sl_ct_snat *snat, struct sl_ct_key *rev)
{
	*rev = (struct sl_ct_key){ .src = nat_ip, .dst = fwd->src, .sport = nat_port,
				   .dport = fwd->sport, .proto = fwd->proto };
	if (!snat)
		return true;
	rev->dst = snat->ip;
	unsigned n = snat->n_ports;
	uint32_t start = n ? rte_hash_crc(fwd, sizeof(*fwd), 0x5a17) % n : 0;
	for (unsigned i = 0; i < RTE_MIN(n, (unsigned)SL_CT_SNAT_TRIES); i++) {
		rev->dport = rte_cpu_to_be_16((uint16_t)(snat->port_lo + (start + i) % n));
		if (rte_hash_lookup(sl_ct.hash, rev) < 0)
			return true;
	}
	atomic_fetch_add_explicit(&sl_ct.snat_no_port, 1, memory_order_relaxed);
	return false;
}

static struct sl_ct_entry *entry_create(const struct sl_ct_key *fwd, const struct sl_ct_key *rev,
					uint32_t lb_slot, uint8_t tcp_flags, uint64_t now_tsc)
{
	return entry_create_pol(fwd, rev, lb_slot, tcp_flags, now_tsc, 0);
}

struct sl_ct_entry *sl_ct_create_policy(const struct sl_ct_key *fwd, uint8_t tcp_flags,
					uint64_t now_tsc, uint32_t stamp)
{
	struct sl_ct_key rev;
	reverse_key(fwd, fwd->dst, fwd->dport, NULL, &rev);
	return entry_create_pol(fwd, &rev, 0, tcp_flags, now_tsc, stamp ? stamp : 1);
}

struct sl_ct_entry *sl_ct_create_ex(const struct sl_ct_key *fwd, uint32_t nat_ip,
				    uint16_t nat_port, uint8_t tcp_flags, uint64_t now_tsc,
				    uint32_t lb_slot)
{
	struct sl_ct_key rev;
	reverse_key(fwd, nat_ip, nat_port, NULL, &rev);
	return entry_create(fwd, &rev, lb_slot, tcp_flags, now_tsc);
}

struct sl_ct_entry *sl_ct_create_snat(const struct sl_ct_key *fwd, uint32_t nat_ip,
				      uint16_t nat_port, const struct sl_ct_snat *snat,
				      uint8_t tcp_flags, uint64_t now_tsc, uint32_t lb_slot,
				      enum sl_ct_snat_fail *ret_why)
{
	struct sl_ct_key rev;
	*ret_why = SL_CT_SNAT_NO_PORT;
	if (unlikely(!reverse_key(fwd, nat_ip, nat_port, snat, &rev)))
		return NULL;
	*ret_why = SL_CT_SNAT_FULL;
	return entry_create(fwd, &rev, lb_slot, tcp_flags, now_tsc);
}

struct sl_ct_entry *sl_ct_reopen(struct sl_ct_entry *old, const struct sl_ct_key *fwd,
				 uint32_t nat_ip, uint16_t nat_port, const struct sl_ct_snat *snat,
				 uint8_t tcp_flags, uint64_t now_tsc, uint32_t lb_slot)
{
	uint8_t m = SL_CT_GONE;
	if (nat_ip == old->rev.src && nat_port == old->rev.sport) {
		/* The same backend again (it came back): the old entry serves the new flow (its
		 * source translation, which depends on the client and backend only, too). */
		if (!atomic_compare_exchange_strong(&old->mark, &m, 0))
			return NULL;
		atomic_store_explicit(&old->fin, 0, memory_order_relaxed);
		atomic_store_explicit(&old->state, SL_CT_SYN_SENT, memory_order_relaxed);
		atomic_store_explicit(&old->last_tsc, now_tsc, memory_order_relaxed);
		return old;
	}
	struct sl_ct_key rev;
	if (unlikely(!reverse_key(fwd, nat_ip, nat_port, snat, &rev)))
		return NULL;
	void *obj;
	if (unlikely(rte_mempool_get(sl_ct.pool, &obj) < 0)) {
		atomic_fetch_add_explicit(&sl_ct.insert_failed, 1, memory_order_relaxed);
		return NULL;
	}
	/* Claim old's forward key; the control thread, removing it, claims it first with
	 * SL_CT_REMOVING (then the SYN is dropped and retransmitted). */
	if (!atomic_compare_exchange_strong(&old->mark, &m, SL_CT_GONE | SL_CT_REPLACED)) {
		rte_mempool_put(sl_ct.pool, obj);
		return NULL;
	}
	struct sl_ct_entry *e = obj;
	entry_init(e, fwd, &rev, lb_slot, tcp_flags, now_tsc);
	/* The key exists (nobody deletes it now): rte_hash replaces its data, which cannot
	 * fail. old stays under its reverse key until ageing frees it. */
	rte_hash_add_key_data(sl_ct.hash, &e->fwd, tagged(e, SL_CT_FWD));
	return entry_add_rev(e);
}

static void entry_put(void *e)
{
	rte_mempool_put(sl_ct.pool, e);
}

/* Unlink e (the keys still its own) and free it after a grace period. Control thread. */
static void entry_remove(struct sl_ct_entry *e)
{
	void *data;
	/* From here no worker replaces e (sl_ct_reopen); one that did owns the forward key. */
	uint8_t m = atomic_fetch_or_explicit(&e->mark, SL_CT_REMOVING, memory_order_relaxed);
	if (m & SL_CT_REMOVING)
		return;
	/* The reverse key may have been taken over by a newer flow with the same reply
	 * 5-tuple: remove it only if it is still ours. */
	if (rte_hash_lookup_data(sl_ct.hash, &e->rev, &data) >= 0 && data == tagged(e, SL_CT_REV))
		rte_hash_del_key(sl_ct.hash, &e->rev);
	if (!(m & SL_CT_REPLACED) && rte_hash_lookup_data(sl_ct.hash, &e->fwd, &data) >= 0 &&
	    data == tagged(e, SL_CT_FWD))
		rte_hash_del_key(sl_ct.hash, &e->fwd);
	sl_dp_defer(entry_put, e);
}

void sl_ct_remove(struct sl_ct_entry *e)
{
	entry_remove(e);
}

unsigned sl_ct_age(uint64_t now_tsc, unsigned budget)
{
	if (!sl_ct.hash || sl_ct_count() == 0) {
		sl_ct.age_cursor = 0;
		return 0;
	}
	unsigned removed = 0;
	const void *key;
	void *data;
	for (unsigned seen = 0; seen < budget; seen++) {
		if (rte_hash_iterate(sl_ct.hash, &key, &data, &sl_ct.age_cursor) < 0) {
			sl_ct.age_cursor = 0; /* a full pass done: start over next time */
			break;
		}
		if ((uintptr_t)data & 1) {
			/* Reverse keys: the entry is handled under its forward key, unless a new
			 * flow took that over (sl_ct_reopen): then it goes now. */
			struct sl_ct_entry *r = (struct sl_ct_entry *)((uintptr_t)data & ~(uintptr_t)1);
			if (atomic_load_explicit(&r->mark, memory_order_relaxed) & SL_CT_REPLACED) {
				entry_remove(r);
				removed++;
			}
			continue;
		}
		struct sl_ct_entry *e = data;
		uint8_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
		uint64_t last = atomic_load_explicit(&e->last_tsc, memory_order_relaxed);
		uint64_t timeout = sl_ct.timeout_tsc[class_of(e->fwd.proto)][st];
		if ((atomic_load_explicit(&e->mark, memory_order_relaxed) & SL_CT_GONE) &&
		    timeout > sl_ct.timeout_tsc[CLASS_TCP][SL_CT_FIN_WAIT])
			timeout = sl_ct.timeout_tsc[CLASS_TCP][SL_CT_FIN_WAIT]; /* backend left */
		if (now_tsc > last && now_tsc - last > timeout) {
			entry_remove(e);
			removed++;
		}
	}
	sl_ct.aged += removed;
	return removed;
}

/* The flows of a backend (sl_ct_flush_backend, sl_ct_mark_gone): ip:port, and with vip set,
 * TCP flows of frontend vip:vport only. */
struct backend_flows {
	uint32_t vip, ip;
	uint16_t vport, port;
	unsigned n;
};

static bool of_backend(const struct sl_ct_entry *e, const struct backend_flows *b)
{
	if (e->rev.src != b->ip || (b->port && e->rev.sport != b->port))
		return false;
	return !b->vip || (e->fwd.proto == IPPROTO_TCP && e->fwd.dst == b->vip &&
			   e->fwd.dport == b->vport);
}

static bool flush_one(struct sl_ct_entry *e, void *arg)
{
	struct backend_flows *b = arg;
	if (of_backend(e, b)) {
		entry_remove(e);
		b->n++;
	}
	return true;
}

unsigned sl_ct_flush_backend(uint32_t ip, uint16_t port)
{
	struct backend_flows b = { .ip = ip, .port = port };
	sl_ct_walk(flush_one, &b);
	sl_ct.flushed += b.n;
	return b.n;
}

static bool mark_one(struct sl_ct_entry *e, void *arg)
{
	struct backend_flows *b = arg;
	if (of_backend(e, b)) {
		atomic_fetch_or_explicit(&e->mark, SL_CT_GONE, memory_order_relaxed);
		b->n++;
	}
	return true;
}

unsigned sl_ct_mark_gone(uint32_t vip, uint16_t vport, uint32_t ip, uint16_t port)
{
	struct backend_flows b = { .vip = vip, .vport = vport, .ip = ip, .port = port };
	sl_ct_walk(mark_one, &b);
	sl_ct.marked_gone += b.n;
	return b.n;
}

uint32_t sl_ct_count(void)
{
	/* Entries out of the pool (those waiting for their grace period included); rte_hash's
	 * count would include keys whose slots it has not reclaimed yet. */
	return sl_ct.pool ? rte_mempool_in_use_count(sl_ct.pool) : 0;
}
