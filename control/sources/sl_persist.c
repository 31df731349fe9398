/* Persisted run-time state (see sl_persist.h): what the saving side knows of the state
 * file (sl_persist_ps), starting over, and the snapshot written in process. The journal
 * writer is in sl_persist_journal.c, the snapshot child in sl_persist_child.c, the text in
 * sl_persist_encode.c, the loader in sl_persist_load.c. Control thread. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sl_persist.h"
#include "sl_persist_int.h"

struct sl_persist_state sl_persist_ps = { .jfd = -1, .child_fd = -1, .nfd = -1 };
static struct sl_persist_state *const ps = &sl_persist_ps;

void sl_persist_reset(const char *path)
{
	sl_persist_reap(true); /* (about the old path) */
	if (ps->jfd >= 0)
		close(ps->jfd);
	ps->jfd = -1;
	ps->gen = 0;
	ps->snap_bytes = ps->journal_bytes = 0;
	ps->n_notes = 0;
	snprintf(ps->path, sizeof(ps->path), "%s", path);
}

uint64_t sl_persist_new_gen(void)
{
	static uint64_t counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t g = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	g ^= (uint64_t)getpid() << 40 ^ ++counter * 0x9e3779b97f4a7c15ull;
	return g ? g : 1;
}

static int save(const char *path, const struct sl_model *m)
{
	if (strcmp(ps->path, path))
		sl_persist_reset(path);
	sl_persist_reap(true); /* (one snapshot at a time) */
	uint64_t gen = sl_persist_new_gen();
	char g[24];
	snprintf(g, sizeof(g), "%016" PRIx64, gen);
	struct sl_persist_out out;
	int rc = sl_persist_write_begin(&out, path);
	if (rc < 0)
		return rc;
	size_t len = sl_persist_snapshot_text(&out, m, g);
	rc = sl_persist_write_end(&out, len ? 0 : -ENOMEM);
	if (rc < 0)
		return rc;
	/* From here the snapshot holds everything; the old journals' lines are of other
	 * generations (ignored), emptied only to save room. */
	ps->gen = gen;
	ps->snap_bytes = len;
	ps->n_notes = 0;
	ps->stats.snapshots++;
	ps->stats.snapshot_bytes += len;
	if (ps->jfd < 0) /* (created at the first line: a state never changed has none) */
		ps->jfd = sl_persist_journal_open(path, false);
	if (ps->jfd >= 0 && (ftruncate(ps->jfd, 0) < 0 || fdatasync(ps->jfd) < 0)) {
		close(ps->jfd);
		ps->jfd = -1;
	}
	sl_persist_journal_rename(path, SL_PERSIST_NEXT_SUFFIX, NULL, false); /* a failed child's */
	ps->journal_bytes = 0;
	ps->stats.journal_bytes = 0;
	return 0;
}

int sl_persist_save(const char *path, const struct sl_model *m)
{
	uint64_t t0 = sl_persist_cpu_ns();
	int rc = save(path, m);
	ps->stats.snapshot_ns += sl_persist_cpu_ns() - t0;
	return rc;
}

void sl_persist_get_stats(struct sl_persist_stats *ret)
{
	*ret = ps->stats;
}
