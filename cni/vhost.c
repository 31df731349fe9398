/* sluice-cni: vhost-user attachment paths, MAC, device-info (see vhost.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "vhost.h"

int sl_cni_vhost_paths(const struct sl_cni_conf *c, const char *container_id,
		       const char *ifname, const char *pod_uid, struct sl_cni_vhost *v,
		       struct sl_cni_err *err)
{
	uint64_t h = sl_cni_attach_hash(container_id, ifname);
	memset(v, 0, sizeof(*v));
	if (pod_uid && *pod_uid) /* what a pod spec names with subPathExpr */
		snprintf(v->id, sizeof(v->id), "%s-%s", pod_uid, ifname);
	else
		snprintf(v->id, sizeof(v->id), "%012llx",
			 (unsigned long long)(h & 0xffffffffffffull));
	/* socket_dir is shorter than sun_path (conf.c): the directory always fits. */
	snprintf(v->dir, sizeof(v->dir), "%s/%s", c->socket_dir, v->id);
	snprintf(v->devinfo, sizeof(v->devinfo), "%s/%s", v->dir, SL_CNI_DEVINFO_NAME);
	if (c->has_mac)
		memcpy(v->mac, c->mac, 6);
	else
		sl_cni_vhost_mac(h, v->mac);
	size_t need = strlen(c->socket_dir) + 1 + strlen(v->id) + 1 + strlen(ifname) +
		      strlen(".sock");
	if (need >= sizeof(v->socket)) {
		sl_cni_fail(err, SL_CNI_E_CONFIG, "socketDir: \"%s\" is too long: the socket path "
			    "%s/%s/%s.sock would be %zu bytes, at most %zu fit a unix socket "
			    "address", c->socket_dir, c->socket_dir,
			    pod_uid && *pod_uid ? "<pod uid>-<ifname>" : "<12 hex>", ifname, need,
			    sizeof(v->socket) - 1);
		return -ENAMETOOLONG;
	}
	char full[sizeof(v->dir) + SL_CNI_IFNAME_MAX + 8];
	snprintf(full, sizeof(full), "%s/%s.sock", v->dir, ifname);
	memcpy(v->socket, full, need + 1); /* need < sizeof(v->socket), checked above */
	return 0;
}

void sl_cni_vhost_mac(uint64_t h, uint8_t mac[6])
{
	mac[0] = (uint8_t)(((h >> 56) & 0xfc) | 0x02); /* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (5 - i)));
}

bool sl_cni_is_vhost_id(const char *name)
{
	if (strlen(name) != SL_CNI_VHOST_ID_LEN)
		return false;
	for (const char *p = name; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

char *sl_cni_vhost_devinfo(const char *socket, bool sluiced_server)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *vu = cJSON_CreateObject();
	char *s = NULL;
	if (!o || !vu ||
	    !cJSON_AddStringToObject(o, "type", "vhost-user") ||
	    !cJSON_AddStringToObject(o, "version", SL_CNI_DEVINFO_VERSION) ||
	    !cJSON_AddStringToObject(vu, "mode", sluiced_server ? "client" : "server") ||
	    !cJSON_AddStringToObject(vu, "path", socket)) {
		cJSON_Delete(vu);
		goto out;
	}
	cJSON_AddItemToObject(o, "vhost-user", vu);
	s = cJSON_Print(o);
out:
	cJSON_Delete(o);
	return s;
}

/* File system. */

static int sys_fail(struct sl_cni_err *err, const char *what, const char *path, int e)
{
	sl_cni_fail(err, SL_CNI_E_SYSTEM, "%s %s: %s", what, path, strerror(e));
	return -e;
}

static int open_dir_at(int at, const char *name)
{
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int sl_cni_vhost_base_open(const char *socket_dir, bool create, struct sl_cni_err *err)
{
	char comp[NAME_MAX + 1];
	if (socket_dir[0] != '/')
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "socketDir: \"%s\" is not an absolute path",
				   socket_dir);
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sys_fail(err, "open", "/", errno);
	for (const char *p = socket_dir; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (!n)
			break;
		if (n > NAME_MAX) {
			close(fd);
			return sys_fail(err, "open", socket_dir, ENAMETOOLONG);
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		int next = open_dir_at(fd, comp);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return sys_fail(err, "mkdir", socket_dir, e);
			}
			next = open_dir_at(fd, comp);
		}
		int e = errno;
		close(fd);
		if (next < 0 && (e == ELOOP || e == ENOTDIR))
			return sl_cni_fail(err, SL_CNI_E_CONFIG, "socketDir: %.*s is a symbolic link "
					   "or not a directory (never followed)",
					   (int)(p + n - socket_dir), socket_dir), -e;
		if (next < 0)
			return e == ENOENT && !create ? -ENOENT : sys_fail(err, "open", socket_dir, e);
		fd = next;
		p += n;
	}
	return fd;
}

