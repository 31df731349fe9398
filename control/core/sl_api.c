/* The API socket server and request dispatch (see sl_api.h). Every client is a small state
 * machine on the control thread's event loop: reading its request (non-blocking, into its
 * own buffer, under a deadline), then writing its response (partial writes resumed when the
 * socket is writable), then closed. Nothing here waits for a client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_log.h>

#include "core/sl_loop.h"
#include "dataplane/core/sl_dp.h"
#include "sl_api.h"
#include "sl_persist.h"
#include "sl_request.h"
#include "model/sl_service.h"
#include "core/sl_show.h"
#include "core/sl_show_ct.h"
#include "core/sl_show_pol.h"
#include "model/sl_policy.h"

#define ACCEPT_PER_ROUND 32      /* accept() calls per wake-up; the rest wait a round */
#define IN_BUF_START 4096        /* a client's request buffer grows to SL_API_MAX_REQUEST + 1 */
/* Request bytes buffered for all clients at once: SL_API_MAX_CLIENTS clients each growing
 * to SL_API_MAX_REQUEST would hold 512 MiB; past this budget a growing request is refused
 * ("api: busy") and its client closed. */
#define IN_BUF_BUDGET (32u << 20)
#define PERSIST_RETRY_MS 1000    /* a failed save is retried this often */
#define SLOW_REQUEST_MS 100      /* a request that holds the loop longer is logged */
#define JOB_SLICE_US 5000        /* a walk of the conntrack table holds the loop this long */

/* One API connection. Lives from accept() to close(); owned by the client list. */
struct client {
	struct client *prev, *next;     /* list of open clients */
	int fd;                         /* the connection */
	struct sl_loop_fd *h;           /* its registration on the loop */
	struct sl_loop_timer deadline;  /* request, then response, must be done by then */
	char *in;                       /* request bytes so far (NULL once handled) */
	size_t in_len, in_cap;
	char *held;                     /* response waiting for the state to be saved */
	char *out;                      /* response with its newline (NULL while reading) */
	size_t out_len, out_off;        /* bytes in out, bytes already sent */
	struct sl_ct_job *job;          /* a conntrack walk answering this client, in slices */
	struct sl_loop_timer job_timer; /* runs its next slice on the next loop round */
};

static struct {
	struct sl_loop *loop;
	struct sl_model *model; /* what pod/node/route commands change */
	int listen_fd;
	struct sl_loop_fd *listen_h;
	char sock_path[108];
	const char *state_path;
	struct client *clients; /* open clients, newest first */
	unsigned n_clients;
	struct sl_loop_timer persist_retry; /* armed while the state on disk is stale */
	struct sl_loop_fd *child_h; /* the state's snapshot child, watched until it exits */
	bool accept_paused; /* at SL_API_MAX_CLIENTS: new connections wait in the backlog */
	uint64_t n_requests, n_errors, n_refused, n_timeouts, n_full;
	uint64_t max_handle_ns; /* longest time one request held the loop */
	uint64_t total_handle_ns; /* time all requests held the loop */
	size_t in_bytes; /* request buffers of all clients (IN_BUF_BUDGET) */
	bool dirty;      /* a change this round is not saved yet */
	unsigned n_held; /* clients whose response waits for the save */
	uint64_t n_saves; /* state saves (`show stats` api.saves) */
	struct sl_ct_job *new_job; /* set by a handler: the request's answer is this walk */
	uint64_t n_jobs;  /* conntrack walks run in slices (`show stats` api.walks) */
} api = { .listen_fd = -1 };

static void on_listen(struct sl_loop_fd *h, uint32_t events, void *arg);

static void on_child(struct sl_loop_fd *h, uint32_t events, void *arg);

/* Watch the state's snapshot child (sl_persist.h) if one runs, or stop watching. */
static void watch_child(bool on)
{
	if (api.child_h) {
		sl_loop_fd_del(api.child_h);
		api.child_h = NULL;
	}
	int fd = on ? sl_persist_child_fd() : -1;
	if (fd >= 0)
		api.child_h = sl_loop_fd_add(api.loop, fd, EPOLLIN, on_child, NULL);
}

/* The snapshot child exited: its snapshot finished (the journal retired) or, if it
 * failed, the next save writes one in process. */
