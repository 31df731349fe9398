/* `sluicectl show conntrack` and `sluicectl conntrack flush`: the conntrack flows a filter
 * matches, listed (bounded), counted (--summary) or removed. Control thread. */
#pragma once
#include <stddef.h>

#include <cjson/cJSON.h>

#include "dataplane/ct/ct_filter.h"

/* Rows {"flows": [...], "matched": N, "shown": M} (f->summary false) or the summary
 * {"entries", "size", "occupancy_pct", "states": {...}, "protocols": {...}, "matched",
 * "insert_failed", "aged", "flushed", "walk_ms"}. Never NULL. Control thread. */
cJSON *sl_show_conntrack(const struct sl_ct_filter *f);
/* Remove the flows f matches; {"flushed": N}. Control thread. */
cJSON *sl_conntrack_flush(const struct sl_ct_filter *f);
