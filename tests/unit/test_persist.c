/* The state file writer: atomic, mode 0600, never through a symbolic link; paths that do
 * not fit are refused at start. The journal: a save costs the change (one line appended,
 * the snapshot untouched) and what was saved comes back at a restart, lines cut by a crash
 * or of an older snapshot ignored. The snapshot child: test_persist_child.c; the text:
 * test_persist_text.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "control/model/sl_policy.h"
#include "control/model/sl_service.h"
#include "control/sources/sl_persist.h"
#include "th_persist.h"

static void slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t len = fread(buf, 1, n - 1, f);
	buf[len] = 0;
	fclose(f);
}

/* The state path is a symbolic link to a file root must not write (a victim): the write
 * replaces the link with a regular file of mode 0600 and leaves the victim alone. */
static void test_write_replaces_symlink(void **s)
{
	char victim[128], state[128], buf[64];
	struct stat st;
	snprintf(victim, sizeof(victim), "%s/victim", th_dir);
	snprintf(state, sizeof(state), "%s/state.json", th_dir);
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, state), 0);
	mode_t old = umask(0);
	assert_int_equal(sl_persist_write(state, "{\"pods\":[]}\n"), 0);
	umask(old);
	slurp(victim, buf, sizeof(buf));
	assert_string_equal(buf, "precious\n");
	assert_int_equal(lstat(state, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	slurp(state, buf, sizeof(buf));
	assert_string_equal(buf, "{\"pods\":[]}\n");
	/* Nothing but the state file and the victim is left in the directory. */
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s/.state.json" SL_PERSIST_TMP_SUFFIX "%d", th_dir, (int)getpid());
	assert_int_equal(access(tmp, F_OK), -1);
}

/* A temporary name planted as a symbolic link is not written through either. */
static void test_write_tmp_symlink(void **s)
{
	char victim[128], state[128], tmp[160], buf[64];
	snprintf(victim, sizeof(victim), "%s/victim2", th_dir);
	snprintf(state, sizeof(state), "%s/s2.json", th_dir);
	snprintf(tmp, sizeof(tmp), "%s/.s2.json" SL_PERSIST_TMP_SUFFIX "%d", th_dir, (int)getpid());
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, tmp), 0);
	snprintf(tmp, sizeof(tmp), "%s/s2.json.tmp", th_dir); /* the name before the fix */
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(sl_persist_write(state, "x"), 0);
	slurp(victim, buf, sizeof(buf));
	assert_string_equal(buf, "precious\n");
	slurp(state, buf, sizeof(buf));
	assert_string_equal(buf, "x");
}

static void test_read(void **s)
{
	char state[128], link[128], *text;
	size_t len;
	snprintf(state, sizeof(state), "%s/r.json", th_dir);
	snprintf(link, sizeof(link), "%s/r-link.json", th_dir);
	assert_int_equal(sl_persist_read(state, &text, &len, 100), -ENOENT);
	assert_int_equal(sl_persist_write(state, "hello"), 0);
	assert_int_equal(sl_persist_read(state, &text, &len, 100), 0);
	assert_int_equal(len, 5);
	assert_string_equal(text, "hello");
	free(text);
	assert_int_equal(symlink(state, link), 0);
	assert_int_equal(sl_persist_read(link, &text, &len, 100), -ELOOP);
	assert_int_equal(sl_persist_read(th_dir, &text, &len, 100), -EINVAL);
}

