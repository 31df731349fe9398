/* sluice-cni: IPAM delegation (see ipam.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipam.h"

extern char **environ;

/* Find type in the ':'-separated directories of cni_path. */
static int lookup(const char *type, const char *cni_path, char *ret, size_t n)
{
	const char *p = cni_path;
	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		struct stat st;
		if (dl && (size_t)snprintf(ret, n, "%.*s/%s", (int)dl, p, type) < n &&
		    stat(ret, &st) == 0 && S_ISREG(st.st_mode) && access(ret, X_OK) == 0)
			return 0;
		p = colon ? colon + 1 : NULL;
	}
	return -ENOENT;
}

/* environ with CNI_COMMAND (and optionally CNI_CONTAINERID, CNI_IFNAME) replaced. */
static char **make_env(const struct sl_cni_ipam_call *c, char *bufs[3])
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 4, sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];
		if (!strncmp(e, "CNI_COMMAND=", 12) ||
		    (c->container_id && !strncmp(e, "CNI_CONTAINERID=", 16)) ||
		    (c->ifname && !strncmp(e, "CNI_IFNAME=", 11)))
			continue;
		env[k++] = (char *)e;
	}
	int ok = asprintf(&bufs[0], "CNI_COMMAND=%s", c->command) > 0;
	env[k++] = bufs[0];
	if (c->container_id) {
		ok &= asprintf(&bufs[1], "CNI_CONTAINERID=%s", c->container_id) > 0;
		env[k++] = bufs[1];
	}
	if (c->ifname) {
		ok &= asprintf(&bufs[2], "CNI_IFNAME=%s", c->ifname) > 0;
		env[k++] = bufs[2];
	}
	if (!ok) {
		free(env);
		return NULL;
	}
	return env;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Feed in[] to fd_in and collect fd_out until EOF or the timeout. */