static void on_child(struct sl_loop_fd *h, uint32_t events, void *arg)
{
	watch_child(false);
	if (sl_persist_reap(false) < 0)
		RTE_LOG(WARNING, USER1, "api: the state's snapshot in a child failed; the next "
			"save writes it in process\n");
	watch_child(true);
}

static void persist(void)
{
	if (!api.state_path)
		return;
	uint64_t t0 = sl_loop_now_ns();
	api.n_saves++;
	/* The changes of the round: a journal line (or a snapshot). The change stands even if
	 * this fails. */
	watch_child(false); /* (the commit may reap it) */
	int rc = sl_persist_commit(api.state_path, api.model);
	watch_child(true);
	uint64_t dt = sl_loop_now_ns() - t0;
	api.total_handle_ns += dt; /* the requests' time: they wait for it */
	if (dt > SLOW_REQUEST_MS * 1000000ull)
		RTE_LOG(WARNING, USER1, "api: saving state to %s took %llu ms\n", api.state_path,
			(unsigned long long)(dt / 1000000));
	if (rc < 0) {
		RTE_LOG(ERR, USER1, "api: cannot save state to %s: %s (retrying every %d ms)\n",
			api.state_path, strerror(-rc), PERSIST_RETRY_MS);
		sl_loop_timer_arm(api.loop, &api.persist_retry, PERSIST_RETRY_MS);
	} else {
		sl_loop_timer_cancel(api.loop, &api.persist_retry);
	}
}

static void on_persist_retry(struct sl_loop_timer *t, void *arg)
{
	persist();
}