/* mkdir -p path (mode 0755 for what it creates), for directories the runtime chooses. */
static int mkdir_p(const char *path, struct sl_cni_err *err)
{
	char buf[PATH_MAX];
	struct stat st;
	if (strlen(path) >= sizeof(buf))
		return sys_fail(err, "mkdir", path, ENAMETOOLONG);
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return sys_fail(err, "mkdir", buf, errno);
		if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
			return sys_fail(err, "mkdir", buf, ENOTDIR);
		*p = c;
		if (!c)
			return 0;
	}
}

/* The owner records' directory under base (made, 0700, when create). */
static int owner_dir(int base, bool create)
{
	int fd = open_dir_at(base, SL_CNI_OWNER_DIR);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(base, SL_CNI_OWNER_DIR, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = open_dir_at(base, SL_CNI_OWNER_DIR);
	}
	return fd < 0 ? -errno : fd;
}

static int owner_read_at(int odir, const char *id, struct sl_cni_vhost_owner *o)
{
	char buf[512];
	struct stat st;
	memset(o, 0, sizeof(*o));
	int fd = openat(odir, id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EBADMSG;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EBADMSG;
	buf[n] = 0;
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');
		if (!eq)
			return -EBADMSG;
		*eq = 0;
		if (!strcmp(l, "containerID"))
			snprintf(o->container_id, sizeof(o->container_id), "%s", eq + 1);
		else if (!strcmp(l, "ifname"))
			snprintf(o->ifname, sizeof(o->ifname), "%s", eq + 1);
		else if (!strcmp(l, "podUID"))
			snprintf(o->pod_uid, sizeof(o->pod_uid), "%s", eq + 1);
	}
	return o->container_id[0] && o->ifname[0] ? 0 : -EBADMSG;
}

int sl_cni_vhost_owner_read(int base, const char *id, struct sl_cni_vhost_owner *ret)
{
	int odir = owner_dir(base, false);
	if (odir < 0)
		return odir;
	int rc = owner_read_at(odir, id, ret);
	close(odir);
	return rc;
}

static bool same_attachment(const struct sl_cni_vhost_owner *a,
			    const struct sl_cni_vhost_owner *b)
{
	return !strcmp(a->container_id, b->container_id) && !strcmp(a->ifname, b->ifname);
}

static int rm_at(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth >= 16)
		return -ELOOP;
	int fd = open_dir_at(dirfd, name);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = rm_at(fd, de->d_name, depth + 1);
		if (r < 0 && !rc)
			rc = r;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !rc)
		rc = -errno;
	return rc;
}

int sl_cni_rm_tree(const char *path, struct sl_cni_err *err)
{
	int rc = rm_at(AT_FDCWD, path, 0);
	return rc < 0 ? sys_fail(err, "remove", path, -rc) : 0;
}

