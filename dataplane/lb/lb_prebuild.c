/* Maglev tables built ahead (see lb_prebuild.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "lb_prebuild.h"

enum { TODO, DONE, FAILED };

/* One backend set to build: its backends in mbs[mb_at..], its table in slots[slot_at..]. */
struct entry {
	uint32_t hash, n, m;
	size_t mb_at, slot_at;
	_Atomic uint8_t state;
};

/* One batch's sets. Noted by the control thread before it is handed to the builders,
 * read-only after (but each entry's state and table); made the spare by whichever thread
 * drops the last reference (freeing the spare it replaces): a builder may still finish a
 * table after the batch ended (one on a worker's core, preempted by the worker). */
struct run {
	_Atomic unsigned refs;
	_Atomic unsigned next;          /* the next entry to claim */
	_Atomic bool stop;
	unsigned n;
	size_t cap;
	struct entry *e;
	struct sl_maglev_backend *mbs;
	size_t n_mbs, cap_mbs;
	uint16_t *slots;
	size_t n_slots, cap_slots;
	uint32_t *index;                /* open addressing: entry + 1, 0 empty */
	unsigned index_cap;             /* a power of 2, > 2 cap */
};

/* The control thread never waits for a builder: it hands builder i a run (with a reference
 * taken for it) in slot[i] and posts wake[i]; a builder swaps the run out of its slot, and
 * the last reference dropped puts the run in spare. No lock: a builder at SCHED_IDLE,
 * preempted by a worker while holding one, would stall the control thread behind it. */
static struct {
	int want;                       /* sl_lb_prebuild_threads()'s n */
	int threads;                    /* resolved: builders (-1: not yet) */
	bool idle_anywhere;             /* no spare control core: one builder on any core */
	cpu_set_t cores;                /* else the spare control cores */
	struct run *cur;                /* the batch being noted or built (control's ref) */
	bool running;
	/* The pool. */
	pthread_t tid[SL_LB_PREBUILD_MAX_THREADS];
	sem_t wake[SL_LB_PREBUILD_MAX_THREADS];
	_Atomic(struct run *) slot[SL_LB_PREBUILD_MAX_THREADS]; /* builder i's next run */
	unsigned n_tid;
	_Atomic bool quit;
	_Atomic(struct run *) spare;    /* a finished run kept for the next batch */
	uint64_t noted, used, late;
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

static void run_free(struct run *r)
{
	free(r->e);
	free(r->mbs);
	free(r->slots);
	free(r->index);
	free(r);
}

/* Drop a reference; the last one keeps r as the spare (the control thread empties it when
 * it takes it), freeing the spare it replaces. Any thread. */
static void run_put(struct run *r)
{
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	struct run *old = atomic_exchange(&pb.spare, r);
	if (old)
		run_free(old);
}

static uint32_t set_hash(const struct sl_maglev_backend *mb, unsigned n, uint32_t m)
{
	return rte_hash_crc(mb, n * sizeof(*mb), m);
}

/* r's entry for this set, or NULL. */
static struct entry *find(const struct run *r, const struct sl_maglev_backend *mb, unsigned n,
			  uint32_t m, uint32_t h)
{
	if (!r->index_cap)
		return NULL;
	for (unsigned i = h & (r->index_cap - 1);; i = (i + 1) & (r->index_cap - 1)) {
		uint32_t k = r->index[i];
		if (!k)
			return NULL;
		const struct entry *e = &r->e[k - 1];
		if (e->hash == h && e->n == n && e->m == m &&
		    !memcmp(&r->mbs[e->mb_at], mb, n * sizeof(*mb)))
			return &r->e[k - 1];
	}
}

/* Claim and build r's next entry; false when every entry is claimed. */
static bool build_next(struct run *r)
{
	if (atomic_load_explicit(&r->next, memory_order_relaxed) >= r->n)
		return false;
	unsigned i = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
	if (i >= r->n)
		return false;
	struct entry *e = &r->e[i];
	int rc = sl_maglev_build(&r->mbs[e->mb_at], e->n, e->m, &r->slots[e->slot_at]);
	atomic_store_explicit(&e->state, rc < 0 ? FAILED : DONE, memory_order_release);
	return true;
}

/* Builder i: builds the tables of each run handed to it until the run is stopped or all
 * its entries are claimed. The one that may run on any core at SCHED_IDLE: it never takes a
 * core from a worker, the control thread or anything else, and holds nothing they wait
 * for. */
static void *builder(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	if (pb.idle_anywhere) {
		struct sched_param sp = { 0 };
		pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	}
	for (;;) {
		if (sem_wait(&pb.wake[i]) < 0)
			continue; /* EINTR */
		if (atomic_load(&pb.quit))
			break;
		struct run *r = atomic_exchange(&pb.slot[i], NULL);
		if (!r)
			continue; /* one handed over again before this builder took it */
		uint64_t built = 0;
		while (!atomic_load_explicit(&r->stop, memory_order_relaxed) && build_next(r))
			built++;
		atomic_fetch_add_explicit(&pb.by_builders, built, memory_order_relaxed);
		run_put(r);
	}
	return NULL;
}

/* The cores EAL leaves to control threads besides the main lcore's, seen from a control
 * thread (rte_ctrl_thread_create sets its affinity before it runs). */
static void *spare_cores(void *arg)
{
	cpu_set_t *set = arg;
	cpu_set_t mine;
	CPU_ZERO(set);
	if (pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine))
		return NULL;
	rte_cpuset_t main_set = rte_lcore_cpuset(rte_get_main_lcore());
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &mine) && !CPU_ISSET(c, &main_set))
			CPU_SET(c, set);
	return NULL;
}

