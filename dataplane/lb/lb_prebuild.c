/* Maglev tables built ahead (see lb_prebuild.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "lb_prebuild.h"

enum { TODO, DONE, FAILED };

/* One backend set to build: its backends in mbs[mb_at..], its table in slots[slot_at..]. */
struct entry {
	uint32_t hash, n, m;
	size_t mb_at, slot_at;
	_Atomic uint8_t state;
};

static struct {
	int want;                       /* sl_lb_prebuild_threads()'s n */
	int threads;                    /* resolved: builders to start (-1: not yet) */
	struct entry *e;
	unsigned n;
	size_t cap;
	struct sl_maglev_backend *mbs;
	size_t n_mbs, cap_mbs;
	uint16_t *slots;
	size_t n_slots, cap_slots;
	uint32_t *index;                /* open addressing: entry + 1, 0 empty */
	unsigned index_cap;             /* a power of 2, > 2 n */
	_Atomic unsigned next;          /* the next entry to claim */
	_Atomic bool stop;
	bool running;
	pthread_t tid[SL_LB_PREBUILD_MAX_THREADS];
	unsigned n_tid;
	uint64_t noted, used;
	_Atomic uint64_t by_builders;
} pb = { .threads = -1 };

/* The last table built on the control thread, with its backends: a Service's frontends
 * (cluster IP, external and load-balancer IPs, node port) usually share one backend set
 * and are set one after the other, so each one after the first copies the table (no
 * allocation per Service once the buffers have grown: a large malloc right after a
 * request's JSON was freed costs glibc a consolidation of all of it). */
static struct {
	struct sl_maglev_backend *b;
	uint16_t *slots;
	unsigned n, cap_b;
	uint32_t m, cap_slots;
} last;

static uint32_t set_hash(const struct sl_maglev_backend *mb, unsigned n, uint32_t m)
{
	return rte_hash_crc(mb, n * sizeof(*mb), m);
}

static bool same_set(const struct entry *e, const struct sl_maglev_backend *mb, unsigned n,
		     uint32_t m, uint32_t h)
{
	return e->hash == h && e->n == n && e->m == m &&
	       !memcmp(&pb.mbs[e->mb_at], mb, n * sizeof(*mb));
}

/* The entry noted for this set, or NULL. */
static struct entry *find(const struct sl_maglev_backend *mb, unsigned n, uint32_t m,
			  uint32_t h)
{
	if (!pb.index_cap)
		return NULL;
	for (unsigned i = h & (pb.index_cap - 1);; i = (i + 1) & (pb.index_cap - 1)) {
		uint32_t k = pb.index[i];
		if (!k)
			return NULL;
		if (same_set(&pb.e[k - 1], mb, n, m, h))
			return &pb.e[k - 1];
	}
}

static void build(struct entry *e)
{
	int rc = sl_maglev_build(&pb.mbs[e->mb_at], e->n, e->m, &pb.slots[e->slot_at]);
	atomic_store_explicit(&e->state, rc < 0 ? FAILED : DONE, memory_order_release);
}

/* Claim and build the next entry; false when every entry is claimed. */
static bool build_next(void)
{
	if (atomic_load_explicit(&pb.next, memory_order_relaxed) >= pb.n)
		return false;
	unsigned i = atomic_fetch_add_explicit(&pb.next, 1, memory_order_relaxed);
	if (i >= pb.n)
		return false;
	build(&pb.e[i]);
	return true;
}

static void *builder(void *arg)
{
	RTE_SET_USED(arg);
	uint64_t built = 0;
	while (!atomic_load_explicit(&pb.stop, memory_order_relaxed) && build_next())
		built++;
	atomic_fetch_add_explicit(&pb.by_builders, built, memory_order_relaxed);
	return NULL;
}

/* Cores EAL leaves to control threads besides the main lcore's, seen from a control thread
 * (rte_ctrl_thread_create sets its affinity before it runs). */