int sl_cni_write_at(int dirfd, const char *name, const char *text, const char *shown,
		    struct sl_cni_err *err)
{
	char tmp[NAME_MAX + 1];
	int rc = 0;
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp%d", name, (int)getpid()) >= (int)sizeof(tmp))
		return sys_fail(err, "write", shown, ENAMETOOLONG);
	unlinkat(dirfd, tmp, 0); /* left by a crashed run with our pid */
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sys_fail(err, "write", shown, errno);
	size_t n = strlen(text), off = 0;
	while (off < n && !rc) {
		ssize_t w = write(fd, text + off, n - off);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (!rc && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc) {
		unlinkat(dirfd, tmp, 0);
		return sys_fail(err, "write", shown, -rc);
	}
	return 0;
}

/* Write me's owner record for id in odir. */
static int owner_write(int odir, const char *id, const struct sl_cni_vhost_owner *me,
		       struct sl_cni_err *err)
{
	char text[512];
	snprintf(text, sizeof(text), "containerID=%s\nifname=%s\npodUID=%s\n", me->container_id,
		 me->ifname, me->pod_uid);
	int rc = sl_cni_write_at(odir, id, text, id, err);
	if (rc == 0)
		fchmodat(odir, id, 0600, 0);
	return rc;
}

int sl_cni_vhost_dir_create(const struct sl_cni_conf *c, const struct sl_cni_vhost *v,
			    const struct sl_cni_vhost_owner *me, struct sl_cni_err *err)
{
	struct sl_cni_vhost_owner o;
	int base, odir = -1, dfd = -1, rc;
	if ((base = sl_cni_vhost_base_open(c->socket_dir, true, err)) < 0)
		return base;
	if ((odir = owner_dir(base, true)) < 0) {
		rc = sys_fail(err, "mkdir", c->socket_dir, -odir);
		goto out;
	}
	rc = owner_read_at(odir, v->id, &o);
	if (rc == 0 && !same_attachment(&o, me)) {
		if (!me->pod_uid[0] || strcmp(o.pod_uid, me->pod_uid)) {
			rc = sl_cni_fail(err, SL_CNI_E_IN_USE, "socket directory %s belongs to "
					 "container %.64s (ifname %s), not to this attachment "
					 "(%.64s, %s): refusing to take it over", v->dir,
					 o.container_id, o.ifname, me->container_id, me->ifname);
			sl_cni_detail(err, "two attachments map to the same id %s; DEL the other "
				      "attachment first, or use another CNI_IFNAME", v->id);
			rc = -EEXIST;
			goto out;
		}
		/* A newer sandbox of the same pod: the old one's DEL never came. */
		fprintf(stderr, "sluice-cni: %s: taking over from container %.64s of the same pod\n",
			v->dir, o.container_id);
	} else if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "sluice-cni: %s: unreadable owner record (%s), replaced\n", v->dir,
			strerror(-rc));
	}
	if ((rc = owner_write(odir, v->id, me, err)) < 0)
		goto out;
	if ((rc = rm_at(base, v->id, 0)) < 0) {
		sys_fail(err, "remove", v->dir, -rc);
		goto out;
	}
	if (mkdirat(base, v->id, 0700) < 0) {
		rc = sys_fail(err, "mkdir", v->dir, errno);
		goto out;
	}
	/* The mode and owner are set on the directory opened without following links: a
	 * swapped entry makes the open fail, never chmod/chown something else. */
	if ((dfd = open_dir_at(base, v->id)) < 0) {
		rc = sys_fail(err, "open", v->dir, errno);
		goto out;
	}
	if ((c->has_uid || c->has_gid) &&
	    fchown(dfd, c->has_uid ? c->uid : (uid_t)-1, c->has_gid ? c->gid : (gid_t)-1) < 0) {
		rc = sys_fail(err, "chown", v->dir, errno);
		goto out;
	}
	if (fchmod(dfd, c->has_gid ? 0750 : 0700) < 0) {
		rc = sys_fail(err, "chmod", v->dir, errno);
		goto out;
	}
	rc = dfd;
	dfd = -1;
out:
	if (dfd >= 0)
		close(dfd);
	if (odir >= 0)
		close(odir);
	close(base);
	return rc;
}

