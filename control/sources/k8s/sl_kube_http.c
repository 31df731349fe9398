/* HTTPS requests to the API server on the event loop (see sl_kube_http.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "sl_kube_http.h"

struct sl_kube_req {
	struct sl_kube_http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body_out;           /* PATCH body */
	bool stream, added, cancelled, in_cb;
	struct sl_kube_req *next, *prev; /* the client's list of requests */
	sl_kube_line_cb on_line;
	sl_kube_done_cb on_done;
	void *arg;
	char *buf;                /* body, or the partial line of a stream */
	size_t len, cap;
	bool overflow;
	char errbuf[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch. */
struct sock {
	struct sl_kube_http *h;
	curl_socket_t fd;
	struct sl_loop_fd *lh;
};

struct sl_kube_http {
	struct sl_loop *loop;
	struct sl_kube_auth *auth;
	CURLM *multi;
	struct sl_loop_timer timer;   /* curl's timeout */
	struct sl_loop_timer kick;    /* adds new requests on the next round */
	struct sl_kube_req *reqs;
};

static void check_done(struct sl_kube_http *h);

static void req_unlink_free(struct sl_kube_req *r)
{
	struct sl_kube_http *h = r->h;
	if (r->added)
		curl_multi_remove_handle(h->multi, r->easy);
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body_out);
	free(r->buf);
	free(r);
}

static void on_fd(struct sl_loop_fd *fh, uint32_t events, void *arg)
{
	struct sock *s = arg;
	struct sl_kube_http *h = s->h;
	int running, ev = 0;
	if (events & EPOLLIN)
		ev |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		ev |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		ev |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, s->fd, ev, &running);
	check_done(h);
}

/* CURLMOPT_SOCKETFUNCTION: watch, change or forget a socket. */
static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sl_kube_http *h = userp;
	struct sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sl_loop_fd_del(s->lh);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (s)
		return sl_loop_fd_mod(s->lh, ev) < 0 ? -1 : 0;
	if (!(s = calloc(1, sizeof(*s))))
		return -1;
	*s = (struct sock){ .h = h, .fd = fd };
	if (!(s->lh = sl_loop_fd_add(h->loop, fd, ev, on_fd, s))) {
		free(s);
		return -1;
	}
	curl_multi_assign(h->multi, fd, s);
	return 0;
}

static void on_timer(struct sl_loop_timer *t, void *arg)
{
	struct sl_kube_http *h = arg;
	int running;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: curl's one timeout, on a loop timer. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct sl_kube_http *h = userp;
	if (timeout_ms < 0)
		sl_loop_timer_cancel(h->loop, &h->timer);
	else
		sl_loop_timer_arm(h->loop, &h->timer, (uint64_t)timeout_ms);
	return 0;
}

/* New requests join the multi handle here, outside any curl callback. */
static void on_kick(struct sl_loop_timer *t, void *arg)
{
	struct sl_kube_http *h = arg;
	for (struct sl_kube_req *r = h->reqs; r; r = r->next)
		if (!r->added) {
			CURLMcode mc = curl_multi_add_handle(h->multi, r->easy);
			if (mc == CURLM_OK)
				r->added = true;
			else
				snprintf(r->errbuf, sizeof(r->errbuf), "%s", curl_multi_strerror(mc));
		}
	/* A request curl would not take ends now, with its error. */
	for (struct sl_kube_req *r = h->reqs, *n; r; r = n) {
		n = r->next;
		if (!r->added) {
			sl_kube_done_cb cb = r->on_done;
			void *a = r->arg;
			char why[CURL_ERROR_SIZE];
			snprintf(why, sizeof(why), "%s", r->errbuf);
			req_unlink_free(r);
			cb(a, 0, "", 0, why);
		}
	}
}

static int grow(struct sl_kube_req *r, size_t need, size_t max)
{
	if (r->len + need > max) {
		r->overflow = true;
		return -1;
	}
	if (r->len + need + 1 <= r->cap)
		return 0;
	size_t cap = r->cap ? r->cap : 16384;
	while (cap < r->len + need + 1)
		cap *= 2;
	char *b = realloc(r->buf, cap);
	if (!b)
		return -1;
	r->buf = b;
	r->cap = cap;
	return 0;
}

/* A stream's bytes: whole lines go to on_line, the rest waits for more. */
static size_t stream_data(struct sl_kube_req *r, const char *d, size_t n)
{
	if (grow(r, n, SL_KUBE_LINE_MAX) < 0) {
		snprintf(r->errbuf, sizeof(r->errbuf), "watch event longer than %u bytes",
			 SL_KUBE_LINE_MAX);
		return 0;
	}
	memcpy(r->buf + r->len, d, n);
	r->len += n;
	size_t start = 0;
	r->in_cb = true;
	for (size_t i = r->len - n; i < r->len && !r->cancelled; i++) {
		if (r->buf[i] != '\n')
			continue;
		r->buf[i] = '\0';
		size_t l = i - start;
		if (l && !r->on_line(r->arg, r->buf + start, l))
			r->cancelled = true;
		start = i + 1;
	}
	r->in_cb = false;
	if (r->cancelled)
		return 0; /* curl ends the transfer; check_done frees it silently */
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	return n;
}

