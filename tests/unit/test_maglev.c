/* Maglev's optimised build (dataplane/lb/maglev.c: preferences walked by addition, the last
 * empty slots found by their place in each permutation) against the paper's population loop
 * written as plainly as possible (Eisenbud et al., NSDI 2016, pseudocode 1, with Cilium's
 * weighted rounds): the same table, slot for slot, for random backend sets of every size
 * class, with and without weights, at the sizes sl_maglev_size picks and at smaller primes
 * (a crowded table). Pure C, no DPDK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/lb/maglev.h"

/* The reference: maglev.c's seeds, hashes and turn order; permutation[i][j] computed as
 * (offset + j * skip) % m for every probe. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

struct ref {
	uint64_t id;
	uint32_t offset, skip, next, weight;
	uint64_t placed;
	uint16_t index;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void ref_build(const struct sl_maglev_backend *b, unsigned n, uint32_t m, uint16_t *t)
{
	struct ref *p = calloc(n, sizeof(*p));
	uint32_t wmax = 1;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *ip = (const uint8_t *)&b[i].ip, *port = (const uint8_t *)&b[i].port;
		p[i].id = (uint64_t)ip[0] << 40 | (uint64_t)ip[1] << 32 | (uint64_t)ip[2] << 24 |
			  (uint64_t)ip[3] << 16 | (uint64_t)port[0] << 8 | port[1];
		p[i].offset = (uint32_t)(mix64(p[i].id ^ 0x9e3779b97f4a7c15ULL) % m);
		p[i].skip = (uint32_t)(mix64(p[i].id ^ 0xc2b2ae3d27d4eb4fULL) % (m - 1)) + 1;
		p[i].weight = b[i].weight ? b[i].weight : 1;
		p[i].index = (uint16_t)i;
		wmax = p[i].weight > wmax ? p[i].weight : wmax;
	}
	qsort(p, n, sizeof(*p), cmp_ref);
	for (uint32_t s = 0; s < m; s++)
		t[s] = UINT16_MAX;
	uint32_t filled = 0;
	for (uint64_t round = 1; filled < m; round++)
		for (unsigned i = 0; i < n && filled < m; i++) {
			if (p[i].placed * wmax >= round * p[i].weight)
				continue;
			uint32_t s;
			do
				s = (uint32_t)((p[i].offset + (uint64_t)p[i].skip * p[i].next++) % m);
			while (t[s] != UINT16_MAX);
			t[s] = p[i].index;
			p[i].placed++;
			filled++;
		}
	free(p);
}

static void test_maglev_same_as_reference(void **st)
{
	static const uint32_t small[] = { 251, 509, 1021, 2039 };
	static struct sl_maglev_backend b[SL_MAGLEV_MAX_BACKENDS];
	static uint16_t t1[SL_MAGLEV_M_MAX], t2[SL_MAGLEV_M_MAX];
	unsigned seed = 12345, checked = 0;
	for (unsigned it = 0; it < 1500; it++) {
		unsigned n = it < 1000 ? 1 + (unsigned)rand_r(&seed) % 40
			   : it < 1490 ? 1 + (unsigned)rand_r(&seed) % 600
				       : 1 + (unsigned)rand_r(&seed) % SL_MAGLEV_MAX_BACKENDS;
		bool weighted = rand_r(&seed) % 3 == 0;
		for (unsigned k = 0; k < n; k++)
			b[k] = (struct sl_maglev_backend){
				.ip = (uint32_t)rand_r(&seed) ^ (uint32_t)rand_r(&seed) << 16,
				.port = (uint16_t)(rand_r(&seed) | 1),
				.weight = weighted ? (uint16_t)(rand_r(&seed) % 6) : 0 };
		uint32_t m = sl_maglev_size(n);
		if (it % 5 == 0 && n < 200)
			m = small[rand_r(&seed) % 4];
		if (m <= n)
			continue;
		assert_int_equal(sl_maglev_build(b, n, m, t1), 0);
		ref_build(b, n, m, t2);
		if (memcmp(t1, t2, m * sizeof(*t1)))
			fail_msg("case %u: %u backends%s, M %u: tables differ", it, n,
				 weighted ? " (weighted)" : "", m);
		checked++;
	}
	printf("maglev: %u random backend sets, every table the same as the reference\n",
	       checked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maglev_same_as_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