/* The id of me's record in odir, by searching all records. */
static int owner_find(int odir, const struct sl_cni_vhost_owner *me, char *id, size_t n)
{
	int fd = dup(odir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct sl_cni_vhost_owner o;
	struct dirent *de;
	int rc = -ENOENT;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	while (rc && (de = readdir(d)))
		if (de->d_name[0] != '.' && owner_read_at(odir, de->d_name, &o) == 0 &&
		    same_attachment(&o, me) && strlen(de->d_name) < n) {
			snprintf(id, n, "%s", de->d_name);
			rc = 0;
		}
	closedir(d);
	return rc;
}

int sl_cni_vhost_dir_remove(const char *socket_dir, const char *id,
			    const struct sl_cni_vhost_owner *me, bool search, struct sl_cni_err *err)
{
	struct sl_cni_vhost_owner o;
	char found[SL_CNI_VHOST_ID_MAX], shown[PATH_MAX];
	int base = sl_cni_vhost_base_open(socket_dir, false, err);
	if (base == -ENOENT)
		return 0;
	if (base < 0)
		return base;
	int odir = owner_dir(base, false), rc = 0;
	int orc = odir >= 0 ? owner_read_at(odir, id, &o) : -ENOENT;
	if (orc == 0 && !same_attachment(&o, me)) {
		fprintf(stderr, "sluice-cni: %s/%s belongs to container %.64s (ifname %s): left "
			"alone\n", socket_dir, id, o.container_id, o.ifname);
		/* Its ADD may have used another id (K8S_POD_UID): look for our own record. */
		if (!search || odir < 0 || owner_find(odir, me, found, sizeof(found)) < 0) {
			rc = 1;
			goto out;
		}
		id = found;
	} else if (orc == -ENOENT && search && odir >= 0 &&
		   owner_find(odir, me, found, sizeof(found)) == 0) {
		id = found;
	}
	snprintf(shown, sizeof(shown), "%s/%s", socket_dir, id);
	if ((rc = rm_at(base, id, 0)) < 0) {
		sys_fail(err, "remove", shown, -rc);
		goto out;
	}
	if (odir >= 0 && unlinkat(odir, id, 0) < 0 && errno != ENOENT)
		rc = sys_fail(err, "remove owner record of", shown, errno);
out:
	if (odir >= 0)
		close(odir);
	close(base);
	return rc;
}

int sl_cni_vhost_dir_check(const char *socket_dir, const char *id,
			   const struct sl_cni_vhost_owner *me)
{
	struct sl_cni_err ignored;
	struct sl_cni_vhost_owner o;
	struct stat st;
	int base = sl_cni_vhost_base_open(socket_dir, false, &ignored), rc;
	if (base < 0)
		return -ENOENT;
	if (fstatat(base, id, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		rc = -ENOENT;
	else if (sl_cni_vhost_owner_read(base, id, &o) == 0 && !same_attachment(&o, me))
		rc = -EPERM;
	else
		rc = 0;
	close(base);
	return rc;
}

int sl_cni_vhost_gc(const char *socket_dir,
		    bool (*fn)(const char *name, const struct sl_cni_vhost_owner *o, void *arg),
		    void *arg, struct sl_cni_err *err)
{
	struct sl_cni_vhost_owner o;
	struct stat st;
	struct dirent *de;
	char shown[PATH_MAX];
	int base = sl_cni_vhost_base_open(socket_dir, false, err), first = 0, rc;
	if (base == -ENOENT)
		return 0;
	if (base < 0)
		return base;
	int odir = owner_dir(base, false);
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0: the directories; pass 1: records left without a directory. */
		int fd = pass ? (odir >= 0 ? dup(odir) : -1) : dup(base);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			bool is_dir = fstatat(base, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
			if (pass == 0 && (!is_dir || !S_ISDIR(st.st_mode)))
				continue;
			if (pass == 1 && is_dir)
				continue; /* offered in pass 0 */
			bool has = odir >= 0 && owner_read_at(odir, de->d_name, &o) == 0;
			if (!fn(de->d_name, has ? &o : NULL, arg))
				continue;
			snprintf(shown, sizeof(shown), "%s/%s", socket_dir, de->d_name);
			if (pass == 0 && (rc = rm_at(base, de->d_name, 0)) < 0) {
				if (!first) /* the record stays: the next GC tries again */
					first = sys_fail(err, "remove", shown, -rc);
				continue;
			}
			if (odir >= 0 && unlinkat(odir, de->d_name, 0) < 0 && errno != ENOENT &&
			    !first)
				first = sys_fail(err, "remove owner record of", shown, errno);
		}
		closedir(d);
	}
	if (odir >= 0)
		close(odir);
	close(base);
	return first;
}

int sl_cni_write_file(const char *path, const char *text, bool make_parents,
		      struct sl_cni_err *err)
{
	char dir[PATH_MAX];
	int rc;
	if (strlen(path) >= sizeof(dir))
		return sys_fail(err, "write", path, ENAMETOOLONG);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	const char *name = path;
	if (slash) {
		name = path + (slash - dir) + 1;
		if (slash == dir)
			dir[1] = 0;
		else
			*slash = 0;
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	/* The directory is the runtime's choice (trusted, e.g. under /var/run, often a link
	 * to /run); the file itself is never followed. */
	if (make_parents && (rc = mkdir_p(dir, err)) < 0)
		return rc;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sys_fail(err, "write", path, errno);
	rc = sl_cni_write_at(dfd, name, text, path, err);
	close(dfd);
	return rc;
}