static int pump(int fd_in, int fd_out, const char *in, char **ret_out, size_t *ret_len)
{
	size_t in_len = strlen(in), in_off = 0, cap = 4096, len = 0;
	char *out = malloc(cap);
	struct timespec t0;
	int rc = 0;
	if (!out)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fcntl(fd_in, F_SETFL, O_NONBLOCK);
	while (fd_out >= 0) {
		struct pollfd p[2] = { { .fd = fd_out, .events = POLLIN },
				       { .fd = fd_in, .events = POLLOUT } };
		long left = SL_CNI_IPAM_TIMEOUT_MS - ms_since(&t0);
		if (left <= 0 || poll(p, fd_in >= 0 ? 2 : 1, (int)left) <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (fd_in >= 0 && p[1].revents) {
			ssize_t w = write(fd_in, in + in_off, in_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) {
				close(fd_in); /* done, or the plugin stopped reading: EOF */
				fd_in = -1;
			}
		}
		if (p[0].revents) {
			if (len + 1 == cap) {
				char *nb = cap < SL_CNI_MAX_OUTPUT ? realloc(out, cap * 2) : NULL;
				if (!nb) {
					rc = -EMSGSIZE;
					break;
				}
				out = nb;
				cap *= 2;
			}
			ssize_t r = read(fd_out, out + len, cap - 1 - len);
			if (r > 0)
				len += (size_t)r;
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	if (fd_in >= 0)
		close(fd_in);
	out[len] = 0;
	*ret_out = out;
	*ret_len = len;
	return rc;
}

/* A failed plugin's stdout: its CNI error object, else a generic message. */
static void delegate_error(const char *type, const char *out, int status,
			   struct sl_cni_err *err)
{
	cJSON *o = cJSON_Parse(out);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(o, "details");
	if (cJSON_IsNumber(code) && cJSON_IsString(msg)) {
		sl_cni_fail(err, code->valueint, "ipam %s: %s", type, msg->valuestring);
		if (cJSON_IsString(det))
			sl_cni_detail(err, "%s", det->valuestring);
	} else if (WIFSIGNALED(status)) {
		sl_cni_fail(err, SL_CNI_E_IPAM, "ipam %s: killed by signal %d", type,
			    WTERMSIG(status));
	} else {
		sl_cni_fail(err, SL_CNI_E_IPAM, "ipam %s: exited with status %d", type,
			    WEXITSTATUS(status));
		sl_cni_detail(err, "%.500s", out);
	}
	cJSON_Delete(o);
}

int sl_cni_ipam_exec(const struct sl_cni_ipam_call *c, char **ret_out, struct sl_cni_err *err)
{
	char path[PATH_MAX], *bufs[3] = { NULL, NULL, NULL }, *out = NULL;
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, rc, status = 0;
	size_t out_len = 0;
	pid_t pid;

	*ret_out = NULL;
	if (lookup(c->type, c->cni_path, path, sizeof(path)) < 0) {
		sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam.type: plugin \"%s\" not found in CNI_PATH "
			    "(%s)", c->type, c->cni_path);
		return -ENOENT;
	}
	char **env = make_env(c, bufs);
	if (!env || pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		rc = -EIO;
		sl_cni_fail(err, SL_CNI_E_IO, "ipam %s: cannot prepare: %s", c->type,
			    strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawnattr_init(&at);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE); /* this process ignores it; the delegate gets the default */
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
	char *argv[] = { path, NULL };
	rc = posix_spawn(&pid, path, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(outp[1]);
	if (rc != 0) {
		close(in[1]);
		close(outp[0]);
		sl_cni_fail(err, SL_CNI_E_IO, "ipam %s: cannot run %s: %s", c->type, path,
			    strerror(rc));
		rc = -EIO;
		goto out;
	}
	rc = pump(in[1], outp[0], c->config, &out, &out_len);
	close(outp[0]);
	if (rc < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		sl_cni_fail(err, SL_CNI_E_IO, "ipam %s: %s", c->type,
			    rc == -ETIMEDOUT ? "timed out" : "output too large");
		rc = -EIO;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		delegate_error(c->type, out ? out : "", status, err);
		rc = -EPROTO;
	} else {
		*ret_out = out;
		out = NULL;
		rc = 0;
	}
out:
	free(out);
	free(env);
	for (int i = 0; i < 3; i++)
		free(bufs[i]);
	return rc;
}

/* c->config with cniVersion replaced by v (free()). */
static char *with_version(const char *config, const char *v)
{
	cJSON *o = cJSON_Parse(config);
	if (!o)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "cniVersion");
	cJSON_AddStringToObject(o, "cniVersion", v);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static bool is_version(const char *config, const char *v)
{
	cJSON *o = cJSON_Parse(config);
	const cJSON *cv = cJSON_GetObjectItemCaseSensitive(o, "cniVersion");
	bool yes = cJSON_IsString(cv) && !strcmp(cv->valuestring, v);
	cJSON_Delete(o);
	return yes;
}

int sl_cni_ipam_run(const struct sl_cni_ipam_call *c, struct sl_cni_ipam_result *ret,
		    struct sl_cni_err *err)
{
	char *out = NULL, *older = NULL;
	int rc = sl_cni_ipam_exec(c, &out, err);
	if (rc == -EPROTO && err->code == SL_CNI_E_VERSION && is_version(c->config, "1.1.0") &&
	    (older = with_version(c->config, "1.0.0"))) {
		struct sl_cni_ipam_call c2 = *c;
		c2.config = older;
		rc = sl_cni_ipam_exec(&c2, &out, err);
		free(older);
	}
	if (rc == 0 && ret)
		rc = sl_cni_ipam_result_parse(out, strlen(out), ret, err);
	free(out);
	return rc;
}

int sl_cni_ipam_supports(const struct sl_cni_ipam_call *c, const char *version,
			 struct sl_cni_err *err)
{
	struct sl_cni_ipam_call v = *c;
	char *out = NULL;
	v.command = "VERSION";
	int rc = sl_cni_ipam_exec(&v, &out, err);
	if (rc < 0)
		return rc;
	cJSON *o = cJSON_Parse(out), *e;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "supportedVersions");
	rc = 0;
	cJSON_ArrayForEach(e, list)
	{
		if (cJSON_IsString(e) && !strcmp(e->valuestring, version))
			rc = 1;
	}
	if (!cJSON_IsArray(list))
		rc = sl_cni_fail(err, SL_CNI_E_IPAM, "ipam %s: VERSION: no supportedVersions",
				 c->type);
	cJSON_Delete(o);
	free(out);
	return rc;
}
