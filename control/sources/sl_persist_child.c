/* The snapshot child's life cycle (sl_persist.h "The compaction in a child process"):
 * forked by a commit whose journal outgrew the snapshot, its pidfd watched by the loop,
 * reaped, and then <state>.journal.next renamed over the journal (or, after a failure, its
 * temporary file removed and a snapshot due in process). Control thread, but child_main,
 * which runs in the child. */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sl_persist.h"
#include "sl_persist_int.h"

static struct sl_persist_state *const ps = &sl_persist_ps;

void sl_persist_set_fork(bool on)
{
	ps->no_fork = !on;
}

void sl_persist_set_child_hook(void (*fn)(void))
{
	ps->child_hook = fn;
}

int sl_persist_child_fd(void)
{
	return ps->child ? ps->child_fd : -1;
}

/* The snapshot child: m (its copy-on-write view) written as the snapshot of generation
 * g over the state file, the directory synced; exits 0 then, else 1. Touches nothing but
 * the model, malloc and its own files; never returns. */
static __attribute__((noreturn)) void child_main(const struct sl_model *m, const char *g,
						  pid_t parent)
{
	/* It dies with sluiced: a snapshot renamed after sluiced died could land over the one
	 * a restarted sluiced wrote since. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* Not on the control thread's core (its affinity is inherited: EAL pins the main
	 * lcore): any core, at the lowest priority, so it runs where a core idles (a worker
	 * backing off) and yields to the control thread, workers and everything else. */
	cpu_set_t any;
	CPU_ZERO(&any);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &any);
	sched_setaffinity(0, sizeof(any), &any);
	setpriority(PRIO_PROCESS, 0, 19);
#ifdef SYS_close_range
	syscall(SYS_close_range, 3u, ~0u, 0u); /* the parent's sockets are not its to hold */
#endif
	struct sl_persist_out out;
	if (sl_persist_write_begin(&out, ps->path) < 0)
		_exit(1);
	size_t len = sl_persist_snapshot_text(&out, m, g);
	if (ps->child_hook)
		ps->child_hook();
	int rc = sl_persist_write_end(&out, len ? 0 : -ENOMEM);
	if (!rc) /* the rename must be on disk before the parent retires the journal */
		rc = sl_persist_sync_dir(ps->path);
	_exit(rc ? 1 : 0);
}

int sl_persist_start_child(const struct sl_model *m)
{
	uint64_t gen = sl_persist_new_gen();
	char g[24];
	snprintf(g, sizeof(g), "%016" PRIx64, gen);
	int nfd = sl_persist_journal_open_suffix(ps->path, SL_PERSIST_NEXT_SUFFIX, true);
	if (nfd < 0)
		return nfd;
	if (fdatasync(nfd) < 0) { /* (emptied: a stale one's lines never come back) */
		int rc = -errno;
		close(nfd);
		return rc;
	}
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(nfd);
		return rc;
	}
	if (pid == 0)
		child_main(m, g, parent);
	ps->child = pid;
	ps->child_gen = gen;
	ps->nfd = nfd;
	ps->next_bytes = 0;
#ifdef SYS_pidfd_open
	ps->child_fd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	ps->child_fd = -1;
#endif
	ps->stats.forks++;
	return 0;
}

int sl_persist_reap(bool wait)
{
	if (!ps->child)
		return 0;
	int st = 0;
	pid_t r;
	do
		r = waitpid(ps->child, &st, wait ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 1;
	uint64_t t0 = sl_persist_cpu_ns();
	pid_t pid = ps->child;
	bool ok = r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	ps->child = 0;
	if (ps->child_fd >= 0)
		close(ps->child_fd);
	ps->child_fd = -1;
	int rc = 0;
	struct stat sb;
	if (ok && stat(ps->path, &sb) < 0)
		ok = false, rc = -errno;
	if (ok) {
		/* The snapshot of child_gen is on disk: the journal's lines are all in it, .next
		 * holds the ones after it. */
		rc = sl_persist_journal_rename(ps->path, SL_PERSIST_NEXT_SUFFIX,
					       SL_PERSIST_JOURNAL_SUFFIX, true);
		ps->stats.snapshots++;
		ps->stats.snapshot_bytes += (uint64_t)sb.st_size;
	}
	if (ok && !rc) {
		if (ps->jfd >= 0)
			close(ps->jfd);
		ps->jfd = ps->nfd;
		ps->journal_bytes = ps->next_bytes;
		ps->gen = ps->gen ? ps->child_gen : 0; /* (0: a snapshot is due all the same) */
		ps->snap_bytes = (size_t)sb.st_size;
	} else {
		/* The state on disk is whole (the old snapshot with both journals, or the new one
		 * with .next); the next commit writes a snapshot in process. */
		if (!ok) {
			sl_persist_tmp_remove(ps->path, pid);
			ps->stats.fork_failures++;
			if (r == pid && WIFSIGNALED(st))
				fprintf(stderr, "sluiced: state %s: snapshot child killed by signal %d; "
					"the next save writes it in process\n", ps->path, WTERMSIG(st));
			else
				fprintf(stderr, "sluiced: state %s: snapshot child failed (status %d); "
					"the next save writes it in process\n", ps->path,
					r == pid ? WEXITSTATUS(st) : -1);
		} else {
			fprintf(stderr, "sluiced: state %s: journal not retired: %s; the next save "
				"writes a snapshot\n", ps->path, strerror(-rc));
		}
		if (ps->nfd >= 0)
			close(ps->nfd);
		ps->gen = 0;
		rc = rc ?: -EIO;
	}
	ps->nfd = -1;
	ps->next_bytes = 0;
	ps->stats.journal_bytes = ps->journal_bytes;
	ps->stats.snapshot_ns += sl_persist_cpu_ns() - t0;
	return rc;
}
