/* The state file writer: atomic, mode 0600, never through a symbolic link; paths that do
 * not fit are refused at start. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/sources/sl_persist.h"

static char dir[64];

static int setup(void **s)
{
	snprintf(dir, sizeof(dir), "/tmp/sl-persist-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

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
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(state, sizeof(state), "%s/state.json", dir);
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
	snprintf(tmp, sizeof(tmp), "%s/.state.json" SL_PERSIST_TMP_SUFFIX "%d", dir, (int)getpid());
	assert_int_equal(access(tmp, F_OK), -1);
}

/* A temporary name planted as a symbolic link is not written through either. */
static void test_write_tmp_symlink(void **s)
{
	char victim[128], state[128], tmp[160], buf[64];
	snprintf(victim, sizeof(victim), "%s/victim2", dir);
	snprintf(state, sizeof(state), "%s/s2.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.s2.json" SL_PERSIST_TMP_SUFFIX "%d", dir, (int)getpid());
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, tmp), 0);
	snprintf(tmp, sizeof(tmp), "%s/s2.json.tmp", dir); /* the name before the fix */
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
	snprintf(state, sizeof(state), "%s/r.json", dir);
	snprintf(link, sizeof(link), "%s/r-link.json", dir);
	assert_int_equal(sl_persist_read(state, &text, &len, 100), -ENOENT);
	assert_int_equal(sl_persist_write(state, "hello"), 0);
	assert_int_equal(sl_persist_read(state, &text, &len, 100), 0);
	assert_int_equal(len, 5);
	assert_string_equal(text, "hello");
	free(text);
	assert_int_equal(symlink(state, link), 0);
	assert_int_equal(sl_persist_read(link, &text, &len, 100), -ELOOP);
	assert_int_equal(sl_persist_read(dir, &text, &len, 100), -EINVAL);
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
	snprintf(p, sizeof(p), "%s/ok.json", dir);
	expect_path(p, 0, NULL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	expect_path(longp, -ENAMETOOLONG, "--state: path is");
	snprintf(p, sizeof(p), "%s/%0250d", dir, 0);
	expect_path(p, -ENAMETOOLONG, "too long for its temporary file");
	snprintf(p, sizeof(p), "%s/missing/x.json", dir);
	expect_path(p, -ENOENT, "--state: directory");
	snprintf(p, sizeof(p), "%s/", dir);
	expect_path(p, -EINVAL, "does not name a file");
	snprintf(link, sizeof(link), "%s/l.json", dir);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	expect_path(link, -EINVAL, "symbolic link");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_replaces_symlink),
		cmocka_unit_test(test_write_tmp_symlink),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_check_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
