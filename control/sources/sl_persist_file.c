/* The state file on disk: path checks and the atomic, symlink-safe write (see
 * sl_persist.h). No DPDK: linked by sluiced and by tests/unit/test_persist*.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_persist.h"

/* Split path into its directory (returned in dir, "." or "/" when it has none) and file
 * name (a pointer into path). */
static const char *split(const char *path, char dir[PATH_MAX])
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, PATH_MAX, ".");
		return path;
	}
	if (slash == path)
		snprintf(dir, PATH_MAX, "/");
	else
		snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
	return slash + 1;
}

int sl_persist_check_path(const char *path, char *err, size_t n)
{
	char dir[PATH_MAX];
	size_t len = strlen(path);
	if (!len) {
		snprintf(err, n, "--state: empty path");
		return -EINVAL;
	}
	if (len >= SL_PERSIST_PATH_MAX) {
		snprintf(err, n, "--state: path is %zu bytes, at most %d fit (with the temporary "
			 "file's suffix)", len, SL_PERSIST_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	const char *base = split(path, dir);
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		snprintf(err, n, "--state: \"%s\" does not name a file", path);
		return -EINVAL;
	}
	if (strlen(base) + sizeof(SL_PERSIST_TMP_SUFFIX) + 12 > NAME_MAX ||
	    strlen(base) + sizeof(SL_PERSIST_NEXT_SUFFIX) > NAME_MAX) {
		snprintf(err, n, "--state: file name \"%.40s...\" is too long for its temporary "
			 "file (%d bytes at most)", base,
			 (int)(NAME_MAX - sizeof(SL_PERSIST_TMP_SUFFIX) - 12));
		return -ENAMETOOLONG;
	}
	struct stat st;
	if (stat(dir, &st) < 0) {
		snprintf(err, n, "--state: directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, n, "--state: %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, n, "--state: %s exists and is not a regular file%s", path,
			 S_ISLNK(st.st_mode) ? " (a symbolic link: it is never followed)" : "");
		return -EINVAL;
	}
	static const char *const journals[] = { SL_PERSIST_JOURNAL_SUFFIX, SL_PERSIST_NEXT_SUFFIX };
	for (size_t i = 0; i < sizeof(journals) / sizeof(journals[0]); i++) {
		char jpath[SL_PERSIST_PATH_MAX + sizeof(SL_PERSIST_NEXT_SUFFIX)];
		snprintf(jpath, sizeof(jpath), "%s%s", path, journals[i]);
		if (lstat(jpath, &st) == 0 && !S_ISREG(st.st_mode)) {
			snprintf(err, n, "--state: its journal %s exists and is not a regular file%s",
				 jpath, S_ISLNK(st.st_mode) ? " (a symbolic link: it is never followed)"
							    : "");
			return -EINVAL;
		}
	}
	return 0;
}

int sl_persist_journal_open(const char *path, bool create)
{
	return sl_persist_journal_open_suffix(path, SL_PERSIST_JOURNAL_SUFFIX, create);
}

int sl_persist_journal_open_suffix(const char *path, const char *suffix, bool create)
{
	char dir[PATH_MAX], name[NAME_MAX + 1];
	if (strlen(path) >= SL_PERSIST_PATH_MAX)
		return -ENAMETOOLONG;
	const char *base = split(path, dir);
	if (snprintf(name, sizeof(name), "%s%s", base, suffix) >= (int)sizeof(name))
		return -ENAMETOOLONG;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int fd = openat(dfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && create && ftruncate(fd, 0) < 0) { /* (with create: a new, empty one) */
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	if (fd < 0 && errno == ENOENT && create) {
		fd = openat(dfd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd >= 0 && (fchmod(fd, 0600) < 0 || fsync(dfd) < 0)) { /* it exists after a crash */
			int e = errno;
			close(fd);
			unlinkat(dfd, name, 0);
			errno = e;
			fd = -1;
		}
	}
	int rc = fd < 0 ? -errno : fd;
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		rc = -EINVAL;
	}
	close(dfd);
	return rc;
}

int sl_persist_journal_rename(const char *path, const char *from, const char *to, bool sync)
{
	char dir[PATH_MAX], a[NAME_MAX + 1], b[NAME_MAX + 1];
	if (strlen(path) >= SL_PERSIST_PATH_MAX)
		return -ENAMETOOLONG;
	const char *base = split(path, dir);
	if (snprintf(a, sizeof(a), "%s%s", base, from) >= (int)sizeof(a) ||
	    (to && snprintf(b, sizeof(b), "%s%s", base, to) >= (int)sizeof(b)))
		return -ENAMETOOLONG;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int rc = (to ? renameat(dfd, a, dfd, b) : unlinkat(dfd, a, 0)) < 0 ? -errno : 0;
	if (!rc && sync && fsync(dfd) < 0)
		rc = -errno;
	close(dfd);
	return rc;
}

void sl_persist_tmp_remove(const char *path, int pid)
{
	char dir[PATH_MAX], name[NAME_MAX + 1];
	if (strlen(path) >= SL_PERSIST_PATH_MAX)
		return;
	const char *base = split(path, dir);
	if (snprintf(name, sizeof(name), ".%s" SL_PERSIST_TMP_SUFFIX "%d", base, pid) >=
	    (int)sizeof(name))
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	unlinkat(dfd, name, 0);
	close(dfd);
}

int sl_persist_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	split(path, dir);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int rc = fsync(dfd) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

int sl_persist_journal_append(int fd, size_t at, const char *text, size_t len, bool *ret_torn)
{
	size_t off = 0;
	int rc = 0;
	*ret_torn = false;
	while (off < len && !rc) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (!rc && fdatasync(fd) < 0)
		rc = -errno;
	/* A part of the line may be in the file: cut it (the next append must start a line). */
	if (rc && off && (ftruncate(fd, (off_t)at) < 0 || fdatasync(fd) < 0))
		*ret_torn = true;
	return rc;
}

int sl_persist_write_begin(struct sl_persist_out *o, const char *path)
{
	char dir[PATH_MAX];
	*o = (struct sl_persist_out){ .dfd = -1, .fd = -1 };
	if (strlen(path) >= SL_PERSIST_PATH_MAX)
		return -ENAMETOOLONG;
	const char *base = split(path, dir);
	snprintf(o->base, sizeof(o->base), "%s", base);
	if (snprintf(o->tmp, sizeof(o->tmp), ".%s" SL_PERSIST_TMP_SUFFIX "%d", base,
		     (int)getpid()) >= (int)sizeof(o->tmp))
		return -ENAMETOOLONG;
	/* The directory is the operator's (--state); everything in it is opened relative to
	 * it, and neither the temporary file nor the state file is ever followed if it is a
	 * symbolic link (renameat replaces a link, it does not write through it). */
	o->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dfd < 0)
		return -errno;
	if (unlinkat(o->dfd, o->tmp, 0) < 0 && errno != ENOENT) { /* left by a crash: ours */
		int rc = -errno;
		close(o->dfd);
		return rc;
	}
	o->fd = openat(o->dfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0600);
	if (o->fd < 0) {
		int rc = -errno;
		close(o->dfd);
		return rc;
	}
	return 0;
}

