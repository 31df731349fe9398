/* The API socket server and request dispatch (see sl_api.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

#include "dataplane/core/sl_dp.h"
#include "sl_api.h"
#include "sl_persist.h"
#include "sl_request.h"
#include "sl_state.h"

#define CLIENT_TIMEOUT_MS 1000 /* a client that stalls longer is dropped */
#define MAX_CONN_PER_POLL 16

static int listen_fd = -1;
static char sock_path[108];
static uint64_t n_requests, n_errors;
static const char *state_path;

int sl_api_open(const char *path, const char *state, char *err, size_t errlen)
{
	state_path = state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return snprintf(err, errlen, "socket path longer than %zu bytes",
				sizeof(sa.sun_path) - 1), -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	mode_t old = umask(0177); /* mode 0600 from the start: no window for others */
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	chmod(path, 0600);
	listen_fd = fd;
	snprintf(sock_path, sizeof(sock_path), "%s", path);
	return 0;
}

void sl_api_close(void)
{
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(sock_path);
	}
	listen_fd = -1;
}

static cJSON *trace_show(void)
{
	cJSON *pkts = cJSON_CreateArray();
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		struct sl_worker *wk = &sl_dp.workers[w];
		unsigned n = atomic_load_explicit(&wk->trace_n, memory_order_acquire);
		cJSON *cur = NULL;
		int cur_id = -1;
		for (unsigned i = 0; i < n; i++) {
			const struct sl_trace_rec *r = &wk->trace[i];
			if (r->trace_id != cur_id) {
				/* A burst is traced node by node, so one packet's records are
				 * interleaved with others': find the packet's entry. */
				cur = NULL;
				cJSON *p;
				cJSON_ArrayForEach(p, pkts)
				{
					if (cJSON_GetObjectItem(p, "worker")->valueint == (int)w &&
					    cJSON_GetObjectItem(p, "packet")->valueint == r->trace_id)
						cur = cJSON_GetObjectItem(p, "path");
				}
				if (!cur) {
					cJSON *p = cJSON_CreateObject();
					cJSON_AddNumberToObject(p, "worker", w);
					cJSON_AddNumberToObject(p, "packet", r->trace_id);
					cur = cJSON_AddArrayToObject(p, "path");
					cJSON_AddItemToArray(pkts, p);
				}
				cur_id = r->trace_id;
			}
			cJSON *step = cJSON_CreateObject();
			cJSON_AddStringToObject(step, "node", r->node);
			cJSON_AddStringToObject(step, "note", r->note);
			cJSON_AddItemToArray(cur, step);
		}
	}
	return pkts;
}

static cJSON *dispatch(const struct sl_request *r, char *err, size_t n)
{
	int rc = 0;
	switch (r->cmd) {
	case SL_CMD_VERSION: {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "version", "0.1.0");
		cJSON_AddNumberToObject(o, "workers", sl_dp.n_workers);
		sl_state_describe(o);
		return o;
	}
	case SL_CMD_SHOW: {
		cJSON *o = sl_state_show(r->what, err, n);
		if (o && !strcmp(r->what, "stats")) {
			cJSON *api = cJSON_AddObjectToObject(o, "api");
			cJSON_AddNumberToObject(api, "requests", (double)n_requests);
			cJSON_AddNumberToObject(api, "errors", (double)n_errors);
		}
		return o;
	}
	case SL_CMD_POD_ADD:
		rc = sl_state_pod_add(&r->pod, err, n);
		break;
	case SL_CMD_POD_DEL:
		rc = sl_state_pod_del(r->namespace, r->name, err, n);
		break;
	case SL_CMD_NODE_ADD:
		rc = sl_state_node_add(&r->node, err, n);
		break;
	case SL_CMD_NODE_DEL:
		rc = sl_state_node_del(r->name, err, n);
		break;
	case SL_CMD_ROUTE_ADD:
		rc = sl_state_route_add(&r->route, err, n);
		break;
	case SL_CMD_ROUTE_DEL:
		rc = sl_state_route_del(&r->prefix, err, n);
		break;
	case SL_CMD_TRACE_START:
		for (unsigned w = 0; w < sl_dp.n_workers; w++) {
			atomic_store(&sl_dp.workers[w].trace_budget, 0);
			atomic_store(&sl_dp.workers[w].trace_n, 0);
			atomic_store(&sl_dp.workers[w].trace_budget, (int)r->count);
		}
		break;
	case SL_CMD_TRACE_SHOW:
		return trace_show();
	}
	if (rc < 0)
		return NULL;
	if (r->cmd >= SL_CMD_POD_ADD && r->cmd <= SL_CMD_ROUTE_DEL && state_path) {
		int src = sl_persist_save(state_path); /* the change stands even if this fails */
		if (src < 0)
			RTE_LOG(ERR, USER1, "api: cannot save state to %s: %s\n", state_path,
				strerror(-src));
	}
	return cJSON_CreateTrue();
}

