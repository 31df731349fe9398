/* `sluicectl show conntrack` and `sluicectl conntrack flush`: the conntrack flows a filter
 * matches, listed (bounded), counted (--summary) or removed.
 *
 * A walk over the whole table (1M flows: ~2M keys) takes longer than the control loop may
 * be held, so it runs as a job in slices: sl_ct_job_run walks for at most a given time and
 * returns, the API calls it again on the next loop round (core/sl_api.c), and answers the
 * client when the job is done. Control thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "dataplane/ct/ct_filter.h"

struct sl_ct_job;

/* A walk for filter f: listing or counting (flush false), or removing (flush true). NULL
 * when out of memory. */
struct sl_ct_job *sl_ct_job_start(const struct sl_ct_filter *f, bool flush);
/* Walk on for about max_us microseconds (at least one slice of keys). Returns NULL while
 * the walk goes on, or, once done, the result (j is freed):
 *   show:    {"flows": [...], "matched": N, "shown": M}
 *   summary: {"entries", "size", "occupancy_pct", "pending_free", "matched", "states",
 *             "protocols", "insert_failed", "aged", "flushed", "walk_ms", "walk_slices"}
 *   flush:   {"flushed": N} */
cJSON *sl_ct_job_run(struct sl_ct_job *j, uint64_t max_us);
/* Abandon j (its client went away). */
void sl_ct_job_free(struct sl_ct_job *j);