int sl_api_open(struct sl_loop *loop, struct sl_model *model, const char *path,
		const char *state, char *err, size_t errlen)
{
	api.loop = loop;
	api.model = model;
	api.state_path = state;
	sl_loop_timer_init(&api.persist_retry, on_persist_retry, NULL);
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
	if (rc < 0 || listen(fd, SL_API_BACKLOG) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	chmod(path, 0600);
	api.listen_h = sl_loop_fd_add(loop, fd, EPOLLIN, on_listen, NULL);
	if (!api.listen_h) {
		rc = -errno;
		snprintf(err, errlen, "cannot watch %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return rc;
	}
	api.listen_fd = fd;
	snprintf(api.sock_path, sizeof(api.sock_path), "%s", path);
	return 0;
}

static void client_close(struct client *c)
{
	sl_loop_timer_cancel(api.loop, &c->deadline);
	sl_loop_timer_cancel(api.loop, &c->job_timer);
	sl_ct_job_free(c->job);
	sl_loop_fd_del(c->h);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		api.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	api.n_clients--;
	api.in_bytes -= c->in ? c->in_cap : 0;
	api.n_held -= c->held != NULL;
	if (api.accept_paused && sl_loop_fd_mod(api.listen_h, EPOLLIN) == 0)
		api.accept_paused = false;
	free(c->in);
	free(c->held);
	free(c->out);
	free(c);
}

void sl_api_close(void)
{
	while (api.clients)
		client_close(api.clients);
	if (api.listen_fd >= 0) {
		sl_loop_fd_del(api.listen_h);
		close(api.listen_fd);
		unlink(api.sock_path);
	}
	if (api.loop)
		sl_loop_timer_cancel(api.loop, &api.persist_retry);
	watch_child(false);
	if (api.state_path)
		sl_persist_reap(true); /* a stop leaves the state in one journal */
	api.listen_fd = -1;
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

/* One handler per command (SL_FOREACH_CMD): 0 with *ret_result set (default: true), or
 * -errno with err set. */
static int api_VERSION(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "version", "0.1.0");
	cJSON_AddNumberToObject(o, "workers", sl_dp.n_workers);
	sl_show_describe(o);
	*ret_result = o;
	return 0;
}

static int api_SHOW(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	cJSON *o = sl_show(r->what, err, n);
	if (o && !strcmp(r->what, "stats")) {
		cJSON *a = cJSON_AddObjectToObject(o, "api");
		cJSON_AddNumberToObject(a, "requests", (double)api.n_requests);
		cJSON_AddNumberToObject(a, "errors", (double)api.n_errors);
		cJSON_AddNumberToObject(a, "clients", api.n_clients);
		cJSON_AddNumberToObject(a, "refused", (double)api.n_refused);
		cJSON_AddNumberToObject(a, "full", (double)api.n_full);
		cJSON_AddNumberToObject(a, "timeouts", (double)api.n_timeouts);
		cJSON_AddNumberToObject(a, "max_request_ms", (double)(api.max_handle_ns / 1000000));
		cJSON_AddNumberToObject(a, "total_request_ms", (double)api.total_handle_ns / 1e6);
		cJSON_AddNumberToObject(a, "saves", (double)api.n_saves);
		struct sl_persist_stats ps;
		sl_persist_get_stats(&ps);
		cJSON_AddNumberToObject(a, "state_appends", (double)ps.appends);
		cJSON_AddNumberToObject(a, "state_snapshots", (double)ps.snapshots);
		cJSON_AddNumberToObject(a, "state_journal_bytes", (double)ps.journal_bytes);
		cJSON_AddNumberToObject(a, "state_forks", (double)ps.forks);
		cJSON_AddNumberToObject(a, "state_fork_failures", (double)ps.fork_failures);
		cJSON_AddNumberToObject(a, "walks", (double)api.n_jobs);
		struct sl_loop_stats ls;
		sl_loop_get_stats(api.loop, &ls);
		cJSON *lo = cJSON_AddObjectToObject(o, "loop");
		cJSON_AddNumberToObject(lo, "rounds", (double)ls.rounds);
		cJSON_AddNumberToObject(lo, "max_callback_ms", (double)(ls.max_callback_ns / 1000000));
		cJSON_AddNumberToObject(lo, "max_timer_late_ms",
					(double)(ls.max_timer_late_ns / 1000000));
	}
	*ret_result = o;
	return o ? 0 : -EINVAL;
}

/* A model change's error under its object's name: "pod.ip: ...". */
static int model_err(int rc, const char *what, const char *why, char *err, size_t n)
{
	if (rc < 0)
		sl_model_err_path(err, n, what, why, true);
	return rc;
}

static int api_POD_ADD(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	char why[320] = "";
	return model_err(sl_model_pod_add(api.model, &r->pod, why, sizeof(why)), "pod", why, err, n);
}

static int api_POD_DEL(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return sl_model_pod_del(api.model, r->namespace, r->name, err, n);
}

static int api_NODE_ADD(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	char why[320] = "";
	return model_err(sl_model_node_add(api.model, &r->node, why, sizeof(why)), "node", why, err,
			 n);
}

static int api_NODE_DEL(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return sl_model_node_del(api.model, r->name, err, n);
}

static int api_ROUTE_ADD(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	char why[320] = "";
	return model_err(sl_model_route_add(api.model, &r->route, why, sizeof(why)), "route", why,
			 err, n);
}

static int api_ROUTE_DEL(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return sl_model_route_del(api.model, r->prefix, err, n);
}

static int api_APPLY(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	unsigned svcs = 0, slices = 0, other[3] = { 0 };
	for (unsigned i = 0; i < r->n_ops; i++)
		r->ops[i].kind == SL_K8S_SERVICE ? svcs++
		: r->ops[i].kind == SL_K8S_SLICE ? slices++
						 : other[r->ops[i].kind - SL_K8S_NAMESPACE]++;
	int rc = sl_model_k8s_apply(api.model, r->ops, r->n_ops, err, n);
	if (rc < 0)
		return rc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "services", svcs);
	cJSON_AddNumberToObject(o, "endpointslices", slices);
	if (other[0] + other[1] + other[2]) { /* NetworkPolicy objects (issue 12) */
		cJSON_AddNumberToObject(o, "namespaces", other[0]);
		cJSON_AddNumberToObject(o, "pods", other[1]);
		cJSON_AddNumberToObject(o, "networkpolicies", other[2]);
	}
	*ret_result = o;
	return 0;
}

static int api_SVC_DEL(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return sl_model_svc_del(api.model, r->namespace, r->name, err, n);
}

static int api_SLICE_DEL(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return sl_model_slice_del(api.model, r->namespace, r->name, err, n);
}

static int api_TRACE_START(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	for (unsigned w = 0; w < sl_dp.n_workers; w++) {
		atomic_store(&sl_dp.workers[w].trace_budget, 0);
		atomic_store(&sl_dp.workers[w].trace_n, 0);
		atomic_store(&sl_dp.workers[w].trace_budget, (int)r->count);
	}
	return 0;
}

static int api_TRACE_SHOW(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	*ret_result = trace_show();
	return 0;
}

/* conntrack.show, conntrack.flush: a walk of the whole table, answered once done (it runs
 * in slices of JOB_SLICE_US, see client_start_job). */
static int ct_job(const struct sl_request *r, bool flush, char *err, size_t n)
{
	api.new_job = sl_ct_job_start(&r->ct, flush);
	if (!api.new_job)
		return snprintf(err, n, "conntrack: out of memory"), -ENOMEM;
	return 0;
}

static int api_CT_SHOW(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return ct_job(r, false, err, n);
}

static int api_CT_FLUSH(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return ct_job(r, true, err, n);
}

static int api_K8S_DEL(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	return r->k8s_kind == SL_K8S_NAMESPACE ? sl_model_ns_del(api.model, r->name, err, n)
	       : r->k8s_kind == SL_K8S_POD ? sl_model_kpod_del(api.model, r->namespace, r->name, err, n)
					   : sl_model_policy_del(api.model, r->namespace, r->name, err, n);
}

static int api_POLICY_CHECK(const struct sl_request *r, cJSON **ret_result, char *err, size_t n)
{
	*ret_result = sl_show_policy_check(api.model, r->src, r->dst, r->proto, r->port, err, n);
	return *ret_result ? 0 : -EINVAL;
}

static int (*const handlers[SL_CMD_COUNT])(const struct sl_request *, cJSON **, char *,
					   size_t) = {
#define CMD_HANDLER(id, nm, fl, us, hl) [SL_CMD_##id] = api_##id,
	SL_FOREACH_CMD(CMD_HANDLER)
#undef CMD_HANDLER
};

static cJSON *dispatch(const struct sl_request *r, char *err, size_t n)
{
	cJSON *result = NULL;
	if ((sl_cmds[r->cmd].flags & SL_CMD_F_PERSIST) && api.state_path)
		sl_persist_note_request(r); /* before: an apply's objects are the model's after */
	if (handlers[r->cmd](r, &result, err, n) < 0) {
		cJSON_Delete(result);
		return NULL;
	}
	if (sl_cmds[r->cmd].flags & SL_CMD_F_PERSIST)
		api.dirty = true; /* saved once at the end of the loop round (sl_api_round_end) */
	return result ? result : cJSON_CreateTrue();
}

/* Handle one request text; returns the response text (malloc'd) or NULL. */
static char *handle(const char *text, size_t len)
{
	struct sl_request req;
	char err[320] = "";
	cJSON *result = NULL;
	uint64_t t0 = sl_loop_now_ns();
	api.n_requests++;
	if (sl_request_parse(text, len, &req, err, sizeof(err)) == 0) {
		result = dispatch(&req, err, sizeof(err));
		sl_request_free(&req);
	}
	uint64_t dt = sl_loop_now_ns() - t0;
	api.total_handle_ns += dt;
	if (dt > api.max_handle_ns)
		api.max_handle_ns = dt;
	if (dt > SLOW_REQUEST_MS * 1000000ull) /* it held every other client and timer */
		RTE_LOG(WARNING, USER1, "api: %s took %llu ms\n",
			err[0] && !result ? "a rejected request" : sl_cmds[req.cmd].name,
			(unsigned long long)(dt / 1000000));
	cJSON *resp = cJSON_CreateObject();
	cJSON_AddBoolToObject(resp, "ok", result != NULL);
	if (result) {
		cJSON_AddItemToObject(resp, "result", result);
	} else {
		api.n_errors++;
		cJSON_AddStringToObject(resp, "error", err[0] ? err : "failed");
		RTE_LOG(WARNING, USER1, "api: rejected request: %s\n", err);
	}
	char *out = cJSON_PrintUnformatted(resp);
	cJSON_Delete(resp);
	return out;
}

/* Send what the socket takes of c's response. Returns 1 when all is sent, 0 when the rest
 * must wait for EPOLLOUT, -errno when the client is gone. */
static int client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			c->out_off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		else
			return w < 0 ? -errno : -EPIPE;
	}
	return 1;
}