/* Handle one request text; returns the response text (malloc'd). */
static char *handle(const char *text, size_t len)
{
	struct sl_request req;
	char err[320] = "";
	cJSON *result = NULL;
	n_requests++;
	if (sl_request_parse(text, len, &req, err, sizeof(err)) == 0)
		result = dispatch(&req, err, sizeof(err));
	cJSON *resp = cJSON_CreateObject();
	cJSON_AddBoolToObject(resp, "ok", result != NULL);
	if (result) {
		cJSON_AddItemToObject(resp, "result", result);
	} else {
		n_errors++;
		cJSON_AddStringToObject(resp, "error", err[0] ? err : "failed");
		RTE_LOG(WARNING, USER1, "api: rejected request: %s\n", err);
	}
	char *out = cJSON_PrintUnformatted(resp);
	cJSON_Delete(resp);
	return out;
}

static long ms_left(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return CLIENT_TIMEOUT_MS -
	       ((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

static void serve(int fd)
{
	static char buf[SL_API_MAX_REQUEST + 1];
	size_t len = 0;
	bool complete = false;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	/* One deadline for the whole exchange, reading and writing: a client trickling bytes
	 * or not reading its answer cannot hold the control thread longer than
	 * CLIENT_TIMEOUT_MS. */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len <= SL_API_MAX_REQUEST) {
		long left = ms_left(&t0);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, buf + len, SL_API_MAX_REQUEST + 1 - len);
		if (n <= 0) {
			complete = n == 0;
			break;
		}
		len += (size_t)n;
		if (buf[len - 1] == '\n') { /* a newline ends a request too */
			complete = true;
			break;
		}
	}
	char *out;
	if (len > SL_API_MAX_REQUEST || !complete) {
		n_requests++;
		n_errors++;
		out = strdup(len > SL_API_MAX_REQUEST
			? "{\"ok\":false,\"error\":\"request: larger than 65536 bytes\"}"
			: "{\"ok\":false,\"error\":\"request: incomplete (timed out)\"}");
	} else {
		out = handle(buf, len);
	}
	if (out) {
		size_t n = strlen(out), off = 0;
		struct pollfd wp = { .fd = fd, .events = POLLOUT };
		while (off < n) {
			ssize_t w = send(fd, out + off, n - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			long left = ms_left(&t0);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (left <= 0 || poll(&wp, 1, (int)left) <= 0)
				break; /* the client does not read: give up */
		}
		if (off == n)
			(void)!send(fd, "\n", 1, MSG_NOSIGNAL);
		free(out);
	}
	close(fd);
}

void sl_api_poll(int timeout_ms)
{
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };
	if (listen_fd < 0 || poll(&p, 1, timeout_ms) <= 0)
		return;
	for (int i = 0; i < MAX_CONN_PER_POLL; i++) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		serve(fd);
	}
}
