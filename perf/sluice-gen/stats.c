/* sluice-gen statistics: latency histogram and the duplicate-detection bitmap. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static unsigned
hist_index(uint64_t ns)
{
	unsigned e, m;

	if (ns < 64)
		return (unsigned)ns;
	e = 63 - (unsigned)__builtin_clzll(ns);
	if (e > SL_GEN_HIST_MAX_EXP)
		return SL_GEN_HIST_BUCKETS - 1;
	m = (unsigned)(ns >> (e - 5)); /* 32..63 */
	return 64 + (e - 6) * SL_GEN_HIST_SUB + (m - SL_GEN_HIST_SUB);
}

static uint64_t
hist_mid(unsigned idx)
{
	unsigned k, e, m;

	if (idx < 64)
		return idx;
	k = idx - 64;
	e = 6 + k / SL_GEN_HIST_SUB;
	m = SL_GEN_HIST_SUB + k % SL_GEN_HIST_SUB;
	return ((uint64_t)m << (e - 5)) + ((uint64_t)1 << (e - 5)) / 2;
}

void
sl_gen_hist_add(struct sl_gen_hist *h, uint64_t ns)
{
	h->bucket[hist_index(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

uint64_t
sl_gen_hist_quantile(const struct sl_gen_hist *h, double q)
{
	uint64_t rank, sum = 0;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < SL_GEN_HIST_BUCKETS; i++) {
		sum += h->bucket[i];
		if (sum >= rank) {
			/* The last bucket is open-ended: its only known value is max. */
			uint64_t v = i == SL_GEN_HIST_BUCKETS - 1 ? h->max : hist_mid(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

int
sl_gen_seqwin_init(struct sl_gen_seqwin *w, unsigned log2_bits)
{
	w->nbits = UINT64_C(1) << log2_bits;
	w->top = 0;
	w->bits = calloc(w->nbits / 64, sizeof(uint64_t));
	return w->bits == NULL ? -ENOMEM : 0;
}

void
sl_gen_seqwin_fini(struct sl_gen_seqwin *w)
{
	free(w->bits);
	w->bits = NULL;
}

/* Clear the bits of seqs [lo, hi). */
static void
seqwin_clear(struct sl_gen_seqwin *w, uint64_t lo, uint64_t hi)
{
	uint64_t mask = w->nbits - 1;

	if (hi - lo >= w->nbits) {
		memset(w->bits, 0, w->nbits / 8);
		return;
	}
	while (lo < hi) {
		uint64_t bit = lo & mask;
		uint64_t word = bit / 64, off = bit % 64;
		uint64_t n = 64 - off;

		if (n > hi - lo)
			n = hi - lo;
		if (n == 64)
			w->bits[word] = 0;
		else
			w->bits[word] &= ~(((UINT64_C(1) << n) - 1) << off);
		lo += n;
	}
}

enum sl_gen_seq_mark
sl_gen_seqwin_mark(struct sl_gen_seqwin *w, uint64_t seq)
{
	uint64_t bit, word, b;

	if (seq >= w->top) {
		seqwin_clear(w, w->top, seq + 1);
		w->top = seq + 1;
	} else if (w->top - seq > w->nbits) {
		return SL_GEN_SEQ_LATE;
	}
	bit = seq & (w->nbits - 1);
	word = bit / 64;
	b = UINT64_C(1) << (bit % 64);
	if (w->bits[word] & b)
		return SL_GEN_SEQ_DUP;
	w->bits[word] |= b;
	return SL_GEN_SEQ_NEW;
}