/* Queue text (malloc'd, taken over; NULL: out of memory) as c's response and start
 * sending it; the connection closes once it is sent or the write deadline passes. */
static void client_respond(struct client *c, char *text)
{
	api.in_bytes -= c->in ? c->in_cap : 0;
	free(c->in);
	c->in = NULL;
	if (!text) {
		client_close(c);
		return;
	}
	size_t n = strlen(text);
	c->out = realloc(text, n + 2);
	if (!c->out) {
		free(text);
		client_close(c);
		return;
	}
	c->out[n] = '\n';
	c->out[n + 1] = 0;
	c->out_len = n + 1;
	int rc = client_flush(c);
	if (rc != 0 || sl_loop_fd_mod(c->h, EPOLLOUT) < 0) {
		client_close(c);
		return;
	}
	sl_loop_timer_arm(api.loop, &c->deadline, SL_API_WRITE_TIMEOUT_MS);
}

/* One slice of c's conntrack walk; the answer once it is done, else the next slice on the
 * next loop round (fds and other timers run in between). */
static void on_job(struct sl_loop_timer *t, void *arg)
{
	struct client *c = arg;
	uint64_t t0 = sl_loop_now_ns();
	cJSON *result = sl_ct_job_run(c->job, JOB_SLICE_US);
	uint64_t dt = sl_loop_now_ns() - t0;
	api.total_handle_ns += dt;
	if (dt > api.max_handle_ns)
		api.max_handle_ns = dt;
	if (!result) {
		sl_loop_timer_arm(api.loop, &c->job_timer, 0);
		return;
	}
	c->job = NULL; /* freed by sl_ct_job_run */
	cJSON *resp = cJSON_CreateObject();
	cJSON_AddTrueToObject(resp, "ok");
	cJSON_AddItemToObject(resp, "result", result);
	char *text = cJSON_PrintUnformatted(resp);
	cJSON_Delete(resp);
	client_respond(c, text);
}