static void expect_path(const char *path, int rc, const char *want)
{
	char err[256] = "";
	assert_int_equal(sl_persist_check_path(path, err, sizeof(err)), rc);
	if (want && !strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_check_path(void **s)
{
	static char longp[SL_PERSIST_PATH_MAX + 8];
	char p[PATH_MAX], link[128];
	snprintf(p, sizeof(p), "%s/ok.json", th_dir);
	expect_path(p, 0, NULL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	expect_path(longp, -ENAMETOOLONG, "--state: path is");
	snprintf(p, sizeof(p), "%s/%0250d", th_dir, 0);
	expect_path(p, -ENAMETOOLONG, "too long for its temporary file");
	snprintf(p, sizeof(p), "%s/missing/x.json", th_dir);
	expect_path(p, -ENOENT, "--state: directory");
	snprintf(p, sizeof(p), "%s/", th_dir);
	expect_path(p, -EINVAL, "does not name a file");
	snprintf(link, sizeof(link), "%s/l.json", th_dir);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	expect_path(link, -EINVAL, "symbolic link");
	/* Either journal as a symbolic link: refused, named. */
	static const char *const journals[] = { SL_PERSIST_JOURNAL_SUFFIX, SL_PERSIST_NEXT_SUFFIX };
	for (int i = 0; i < 2; i++) {
		char j[PATH_MAX];
		snprintf(p, sizeof(p), "%s/j%d.json", th_dir, i);
		snprintf(j, sizeof(j), "%s%s", p, journals[i]);
		assert_int_equal(symlink("/etc/passwd", j), 0);
		expect_path(p, -EINVAL, journals[i]);
		expect_path(p, -EINVAL, "is not a regular file (a symbolic link");
	}
}

/* A restart after changes saved as journal lines gets every one back; the snapshot was
 * written once and never rewritten for the small changes (each one line). */
static void test_journal_restores(void **s)
{
	char path[128], jpath[160];
	struct sl_persist_stats a, b;
	ino_t ino0, ino1;
	snprintf(path, sizeof(path), "%s/j.json", th_dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = th_new_model();
	sl_persist_get_stats(&a);
	th_apply_svcs(m, path, 0, 50, 3); /* the first save: a snapshot */
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	off_t snap = th_file_size(path, &ino0);
	assert_true(snap > 0);

	th_req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p1\",\"ip\":\"10.244.1.2\","
		     "\"mac\":\"02:00:00:00:00:02\",\"ifname\":\"veth-p1\"}}");
	th_apply_svcs(m, path, 3, 1, 1);                /* svc-3's slice: 3 endpoints -> 1 */
	th_apply_svcs(m, path, 60, 1, 2);               /* a new Service */
	th_req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-7\"}");
	th_req(m, path, "{\"cmd\":\"endpointslice.del\",\"namespace\":\"ns\",\"name\":\"svc-7-x\"}");
	th_req(m, path, "{\"cmd\":\"route.add\",\"route\":{\"prefix\":\"203.0.113.0/24\","
		     "\"via\":\"198.18.0.2\"}}");
	th_req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p2\",\"ip\":\"10.244.1.3\","
		     "\"mac\":\"02:00:00:00:00:03\",\"ifname\":\"veth-p2\"}}");
	th_req(m, path, "{\"cmd\":\"pod.del\",\"name\":\"p2\"}");
	sl_persist_get_stats(&a);
	assert_int_equal(a.snapshots, b.snapshots);   /* no rewrite of the whole state */
	assert_int_equal(a.appends - b.appends, 8);   /* one line per change */
	assert_int_equal(th_file_size(path, &ino1), snap); /* the very same snapshot */
	assert_true(ino1 == ino0);
	off_t jsize = th_file_size(jpath, NULL);
	assert_true(jsize > 0 && jsize < snap);
	assert_int_equal((size_t)jsize, a.journal_bytes);
	sl_model_destroy(m);

	/* The restart: everything acknowledged is back. */
	struct sl_model *m2 = th_new_model();
	char err[256] = "";
	int n = sl_persist_load(path, m2, err, sizeof(err));
	struct sl_model_counts c;
	sl_model_counts(m2, &c);
	assert_int_equal(c.services, 50);              /* 0..49 + 60 - 7 */
	assert_int_equal(c.slices, 50);
	assert_int_equal(c.pods, 1);
	assert_int_equal(c.routes, 1);
	assert_int_equal(n, 50 + 50 + 1 + 1);
	assert_null(sl_model_svc_find(m2, "ns", "svc-7"));
	assert_non_null(sl_model_svc_find(m2, "ns", "svc-60"));
	assert_non_null(sl_model_pod_find(m2, "default", "p1"));
	assert_null(sl_model_pod_find(m2, "default", "p2"));
	assert_int_equal(th_slice_eps(m2, "svc-3-x"), 1);
	assert_int_equal(th_slice_eps(m2, "svc-4-x"), 3);
	assert_int_equal(th_slice_eps(m2, "svc-60-x"), 2);

	/* The restarted process's first save is a snapshot of its own (a new generation: the
	 * journal's lines of the old one no longer count). */
	sl_persist_get_stats(&a);
	th_req(m2, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-8\"}");
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	assert_int_equal(th_file_size(jpath, NULL), 0);
	sl_model_destroy(m2);
	struct sl_model *m3 = th_new_model();
	assert_int_equal(sl_persist_load(path, m3, err, sizeof(err)), 49 + 50 + 1 + 1); /* svc-8-x stays */
	sl_model_destroy(m3);
}

/* A tap pod's namespace and what sluiced learned of its tap (drivers/sl_tap.h "Surviving a
 * restart") come back from the state file exactly, the 64-bit cookie included. */
static void test_tap_pod_fields(void **s)
{
	char path[128], err[256] = "";
	snprintf(path, sizeof(path), "%s/tap.json", th_dir);
	struct sl_model *m = th_new_model();
	th_req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"t1\",\"ip\":\"10.244.1.2\","
		     "\"mac\":\"02:00:00:00:00:02\",\"interface\":\"tap\",\"ifname\":\"tap-t1\","
		     "\"netns\":\"/var/run/netns/cni-t1\",\"netns_cookie\":\"9007199254740993\","
		     "\"tap_ifindex\":42}}");
	th_req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"t2\",\"ip\":\"10.244.1.3\","
		     "\"mac\":\"02:00:00:00:00:03\",\"interface\":\"tap\",\"ifname\":\"tap-t2\"}}");
	sl_model_destroy(m);
	struct sl_model *m2 = th_new_model();
	assert_int_equal(sl_persist_load(path, m2, err, sizeof(err)), 2);
	const struct sl_model_pod *p = sl_model_pod_find(m2, "default", "t1");
	assert_non_null(p);
	assert_true(p->spec.tap);
	assert_string_equal(p->spec.netns, "/var/run/netns/cni-t1");
	assert_true(p->spec.netns_cookie == 9007199254740993ull); /* 2^53 + 1: not a double */
	assert_int_equal(p->spec.tap_ifindex, 42);
	p = sl_model_pod_find(m2, "default", "t2");
	assert_non_null(p);
	assert_string_equal(p->spec.netns, "");
	assert_int_equal(p->spec.tap_ifindex, 0);
	sl_model_destroy(m2);
}