static void pool_stop(void);

void sl_lb_prebuild_threads(int n)
{
	/* Builders started for another count stop (the next batch starts the new count). */
	if (pb.n_tid) {
		sl_lb_prebuild_end();
		pool_stop();
	}
	pb.want = n;
	pb.threads = -1;
}

/* The spare control cores into pb.cores, pb.idle_anywhere when there are none; false
 * before rte_eal_init (rte_ctrl_thread_create fails: the cores are not known yet). */
static bool probe_cores(void)
{
	if (rte_lcore_count() == 0)
		return false;
	pthread_t t;
	CPU_ZERO(&pb.cores);
	if (rte_ctrl_thread_create(&t, "sl-maglev-probe", NULL, spare_cores, &pb.cores) == 0)
		pthread_join(t, NULL);
	/* No spare control core (one worker on a 2-core machine): one builder anywhere, which
	 * runs when a core idles (a worker backing off, the control thread waiting). */
	pb.idle_anywhere = CPU_COUNT(&pb.cores) == 0;
	return true;
}

unsigned sl_lb_prebuild_thread_count(void)
{
	if (pb.threads >= 0)
		return (unsigned)pb.threads;
	if (!probe_cores())
		return 0; /* EAL not up: none start yet, nothing kept */
	int n = pb.want >= 0 ? pb.want : RTE_MAX(CPU_COUNT(&pb.cores), 1);
	pb.threads = RTE_MIN(n, SL_LB_PREBUILD_MAX_THREADS);
	return (unsigned)pb.threads;
}

/* Start the pool's threads (once). */
static void pool_start(void)
{
	if (pb.n_tid || !sl_lb_prebuild_thread_count())
		return;
	cpu_set_t any;
	CPU_ZERO(&any);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &any);
	atomic_store(&pb.quit, false);
	for (int i = 0; i < pb.threads; i++) {
		pthread_t t;
		atomic_store(&pb.slot[pb.n_tid], NULL);
		if (sem_init(&pb.wake[pb.n_tid], 0, 0) < 0)
			break;
		if (pthread_create(&t, NULL, builder, (void *)(uintptr_t)pb.n_tid)) {
			sem_destroy(&pb.wake[pb.n_tid]);
			break; /* the control thread builds what they do not */
		}
		pthread_setaffinity_np(t, sizeof(cpu_set_t), pb.idle_anywhere ? &any : &pb.cores);
		pthread_setname_np(t, "sl-maglev");
		pb.tid[pb.n_tid++] = t;
	}
}

