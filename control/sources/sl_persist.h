/* Persisted run-time state: the pods, nodes, routes, Services and EndpointSlices added or removed through the API are
 * written to a state file (same format as the config's lists) after every change, and
 * re-applied at start, so a restarted sluiced re-attaches every pod (veths re-open their
 * AF_XDP socket, vhost-user ports reconnect as client). Control thread. */
#pragma once
#include <stddef.h>

#include <cjson/cJSON.h>

#include "model/sl_model.h"

/* State file size limit: Services and slices take ~1 KiB each. Each change rewrites the
 * whole file: with tens of thousands of Services that is milliseconds per change (the
 * Kubernetes sync will want a cheaper journal). */
#define SL_PERSIST_MAX_BYTES (256 << 20)

/* Write the current pods, nodes and routes to path (atomically: temp file + rename).
 * Returns 0 or -errno. */
int sl_persist_save(const char *path, const struct sl_model *m);
/* Every pod, node and route of m as JSON lists {"pods":[...],"nodes":[...],"routes":[...]}
 * in the config's format. */
cJSON *sl_persist_export(const struct sl_model *m);
/* Re-apply what path holds; entries already present (from the config) are skipped, entries
 * that fail (a veth that is gone) are logged and skipped. A missing file is not an error.
 * Returns how many entries were restored, or -errno with err set if the file is bad. */
int sl_persist_load(const char *path, struct sl_model *m, char *err, size_t errlen);
