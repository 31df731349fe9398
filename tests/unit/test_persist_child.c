/* The snapshot child (sl_persist.h "The compaction in a child process"): killed
 * mid-snapshot, or finishing while changes go on; what a crash would leave at every point
 * restores whole, and the journal is retired only after the child's snapshot is on disk. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "control/model/sl_service.h"
#include "control/sources/sl_persist.h"
#include "th_persist.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The child's hook: the snapshot is written, not yet renamed; the child tells the test
 * (SIGUSR2: it closed every descriptor it inherited) and waits there for SIGUSR1 (go on)
 * or SIGKILL (a crash mid-snapshot). */
static void park_hook(void)
{
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getppid(), SIGUSR2);
	sigwait(&set, &sig);
}

static void signal_child(int sig)
{
	int fd = sl_persist_child_fd();
	assert_true(fd >= 0);
	assert_int_equal(syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0), 0);
}

/* Wait until the child exited, without reaping it (sl_persist_reap does). */
static void child_exited(void)
{
	siginfo_t si;
	assert_int_equal(waitid(P_PIDFD, (id_t)sl_persist_child_fd(), &si, WEXITED | WNOWAIT), 0);
}

/* Copy the state file and its journals as they are (what a crash now would leave). */
static void copy_state(const char *from, const char *to)
{
	static const char *const sfx[] = { "", SL_PERSIST_JOURNAL_SUFFIX, SL_PERSIST_NEXT_SUFFIX };
	for (unsigned i = 0; i < 3; i++) {
		char a[200], b[200], *t;
		size_t len;
		snprintf(a, sizeof(a), "%s%s", from, sfx[i]);
		snprintf(b, sizeof(b), "%s%s", to, sfx[i]);
		unlink(b);
		if (sl_persist_read(a, &t, &len, SL_PERSIST_MAX_BYTES) < 0)
			continue;
		FILE *f = fopen(b, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(t, 1, len, f), len);
		fclose(f);
		free(t);
	}
}

/* The Services a restart from path gets back; the ones changed after the fork checked. */
static void restores_all(const char *path, unsigned services)
{
	char err[256] = "";
	struct sl_model *m = th_new_model();
	assert_true(sl_persist_load(path, m, err, sizeof(err)) > 0);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(c.services, services);
	assert_null(sl_model_svc_find(m, "ns", "svc-2"));       /* deleted after the fork */
	assert_int_equal(th_slice_eps(m, "svc-3-x"), 1);           /* changed after the fork */
	assert_non_null(sl_model_svc_find(m, "ns", "svc-900")); /* added after the fork */
	assert_non_null(sl_model_pod_find(m, "default", "p1"));
	sl_model_destroy(m);
}

/* Changes until the journal outgrows the snapshot and a child is forked (parked in
 * park_hook); then changes made while it runs (their lines in .next). */
static void fork_with_changes(struct sl_model *m, const char *path)
{
	char next[200];
	struct sl_persist_stats a, b;
	snprintf(next, sizeof(next), "%s" SL_PERSIST_NEXT_SUFFIX, path);
	sigset_t usr2; /* the child's "parked", taken by sigwait below */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	sl_persist_set_child_hook(park_hook);
	th_apply_svcs(m, path, 0, 20, 2); /* the first save: a snapshot, in process */
	sl_persist_get_stats(&a);
	for (unsigned i = 100; sl_persist_child_fd() < 0 && i < 400; i += 4)
		th_apply_svcs(m, path, i, 4, 2);
	sl_persist_get_stats(&b);
	assert_int_equal(b.forks - a.forks, 1);
	assert_true(sl_persist_child_fd() >= 0);
	assert_int_equal(th_file_size(next, NULL), 0);
	th_apply_svcs(m, path, 3, 1, 1); /* svc-3's slice: 2 endpoints -> 1 */
	th_req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-2\"}");
	th_apply_svcs(m, path, 900, 1, 2);
	th_req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p1\",\"ip\":\"10.244.1.2\","
		     "\"mac\":\"02:00:00:00:00:02\",\"ifname\":\"veth-p1\"}}");
	assert_true(th_file_size(next, NULL) > 0); /* the lines after the fork: in .next */
	/* The child runs at the lowest priority, on any core: wait until it parked. */
	int sig;
	assert_int_equal(sigwait(&usr2, &sig), 0);
	sl_persist_set_child_hook(NULL);
}