/* The request of c started a walk (api.new_job): c waits for it without being read (its
 * end of the stream would wake the loop every round), the walk runs from the next round. */
static void client_start_job(struct client *c, char *resp)
{
	free(resp); /* "ok": the walk's result replaces it */
	api.in_bytes -= c->in_cap;
	free(c->in);
	c->in = NULL;
	c->job = api.new_job;
	api.new_job = NULL;
	api.n_jobs++;
	sl_loop_timer_cancel(api.loop, &c->deadline);
	if (sl_loop_fd_mod(c->h, 0) < 0) {
		client_close(c);
		return;
	}
	sl_loop_timer_arm(api.loop, &c->job_timer, 0);
}

static void client_fail(struct client *c, const char *msg)
{
	api.n_requests++;
	api.n_errors++;
	char *text = malloc(128);
	if (text)
		snprintf(text, 128, "{\"ok\":false,\"error\":\"%s\"}", msg);
	client_respond(c, text);
}

/* Read what c sent; handle the request once complete. Returns 1 while c is still reading
 * its request, 0 once it was handled or closed (c may be freed). */
static int client_read(struct client *c)
{
	bool eof = false;
	for (;;) {
		if (c->in_len == c->in_cap) {
			if (c->in_cap > SL_API_MAX_REQUEST)
				break; /* one byte over the limit is proof enough */
			size_t cap = c->in_cap * 2 > SL_API_MAX_REQUEST + 1 ? SL_API_MAX_REQUEST + 1
									 : c->in_cap * 2;
			if (api.in_bytes + (cap - c->in_cap) > IN_BUF_BUDGET) {
				client_fail(c, "api: busy (requests in progress too large), try again");
				return 0;
			}
			char *b = realloc(c->in, cap);
			if (!b) {
				client_close(c);
				return 0;
			}
			api.in_bytes += cap - c->in_cap;
			c->in = b;
			c->in_cap = cap;
		}
		ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		client_close(c); /* reset by the peer */
		return 0;
	}
	if (c->in_len > SL_API_MAX_REQUEST) {
		char msg[64];
		snprintf(msg, sizeof(msg), "request: larger than %d bytes", SL_API_MAX_REQUEST);
		client_fail(c, msg);
		return 0;
	}
	/* A request ends with the client's end of the stream, or with a newline. */
	if (eof || (c->in_len && c->in[c->in_len - 1] == '\n')) {
		char *resp = handle(c->in, c->in_len);
		if (api.new_job) {
			client_start_job(c, resp);
			return 0;
		}
		if (!api.dirty || !resp) {
			client_respond(c, resp);
			return 0;
		}
		/* A change: the answer goes once the state holds it (sl_api_round_end). */
		api.in_bytes -= c->in_cap;
		free(c->in);
		c->in = NULL;
		c->held = resp;
		api.n_held++;
		sl_loop_timer_cancel(api.loop, &c->deadline);
		return 0;
	}
	return 1;
}

