/* Maglev table builder (see maglev.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

static const uint32_t primes[] = { 251,   509,   1021,  2039,  4093,  8191,
				   16381, 32749, 65521, 131071 };

uint32_t sl_maglev_size(unsigned n)
{
	uint64_t want = (uint64_t)n * SL_MAGLEV_RATIO;
	for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		if (primes[i] >= want)
			return primes[i];
	return SL_MAGLEV_M_MAX;
}

/* Fixed seeds: every node must derive the same permutation for the same backend. */
#define SEED_OFFSET 0x9e3779b97f4a7c15ULL
#define SEED_SKIP 0xc2b2ae3d27d4eb4fULL

/* splitmix64's finaliser: a well-mixed 64-bit hash of x. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The backend's identity as one number, independent of host byte order. */
static uint64_t backend_id(const struct sl_maglev_backend *b)
{
	const uint8_t *ip = (const uint8_t *)&b->ip, *port = (const uint8_t *)&b->port;
	return (uint64_t)ip[0] << 40 | (uint64_t)ip[1] << 32 | (uint64_t)ip[2] << 24 |
	       (uint64_t)ip[3] << 16 | (uint64_t)port[0] << 8 | port[1];
}

struct perm {
	uint64_t id;      /* backend_id(), the sort key */
	uint32_t offset;  /* first preferred slot */
	uint32_t skip;    /* step through the slots, 1..m-1 */
	uint32_t cur;     /* the next preference: (offset + skip * used) % m */
	uint32_t inv;     /* skip's inverse mod m (0: not computed yet) */
	uint32_t weight;  /* 1.. */
	uint64_t placed;  /* slots taken */
	uint16_t index;   /* position in the caller's array */
};