static void *count_cores(void *arg)
{
	cpu_set_t set;
	int *n = arg;
	*n = 0;
	if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set))
		return NULL;
	rte_cpuset_t main_set = rte_lcore_cpuset(rte_get_main_lcore());
	for (int c = 0; c < CPU_SETSIZE; c++)
		*n += CPU_ISSET(c, &set) && !CPU_ISSET(c, &main_set);
	return NULL;
}

void sl_lb_prebuild_threads(int n)
{
	pb.want = n;
	pb.threads = -1;
}

unsigned sl_lb_prebuild_thread_count(void)
{
	if (pb.threads >= 0)
		return (unsigned)pb.threads;
	int n = pb.want;
	if (n < 0) {
		pthread_t t;
		n = 0;
		if (rte_ctrl_thread_create(&t, "sl-maglev-probe", NULL, count_cores, &n) == 0)
			pthread_join(t, NULL);
	}
	pb.threads = RTE_MIN(n, SL_LB_PREBUILD_MAX_THREADS);
	return (unsigned)pb.threads;
}

/* Grow *p (of *cap elements of size sz) to hold want; false when out of memory. */
static bool grow(void **p, size_t *cap, size_t want, size_t sz)
{
	if (want <= *cap)
		return true;
	size_t c = RTE_MAX(want, *cap * 2);
	void *np = realloc(*p, c * sz);
	if (!np)
		return false;
	*p = np;
	*cap = c;
	return true;
}

/* The index sized for pb.cap entries, rebuilt from pb.e. */
static bool reindex(void)
{
	unsigned cap = 64;
	while (cap <= 2 * pb.cap)
		cap *= 2;
	uint32_t *ix = calloc(cap, sizeof(*ix));
	if (!ix)
		return false;
	for (unsigned k = 0; k < pb.n; k++) {
		unsigned i = pb.e[k].hash & (cap - 1);
		while (ix[i])
			i = (i + 1) & (cap - 1);
		ix[i] = k + 1;
	}
	free(pb.index);
	pb.index = ix;
	pb.index_cap = cap;
	return true;
}

void sl_lb_prebuild_add(const struct sl_lb_backend *b, unsigned n)
{
	if (pb.running || n == 0 || n > SL_LB_MAX_BACKENDS || sl_lb_prebuild_thread_count() == 0)
		return;
	struct sl_lb_backend sorted_st[64], *sorted = sorted_st;
	struct sl_maglev_backend mb_st[64], *mb = mb_st;
	if (n > 64) {
		sorted = malloc(n * sizeof(*sorted));
		mb = malloc(n * sizeof(*mb));
	}
	unsigned u, na = 0;
	if (sorted && mb)
		na = sl_lb_backends_sort(b, n, sorted, &u, mb, NULL);
	uint32_t m = na ? sl_maglev_size(na) : 0, h = na ? set_hash(mb, na, m) : 0;
	if (na && !find(mb, na, m, h) && pb.n_slots + m <= SL_LB_PREBUILD_MAX_SLOTS &&
	    grow((void **)&pb.mbs, &pb.cap_mbs, pb.n_mbs + na, sizeof(*pb.mbs)) &&
	    grow((void **)&pb.slots, &pb.cap_slots, pb.n_slots + m, sizeof(*pb.slots))) {
		size_t old_cap = pb.cap;
		if (grow((void **)&pb.e, &pb.cap, pb.n + 1, sizeof(*pb.e)) &&
		    (pb.cap == old_cap || reindex())) {
			struct entry *e = &pb.e[pb.n];
			*e = (struct entry){ .hash = h, .n = na, .m = m, .mb_at = pb.n_mbs,
					     .slot_at = pb.n_slots, .state = TODO };
			memcpy(&pb.mbs[pb.n_mbs], mb, na * sizeof(*mb));
			pb.n_mbs += na;
			pb.n_slots += m;
			unsigned i = h & (pb.index_cap - 1);
			while (pb.index[i])
				i = (i + 1) & (pb.index_cap - 1);
			pb.index[i] = ++pb.n;
			pb.noted++;
		}
	}
	if (sorted != sorted_st)
		free(sorted);
	if (mb != mb_st)
		free(mb);
}