/* NetworkPolicy's objects (Namespaces, cluster Pods, NetworkPolicies) go through the journal
 * too: applied and deleted after the snapshot, they are back (or gone) after a restart. */
static void test_journal_policy_kinds(void **s)
{
	char path[128], err[256] = "";
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/jp.json", th_dir);
	struct sl_model *m = th_new_model();
	th_apply_svcs(m, path, 0, 20, 2); /* the snapshot */
	sl_persist_get_stats(&a);
	th_req(m, path, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\",\"items\":["
		     "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"ns\":\"x\"}}},"
		     "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"y\"}},"
		     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"x\","
		     "\"labels\":{\"pod\":\"a\"}},\"status\":{\"podIP\":\"10.244.1.2\"}},"
		     "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
		     "\"metadata\":{\"name\":\"deny\",\"namespace\":\"x\"},"
		     "\"spec\":{\"podSelector\":{}}},"
		     "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
		     "\"metadata\":{\"name\":\"gone\",\"namespace\":\"x\"},"
		     "\"spec\":{\"podSelector\":{}}}]}}");
	th_req(m, path, "{\"cmd\":\"k8s.del\",\"kind\":\"networkpolicy\",\"namespace\":\"x\","
		     "\"name\":\"gone\"}");
	th_req(m, path, "{\"cmd\":\"k8s.del\",\"kind\":\"namespace\",\"name\":\"y\"}");
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots, a.snapshots); /* journal lines, no rewrite */
	assert_int_equal(b.appends - a.appends, 3);
	sl_model_destroy(m);

	struct sl_model *m2 = th_new_model();
	assert_true(sl_persist_load(path, m2, err, sizeof(err)) > 0);
	assert_non_null(sl_model_ns_find(m2, "x"));
	assert_null(sl_model_ns_find(m2, "y"));
	assert_non_null(sl_model_kpod_find(m2, "x", "a"));
	assert_non_null(sl_model_policy_find(m2, "x", "deny"));
	assert_null(sl_model_policy_find(m2, "x", "gone"));
	sl_model_destroy(m2);
}