static void on_deadline(struct sl_loop_timer *t, void *arg)
{
	static const char late[] =
		"{\"ok\":false,\"error\":\"request: incomplete (timed out)\"}\n";
	struct client *c = arg;
	/* A request that arrived in time but waited behind slow requests of others (the loop
	 * ran them first) is served: only the client's own slowness counts. */
	if (c->in && !client_read(c))
		return;
	api.n_timeouts++;
	if (c->in) { /* still reading: tell the client why (best effort), then close */
		api.n_requests++;
		api.n_errors++;
		(void)!send(c->fd, late, sizeof(late) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	client_close(c); /* or: it does not read its answer */
}

static void on_client(struct sl_loop_fd *h, uint32_t events, void *arg)
{
	struct client *c = arg;
	if (c->job) { /* answered once its walk is done; gone if it hung up */
		if (events & (EPOLLHUP | EPOLLERR))
			client_close(c);
		return;
	}
	if (c->held) /* answered at the end of this round */
		return;
	if (c->in) {
		client_read(c);
		return;
	}
	int rc = client_flush(c);
	if (rc != 0) /* all sent, or the client is gone */
		client_close(c);
}

/* A connection sluiced cannot take (out of memory): say so and close it. */
static void refuse(int fd)
{
	static const char busy[] = "{\"ok\":false,\"error\":\"api: busy, try again\"}\n";
	api.n_refused++;
	(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void on_listen(struct sl_loop_fd *h, uint32_t events, void *arg)
{
	for (int i = 0; i < ACCEPT_PER_ROUND; i++) {
		if (api.n_clients >= SL_API_MAX_CLIENTS) {
			/* Full: leave new connections in the kernel's backlog until a client is
			 * closed (within SL_API_REQUEST_TIMEOUT_MS + SL_API_WRITE_TIMEOUT_MS);
			 * a burst of legitimate requests queues instead of failing. */
			if (!api.accept_paused && sl_loop_fd_mod(api.listen_h, 0) == 0) {
				api.accept_paused = true;
				api.n_full++;
			}
			return;
		}
		int fd = accept4(api.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				RTE_LOG(WARNING, USER1, "api: accept: %s\n", strerror(errno));
			return;
		}
		struct client *c = calloc(1, sizeof(*c));
		char *in = malloc(IN_BUF_START);
		if (c && in)
			c->h = sl_loop_fd_add(api.loop, fd, EPOLLIN, on_client, c);
		if (!c || !in || !c->h) {
			free(c);
			free(in);
			refuse(fd);
			continue;
		}
		c->fd = fd;
		c->in = in;
		c->in_cap = IN_BUF_START;
		api.in_bytes += IN_BUF_START;
		sl_loop_timer_init(&c->deadline, on_deadline, c);
		sl_loop_timer_init(&c->job_timer, on_job, c);
		sl_loop_timer_arm(api.loop, &c->deadline, SL_API_REQUEST_TIMEOUT_MS);
		c->next = api.clients;
		if (api.clients)
			api.clients->prev = c;
		api.clients = c;
		api.n_clients++;
	}
}

void sl_api_round_end(void)
{
	if (api.dirty) {
		api.dirty = false;
		persist();
	}
	for (struct client *c = api.clients, *next; c && api.n_held; c = next) {
		next = c->next; /* client_respond may close c */
		if (!c->held)
			continue;
		char *text = c->held;
		c->held = NULL;
		api.n_held--;
		client_respond(c, text);
	}
}
