/* Maglev tables built ahead, on several threads, for the Services a batch is about to set.
 *
 * A batch (a List of 1,000 Services from the API, a page of a Kubernetes list) sets one
 * Service table entry after another on the control thread, each with its Maglev table:
 * ~10 us for 10 backends, over half of a 100,000-Service load. Before it starts, the
 * reconciler hands the batch's backend sets to sl_lb_prebuild_add() and calls
 * sl_lb_prebuild_start(): builder threads take the tables in order while the control thread
 * goes on; sl_lb_service_set then finds its table built, or builds the next unclaimed ones
 * itself until its own is done, waits at most ~20 us for one a builder is building, and
 * else builds it too: it never depends on a builder getting a core (nor waits on a lock a
 * builder may hold: runs are handed over and given back without one).
 * sl_lb_prebuild_end() stops the builders and lets the batch go (a builder finishing a
 * table late frees it). A table comes from sl_maglev_build either way: the same table,
 * whichever thread built it.
 *
 * Builders run on the cores EAL leaves to control threads besides the main lcore's, one
 * per such core, as any control thread. With none (one worker on a 2-core machine), one
 * builder may run on any core, a worker's included, at SCHED_IDLE: when the core has
 * nothing else to run (a worker backing off idle), preempted the moment it has (beside a
 * busy worker it still gets a sliver: CFS weighs SCHED_IDLE 3 against a task's 1024).
 *
 * Control thread only. */
#pragma once
#include <stdint.h>

#include "lb_table.h"
#include "maglev.h"

/* Builder threads at most. */
#define SL_LB_PREBUILD_MAX_THREADS 8

/* Builder threads to start: n (at most SL_LB_PREBUILD_MAX_THREADS), or with n < 0 one per
 * core that control threads may use besides the main lcore's (one on any core when there
 * is none). 0: none. Builders running for an earlier call stop (a batch being built
 * ends: its Services build their own tables); the next batch starts the new count. */
void sl_lb_prebuild_threads(int n);
/* The builder threads sl_lb_prebuild_start() starts: 0 before rte_eal_init (the cores
 * left to control threads are not known yet; resolved at the first call after it). */
unsigned sl_lb_prebuild_thread_count(void);

/* Note that a Service is about to be set with backends b[0..n-1], as sl_lb_service_set
 * takes them: its Maglev table is built ahead. Skipped (and built when set) when there are
 * no builders, no active backend, the same set is noted already, or the batch holds
 * SL_LB_PREBUILD_MAX_SLOTS slots. Between sl_lb_prebuild_end() and _start() only. */
void sl_lb_prebuild_add(const struct sl_lb_backend *b, unsigned n);
#define SL_LB_PREBUILD_MAX_SLOTS (32u << 20) /* 64 MiB of uint16_t slots */
/* Start the builders on the noted sets (none noted: nothing). */
void sl_lb_prebuild_start(void);
/* Stop the builders (each finishes the table it builds) and forget the tables. */
void sl_lb_prebuild_end(void);
/* Free what the prebuilds kept (sl_lb_fini). */
void sl_lb_prebuild_fini(void);

/* What the prebuilds did since start. */
struct sl_lb_prebuild_stats {
	uint64_t noted;       /* backend sets noted to build ahead */
	uint64_t by_builders; /* of them built by builder threads (the rest: the control thread) */
	uint64_t used;        /* Service entries set with a table built ahead */
	uint64_t late;        /* of them built when set: the builder that took it was late */
};
void sl_lb_prebuild_get_stats(struct sl_lb_prebuild_stats *ret);

/* The Maglev table of mb[0..n-1] with m slots: built ahead, or the last one again (a
 * Service's frontends share one backend set), else built now. Valid until the next call.
 * NULL with *rc set (-ENOMEM, or sl_maglev_build's). For lb_table.c. */
const uint16_t *sl_lb_maglev_table(const struct sl_maglev_backend *mb, unsigned n, uint32_t m,
				   int *rc);
