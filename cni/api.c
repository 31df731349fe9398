/* sluice-cni: sluiced API client (see api.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "result.h"

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int unreachable(struct sl_cni_err *err, const char *path, const char *why)
{
	sl_cni_fail(err, SL_CNI_E_TRY_AGAIN, "sluiced not reachable at %s: %s", path, why);
	return -ECONNREFUSED;
}

int sl_cni_api_response_parse(const char *text, size_t len, cJSON **ret_result,
			      struct sl_cni_err *err)
{
	*ret_result = NULL;
	cJSON *resp = cJSON_ParseWithLength(text, len);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
	if (!cJSON_IsObject(resp) || !cJSON_IsBool(ok)) {
		cJSON_Delete(resp);
		sl_cni_fail(err, SL_CNI_E_IO, "sluiced: response is not {\"ok\":...}");
		return -EBADMSG;
	}
	if (cJSON_IsFalse(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
		sl_cni_fail(err, SL_CNI_E_DAEMON, "sluiced: %s",
			    cJSON_IsString(e) ? e->valuestring : "request failed");
		cJSON_Delete(resp);
		return -EREMOTEIO;
	}
	cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(resp, "result");
	cJSON_Delete(resp);
	*ret_result = r ? r : cJSON_CreateTrue();
	return 0;
}

/* Write all of buf before the deadline. */
static int send_all(int fd, const char *buf, size_t n, const struct timespec *deadline)
{
	size_t off = 0;
	while (off < n) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		long left = ms_left(deadline);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (w > 0)
			off += (size_t)w;
	}
	return 0;
}

/* Read until EOF (at most SL_CNI_MAX_OUTPUT bytes) before the deadline. */
static int recv_all(int fd, char **ret, size_t *ret_len, const struct timespec *deadline)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = ms_left(deadline);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (len + 1 == cap) {
			if (cap >= SL_CNI_MAX_OUTPUT) {
				free(buf);
				return -EMSGSIZE;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	*ret = buf;
	*ret_len = len;
	return 0;
}

int sl_cni_api_call(const char *path, const cJSON *request, cJSON **ret_result,
		    struct sl_cni_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec deadline;
	char *resp = NULL;
	size_t resp_len = 0;
	int rc;

	*ret_result = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return unreachable(err, path, "socket path too long");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	char *req = cJSON_PrintUnformatted(request);
	if (!req)
		return sl_cni_fail(err, SL_CNI_E_IO, "sluiced: out of memory"), -ENOMEM;
	size_t req_len = strlen(req);
	req[req_len] = '\n'; /* replaces the NUL: sent as a length-delimited buffer */

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += SL_CNI_API_TIMEOUT_MS / 1000;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(req);
		return unreachable(err, path, strerror(errno));
	}
	/* A blocking connect waits while sluiced's backlog is full; SO_SNDTIMEO bounds it. */
	struct timeval tv = { .tv_sec = SL_CNI_API_TIMEOUT_MS / 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = unreachable(err, path, errno == EINPROGRESS || errno == EAGAIN
					 ? "connect timed out" : strerror(errno));
		goto out;
	}
	if ((rc = send_all(fd, req, req_len + 1, &deadline)) < 0) {
		rc = unreachable(err, path, strerror(-rc));
		goto out;
	}
	shutdown(fd, SHUT_WR);
	if ((rc = recv_all(fd, &resp, &resp_len, &deadline)) < 0) {
		rc = rc == -EMSGSIZE ? (sl_cni_fail(err, SL_CNI_E_IO, "sluiced: response larger "
					"than %d bytes", SL_CNI_MAX_OUTPUT), -EBADMSG)
				     : unreachable(err, path, strerror(-rc));
		goto out;
	}
	rc = sl_cni_api_response_parse(resp, resp_len, ret_result, err);
out:
	close(fd);
	free(req);
	free(resp);
	return rc;
}

