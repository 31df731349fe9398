/* Persisted run-time state: the pods, nodes, routes, Services and EndpointSlices added or
 * removed through the API survive a restart (re-applied at start on top of the config, so a
 * restarted sluiced re-attaches every pod: veths re-open their AF_XDP socket, vhost-user
 * ports reconnect as client). Control thread.
 *
 * On disk: a snapshot, the state file (the config's lists, {"pods":[...],"nodes":[...],
 * "routes":[...],"services":[...],"endpointslices":[...]}, plus "journal": its
 * generation), and a journal beside it, <state>.journal: one line per saved change set,
 * {"gen":G,"put":{"pods":[obj...],...},"del":{"pods":["ns/name"...],...}}, appended and
 * fdatasync()ed before the requests that made it are answered. A line counts only with
 * its snapshot's generation (its "gen", or its "base": see below) and its newline (a line
 * cut by a crash was never acknowledged). The cost of a save follows the change, not the
 * state: when the journal would grow past the snapshot, the snapshot is rewritten
 * (atomically, with a new generation, which voids the old journal) by a forked child
 * while the lines go to <state>.journal.next (below), and the journal is then replaced;
 * the snapshot is written in process at the first save of a process, and whenever an
 * append could not be undone or a child failed.
 *
 * Format versions: a sluiced before the child (no "base", no .next) reads these files
 * whole after a clean stop (sl_api_close waits for the child; .next is gone then); after a
 * crash while a child ran it would miss .next's lines, so downgrade only after a clean
 * stop. This sluiced reads the older files as they are. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model/sl_model.h"

struct sl_request;

/* Size limit of the snapshot and of the journal, each: 100,000 Services with 10-endpoint
 * slices take ~160 MB; the model holds at most 200,000 Services. */
#define SL_PERSIST_MAX_BYTES (1024u << 20)
#define SL_PERSIST_JOURNAL_SUFFIX ".journal"
/* The journal of a snapshot being written by a child process (see sl_persist_commit). */
#define SL_PERSIST_NEXT_SUFFIX ".journal.next"

#define SL_PERSIST_PATH_MAX 4000       /* bytes of a --state path, NUL included */
#define SL_PERSIST_TMP_SUFFIX ".tmp." /* temporary file: ".<name>.tmp.<pid>" beside it */

/* Check a --state path at start: it fits (SL_PERSIST_PATH_MAX; its temporary file's and
 * its journal's names fit NAME_MAX), names a file in an existing directory, and neither it
 * nor its journal is something other than a regular file (a symbolic link is refused: the
 * writer never follows one). Returns 0 or
 * -errno with err ("--state: ...") set. Any thread, before the loop starts. */
int sl_persist_check_path(const char *path, char *err, size_t errlen);
/* Write text to path atomically and without following links: a new temporary file in the
 * same directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 whatever the umask), written and
 * fsync()ed, then renameat() over path (replacing a symbolic link there, never writing
 * through it), then the directory fsync()ed. Returns 0 or -errno (nothing is left behind on
 * error). Any thread. */
int sl_persist_write(const char *path, const char *text);
/* sl_persist_write in parts, for a text written as it is made: begin (the temporary file
 * created; 0 or -errno, nothing left behind then), chunks (the first error kept in rc),
 * then end, which makes the file path if rc and its argument (the caller's own error) are
 * 0, else removes it; returns 0 or -errno. Any thread. */
struct sl_persist_out {
	int dfd, fd, rc;
	char tmp[256], base[256];
};
int sl_persist_write_begin(struct sl_persist_out *o, const char *path);
void sl_persist_write_chunk(struct sl_persist_out *o, const void *p, size_t len);
int sl_persist_write_end(struct sl_persist_out *o, int rc);
/* Read at most max bytes of the regular file path (O_NOFOLLOW: a symbolic link is -ELOOP,
 * a FIFO or device -EINVAL) into *ret_text (NUL-terminated, free()). Returns 0 or -errno
 * (-ENOENT when missing). Any thread. */
int sl_persist_read(const char *path, char **ret_text, size_t *ret_len, size_t max);

/* Open the journal of the state file path for appending, never through a symbolic link;
 * with create, a missing one is created (mode 0600, the directory fsync()ed) and an
 * existing one emptied. Returns the
 * fd or -errno (-ENOENT: missing). Any thread. */
int sl_persist_journal_open(const char *path, bool create);
/* The same for the journal named path + suffix; with create, an existing one is emptied
 * first (a new, empty file either way). */
int sl_persist_journal_open_suffix(const char *path, const char *suffix, bool create);
/* Rename path + from to path + to (to NULL: remove path + from; ENOENT is -ENOENT), and
 * with sync fsync() the directory. Returns 0 or -errno. Any thread. */
