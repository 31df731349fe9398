/* Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4): a lookup table of M
 * slots (M prime) in which every backend owns about M/N slots, built so that the same
 * backend set always gives the same table, and adding or removing one backend of N moves
 * about 1/N of the slots.
 *
 * Pure C (no DPDK): built by the control thread, read by workers through the Service table
 * (lb_table.h). Backends are identified by address and port only, so the table does not
 * depend on the order they are given in, and every node builds the same table for the same
 * backends (a fixed seed, no per-process randomness). */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Table sizes: primes, the smallest one at least SL_MAGLEV_RATIO x the backend count is
 * used (Cilium's sizing: at 100x, a backend change disturbs <= ~1% of other flows). */
#define SL_MAGLEV_RATIO 100
#define SL_MAGLEV_M_MIN 251
#define SL_MAGLEV_M_MAX 131071
/* Backends one table can hold (slot values are uint16_t backend indexes). */
#define SL_MAGLEV_MAX_BACKENDS 4096

/* One backend as Maglev sees it. */
struct sl_maglev_backend {
	uint32_t ip;     /* network order */
	uint16_t port;   /* network order */
	uint16_t weight; /* relative share of slots; 0 counts as 1 */
};

/* The table size for n backends: the smallest prime of the built-in list that is at least
 * SL_MAGLEV_RATIO * n, capped at SL_MAGLEV_M_MAX. Control or worker. */
uint32_t sl_maglev_size(unsigned n);

/* Fill table[0..m-1] with indexes into b[0..n-1] (the caller's order), so that
 * table[hash % m] is the backend of a flow. m must be prime (sl_maglev_size()) and
 * > n; 1 <= n <= SL_MAGLEV_MAX_BACKENDS. With equal weights every backend owns floor(m/n)
 * or ceil(m/n) slots; with weights, about m * w / sum(w). Two backends with the same ip and
 * port are one backend counted twice: the caller removes duplicates. Returns 0, -EINVAL
 * (bad n or m) or -ENOMEM. Control thread (allocates scratch memory with malloc). */
int sl_maglev_build(const struct sl_maglev_backend *b, unsigned n, uint32_t m,
		    uint16_t *table);
