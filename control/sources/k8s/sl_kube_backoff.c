/* Retry delays of the Kubernetes sync (see sl_kube_backoff.h). */
#include "sl_kube_backoff.h"

void sl_kube_backoff_init(struct sl_kube_backoff *b, uint64_t seed)
{
	*b = (struct sl_kube_backoff){ .rng = seed ? seed : 0x9e3779b97f4a7c15ull };
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

uint64_t sl_kube_backoff_rand(struct sl_kube_backoff *b, uint64_t lo, uint64_t hi)
{
	return hi > lo ? lo + xorshift(&b->rng) % (hi - lo) : lo;
}

uint64_t sl_kube_backoff_next(struct sl_kube_backoff *b, uint64_t now_ns)
{
	if (!b->step_ms || (b->last_fail_ns &&
			    now_ns - b->last_fail_ns > SL_KUBE_BACKOFF_RESET_MS * 1000000ull))
		b->step_ms = SL_KUBE_BACKOFF_INITIAL_MS;
	b->last_fail_ns = now_ns ? now_ns : 1;
	uint64_t d = b->step_ms;
	d += sl_kube_backoff_rand(b, 0, d * SL_KUBE_BACKOFF_JITTER_PCT / 100);
	if (d > SL_KUBE_BACKOFF_MAX_MS)
		d = SL_KUBE_BACKOFF_MAX_MS;
	b->step_ms = b->step_ms * 2 > SL_KUBE_BACKOFF_MAX_MS ? SL_KUBE_BACKOFF_MAX_MS
							      : b->step_ms * 2;
	return d;
}