/* A crash: a line cut short at the end of the journal (never acknowledged) and a line of
 * another snapshot's generation (the snapshot was rewritten, the crash came before the
 * journal was emptied) are ignored; the lines before the cut count. */
static void test_journal_crash(void **s)
{
	char path[128], jpath[160], err[256] = "";
	snprintf(path, sizeof(path), "%s/c.json", th_dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = th_new_model();
	th_apply_svcs(m, path, 0, 20, 2);
	th_apply_svcs(m, path, 30, 1, 2);
	FILE *f = fopen(jpath, "a");
	assert_non_null(f);
	fputs("{\"gen\":\"0000000000000001\",\"put\":{\"services\":[{\"metadata\":{\"name\":"
	      "\"old\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"10.96.9.9\",\"ports\":"
	      "[{\"port\":80}]}}]},\"del\":{\"services\":[\"ns/svc-1\"]}}\n", f);
	fputs("{\"gen\":\"", f); /* cut by the crash */
	fclose(f);
	sl_model_destroy(m);
	m = th_new_model();
	assert_int_equal(sl_persist_load(path, m, err, sizeof(err)), 21 + 21);
	assert_non_null(sl_model_svc_find(m, "ns", "svc-30"));
	assert_non_null(sl_model_svc_find(m, "ns", "svc-1"));
	assert_null(sl_model_svc_find(m, "ns", "old"));
	sl_model_destroy(m);
}

/* The journal is folded into a new snapshot when it would outgrow the snapshot: the
 * bytes written stay proportional to the changes (here at most twice the state). */
static void test_journal_compacts(void **s)
{
	char path[128], jpath[160], err[256] = "";
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/k.json", th_dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = th_new_model();
	sl_persist_get_stats(&a);
	/* Each snapshot child waited for before the next change: it runs at nice 19, and on a
	 * loaded machine one still running when the journal outgrows its snapshot again defers
	 * that compaction to the first commit after its reap (the journal is then larger than
	 * the snapshot for a while: what the check below would see). */
	for (unsigned i = 0; i < 200; i += 5) {
		th_apply_svcs(m, path, i, 5, 2);
		assert_true(sl_persist_reap(true) >= 0);
	}
	sl_persist_get_stats(&b);
	off_t snap = th_file_size(path, NULL), j = th_file_size(jpath, NULL);
	assert_true(b.snapshots - a.snapshots >= 2 && b.snapshots - a.snapshots <= 8);
	assert_true(b.forks - a.forks >= 1);
	assert_true(b.appends - a.appends >= 30);
	assert_true(j <= snap);
	/* Written in all: the final state (snapshot + journal) times a small constant, where
	 * rewriting the state every time writes ~ 40 / 2 times it. */
	assert_true(b.snapshot_bytes - a.snapshot_bytes + b.append_bytes - a.append_bytes <
		    (uint64_t)(snap + j) * 4);
	sl_model_destroy(m);
	m = th_new_model();
	assert_int_equal(sl_persist_load(path, m, err, sizeof(err)), 400);
	sl_model_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_replaces_symlink),
		cmocka_unit_test(test_write_tmp_symlink),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_journal_restores),
		cmocka_unit_test(test_tap_pod_fields),
		cmocka_unit_test(test_journal_policy_kinds),
		cmocka_unit_test(test_journal_crash),
		cmocka_unit_test(test_journal_compacts),
	};
	return cmocka_run_group_tests(tests, th_setup, th_teardown);
}