static size_t write_cb(char *d, size_t sz, size_t nm, void *arg)
{
	struct sl_kube_req *r = arg;
	size_t n = sz * nm;
	long status = 0;
	if (r->cancelled)
		return 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->stream && status == 200)
		return stream_data(r, d, n);
	if (grow(r, n, SL_KUBE_BODY_MAX) < 0) {
		snprintf(r->errbuf, sizeof(r->errbuf), "response longer than %u bytes",
			 SL_KUBE_BODY_MAX);
		return 0;
	}
	memcpy(r->buf + r->len, d, n);
	r->len += n;
	return n;
}

static void check_done(struct sl_kube_http *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct sl_kube_req *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		CURLcode res = m->data.result;
		if (!r)
			continue;
		if (r->cancelled) {
			req_unlink_free(r);
			continue;
		}
		long status = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		char why[CURL_ERROR_SIZE + 64] = "";
		if (res != CURLE_OK) {
			snprintf(why, sizeof(why), "%s%s%s", curl_easy_strerror(res),
				 r->errbuf[0] ? ": " : "", r->errbuf);
			/* A stream that broke after a good start ended, as for the reflector; a
			 * plain request without its whole body failed. */
			if (!(r->stream && status == 200))
				status = 0;
		}
		if (r->stream && status == 200)
			r->len = 0; /* a partial last line is dropped */
		if (!r->buf && grow(r, 1, SL_KUBE_BODY_MAX) < 0) {
			status = 0;
			snprintf(why, sizeof(why), "out of memory");
		}
		if (r->buf)
			r->buf[r->len] = '\0';
		sl_kube_done_cb cb = r->on_done;
		void *a = r->arg;
		/* The callback may start requests; this one is unlinked first. */
		r->on_done = NULL;
		curl_multi_remove_handle(h->multi, r->easy);
		r->added = false;
		cb(a, status, r->buf ? r->buf : "", r->len, why[0] ? why : NULL);
		req_unlink_free(r);
	}
}

struct sl_kube_http *sl_kube_http_create(struct sl_loop *loop, struct sl_kube_auth *auth,
					 char *err, size_t errlen)
{
	static bool curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "libcurl: initialisation failed");
			return NULL;
		}
		curl_ready = true;
	}
	struct sl_kube_http *h = calloc(1, sizeof(*h));
	if (!h || !(h->multi = curl_multi_init())) {
		free(h);
		snprintf(err, errlen, "libcurl: out of memory");
		return NULL;
	}
	h->loop = loop;
	h->auth = auth;
	sl_loop_timer_init(&h->timer, on_timer, h);
	sl_loop_timer_init(&h->kick, on_kick, h);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void sl_kube_http_destroy(struct sl_kube_http *h)
{
	if (!h)
		return;
	while (h->reqs)
		req_unlink_free(h->reqs);
	sl_loop_timer_cancel(h->loop, &h->timer);
	sl_loop_timer_cancel(h->loop, &h->kick);
	curl_multi_cleanup(h->multi); /* removes the sockets: sock_cb frees them */
	free(h);
}

const char *sl_kube_http_escape(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
		if (o + (plain ? 1 : 3) >= len)
			return NULL;
		if (plain) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (o >= len)
		return NULL;
	buf[o] = '\0';
	return buf;
}

struct sl_kube_req *sl_kube_http_request(struct sl_kube_http *h, const char *method,
					 const char *path, const char *ctype, const char *body,
					 bool stream, long timeout_s, sl_kube_line_cb on_line,
					 sl_kube_done_cb on_done, void *arg, char *err,
					 size_t errlen)
{
	struct sl_kube_req *r = calloc(1, sizeof(*r));
	char *url = NULL;
	int rc;
	if (!r || !(r->easy = curl_easy_init()) ||
	    asprintf(&url, "%s%s", h->auth->server, path) < 0 ||
	    (body && !(r->body_out = strdup(body)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*r = (struct sl_kube_req){ .h = h, .easy = r->easy, .body_out = r->body_out,
				   .stream = stream, .on_line = on_line, .on_done = on_done,
				   .arg = arg };
	CURL *e = r->easy;
	if ((rc = sl_kube_auth_setup(h->auth, e, &r->hdrs, err, errlen)) < 0)
		goto fail;
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (ctype) {
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		r->hdrs = curl_slist_append(r->hdrs, ct);
	}
	if (!r->hdrs) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (r->body_out)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body_out);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sluiced/" "0.1");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)SL_KUBE_CONNECT_TIMEOUT_S);
	if (timeout_s > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	free(url);
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	sl_loop_timer_arm(h->loop, &h->kick, 0);
	return r;
fail:
	free(url);
	if (r) {
		if (r->easy)
			curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->hdrs);
		free(r->body_out);
		free(r);
	}
	return NULL;
}

void sl_kube_http_cancel(struct sl_kube_req *r)
{
	if (!r)
		return;
	if (r->in_cb) { /* inside its own write callback: curl ends it when that returns */
		r->cancelled = true;
		return;
	}
	req_unlink_free(r);
}