/* Stop the pool's threads (after sl_lb_prebuild_end: the runs they hold are stopped). */
static void pool_stop(void)
{
	atomic_store(&pb.quit, true);
	for (unsigned i = 0; i < pb.n_tid; i++)
		sem_post(&pb.wake[i]);
	for (unsigned i = 0; i < pb.n_tid; i++) {
		pthread_join(pb.tid[i], NULL);
		sem_destroy(&pb.wake[i]);
		struct run *r = atomic_exchange(&pb.slot[i], NULL);
		if (r)
			run_put(r);
	}
	pb.n_tid = 0;
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

/* r's index sized for r->cap entries, rebuilt from r->e. */
static bool reindex(struct run *r)
{
	unsigned cap = 64;
	while (cap <= 2 * r->cap)
		cap *= 2;
	uint32_t *ix = calloc(cap, sizeof(*ix));
	if (!ix)
		return false;
	for (unsigned k = 0; k < r->n; k++) {
		unsigned i = r->e[k].hash & (cap - 1);
		while (ix[i])
			i = (i + 1) & (cap - 1);
		ix[i] = k + 1;
	}
	free(r->index);
	r->index = ix;
	r->index_cap = cap;
	return true;
}

/* The run to note sets in: the current one, else the spare (emptied), else a new one. */
static struct run *run_get(void)
{
	if (pb.cur)
		return pb.cur;
	struct run *r = atomic_exchange(&pb.spare, NULL);
	if (r) {
		r->n = 0;
		r->n_mbs = r->n_slots = 0;
		if (r->index)
			memset(r->index, 0, r->index_cap * sizeof(*r->index));
	} else if (!(r = calloc(1, sizeof(*r)))) {
		return NULL;
	}
	atomic_store(&r->refs, 1);
	atomic_store(&r->next, 0);
	atomic_store(&r->stop, false);
	return pb.cur = r;
}

/* Note the set mb[0..n-1] with m slots in r. */
static void note(struct run *r, const struct sl_maglev_backend *mb, unsigned n, uint32_t m)
{
	uint32_t h = set_hash(mb, n, m);
	if (find(r, mb, n, m, h) || r->n_slots + m > SL_LB_PREBUILD_MAX_SLOTS ||
	    !grow((void **)&r->mbs, &r->cap_mbs, r->n_mbs + n, sizeof(*r->mbs)) ||
	    !grow((void **)&r->slots, &r->cap_slots, r->n_slots + m, sizeof(*r->slots)))
		return;
	/* (The index is made again whenever it is not over twice the entries: also after a
	 * reindex that failed for want of memory, which left the old one, or none.) */
	if (!grow((void **)&r->e, &r->cap, r->n + 1, sizeof(*r->e)) ||
	    (r->index_cap <= 2 * r->cap && !reindex(r)))
		return;
	struct entry *e = &r->e[r->n];
	*e = (struct entry){ .hash = h, .n = n, .m = m, .mb_at = r->n_mbs,
			     .slot_at = r->n_slots, .state = TODO };
	memcpy(&r->mbs[r->n_mbs], mb, n * sizeof(*mb));
	r->n_mbs += n;
	r->n_slots += m;
	unsigned i = h & (r->index_cap - 1);
	while (r->index[i])
		i = (i + 1) & (r->index_cap - 1);
	r->index[i] = ++r->n;
	pb.noted++;
}

void sl_lb_prebuild_add(const struct sl_lb_backend *b, unsigned n)
{
	if (pb.running || n == 0 || n > SL_LB_MAX_BACKENDS || sl_lb_prebuild_thread_count() == 0)
		return;
	struct run *r = run_get();
	struct sl_lb_backend sorted_st[64], *sorted = sorted_st;
	struct sl_maglev_backend mb_st[64], *mb = mb_st;
	if (n > 64) {
		sorted = malloc(n * sizeof(*sorted));
		mb = malloc(n * sizeof(*mb));
	}
	unsigned u, na = 0;
	if (r && sorted && mb)
		na = sl_lb_backends_sort(b, n, sorted, &u, mb, NULL);
	if (na)
		note(r, mb, na, sl_maglev_size(na));
	if (sorted != sorted_st)
		free(sorted);
	if (mb != mb_st)
		free(mb);
}

void sl_lb_prebuild_start(void)
{
	if (pb.running || !pb.cur || !pb.cur->n)
		return;
	pool_start();
	pb.running = true;
	/* A reference for each builder, taken before any can drop one. */
	atomic_fetch_add(&pb.cur->refs, pb.n_tid);
	for (unsigned i = 0; i < pb.n_tid; i++) {
		struct run *old = atomic_exchange(&pb.slot[i], pb.cur);
		if (old)
			run_put(old);
		sem_post(&pb.wake[i]);
	}
}

void sl_lb_prebuild_end(void)
{
	struct run *r = pb.cur;
	if (!r)
		return;
	atomic_store(&r->stop, true);
	/* The references of builders that have not taken r yet. */
	for (unsigned i = 0; i < pb.n_tid; i++) {
		struct run *old = atomic_load(&pb.slot[i]);
		if (old == r && atomic_compare_exchange_strong(&pb.slot[i], &old, NULL))
			run_put(r);
	}
	pb.cur = NULL;
	pb.running = false;
	run_put(r);
}

void sl_lb_prebuild_fini(void)
{
	sl_lb_prebuild_end();
	pool_stop();
	struct run *r = atomic_exchange(&pb.spare, NULL);
	if (r)
		run_free(r);
	free(last.b);
	free(last.slots);
	memset(&last, 0, sizeof(last));
}

/* How long the control thread waits for a table a builder is building before it builds
 * one itself: about two builds of 10 backends. A builder on a busy worker's core may not
 * run again for milliseconds. */
#define WAIT_US 20

/* The table noted for this set, built by now (by a builder, or by this thread claiming the
 * next ones until it is); NULL when not noted, its build failed or a builder is slow. */
static const uint16_t *prebuilt(const struct sl_maglev_backend *mb, unsigned n, uint32_t m)
{
	struct run *r = pb.cur;
	if (!pb.running)
		return NULL;
	struct entry *e = find(r, mb, n, m, set_hash(mb, n, m));
	if (!e)
		return NULL;
	uint64_t deadline = 0;
	uint8_t st;
	while ((st = atomic_load_explicit(&e->state, memory_order_acquire)) == TODO) {
		if (build_next(r))
			continue;
		uint64_t now = rte_get_tsc_cycles();
		if (!deadline)
			deadline = now + rte_get_tsc_hz() / 1000000 * WAIT_US;
		else if (now > deadline)
			return pb.late++, NULL;
		rte_pause();
	}
	if (st != DONE)
		return NULL;
	pb.used++;
	return &r->slots[e->slot_at];
}

void sl_lb_prebuild_get_stats(struct sl_lb_prebuild_stats *ret)
{
	*ret = (struct sl_lb_prebuild_stats){
		.noted = pb.noted, .used = pb.used, .late = pb.late,
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