static int cmp_perm(const void *a, const void *b)
{
	const struct perm *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The inverse of a (1..m-1) modulo the prime m (extended Euclid). */
static uint32_t inv_mod(uint32_t a, uint32_t m)
{
	int32_t t = 0, nt = 1, r = (int32_t)m, nr = (int32_t)a;
	while (nr) {
		int32_t q = r / nr, x;
		x = t - q * nt, t = nt, nt = x;
		x = r - q * nr, r = nr, nr = x;
	}
	return (uint32_t)(t < 0 ? t + (int32_t)m : t);
}

/* When this many slots or fewer are empty, a backend finds its next empty preference by
 * looking at each empty slot's place in its permutation instead of probing: near the end
 * of the build a probe finds an empty slot once in m/empty tries, so the last 16 slots
 * take about a third of all probes (10 backends, m = 1021). More is slower: each take then
 * looks at every empty slot. */
#define TAIL 16

/* The scratch state of one build. */
struct build {
	struct perm *p;
	uint16_t *table;
	uint32_t m, filled;
	uint64_t m_recip;       /* UINT64_MAX / m, for mod_m() */
	uint32_t empty[TAIL + 1]; /* tail mode: the empty slots, in no order (+1: the
				   * branch-free scan writes one past the last) */
	uint32_t n_empty;       /* 0: not in tail mode yet */
};

/* x mod m for x < 2^40, without a division: the quotient from the 128-bit product with
 * the reciprocal is exact or one short. */
static inline uint32_t mod_m(const struct build *bd, uint64_t x)
{
	uint64_t q = (uint64_t)(((unsigned __int128)x * bd->m_recip) >> 64);
	uint64_t r = x - q * bd->m;
	return (uint32_t)(r >= bd->m ? r - bd->m : r);
}

/* x mod m for any 64-bit x, recip = UINT64_MAX / m: the estimated quotient is at most two
 * short (the same result as %, without a 64-bit division). */
static inline uint32_t mod64(uint64_t x, uint32_t m, uint64_t recip)
{
	uint64_t q = (uint64_t)(((unsigned __int128)x * recip) >> 64);
	uint64_t r = x - q * m;
	r -= r >= m ? m : 0;
	r -= r >= m ? m : 0;
	return (uint32_t)r;
}

/* Tail mode (the last TAIL empty slots): backend q's next empty preference, found by
 * looking at each empty slot's place in its permutation instead of probing, and taken off
 * the empty list. Out of line: it runs for TAIL takes of the m. */
static __attribute__((noinline)) uint32_t tail_slot(struct build *bd, struct perm *q)
{
	const uint16_t empty = UINT16_MAX;
	uint32_t m = bd->m;
	if (!bd->n_empty) {
		for (uint32_t k = 0; k < m; k++) {
			bd->empty[bd->n_empty] = k;
			bd->n_empty += bd->table[k] == empty;
		}
	}
	/* Slot e is preference (e - cur) * skip^-1 mod m steps after q's current one; every
	 * slot before the nearest empty one is taken. */
	if (!q->inv)
		q->inv = inv_mod(q->skip, m);
	uint32_t best = 0;
	uint64_t best_d = UINT64_MAX;
	for (uint32_t k = 0; k < bd->n_empty; k++) {
		uint64_t d = mod_m(bd, (uint64_t)(bd->empty[k] + m - q->cur) * q->inv);
		if (d < best_d)
			best_d = d, best = k;
	}
	uint32_t s = bd->empty[best];
	bd->empty[best] = bd->empty[--bd->n_empty];
	return s;
}

/* Give backend q its next preferred slot that is still empty (the paper's
 * "c <- permutation[i][next[i]]; while entry[c] >= 0: next[i]++"), and move its
 * preference past it. Inlined into the population loops: with a call per take the build
 * spent ~20 % of its time in calls (12.0 -> 9.8 us for 10 backends, m = 1021). */
static inline __attribute__((always_inline)) void take(struct build *bd, struct perm *q)
{
	const uint16_t empty = UINT16_MAX;
	uint32_t m = bd->m, s;
	if (__builtin_expect(m - bd->filled <= TAIL, 0)) {
		s = tail_slot(bd, q);
	} else {
		s = q->cur;
		uint32_t sk = q->skip;
		while (bd->table[s] != empty) {
			s += sk;
			s -= s >= m ? m : 0;
		}
	}
	bd->table[s] = q->index;
	s += q->skip;
	q->cur = s - (s >= m ? m : 0);
	q->placed++;
	bd->filled++;
}

int sl_maglev_build(const struct sl_maglev_backend *b, unsigned n, uint32_t m,
		    uint16_t *table)
{
	if (n == 0 || n > SL_MAGLEV_MAX_BACKENDS || m <= n || m > SL_MAGLEV_M_MAX)
		return -EINVAL;
	/* Scratch on the stack for the usual backend counts. */
	struct perm stack[32], *p = n <= 32 ? stack : calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p, 0, n * sizeof(*p));
	uint64_t rm = UINT64_MAX / m, rm1 = UINT64_MAX / (m - 1);
	uint32_t wmax = 1;
	for (unsigned i = 0; i < n; i++) {
		p[i].id = backend_id(&b[i]);
		p[i].offset = mod64(mix64(p[i].id ^ SEED_OFFSET), m, rm);
		p[i].skip = mod64(mix64(p[i].id ^ SEED_SKIP), m - 1, rm1) + 1;
		p[i].cur = p[i].offset;
		p[i].weight = b[i].weight ? b[i].weight : 1;
		p[i].index = (uint16_t)i;
		if (p[i].weight > wmax)
			wmax = p[i].weight;
	}
	/* Turns are taken in address order, not the caller's: the order-independent table.
	 * Insertion sort for few backends (stable, as glibc's qsort: equal ids are the same
	 * backend twice and get the same slots either way). */
	if (n <= 32) {
		for (unsigned i = 1; i < n; i++) {
			struct perm x = p[i];
			unsigned j = i;
			for (; j > 0 && p[j - 1].id > x.id; j--)
				p[j] = p[j - 1];
			p[j] = x;
		}
	} else
		qsort(p, n, sizeof(*p), cmp_perm);

	memset(table, 0xff, m * sizeof(*table)); /* every slot empty */
	struct build bd = { .p = p, .table = table, .m = m, .m_recip = UINT64_MAX / m };
	/* Maglev's population loop; with weights (as Cilium's weighted Maglev), in round r a
	 * backend takes a slot only while it has fewer than r * w / wmax. With equal weights
	 * every backend takes one slot every round. A backend's preferences
	 * (offset + skip * j) % m are walked by adding skip (< m) and wrapping once: the same
	 * slots as the paper's formula, without a division per probe. */
	if (wmax == 1) {
		while (bd.filled < m)
			for (unsigned i = 0; i < n && bd.filled < m; i++)
				take(&bd, &p[i]);
	}
	for (uint64_t round = 1; bd.filled < m; round++)
		for (unsigned i = 0; i < n && bd.filled < m; i++)
			if (p[i].placed * wmax < round * p[i].weight)
				take(&bd, &p[i]);
	if (p != stack)
		free(p);
	return 0;
}