int sl_persist_journal_rename(const char *path, const char *from, const char *to, bool sync);
/* Remove the temporary file process pid left beside path (its snapshot failed). */
void sl_persist_tmp_remove(const char *path, int pid);
/* fsync() the directory of path. Returns 0 or -errno. Any thread. */
int sl_persist_sync_dir(const char *path);
/* Append len bytes to the journal fd and fdatasync() it. On error the journal is cut back
 * to its length before (at, the caller's count); returns -errno, with *ret_torn set when
 * even that failed (the next save must be a snapshot). Any thread. */
int sl_persist_journal_append(int fd, size_t at, const char *text, size_t len, bool *ret_torn);

/* Write a snapshot of m to path in process (as sl_persist_write does, printed and written
 * one object at a time: sl_persist_write_begin/chunk/end) with a new generation, and empty
 * the journal (and remove .next); a snapshot child still running is waited for first. Returns 0 or -errno (nothing changed on disk then). Control thread. */
int sl_persist_save(const char *path, const struct sl_model *m);
/* Every pod, node, route, Service and EndpointSlice of m as JSON lists in the config's
 * format. */
cJSON *sl_persist_export(const struct sl_model *m);

/* Note that a request may change the persisted objects it names (call before it is
 * applied: an apply's objects are the model's afterwards). Notes of a request that then
 * fails are harmless: a note saves what the model holds under that name. */
void sl_persist_note_request(const struct sl_request *r);
/* Save what the notes name as they are in m now: one journal line (or a snapshot, see
 * above), synced when this returns 0. On error (-errno) the notes stay for the next try.
 * Control thread. */
int sl_persist_commit(const char *path, const struct sl_model *m);

/* The compaction in a child process. When the journal would outgrow the snapshot, the
 * commit appends its line as usual, then fork()s: the child (one at a time) writes the
 * model as its copy-on-write view holds it as a snapshot of a new generation G2 (to its
 * own temporary file, renamed over the state file, the directory fsync()ed) and _exit()s;
 * it touches nothing but the model, malloc and its files (sluiced marks DPDK's memory
 * MADV_DONTFORK). Meanwhile the lines go to <state>.journal.next, each
 * {"gen":G2,"base":G1,...}: the loader applies a line of either journal whose "gen" or
 * "base" is the snapshot's generation, the journal's lines first. So a crash at any point
 * restores everything: with the old snapshot (G1), its journal and then .next; with the
 * new one (G2), .next's lines. When the child is reaped after success, .next is renamed
 * over the journal (the old journal's lines are all in the snapshot); after a failure (a
 * child killed, a full disk) its temporary file is removed and the next commit writes a
 * snapshot in process, as at the first save. */
/* Whether compaction forks (default true; false: the snapshot is written in process, as
 * every snapshot was before). Control thread. */
void sl_persist_set_fork(bool on);
/* Tests: a function the child calls after writing the snapshot, before it is renamed over
 * the state file (a test kills the child there). */
void sl_persist_set_child_hook(void (*fn)(void));
/* A pidfd of the snapshot child (readable once it exited), or -1 when none runs (or the
 * kernel has no pidfd: the child is then reaped by the next commit or sl_persist_reap).
 * Control thread. */
int sl_persist_child_fd(void);
/* Reap the snapshot child if it exited (with wait: wait for it) and finish its snapshot
 * (the journal retired) or clean up after it. Returns 1 while it still runs, 0 when no
 * child is left, -errno when finishing failed (the next commit writes a snapshot in
 * process; the state on disk is whole either way). Closes the pidfd: a caller watching
 * it removes it from its loop first. Control thread. */
int sl_persist_reap(bool wait);

/* Saves so far (`show stats`): journal appends, snapshots, and their bytes. */
struct sl_persist_stats {
	uint64_t appends, snapshots, append_bytes, snapshot_bytes;
	size_t journal_bytes; /* the journal now */
	uint64_t forks, fork_failures; /* snapshots begun by a child, and children that failed */
	uint64_t append_ns;   /* control thread CPU time in journal lines (encode + write) */
	uint64_t encode_ns;   /* ... of which making their text */
	uint64_t snapshot_ns; /* ... in snapshots written in process, and in forks and reaps */
};
void sl_persist_get_stats(struct sl_persist_stats *ret);

/* Re-apply what path (and its journal) holds; entries already present (from the config)
 * are skipped, entries that fail (a veth that is gone) are logged and skipped. A missing
 * file is not an error. Returns how many entries were restored, or -errno with err set if
 * the file is bad. The next commit writes a snapshot. Control thread, at start. */
int sl_persist_load(const char *path, struct sl_model *m, char *err, size_t errlen);
