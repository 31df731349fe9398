/* The HTTP server on the event loop (see sl_http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sl_http.h"

#define DEF_MAX_CONNS 64
#define DEF_MAX_CONNS_PER_IP 16
#define DEF_TIMEOUT_S 10
#define DEF_CONN_MEMORY (16 * 1024)
#define LISTEN_BACKLOG 64

struct sl_http {
	struct sl_loop *loop;
	struct MHD_Daemon *d;
	struct sl_loop_fd *fdh;    /* MHD's epoll fd on our loop */
	struct sl_loop_timer timer; /* MHD's next timeout */
	uint16_t port;
	sl_http_handler handler;
	void *arg;
	struct sl_http_stats stats;
};

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static unsigned n_conns(struct sl_http *h)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i ? i->num_connections : 0;
}

/* Run MHD, then arm the timer for what it wants next (0: it has work ready now). MHD
 * takes its listening socket out of its epoll set at the connection limit and puts it back
 * only at the start of a later MHD_run: when a run closed connections, run again at once,
 * or the socket would wait for an event that cannot come. */
static void run(struct sl_http *h)
{
	unsigned before = n_conns(h);
	MHD_run(h->d);
	MHD_UNSIGNED_LONG_LONG ms;
	if (n_conns(h) < before)
		sl_loop_timer_arm(h->loop, &h->timer, 0);
	else if (MHD_get_timeout(h->d, &ms) == MHD_YES)
		sl_loop_timer_arm(h->loop, &h->timer, ms);
	else
		sl_loop_timer_cancel(h->loop, &h->timer);
}

static void on_fd(struct sl_loop_fd *fdh, uint32_t events, void *arg)
{
	run(arg);
}

static void on_timer(struct sl_loop_timer *t, void *arg)
{
	run(arg);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct sl_http *h = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		h->stats.connections++;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct sl_http *h = cls;
	struct sl_http_reply r = { .status = 200 };
	/* Answer on the first call, before any body: a body is never read (MHD closes the
	 * connection after the reply when one was sent). */
	h->handler(h->arg, method, url, &r);
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		r.len, r.body, r.body_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	if (!resp) {
		if (r.body_free)
			free(r.body);
		h->stats.failed++;
		return MHD_NO; /* MHD closes the connection */
	}
	enum MHD_Result ok = MHD_YES;
	if (r.content_type)
		ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type);
	for (unsigned i = 0; ok == MHD_YES && i < r.n_hdr && i < SL_HTTP_MAX_HEADERS; i++)
		ok = MHD_add_response_header(resp, r.hdr[i].name, r.hdr[i].value);
	if (ok == MHD_YES)
		ok = MHD_queue_response(c, r.status, resp);
	MHD_destroy_response(resp);
	if (ok == MHD_YES)
		h->stats.requests++;
	else
		h->stats.failed++;
	return ok;
}

/* Our own listening socket, so a failure says why (errno) and names the address. */
static int listen_on(const struct sl_http_conf *c, char *err, size_t errlen)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &c->addr, a, sizeof(a));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ERR("cannot listen on %s:%u: socket: %s", a, c->port, strerror(errno)), -errno;
	int one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = c->addr,
				  .sin_port = htons(c->port) };
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		close(fd);
		return ERR("cannot listen on %s:%u: %s", a, c->port, strerror(e)), -e;
	}
	return fd;
}

/* Whether fd is still a listening TCP socket on port (MHD closes a listening socket it was
 * given on some of its start failures, not on others). */
static bool still_ours(int fd, uint16_t port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int acc = 0;
	socklen_t alen = sizeof(acc);
	return fcntl(fd, F_GETFD) >= 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
	       sa.sin_family == AF_INET && ntohs(sa.sin_port) == port &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == 0 && acc;
}

int sl_http_start(struct sl_loop *l, const struct sl_http_conf *c, struct sl_http **ret,
		  char *err, size_t errlen)
{
	struct sl_http *h = calloc(1, sizeof(*h));
	if (!h)
		return ERR("out of memory"), -ENOMEM;
	h->loop = l;
	h->handler = c->handler;
	h->arg = c->arg;
	sl_loop_timer_init(&h->timer, on_timer, h);
	int fd = listen_on(c, err, errlen);
	if (fd < 0) {
		free(h);
		return fd;
	}
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	h->port = getsockname(fd, (struct sockaddr *)&sa, &len) == 0 ? ntohs(sa.sin_port) : c->port;
	/* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: external epoll, no thread.
	 * No MHD_USE_ERROR_LOG: what a client does (limits reached, bad requests) must not
	 * write our log; the counters say it. */
	h->d = MHD_start_daemon(
		MHD_USE_EPOLL, h->port, NULL, NULL, on_request, h,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)(c->max_conns ? c->max_conns : DEF_MAX_CONNS),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)(c->max_conns_per_ip ? c->max_conns_per_ip : DEF_MAX_CONNS_PER_IP),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(c->timeout_s ? c->timeout_s : DEF_TIMEOUT_S),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(c->conn_memory ? c->conn_memory : DEF_CONN_MEMORY),
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_END);
	if (!h->d) {
		if (still_ours(fd, h->port))
			close(fd);
		free(h);
		return ERR("port %u: cannot start the HTTP server (libmicrohttpd)", c->port), -ENOMEM;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || !(h->fdh = sl_loop_fd_add(l, info->epoll_fd, EPOLLIN, on_fd, h))) {
		int e = info ? errno : EINVAL;
		MHD_stop_daemon(h->d); /* closes the listening socket */
		free(h);
		return ERR("port %u: cannot watch the HTTP server: %s", c->port, strerror(e)), -e;
	}
	*ret = h;
	return 0;
}

void sl_http_stop(struct sl_http *h)
{
	if (!h)
		return;
	sl_loop_fd_del(h->fdh);
	sl_loop_timer_cancel(h->loop, &h->timer);
	MHD_stop_daemon(h->d); /* closes the connections and the listening socket */
	free(h);
}

uint16_t sl_http_port(const struct sl_http *h)
{
	return h->port;
}

void sl_http_get_stats(const struct sl_http *h, struct sl_http_stats *ret_stats)
{
	*ret_stats = h->stats;
}