void sl_lb_prebuild_start(void)
{
	if (pb.running || pb.n == 0)
		return;
	atomic_store(&pb.next, 0);
	atomic_store(&pb.stop, false);
	pb.running = true;
	pb.n_tid = 0;
	unsigned want = RTE_MIN(sl_lb_prebuild_thread_count(), pb.n);
	for (unsigned i = 0; i < want; i++) {
		if (rte_ctrl_thread_create(&pb.tid[pb.n_tid], "sl-maglev", NULL, builder, NULL))
			break; /* the control thread builds what they do not */
		pb.n_tid++;
	}
}

void sl_lb_prebuild_end(void)
{
	atomic_store(&pb.stop, true);
	for (unsigned i = 0; i < pb.n_tid; i++)
		pthread_join(pb.tid[i], NULL);
	pb.n_tid = 0;
	pb.running = false;
	pb.n = pb.n_mbs = pb.n_slots = 0;
	if (pb.index)
		memset(pb.index, 0, pb.index_cap * sizeof(*pb.index));
}

void sl_lb_prebuild_fini(void)
{
	sl_lb_prebuild_end();
	free(pb.e);
	free(pb.mbs);
	free(pb.slots);
	free(pb.index);
	free(last.b);
	free(last.slots);
	pb.e = NULL, pb.mbs = NULL, pb.slots = NULL, pb.index = NULL;
	pb.cap = pb.cap_mbs = pb.cap_slots = pb.index_cap = 0;
	memset(&last, 0, sizeof(last));
}

/* The noted table of this set, built by now (by a builder, or by this thread claiming the
 * next ones until it is); NULL when not noted or its build failed. */
static const uint16_t *prebuilt(const struct sl_maglev_backend *mb, unsigned n, uint32_t m)
{
	if (!pb.running)
		return NULL;
	struct entry *e = find(mb, n, m, set_hash(mb, n, m));
	if (!e)
		return NULL;
	uint8_t st;
	while ((st = atomic_load_explicit(&e->state, memory_order_acquire)) == TODO)
		if (!build_next())
			sched_yield(); /* a builder is building it now */
	if (st != DONE)
		return NULL;
	pb.used++;
	return &pb.slots[e->slot_at];
}

void sl_lb_prebuild_get_stats(struct sl_lb_prebuild_stats *ret)
{
	*ret = (struct sl_lb_prebuild_stats){
		.noted = pb.noted, .used = pb.used,
		.by_builders = atomic_load_explicit(&pb.by_builders, memory_order_relaxed) };
}

const uint16_t *sl_lb_maglev_table(const struct sl_maglev_backend *mb, unsigned n, uint32_t m,
				   int *rc)
{
	const uint16_t *t = prebuilt(mb, n, m);
	if (t)
		return t;
	if (last.n == n && last.m == m && !memcmp(last.b, mb, n * sizeof(*mb)))
		return last.slots;
	last.n = 0; /* invalid until built */
	if (n > last.cap_b) {
		struct sl_maglev_backend *nb = realloc(last.b, n * sizeof(*nb));
		if (!nb)
			return *rc = -ENOMEM, NULL;
		last.b = nb;
		last.cap_b = n;
	}
	if (m > last.cap_slots) {
		uint16_t *ns = realloc(last.slots, m * sizeof(*ns));
		if (!ns)
			return *rc = -ENOMEM, NULL;
		last.slots = ns;
		last.cap_slots = m;
	}
	if ((*rc = sl_maglev_build(mb, n, m, last.slots)) < 0)
		return NULL;
	memcpy(last.b, mb, n * sizeof(*mb));
	last.n = n;
	last.m = m;
	return last.slots;
}
