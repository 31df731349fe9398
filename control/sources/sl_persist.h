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

#define SL_PERSIST_PATH_MAX 4000       /* bytes of a --state path, NUL included */
#define SL_PERSIST_TMP_SUFFIX ".tmp." /* temporary file: ".<name>.tmp.<pid>" beside it */

/* Check a --state path at start: it fits (SL_PERSIST_PATH_MAX; its temporary file's name
 * fits NAME_MAX), names a file in an existing directory, and is not something other than a
 * regular file (a symbolic link is refused: the writer never follows one). Returns 0 or
 * -errno with err ("--state: ...") set. Any thread, before the loop starts. */
int sl_persist_check_path(const char *path, char *err, size_t errlen);
/* Write text to path atomically and without following links: a new temporary file in the
 * same directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 whatever the umask), written and
 * fsync()ed, then renameat() over path (replacing a symbolic link there, never writing
 * through it), then the directory fsync()ed. Returns 0 or -errno (nothing is left behind on
 * error). Any thread. */
int sl_persist_write(const char *path, const char *text);
/* Read at most max bytes of the regular file path (O_NOFOLLOW: a symbolic link is -ELOOP,
 * a FIFO or device -EINVAL) into *ret_text (NUL-terminated, free()). Returns 0 or -errno
 * (-ENOENT when missing). Any thread. */
int sl_persist_read(const char *path, char **ret_text, size_t *ret_len, size_t max);

/* Write the current pods, nodes and routes of m to path (sl_persist_write). Returns 0 or
 * -errno. */
int sl_persist_save(const char *path, const struct sl_model *m);
/* Every pod, node and route of m as JSON lists {"pods":[...],"nodes":[...],"routes":[...]}
 * in the config's format. */
cJSON *sl_persist_export(const struct sl_model *m);
/* Re-apply what path holds; entries already present (from the config) are skipped, entries
 * that fail (a veth that is gone) are logged and skipped. A missing file is not an error.
 * Returns how many entries were restored, or -errno with err set if the file is bad. */
int sl_persist_load(const char *path, struct sl_model *m, char *err, size_t errlen);
