/* Retry delays of the Kubernetes sync, as client-go's reflector spaces them
 * (k8s.io/client-go/tools/cache/reflector.go: NewExponentialBackoffManager(800ms, 30s, 2min,
 * 2.0, 1.0)): the first failure waits about 800 ms, each further one twice the last, never more
 * than 30 s; a jitter spreads the nodes of a cluster apart; once no failure happened for
 * 2 minutes (the sync was healthy) the next failure starts again from 800 ms.
 * Pure functions, no clock of their own: callers pass the time. Any thread (one owner). */
#pragma once
#include <stdint.h>

#define SL_KUBE_BACKOFF_INITIAL_MS 800
#define SL_KUBE_BACKOFF_MAX_MS 30000
#define SL_KUBE_BACKOFF_RESET_MS 120000
/* Jitter: a delay d becomes a value in [d, d * (1 + JITTER/100)), capped at MAX. */
#define SL_KUBE_BACKOFF_JITTER_PCT 50

struct sl_kube_backoff {
	uint64_t step_ms;      /* the un-jittered delay of the next failure; 0: initial */
	uint64_t last_fail_ns; /* when the last failure was counted; 0: never */
	uint64_t rng;          /* xorshift state for the jitter (never 0) */
};

/* A fresh back-off; seed picks the jitter sequence (any value). */
void sl_kube_backoff_init(struct sl_kube_backoff *b, uint64_t seed);
/* A failure at now_ns: the delay before the next attempt, in ms. Resets to the initial delay
 * first when the previous failure is more than SL_KUBE_BACKOFF_RESET_MS old. */
uint64_t sl_kube_backoff_next(struct sl_kube_backoff *b, uint64_t now_ns);
/* A uniform random value in [lo, hi) from b's generator (the watch timeouts use it). */
uint64_t sl_kube_backoff_rand(struct sl_kube_backoff *b, uint64_t lo, uint64_t hi);