static int call_simple(const char *path, cJSON *req, cJSON **ret, struct sl_cni_err *err)
{
	if (!req)
		return sl_cni_fail(err, SL_CNI_E_IO, "sluiced: out of memory"), -ENOMEM;
	int rc = sl_cni_api_call(path, req, ret, err);
	cJSON_Delete(req);
	return rc;
}

int sl_cni_api_version(const char *path, struct sl_cni_node *ret, struct sl_cni_err *err)
{
	cJSON *req = cJSON_CreateObject(), *res = NULL;
	cJSON_AddStringToObject(req, "cmd", "version");
	int rc = call_simple(path, req, &res, err);
	if (rc == 0)
		rc = sl_cni_node_parse(res, ret, err);
	cJSON_Delete(res);
	return rc;
}

int sl_cni_api_pod_add(const char *path, const struct sl_cni_pod *pod, struct sl_cni_err *err)
{
	char b[18];
	cJSON *req = cJSON_CreateObject(), *res = NULL;
	cJSON_AddStringToObject(req, "cmd", "pod.add");
	cJSON *p = cJSON_AddObjectToObject(req, "pod");
	cJSON_AddStringToObject(p, "name", pod->name);
	cJSON_AddStringToObject(p, "namespace", pod->namespace);
	cJSON_AddStringToObject(p, "ip", sl_cni_fmt_ip(pod->ip, b));
	cJSON_AddStringToObject(p, "mac", sl_cni_fmt_mac(pod->mac, b));
	if (pod->vhost) {
		cJSON_AddStringToObject(p, "interface", "vhost-user");
		cJSON_AddStringToObject(p, "socket", pod->socket);
		cJSON_AddStringToObject(p, "vhost_mode", pod->vhost_server ? "server" : "client");
	} else {
		if (pod->tap)
			cJSON_AddStringToObject(p, "interface", "tap");
		cJSON_AddStringToObject(p, "ifname", pod->ifname);
		if (pod->tap && pod->netns)
			cJSON_AddStringToObject(p, "netns", pod->netns);
	}
	cJSON *hps = pod->n_port_maps ? cJSON_AddArrayToObject(p, "host_ports") : NULL;
	for (unsigned i = 0; hps && i < pod->n_port_maps; i++) {
		const struct sl_cni_port_map *m = &pod->port_maps[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "host_port", m->host_port);
		cJSON_AddNumberToObject(e, "container_port", m->container_port);
		cJSON_AddStringToObject(e, "protocol", m->protocol);
		if (m->host_ip)
			cJSON_AddStringToObject(e, "host_ip", sl_cni_fmt_ip(m->host_ip, b));
		cJSON_AddItemToArray(hps, e);
	}
	int rc = call_simple(path, req, &res, err);
	cJSON_Delete(res);
	return rc;
}

int sl_cni_api_pod_del(const char *path, const char *ns, const char *name,
		       struct sl_cni_err *err)
{
	char notfound[2 * SL_CNI_NAME_MAX + 32];
	cJSON *req = cJSON_CreateObject(), *res = NULL;
	cJSON_AddStringToObject(req, "cmd", "pod.del");
	cJSON_AddStringToObject(req, "namespace", ns);
	cJSON_AddStringToObject(req, "name", name);
	int rc = call_simple(path, req, &res, err);
	cJSON_Delete(res);
	snprintf(notfound, sizeof(notfound), "sluiced: pod %s/%s not found", ns, name);
	if (rc == -EREMOTEIO && !strcmp(err->msg, notfound))
		return -ENOENT;
	return rc;
}

int sl_cni_api_pods(const char *path, cJSON **ret_pods, struct sl_cni_err *err)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "show");
	cJSON_AddStringToObject(req, "what", "pods");
	int rc = call_simple(path, req, ret_pods, err);
	if (rc == 0 && !cJSON_IsArray(*ret_pods)) {
		cJSON_Delete(*ret_pods);
		*ret_pods = NULL;
		sl_cni_fail(err, SL_CNI_E_IO, "sluiced: show pods: result is not an array");
		return -EBADMSG;
	}
	return rc;
}