void sl_persist_write_chunk(struct sl_persist_out *o, const void *p, size_t len)
{
	size_t off = 0;
	while (off < len && !o->rc) {
		ssize_t w = write(o->fd, (const char *)p + off, len - off);
		if (w < 0 && errno != EINTR)
			o->rc = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
}

int sl_persist_write_end(struct sl_persist_out *o, int rc)
{
	rc = rc ?: o->rc;
	if (!rc && fchmod(o->fd, 0600) < 0) /* the umask may have taken bits, never added any */
		rc = -errno;
	if (!rc && fsync(o->fd) < 0)
		rc = -errno;
	if (close(o->fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(o->dfd, o->tmp, o->dfd, o->base) < 0)
		rc = -errno;
	if (rc)
		unlinkat(o->dfd, o->tmp, 0);
	else
		fsync(o->dfd); /* the rename itself survives a crash */
	close(o->dfd);
	o->fd = o->dfd = -1;
	return rc;
}

int sl_persist_write(const char *path, const char *text)
{
	struct sl_persist_out o;
	int rc = sl_persist_write_begin(&o, path);
	if (rc)
		return rc;
	sl_persist_write_chunk(&o, text, strlen(text));
	return sl_persist_write_end(&o, 0);
}

int sl_persist_read(const char *path, char **ret_text, size_t *ret_len, size_t max)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	*ret_text = NULL;
	*ret_len = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		close(fd);
		return S_ISREG(st.st_mode) ? -e : -EINVAL;
	}
	if ((size_t)st.st_size < max) /* sized to the file (it may still grow while read) */
		max = (size_t)st.st_size + 1;
	char *buf = malloc(max + 1);
	size_t len = 0;
	int rc = buf ? 0 : -ENOMEM;
	while (!rc && len < max) {
		ssize_t r = read(fd, buf + len, max - len);
		if (r < 0 && errno != EINTR)
			rc = -errno;
		else if (r == 0)
			break;
		else if (r > 0)
			len += (size_t)r;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[len] = 0;
	*ret_text = buf;
	*ret_len = len;
	return 0;
}
