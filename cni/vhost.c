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
		       const char *ifname, struct sl_cni_vhost *v, struct sl_cni_err *err)
{
	uint64_t h = sl_cni_attach_hash(container_id, ifname);
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%012llx", (unsigned long long)(h & 0xffffffffffffull));
	/* socket_dir is shorter than sun_path (conf.c): the directory always fits. */
	snprintf(v->dir, sizeof(v->dir), "%s/%s", c->socket_dir, v->id);
	snprintf(v->devinfo, sizeof(v->devinfo), "%s/%s", v->dir, SL_CNI_DEVINFO_NAME);
	if (c->has_mac)
		memcpy(v->mac, c->mac, 6);
	else
		sl_cni_vhost_mac(h, v->mac);
	size_t need = strlen(c->socket_dir) + 1 + SL_CNI_VHOST_ID_LEN + 1 + strlen(ifname) +
		      strlen(".sock");
	if (need >= sizeof(v->socket)) {
		sl_cni_fail(err, SL_CNI_E_CONFIG, "socketDir: \"%s\" is too long: the socket path "
			    "%s/<12 hex>/%s.sock would be %zu bytes, at most %zu fit a unix "
			    "socket address", c->socket_dir, c->socket_dir, ifname, need,
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

/* mkdir -p path (mode 0755 for what it creates). */
static int mkdir_p(const char *path, struct sl_cni_err *err)
{
	char buf[4096];
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

static int rm_at(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth >= 16)
		return -ELOOP;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

int sl_cni_vhost_dir_create(const struct sl_cni_vhost *v, struct sl_cni_err *err)
{
	char parent[sizeof(v->dir)];
	int rc;
	snprintf(parent, sizeof(parent), "%s", v->dir);
	*strrchr(parent, '/') = 0;
	if ((rc = mkdir_p(parent, err)) < 0 || (rc = sl_cni_rm_tree(v->dir, err)) < 0)
		return rc;
	if (mkdir(v->dir, 0755) < 0)
		return sys_fail(err, "mkdir", v->dir, errno);
	if (chmod(v->dir, 0755) < 0)
		return sys_fail(err, "chmod", v->dir, errno);
	return 0;
}

int sl_cni_write_file(const char *path, const char *text, bool make_parents,
		      struct sl_cni_err *err)
{
	char tmp[4096 + 16], dir[4096];
	int rc;
	if (strlen(path) >= sizeof(dir))
		return sys_fail(err, "write", path, ENAMETOOLONG);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (make_parents && (rc = mkdir_p(dir, err)) < 0)
			return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return sys_fail(err, "write", tmp, errno);
	size_t n = strlen(text), off = 0;
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = sys_fail(err, "write", tmp, errno);
			close(fd);
			unlink(tmp);
			return rc;
		}
		off += (size_t)w;
	}
	int e = fchmod(fd, 0644) < 0 ? errno : 0;
	if (close(fd) < 0 && !e)
		e = errno;
	if (e) {
		unlink(tmp);
		return sys_fail(err, "write", tmp, e);
	}
	if (rename(tmp, path) < 0) {
		rc = sys_fail(err, "rename to", path, errno);
		unlink(tmp);
		return rc;
	}
	return 0;
}