static unsigned tmp_files(void)
{
	unsigned n = 0;
	DIR *d = opendir(th_dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, SL_PERSIST_TMP_SUFFIX) != NULL;
	if (d)
		closedir(d);
	return n;
}

/* A snapshot child killed mid-snapshot (written, not renamed): the state on disk is the
 * old snapshot, its journal and .next, and restores whole; the child's temporary file is
 * removed; the next save writes a snapshot in process and .next goes. */
static void test_child_killed(void **s)
{
	char path[128], next[200];
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/ck.json", th_dir);
	snprintf(next, sizeof(next), "%s" SL_PERSIST_NEXT_SUFFIX, path);
	struct sl_model *m = th_new_model();
	fork_with_changes(m, path);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(tmp_files(), 1); /* the child's snapshot, not renamed */
	signal_child(SIGKILL);
	sl_persist_get_stats(&a);
	assert_true(sl_persist_reap(true) < 0);
	sl_persist_get_stats(&b);
	assert_int_equal(b.fork_failures - a.fork_failures, 1);
	assert_int_equal(b.snapshots, a.snapshots);
	assert_int_equal(tmp_files(), 0);
	char crash[128];
	snprintf(crash, sizeof(crash), "%s/ck-crash.json", th_dir);
	copy_state(path, crash);
	restores_all(crash, c.services);
	/* (load reset the module: the model's next save is a snapshot; so it is after a
	 * failed child) */
	sl_persist_get_stats(&a);
	th_req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-5\"}");
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	assert_int_equal(th_file_size(next, NULL), -1);
	restores_all(path, c.services - 1);
	sl_model_destroy(m);
}

/* A snapshot child that finishes: lines written after it started are kept at every point
 * (the crash before and after its rename, before the reap) and after the reap, when .next
 * has become the journal. */
static void test_child_lines_kept(void **s)
{
	char path[128], jpath[160], next[200], crash[128], crash2[128];
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/cl.json", th_dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	snprintf(next, sizeof(next), "%s" SL_PERSIST_NEXT_SUFFIX, path);
	snprintf(crash, sizeof(crash), "%s/cl-crash.json", th_dir);
	snprintf(crash2, sizeof(crash2), "%s/cl-crash2.json", th_dir);
	struct sl_model *m = th_new_model();
	fork_with_changes(m, path);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	ino_t ino0 = 0, ino1 = 0;
	off_t old_snap = th_file_size(path, &ino0);
	copy_state(path, crash); /* a crash now: the old snapshot */
	signal_child(SIGUSR1);
	child_exited();
	assert_true(th_file_size(path, &ino1) != old_snap || ino1 != ino0); /* the new snapshot */
	off_t nsize = th_file_size(next, NULL);
	copy_state(path, crash2); /* a crash now: the new snapshot, not reaped */
	sl_persist_get_stats(&a);
	assert_int_equal(sl_persist_reap(true), 0);
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	assert_int_equal(th_file_size(next, NULL), -1);     /* retired: */
	assert_int_equal(th_file_size(jpath, NULL), nsize); /* .next is the journal now */
	assert_int_equal(b.journal_bytes, (size_t)nsize);
	/* (restores reset the module: after the reap, as sluiced's restart) */
	struct sl_persist_stats keep = b;
	/* A change after the reap: a line of the new generation, in the journal. */
	th_req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-6\"}");
	sl_persist_get_stats(&a);
	assert_int_equal(a.appends - keep.appends, 1);
	assert_int_equal(a.snapshots, keep.snapshots);
	restores_all(path, c.services - 1);
	restores_all(crash, c.services);
	restores_all(crash2, c.services);
	sl_model_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_killed),
		cmocka_unit_test(test_child_lines_kept),
	};
	return cmocka_run_group_tests(tests, th_setup, th_teardown);
}
