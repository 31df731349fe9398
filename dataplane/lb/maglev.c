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
	uint32_t next;    /* how many preferences were used */
	uint32_t weight;  /* 1.. */
	uint64_t placed;  /* slots taken */
	uint16_t index;   /* position in the caller's array */
};

static int cmp_perm(const void *a, const void *b)
{
	const struct perm *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int sl_maglev_build(const struct sl_maglev_backend *b, unsigned n, uint32_t m,
		    uint16_t *table)
{
	if (n == 0 || n > SL_MAGLEV_MAX_BACKENDS || m <= n || m > SL_MAGLEV_M_MAX)
		return -EINVAL;
	struct perm *p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	uint32_t wmax = 1;
	for (unsigned i = 0; i < n; i++) {
		p[i].id = backend_id(&b[i]);
		p[i].offset = (uint32_t)(mix64(p[i].id ^ SEED_OFFSET) % m);
		p[i].skip = (uint32_t)(mix64(p[i].id ^ SEED_SKIP) % (m - 1)) + 1;
		p[i].weight = b[i].weight ? b[i].weight : 1;
		p[i].index = (uint16_t)i;
		if (p[i].weight > wmax)
			wmax = p[i].weight;
	}
	/* Turns are taken in address order, not the caller's: the order-independent table. */
	qsort(p, n, sizeof(*p), cmp_perm);

	const uint16_t empty = UINT16_MAX;
	for (uint32_t s = 0; s < m; s++)
		table[s] = empty;
	/* Maglev's population loop; with weights (as Cilium's weighted Maglev), in round r a
	 * backend takes a slot only while it has fewer than r * w / wmax. */
	uint32_t filled = 0;
	for (uint64_t round = 1; filled < m; round++) {
		for (unsigned i = 0; i < n && filled < m; i++) {
			if (p[i].placed * wmax >= round * p[i].weight)
				continue;
			uint32_t s;
			do {
				s = (uint32_t)((p[i].offset + (uint64_t)p[i].skip * p[i].next) % m);
				p[i].next++;
			} while (table[s] != empty);
			table[s] = p[i].index;
			p[i].placed++;
			filled++;
		}
	}
	free(p);
	return 0;
}
